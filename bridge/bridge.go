// Package bridge puts SMTP Lab's server on real TCP ports. Real clients —
// swaks, Python's smtplib, a mail client, an application under test —
// connect to it, and the scenario host behind each port answers them with
// the same server state machine, policies, mailboxes and queues a learner
// meets in the browser. Every session is recorded in the world's trace, and
// LiveHandler streams that trace to the page as it grows, so the lab works
// like a mail catcher that explains what it catches.
//
// The world is single-threaded by design (deterministic, sans-IO): the
// bridge runs one goroutine per connection for the sockets, and serialises
// every call into the world with one mutex. Sockets, goroutines and real
// clocks live here and nowhere in the engine.
//
// What the bridge defends against: a connection limit and a per-address
// limit (421 4.7.0 beyond them), the timeouts of RFC 5321 §4.5.3.2 counted
// per command and per message rather than per read, so that a client that
// trickles one byte at a time (slowloris) is cut off as surely as a silent
// one (each timeout fires up to an eighth of itself late, never early, so
// that a deadline need not be reset for every read), and on shutdown a 421
// to every open session. The engine's server adds its own: 421 after ten
// bad commands, where past a hundred commands that move no mail (NOOP,
// RSET, ...) between two messages each more one counts as bad, so that no
// client holds a place for ever by answering every timeout with NOOP. A message answered 250 after DATA is already in a
// mailbox or queue of the world when that reply is written.
//
// SendCommand is the other direction: it delivers a message to a real SMTP
// server with the lab's client state machine and prints the session the
// way swaks does.
package bridge

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"smtplab/engine/lab"
)

// Options configure a Bridge. The zero value serves nothing; set at least
// one of SMTP, Submission and SMTPS.
type Options struct {
	// Scenario names the world whose servers answer ("first-session" when
	// empty), Seed its seed.
	Scenario string
	Seed     int64
	// Listen addresses, "127.0.0.1:2525". SMTP is served as port 25 (MX,
	// relay rules apply), Submission as port 587 (STARTTLS then AUTH
	// before mail, RFC 6409), SMTPS as port 465 (implicit TLS, RFC 8314).
	// Empty means not served.
	SMTP, Submission, SMTPS string
	// AllowRemote allows listen addresses that are not loopback. Without
	// it, such an address is an error: the lab's TLS keys are public and
	// its relay rules are a lesson, not a defence.
	AllowRemote bool
	// TimeoutScale multiplies the timeouts of RFC 5321 §4.5.3.2 (5 minutes
	// per command, 3 per block of message text) and MessageTime: 0.001
	// makes them 300 ms and 180 ms, for tests. 0 means 1.
	TimeoutScale float64
	// MessageTime bounds the whole text of one message, however steadily
	// it trickles in: 10 minutes (before scaling) when 0.
	MessageTime time.Duration
	// MaxConns is the number of sessions open at once (100 when 0), and
	// MaxConnsPerIP the number from one client address (20 when 0).
	// Connections beyond either get 421 4.7.0 and are closed.
	MaxConns, MaxConnsPerIP int
	// KeepMail is how many octets of mail each mailbox keeps, its newest
	// messages (64 MiB when 0; negative keeps everything): the bridge runs
	// for as long as its process, and its memory must stay bounded.
	KeepMail int
	// Logf, when set, is told about listener and TLS failures.
	Logf func(format string, args ...any)
}

