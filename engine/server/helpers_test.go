package server

import (
	"bytes"
	"fmt"
	"strings"

	"smtplab/engine/smtp"
)

// labPolicy is the policy of the tests: example.org is local, alice's
// password is "secret", and a few addresses trigger the refusals an MTA
// gives.
type labPolicy struct {
	DefaultPolicy
	queued int
	msgs   []string
}

func (p *labPolicy) Hello(c *ConnState, name string) smtp.Reply {
	if name == "spammer.example" {
		return smtp.Reply{Code: 550, Enhanced: "5.7.1", Lines: []string{"Go away"}}
	}
	return smtp.Reply{}
}

func (p *labPolicy) Mail(c *ConnState, env *Envelope) smtp.Reply {
	if env.From.Mailbox.Domain == "blocked.example" {
		return smtp.Reply{Code: 550, Enhanced: "5.7.1", Lines: []string{"Sender blocked"}, Reason: smtp.ReasonPolicy}
	}
	return smtp.Reply{}
}

func (p *labPolicy) Rcpt(c *ConnState, env *Envelope, rc Recipient) smtp.Reply {
	mb := rc.Path.Mailbox
	switch {
	case rc.Path.Postmaster && mb.Domain == "":
		return smtp.Reply{}
	case !strings.EqualFold(mb.Domain, "example.org") && c.AuthUser == "":
		return smtp.Reply{Code: 554, Enhanced: "5.7.1", Lines: []string{"<" + mb.String() + ">: Relay access denied"}, Reason: smtp.ReasonRelayDenied}
	case mb.Local == "nobody":
		return smtp.Reply{Code: 550, Enhanced: "5.1.1", Lines: []string{"<" + mb.String() + ">: Recipient address rejected: User unknown"}, Reason: smtp.ReasonUnknownUser}
	case mb.Local == "grey":
		return smtp.Reply{Code: 451, Enhanced: "4.7.1", Lines: []string{"Greylisted, try again later"}, Reason: smtp.ReasonGreylisted}
	case mb.Local == "full":
		return smtp.Reply{Code: 452, Enhanced: "4.2.2", Lines: []string{"Mailbox full"}, Reason: smtp.ReasonMailboxFullTemp}
	}
	return smtp.Reply{}
}

func (p *labPolicy) Data(c *ConnState, env *Envelope, msg []byte) (string, smtp.Reply) {
	if bytes.Contains(msg, []byte("GTUBE")) {
		return "", smtp.Reply{Code: 554, Enhanced: "5.7.1", Lines: []string{"Spam detected"}, Reason: smtp.ReasonContentRejected}
	}
	p.queued++
	p.msgs = append(p.msgs, string(msg))
	return fmt.Sprintf("Q%d", p.queued), smtp.Reply{}
}

func (p *labPolicy) Authenticate(c *ConnState, cred Credentials) smtp.Reply {
	if cred.Username == "alice" && cred.Check("secret") {
		return smtp.Reply{Code: 235, Enhanced: "2.7.0", Lines: []string{"Authentication successful"}}
	}
	return smtp.Reply{}
}

// run feeds input to a new session in chunks of n bytes (0: all at once)
// and returns everything it wrote, plus a summary of its events.
func run(cfg Config, opt SessionOptions, input string, n int) (out string, events []string, s *Session) {
	srv := New(cfg)
	s = srv.NewSession(opt)
	var b strings.Builder
	collect := func() {
		b.Write(s.Output())
		for _, ev := range s.Events() {
			events = append(events, summarize(ev))
		}
	}
	collect()
	if n <= 0 {
		n = len(input) + 1
	}
	for i := 0; i < len(input); i += n {
		s.Feed([]byte(input[i:min(i+n, len(input))]))
		collect()
	}
	return b.String(), events, s
}

// summarize prints an event in one line; StartTLS's discard count depends
// on chunking by nature, so it is left out.
func summarize(ev Event) string {
	switch ev.Kind {
	case EventCommand, EventAuthResponse:
		return fmt.Sprintf("%s %s %q", ev.Kind, ev.Verb, ev.Line)
	case EventReply, EventClose:
		return fmt.Sprintf("%s %s %d %s %s", ev.Kind, ev.Verb, ev.Reply.Code, ev.Reply.Enhanced, ev.Reply.Reason)
	case EventMessage:
		m := *ev.Message
		var rcpts []string
		for _, r := range m.Envelope.Rcpts {
			rcpts = append(rcpts, fmt.Sprintf("%s/%d/%s", r.Path, r.Notify, r.ORcpt))
		}
		return fmt.Sprintf("message %s from %s to %v size=%d body=%s ret=%s envid=%s data=%q",
			m.QueueID, m.Envelope.From, rcpts, m.Envelope.Size, m.Envelope.Body, m.Envelope.Ret, m.Envelope.EnvID, m.Data)
	}
	return ev.Kind.String()
}

// lines joins reply lines with CRLF after each.
func lines(ls ...string) string {
	if len(ls) == 0 {
		return ""
	}
	return strings.Join(ls, "\r\n") + "\r\n"
}
