package labtls

import (
	"bytes"
	"crypto/tls"
	"testing"
)

// handshakeBytes runs a seeded handshake and one exchange of data, and
// returns everything that went on the wire, flight by flight.
func handshakeBytes(t *testing.T, seed uint64, maxVersion uint16) [][]byte {
	t.Helper()
	l := newLab(t, Good, true)
	l.client.Rand, l.server.Rand = NewRand(seed), NewRand(seed+1)
	l.server.MaxVersion = maxVersion
	r, err := Handshake(l.client, l.server)
	if err != nil {
		t.Fatal(err)
	}
	var wire [][]byte
	for _, f := range r.Flights {
		wire = append(wire, f.Bytes)
	}
	wire = append(wire, r.Client.Seal([]byte("EHLO client.example.com\r\n")))
	wire = append(wire, r.Server.Seal([]byte("250 mx.example.org\r\n")))
	return wire
}

// TestDeterminism says what a seeded Rand buys under each GODEBUG setting.
//
// With cryptocustomrand=1, two handshakes with the same seeds put the same
// bytes on the wire, handshake and data alike. With Go 1.26's default
// (cryptocustomrand=0) crypto/ecdh ignores the seeded Rand, so the X25519
// key shares, and with them every encrypted byte, change from run to run;
// the sizes of all flights and records and the hello randoms do not.
func TestDeterminism(t *testing.T) {
	for _, version := range []uint16{tls.VersionTLS13, tls.VersionTLS12} {
		name := tls.VersionName(version)
		t.Run(name+"/cryptocustomrand=1", func(t *testing.T) {
			t.Setenv("GODEBUG", "cryptocustomrand=1")
			a, b := handshakeBytes(t, 42, version), handshakeBytes(t, 42, version)
			for i := range a {
				if !bytes.Equal(a[i], b[i]) {
					t.Errorf("write %d differs between two runs with the same seed", i)
				}
			}
			if c := handshakeBytes(t, 43, version); bytes.Equal(a[0], c[0]) {
				t.Error("another seed gave the same client hello")
			}
		})
		t.Run(name+"/cryptocustomrand=0", func(t *testing.T) {
			t.Setenv("GODEBUG", "cryptocustomrand=0")
			a, b := handshakeBytes(t, 42, version), handshakeBytes(t, 42, version)
			for i := range a {
				if len(a[i]) != len(b[i]) {
					t.Errorf("write %d: %d bytes, then %d", i, len(a[i]), len(b[i]))
				}
			}
			// The client random (after 5 bytes of record header, 4 of
			// handshake header and 2 of legacy version) comes from Rand.
			if !bytes.Equal(a[0][11:43], b[0][11:43]) {
				t.Error("client random differs")
			}
			if bytes.Equal(a[len(a)-1], b[len(b)-1]) {
				t.Error("ciphertext repeated without cryptocustomrand=1: Go now honours a custom Rand; update the package doc")
			}
		})
	}
}

func TestNewRandIgnoresSingleByteReads(t *testing.T) {
	a, b := NewRand(7), NewRand(7)
	one := make([]byte, 1)
	_, _ = b.Read(one) // what randutil.MaybeReadByte does half the time
	x, y := make([]byte, 32), make([]byte, 32)
	_, _ = a.Read(x)
	_, _ = b.Read(y)
	if !bytes.Equal(x, y) {
		t.Error("a one-byte read moved the stream")
	}
}
