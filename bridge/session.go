package bridge

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"sync/atomic"
	"time"

	"smtplab/engine/lab"
)

// session is one real TCP connection served by a scenario host.
type session struct {
	b  *Bridge
	l  *listener
	nc net.Conn   // the TCP connection: deadlines are set here
	rw net.Conn   // what is read and written: nc, or TLS over it
	ip netip.Addr // the client's address, for the per-address limit
	x  *lab.External
	// holding: the session holds a place under the bridge's limits
	// (guarded by the bridge's connMu).
	holding bool

	stopping        atomic.Bool // Close asked this session to end with 421
	buf             []byte
	readBy, writeBy deadline // as set on nc
}

// readSize is the most read at once. Commands are short, message text comes
// in whatever the client writes; the session takes any chunking.
const readSize = 16 << 10

// shutdown asks the session to end: its pending read stops at once and it
// answers 421. Safe from any goroutine.
func (s *session) shutdown() {
	s.stopping.Store(true)
	s.nc.SetReadDeadline(time.Unix(1, 0))
	s.nc.SetWriteDeadline(time.Now().Add(time.Second))
}

// run serves the connection to its end.
func (s *session) run() {
	defer s.b.release(s)
	defer s.nc.Close()
	s.rw = s.nc
	delayAcks(s.nc)
	conn := lab.ExternalConn{Host: s.l.host, Port: s.l.port, Remote: s.nc.RemoteAddr().String(), TLSAvailable: s.l.tls != nil}
	if s.l.port == 465 {
		// Implicit TLS: the handshake comes first (RFC 8314 §3.3), bounded
		// like a command.
		cs, err := s.handshake()
		if err != nil {
			s.b.locked(func(w *lab.World) { w.RefuseExternal(conn, "TLS handshake failed: "+err.Error()) })
			return
		}
		conn.TLS = &cs
	}
	var err error
	s.b.locked(func(w *lab.World) { s.x, err = w.ServeExternal(conn) })
	if err != nil {
		s.b.logf("bridge: %v", err)
		return
	}
	buf := s.b.buffers.Get().(*[]byte)
	defer s.b.buffers.Put(buf)
	s.buf = *buf
	s.loop()
	// The last reply may wait in the kernel for the close (see loop):
	// close before waiting for the lock.
	s.nc.Close()
	s.b.locked(func(*lab.World) { s.x.Release() })
}

// loop writes the session's replies and feeds it what the client sends,
// until the session closes or the connection goes.
//
// Timeouts are budgets, not idle timers: the command timeout runs from the
// last reply to the next complete command, and more bytes of an unfinished
// line do not extend it; message text gets the data-block timeout per read
// but the whole message must arrive within MessageTime. So a client that
// trickles a byte now and then is cut off like one that says nothing.
func (s *session) loop() {
	now := time.Now()   // when the last read of data or write ended: the clock is read only then
	var since time.Time // when the current budget started: the last reply
	var msgStart time.Time
	fresh := true // Output holds replies not written yet
	for {
		if s.x.Closed() {
			// The session's last reply: it and the end of the
			// connection go out together when run closes it.
			s.b.freeSlot(s)
			holdForClose(s.nc)
		}
		if out := s.x.Output(); fresh && len(out) > 0 {
			if !s.write(out, now) {
				return
			}
			now = time.Now()
			since = now
		}
		fresh = false
		if s.x.Closed() {
			return
		}
		if s.x.TLSRequested() {
			cs, err := s.handshake()
			if err != nil {
				s.b.locked(func(*lab.World) { s.x.Disconnected("TLS handshake failed: " + err.Error()) })
				return
			}
			s.b.locked(func(*lab.World) { s.x.TLSStarted(cs) })
			now, fresh = time.Now(), true
			continue
		}
		budget := s.scaled(s.x.Deadline())
		var until, end time.Time // when this wait's budget is spent; a hard end
		if s.x.InMessage() {
			if msgStart.IsZero() {
				msgStart = since
			}
			until, end = now.Add(budget), msgStart.Add(s.scaled(s.b.opt.MessageTime))
			if end.Before(until) {
				until = end
			}
		} else {
			msgStart = time.Time{}
			until = since.Add(budget)
		}
		s.readBy.arm(s.nc.SetReadDeadline, until, end, budget, true)
		if s.stopping.Load() { // Close came before this deadline was set
			s.end((*lab.External).Shutdown)
			return
		}
		n, err := s.rw.Read(s.buf)
		if n > 0 {
			now = time.Now()
			p := s.buf[:n]
			s.b.locked(func(*lab.World) {
				before := s.x.Accepted()
				s.x.Feed(p)
				s.b.accepted.Add(int64(s.x.Accepted() - before))
			})
			fresh = true
			continue // an error, if any, comes back with the next Read
		}
		switch {
		case err == nil:
		case s.stopping.Load():
			s.end((*lab.External).Shutdown)
			return
		case errors.Is(err, os.ErrDeadlineExceeded) && time.Now().Before(until):
			// A deadline kept from an earlier wait came first (see
			// deadline): this wait's budget is not spent yet.
			s.readBy = deadline{}
		case errors.Is(err, os.ErrDeadlineExceeded):
			s.end((*lab.External).Timeout)
			return
		case errors.Is(err, io.EOF):
			s.b.locked(func(*lab.World) { s.x.Disconnected("the client closed the connection without QUIT") })
			return
		default:
			s.b.locked(func(*lab.World) { s.x.Disconnected("connection lost: " + err.Error()) })
			return
		}
	}
}

