package driver

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"smtplab/engine/server"
)

// ServeOptions configure Serve.
type ServeOptions struct {
	// TLS is the server side of STARTTLS and of implicit TLS. Nil means no
	// TLS at all: the server does not offer STARTTLS.
	TLS *tls.Config
	// ImplicitTLS runs the TLS handshake before the greeting, as on port
	// 465 (RFC 8314 §3.3). TLS must be set.
	ImplicitTLS bool
	// Nonce makes the CRAM-MD5 challenge. When empty, Serve draws one from
	// crypto/rand, so that no two sessions share a challenge.
	Nonce string
	// ReadBuffer is the size of the read buffer; 4 KiB when 0.
	ReadBuffer int
	// Trace, when set, receives every event of the session as it happens,
	// on Serve's goroutine. The slices in an event are only valid during
	// the call.
	Trace func(server.Event)
}

// Serve runs one server session of srv over conn: it writes the greeting,
// feeds what the client sends to the session, writes the replies, runs
// the TLS handshake when the client says STARTTLS, and enforces the
// session's deadlines (RFC 5321 §4.5.3.2) with real time. Serve owns conn
// and closes it when the session ends.
//
// The error is nil when the session ended as SMTP means it to: QUIT, or the
// server closing after a 421 or 550 of its own. A client that times out
// gets 421 4.4.2 and the error wraps os.ErrDeadlineExceeded; when ctx ends,
// the client gets 421 4.3.2 and the error is ctx's.
func Serve(ctx context.Context, conn net.Conn, srv *server.Server, opt ServeOptions) error {
	defer conn.Close()
	if opt.ImplicitTLS && opt.TLS == nil {
		return errors.New("driver: ImplicitTLS needs ServeOptions.TLS")
	}
	// ctx ends the session by making pending and future I/O fail at once.
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	limits := srv.Config().Timeouts
	var rw net.Conn = conn // becomes the TLS connection
	if opt.ImplicitTLS {
		tc, err := handshake(ctx, conn, opt.TLS, limits.Command)
		if err != nil {
			return err
		}
		rw = tc
	}
	nonce := opt.Nonce
	if nonce == "" {
		nonce = rand.Text()
	}
	sess := srv.NewSession(server.SessionOptions{
		Remote:       conn.RemoteAddr().String(),
		TLS:          opt.ImplicitTLS,
		TLSAvailable: opt.TLS != nil && !opt.ImplicitTLS,
		Nonce:        nonce,
	})
	size := opt.ReadBuffer
	if size <= 0 {
		size = 4 << 10
	}
	buf := make([]byte, size)

	for {
		// Write the replies of the last call, then act on its events:
		// the 220 to STARTTLS must be out before the handshake starts, and
		// the last reply before the connection closes.
		if out := sess.Output(); len(out) > 0 {
			rw.SetWriteDeadline(time.Now().Add(limits.Command))
			if ctx.Err() != nil { // see the read below
				return ctx.Err()
			}
			if _, err := rw.Write(out); err != nil {
				return ioError(ctx, "write", err)
			}
		}
		startTLS := false
		for _, ev := range sess.Events() {
			if opt.Trace != nil {
				opt.Trace(ev)
			}
			startTLS = startTLS || ev.Kind == server.EventStartTLS
		}
		if sess.Closed() {
			return nil
		}
		if startTLS {
			// Bytes the client pipelined behind STARTTLS and that were read
			// with it are already thrown away by the session; the handshake
			// reads straight from conn, so nothing read before it is reused.
			tc, err := handshake(ctx, conn, opt.TLS, sess.Deadline())
			if err != nil {
				return err
			}
			rw = tc
			sess.TLSStarted()
			continue
		}

		wait := sess.Deadline()
		rw.SetReadDeadline(time.Now().Add(wait))
		// ctx may have ended just before that deadline replaced the past
		// one ctx's AfterFunc set; ctx.Err is already set by then, so
		// looking after setting the deadline misses no cancellation.
		if ctx.Err() != nil {
			last(rw, sess, sess.Shutdown, opt.Trace)
			return ctx.Err()
		}
		n, err := rw.Read(buf)
		if n > 0 {
			sess.Feed(buf[:n])
			continue // the error, if any, comes back on the next Read
		}
		switch {
		case err == nil:
		case ctx.Err() != nil:
			last(rw, sess, sess.Shutdown, opt.Trace)
			return ctx.Err()
		case errors.Is(err, os.ErrDeadlineExceeded):
			last(rw, sess, sess.Timeout, opt.Trace)
			return fmt.Errorf("driver: no input from the client for %v: %w", wait, err)
		case errors.Is(err, io.EOF):
			return fmt.Errorf("driver: the client closed the connection without QUIT: %w", err)
		default:
			return ioError(ctx, "read", err)
		}
	}
}

// last gives the client the session's last word (a 421) on a best-effort
// basis: the connection is closing anyway.
func last(rw net.Conn, sess *server.Session, end func(), trace func(server.Event)) {
	end()
	rw.SetWriteDeadline(time.Now().Add(time.Second))
	rw.Write(sess.Output())
	if trace != nil {
		for _, ev := range sess.Events() {
			trace(ev)
		}
	}
}

// handshake runs the server side of a TLS handshake over conn.
func handshake(ctx context.Context, conn net.Conn, cfg *tls.Config, timeout time.Duration) (*tls.Conn, error) {
	tc := tls.Server(conn, cfg)
	conn.SetDeadline(time.Now().Add(timeout))
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, ioError(ctx, "TLS handshake", err)
	}
	conn.SetDeadline(time.Time{})
	return tc, nil
}

func ioError(ctx context.Context, what string, err error) error {
	if ctx.Err() != nil {
		err = ctx.Err()
	}
	return fmt.Errorf("driver: %s: %w", what, err)
}

// ServeListener accepts connections from l until ctx ends or l fails, and
// runs Serve for each on its own goroutine. It returns once every session
// has ended. srv's Policy is then called from several goroutines at once
// and must be safe for that. Errors of single sessions go to onError when
// it is not nil.
func ServeListener(ctx context.Context, l net.Listener, srv *server.Server, opt ServeOptions, onError func(error)) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	stop := context.AfterFunc(ctx, func() { l.Close() })
	defer stop()
	for {
		conn, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("driver: accept: %w", err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := Serve(ctx, conn, srv, opt); err != nil && onError != nil {
				onError(err)
			}
		}()
	}
}
