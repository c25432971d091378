package server

import (
	"strings"
	"testing"

	"smtplab/engine/smtp"
)

// recordingPolicy records what it looks at while deciding on MAIL, as the
// MTA records its SPF lookups.
type recordingPolicy struct{ DefaultPolicy }

func (recordingPolicy) Mail(c *ConnState, env *Envelope) smtp.Reply {
	c.Record("looked up " + env.From.Mailbox.Domain)
	env.PolicyData = "checked " + env.From.Mailbox.Domain
	return smtp.Reply{}
}

func TestPolicyRecordComesBetweenCommandAndReply(t *testing.T) {
	srv := New(Config{Hostname: "mx.example.org", Policy: recordingPolicy{}})
	s := srv.NewSession(SessionOptions{Remote: "192.0.2.1:1234"})
	// Pipelined: each record must sit after its own MAIL, not after the
	// batch; RSET starts a transaction without the old headers.
	s.Feed([]byte("EHLO a.example\r\nMAIL FROM:<x@one.example>\r\nRSET\r\nMAIL FROM:<x@two.example>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n"))
	var got []string
	for _, ev := range s.Events() {
		switch ev.Kind {
		case EventPolicy:
			got = append(got, string(ev.Verb)+" "+ev.Policy.(string))
		case EventCommand, EventReply:
			got = append(got, ev.Kind.String()+" "+string(ev.Verb))
		}
	}
	want := "command EHLO, reply EHLO, command MAIL, MAIL looked up one.example, reply MAIL, command RSET, reply RSET, " +
		"command MAIL, MAIL looked up two.example, reply MAIL, command RCPT, reply RCPT, command DATA, reply DATA"
	if strings.Join(got, ", ") != want {
		t.Errorf("events:\n%s\nwant\n%s", strings.Join(got, ", "), want)
	}
	s.Feed([]byte("Subject: hi\r\n\r\nHello.\r\n.\r\n"))
	for _, ev := range s.Events() {
		if ev.Kind == EventMessage {
			if d := ev.Message.Envelope.PolicyData; d != "checked two.example" {
				t.Errorf("the message's envelope has the policy's data %v", d)
			}
			return
		}
	}
	t.Fatal("no message was accepted")
}
