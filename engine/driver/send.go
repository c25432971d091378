package driver

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"time"

	"smtplab/engine/client"
)

// DefaultTimeout bounds each read, write and TLS handshake of Send when
// SendOptions.Timeout is 0: the five minutes RFC 5321 §4.5.3.2 gives a
// client to wait for most replies.
const DefaultTimeout = 5 * time.Minute

// SendOptions configure Send.
type SendOptions struct {
	// Client is the state machine's configuration: name, TLS policy,
	// credentials, tracing.
	Client client.Config
	// TLS is used for the client side of STARTTLS. It must be set unless
	// Client.TLS is client.TLSNone; set its ServerName to the host the
	// certificate must name, and RootCAs to the CAs to trust (the
	// system's when nil). With client.TLSRequired a certificate that
	// does not verify ends the handshake. With client.TLSOpportunistic
	// it does not (RFC 7435): TLS goes on, and the client is told the
	// certificate did not verify, so that it keeps any credentials to
	// itself. InsecureSkipVerify checks nothing, and the client is told
	// so too.
	TLS *tls.Config
	// Timeout bounds each read, write and the TLS handshake;
	// DefaultTimeout when 0. A read or a write may be given up to an
	// eighth less (see deadlines).
	Timeout time.Duration
	// ReadBuffer is the size of the read buffer; 16 KiB when 0.
	ReadBuffer int
}

// errNotChecked is what the client is told of a certificate that
// SendOptions.TLS.InsecureSkipVerify left unchecked.
var errNotChecked = errors.New("the certificate was not checked (InsecureSkipVerify)")

// verifyPeer checks the certificate chain of a finished handshake for the
// host name against roots (the system's when nil), as crypto/tls would
// have done without InsecureSkipVerify.
func verifyPeer(cs tls.ConnectionState, roots *x509.CertPool, name string) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("the server sent no certificate")
	}
	if name == "" {
		return errors.New("no server name to check the certificate against")
	}
	opts := x509.VerifyOptions{DNSName: name, Roots: roots, Intermediates: x509.NewCertPool()}
	for _, c := range cs.PeerCertificates[1:] {
		opts.Intermediates.AddCert(c)
	}
	_, err := cs.PeerCertificates[0].Verify(opts)
	return err
}

// Send delivers msg to env over conn with one SMTP client session and
// returns the outcome: which recipients got the message, which are deferred
// and which bounced, with the replies that decided. Send owns conn and
// closes it when the session ends.
//
// The error is not nil when the connection failed (I/O error, timeout, TLS
// handshake, ctx done) or the options or envelope are unusable; the outcome
// then says Deferred for every recipient not yet decided.
func Send(ctx context.Context, conn net.Conn, opt SendOptions, env client.Envelope, msg []byte) (client.Outcome, error) {
	var s Sender
	return s.Send(ctx, conn, opt, env, msg)
}

// Sender runs sessions one after the other, keeping the client state
// machine and the read buffer between them, as a delivery worker of a mail
// transfer agent would. The zero Sender is ready to use; it is not safe for
// concurrent use.
type Sender struct {
	c     client.Client
	buf   []byte
	wbufs [2][]byte
}

// Send is like the package's Send function, reusing s's memory.
func (s *Sender) Send(ctx context.Context, conn net.Conn, opt SendOptions, env client.Envelope, msg []byte) (client.Outcome, error) {
	err := s.run(ctx, conn, opt, env, msg)
	return s.c.Outcome(), err
}

