package lab

import (
	"crypto/tls"
	"crypto/x509"
	"strings"
	"testing"
	"time"

	"smtplab/engine/trace"
)

// serveExternal starts an outside session on the first-session world and
// returns it with its greeting.
func serveExternal(t *testing.T, scenario string, c ExternalConn) (*World, *External, string) {
	t.Helper()
	w, err := New(scenario, 1)
	if err != nil {
		t.Fatal(err)
	}
	x, err := w.ServeExternal(c)
	if err != nil {
		t.Fatal(err)
	}
	return w, x, string(x.Output())
}

// feed sends lines (CRLF added) one call each and returns every reply.
func feed(x *External, lines ...string) string {
	var out strings.Builder
	for _, l := range lines {
		x.Feed([]byte(l + "\r\n"))
		out.Write(x.Output())
	}
	return out.String()
}

// codes returns the reply codes at the start of each last reply line.
func codes(out string) string {
	var c []string
	for _, l := range strings.Split(strings.TrimSuffix(out, "\r\n"), "\r\n") {
		if len(l) >= 4 && l[3] == ' ' {
			c = append(c, l[:3])
		}
	}
	return strings.Join(c, " ")
}

func TestExternalSessionDeliversAndTraces(t *testing.T) {
	w, x, greeting := serveExternal(t, "first-session", ExternalConn{Port: 25, Remote: "127.0.0.1:40000"})
	if x.Host() != "mx.example.org" || !strings.HasPrefix(greeting, "220 mx.example.org") {
		t.Fatalf("host %s greeting %q", x.Host(), greeting)
	}
	out := feed(x, "EHLO client.test", "MAIL FROM:<a@client.test>", "RCPT TO:<bob@example.org>",
		"RCPT TO:<nobody@example.org>", "DATA", "Subject: hi", "", "body", ".", "QUIT")
	if got, want := codes(out), "250 250 250 550 354 250 221"; got != want {
		t.Fatalf("codes %q, want %q\n%s", got, want, out)
	}
	if !x.Closed() || x.Accepted() != 1 || x.Deadline() != 0 {
		t.Fatalf("closed %v accepted %d deadline %v", x.Closed(), x.Accepted(), x.Deadline())
	}
	st := w.State()
	if len(st.Mailboxes) != 1 || len(st.Mailboxes[0].Messages) != 1 {
		t.Fatalf("mailboxes %+v", st.Mailboxes)
	}
	raw := st.Mailboxes[0].Messages[0].Raw
	if !strings.HasPrefix(raw, "Return-Path: <a@client.test>\r\nReceived: from client.test (unknown [127.0.0.1])") || !strings.HasSuffix(raw, "\r\nSubject: hi\r\n\r\nbody\r\n") {
		t.Fatalf("stored message %q", raw)
	}
	var kinds []string
	for _, e := range w.Trace() {
		if e.Conn == x.Conn() {
			kinds = append(kinds, string(e.Kind))
		}
	}
	if kinds[0] != "conn.open" || kinds[len(kinds)-1] != "conn.close" || len(kinds) != 1+6+8+1 { // open, 6 commands, the greeting and 7 replies, close
		t.Fatalf("trace of the external connection: %v", kinds)
	}
	x.Disconnected("client closed the connection") // after the close: nothing more
	if last := w.Trace()[len(w.Trace())-1]; last.Kind == trace.ConnClose && last.Text != "quit" {
		t.Fatalf("second close traced: %+v", last)
	}
}

// TestExternalReleaseReuses: sessions from outside whose memory is reused
// (Release) answer and trace what new ones do, whatever the session before
// left behind: a message, a timeout, another port or client.
func TestExternalReleaseReuses(t *testing.T) {
	type conn struct {
		c     ExternalConn
		lines []string
		end   func(x *External)
	}
	conns := []conn{
		{ExternalConn{Port: 25, Remote: "127.0.0.1:40000"}, []string{"EHLO client.test", "MAIL FROM:<a@client.test>", "RCPT TO:<bob@example.org>", "DATA", "Subject: hi", "", "body", ".", "QUIT"}, nil},
		{ExternalConn{Port: 25, Remote: "[::1]:40001"}, []string{"HELO other.test", "MAIL FROM:<b@other.test>", "DATA"}, (*External).Timeout},
		{ExternalConn{Port: 587, Remote: "127.0.0.1:40002"}, []string{"EHLO client.test", "MAIL FROM:<a@client.test>"}, func(x *External) { x.Disconnected("gone") }},
		{ExternalConn{Port: 25, Remote: "127.0.0.1:40003"}, []string{"EHLO client.test", "MAIL FROM:<a@client.test>", "RCPT TO:<bob@example.org>", "BDAT 3 LAST", "x\r\n", "QUIT"}, nil},
	}
	run := func(release bool) (string, []trace.Event) {
		w, err := New("first-session", 1)
		if err != nil {
			t.Fatal(err)
		}
		var out strings.Builder
		for _, c := range conns {
			x, err := w.ServeExternal(c.c)
			if err != nil {
				t.Fatal(err)
			}
			out.Write(x.Output())
			out.WriteString(feed(x, c.lines...))
			if c.end != nil {
				c.end(x)
				out.Write(x.Output())
			}
			if release {
				x.Release()
			}
		}
		return out.String(), w.Trace()
	}
	fresh, freshTrace := run(false)
	reused, reusedTrace := run(true)
	if reused != fresh {
		t.Fatalf("reused sessions said\n%s\nnew ones\n%s", reused, fresh)
	}
	if len(reusedTrace) != len(freshTrace) {
		t.Fatalf("%d events, new sessions made %d", len(reusedTrace), len(freshTrace))
	}
	for i := range freshTrace {
		if a, b := reusedTrace[i], freshTrace[i]; a.Kind != b.Kind || a.Text != b.Text || a.Conn != b.Conn || a.Code != b.Code {
			t.Fatalf("event %d: %+v, new sessions: %+v", i, a, b)
		}
	}
}