// RegisterFlags defines the bridge's command-line flags on fs, writing
// into o: -smtp, -submission, -smtps, -scenario, -seed, -allow-remote,
// -timeout-scale, -max-conns, -max-conns-per-ip, -keep-mail-mib. A value
// that makes no sense (an unknown scenario, a limit below 1, a scale
// of 0) is a parse error, so that fs reports it rather than a default
// silently taking its place.
func (o *Options) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.SMTP, "smtp", "", "serve the scenario's MX server (port 25 rules) on this TCP address, e.g. 127.0.0.1:2525")
	fs.StringVar(&o.Submission, "submission", "", "serve the scenario's submission server (port 587: STARTTLS and AUTH required) on this address, e.g. 127.0.0.1:2587")
	fs.StringVar(&o.SMTPS, "smtps", "", "serve the scenario's implicit-TLS server (port 465) on this address, e.g. 127.0.0.1:2465")
	o.Scenario = "first-session"
	fs.Var(scenarioFlag{&o.Scenario}, "scenario", "the `name` of the scenario whose servers answer on the SMTP ports")
	fs.Int64Var(&o.Seed, "seed", 1, "the seed of the scenario's world")
	// -addr is the program's, not the bridge's, but the same rule keeps
	// it on loopback (see CheckLoopback).
	fs.BoolVar(&o.AllowRemote, "allow-remote", false, "allow listen addresses that are not loopback, for -addr (the page and its live feed) as for the SMTP ports")
	o.TimeoutScale = 1
	fs.Var(scaleFlag{&o.TimeoutScale}, "timeout-scale", fmt.Sprintf("multiply the RFC 5321 server timeouts by this `factor`, more than 0 and at most %d (e.g. 0.01 for tests)", maxTimeoutScale))
	o.MaxConns, o.MaxConnsPerIP = 100, 20
	fs.Var(countFlag{&o.MaxConns}, "max-conns", "allow at most `n` SMTP sessions at once (n at least 1); more get 421")
	fs.Var(countFlag{&o.MaxConnsPerIP}, "max-conns-per-ip", "allow at most `n` SMTP sessions at once from one address (n at least 1); more get 421")
	fs.Func("keep-mail-mib", "mebibytes of mail each mailbox keeps, its newest messages (default 64; -1 keeps everything)", func(v string) error {
		n, err := strconv.Atoi(v)
		switch {
		case err != nil:
			return errors.New("a whole number of mebibytes is expected")
		case n < 0:
			o.KeepMail = -1
		case n == 0:
			return errors.New("0 would keep no mail; use -1 to keep everything")
		default:
			o.KeepMail = n << 20
		}
		return nil
	})
}

// scenarioFlag is -scenario: the name of an embedded scenario, refused
// with the list of them when there is none by that name.
type scenarioFlag struct{ p *string }

func (f scenarioFlag) String() string {
	if f.p == nil {
		return ""
	}
	return *f.p
}

func (f scenarioFlag) Set(v string) error {
	if _, err := lab.LoadScenario(v); err != nil {
		return err
	}
	*f.p = v
	return nil
}

// countFlag is a limit of sessions: a whole number, at least 1.
type countFlag struct{ p *int }

func (f countFlag) String() string {
	if f.p == nil {
		return "0"
	}
	return strconv.Itoa(*f.p)
}

func (f countFlag) Set(v string) error {
	n, err := strconv.Atoi(v)
	switch {
	case err != nil:
		return errors.New("a whole number is expected")
	case n < 1:
		return errors.New("at least 1 is expected")
	}
	*f.p = n
	return nil
}

// scaleFlag is -timeout-scale: more than 0, at most maxTimeoutScale.
type scaleFlag struct{ p *float64 }

func (f scaleFlag) String() string {
	if f.p == nil {
		return "0"
	}
	return strconv.FormatFloat(*f.p, 'g', -1, 64)
}

func (f scaleFlag) Set(v string) error {
	x, err := strconv.ParseFloat(v, 64)
	switch {
	case err != nil:
		return errors.New("a number is expected")
	case !(x > 0 && x <= maxTimeoutScale): // NaN fails too
		return fmt.Errorf("more than 0 and at most %d is expected", maxTimeoutScale)
	}
	*f.p = x
	return nil
}

// maxTimeoutScale bounds -timeout-scale: a thousand times RFC 5321's five
// minutes is already days, and more would overflow a time.Duration.
const maxTimeoutScale = 1000

// Enabled reports whether any SMTP port is asked for.
func (o *Options) Enabled() bool { return o.SMTP != "" || o.Submission != "" || o.SMTPS != "" }

// Bridge is a running set of SMTP listeners with one world behind them.
type Bridge struct {
	opt   Options
	scale float64

	mu       sync.Mutex // serialises every call into world and its Externals
	world    *lab.World
	changed  chan struct{} // closed and replaced when the trace grows, while someone watches
	watchers atomic.Int32  // live feeds open
	// liveWrite bounds each write to a live feed (liveWriteTime; tests
	// shorten it).
	liveWrite time.Duration
	// liveMax is how many live feeds are served at once (liveFeeds; tests
	// lower it).
	liveMax int
	caPEM   []byte
	// instance names this run of the bridge in the live feed's event ids,
	// so that a page whose feed reconnects to a restarted bridge (a new
	// world, whose ids start again at 1) starts over instead of waiting
	// for ids it already has (see serveLive).
	instance string
	// certTime dates the lab CA and every certificate the bridge serves:
	// one instant, so that every listener's certificate chains to the one
	// CA that CACertificate returns.
	certTime time.Time

	listeners []*listener
	// buffers recycles read buffers (readSize): most sessions are short,
	// and a fresh buffer for each would be most of what a session
	// allocates.
	buffers sync.Pool

	connMu sync.Mutex
	conns  map[*session]struct{} // every session running, until it ends
	// held and perIP count the places the sessions hold under MaxConns and
	// MaxConnsPerIP; a session gives its place back as soon as it is
	// closing (see freeSlot), before it has ended.
	held     int
	perIP    map[netip.Addr]int
	closing  bool
	sessions sync.WaitGroup
	accepts  sync.WaitGroup
	idle     chan *session // hands a new session to a waiting worker (see serve)
	workers  sync.WaitGroup
	stopped  chan struct{} // closed by Close

	refusing chan struct{}  // one token per refusal on an implicit-TLS port in progress (see refuse)
	refusals sync.WaitGroup // those refusals
	refused  atomic.Int64   // connections turned away over a limit
	accepted atomic.Int64   // messages accepted
}

