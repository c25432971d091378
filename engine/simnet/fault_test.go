package simnet

import (
	"slices"
	"testing"
	"time"

	"smtplab/engine/trace"
)

// openLab returns a lab with one established connection and both its ends.
func openLab(t *testing.T, opts ...Option) (l *lab, cli, srv *Conn) {
	t.Helper()
	l = newLab(t, opts...)
	if err := l.mx.Listen(26, func(c *Conn) Handler { srv = c; return l.srv }); err != nil {
		t.Fatal(err)
	}
	cli = l.w.Dial(l.client, "mx.example.org", 26, l.cli)
	l.w.Settle()
	if !cli.Established() || srv == nil {
		t.Fatal("connection not established")
	}
	l.j.lines = nil
	return l, cli, srv
}

// textsOf returns "kind: text" of every event after the first skip ones.
func textsOf(w *World, skip int) []string {
	var out []string
	for _, e := range w.Log().All()[skip:] {
		out = append(out, string(e.Kind)+": "+e.Text)
	}
	return out
}

func TestDropAfterMidData(t *testing.T) {
	l, cli, _ := openLab(t)
	l.w.DropAfter(l.client, l.mx, 10)
	mark := l.w.Log().Len()
	_ = cli.Write([]byte("DATA\r\n"))
	_ = cli.Write([]byte("Subject: hi\r\n\r\nHello\r\n.\r\n"))
	if err := cli.Write([]byte("QUIT\r\n")); err == nil {
		t.Fatal("Write after the drop succeeded")
	}
	l.w.Settle()
	wantLines(t, l.j.lines, []string{
		`10ms client closed dropped`,
		`15ms server data "DATA\r\n"`,
		`15ms server data "Subj"`,
		`15ms server closed dropped`,
	})
	wantLines(t, textsOf(l.w, mark), []string{
		"bytes: DATA\r\n",
		"bytes: Subj",
		"fault: connection 1 dropped after 10 bytes from client.example.com",
		"conn.close: dropped",
	})

	// The fault fired once: the next connection carries everything.
	var got []byte
	l.srv.onData = func(c *Conn, p []byte) { got = append(got, p...) }
	c2 := l.w.Dial(l.client, "mx.example.org", 25, l.cli)
	l.w.Settle()
	_ = c2.Write([]byte("DATA\r\nSubject: hi\r\n"))
	l.w.Settle()
	if string(got) != "DATA\r\nSubject: hi\r\n" {
		t.Fatalf("second connection delivered %q", got)
	}
}

func TestDropAfterFromServerToAnyone(t *testing.T) {
	l := newLab(t)
	l.w.DropAfter(l.mx, nil, 0)
	l.srv.onOpen = func(c *Conn) { _ = c.Write([]byte("220 hello\r\n")) }
	l.w.Dial(l.client, "mx.example.org", 25, l.cli)
	l.w.Settle()
	wantLines(t, l.j.lines, []string{
		`5ms server open`,
		`5ms server closed dropped`,
		`10ms client open`,
		`10ms client closed dropped`,
	})
	if n := len(eventsOf(l.w, trace.Bytes)); n != 0 {
		t.Fatalf("%d bytes events, want none: not a byte got through", n)
	}
}

func TestHostDownResetsConnections(t *testing.T) {
	l, _, _ := openLab(t)
	mark := l.w.Log().Len()
	l.mx.SetDown(true)
	l.mx.SetDown(true) // no change, no second event
	l.w.Settle()
	wantLines(t, l.j.lines, []string{
		`10ms server closed reset: the host's services stopped`,
		`15ms client closed reset: the host's services stopped`,
	})
	wantLines(t, textsOf(l.w, mark), []string{"fault: mx.example.org's services are stopped: connections to it are refused at once",
		"conn.close: reset: the host's services stopped"})
	if f := eventsOf(l.w, trace.Fault)[0]; f.Host != "mx.example.org" || f.At != 10 {
		t.Fatalf("fault event %+v", f)
	}

	l.mx.SetDown(false)
	l.w.Dial(l.client, "mx.example.org", 25, l.cli)
	l.w.Settle()
	if got := textsOf(l.w, l.w.Log().Len()-2); !slices.Equal(got, []string{"fault: mx.example.org's services are running again", "conn.open: mx.example.org:25"}) {
		t.Fatalf("after host up: %v", got)
	}
}

