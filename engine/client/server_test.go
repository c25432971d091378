package client_test

import (
	"bytes"
	"strings"
	"testing"

	"smtplab/engine/client"
	"smtplab/engine/server"
	"smtplab/engine/smtp"
)

// refusePolicy refuses one recipient for good and another for now.
type refusePolicy struct{ server.DefaultPolicy }

func (refusePolicy) Rcpt(_ *server.ConnState, _ *server.Envelope, r server.Recipient) smtp.Reply {
	switch r.Path.Mailbox.Local {
	case "nobody":
		return smtp.Reply{Code: 550, Enhanced: "5.1.1", Lines: []string{"no such user"}, Reason: smtp.ReasonUnknownUser}
	case "busy":
		return smtp.Reply{Code: 450, Enhanced: "4.2.1", Lines: []string{"try later"}, Reason: smtp.ReasonGreylisted}
	}
	return smtp.Reply{}
}

// converse runs our client against our server in memory, moving at most
// chunk bytes per Feed, and returns the outcome and the messages the server
// accepted.
func converse(t *testing.T, srv *server.Server, cfg client.Config, env client.Envelope, msg string, chunk int) (client.Outcome, []server.Message) {
	t.Helper()
	c, err := client.New(cfg, env, []byte(msg))
	if err != nil {
		t.Fatal(err)
	}
	s := srv.NewSession(server.SessionOptions{})
	var got []server.Message
	toClient := append([]byte(nil), s.Output()...)
	for round := 0; ; round++ {
		for p := toClient; len(p) > 0; p = p[min(chunk, len(p)):] {
			c.Feed(p[:min(chunk, len(p))])
		}
		toClient = toClient[:0]
		if c.Action() != client.ActionRead {
			break
		}
		out := c.Output()
		if len(out) == 0 || round > 100 {
			t.Fatalf("the client waits for a reply the server does not send (round %d)", round)
		}
		for p := out; len(p) > 0; p = p[min(chunk, len(p)):] {
			s.Feed(p[:min(chunk, len(p))])
			toClient = append(toClient, s.Output()...)
			for _, e := range s.Events() {
				if e.Kind == server.EventMessage {
					m := *e.Message
					m.Data = bytes.Clone(m.Data)
					m.Envelope.Rcpts = append([]server.Recipient(nil), m.Envelope.Rcpts...)
					got = append(got, m)
				}
			}
		}
	}
	if c.Action() != client.ActionClose || !s.Closed() {
		t.Fatalf("client %v, server closed %v", c.Action(), s.Closed())
	}
	return c.Outcome(), got
}

func TestAgainstOurServer(t *testing.T) {
	srv := server.New(server.Config{Hostname: "mx.example.org", Policy: refusePolicy{}})
	small := server.New(server.Config{Hostname: "mx.example.org", Limits: smtp.Limits{MessageSize: 100}})
	body := "From: alice@example.com\r\nSubject: caf\xc3\xa9\r\n\r\n.leading dot\r\n..two\r\n.\r\nend\r\n"
	cases := []struct {
		name   string
		srv    *server.Server
		cfg    client.Config
		to     []string
		msg    string
		status []client.Status
	}{
		{"pipelined DATA", srv, client.Config{NoChunking: true}, []string{"bob@example.org"}, body, []client.Status{client.Delivered}},
		{"pipelined BDAT", srv, client.Config{ChunkSize: 16}, []string{"bob@example.org"}, body, []client.Status{client.Delivered}},
		{"one at a time, DATA", srv, client.Config{NoPipelining: true, NoChunking: true}, []string{"bob@example.org"}, body, []client.Status{client.Delivered}},
		{"one at a time, BDAT", srv, client.Config{NoPipelining: true, ChunkSize: 7}, []string{"bob@example.org"}, body, []client.Status{client.Delivered}},
		{"partial failure", srv, client.Config{NoChunking: true}, []string{"bob@example.org", "nobody@example.org", "busy@example.org", "carol@example.org"}, body,
			[]client.Status{client.Delivered, client.Bounced, client.Deferred, client.Delivered}},
		{"nobody accepted", srv, client.Config{}, []string{"nobody@example.org", "busy@example.org"}, body, []client.Status{client.Bounced, client.Deferred}},
		{"SMTPUTF8", srv, client.Config{}, []string{"jürgen@bücher.example"}, body, []client.Status{client.Delivered}},
		{"oversize refused before sending", small, client.Config{}, []string{"bob@example.org"}, strings.Repeat("x", 200), []client.Status{client.Bounced}},
	}
	for _, tc := range cases {
		for _, chunk := range []int{1, 7, 1 << 20} {
			t.Run(tc.name, func(t *testing.T) {
				env, err := client.ParseEnvelope("alice@example.com", tc.to...)
				if err != nil {
					t.Fatal(err)
				}
				env.Ret, env.EnvID = "HDRS", "env-1"
				env.To[0].Notify = "FAILURE"
				out, msgs := converse(t, tc.srv, tc.cfg, env, tc.msg, chunk)
				delivered := 0
				for i, want := range tc.status {
					if r := out.Recipients[i]; r.Status != want {
						t.Fatalf("recipient %d: %+v, want %v", i, r, want)
					}
					if want == client.Delivered {
						delivered++
					}
				}
				if delivered == 0 {
					if len(msgs) != 0 {
						t.Fatalf("server accepted %d messages", len(msgs))
					}
					return
				}
				if len(msgs) != 1 || string(msgs[0].Data) != tc.msg || len(msgs[0].Envelope.Rcpts) != delivered {
					t.Fatalf("server got %+v", msgs)
				}
				e := msgs[0].Envelope
				if e.Body != "8BITMIME" || e.Size != int64(len(tc.msg)) || e.Ret != "HDRS" || e.EnvID != "env-1" || e.Rcpts[0].Notify == 0 {
					t.Fatalf("MAIL/RCPT parameters lost: %+v", e)
				}
			})
		}
	}
}

// TestCRLFOnly: a client told that every CR and LF of the message is part
// of a CRLF sends it as it is, only adding the CRLF at its end that it
// lacks, as it sends a message it has read itself; told so wrongly, it
// sends a bare LF, which our server refuses.
func TestCRLFOnly(t *testing.T) {
	srv := server.New(server.Config{Hostname: "mx.example.org"})
	env, err := client.ParseEnvelope("alice@example.com", "bob@example.org")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		msg, want string
		status    client.Status
	}{
		{"Subject: x\r\n\r\nbody\r\n", "Subject: x\r\n\r\nbody\r\n", client.Delivered},
		{"Subject: x\r\n\r\nbody", "Subject: x\r\n\r\nbody\r\n", client.Delivered},
		{"Subject: x\r\n\r\nbare\nLF\r\n", "", client.Bounced},
	} {
		out, msgs := converse(t, srv, client.Config{Hostname: "laptop.example.com", CRLFOnly: true}, env, tc.msg, 1<<20)
		if out.Status != tc.status {
			t.Errorf("%q: %v, want %v (%v)", tc.msg, out.Status, tc.status, out.Reply)
		}
		got := "" // nothing taken
		if len(msgs) > 0 {
			got = string(msgs[0].Data)
		}
		if got != tc.want {
			t.Errorf("%q: the server took %q, want %q", tc.msg, got, tc.want)
		}
	}
}
