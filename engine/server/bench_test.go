package server

import (
	"strings"
	"testing"

	"smtplab/engine/smtp"
)

// countingPolicy accepts everything and hands out a fixed queue id, so the
// benchmark measures the server, not the policy.
type countingPolicy struct {
	DefaultPolicy
	bytes int
}

func (p *countingPolicy) Data(c *ConnState, env *Envelope, msg []byte) (string, smtp.Reply) {
	p.bytes += len(msg)
	return "4A2B", smtp.Reply{}
}

// benchMessage is a 1 KB message, dot-stuffed with its end marker.
func benchMessage() []byte {
	var msg strings.Builder
	msg.WriteString("From: alice@example.com\r\nTo: bob@example.org\r\nSubject: benchmark\r\n\r\n")
	for msg.Len() < 1024 {
		msg.WriteString("The quick brown fox jumps over the lazy dog, again and again.\r\n")
	}
	return smtp.AppendDotStuffed(nil, []byte(msg.String()))
}

// BenchmarkServerSession runs a whole session (greeting, EHLO, MAIL, RCPT,
// DATA with 1 KB, QUIT), one Feed per client write as a client that waits
// for each reply sends it.
func BenchmarkServerSession(b *testing.B) {
	b.Run("new", func(b *testing.B) { benchSession(b, false) })
	b.Run("reset", func(b *testing.B) { benchSession(b, true) })
}

// benchSession makes a new Session for every session, or resets one.
func benchSession(b *testing.B, reuse bool) {
	srv := New(Config{Hostname: "mx.example.org", Policy: &countingPolicy{}})
	var s *Session
	writes := [][]byte{
		[]byte("EHLO client.example.com\r\n"),
		[]byte("MAIL FROM:<alice@example.com> SIZE=1100\r\n"),
		[]byte("RCPT TO:<bob@example.org>\r\n"),
		[]byte("DATA\r\n"),
		benchMessage(),
		[]byte("QUIT\r\n"),
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(writes[4])))
	for b.Loop() {
		if reuse && s != nil {
			s.Reset(srv, SessionOptions{})
		} else {
			s = srv.NewSession(SessionOptions{})
		}
		for _, w := range writes {
			s.Feed(w)
			if len(s.Output()) == 0 {
				b.Fatalf("no reply to %q", w)
			}
		}
		if !s.Closed() {
			b.Fatal("session not closed")
		}
	}
}

// BenchmarkServerPipelined sends the whole session in one write, as a
// PIPELINING client may up to DATA, and BDAT allows to the end.
func BenchmarkServerPipelined(b *testing.B) {
	srv := New(Config{Hostname: "mx.example.org", Policy: &countingPolicy{}})
	msg := benchMessage()
	input := []byte("EHLO client.example.com\r\nMAIL FROM:<alice@example.com>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n" + string(msg) + "QUIT\r\n")
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		s := srv.NewSession(SessionOptions{})
		s.Feed(input)
		if !s.Closed() {
			b.Fatal("session not closed")
		}
	}
}