func TestUnreachableLosesPacketsSilently(t *testing.T) {
	l, cli, srv := openLab(t)
	l.mx.SetUnreachable(true)
	_ = cli.Write([]byte("NOOP\r\n"))
	l.w.Settle()
	if len(l.j.lines) != 0 {
		t.Fatalf("handlers saw %v while the host was unreachable", l.j.lines)
	}
	l.mx.SetUnreachable(false)
	_ = cli.Write([]byte("NOOP again\r\n"))
	l.w.Settle()
	srv.Close("idle")
	l.w.Settle()
	wantLines(t, l.j.lines, []string{
		`20ms server data "NOOP again\r\n"`,
		`25ms client closed idle`,
	})
	wantLines(t, textsOf(l.w, 1), []string{
		"fault: host unreachable",
		"bytes: NOOP\r\n", // sent, even though it never arrived
		"fault: host reachable again",
		"bytes: NOOP again\r\n",
		"conn.close: idle",
	})
}

func TestSlowLink(t *testing.T) {
	l := newLab(t)
	l.w.SetLatency(l.mx, l.client, 2*time.Second)
	if got := l.w.Latency(l.client, l.mx); got != 2*time.Second {
		t.Fatalf("Latency = %v, want 2s", got)
	}
	l.srv.onOpen = func(c *Conn) { _ = c.Write([]byte("220\r\n")) }
	l.w.Dial(l.client, "mx.example.org", 25, l.cli)
	l.w.Settle() // deliveries in flight run however slow the link is
	wantLines(t, l.j.lines, []string{
		`2s server open`,
		`4s client open`,
		`4s client data "220\r\n"`,
	})
	f := eventsOf(l.w, trace.Fault)
	if len(f) != 1 || f[0].Text != "link latency 2s" || f[0].Host != "mx.example.org" || f[0].Peer != "client.example.com" {
		t.Fatalf("fault events %+v", f)
	}
}

// A link slower than the connect timeout: the server accepts, but the
// client gives up before the answer arrives, and the server learns it.
func TestLinkSlowerThanConnectTimeout(t *testing.T) {
	l := newLab(t, WithConnectTimeout(30*time.Second))
	l.w.SetLatency(l.client, l.mx, 20*time.Second)
	l.w.Dial(l.client, "mx.example.org", 25, l.cli)
	l.w.Advance(2 * time.Minute)
	wantLines(t, l.j.lines, []string{
		`20s server open`,
		`30s client closed timeout`,
		`50s server closed timeout`,
	})
	closes := eventsOf(l.w, trace.ConnClose)
	if len(closes) != 1 || closes[0].Conn != 1 || closes[0].At != 30000 {
		t.Fatalf("conn.close events %+v, want conn 1 at 30s", closes)
	}
}

func TestScheduledFault(t *testing.T) {
	l, _, _ := openLab(t)
	l.w.After(10*time.Minute, func() { l.mx.SetDown(true) })
	l.w.Settle()
	if len(l.j.lines) != 0 {
		t.Fatal("a fault 10 minutes away fired during Settle")
	}
	l.w.Advance(15 * time.Minute)
	wantLines(t, l.j.lines, []string{
		`10m0.01s server closed reset: the host's services stopped`,
		`10m0.015s client closed reset: the host's services stopped`,
	})
}

