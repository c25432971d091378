package driver

import (
	"context"
	"crypto/tls"
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
	// certificate must name.
	TLS *tls.Config
	// Timeout bounds each read, write and the TLS handshake;
	// DefaultTimeout when 0. A read or a write may be given up to an
	// eighth less (see deadlines).
	Timeout time.Duration
	// ReadBuffer is the size of the read buffer; 16 KiB when 0.
	ReadBuffer int
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
	c   client.Client
	buf []byte
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
	var dl deadlines
	for {
		if out := c.Output(); len(out) > 0 {
			dl.write(rw, timeout)
			if _, err := rw.Write(out); err != nil {
				c.ConnectionLost(err)
				return fail("write", err)
			}
		}
		switch c.Action() {
		case client.ActionClose:
			return nil
		case client.ActionStartTLS:
			tc := tls.Client(conn, opt.TLS)
			conn.SetDeadline(time.Now().Add(timeout))
			if err := tc.HandshakeContext(ctx); err != nil {
				c.TLSFailed(err)
				return fail("TLS handshake", err)
			}
			conn.SetDeadline(time.Time{})
			dl = deadlines{}
			rw = tc
			c.TLSStarted()
		default:
			dl.read(rw, timeout)
			n, err := rw.Read(s.buf)
			if n > 0 {
				c.Feed(s.buf[:n])
			}
			if err != nil && c.Action() != client.ActionClose {
				c.ConnectionLost(err)
				return fail("read", err)
			}
			if err != nil {
				return nil // the server closed right after its last reply
			}
		}
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
