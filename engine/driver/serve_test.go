package driver

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"

	"smtplab/engine/server"
	"smtplab/engine/smtp"
)

// servePolicy accepts mail for example.org, and anything from alice once
// she has authenticated with the password "secret". Serve calls it from its
// own goroutine; the tests read it only after Serve returned.
type servePolicy struct {
	server.DefaultPolicy
	msgs []string
}

func (p *servePolicy) Rcpt(c *server.ConnState, env *server.Envelope, rc server.Recipient) smtp.Reply {
	if c.AuthUser == "" && !strings.EqualFold(rc.Path.Mailbox.Domain, "example.org") {
		return smtp.Reply{Code: 554, Enhanced: "5.7.1", Lines: []string{"Relay access denied"}, Reason: smtp.ReasonRelayDenied}
	}
	return smtp.Reply{}
}

func (p *servePolicy) Data(c *server.ConnState, env *server.Envelope, msg []byte) (string, smtp.Reply) {
	p.msgs = append(p.msgs, string(msg))
	return "S1", smtp.Reply{}
}

func (p *servePolicy) Authenticate(c *server.ConnState, cred server.Credentials) smtp.Reply {
	if cred.Username == "alice" && cred.Check("secret") {
		return smtp.Reply{Code: 235, Enhanced: "2.7.0", Lines: []string{"Authentication successful"}}
	}
	return smtp.Reply{}
}

// startServe runs Serve on one end of a pipe and returns the other end and
// Serve's result.
func startServe(ctx context.Context, cfg server.Config, opt ServeOptions) (net.Conn, <-chan error) {
	cli, srvEnd := net.Pipe()
	done := make(chan error, 1)
	srv := server.New(cfg)
	go func() { done <- Serve(ctx, srvEnd, srv, opt) }()
	return cli, done
}

// quit ends a go-smtp client session. Over TLS, go-smtp then sends a
// close_notify alert, which fails on a net.Pipe the server has already
// closed after its 221: that error says nothing about the session.
func quit(t *testing.T, c *gosmtp.Client) {
	t.Helper()
	if err := c.Quit(); err != nil && !strings.Contains(err.Error(), "closeNotify") {
		t.Fatal(err)
	}
}

func wait(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(20 * time.Second):
		t.Fatal("Serve did not return")
		return nil
	}
}

func TestServeGoSMTPClient(t *testing.T) {
	p := &servePolicy{}
	var kinds []string
	trace := func(ev server.Event) { kinds = append(kinds, ev.Kind.String()) }
	conn, done := startServe(context.Background(), server.Config{Hostname: "mx.example.org", Policy: p}, ServeOptions{Trace: trace})
	c := gosmtp.NewClient(conn)
	if err := c.Hello("client.example.com"); err != nil {
		t.Fatal(err)
	}
	if err := c.SendMail("alice@example.com", []string{"bob@example.org"}, strings.NewReader("Subject: hi\r\n\r\nHello Bob.\r\n.dot\r\n")); err != nil {
		t.Fatal(err)
	}
	err := c.SendMail("alice@example.com", []string{"carol@elsewhere.example"}, strings.NewReader("x\r\n"))
	var se *gosmtp.SMTPError
	if !errors.As(err, &se) || se.Code != 554 || se.EnhancedCode != (gosmtp.EnhancedCode{5, 7, 1}) {
		t.Fatalf("relay: err = %v, want 554 5.7.1", err)
	}
	quit(t, c)
	if err := wait(t, done); err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if len(p.msgs) != 1 || p.msgs[0] != "Subject: hi\r\n\r\nHello Bob.\r\n.dot\r\n" {
		t.Fatalf("messages = %q", p.msgs)
	}
	if kinds[0] != "reply" || kinds[len(kinds)-1] != "close" || !strings.Contains(strings.Join(kinds, " "), "message") {
		t.Fatalf("trace = %v", kinds)
	}
}