// TestBlockPortFiltersOutgoingDials: a filtered port drops the host's
// connection requests to it, which time out at the deadline DialDeadline
// gives; other ports, other hosts and connections already open are not
// touched, and the filter lifts.
func TestBlockPortFiltersOutgoingDials(t *testing.T) {
	l, open, _ := openLab(t)
	if err := l.mx.Listen(587, func(c *Conn) Handler { return l.srv }); err != nil {
		t.Fatal(err)
	}
	l.w.BlockPort(l.client, 25, true)
	l.w.BlockPort(l.client, 25, true) // no change, no event
	mark, dialed := l.w.Log().Len(), l.w.Now()
	blocked := l.w.Dial(l.client, "mx.example.org", 25, l.cli)
	l.w.Settle()
	if at, waiting := blocked.DialDeadline(); !waiting || at != dialed+DefaultConnectTimeout {
		t.Fatalf("a filtered dial after Settle: deadline %v, waiting %v; want %v, true", at, waiting, dialed+DefaultConnectTimeout)
	}
	other := l.w.Dial(l.client, "mx.example.org", 587, l.cli)
	l.w.Settle()
	if !other.Established() || !open.Established() {
		t.Fatal("the filter on port 25 stopped a dial to 587 or cut an open connection")
	}
	if _, waiting := other.DialDeadline(); waiting {
		t.Fatal("an established connection still has a dial deadline")
	}
	l.w.Advance(DefaultConnectTimeout)
	if !blocked.IsClosed() || l.cli.why != ReasonTimeout {
		t.Fatalf("the filtered dial: closed %v (%q), want a timeout", blocked.IsClosed(), l.cli.why)
	}
	wantLines(t, textsOf(l.w, mark), []string{
		"fault: a filter on client.example.com's network dropped its connection request to mx.example.org:25",
		"conn.open: mx.example.org:587",
		"conn.close: timeout",
		"clock: 30s",
	})
	if e := eventsOf(l.w, trace.ConnClose)[0]; e.Port != 25 || e.Peer != "mx.example.org" {
		t.Errorf("the timed-out dial's conn.close: %+v, want port 25 of mx.example.org", e)
	}

	// The MX's own dials to port 25 are not the client's, and the filter
	// lifts.
	if err := l.client.Listen(25, func(c *Conn) Handler { return &recorder{j: l.j, name: "client server"} }); err != nil {
		t.Fatal(err)
	}
	incoming := l.w.Dial(l.mx, "client.example.com", 25, nil)
	l.w.Settle()
	if !incoming.Established() {
		t.Fatal("the filter on the client's network stopped the MX's dial")
	}
	l.w.BlockPort(l.client, 25, false)
	again := l.w.Dial(l.client, "mx.example.org", 25, l.cli)
	l.w.Settle()
	if !again.Established() {
		t.Fatal("a dial after the filter lifted was not answered")
	}
	var faults []string
	for _, e := range eventsOf(l.w, trace.Fault) {
		if e.Port == 25 {
			faults = append(faults, e.Text)
		}
	}
	wantLines(t, faults, []string{
		"outgoing connections to port 25 are blocked",
		"a filter on client.example.com's network dropped its connection request to mx.example.org:25",
		"outgoing connections to port 25 are allowed again",
	})
}

// TestReachesForeseesLostBytes: a driver that traces a reply before it
// writes it can ask how much of it will arrive: all of it on a healthy
// link, the bytes before an armed drop, none while a host is cut off or
// once the peer has closed. Asking does not fire or disarm the drop.
func TestReachesForeseesLostBytes(t *testing.T) {
	l, cli, srv := openLab(t)
	if n := srv.Reaches(12); n != 12 {
		t.Fatalf("healthy link: Reaches(12) = %d", n)
	}
	_ = srv.Write([]byte("220 hi\r\n"))
	l.w.DropAfter(l.mx, l.client, 12)
	if n := srv.Reaches(3); n != 3 {
		t.Errorf("within the drop's allowance: Reaches(3) = %d, want 3", n)
	}
	if n := srv.Reaches(10); n != 4 {
		t.Errorf("across the drop: Reaches(10) = %d, want the 4 bytes before the cut", n)
	}
	if n := cli.Reaches(10); n != 10 {
		t.Errorf("the drop is the server's: the client's Reaches(10) = %d", n)
	}
	if len(eventsOf(l.w, trace.Fault)) != 0 {
		t.Fatal("asking fired the drop")
	}
	_ = srv.Write([]byte("250 Ok: queued\r\n"))
	l.w.Settle()
	if got := string(l.cli.got); got != "220 hi\r\n250 " {
		t.Fatalf("the client got %q", got)
	}
	if n := srv.Reaches(5); n != 0 {
		t.Errorf("after the cut: Reaches(5) = %d, want 0", n)
	}

	l2, cli2, srv2 := openLab(t)
	l2.mx.SetUnreachable(true)
	if n := srv2.Reaches(5); n != 0 {
		t.Errorf("host unreachable: Reaches(5) = %d, want 0", n)
	}
	l2.mx.SetUnreachable(false)
	cli2.Close("quit")
	if n := srv2.Reaches(5); n != 0 {
		t.Errorf("peer closed: Reaches(5) = %d, want 0", n)
	}
}