// listener is one TCP listener and the scenario port it stands for.
type listener struct {
	net.Listener
	port int         // 25, 587 or 465
	host string      // the scenario host that answers
	tls  *tls.Config // nil: no TLS on this port
}

// Start opens the listeners and serves until Close (or until ctx ends,
// which closes the bridge too).
func Start(ctx context.Context, opt Options) (*Bridge, error) {
	if !opt.Enabled() {
		return nil, errors.New("bridge: no SMTP address to listen on")
	}
	if opt.Scenario == "" {
		opt.Scenario = "first-session"
	}
	if !(opt.TimeoutScale >= 0 && opt.TimeoutScale <= maxTimeoutScale) { // NaN fails both
		return nil, fmt.Errorf("bridge: timeout scale %v is not between 0 and %d", opt.TimeoutScale, maxTimeoutScale)
	}
	world, err := lab.New(opt.Scenario, opt.Seed)
	if err != nil {
		return nil, fmt.Errorf("bridge: %w", err)
	}
	// The bridge runs for as long as its process: keep its memory bounded.
	world.KeepTrace(traceKept, traceTextKept)
	switch {
	case opt.KeepMail == 0:
		world.KeepMail(defaultKeepMail)
	case opt.KeepMail > 0:
		world.KeepMail(opt.KeepMail)
	}
	b := &Bridge{
		opt: opt, scale: opt.TimeoutScale, world: world,
		changed: make(chan struct{}),
		conns:   map[*session]struct{}{}, perIP: map[netip.Addr]int{},
		idle: make(chan *session), refusing: make(chan struct{}, maxTLSRefusals),
		stopped: make(chan struct{}), certTime: time.Now(), liveWrite: liveWriteTime, liveMax: liveFeeds,
	}
	b.instance = strconv.FormatInt(b.certTime.UnixNano(), 36)
	b.buffers.New = func() any { p := make([]byte, readSize); return &p }
	if b.scale == 0 {
		b.scale = 1
	}
	if b.opt.MessageTime <= 0 {
		b.opt.MessageTime = 10 * time.Minute
	}
	if b.opt.MaxConns <= 0 {
		b.opt.MaxConns = 100
	}
	if b.opt.MaxConnsPerIP <= 0 {
		b.opt.MaxConnsPerIP = 20
	}
	for _, p := range []struct {
		addr string
		port int
	}{{opt.SMTP, 25}, {opt.Submission, 587}, {opt.SMTPS, 465}} {
		if p.addr == "" {
			continue
		}
		if err := b.listen(p.addr, p.port); err != nil {
			b.closeListeners()
			return nil, err
		}
	}
	for _, l := range b.listeners {
		b.accepts.Add(1)
		go b.acceptLoop(l)
	}
	context.AfterFunc(ctx, func() { b.Close() })
	return b, nil
}

// listen opens addr for the scenario's port.
func (b *Bridge) listen(addr string, port int) error {
	if err := CheckLoopback("bridge", addr, b.opt.AllowRemote); err != nil {
		return err
	}
	host, err := b.world.ExternalHost(port)
	if err != nil {
		return fmt.Errorf("bridge: %w", err)
	}
	tc, err := b.tlsFor(host)
	if err != nil && port != 25 {
		return fmt.Errorf("bridge: port %d needs TLS: %w", port, err)
	}
	// TCP keep-alive is off: the session's own timeouts (RFC 5321
	// §4.5.3.2) give up on a silent or vanished client, and keep-alive
	// would cost four system calls for every connection accepted.
	lc := net.ListenConfig{KeepAlive: -1}
	ln, err := lc.Listen(context.Background(), "tcp", addr)
	if err != nil {
		return fmt.Errorf("bridge: %w", err)
	}
	b.listeners = append(b.listeners, &listener{Listener: ln, port: port, host: host, tls: tc})
	return nil
}

