package simnet

import (
	"errors"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"smtplab/engine/trace"
)

func TestDialOutcomes(t *testing.T) {
	tests := []struct {
		name      string
		setup     func(l *lab)
		to        string
		port      int
		wantLines []string
		wantKinds []string
		want      trace.Event // the last event, ID left out
	}{
		{
			name: "accepted", to: "mx.example.org", port: 25,
			wantLines: []string{"5ms server open", "10ms client open"},
			wantKinds: []string{"conn.open"},
			want: trace.Event{At: 5, Kind: trace.ConnOpen, Conn: 1, Host: "client.example.com",
				Peer: "mx.example.org", Port: 25, Text: "mx.example.org:25"},
		},
		{
			name: "name in another case with a trailing dot", to: "MX.Example.ORG.", port: 25,
			wantLines: []string{"5ms server open", "10ms client open"},
			wantKinds: []string{"conn.open"},
			want: trace.Event{At: 5, Kind: trace.ConnOpen, Conn: 1, Host: "client.example.com",
				Peer: "mx.example.org", Port: 25, Text: "mx.example.org:25"},
		},
		{
			name: "by IPv4 address", to: "198.51.100.25", port: 25,
			wantLines: []string{"5ms server open", "10ms client open"},
			wantKinds: []string{"conn.open"},
			want: trace.Event{At: 5, Kind: trace.ConnOpen, Conn: 1, Host: "client.example.com",
				Peer: "mx.example.org", Port: 25, Text: "198.51.100.25:25"},
		},
		{
			name: "by IPv6 address", to: "2001:db8::25", port: 25,
			wantLines: []string{"5ms server open", "10ms client open"},
			wantKinds: []string{"conn.open"},
			want: trace.Event{At: 5, Kind: trace.ConnOpen, Conn: 1, Host: "client.example.com",
				Peer: "mx.example.org", Port: 25, Text: "[2001:db8::25]:25"},
		},
		{
			name: "nothing listening", to: "mx.example.org", port: 587,
			wantLines: []string{"10ms client closed refused"},
			wantKinds: []string{"conn.refused"},
			want: trace.Event{At: 10, Kind: trace.ConnRefused, Host: "client.example.com",
				Peer: "mx.example.org", Port: 587, Text: "nothing listens on port 587"},
		},
		{
			name: "server host down", to: "mx.example.org", port: 25,
			setup:     func(l *lab) { l.mx.SetDown(true) },
			wantLines: []string{"10ms client closed refused"},
			wantKinds: []string{"fault", "conn.refused"},
			want: trace.Event{At: 10, Kind: trace.ConnRefused, Host: "client.example.com",
				Peer: "mx.example.org", Port: 25, Text: "nothing listens on port 25: the host's services are stopped"},
		},
		{
			name: "accept refuses", to: "mx.example.org", port: 2525,
			setup: func(l *lab) {
				_ = l.mx.Listen(2525, func(c *Conn) Handler { return nil })
			},
			wantLines: []string{"10ms client closed refused"},
			wantKinds: []string{"conn.refused"},
			want: trace.Event{At: 10, Kind: trace.ConnRefused, Host: "client.example.com",
				Peer: "mx.example.org", Port: 2525, Text: "connection rejected by the server"},
		},
		{
			name: "dialing host down", to: "mx.example.org", port: 25,
			setup:     func(l *lab) { l.client.SetDown(true) },
			wantLines: []string{"0s client closed refused"},
			wantKinds: []string{"fault", "conn.refused"},
			want: trace.Event{At: 0, Kind: trace.ConnRefused, Host: "client.example.com",
				Peer: "mx.example.org", Port: 25, Text: "the local host's services are stopped"},
		},
		{
			name: "dialing host goes down while its SYN travels", to: "mx.example.org", port: 25,
			setup: func(l *lab) {
				l.w.After(time.Millisecond, func() { l.client.SetDown(true) })
			},
			wantLines: []string{"30s client closed timeout"},
			wantKinds: []string{"fault", "conn.close"},
			want: trace.Event{At: 30000, Kind: trace.ConnClose, Host: "client.example.com",
				Peer: "mx.example.org", Port: 25, Text: "timeout"},
		},
		{
			name: "server unreachable", to: "mx.example.org", port: 25,
			setup:     func(l *lab) { l.mx.SetUnreachable(true) },
			wantLines: []string{"30s client closed timeout"},
			wantKinds: []string{"fault", "conn.close"},
			want: trace.Event{At: 30000, Kind: trace.ConnClose, Host: "client.example.com",
				Peer: "mx.example.org", Port: 25, Text: "timeout"},
		},
		{
			name: "dialing host unreachable", to: "mx.example.org", port: 25,
			setup:     func(l *lab) { l.client.SetUnreachable(true) },
			wantLines: []string{"30s client closed timeout"},
			wantKinds: []string{"fault", "conn.close"},
			want: trace.Event{At: 30000, Kind: trace.ConnClose, Host: "client.example.com",
				Peer: "mx.example.org", Port: 25, Text: "timeout"},
		},
		{
			name: "unknown address", to: "203.0.113.9", port: 25,
			wantLines: []string{"30s client closed timeout"},
			wantKinds: []string{"conn.close"},
			want: trace.Event{At: 30000, Kind: trace.ConnClose, Host: "client.example.com",
				Peer: "203.0.113.9", Port: 25, Text: "timeout"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLab(t)
			if tt.setup != nil {
				tt.setup(l)
			}
			l.w.Dial(l.client, tt.to, tt.port, l.cli)
			l.w.Advance(time.Minute)
			wantLines(t, l.j.lines, tt.wantLines)
			got := kinds(l.w)
			if got[len(got)-1] != "clock" {
				t.Fatalf("last event %s, want the clock event", got[len(got)-1])
			}
			if !slices.Equal(got[:len(got)-1], tt.wantKinds) {
				t.Fatalf("kinds %v, want %v + clock", got, tt.wantKinds)
			}
			all := l.w.Log().All()
			last := all[len(all)-2]
			last.ID = 0
			if !eventEqual(last, tt.want) {
				t.Fatalf("event %+v\nwant  %+v", last, tt.want)
			}
			if l.w.Pending() != 0 {
				t.Fatalf("%d events left in the queue", l.w.Pending())
			}
		})
	}
}