func TestServeGoSMTPStartTLSAndAuth(t *testing.T) {
	srvTLS, cliTLS := testTLS(t)
	p := &servePolicy{}
	cfg := server.Config{Hostname: "mx.example.org", Role: server.RoleSubmission, Policy: p}

	// Before TLS: no AUTH offered, and MAIL is refused.
	conn, done := startServe(context.Background(), cfg, ServeOptions{TLS: srvTLS})
	c := gosmtp.NewClient(conn)
	if err := c.Hello("laptop.example.com"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := c.Extension("AUTH"); ok {
		t.Fatal("AUTH must not be offered before TLS")
	}
	var se *gosmtp.SMTPError
	if err := c.Mail("alice@example.com", nil); !errors.As(err, &se) || se.Code != 530 {
		t.Fatalf("MAIL before TLS: %v, want 530", err)
	}
	quit(t, c)
	if err := wait(t, done); err != nil {
		t.Fatalf("Serve: %v", err)
	}

	conn, done = startServe(context.Background(), cfg, ServeOptions{TLS: srvTLS})
	c, err := gosmtp.NewClientStartTLS(conn, cliTLS)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Hello("laptop.example.com"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		t.Fatal("STARTTLS must not be offered again")
	}
	if err := c.Mail("alice@example.com", nil); !errors.As(err, &se) || se.Code != 530 || se.EnhancedCode != (gosmtp.EnhancedCode{5, 7, 0}) {
		t.Fatalf("MAIL before AUTH: %v, want 530 5.7.0", err)
	}
	if err := c.Auth(sasl.NewPlainClient("", "alice", "wrong")); !errors.As(err, &se) || se.Code != 535 {
		t.Fatalf("bad password: %v, want 535", err)
	}
	if err := c.Auth(sasl.NewPlainClient("", "alice", "secret")); err != nil {
		t.Fatal(err)
	}
	if err := c.SendMail("alice@example.com", []string{"friend@elsewhere.example"}, strings.NewReader("Subject: over TLS\r\n\r\nhi\r\n")); err != nil {
		t.Fatal(err)
	}
	quit(t, c)
	if err := wait(t, done); err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if len(p.msgs) != 1 {
		t.Fatalf("messages = %q", p.msgs)
	}
}

func TestServeImplicitTLS(t *testing.T) {
	srvTLS, cliTLS := testTLS(t)
	p := &servePolicy{}
	conn, done := startServe(context.Background(), server.Config{Hostname: "mx.example.org", Role: server.RoleSubmissions, Policy: p},
		ServeOptions{TLS: srvTLS, ImplicitTLS: true})
	c := gosmtp.NewClient(tls.Client(conn, cliTLS))
	if err := c.Hello("laptop.example.com"); err != nil {
		t.Fatal(err)
	}
	if ok, mechs := c.Extension("AUTH"); !ok || !strings.Contains(mechs, "CRAM-MD5") {
		t.Fatalf("AUTH = %v %q: implicit TLS must offer it, with a CRAM-MD5 nonce from crypto/rand", ok, mechs)
	}
	if err := c.Auth(sasl.NewLoginClient("alice", "secret")); err != nil {
		t.Fatal(err)
	}
	if err := c.SendMail("alice@example.com", []string{"bob@example.org"}, strings.NewReader("hi\r\n")); err != nil {
		t.Fatal(err)
	}
	quit(t, c)
	if err := wait(t, done); err != nil {
		t.Fatalf("Serve: %v", err)
	}
}

// rawClient reads replies line by line from a pipe end.
type rawClient struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

func (c *rawClient) send(s string) {
	c.t.Helper()
	if _, err := c.conn.Write([]byte(s)); err != nil {
		c.t.Fatalf("write %q: %v", s, err)
	}
}

// expect reads one reply line per want.
func (c *rawClient) expect(want ...string) {
	c.t.Helper()
	for _, w := range want {
		line, err := c.r.ReadString('\n')
		if err != nil || line != w+"\r\n" {
			c.t.Fatalf("read %q, %v; want %q", line, err, w)
		}
	}
}

// skipEHLO reads a multi-line 250 reply.
func (c *rawClient) skipEHLO() {
	c.t.Helper()
	for {
		line, err := c.r.ReadString('\n')
		if err != nil || !strings.HasPrefix(line, "250") {
			c.t.Fatalf("EHLO reply line %q, %v", line, err)
		}
		if line[3] == ' ' {
			return
		}
	}
}

func TestServeStartTLSDiscardsInjectedCommands(t *testing.T) {
	srvTLS, cliTLS := testTLS(t)
	var discarded = -1
	trace := func(ev server.Event) {
		if ev.Kind == server.EventStartTLS {
			discarded = ev.Discarded
		}
	}
	conn, done := startServe(context.Background(), server.Config{Hostname: "mx.example.org", Policy: &servePolicy{}}, ServeOptions{TLS: srvTLS, Trace: trace})
	c := &rawClient{t: t, conn: conn, r: bufio.NewReader(conn)}
	c.expect("220 mx.example.org ESMTP SMTP Lab")
	c.send("EHLO a.example\r\n")
	c.skipEHLO()
	injected := "MAIL FROM:<evil@example.com>\r\n"
	c.send("STARTTLS\r\n" + injected)
	c.expect("220 2.0.0 Ready to start TLS")
	tc := tls.Client(conn, cliTLS)
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	c.conn, c.r = tc, bufio.NewReader(tc)
	// Had the injected MAIL been kept, this would be a nested MAIL (503
	// 5.5.1 nested); instead the session starts over and wants EHLO.
	c.send("MAIL FROM:<alice@example.com>\r\n")
	c.expect("503 5.5.1 Error: send HELO/EHLO first")
	c.send("QUIT\r\n")
	c.expect("221 2.0.0 Bye")
	if err := wait(t, done); err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if discarded != len(injected) {
		t.Fatalf("discarded %d bytes, want %d", discarded, len(injected))
	}
}

func TestServeTimeoutInData(t *testing.T) {
	cfg := server.Config{Hostname: "mx.example.org", Policy: &servePolicy{}, Timeouts: server.Timeouts{Command: time.Second, DataBlock: 100 * time.Millisecond}}
	conn, done := startServe(context.Background(), cfg, ServeOptions{})
	c := &rawClient{t: t, conn: conn, r: bufio.NewReader(conn)}
	c.expect("220 mx.example.org ESMTP SMTP Lab")
	c.send("HELO a.example\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n")
	c.expect("250 mx.example.org", "250 2.1.0 Ok", "250 2.1.5 Ok", "354 End data with <CR><LF>.<CR><LF>")
	c.send("Subject: the rest never comes\r\n")
	c.expect("421 4.4.2 mx.example.org Error: timeout exceeded")
	if _, err := c.r.ReadByte(); err != io.EOF {
		t.Fatalf("after the 421: %v, want EOF", err)
	}
	if err := wait(t, done); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Serve: %v, want a deadline error", err)
	}
}

