package labtls_test

import (
	"bytes"
	"encoding/json"
	"slices"
	"testing"

	"smtplab/engine/labtls"
	"smtplab/engine/simnet"
	"smtplab/engine/trace"
)

// tlsDriver replays a labtls handshake on a simnet connection, the way the
// mail hosts do after STARTTLS: each flight goes on the wire raw when the
// one before it has arrived, its steps traced as it leaves, and each end
// upgrades once it has seen the last flight.
type tlsDriver struct {
	w              *simnet.World
	r              *labtls.Result
	next           int // the next flight to send
	client, server *simnet.Conn
	got            map[labtls.Side][]byte
	closed         []string
}

func (d *tlsDriver) conn(s labtls.Side) *simnet.Conn {
	if s == labtls.SideClient {
		return d.client
	}
	return d.server
}

func (d *tlsDriver) codec(s labtls.Side) *labtls.Codec {
	if s == labtls.SideClient {
		return d.r.Client
	}
	return d.r.Server
}

// send puts the next flight on the wire, or finishes the handshake.
func (d *tlsDriver) send() {
	c, s := d.client, d.client.Remote().Name()
	if d.next == len(d.r.Flights) {
		for _, step := range d.r.After {
			d.w.Emit(d.r.Event(step, c.ID(), c.Local().Name(), s))
		}
		return
	}
	f := d.r.Flights[d.next]
	for _, step := range f.Steps {
		d.w.Emit(d.r.Event(step, c.ID(), c.Local().Name(), s))
	}
	d.next++
	_ = d.conn(f.From).WriteRaw(f.Bytes)
	if d.next == len(d.r.Flights) && d.r.Client != nil {
		_ = d.conn(f.From).Upgrade(d.codec(f.From)) // its last flight is out
	}
}

// end is the Handler of one side.
type end struct {
	d    *tlsDriver
	side labtls.Side
}

func (e end) Open(c *simnet.Conn) {}

func (e end) Data(c *simnet.Conn, p []byte) { e.d.got[e.side] = append(e.d.got[e.side], p...) }

func (e end) Closed(c *simnet.Conn, why string) { e.d.closed = append(e.d.closed, why) }

func (e end) Raw(c *simnet.Conn, p []byte) {
	if e.d.next == len(e.d.r.Flights) && e.d.r.Client != nil {
		_ = c.Upgrade(e.d.codec(e.side)) // the last flight has arrived
	}
	e.d.send()
}

// runWorld makes a two-host world, dials, runs the handshake the server's
// certificate variant allows, and exchanges one line each way.
func runWorld(t *testing.T, v labtls.Variant, verify bool) (*simnet.World, *tlsDriver) {
	t.Helper()
	w := simnet.New(7)
	cli := w.AddHost("client.example.com", "192.0.2.10")
	mx := w.AddHost("mx.example.org", "198.51.100.25")
	ca, err := labtls.NewAuthority(w.Start())
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.Issue("mx.example.org", v)
	if err != nil {
		t.Fatal(err)
	}
	d := &tlsDriver{w: w, got: map[labtls.Side][]byte{}}
	if err := mx.Listen(25, func(c *simnet.Conn) simnet.Handler { d.server = c; return end{d, labtls.SideServer} }); err != nil {
		t.Fatal(err)
	}
	d.client = w.Dial(cli, "mx.example.org", 25, end{d, labtls.SideClient})
	w.Settle()
	seed := uint64(w.Seed())<<16 | uint64(d.client.ID())
	d.r, err = labtls.Handshake(
		&labtls.Client{ServerName: "mx.example.org", Roots: ca.Pool(), Verify: verify, Now: w.Date, Rand: labtls.NewRand(seed)},
		&labtls.Server{Certificate: cert, Now: w.Date, Rand: labtls.NewRand(seed + 1)})
	if (err == nil) != (d.r.Client != nil) {
		t.Fatalf("error %v but codecs %v", err, d.r.Client)
	}
	d.send()
	w.Settle()
	if d.r.Client != nil {
		_ = d.client.Write([]byte("EHLO client.example.com\r\n"))
		w.Settle()
		_ = d.server.Write([]byte("250 mx.example.org\r\n"))
		w.Settle()
	}
	return w, d
}

func TestOverSimnet(t *testing.T) {
	w, d := runWorld(t, labtls.Good, true)
	if string(d.got[labtls.SideServer]) != "EHLO client.example.com\r\n" || string(d.got[labtls.SideClient]) != "250 mx.example.org\r\n" {
		t.Fatalf("got %q", d.got)
	}
	var steps []string
	sealed := 0
	for _, e := range w.Log().All() {
		switch {
		case e.Kind == trace.TLSStep:
			steps = append(steps, e.Step)
			if wantHost := map[bool]string{true: "mx.example.org", false: "client.example.com"}[e.Step == "server-hello" || e.Step == "certificate"]; e.Host != wantHost {
				t.Errorf("%s step by %s, want %s", e.Step, e.Host, wantHost)
			}
		case e.Kind == trace.Bytes && e.TLS:
			sealed++
		}
	}
	want := []string{"client-hello", "server-hello", "certificate", "verify", "finished"}
	if !slices.Equal(steps, want) || sealed != 5 { // 3 flights, 2 sealed lines
		t.Errorf("steps %v, %d TLS bytes events; want %v and 5", steps, sealed, want)
	}
}

func TestOverSimnetBadCertificate(t *testing.T) {
	w, d := runWorld(t, labtls.Expired, true)
	last := w.Log().All()[w.Log().Len()-1]
	if last.Kind != trace.TLSStep || last.Step != "failed" || last.Attrs["check"] != "expired" {
		t.Errorf("last event %+v, want the failed step", last)
	}
	if d.client.TLS() || d.server.TLS() {
		t.Error("an end upgraded after a failed handshake")
	}
}

// TestSameSeedSameTrace: with GODEBUG cryptocustomrand=1 the whole trace,
// ciphertext previews included, is the same byte for byte for the same seed.
func TestSameSeedSameTrace(t *testing.T) {
	t.Setenv("GODEBUG", "cryptocustomrand=1")
	w1, _ := runWorld(t, labtls.Good, true)
	w2, _ := runWorld(t, labtls.Good, true)
	j1, _ := json.Marshal(w1.Log().All())
	j2, _ := json.Marshal(w2.Log().All())
	if !bytes.Equal(j1, j2) {
		t.Errorf("two runs with seed 7 differ:\n%s\n%s", j1, j2)
	}
}