// CheckLoopback refuses a listen address that is not on loopback, unless
// remote access was asked for (allowRemote): "localhost" and loopback
// addresses are fine, anything else is not. what names the listener in
// the error.
func CheckLoopback(what, addr string, allowRemote bool) error {
	if allowRemote {
		return nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%s: listen address %q: %w", what, addr, err)
	}
	if host == "localhost" {
		return nil
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !ip.IsLoopback() {
		return fmt.Errorf("%s: %q is not a loopback address; use 127.0.0.1 or [::1], or allow remote clients explicitly with -allow-remote", what, addr)
	}
	return nil
}

// Addr returns the address the listener for scenario port (25, 587, 465)
// is bound to, or nil.
func (b *Bridge) Addr(port int) net.Addr {
	for _, l := range b.listeners {
		if l.port == port {
			return l.Addr()
		}
	}
	return nil
}

// Host returns the scenario host that answers on port, or "".
func (b *Bridge) Host(port int) string {
	for _, l := range b.listeners {
		if l.port == port {
			return l.host
		}
	}
	return ""
}

// tlsFor returns the TLS configuration for host, made once per host.
func (b *Bridge) tlsFor(host string) (*tls.Config, error) {
	for _, l := range b.listeners {
		if l.host == host && l.tls != nil {
			return l.tls, nil
		}
	}
	cfg, caPEM, err := b.world.ExternalTLS(host, b.certTime)
	if err != nil {
		return nil, err
	}
	b.caPEM = caPEM
	return cfg, nil
}

// CACertificate returns the PEM of the CA that signed the bridge's
// certificates (nil when none is served), for clients that verify:
// `swaks --tls-ca-path`, `openssl s_client -CAfile`.
func (b *Bridge) CACertificate() []byte { return b.caPEM }

// World runs f with the world locked, for reading its state or trace.
// f must not keep the world or anything it returns past the call.
func (b *Bridge) World(f func(w *lab.World)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	f(b.world)
}

// Stats are the bridge's counters.
type Stats struct {
	Open     int   `json:"open"`     // sessions open now
	Refused  int64 `json:"refused"`  // connections turned away with 421 over a limit
	Accepted int64 `json:"accepted"` // messages accepted (answered 250 after DATA or BDAT LAST)
}

// Stats returns the counters now.
func (b *Bridge) Stats() Stats {
	b.connMu.Lock()
	open := len(b.conns)
	b.connMu.Unlock()
	return Stats{Open: open, Refused: b.refused.Load(), Accepted: b.accepted.Load()}
}

// Close stops accepting connections, tells every open session 421 4.3.2
// and waits for them to end. It is safe to call more than once.
func (b *Bridge) Close() error {
	b.connMu.Lock()
	if b.closing {
		b.connMu.Unlock()
		<-b.stopped
		return nil
	}
	b.closing = true
	for s := range b.conns {
		s.shutdown()
	}
	b.connMu.Unlock()
	b.closeListeners()
	b.accepts.Wait()
	close(b.idle) // no accept loop is left to send on it
	b.sessions.Wait()
	b.workers.Wait()
	b.refusals.Wait()
	close(b.stopped)
	return nil
}

func (b *Bridge) closeListeners() {
	for _, l := range b.listeners {
		l.Close()
	}
}

// acceptLoop accepts connections until the listener closes.
func (b *Bridge) acceptLoop(l *listener) {
	defer b.accepts.Done()
	for {
		nc, err := l.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			// Out of file descriptors, say: wait a little instead of
			// spinning, as net/http does.
			b.logf("bridge: accept on %s: %v", l.Addr(), err)
			time.Sleep(50 * time.Millisecond)
			continue
		}
		s, why := b.admit(l, nc)
		if s == nil {
			b.refuse(l, nc, why)
			continue
		}
		b.serve(s)
	}
}

// serve runs s on a worker goroutine that waits for one, or on a new one.
func (b *Bridge) serve(s *session) {
	select {
	case b.idle <- s:
	default:
		b.workers.Add(1)
		go b.work(s)
	}
}

// work runs s, then the sessions serve hands it, until Close. Goroutines
// are kept because a goroutine's stack grows to what a session needs
// (handing a message to the world goes deep), and a new goroutine for
// every connection would grow its stack again, copying it each time. There
// are never more workers than sessions were once open at the same time,
// so never more than MaxConns.
func (b *Bridge) work(s *session) {
	defer b.workers.Done()
	for ; s != nil; s = <-b.idle {
		s.run()
	}
}

