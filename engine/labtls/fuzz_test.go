package labtls

import (
	"bytes"
	"testing"
)

// FuzzOpen feeds Open arbitrary bytes after a real handshake: it must never
// panic, and a fatal error must stay fatal. Records the client really
// sealed, cut at the fuzzer's chosen points, must open to what was sealed.
func FuzzOpen(f *testing.F) {
	f.Add([]byte("MAIL FROM:<a@example.com>\r\n"), []byte{}, uint16(3))
	f.Add([]byte("DATA\r\n"), []byte{0x17, 0x03, 0x03, 0x00, 0x05, 1, 2, 3, 4, 5}, uint16(1))
	f.Add(bytes.Repeat([]byte("x"), 3000), []byte{0x15, 0x03, 0x03}, uint16(700))
	f.Fuzz(func(t *testing.T, plain, junk []byte, cut uint16) {
		l := newLab(t, Good, false)
		r, err := Handshake(l.client, l.server)
		if err != nil {
			t.Fatal(err)
		}
		wire := r.Client.Seal(plain)
		step := int(cut%512) + 1
		var got []byte
		for i := 0; i < len(wire); i += step {
			p, err := r.Server.Open(wire[i:min(i+step, len(wire))])
			if err != nil {
				t.Fatalf("opening genuine records cut every %d bytes: %v", step, err)
			}
			got = append(got, p...)
		}
		if !bytes.Equal(got, plain) {
			t.Fatalf("opened %d bytes, sealed %d", len(got), len(plain))
		}
		if _, err := r.Server.Open(junk); err != nil {
			if _, again := r.Server.Open(r.Client.Seal([]byte("NOOP\r\n"))); again == nil {
				t.Fatal("a broken connection opened records again")
			}
		}
	})
}
