package client

import (
	"strings"
	"testing"
)

// BenchmarkClientSession runs the client alone through a whole pipelined
// session (greeting, EHLO, MAIL+RCPT+DATA, 1 KB of content, QUIT) against
// replies recorded in advance, reusing the machine with Reset as a delivery
// worker would. It is the client's share of a session's cost.
func BenchmarkClientSession(b *testing.B) {
	var body strings.Builder
	body.WriteString("From: alice@example.com\r\nTo: bob@example.org\r\nSubject: benchmark\r\n\r\n")
	for body.Len() < 1024 {
		body.WriteString("The quick brown fox jumps over the lazy dog, again and again.\r\n")
	}
	msg := []byte(body.String())
	e := env(b, "alice@example.com", "bob@example.org")
	replies := [][]byte{
		[]byte(greeting),
		[]byte(ehlo("PIPELINING", "SIZE 10485760", "8BITMIME", "ENHANCEDSTATUSCODES", "SMTPUTF8", "DSN")),
		[]byte(okMail + okRcpt + goAhead),
		[]byte(queued + bye),
	}
	var c Client
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		if err := c.Reset(Config{Hostname: "client.example.com"}, e, msg); err != nil {
			b.Fatal(err)
		}
		for _, r := range replies {
			c.Feed(r)
			c.Output()
		}
		if c.Action() != ActionClose || c.Status() != Delivered {
			b.Fatalf("%v %v", c.Action(), c.Status())
		}
	}
}
