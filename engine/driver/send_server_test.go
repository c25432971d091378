package driver

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"smtplab/engine/client"
	"smtplab/engine/server"
	"smtplab/engine/smtp"
)

// userPolicy knows one user, alice with password "secret", and keeps the
// messages it accepts.
type userPolicy struct {
	server.DefaultPolicy
	got chan []byte
}

func (p userPolicy) Authenticate(_ *server.ConnState, cred server.Credentials) smtp.Reply {
	if cred.Username == "alice" && cred.Check("secret") {
		return smtp.Reply{Code: 235, Enhanced: "2.7.0", Lines: []string{"welcome"}, Reason: smtp.ReasonAuthOK}
	}
	return smtp.Reply{}
}

func (p userPolicy) Data(_ *server.ConnState, _ *server.Envelope, msg []byte) (string, smtp.Reply) {
	p.got <- append([]byte(nil), msg...)
	return "Q1", smtp.Reply{}
}

// TestSendToOurServer runs Send against Serve over net.Pipe: our client
// and our server, each through its real-network driver.
func TestSendToOurServer(t *testing.T) {
	serverTLS, clientTLS := testTLS(t)
	creds := &client.Credentials{Username: "alice", Password: "secret"}
	cases := []struct {
		name string
		role server.Role
		cfg  client.Config
		tls  bool
		auth client.Mechanism
		want client.Status
		code int // of Outcome.Reply, when looked at
	}{
		{name: "MX, plaintext", role: server.RoleMX, want: client.Delivered},
		{name: "MX, DATA", role: server.RoleMX, cfg: client.Config{NoChunking: true}, want: client.Delivered},
		{name: "MX, STARTTLS required", role: server.RoleMX, cfg: client.Config{TLS: client.TLSRequired}, tls: true, want: client.Delivered},
		{name: "submission, PLAIN", role: server.RoleSubmission, tls: true, auth: client.PLAIN, want: client.Delivered,
			cfg: client.Config{TLS: client.TLSRequired, Auth: creds, Mechanisms: client.PLAIN}},
		{name: "submission, LOGIN", role: server.RoleSubmission, tls: true, auth: client.LOGIN, want: client.Delivered,
			cfg: client.Config{TLS: client.TLSRequired, Auth: creds, Mechanisms: client.LOGIN}},
		{name: "submission, CRAM-MD5", role: server.RoleSubmission, tls: true, auth: client.CRAMMD5, want: client.Delivered,
			cfg: client.Config{TLS: client.TLSRequired, Auth: creds}},
		{name: "submission, wrong password", role: server.RoleSubmission, tls: true, want: client.Bounced, code: 535,
			cfg: client.Config{TLS: client.TLSRequired, Auth: &client.Credentials{Username: "alice", Password: "guess"}}},
		// The server offers no AUTH before TLS: the client goes on without
		// it, and MAIL is refused.
		{name: "submission without TLS", role: server.RoleSubmission, want: client.Bounced, code: 530,
			cfg: client.Config{TLS: client.TLSNone, Auth: creds}},
	}
	env, _ := client.ParseEnvelope("alice@example.com", "bob@example.org")
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := userPolicy{got: make(chan []byte, 1)}
			srv := server.New(server.Config{Hostname: "mx.example.org", Role: tc.role, Policy: p})
			c, s := net.Pipe()
			served := make(chan error, 1)
			go func() { served <- Serve(context.Background(), s, srv, ServeOptions{TLS: serverTLS}) }()
			opt := SendOptions{Client: tc.cfg, Timeout: 10 * time.Second}
			if tc.cfg.TLS != client.TLSNone {
				opt.TLS = clientTLS
			}
			out, err := Send(context.Background(), c, opt, env, []byte(testMessage))
			if err != nil {
				t.Fatal(err)
			}
			if err := <-served; err != nil {
				t.Fatalf("Serve: %v", err)
			}
			if out.Status != tc.want || out.TLS != tc.tls || out.Auth != tc.auth {
				t.Fatalf("outcome %+v", out)
			}
			select {
			case msg := <-p.got:
				if tc.want != client.Delivered || string(msg) != testMessage {
					t.Fatalf("server got %q", msg)
				}
			default:
				if tc.want == client.Delivered {
					t.Fatal("the server did not get the message")
				}
			}
			if tc.code != 0 && out.Reply.Code != tc.code {
				t.Fatalf("reply %+v, want code %d", out.Reply, tc.code)
			}
		})
	}
}

// TestSendLargePipelined sends messages much larger than the server's read
// buffer, pipelined, over net.Pipe, which has no buffer at all: the server
// answers the first BDAT chunks (or the content, before QUIT) while the
// client is still writing. A client that does not read while it writes
// deadlocks here (RFC 2920 §3.1).
func TestSendLargePipelined(t *testing.T) {
	msg := benchMessage(300 << 10)
	env, _ := client.ParseEnvelope("alice@example.com", "bob@example.org")
	for _, cfg := range []client.Config{
		{ChunkSize: 16 << 10},
		{ChunkSize: 100},
		{NoChunking: true},
	} {
		p := userPolicy{got: make(chan []byte, 1)}
		srv := server.New(server.Config{Hostname: "mx.example.org", Policy: p})
		c, s := net.Pipe()
		served := make(chan error, 1)
		go func() { served <- Serve(context.Background(), s, srv, ServeOptions{ReadBuffer: 512}) }()
		out, err := Send(context.Background(), c, SendOptions{Client: cfg, Timeout: 5 * time.Second}, env, msg)
		if err != nil || out.Status != client.Delivered {
			t.Fatalf("%+v: %v %+v", cfg, err, out)
		}
		if err := <-served; err != nil {
			t.Fatal(err)
		}
		if got := <-p.got; string(got) != string(msg) {
			t.Fatalf("%+v: the server got %d octets, want %d", cfg, len(got), len(msg))
		}
	}
}

// TestSendOverTCP runs a Sender against Serve over loopback TCP, where a
// short write is made at once and a long one on the writer's goroutine:
// messages of both kinds, with DATA and with BDAT, one after the other on
// new connections, all arrive whole.
func TestSendOverTCP(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Skipf("no loopback TCP here: %v", err)
	}
	policy := userPolicy{got: make(chan []byte, 8)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- ServeListener(ctx, l, server.New(server.Config{Hostname: "mx.example.org", Policy: policy}), ServeOptions{}, nil)
	}()
	env, err := client.ParseEnvelope("alice@example.com", "bob@example.org")
	if err != nil {
		t.Fatal(err)
	}
	var s Sender
	for _, size := range []int{100, 3 << 10, 5 << 10, 300 << 10} {
		for _, cfg := range []client.Config{{Hostname: "client.example.com"}, {Hostname: "client.example.com", NoChunking: true}} {
			msg := benchMessage(size)
			conn, err := net.Dial("tcp", l.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			out, err := s.Send(context.Background(), conn, SendOptions{Client: cfg, Timeout: 10 * time.Second}, env, msg)
			if err != nil || out.Status != client.Delivered {
				t.Fatalf("%d octets, DATA %v: %v %+v", size, cfg.NoChunking, err, out)
			}
			if got := <-policy.got; string(got) != string(msg) {
				t.Fatalf("%d octets, DATA %v: the server got %d octets, not the message", size, cfg.NoChunking, len(got))
			}
		}
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("ServeListener: %v", err)
	}
}
