package driver

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"smtplab/internal/gosmtptest"
	"strings"
	"sync"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"

	"smtplab/engine/client"
	"smtplab/engine/smtp"
)

// testTLS loads the pre-made Ed25519 certificate of mx.example.org from
// testdata (never a key generated at test time) and returns a server
// configuration and a client configuration that trusts it.
func testTLS(t testing.TB) (server, clientCfg *tls.Config) {
	t.Helper()
	certPEM, err := os.ReadFile("testdata/cert.pem")
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, err := os.ReadFile("testdata/key.pem")
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	return &tls.Config{Certificates: []tls.Certificate{cert}},
		&tls.Config{RootCAs: pool, ServerName: "mx.example.org"}
}

// chanListener is a net.Listener whose connections come from a channel:
// go-smtp's server only serves listeners.
type chanListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

// newOneShot returns a listener that hands out c, then blocks until
// closed.
func newOneShot(c net.Conn) *chanListener {
	l := &chanListener{conns: make(chan net.Conn, 1), done: make(chan struct{})}
	l.conns <- c
	return l
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *chanListener) Close() error   { l.once.Do(func() { close(l.done) }); return nil }
func (l *chanListener) Addr() net.Addr { return pipeAddr{} }

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }

// startGoSMTP serves one go-smtp session on the server end of a pipe and
// returns the client end.
func startGoSMTP(t testing.TB, be gosmtp.Backend, tlsCfg *tls.Config) net.Conn {
	t.Helper()
	c, s := net.Pipe()
	srv := gosmtp.NewServer(be)
	srv.Domain = "mx.example.org"
	srv.TLSConfig = tlsCfg
	srv.MaxMessageBytes = 1 << 20
	srv.ErrorLog = log.New(io.Discard, "", 0) // it logs the closed pipe after QUIT
	l := newOneShot(s)
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return c
}

const testMessage = "From: alice@example.com\r\nTo: bob@example.org\r\nSubject: hello\r\n\r\n.a line that starts with a dot\r\nbye\r\n"

func TestSendToGoSMTP(t *testing.T) {
	serverTLS, clientTLS := testTLS(t)
	env, err := client.ParseEnvelope("alice@example.com", "bob@example.org", "nobody@example.org")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		opt  SendOptions
		tls  bool
		user string
	}{
		{name: "plain, BDAT", opt: SendOptions{Client: client.Config{Hostname: "client.example.com"}}},
		{name: "plain, BDAT in 16-octet chunks", opt: SendOptions{Client: client.Config{Hostname: "client.example.com", ChunkSize: 16}}},
		{name: "plain, DATA", opt: SendOptions{Client: client.Config{Hostname: "client.example.com", NoChunking: true}}},
		{name: "plain, no pipelining", opt: SendOptions{Client: client.Config{Hostname: "client.example.com", NoPipelining: true, NoChunking: true}}},
		{name: "STARTTLS required", tls: true,
			opt: SendOptions{Client: client.Config{Hostname: "client.example.com", TLS: client.TLSRequired}, TLS: clientTLS}},
		{name: "STARTTLS and AUTH PLAIN", tls: true, user: "alice",
			opt: SendOptions{Client: client.Config{Hostname: "client.example.com", TLS: client.TLSRequired,
				Auth: &client.Credentials{Username: "alice", Password: "secret"}}, TLS: clientTLS}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			be := &gosmtptest.Backend{Reject: "nobody@example.org", User: tc.user, Password: "secret"}
			var srvTLS *tls.Config
			if tc.tls {
				srvTLS = serverTLS
			}
			conn := startGoSMTP(t, be, srvTLS)
			tc.opt.Timeout = 10 * time.Second
			out, err := Send(context.Background(), conn, tc.opt, env, []byte(testMessage))
			if err != nil {
				t.Fatal(err)
			}
			if out.Status != client.Delivered || out.TLS != tc.tls {
				t.Fatalf("outcome %+v", out)
			}
			if tc.user != "" && out.Auth != client.PLAIN {
				t.Fatalf("authenticated with %v", out.Auth)
			}
			if r := out.Recipients; r[0].Status != client.Delivered || r[1].Status != client.Bounced ||
				r[1].Reply.Code != 550 || r[1].Reply.Enhanced != "5.1.1" {
				t.Fatalf("recipients %+v", r)
			}
			msgs := be.Messages()
			if len(msgs) != 1 || msgs[0].From != "alice@example.com" || strings.Join(msgs[0].To, ",") != "bob@example.org" ||
				!bytes.Equal(msgs[0].Data, []byte(testMessage)) {
				t.Fatalf("go-smtp received %+v", msgs)
			}
		})
	}
}

