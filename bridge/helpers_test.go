package bridge

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"smtplab/engine/lab"
)

// testScale makes the RFC timeouts 100 times shorter (3 s per command):
// short enough that nothing hangs, long enough for a slow test machine.
const testScale = 0.01

// startBridge serves scenario on all three ports on loopback, ephemeral
// ports, and closes the bridge when the test ends.
func startBridge(t testing.TB, opt Options) *Bridge {
	t.Helper()
	if opt.Scenario == "" {
		opt.Scenario = "first-session"
	}
	if opt.SMTP == "" && opt.Submission == "" && opt.SMTPS == "" {
		opt.SMTP, opt.Submission, opt.SMTPS = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	}
	if opt.TimeoutScale == 0 {
		opt.TimeoutScale = testScale
	}
	b, err := Start(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// addr returns the real address of the bridge's listener for port.
func addr(b *Bridge, port int) string { return b.Addr(port).String() }

// clientTLS trusts the bridge's lab CA for host.
func clientTLS(t testing.TB, b *Bridge, host string) *tls.Config {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b.CACertificate()) {
		t.Fatal("the bridge has no CA certificate")
	}
	return &tls.Config{RootCAs: pool, ServerName: host}
}

// caFile writes the bridge's CA to a file for external programs.
func caFile(t testing.TB, b *Bridge) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "lab-ca.pem")
	if err := os.WriteFile(p, b.CACertificate(), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// mailbox returns the raw messages in owner's mailbox on host.
func mailbox(b *Bridge, host, owner string) []string {
	var out []string
	b.World(func(w *lab.World) {
		for _, box := range w.State().Mailboxes {
			if box.Host == host && box.Owner == owner {
				for _, m := range box.Messages {
					out = append(out, m.Raw)
				}
			}
		}
	})
	return out
}

// mailCounts returns how many messages each owner has on host, for
// checkDelivered after a client sent.
func mailCounts(b *Bridge, host string, owners []string) map[string]int {
	counts := map[string]int{}
	for _, o := range owners {
		counts[o] = len(mailbox(b, host, o))
	}
	return counts
}

// checkDelivered fails the test unless each owner on host has exactly one
// message more than before, and it is want byte for byte once the
// server's trace fields are taken off. context is printed with a missing
// message (a client's transcript, say).
func checkDelivered(t *testing.T, b *Bridge, host string, before map[string]int, want, context string) {
	t.Helper()
	for owner, n := range before {
		got := mailbox(b, host, owner)
		if len(got) != n+1 {
			t.Fatalf("%s has %d messages, want %d\n%s", owner, len(got), n+1, context)
		}
		if g := withoutTrace(got[len(got)-1]); g != want {
			t.Errorf("%s got\n%q\nwant\n%q", owner, g, want)
		}
	}
}

// withoutTrace removes the trace fields a server puts on top of a message
// it accepts (Return-Path, Received: RFC 5321 §4.4), leaving the bytes the
// client sent.
func withoutTrace(raw string) string {
	for strings.HasPrefix(raw, "Return-Path:") || strings.HasPrefix(raw, "Received:") {
		for {
			i := strings.Index(raw, "\r\n")
			if i < 0 {
				return ""
			}
			raw = raw[i+2:]
			if !strings.HasPrefix(raw, " ") && !strings.HasPrefix(raw, "\t") {
				break
			}
		}
	}
	return raw
}

// wantMailbox checks that owner's mailbox on host holds exactly the
// messages want, byte for byte below the trace fields.
func wantMailbox(t testing.TB, b *Bridge, host, owner string, want ...string) {
	t.Helper()
	got := mailbox(b, host, owner)
	if len(got) != len(want) {
		t.Fatalf("%s on %s has %d messages, want %d:\n%q", owner, host, len(got), len(want), got)
	}
	for i := range got {
		if g := withoutTrace(got[i]); g != want[i] {
			t.Errorf("%s on %s, message %d:\n got %q\nwant %q", owner, host, i, g, want[i])
		}
	}
}

// rawConn is a line-by-line SMTP conversation over a real socket, for
// tests that send what no well-behaved client would.
type rawConn struct {
	t  testing.TB
	c  net.Conn
	rd *bufio.Reader
}

func dialRaw(t testing.TB, address string) *rawConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", address, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(20 * time.Second))
	return &rawConn{t: t, c: c, rd: newReader(c)}
}

func newReader(c net.Conn) *bufio.Reader { return bufio.NewReader(c) }

// send writes s as it is.
func (r *rawConn) send(s string) {
	r.t.Helper()
	if _, err := r.c.Write([]byte(s)); err != nil {
		r.t.Fatalf("write %q: %v", s, err)
	}
}

// reply reads one whole reply and returns its last line.
func (r *rawConn) reply() string {
	r.t.Helper()
	for {
		line, err := r.rd.ReadString('\n')
		if err != nil {
			r.t.Fatalf("reading a reply: %v (got %q)", err, line)
		}
		if len(line) < 4 || line[3] != '-' {
			return strings.TrimRight(line, "\r\n")
		}
	}
}

// expect reads one reply and checks it starts with prefix.
func (r *rawConn) expect(prefix string) string {
	r.t.Helper()
	got := r.reply()
	if !strings.HasPrefix(got, prefix) {
		r.t.Fatalf("reply %q, want %q...", got, prefix)
	}
	return got
}

// closed checks that the server closes the connection with nothing more
// to say.
func (r *rawConn) closed() {
	r.t.Helper()
	if line, err := r.rd.ReadString('\n'); err == nil {
		r.t.Fatalf("the connection is still open: %q", line)
	}
}

// session runs the usual opening and envelope: greeting, EHLO, MAIL,
// RCPT for bob, DATA.
func (r *rawConn) toData() {
	r.t.Helper()
	r.expect("220 ")
	r.send("EHLO raw.test\r\n")
	r.expect("250 ")
	r.send("MAIL FROM:<raw@raw.test>\r\n")
	r.expect("250 ")
	r.send("RCPT TO:<bob@example.org>\r\n")
	r.expect("250 ")
	r.send("DATA\r\n")
	r.expect("354 ")
}