// run drives the machine and leaves the outcome in s.c.
func (s *Sender) run(ctx context.Context, conn net.Conn, opt SendOptions, env client.Envelope, msg []byte) error {
	// The connection itself is closed, not the TLS layer over it: SMTP ends
	// with QUIT and 221 (RFC 5321 §4.1.1.10), and over an unbuffered
	// connection such as net.Pipe both sides writing close_notify at once
	// would wait for each other. An error closing says nothing about the
	// mail, which is decided by then.
	defer conn.Close()
	if opt.Client.TLS != client.TLSNone && opt.TLS == nil {
		return errors.New("driver: the TLS policy asks for STARTTLS but SendOptions.TLS is nil")
	}
	if err := s.c.Reset(opt.Client, env, msg); err != nil {
		return err
	}
	timeout := opt.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	if n := opt.ReadBuffer; n > 0 && len(s.buf) != n {
		s.buf = make([]byte, n)
	} else if len(s.buf) == 0 {
		s.buf = make([]byte, 16<<10)
	}
	// ctx ends the session by making every pending and future I/O fail at
	// once; the deadline in the past reaches a TLS connection too, as it
	// reads and writes through conn.
	if ctx.Done() != nil {
		stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
		defer stop()
	}
	fail := func(what string, err error) error {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		err = fmt.Errorf("driver: %s: %w", what, err)
		return err
	}

	c := &s.c
	rw := conn // becomes the TLS connection after STARTTLS
	var rdl deadlines
	// Writes go out on their own goroutine while this one keeps reading
	// (see writer), but for short ones over TCP.
	w := &writer{tcp: isTCP(conn), timeout: timeout, bufs: &s.wbufs}
	defer w.stop()
	for {
		if out := c.Output(); len(out) > 0 {
			if err := w.send(rw, out); err != nil {
				c.ConnectionLost(err)
				return fail("write", err)
			}
		}
		switch c.Action() {
		case client.ActionClose:
			w.wait() // the last QUIT, if its reply came before the write returned
			return nil
		case client.ActionStartTLS:
			if err := w.wait(); err != nil {
				c.ConnectionLost(err)
				return fail("write", err)
			}
			tc, unverified, err := startTLS(ctx, conn, opt, timeout)
			if err != nil {
				c.TLSFailed(err)
				return fail("TLS handshake", err)
			}
			rdl, w.dl = deadlines{}, deadlines{}
			rw = tc
			c.TLSStarted(unverified)
		default:
			rdl.read(rw, timeout)
			n, err := rw.Read(s.buf)
			if n > 0 {
				c.Feed(s.buf[:n])
			}
			switch {
			case err == nil:
			case c.Action() == client.ActionClose:
				return nil // the server closed right after its last reply
			case isTimeout(err) && ctx.Err() == nil && w.busy():
				// No reply while a long write is still going: the reply
				// timer starts once everything is sent.
				if err := w.wait(); err != nil {
					c.ConnectionLost(err)
					return fail("write", err)
				}
				rdl = deadlines{}
			default:
				if werr := w.wait(); werr != nil {
					err = werr
				}
				c.ConnectionLost(err)
				return fail("read", err)
			}
		}
	}
}

// isTimeout reports whether err is a timeout. The net.Error it looks for
// goes to the heap (errors.As takes a pointer to it), so it is made only
// for an error, not for every read.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// startTLS runs the client side of the handshake after the server's 220
// to STARTTLS, bounded by timeout. unverified says why the certificate
// does not count as verified (nil when it does): with the opportunistic
// policy it is checked after the handshake, which must not end on it (RFC
// 7435), and with InsecureSkipVerify it is not checked at all.
func startTLS(ctx context.Context, conn net.Conn, opt SendOptions, timeout time.Duration) (tc *tls.Conn, unverified, err error) {
	cfg := opt.TLS
	opportunistic := opt.Client.TLS == client.TLSOpportunistic && !cfg.InsecureSkipVerify
	if opportunistic {
		cfg = cfg.Clone()
		cfg.InsecureSkipVerify = true
	}
	tc = tls.Client(conn, cfg)
	conn.SetDeadline(time.Now().Add(timeout))
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, nil, err
	}
	conn.SetDeadline(time.Time{})
	switch {
	case opportunistic:
		unverified = verifyPeer(tc.ConnectionState(), opt.TLS.RootCAs, opt.TLS.ServerName)
	case cfg.InsecureSkipVerify:
		unverified = errNotChecked
	}
	return tc, unverified, nil
}