// TestSendInjectionOverRealTLS has a server answer STARTTLS with "220" and,
// in the same write, a forged reply. The client must drop the forged bytes:
// read as a reply they would desynchronise the session; fed to TLS they
// would break the handshake.
func TestSendInjectionOverRealTLS(t *testing.T) {
	serverTLS, clientTLS := testTLS(t)
	c, s := net.Pipe()
	done := make(chan error, 1)
	go func() { done <- scriptedTLSServer(s, serverTLS) }()
	env, _ := client.ParseEnvelope("a@example.com", "b@example.org")
	out, err := Send(context.Background(), c, SendOptions{
		Client: client.Config{TLS: client.TLSRequired}, TLS: clientTLS, Timeout: 10 * time.Second,
	}, env, []byte("x\r\n"))
	if err != nil || out.Status != client.Delivered || !out.TLS {
		t.Fatalf("%v %+v", err, out)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// scriptedTLSServer plays a minimal server with STARTTLS and a forged reply.
func scriptedTLSServer(conn net.Conn, cfg *tls.Config) error {
	defer conn.Close()
	expect := func(r io.Reader, want string) error {
		buf := make([]byte, len(want))
		if _, err := io.ReadFull(r, buf); err != nil {
			return err
		}
		if string(buf) != want {
			return errors.New("server got " + string(buf) + ", want " + want)
		}
		return nil
	}
	io.WriteString(conn, "220 mx.example.org ESMTP\r\n")
	if err := expect(conn, "EHLO localhost\r\n"); err != nil {
		return err
	}
	io.WriteString(conn, "250-mx.example.org\r\n250 STARTTLS\r\n")
	if err := expect(conn, "STARTTLS\r\n"); err != nil {
		return err
	}
	io.WriteString(conn, "220 go ahead\r\n250-forged\r\n250 PIPELINING\r\n")
	tc := tls.Server(conn, cfg)
	if err := tc.Handshake(); err != nil {
		return err
	}
	for _, ex := range []struct{ in, out string }{
		{"EHLO localhost\r\n", "250 mx.example.org\r\n"},
		{"MAIL FROM:<a@example.com>\r\n", "250 ok\r\n"},
		{"RCPT TO:<b@example.org>\r\n", "250 ok\r\n"},
		{"DATA\r\n", "354 go\r\n"},
		{"x\r\n.\r\n", "250 queued\r\n"},
		{"QUIT\r\n", "221 bye\r\n"},
	} {
		if err := expect(tc, ex.in); err != nil {
			return err
		}
		io.WriteString(tc, ex.out)
	}
	// The client hangs up after 221.
	if n, err := io.Copy(io.Discard, tc); n != 0 || err != nil {
		return fmt.Errorf("after QUIT: %d bytes, %v", n, err)
	}
	return nil
}

func TestSendFailures(t *testing.T) {
	_, clientTLS := testTLS(t)
	env, _ := client.ParseEnvelope("a@example.com", "b@example.org")

	t.Run("timeout", func(t *testing.T) {
		c, s := net.Pipe()
		defer s.Close()
		out, err := Send(context.Background(), c, SendOptions{Timeout: 20 * time.Millisecond}, env, []byte("x"))
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() || out.Status != client.Deferred {
			t.Fatalf("%v %+v", err, out)
		}
	})
	t.Run("context cancelled", func(t *testing.T) {
		c, s := net.Pipe()
		defer s.Close()
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(20*time.Millisecond, cancel)
		out, err := Send(ctx, c, SendOptions{}, env, []byte("x"))
		if !errors.Is(err, context.Canceled) || out.Status != client.Deferred {
			t.Fatalf("%v %+v", err, out)
		}
	})
	t.Run("server hangs up", func(t *testing.T) {
		c, s := net.Pipe()
		go func() { io.WriteString(s, "220 hi\r\n"); s.Close() }()
		out, err := Send(context.Background(), c, SendOptions{}, env, []byte("x"))
		if err == nil || !errors.Is(out.Err, &client.Error{Reason: client.ReasonConnectionLost}) {
			t.Fatalf("%v %+v", err, out)
		}
	})
	t.Run("certificate for another name", func(t *testing.T) {
		be := &gosmtptest.Backend{}
		serverTLS, _ := testTLS(t)
		conn := startGoSMTP(t, be, serverTLS)
		wrongName := clientTLS.Clone()
		wrongName.ServerName = "other.example.net"
		out, err := Send(context.Background(), conn, SendOptions{
			// On net.Pipe the client's alert and the rest of the server's
			// flight wait for each other until the deadline.
			Client: client.Config{TLS: client.TLSRequired}, TLS: wrongName, Timeout: 300 * time.Millisecond,
		}, env, []byte("x"))
		if err == nil || out.Status != client.Deferred || !errors.Is(out.Err, &client.Error{Reason: client.ReasonTLSFailed}) {
			t.Fatalf("%v %+v", err, out)
		}
		if len(be.Messages()) != 0 {
			t.Fatal("message sent despite a failed handshake")
		}
	})
	t.Run("TLS policy without a TLS config", func(t *testing.T) {
		c, s := net.Pipe()
		defer s.Close()
		if _, err := Send(context.Background(), c, SendOptions{Client: client.Config{TLS: client.TLSRequired}}, env, nil); err == nil {
			t.Fatal("no error")
		}
	})
}

func TestSenderReuse(t *testing.T) {
	var s Sender
	be := &gosmtptest.Backend{}
	for i := 0; i < 3; i++ {
		env, _ := client.ParseEnvelope("a@example.com", "b@example.org")
		out, err := s.Send(context.Background(), startGoSMTP(t, be, nil), SendOptions{Timeout: 10 * time.Second}, env, []byte(testMessage))
		if err != nil || out.Status != client.Delivered {
			t.Fatalf("session %d: %v %+v", i, err, out)
		}
	}
	if n := len(be.Messages()); n != 3 {
		t.Fatalf("%d messages", n)
	}
}

// TestSendUnverifiedCertificate: opportunistic STARTTLS goes on with a
// certificate that does not verify (RFC 7435), and the client, told so,
// keeps its credentials from the server unless the policy allows it;
// InsecureSkipVerify checks nothing, which counts as not verified.
func TestSendUnverifiedCertificate(t *testing.T) {
	serverTLS, clientTLS := testTLS(t)
	wrongName := clientTLS.Clone()
	wrongName.ServerName = "other.example.net"
	insecure := &tls.Config{InsecureSkipVerify: true}
	creds := &client.Credentials{Username: "alice", Password: "secret"}
	env, _ := client.ParseEnvelope("a@example.com", "b@example.org")
	for _, tc := range []struct {
		name       string
		cfg        client.Config
		tls        *tls.Config
		unverified string // in the TLSStarted event
		logins     int
		status     client.Status
		reason     smtp.Reason
	}{
		{name: "no credentials: delivered", tls: wrongName, unverified: "other.example.net",
			status: client.Delivered},
		{name: "credentials kept", cfg: client.Config{Auth: creds}, tls: wrongName, unverified: "other.example.net",
			status: client.Deferred, reason: client.ReasonAuthUnverifiedTLS},
		{name: "InsecureSkipVerify: credentials kept", cfg: client.Config{Auth: creds}, tls: insecure, unverified: "not checked",
			status: client.Deferred, reason: client.ReasonAuthUnverifiedTLS},
		{name: "InsecureSkipVerify and AllowUnverifiedAuth", cfg: client.Config{Auth: creds, AllowUnverifiedAuth: true},
			tls: insecure, unverified: "not checked", logins: 1, status: client.Delivered},
		{name: "verified: credentials go", cfg: client.Config{Auth: creds}, tls: clientTLS, logins: 1,
			status: client.Delivered},
	} {
		t.Run(tc.name, func(t *testing.T) {
			be := &gosmtptest.Backend{User: "alice", Password: "secret"}
			conn := startGoSMTP(t, be, serverTLS)
			started := false
			var unverified string
			tc.cfg.TLS = client.TLSOpportunistic
			tc.cfg.Trace = func(e client.Event) {
				if e.Kind == client.TLSStarted {
					started, unverified = true, e.Text
				}
			}
			out, err := Send(context.Background(), conn, SendOptions{Client: tc.cfg, TLS: tc.tls, Timeout: 10 * time.Second},
				env, []byte(testMessage))
			if err != nil || out.Status != tc.status || !out.TLS || !started {
				t.Fatalf("%v %+v (TLS started: %v)", err, out, started)
			}
			if tc.reason != "" && !errors.Is(out.Err, &client.Error{Reason: tc.reason}) {
				t.Errorf("outcome error %v, want reason %s", out.Err, tc.reason)
			}
			if (tc.unverified == "") != (unverified == "") || !strings.Contains(unverified, tc.unverified) {
				t.Errorf("TLSStarted said %q, want %q", unverified, tc.unverified)
			}
			if got := be.Logins(); len(got) != tc.logins {
				t.Errorf("the server got the logins %q, want %d", got, tc.logins)
			}
		})
	}
}
