package simnet

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"smtplab/engine/trace"
)

// journal records what handlers see, each line stamped with the virtual
// time, so a test can compare a whole exchange with one slice of strings.
type journal struct {
	w     *World
	lines []string
}

func (j *journal) add(format string, args ...any) {
	j.lines = append(j.lines, fmt.Sprintf("%v ", j.w.Now())+fmt.Sprintf(format, args...))
}

// recorder is a Handler that writes everything into a journal under a name
// and keeps the data it received.
type recorder struct {
	j      *journal
	name   string
	got    []byte
	raw    [][]byte
	why    string
	closed int
	onOpen func(c *Conn)
	onData func(c *Conn, p []byte)
}

func (r *recorder) Open(c *Conn) {
	r.j.add("%s open", r.name)
	if r.onOpen != nil {
		r.onOpen(c)
	}
}

func (r *recorder) Data(c *Conn, p []byte) {
	r.j.add("%s data %q", r.name, p)
	r.got = append(r.got, p...)
	if r.onData != nil {
		r.onData(c, p)
	}
}

func (r *recorder) Closed(c *Conn, why string) {
	r.j.add("%s closed %s", r.name, why)
	r.why = why
	r.closed++
}

// rawRecorder also takes raw records.
type rawRecorder struct{ *recorder }

func (r rawRecorder) Raw(c *Conn, p []byte) {
	r.j.add("%s raw %d bytes", r.name, len(p))
	r.raw = append(r.raw, p)
}

// lab is the usual two-host world of the tests: a client and an MX with a
// listener on port 25 whose handler is srv (set up fresh for each connection).
type lab struct {
	w          *World
	j          *journal
	client, mx *Host
	srv        *recorder
	cli        *recorder
}

func newLab(t testing.TB, opts ...Option) *lab {
	t.Helper()
	w := New(1, opts...)
	l := &lab{w: w, j: &journal{w: w}}
	l.client = w.AddHost("client.example.com", "192.0.2.10")
	l.mx = w.AddHost("mx.example.org", "198.51.100.25", "2001:db8::25")
	l.srv = &recorder{j: l.j, name: "server"}
	l.cli = &recorder{j: l.j, name: "client"}
	if err := l.mx.Listen(25, func(c *Conn) Handler { return l.srv }); err != nil {
		t.Fatal(err)
	}
	return l
}

// kinds lists the kinds of the events in the log, for quick comparisons.
func kinds(w *World) []string {
	var ks []string
	for _, e := range w.Log().All() {
		ks = append(ks, string(e.Kind))
	}
	return ks
}

// eventsOf returns the events of one kind.
func eventsOf(w *World, k trace.Kind) []trace.Event {
	var out []trace.Event
	for _, e := range w.Log().All() {
		if e.Kind == k {
			out = append(out, e)
		}
	}
	return out
}

func wantLines(t *testing.T, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("journal:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// xorCodec is a toy TLS: each record is a 0x17 type byte, a length byte and
// the plaintext XORed with a key. It is enough to check that simnet seals,
// opens and traces at the right places; engine/labtls brings the real one.
type xorCodec struct{ key byte }

func (x xorCodec) Seal(plain []byte) []byte {
	out := make([]byte, 0, len(plain)+2)
	out = append(out, 0x17, byte(len(plain)))
	for _, b := range plain {
		out = append(out, b^x.key)
	}
	return out
}

func (x xorCodec) Open(records []byte) ([]byte, error) {
	if len(records) < 2 || records[0] != 0x17 || int(records[1]) != len(records)-2 {
		return nil, fmt.Errorf("bad record % x", records[:min(len(records), 4)])
	}
	out := make([]byte, 0, len(records)-2)
	for _, b := range records[2:] {
		out = append(out, b^x.key)
	}
	return out, nil
}
