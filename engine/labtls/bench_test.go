package labtls

import (
	"crypto/tls"
	"testing"
)

// BenchmarkNewAuthority: what a world pays for its CA at creation.
func BenchmarkNewAuthority(b *testing.B) {
	for b.Loop() {
		if _, err := NewAuthority(worldStart); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkIssue: one host certificate.
func BenchmarkIssue(b *testing.B) {
	ca, err := NewAuthority(worldStart)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := ca.Issue("mx.example.org", Good); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHandshake: one full handshake with certificate checks.
func BenchmarkHandshake(b *testing.B) {
	for _, version := range []uint16{tls.VersionTLS13, tls.VersionTLS12} {
		b.Run(tls.VersionName(version), func(b *testing.B) {
			l := newLab(b, Good, true)
			l.server.MaxVersion = version
			for b.Loop() {
				if _, err := Handshake(l.client, l.server); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSealOpen: one SMTP-sized line sealed by one end and opened by
// the other.
func BenchmarkSealOpen(b *testing.B) {
	l := newLab(b, Good, true)
	r, err := Handshake(l.client, l.server)
	if err != nil {
		b.Fatal(err)
	}
	line := []byte("RCPT TO:<bob@example.org>\r\n")
	b.SetBytes(int64(len(line)))
	for b.Loop() {
		if _, err := r.Server.Open(r.Client.Seal(line)); err != nil {
			b.Fatal(err)
		}
	}
}