// writer writes what the client sends. With PIPELINING the server may
// answer the first commands of a batch, or the first BDAT chunks, while the
// rest is still being written; a client that only reads once its write is
// done would wait for a server that waits for it (RFC 2920 §3.1 warns of
// this deadlock). So a write goes out on a goroutine of its own while Send
// keeps reading, and is copied into one of two buffers first, because the
// client reuses its output buffer as soon as it is fed again.
//
// Over TCP a short write is made at once instead, when no other is under
// way: the kernel's buffers take it whole without waiting for the server
// to read. It could only wait if the server had stopped reading because
// its own buffers were full of replies the client has not read, tens of
// kilobytes of them, which a client that reads between its writes, and
// writes a few kilobytes at a time, never leaves. Most writes of a
// session are short (EHLO, the envelope, a small message, QUIT), and a
// session that has only those starts no goroutine: handing each write to
// one and waiting for it to end cost more than the write itself.
type writer struct {
	tcp      bool // the connection is TCP: short writes are made at once
	reqs     chan writeReq
	done     chan error
	timeout  time.Duration
	dl       deadlines // touched by the writer goroutine only while it writes
	bufs     *[2][]byte
	next     int
	inflight int
	err      error
}

// directWrite is the longest write made at once over TCP (see writer):
// far less than what a TCP connection buffers in each direction, on
// Linux 16 KiB to send and 128 KiB to receive at the least.
const directWrite = 4 << 10

type writeReq struct {
	conn net.Conn
	p    []byte
}

// isTCP reports whether conn is a TCP connection, whose kernel buffers
// take a short write without the peer reading it.
func isTCP(conn net.Conn) bool {
	_, ok := conn.(*net.TCPConn)
	return ok
}

// start starts the goroutine that writes what send queues.
func (w *writer) start() {
	w.reqs, w.done = make(chan writeReq, 2), make(chan error, 2)
	go func() {
		for r := range w.reqs {
			w.dl.write(r.conn, w.timeout)
			_, err := r.conn.Write(r.p)
			w.done <- err
		}
	}()
}

// send writes p, or queues it for writing, waiting for a buffer if both
// are in use. It returns the error of an earlier write, if any: that of
// p, even one made at once, comes later, as it would from the goroutine,
// so that a reply the server sent before it closed is read first.
func (w *writer) send(conn net.Conn, p []byte) error {
	if w.err != nil {
		return w.err
	}
	if w.tcp && w.inflight == 0 && len(p) <= directWrite {
		w.dl.write(conn, w.timeout)
		_, w.err = conn.Write(p)
		return nil
	}
	if w.reqs == nil {
		w.start()
	}
	if w.inflight == len(w.bufs) {
		w.collect(<-w.done)
	}
	if w.err != nil {
		return w.err
	}
	b := append(w.bufs[w.next][:0], p...)
	w.bufs[w.next] = b
	w.next = (w.next + 1) % len(w.bufs)
	w.inflight++
	w.reqs <- writeReq{conn, b}
	return nil
}

func (w *writer) collect(err error) {
	w.inflight--
	if w.err == nil {
		w.err = err
	}
}

// busy reports whether a write is still going, collecting those that ended.
func (w *writer) busy() bool {
	for w.inflight > 0 {
		select {
		case err := <-w.done:
			w.collect(err)
		default:
			return true
		}
	}
	return false
}

// wait waits until every queued write is done and returns the first error.
func (w *writer) wait() error {
	for w.inflight > 0 {
		w.collect(<-w.done)
	}
	return w.err
}

// stop ends the goroutine, if one was started; run closes the connection
// after it, which ends a write still blocked. The buffers of such a write
// stay with it: the Sender gets new ones.
func (w *writer) stop() {
	if w.reqs == nil {
		return
	}
	close(w.reqs)
	if w.inflight > 0 {
		*w.bufs = [2][]byte{}
	}
}

// deadlines bounds reads and writes with real deadlines. Setting one costs
// a timer, which would be most of the cost of a short session, so a
// deadline that still has more than seven eighths of the timeout to run is
// left alone: every read and write then gets between 7/8 of the timeout
// and all of it.
type deadlines struct{ r, w time.Time }

func (d *deadlines) read(conn net.Conn, timeout time.Duration) {
	if now := time.Now(); d.r.Sub(now) < timeout-timeout/8 {
		d.r = now.Add(timeout)
		conn.SetReadDeadline(d.r)
	}
}

func (d *deadlines) write(conn net.Conn, timeout time.Duration) {
	if now := time.Now(); d.w.Sub(now) < timeout-timeout/8 {
		d.w = now.Add(timeout)
		conn.SetWriteDeadline(d.w)
	}
}