// TestDialLabel checks that a dialer's label reaches the event that says
// how the dial went, whichever it is, and no other.
func TestDialLabel(t *testing.T) {
	label := map[string]string{"client": "terminal"}
	for _, tt := range []struct {
		name  string
		setup func(l *lab)
		port  int
		kind  trace.Kind
	}{
		{"accepted", nil, 25, trace.ConnOpen},
		{"refused", nil, 587, trace.ConnRefused},
		{"timed out", func(l *lab) { l.mx.SetUnreachable(true) }, 25, trace.ConnClose},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l := newLab(t)
			if tt.setup != nil {
				tt.setup(l)
			}
			c := l.w.Dial(l.client, "mx.example.org", tt.port, l.cli)
			c.Label(label)
			l.w.Advance(time.Minute)
			labelled := 0
			for _, e := range l.w.Log().All() {
				if e.Attrs != nil {
					labelled++
					if e.Kind != tt.kind || !reflect.DeepEqual(e.Attrs, label) {
						t.Errorf("%s event has attrs %v", e.Kind, e.Attrs)
					}
				}
			}
			if labelled != 1 {
				t.Errorf("%d labelled events, want 1", labelled)
			}
		})
	}
}

// eventEqual compares two events, attrs included.
func eventEqual(a, b trace.Event) bool { return reflect.DeepEqual(a, b) }

