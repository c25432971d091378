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