func TestExternalRelayedMailMovesOn(t *testing.T) {
	// smtp.example.com relays for 192.0.2.0/24: a message for example.org is
	// queued and then delivered to mx.example.org inside the same Feed.
	w, x, _ := serveExternal(t, "first-session", ExternalConn{Host: "smtp.example.com", Port: 25, Remote: "192.0.2.77:1025"})
	out := feed(x, "HELO pc", "MAIL FROM:<alice@example.com>", "RCPT TO:<carol@example.org>", "DATA", "Subject: relay", "", "x", ".")
	if got := codes(out); got != "250 250 250 354 250" {
		t.Fatalf("codes %q", got)
	}
	var delivered bool
	for _, e := range w.Trace() {
		delivered = delivered || (e.Kind == trace.Delivery && e.Host == "mx.example.org" && e.Rcpt == "carol@example.org")
	}
	if !delivered {
		t.Fatal("the relayed message did not reach mx.example.org")
	}
}

func TestExternalPhasesTimeoutsAndShutdown(t *testing.T) {
	_, x, _ := serveExternal(t, "first-session", ExternalConn{Port: 25, Remote: "[::1]:9"})
	command := x.Deadline()
	feed(x, "EHLO a", "MAIL FROM:<>", "RCPT TO:<bob@example.org>", "DATA")
	if !x.InMessage() || x.Deadline() >= command {
		t.Fatalf("after 354: in message %v, deadline %v (command %v)", x.InMessage(), x.Deadline(), command)
	}
	x.Timeout()
	if out := string(x.Output()); !strings.HasPrefix(out, "421 4.4.2") || !x.Closed() {
		t.Fatalf("timeout: %q closed %v", out, x.Closed())
	}

	w, y, _ := serveExternal(t, "first-session", ExternalConn{Port: 25, Remote: "127.0.0.1:1"})
	feed(y, "EHLO a", "MAIL FROM:<>", "RCPT TO:<bob@example.org>", "DATA", "Subject: cut")
	y.Disconnected("client closed the connection")
	if last := w.Trace()[len(w.Trace())-1]; last.Kind != trace.ConnClose || !strings.Contains(last.Text, "not accepted") {
		t.Fatalf("mid-message disconnect traced as %+v", last)
	}
	if len(w.State().Mailboxes) != 0 {
		t.Fatal("a message cut off mid-DATA was stored")
	}

	// Before EHLO too replies carry enhanced status codes (RFC 2034 §4).
	_, z, _ := serveExternal(t, "first-session", ExternalConn{Port: 25, Remote: "127.0.0.1:2"})
	z.Shutdown()
	if out := string(z.Output()); !strings.HasPrefix(out, "421 4.3.2 mx.example.org Service shutting down") || !z.Closed() {
		t.Fatalf("shutdown: %q", out)
	}
}