// TestExchange runs a tiny SMTP-like conversation and checks when each side
// saw what, and the bytes events.
func TestExchange(t *testing.T) {
	l := newLab(t)
	l.srv.onOpen = func(c *Conn) { _ = c.Write([]byte("220 mx ready\r\n")) }
	l.srv.onData = func(c *Conn, p []byte) {
		_ = c.Write([]byte("221 bye\r\n"))
		c.Close("quit")
	}
	l.cli.onData = func(c *Conn, p []byte) {
		if strings.HasPrefix(string(p), "220") {
			_ = c.Write([]byte("QUIT\r\n"))
		}
	}
	l.w.Dial(l.client, "mx.example.org", 25, l.cli)
	if n := l.w.Settle(); n == 0 {
		t.Fatal("Settle ran nothing")
	}
	wantLines(t, l.j.lines, []string{
		`5ms server open`,
		`10ms client open`,
		`10ms client data "220 mx ready\r\n"`,
		`15ms server data "QUIT\r\n"`,
		`20ms client data "221 bye\r\n"`,
		`20ms client closed quit`,
	})
	if l.w.Now() != 20*time.Millisecond || l.w.Pending() != 0 {
		t.Fatalf("after Settle: Now %v, %d pending; want 20ms, 0", l.w.Now(), l.w.Pending())
	}
	if l.srv.closed != 0 {
		t.Fatal("the server, which closed the connection itself, was told Closed")
	}
	var got []trace.Event
	for _, e := range eventsOf(l.w, trace.Bytes) {
		e.ID = 0
		got = append(got, e)
	}
	c2s := trace.Event{Kind: trace.Bytes, Conn: 1, Host: "client.example.com", Peer: "mx.example.org", Dir: trace.ToServer}
	s2c := trace.Event{Kind: trace.Bytes, Conn: 1, Host: "mx.example.org", Peer: "client.example.com", Dir: trace.ToClient}
	want := []trace.Event{s2c, c2s, s2c}
	want[0].At, want[0].Size, want[0].Text = 5, 14, "220 mx ready\r\n"
	want[1].At, want[1].Size, want[1].Text = 10, 6, "QUIT\r\n"
	want[2].At, want[2].Size, want[2].Text = 15, 9, "221 bye\r\n"
	if !slices.EqualFunc(got, want, eventEqual) {
		t.Fatalf("bytes events:\n%+v\nwant\n%+v", got, want)
	}
	closes := eventsOf(l.w, trace.ConnClose)
	if len(closes) != 1 || closes[0].Text != "quit" || closes[0].At != 15 || closes[0].Host != "client.example.com" {
		t.Fatalf("conn.close events %+v, want one 'quit' at 15ms from the client's view", closes)
	}
}

func TestWithLatency(t *testing.T) {
	l := newLab(t, WithLatency(50*time.Millisecond))
	l.w.Dial(l.client, "mx.example.org", 25, l.cli)
	l.w.Settle()
	wantLines(t, l.j.lines, []string{"50ms server open", "100ms client open"})
}

func TestBytesKeepOrderWhenLatencyDrops(t *testing.T) {
	l := newLab(t)
	var c *Conn
	l.cli.onOpen = func(conn *Conn) { c = conn }
	l.w.Dial(l.client, "mx.example.org", 25, l.cli)
	l.w.Settle()
	l.w.SetLatency(l.client, l.mx, 100*time.Millisecond)
	_ = c.Write([]byte("first "))
	l.w.SetLatency(l.client, l.mx, time.Millisecond)
	_ = c.Write([]byte("second"))
	l.w.Advance(time.Millisecond * 50)
	_ = c.Write([]byte(" third"))
	c.Close("done")
	l.w.Settle()
	wantLines(t, l.j.lines, []string{
		`5ms server open`,
		`10ms client open`,
		`110ms server data "first "`,
		`110ms server data "second"`,
		`110ms server data " third"`,
		`110ms server closed done`,
	})
	if string(l.srv.got) != "first second third" {
		t.Fatalf("server got %q", l.srv.got)
	}
}

func TestCloseReachesPeerOnceAfterItsBytes(t *testing.T) {
	l := newLab(t)
	l.srv.onOpen = func(c *Conn) {
		_ = c.Write([]byte("554 go away\r\n"))
		c.Close("rejected")
		c.Close("again") // a second Close does nothing
	}
	l.w.Dial(l.client, "mx.example.org", 25, l.cli)
	l.w.Settle()
	wantLines(t, l.j.lines, []string{
		`5ms server open`,
		`10ms client open`,
		`10ms client data "554 go away\r\n"`,
		`10ms client closed rejected`,
	})
	if n := len(eventsOf(l.w, trace.ConnClose)); n != 1 {
		t.Fatalf("%d conn.close events, want 1", n)
	}
}