func TestServeShutdown(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	conn, done := startServe(ctx, server.Config{Hostname: "mx.example.org"}, ServeOptions{})
	c := &rawClient{t: t, conn: conn, r: bufio.NewReader(conn)}
	c.expect("220 mx.example.org ESMTP SMTP Lab")
	cancel()
	c.expect("421 4.3.2 mx.example.org Service shutting down")
	if err := wait(t, done); !errors.Is(err, context.Canceled) {
		t.Fatalf("Serve: %v, want context.Canceled", err)
	}
}

func TestServeClientGoesAway(t *testing.T) {
	conn, done := startServe(context.Background(), server.Config{Hostname: "mx.example.org"}, ServeOptions{})
	c := &rawClient{t: t, conn: conn, r: bufio.NewReader(conn)}
	c.expect("220 mx.example.org ESMTP SMTP Lab")
	conn.Close()
	if err := wait(t, done); !errors.Is(err, io.EOF) {
		t.Fatalf("Serve: %v, want EOF", err)
	}
}

func TestServeBadHandshake(t *testing.T) {
	srvTLS, _ := testTLS(t)
	conn, done := startServe(context.Background(), server.Config{Hostname: "mx.example.org"}, ServeOptions{TLS: srvTLS})
	c := &rawClient{t: t, conn: conn, r: bufio.NewReader(conn)}
	c.expect("220 mx.example.org ESMTP SMTP Lab")
	c.send("EHLO a.example\r\n")
	c.skipEHLO()
	c.send("STARTTLS\r\n")
	c.expect("220 2.0.0 Ready to start TLS")
	go io.Copy(io.Discard, conn) // the server's TLS alert
	c.send("this is not a ClientHello\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n")
	if err := wait(t, done); err == nil || !strings.Contains(err.Error(), "TLS handshake") {
		t.Fatalf("Serve: %v, want a TLS handshake error", err)
	}
	if err := Serve(context.Background(), nopConn{}, server.New(server.Config{}), ServeOptions{ImplicitTLS: true}); err == nil {
		t.Fatal("ImplicitTLS without a TLS config must fail")
	}
}

// nopConn is a net.Conn that is never used.
type nopConn struct{ net.Conn }

func (nopConn) Close() error { return nil }

func TestServeListener(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Skipf("no loopback TCP here: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- ServeListener(ctx, l, server.New(server.Config{Hostname: "mx.example.org"}), ServeOptions{}, nil)
	}()
	for range 2 {
		conn, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		c := &rawClient{t: t, conn: conn, r: bufio.NewReader(conn)}
		c.expect("220 mx.example.org ESMTP SMTP Lab")
		c.send("QUIT\r\n")
		c.expect("221 2.0.0 Bye")
		conn.Close()
	}
	cancel()
	if err := wait(t, done); !errors.Is(err, context.Canceled) {
		t.Fatalf("ServeListener: %v", err)
	}
}