func TestExternalSTARTTLSAndImplicitTLS(t *testing.T) {
	w, x, _ := serveExternal(t, "first-session", ExternalConn{Port: 25, Remote: "127.0.0.1:3", TLSAvailable: true})
	if out := feed(x, "EHLO a"); !strings.Contains(out, "STARTTLS") {
		t.Fatalf("STARTTLS not offered: %q", out)
	}
	if out := feed(x, "STARTTLS"); !strings.HasPrefix(out, "220") || !x.TLSRequested() {
		t.Fatalf("STARTTLS: %q, requested %v", out, x.TLSRequested())
	}
	x.TLSStarted(tls.ConnectionState{Version: tls.VersionTLS13, CipherSuite: tls.TLS_AES_128_GCM_SHA256})
	if x.TLSRequested() {
		t.Fatal("still waiting for TLS after TLSStarted")
	}
	if out := feed(x, "EHLO a"); strings.Contains(out, "STARTTLS") || !strings.HasPrefix(out, "250") {
		t.Fatalf("EHLO inside TLS: %q", out)
	}
	var step trace.Event
	for _, e := range w.Trace() {
		if e.Kind == trace.TLSStep {
			step = e
		}
	}
	if step.Attrs["version"] != "TLS 1.3" || step.Conn != x.Conn() {
		t.Fatalf("tls step %+v", step)
	}

	if _, err := w.ServeExternal(ExternalConn{Port: 465, Remote: "127.0.0.1:4"}); err == nil {
		t.Fatal("port 465 served without a handshake")
	}
	y, err := w.ServeExternal(ExternalConn{Port: 465, Remote: "127.0.0.1:4", TLS: &tls.ConnectionState{Version: tls.VersionTLS13}})
	if err != nil || y.Host() != "smtp.example.com" || !strings.HasPrefix(string(y.Output()), "220 ") {
		t.Fatalf("port 465: %v %v", err, y)
	}
}

func TestExternalTLSCertificates(t *testing.T) {
	now := time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		scenario, host string
		wantErr        bool
		verifies       bool
	}{
		{"first-session", "mx.example.org", false, true},
		{"bad-certificate", "mx.example.org", false, false},
		{"first-session", "nowhere.example", true, false},
	}
	for _, c := range cases {
		w, _ := New(c.scenario, 1)
		cfg, caPEM, err := w.ExternalTLS(c.host, now)
		if (err != nil) != c.wantErr {
			t.Fatalf("%s %s: error %v", c.scenario, c.host, err)
		}
		if err != nil {
			continue
		}
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(caPEM) {
			t.Fatalf("%s: CA PEM does not parse", c.scenario)
		}
		leaf := cfg.Certificates[0].Leaf
		_, verr := leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: c.host, CurrentTime: now})
		if (verr == nil) != c.verifies {
			t.Errorf("%s %s: verify at %v: %v", c.scenario, c.host, now, verr)
		}
	}
}

func TestExternalHostChoice(t *testing.T) {
	w, _ := New("first-session", 1)
	for _, c := range []struct {
		port int
		host string
	}{{25, "mx.example.org"}, {587, "smtp.example.com"}, {465, "smtp.example.com"}} {
		if h, err := w.ExternalHost(c.port); err != nil || h != c.host {
			t.Errorf("port %d: %q %v, want %s", c.port, h, err, c.host)
		}
	}
	for _, c := range []ExternalConn{
		{Port: 2525, Remote: "127.0.0.1:1"},
		{Host: "nowhere.example", Port: 25, Remote: "127.0.0.1:1"},
		{Host: "mx.example.org", Port: 587, Remote: "127.0.0.1:1"},
		{Port: 25, Remote: "not an address"},
	} {
		if _, err := w.ServeExternal(c); err == nil {
			t.Errorf("%+v was served", c)
		}
	}
}

// FuzzExternalFeed feeds arbitrary bytes, in arbitrary chunks, to a
// session from outside: the world must never panic, every message the
// session accepted must be in a mailbox, and a closed session must ask for
// no more input.
func FuzzExternalFeed(f *testing.F) {
	f.Add([]byte("EHLO a\r\nMAIL FROM:<x@y>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\nhi\r\n.\r\nQUIT\r\n"), uint8(7))
	f.Add([]byte("EHLO a\r\nBDAT 3 LAST\r\nabcRSET\r\n"), uint8(1))
	f.Add([]byte("EHLO a\nMAIL FROM:<\x00>\r\n"), uint8(3))
	f.Fuzz(func(t *testing.T, data []byte, chunk uint8) {
		w, err := New("first-session", 1)
		if err != nil {
			t.Fatal(err)
		}
		x, err := w.ServeExternal(ExternalConn{Port: 25, Remote: "127.0.0.1:1", TLSAvailable: true})
		if err != nil {
			t.Fatal(err)
		}
		step := int(chunk)%64 + 1
		for len(data) > 0 && !x.Closed() && !x.TLSRequested() {
			n := min(step, len(data))
			x.Feed(data[:n])
			data = data[n:]
		}
		if x.Closed() && x.Deadline() != 0 {
			t.Fatalf("closed, yet waiting %v for input", x.Deadline())
		}
		stored := 0
		for _, box := range w.State().Mailboxes {
			stored += len(box.Messages)
		}
		if stored < x.Accepted() {
			t.Fatalf("%d messages accepted, %d in mailboxes", x.Accepted(), stored)
		}
		x.Disconnected("fuzz")
	})
}
