package driver

import (
	"context"
	"io"
	"log"
	"net"
	"strings"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"

	"smtplab/engine/client"
	"smtplab/engine/server"
)

// Session benchmarks: a whole session (greeting, EHLO, MAIL, RCPT, DATA
// with a 1 KB or a 100 KB message, QUIT), measured three ways:
//
//   - memory: our client and server machines feed each other's output
//     directly, with no connection and no goroutine;
//   - pipe: our machines over net.Pipe, through Send and the serving half
//     of this package;
//   - gosmtp: github.com/emersion/go-smtp's client and server over
//     net.Pipe, the reference.
//
// Each reports sessions/s, and allocations and bytes per session (client
// and server together). BenchmarkVsGoSMTP times ours and the reference in
// the same run and reports how many times faster ours is (x-vs-gosmtp).
//
//	go test -run '^$' -bench . -benchmem ./engine/driver/

var benchSizes = []struct {
	name string
	size int
}{{"1KB", 1 << 10}, {"100KB", 100 << 10}}

// benchMessage returns a message of about size octets of ordinary text.
func benchMessage(size int) []byte {
	var b strings.Builder
	b.WriteString("From: alice@example.com\r\nTo: bob@example.org\r\nSubject: benchmark\r\n\r\n")
	for b.Len() < size {
		b.WriteString("The quick brown fox jumps over the lazy dog, again and again.\r\n")
	}
	return []byte(b.String())
}

// dataConfig is the client configuration of the benchmarks: DATA, not
// BDAT, so that ours and go-smtp's do the same session; our client still
// pipelines. bdatConfig is our client's default with our server, which
// offers CHUNKING: no dot-stuffing on either side.
var (
	dataConfig = client.Config{Hostname: "client.example.com", NoChunking: true}
	bdatConfig = client.Config{Hostname: "client.example.com"}
)

// memoryBench runs sessions between our two machines in memory.
type memoryBench struct {
	srv *server.Server
	cfg client.Config
	c   client.Client  // both machines are reused from session to session,
	s   server.Session // as a worker serving one connection after another would
	env client.Envelope
	msg []byte
}

func newMemoryBench(tb testing.TB, cfg client.Config, msg []byte) *memoryBench {
	env, err := client.ParseEnvelope("alice@example.com", "bob@example.org")
	if err != nil {
		tb.Fatal(err)
	}
	return &memoryBench{srv: server.New(server.Config{Hostname: "mx.example.org"}), cfg: cfg, env: env, msg: msg}
}

func (m *memoryBench) session(tb testing.TB) {
	if err := m.c.Reset(m.cfg, m.env, m.msg); err != nil {
		tb.Fatal(err)
	}
	s := &m.s
	s.Reset(m.srv, server.SessionOptions{})
	m.c.Feed(s.Output())
	for m.c.Action() == client.ActionRead {
		out := m.c.Output()
		if len(out) == 0 {
			tb.Fatal("the client waits for a reply the server does not send")
		}
		s.Feed(out)
		m.c.Feed(s.Output())
	}
	if m.c.Status() != client.Delivered || !s.Closed() {
		tb.Fatalf("session ended %v, server closed %v", m.c.Outcome(), s.Closed())
	}
}

// pipeBench runs sessions of our machines over net.Pipe, each through its
// driver: Send on this goroutine, Serve on another.
type pipeBench struct {
	srv    *server.Server
	cfg    client.Config
	sender Sender
	env    client.Envelope
	msg    []byte
	served chan error
}

func newPipeBench(tb testing.TB, cfg client.Config, msg []byte) *pipeBench {
	m := newMemoryBench(tb, cfg, msg)
	return &pipeBench{srv: m.srv, cfg: cfg, env: m.env, msg: msg, served: make(chan error, 1)}
}

func (p *pipeBench) session(tb testing.TB) {
	c, s := net.Pipe()
	go func() { p.served <- Serve(context.Background(), s, p.srv, ServeOptions{Nonce: "bench"}) }()
	out, err := p.sender.Send(context.Background(), c, SendOptions{Client: p.cfg}, p.env, p.msg)
	if err != nil || out.Status != client.Delivered {
		tb.Fatalf("Send: %v %+v", err, out)
	}
	if err := <-p.served; err != nil {
		tb.Fatalf("Serve: %v", err)
	}
}

// goSMTPBench runs sessions between go-smtp's client and server over
// net.Pipe. One server serves every session, through a listener that hands
// it the server end of each new pipe.
type goSMTPBench struct {
	srv *gosmtp.Server
	l   *chanListener
	msg []byte
}