// admit counts a new connection against the limits and returns its
// session, or why it is turned away.
func (b *Bridge) admit(l *listener, nc net.Conn) (*session, string) {
	ip := remoteIP(nc)
	b.connMu.Lock()
	defer b.connMu.Unlock()
	switch {
	case b.closing:
		return nil, "the server is shutting down"
	case b.held >= b.opt.MaxConns:
		return nil, fmt.Sprintf("too many connections (%d), try again later", b.opt.MaxConns)
	case b.perIP[ip] >= b.opt.MaxConnsPerIP:
		return nil, fmt.Sprintf("too many connections from %s (%d), try again later", ip, b.opt.MaxConnsPerIP)
	}
	s := &session{b: b, l: l, nc: nc, ip: ip, holding: true}
	b.conns[s] = struct{}{}
	b.held++
	b.perIP[ip]++
	b.sessions.Add(1)
	return s, ""
}

// freeSlot gives a session's places under the limits back. A session
// calls it before it writes its last reply: a client that reconnects as
// soon as it reads the 221 must find its place free.
func (b *Bridge) freeSlot(s *session) {
	b.connMu.Lock()
	if s.holding {
		s.holding = false
		b.held--
		if b.perIP[s.ip]--; b.perIP[s.ip] <= 0 {
			delete(b.perIP, s.ip)
		}
	}
	b.connMu.Unlock()
}

// release forgets a finished session.
func (b *Bridge) release(s *session) {
	b.freeSlot(s)
	b.connMu.Lock()
	delete(b.conns, s)
	b.connMu.Unlock()
	b.sessions.Done()
}

// refuse answers a connection over a limit with 421 4.7.0 (RFC 5321
// §3.8: a server may refuse with 421 at connection time) and closes it. The
// reply is short and the socket new, so the write does not block; a
// deadline makes sure.
//
// On an implicit-TLS port the client can read the reply only inside TLS,
// which takes a handshake: that runs on its own goroutine, bounded in time,
// at most maxTLSRefusals at once; past that the connection is just closed.
func (b *Bridge) refuse(l *listener, nc net.Conn, why string) {
	b.refused.Add(1)
	line := fmt.Sprintf("421 4.7.0 %s Error: %s\r\n", l.host, why)
	b.locked(func(w *lab.World) {
		w.RefuseExternal(lab.ExternalConn{Host: l.host, Port: l.port, Remote: nc.RemoteAddr().String()}, "421 4.7.0 "+why)
	})
	if l.port != 465 {
		nc.SetWriteDeadline(time.Now().Add(time.Second))
		io.WriteString(nc, line)
		nc.Close()
		return
	}
	select {
	case b.refusing <- struct{}{}:
	default:
		nc.Close()
		return
	}
	b.refusals.Add(1)
	go func() {
		defer b.refusals.Done()
		defer func() { <-b.refusing }()
		defer nc.Close()
		nc.SetDeadline(time.Now().Add(tlsRefusalTime))
		tc := tls.Server(nc, l.tls)
		if tc.Handshake() == nil {
			io.WriteString(tc, line)
		}
	}()
}

// maxTLSRefusals refusals on an implicit-TLS port run at once, each for at
// most tlsRefusalTime.
const (
	maxTLSRefusals = 16
	tlsRefusalTime = 2 * time.Second
)

// defaultKeepMail is Options.KeepMail when 0: room for tens of thousands of
// ordinary messages per mailbox.
const defaultKeepMail = 64 << 20

// traceKept is about how many trace events the bridge holds: enough for
// the page's live view to catch up, bounded for a process that runs for
// days.
const traceKept = 200_000

// traceTextKept bounds the text of the events the bridge holds (lines sent
// and received): without it, clients sending lines of ten kilobytes made
// the 200,000 events hold over a gigabyte.
const traceTextKept = 64 << 20

// locked runs f with the world locked, and wakes the live feeds when the
// trace grew.
func (b *Bridge) locked(f func(w *lab.World)) {
	b.mu.Lock()
	before := b.world.TraceLen()
	f(b.world)
	if b.world.TraceLen() != before && b.watchers.Load() > 0 {
		close(b.changed)
		b.changed = make(chan struct{})
	}
	b.mu.Unlock()
}

func (b *Bridge) logf(format string, args ...any) {
	if b.opt.Logf != nil {
		b.opt.Logf(format, args...)
	}
}

func remoteIP(nc net.Conn) netip.Addr {
	if a, ok := nc.RemoteAddr().(*net.TCPAddr); ok {
		return a.AddrPort().Addr().Unmap()
	}
	return netip.Addr{}
}