func TestWriteAndUpgradeErrors(t *testing.T) {
	l := newLab(t)
	c := l.w.Dial(l.client, "mx.example.org", 25, l.cli)
	if err := c.Write([]byte("too early")); !errors.Is(err, ErrNotOpen) {
		t.Fatalf("Write before Open: %v, want ErrNotOpen", err)
	}
	l.w.Settle()
	if !c.Established() {
		t.Fatal("client end not established after Settle")
	}
	if err := c.Write(nil); err != nil {
		t.Fatalf("empty Write: %v", err)
	}
	_ = c.Write([]byte("NOOP\r\n"))
	if c.Sent() != 6 || c.TLS() || c.IsClosed() {
		t.Fatalf("Sent %d, TLS %v, IsClosed %v; want 6, false, false", c.Sent(), c.TLS(), c.IsClosed())
	}
	c.Close("bye")
	if !c.IsClosed() || c.Established() {
		t.Fatal("end still open after Close")
	}
	if err := c.Write([]byte("too late")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Write after Close: %v, want ErrClosed", err)
	}
	if err := c.Upgrade(xorCodec{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Upgrade after Close: %v, want ErrClosed", err)
	}
	if err := c.Upgrade(nil); err == nil {
		t.Fatal("Upgrade(nil) succeeded")
	}
	if n := len(eventsOf(l.w, trace.Bytes)); n != 1 {
		t.Fatalf("%d bytes events, want 1: writes that failed are not traced", n)
	}
}

func TestAbandonDial(t *testing.T) {
	l := newLab(t)
	l.mx.SetUnreachable(true)
	c := l.w.Dial(l.client, "mx.example.org", 25, l.cli)
	l.w.Advance(time.Second)
	c.Close("gave up")
	l.w.Advance(time.Minute)
	if len(l.j.lines) != 0 {
		t.Fatalf("handler called after abandoning: %v", l.j.lines)
	}
	closes := eventsOf(l.w, trace.ConnClose)
	if len(closes) != 1 || closes[0].Text != "gave up" || closes[0].At != 1000 {
		t.Fatalf("conn.close events %+v, want one 'gave up' at 1s", closes)
	}
}

func TestAddresses(t *testing.T) {
	l := newLab(t)
	var srv *Conn
	if err := l.mx.Listen(587, func(c *Conn) Handler { srv = c; return l.srv }); err != nil {
		t.Fatal(err)
	}
	cli := l.w.Dial(l.client, "2001:db8::25", 587, l.cli)
	l.w.Settle()
	port := cli.LocalAddr().Port()
	if port < 49152 {
		t.Fatalf("client port %d is not ephemeral", port)
	}
	checks := []struct{ name, got, want string }{
		{"client local", cli.LocalAddr().String(), "192.0.2.10:" + strconv.Itoa(int(port))},
		{"client remote", cli.RemoteAddr().String(), "[2001:db8::25]:587"},
		{"server local", srv.LocalAddr().String(), "[2001:db8::25]:587"},
		{"server remote", srv.RemoteAddr().String(), "192.0.2.10:" + strconv.Itoa(int(port))},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %s, want %s", c.name, c.got, c.want)
		}
	}
	if !cli.IsClient() || srv.IsClient() || cli.Remote() != l.mx || srv.Remote() != l.client || cli.ID() != 1 {
		t.Fatal("ends do not know their role, hosts or id")
	}
}