func newGoSMTPBench(tb testing.TB, msg []byte) *goSMTPBench {
	srv := gosmtp.NewServer(gosmtp.BackendFunc(func(*gosmtp.Conn) (gosmtp.Session, error) { return discardSession{}, nil }))
	srv.Domain = "mx.example.org"
	srv.MaxMessageBytes = 10 << 20
	srv.ErrorLog = log.New(io.Discard, "", 0)
	l := &chanListener{conns: make(chan net.Conn), done: make(chan struct{})}
	go srv.Serve(l)
	tb.Cleanup(func() { srv.Close() })
	return &goSMTPBench{srv: srv, l: l, msg: msg}
}

func (g *goSMTPBench) session(tb testing.TB) {
	c, s := net.Pipe()
	g.l.conns <- s
	cl := gosmtp.NewClient(c)
	if err := cl.Hello("client.example.com"); err != nil {
		tb.Fatal(err)
	}
	if err := cl.Mail("alice@example.com", nil); err != nil {
		tb.Fatal(err)
	}
	if err := cl.Rcpt("bob@example.org", nil); err != nil {
		tb.Fatal(err)
	}
	w, err := cl.Data()
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := w.Write(g.msg); err != nil {
		tb.Fatal(err)
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	if err := cl.Quit(); err != nil {
		tb.Fatal(err)
	}
}

type discardSession struct{}

func (discardSession) Reset()                                 {}
func (discardSession) Logout() error                          { return nil }
func (discardSession) Mail(string, *gosmtp.MailOptions) error { return nil }
func (discardSession) Rcpt(string, *gosmtp.RcptOptions) error { return nil }
func (discardSession) Data(r io.Reader) error {
	_, err := io.Copy(io.Discard, r)
	return err
}

func reportSessions(b *testing.B) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sessions/s")
}

// runner is one way of running a session.
type runner interface{ session(testing.TB) }

// ways are ours: in memory or over a pipe, with DATA or BDAT.
var ways = []struct {
	name string
	new  func(testing.TB, []byte) runner
}{
	{"memory", func(tb testing.TB, m []byte) runner { return newMemoryBench(tb, dataConfig, m) }},
	{"pipe", func(tb testing.TB, m []byte) runner { return newPipeBench(tb, dataConfig, m) }},
	{"memory-bdat", func(tb testing.TB, m []byte) runner { return newMemoryBench(tb, bdatConfig, m) }},
	{"pipe-bdat", func(tb testing.TB, m []byte) runner { return newPipeBench(tb, bdatConfig, m) }},
}

func BenchmarkSession(b *testing.B) {
	for _, sz := range benchSizes {
		msg := benchMessage(sz.size)
		all := append(ways[:len(ways):len(ways)], struct {
			name string
			new  func(testing.TB, []byte) runner
		}{"gosmtp", func(tb testing.TB, m []byte) runner { return newGoSMTPBench(tb, m) }})
		for _, way := range all {
			b.Run(sz.name+"/"+way.name, func(b *testing.B) {
				r := way.new(b, msg)
				b.ReportAllocs()
				for b.Loop() {
					r.session(b)
				}
				reportSessions(b)
			})
		}
	}
}

// BenchmarkVsGoSMTP times b.N sessions of ours and b.N sessions of
// go-smtp in the same run, alternating blocks of a few sessions of each,
// and reports how many times more sessions per second ours does
// (x-vs-gosmtp). On a shared machine whose load changes from second to
// second, only a ratio measured this way means something. ns/op is the sum
// of one session of each.
func BenchmarkVsGoSMTP(b *testing.B) {
	for _, sz := range benchSizes {
		msg := benchMessage(sz.size)
		for _, way := range ways {
			b.Run(sz.name+"/"+way.name, func(b *testing.B) {
				ours, ref := way.new(b, msg), newGoSMTPBench(b, msg)
				ours.session(b) // warm up both before timing
				ref.session(b)
				b.ResetTimer()
				var tOurs, tRef time.Duration
				for done := 0; done < b.N; {
					k := min(8, b.N-done)
					t0 := time.Now()
					for range k {
						ours.session(b)
					}
					t1 := time.Now()
					for range k {
						ref.session(b)
					}
					tOurs += t1.Sub(t0)
					tRef += time.Since(t1)
					done += k
				}
				b.ReportMetric(float64(tRef)/float64(tOurs), "x-vs-gosmtp")
				b.ReportMetric(float64(b.N)/tOurs.Seconds(), "ours-sessions/s")
				b.ReportMetric(float64(b.N)/tRef.Seconds(), "gosmtp-sessions/s")
			})
		}
	}
}
