package lab

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"smtplab/engine/client"
)

// threeHops is the benchmark world: laptop → smtp.example.com (relay) →
// the MX of example.org, whose primary is dead and whose backup greylists
// and forwards to the mail store that holds the mailboxes.
const threeHops = `{
  "name": "bench-three-hops", "title": "Benchmark", "purpose": "10,000 messages through three hops",
  "start": "2026-01-05T09:00:00Z",
  "learner": {"host": "laptop.example.com", "connect": "smtp.example.com", "port": 25},
  "hosts": [
    {"name": "laptop.example.com", "addrs": ["192.0.2.10"]},
    {"name": "smtp.example.com", "addrs": ["192.0.2.25"], "ports": [25], "domains": ["example.com"],
     "users": ["alice@example.com"], "relayFrom": ["192.0.2.0/24"], "cert": "none", "outboundTLS": "none"},
    {"name": "mx1.example.org", "addrs": ["198.51.100.25"], "ports": [25], "cert": "none", "backup": ["example.org"]},
    {"name": "mx2.example.org", "addrs": ["198.51.100.26"], "ports": [25], "cert": "none", "backup": ["example.org"],
     "greylist": "5m0s", "relayhost": "store.example.org", "outboundTLS": "none"},
    {"name": "store.example.org", "addrs": ["198.51.100.30"], "ports": [25], "cert": "none", "domains": ["example.org"],
     "users": ["bob@example.org"], "relayFrom": ["198.51.100.0/24"]}
  ],
  "zone": "example.org. MX 10 mx1.example.org.\nexample.org. MX 20 mx2.example.org.\nmx1.example.org. A 198.51.100.25\nmx2.example.org. A 198.51.100.26\nstore.example.org. A 198.51.100.30\nsmtp.example.com. A 192.0.2.25\n",
  "faults": [{"kind": "down", "host": "mx1.example.org"}]
}`

// BenchmarkThreeHops10k sends 10,000 messages from the laptop through the
// relay, past the dead primary MX, through greylisting on the backup and
// on to the mail store, in virtual time, and reports messages delivered
// per second of real time.
func BenchmarkThreeHops10k(b *testing.B) {
	const messages = 10000
	sc, err := ParseScenario([]byte(threeHops))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		w, err := build(sc, 1)
		if err != nil {
			b.Fatal(err)
		}
		env, err := client.ParseEnvelope("alice@example.com", "bob@example.org")
		if err != nil {
			b.Fatal(err)
		}
		// The mail client's sessions are started straight away rather than
		// through Submit, which also builds the whole State for the page
		// after every message: this measures the engine, not the UI.
		for m := 0; m < messages; m++ {
			w.submit(Message{From: "alice@example.com", To: []string{"bob@example.org"},
				Subject: fmt.Sprintf("message %d", m), Body: "Hello Bob."}, env)
			w.net.Settle()
		}
		w.net.Advance(time.Hour)
		store, _ := w.mail.Host("store.example.org")
		if got := len(store.Mailboxes.Messages("bob@example.org")); got != messages {
			b.Fatalf("%d of %d messages delivered", got, messages)
		}
	}
	b.ReportMetric(float64(messages*b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkExternalTransaction is the engine's share of what the TCP bridge
// does per message on a kept-open connection (bridge's
// BenchmarkLoopbackKeptOpen, without sockets or locks): one pipelined
// transaction of a 1 KiB message, sent with DATA or with BDAT, from
// MAIL FROM to the mailbox.
func BenchmarkExternalTransaction(b *testing.B) {
	text := benchText()
	envelope := "MAIL FROM:<bench@bench.test>\r\nRCPT TO:<bob@example.org>\r\n"
	for _, tc := range []struct {
		name  string
		input []string // fed in turn, the replies read after each
	}{
		{"DATA", []string{envelope + "DATA\r\n", text + ".\r\n"}},
		{"BDAT", []string{envelope + fmt.Sprintf("BDAT %d LAST\r\n", len(text)) + text}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			w, host := externalWorld(b)
			x, err := w.ServeExternal(ExternalConn{Host: host, Port: 25, Remote: "127.0.0.1:5555"})
			if err != nil {
				b.Fatal(err)
			}
			x.Feed([]byte("EHLO bench.test\r\n"))
			x.Output()
			input := make([][]byte, len(tc.input))
			for i, s := range tc.input {
				input[i] = []byte(s)
			}
			b.ReportAllocs()
			for b.Loop() {
				var out []byte
				for _, p := range input {
					x.Feed(p)
					out = x.Output()
				}
				if !bytes.HasPrefix(out, []byte("250 ")) {
					b.Fatalf("the message was not accepted: %q", out)
				}
			}
			if got := x.Accepted(); got != b.N {
				b.Fatalf("%d messages accepted, want %d", got, b.N)
			}
		})
	}
}

// BenchmarkExternalSession is the engine's share of what the TCP bridge
// does for a connection that brings one message (bridge's
// BenchmarkLoopback, without sockets or locks): the session from the
// greeting to QUIT, EHLO, the envelope pipelined with DATA, a 1 KiB
// message, and the session's release.
func BenchmarkExternalSession(b *testing.B) {
	text := benchText()
	input := [][]byte{
		[]byte("EHLO bench.test\r\n"),
		[]byte("MAIL FROM:<bench@bench.test>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n"),
		[]byte(text + ".\r\n"),
		[]byte("QUIT\r\n"),
	}
	w, host := externalWorld(b)
	b.ReportAllocs()
	for b.Loop() {
		x, err := w.ServeExternal(ExternalConn{Host: host, Port: 25, Remote: "127.0.0.1:5555"})
		if err != nil {
			b.Fatal(err)
		}
		for _, p := range input {
			x.Output()
			x.Feed(p)
		}
		if !x.Closed() || x.Accepted() != 1 {
			b.Fatalf("the session did not end with its message accepted: %q", x.Output())
		}
		x.Release()
	}
}

// benchText is the 1 KiB message the External benchmarks send, as the
// bridge's benchmarks do: a short header and lines of prose.
func benchText() string {
	var text strings.Builder
	text.WriteString("From: bench@bench.test\r\nTo: bob@example.org\r\nSubject: benchmark\r\n\r\n")
	for text.Len() < 1<<10 {
		text.WriteString("The quick brown fox jumps over the lazy dog, again and again.\r\n")
	}
	return text.String()
}

// externalWorld returns the world of the External benchmarks and the host
// in it that takes connections from outside on port 25, as the bridge's
// benchmarks use them.
func externalWorld(b *testing.B) (*World, string) {
	w, err := New("first-session", 1)
	if err != nil {
		b.Fatal(err)
	}
	host, err := w.ExternalHost(25)
	if err != nil {
		b.Fatal(err)
	}
	return w, host
}