func TestListen(t *testing.T) {
	l := newLab(t)
	accept := func(c *Conn) Handler { return l.srv }
	tests := []struct {
		port    int
		wantErr string
	}{
		{587, ""},
		{25, "already in use"},
		{0, "out of range"},
		{65536, "out of range"},
	}
	for _, tt := range tests {
		err := l.mx.Listen(tt.port, accept)
		if (err == nil) != (tt.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("Listen(%d) = %v, want error containing %q", tt.port, err, tt.wantErr)
		}
	}
	if got := l.mx.Ports(); !slices.Equal(got, []int{25, 587}) {
		t.Fatalf("Ports = %v, want [25 587]", got)
	}
	l.mx.StopListening(25)
	l.w.Dial(l.client, "mx.example.org", 25, l.cli)
	l.w.Settle()
	if l.cli.why != ReasonRefused {
		t.Fatalf("dial after StopListening: %q, want refused", l.cli.why)
	}
}

func TestAddHostMistakesPanic(t *testing.T) {
	tests := []struct {
		name  string
		add   func(w *World)
		panic string
	}{
		{"empty name", func(w *World) { w.AddHost(" ") }, "empty name"},
		{"duplicate name", func(w *World) { w.AddHost("a.example"); w.AddHost("A.example.") }, "added twice"},
		{"bad address", func(w *World) { w.AddHost("a.example", "300.1.1.1") }, "300.1.1.1"},
		{"shared address", func(w *World) { w.AddHost("a.example", "192.0.2.1"); w.AddHost("b.example", "192.0.2.1") }, "already belongs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if s, _ := r.(string); !strings.Contains(s, tt.panic) {
					t.Fatalf("panic %v, want one mentioning %q", r, tt.panic)
				}
			}()
			tt.add(New(1))
		})
	}
}

func TestHostLookup(t *testing.T) {
	w := New(1)
	mx := w.AddHost("MX.example.org.", "198.51.100.25", "2001:db8::25")
	for _, q := range []string{"mx.example.org", "Mx.Example.Org.", "198.51.100.25", "2001:db8:0::25"} {
		if h, ok := w.Host(q); !ok || h != mx {
			t.Errorf("Host(%q) = %v, %v; want mx", q, h, ok)
		}
	}
	if _, ok := w.Host("198.51.100.26"); ok {
		t.Error("Host found an address nobody has")
	}
	if mx.Name() != "mx.example.org" || len(mx.Addrs()) != 2 || len(w.Hosts()) != 1 {
		t.Errorf("host = %s %v, hosts %d", mx.Name(), mx.Addrs(), len(w.Hosts()))
	}
}

// TestDialTargetsComeBack: a world keeps the last targets dialed (see
// resolve): dialed again, by address, by name in any case, or before and
// after a host that a target names is added, each reaches the host it
// names then, and the trace names it as it did.
func TestDialTargetsComeBack(t *testing.T) {
	w := New(1)
	client := w.AddHost("client.example", "192.0.2.10")
	mx := w.AddHost("mx.example.org", "198.51.100.25")
	var accepted []string
	accept := func(name string) func(c *Conn) Handler {
		return func(c *Conn) Handler { accepted = append(accepted, name); return HandlerFuncs{} }
	}
	if err := mx.Listen(25, accept("mx")); err != nil {
		t.Fatal(err)
	}
	dial := func(to string) *Conn {
		c := w.Dial(client, to, 25, HandlerFuncs{})
		w.Settle()
		return c
	}
	for _, to := range []string{"mx.example.org", "198.51.100.25", "MX.Example.org.", "mx.example.org", "198.51.100.25", "late.example"} {
		if c := dial(to); to != "late.example" && (c.Remote() != mx || !c.Established()) {
			t.Fatalf("dial %q reached %v, open %v", to, c.Remote(), c.Established())
		}
	}
	late := w.AddHost("late.example", "198.51.100.99")
	if err := late.Listen(25, accept("late")); err != nil {
		t.Fatal(err)
	}
	if c := dial("late.example"); c.Remote() != late || !c.Established() {
		t.Fatalf("dial after AddHost reached %v", c.Remote())
	}
	if want := []string{"mx", "mx", "mx", "mx", "mx", "late"}; !slices.Equal(accepted, want) {
		t.Fatalf("accepted %v, want %v", accepted, want)
	}
	var opened []string
	for _, e := range w.Log().All() {
		if e.Kind == trace.ConnOpen {
			opened = append(opened, e.Peer+" "+e.Text)
		}
	}
	want := []string{"mx.example.org mx.example.org:25", "mx.example.org 198.51.100.25:25", "mx.example.org mx.example.org:25",
		"mx.example.org mx.example.org:25", "mx.example.org 198.51.100.25:25", "late.example late.example:25"}
	if !slices.Equal(opened, want) {
		t.Fatalf("conn.open events\n%q\nwant\n%q", opened, want)
	}
}