// deadline is one of the connection's deadlines (reads or writes) as the
// session last set it.
//
// Setting a deadline arms a runtime timer and reads the clock twice, which
// for a message sent over a kept-open connection costs more than the rest
// of the bridge's own work. So a deadline is moved only when it must be: it
// may come up to an eighth of its timeout later than its budget says, so
// that a deadline set for one command usually serves the next ones too,
// and a hard end (MessageTime) is kept exactly. A write deadline never
// comes sooner than its budget, so every timeout is at least what RFC 5321
// §4.5.3.2 asks. A read deadline may: when it passes, the session looks at
// its budget and, if time is left, sets the right deadline and reads on
// (see loop). So message text, whose budget is shorter, and the commands
// around it, whose budget starts later, share one deadline instead of
// moving it back and forth for every message.
type deadline struct{ at time.Time }

// arm makes the deadline fall no later than want plus an eighth of
// timeout, and never after end when end is not zero; set applies a new
// one. A deadline that falls before want is moved as well, unless sooner
// says it may stay.
func (d *deadline) arm(set func(time.Time) error, want, end time.Time, timeout time.Duration, sooner bool) {
	late := want.Add(timeout / 8)
	if !end.IsZero() && end.Before(late) {
		late = end
		if end.Before(want) {
			want = end
		}
	}
	if d.at.IsZero() || d.at.After(late) || (!sooner && d.at.Before(want)) {
		d.at = late
		set(late)
	}
}

// end closes the session with its last word (Timeout or Shutdown: a 421)
// and writes it on a best-effort basis: the connection closes anyway.
func (s *session) end(last func(*lab.External)) {
	s.b.locked(func(*lab.World) { last(s.x) })
	s.nc.SetWriteDeadline(time.Now().Add(time.Second))
	s.rw.Write(s.x.Output())
}

// write sends the session's output. A client that does not read its
// replies for a whole command timeout, counted from now (when the input
// they answer was read), is given up on.
func (s *session) write(p []byte, now time.Time) bool {
	timeout := s.scaled(5 * time.Minute)
	s.writeBy.arm(s.nc.SetWriteDeadline, now.Add(timeout), time.Time{}, timeout, false)
	if s.stopping.Load() { // a client that is not reading must not hold up Close
		s.nc.SetWriteDeadline(time.Now().Add(time.Second))
		s.writeBy = deadline{}
	}
	if _, err := s.rw.Write(p); err != nil {
		s.b.locked(func(*lab.World) { s.x.Disconnected("writing the reply failed: " + err.Error()) })
		return false
	}
	return true
}

// handshake runs the server side of a TLS handshake on the connection,
// bounded like a command (RFC 5321 §4.5.3.2.7).
func (s *session) handshake() (tls.ConnectionState, error) {
	tc := tls.Server(s.nc, s.l.tls)
	s.nc.SetDeadline(time.Now().Add(s.scaled(5 * time.Minute)))
	if s.stopping.Load() {
		return tls.ConnectionState{}, errors.New("the server is shutting down")
	}
	if err := tc.Handshake(); err != nil {
		return tls.ConnectionState{}, err
	}
	s.nc.SetDeadline(time.Time{})
	s.readBy, s.writeBy = deadline{}, deadline{}
	s.rw = tc
	return tc.ConnectionState(), nil
}

// scaled applies the bridge's timeout scale, never below a millisecond.
func (s *session) scaled(d time.Duration) time.Duration {
	return max(time.Duration(float64(d)*s.b.scale), time.Millisecond)
}