// TestConnectTimeoutsAreReused: a dial's connect timeout lives in an event
// given back once it fired or was stopped (World.spareTimer), and the next
// dial's takes it: one after another, dials that time out, are refused or
// are answered each end as they should, a timeout stopped never fires, and
// DialDeadline says when each one waiting gives up.
func TestConnectTimeoutsAreReused(t *testing.T) {
	w := New(1)
	client := w.AddHost("client.example", "192.0.2.10")
	mx := w.AddHost("mx.example.org", "198.51.100.25")
	if err := mx.Listen(25, func(c *Conn) Handler { return HandlerFuncs{} }); err != nil {
		t.Fatal(err)
	}
	var got []string
	dial := func(to string, port int) *Conn {
		return w.Dial(client, to, port, HandlerFuncs{
			OnOpen:   func(*Conn) { got = append(got, to+" open") },
			OnClosed: func(_ *Conn, why string) { got = append(got, to+" "+why) },
		})
	}
	var want []string
	for i := range 4 {
		start := w.Now()
		lost := dial("nobody.example", 25)
		if at, waiting := lost.DialDeadline(); !waiting || at != start+DefaultConnectTimeout {
			t.Fatalf("round %d: deadline %v %v, want %v", i, at, waiting, start+DefaultConnectTimeout)
		}
		refused := dial("mx.example.org", 587)
		open := dial("mx.example.org", 25)
		w.Advance(time.Second)
		if _, waiting := open.DialDeadline(); waiting || !open.Established() || !refused.IsClosed() {
			t.Fatalf("round %d: answered dials: open %v, refused closed %v", i, open.Established(), refused.IsClosed())
		}
		w.Advance(DefaultConnectTimeout)
		if _, waiting := lost.DialDeadline(); waiting || !lost.IsClosed() {
			t.Fatalf("round %d: the lost dial is still waiting", i)
		}
		open.Close("quit")
		want = append(want, "mx.example.org refused", "mx.example.org open", "nobody.example timeout")
	}
	if !slices.Equal(got, want) {
		t.Fatalf("handlers saw\n%q\nwant\n%q", got, want)
	}
	if n := len(w.spareTimers); n > 3 {
		t.Fatalf("%d timeouts kept for three dials at a time", n)
	}
}

// TestPacketBuffersAreReused: packets in flight together each keep their
// own bytes, though the writer changes its slice after Write and the
// buffers of packets that arrived carry later ones, also ones written
// from inside Data.
func TestPacketBuffersAreReused(t *testing.T) {
	l := newLab(t)
	var got []string
	l.srv.onData = func(c *Conn, p []byte) {
		got = append(got, string(p))
		_ = c.Write([]byte("echo " + string(p)))
	}
	l.cli.onOpen = func(c *Conn) {
		buf := []byte("one")
		_ = c.Write(buf)
		copy(buf, "two")
		_ = c.Write(buf)
		_ = c.Write([]byte("three"))
	}
	l.w.Dial(l.client, "mx.example.org", 25, l.cli)
	l.w.Settle()
	if want := []string{"one", "two", "three"}; !slices.Equal(got, want) {
		t.Fatalf("server got %q, want %q", got, want)
	}
	if want := "echo oneecho twoecho three"; string(l.cli.got) != want {
		t.Fatalf("client got %q, want %q", l.cli.got, want)
	}
	if len(l.w.bufs) == 0 {
		t.Fatal("no packet buffer was kept for reuse")
	}
}
