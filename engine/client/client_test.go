package client

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"smtplab/engine/smtp"
)

// step is one exchange with a scripted server: the server sends server
// (or, with handshake, the driver finishes STARTTLS's handshake), then the
// client must have written exactly client.
type step struct {
	server    string
	handshake bool
	// unverified, with handshake, is why the certificate did not verify.
	unverified string
	client     string
}

// script is a table-driven test of one session.
type script struct {
	name  string
	cfg   Config
	env   Envelope
	msg   string
	steps []step
	// What must hold at the end.
	status Status
	rcpts  []Status // per recipient, when the test looks at them
	// session is each recipient's SessionFailure, when the test looks.
	session []bool
	// verbs is each recipient's Verb (the command whose reply decided
	// it), when the test looks.
	verbs  []smtp.Verb
	reason smtp.Reason
	// enhanced is the status of the client's own *Error, when the test
	// looks at it.
	enhanced string
	code     int // code of Outcome.Reply, when the test looks at it
}

const (
	greeting = "220 mx.example.org ESMTP\r\n"
	ehloBare = "250 mx.example.org\r\n"
	okMail   = "250 2.1.0 OK\r\n"
	okRcpt   = "250 2.1.5 OK\r\n"
	goAhead  = "354 go ahead\r\n"
	queued   = "250 2.0.0 queued as 1\r\n"
	bye      = "221 2.0.0 bye\r\n"
)

func ehlo(ext ...string) string {
	if len(ext) == 0 {
		return ehloBare
	}
	var b strings.Builder
	b.WriteString("250-mx.example.org\r\n")
	for i, e := range ext {
		if i == len(ext)-1 {
			b.WriteString("250 " + e + "\r\n")
		} else {
			b.WriteString("250-" + e + "\r\n")
		}
	}
	return b.String()
}

func env(t testing.TB, from string, to ...string) Envelope {
	t.Helper()
	e, err := ParseEnvelope(from, to...)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// play runs s, feeding each server message whole or one byte at a time.
func (s script) play(t *testing.T, byteByByte bool) *Client {
	t.Helper()
	c, err := New(s.cfg, s.env, []byte(s.msg))
	if err != nil {
		t.Fatal(err)
	}
	for i, st := range s.steps {
		switch {
		case st.handshake:
			if c.Action() != ActionStartTLS {
				t.Fatalf("step %d: action %v, want start-tls", i, c.Action())
			}
			var unverified error
			if st.unverified != "" {
				unverified = errors.New(st.unverified)
			}
			c.TLSStarted(unverified)
		case byteByByte:
			for j := 0; j < len(st.server); j++ {
				c.Feed([]byte{st.server[j]})
			}
		default:
			c.Feed([]byte(st.server))
		}
		if got := string(c.Output()); got != st.client {
			t.Fatalf("step %d: after %q the client sent\n%q\nwant\n%q", i, st.server, got, st.client)
		}
	}
	if c.Action() != ActionClose {
		t.Fatalf("action %v at the end, want close", c.Action())
	}
	o := c.Outcome()
	if o.Status != s.status || c.Status() != s.status {
		t.Fatalf("status %v (Status() %v), want %v; outcome %+v", o.Status, c.Status(), s.status, o)
	}
	for i, want := range s.rcpts {
		if o.Recipients[i].Status != want {
			t.Errorf("recipient %d: %v, want %v (%+v)", i, o.Recipients[i].Status, want, o.Recipients[i])
		}
	}
	for i, want := range s.session {
		if o.Recipients[i].SessionFailure != want {
			t.Errorf("recipient %d: SessionFailure %v, want %v (%+v)", i, o.Recipients[i].SessionFailure, want, o.Recipients[i])
		}
	}
	for i, want := range s.verbs {
		if o.Recipients[i].Verb != want {
			t.Errorf("recipient %d: decided by the reply to %q, want %q (%+v)", i, o.Recipients[i].Verb, want, o.Recipients[i])
		}
	}
	if s.reason != "" && !errors.Is(o.Err, &Error{Reason: s.reason}) {
		t.Errorf("outcome error %v, want reason %q", o.Err, s.reason)
	}
	var ce *Error
	if s.enhanced != "" && (!errors.As(o.Err, &ce) || ce.Enhanced != s.enhanced) {
		t.Errorf("outcome error %#v, want enhanced status %s", o.Err, s.enhanced)
	}
	if s.code != 0 && o.Reply.Code != s.code {
		t.Errorf("outcome reply %+v, want code %d", o.Reply, s.code)
	}
	// OutcomeInto gives the same outcome in the list it is handed,
	// whatever that held before, and a new list when it is too short.
	stale := []RecipientResult{{Status: Bounced, Verb: smtp.QUIT, Err: errors.New("stale"), SessionFailure: true}, {ORcptLeftOut: true}, {Status: Deferred}}
	into := c.OutcomeInto(stale)
	if !reflect.DeepEqual(into, o) {
		t.Errorf("OutcomeInto gave\n%+v\nwhere Outcome gave\n%+v", into, o)
	}
	if len(o.Recipients) > 0 {
		inStale, fits := &into.Recipients[0] == &stale[0], len(o.Recipients) <= len(stale)
		if inStale != fits {
			t.Errorf("OutcomeInto wrote %d recipients into the list of %d handed in: %v, want %v", len(o.Recipients), len(stale), inStale, fits)
		}
	}
	return c
}

func runScripts(t *testing.T, scripts []script) {
	for _, s := range scripts {
		t.Run(s.name, func(t *testing.T) { s.play(t, false) })
		t.Run(s.name+"/byte-by-byte", func(t *testing.T) { s.play(t, true) })
	}
}

func TestSession(t *testing.T) {
	alice := Config{Hostname: "client.example.com"}
	one := env(t, "alice@example.com", "bob@example.org")
	three := env(t, "alice@example.com", "bob@example.org", "carol@example.org", "dave@example.org")
	runScripts(t, []script{{
		name: "plain RFC 821 style, no extensions",
		cfg:  alice, env: one, msg: "Subject: hi\r\n\r\nHello\r\n",
		steps: []step{
			{server: greeting, client: "EHLO client.example.com\r\n"},
			{server: ehloBare, client: "MAIL FROM:<alice@example.com>\r\n"},
			{server: okMail, client: "RCPT TO:<bob@example.org>\r\n"},
			{server: okRcpt, client: "DATA\r\n"},
			{server: goAhead, client: "Subject: hi\r\n\r\nHello\r\n.\r\n"},
			{server: queued, client: "QUIT\r\n"},
			{server: bye},
		},
		status: Delivered, code: 250,
	}, {
		name: "HELO fallback on 500",
		cfg:  alice, env: one, msg: "x\r\n",
		steps: []step{
			{server: greeting, client: "EHLO client.example.com\r\n"},
			{server: "500 5.5.1 what?\r\n", client: "HELO client.example.com\r\n"},
			{server: "250 hello\r\n", client: "MAIL FROM:<alice@example.com>\r\n"},
			{server: okMail, client: "RCPT TO:<bob@example.org>\r\n"},
			{server: okRcpt, client: "DATA\r\n"},
			{server: goAhead, client: "x\r\n.\r\n"},
			{server: queued, client: "QUIT\r\n"},
			{server: bye},
		},
		status: Delivered,
	}, {
		name: "HELO fallback on 502",
		cfg:  alice, env: one, msg: "x\r\n",
		steps: []step{
			{server: greeting, client: "EHLO client.example.com\r\n"},
			{server: "502 not implemented\r\n", client: "HELO client.example.com\r\n"},
			{server: "550 go away\r\n", client: "QUIT\r\n"},
			{server: bye},
		},
		status: Bounced, code: 550,
	}, {
		name: "EHLO refused otherwise",
		cfg:  alice, env: one, msg: "x\r\n",
		steps: []step{
			{server: greeting, client: "EHLO client.example.com\r\n"},
			{server: "451 4.3.0 try later\r\n", client: "QUIT\r\n"},
			{server: bye},
		},
		status: Deferred, code: 451,
	}, {
		name: "greeting 554 no service",
		cfg:  alice, env: one, msg: "x\r\n",
		steps: []step{
			{server: "554 no SMTP service here\r\n", client: "QUIT\r\n"},
			{server: bye},
		},
		status: Bounced, code: 554, verbs: []smtp.Verb{""},
	}, {
		name: "421 closes at once, without QUIT",
		cfg:  alice, env: one, msg: "x\r\n",
		steps: []step{
			{server: greeting, client: "EHLO client.example.com\r\n"},
			{server: ehloBare, client: "MAIL FROM:<alice@example.com>\r\n"},
			{server: "421 4.3.2 shutting down\r\n"},
		},
		status: Deferred, code: 421,
	}, {
		name: "partial recipient failure, one at a time",
		cfg:  alice, env: three, msg: "x\r\n",
		steps: []step{
			{server: greeting, client: "EHLO client.example.com\r\n"},
			{server: ehlo("ENHANCEDSTATUSCODES"), client: "MAIL FROM:<alice@example.com>\r\n"},
			{server: okMail, client: "RCPT TO:<bob@example.org>\r\n"},
			{server: okRcpt, client: "RCPT TO:<carol@example.org>\r\n"},
			{server: "550 5.1.1 no such user\r\n", client: "RCPT TO:<dave@example.org>\r\n"},
			{server: "450 4.2.1 mailbox busy\r\n", client: "DATA\r\n"},
			{server: goAhead, client: "x\r\n.\r\n"},
			{server: queued, client: "QUIT\r\n"},
			{server: bye},
		},
		status: Delivered, rcpts: []Status{Delivered, Bounced, Deferred}, code: 250, verbs: []smtp.Verb{smtp.DATA, smtp.RCPT, smtp.RCPT},
	}, {
		name: "no recipient accepted: no DATA",
		cfg:  alice, env: three, msg: "x\r\n",
		steps: []step{
			{server: greeting, client: "EHLO client.example.com\r\n"},
			{server: ehloBare, client: "MAIL FROM:<alice@example.com>\r\n"},
			{server: okMail, client: "RCPT TO:<bob@example.org>\r\n"},
			{server: "550 5.1.1 no\r\n", client: "RCPT TO:<carol@example.org>\r\n"},
			{server: "451 4.7.1 greylisted\r\n", client: "RCPT TO:<dave@example.org>\r\n"},
			{server: "550 5.1.1 no\r\n", client: "QUIT\r\n"},
			{server: bye},
		},
		status: Deferred, rcpts: []Status{Bounced, Deferred, Bounced}, code: 451,
	}, {
		name: "MAIL refused: every recipient shares it",
		cfg:  alice, env: three, msg: "x\r\n",
		steps: []step{
			{server: greeting, client: "EHLO client.example.com\r\n"},
			{server: ehloBare, client: "MAIL FROM:<alice@example.com>\r\n"},
			{server: "451 4.3.0 local error\r\n", client: "QUIT\r\n"},
			{server: bye},
		},
		status: Deferred, rcpts: []Status{Deferred, Deferred, Deferred}, code: 451, verbs: []smtp.Verb{smtp.MAIL, smtp.MAIL, smtp.MAIL},
	}, {
		name: "DATA refused",
		cfg:  alice, env: one, msg: "x\r\n",
		steps: []step{
			{server: greeting, client: "EHLO client.example.com\r\n"},
			{server: ehloBare, client: "MAIL FROM:<alice@example.com>\r\n"},
			{server: okMail, client: "RCPT TO:<bob@example.org>\r\n"},
			{server: okRcpt, client: "DATA\r\n"},
			{server: "554 5.5.0 no\r\n", client: "QUIT\r\n"},
			{server: bye},
		},
		status: Bounced, code: 554,
	}, {
		name: "content deferred 4xx",
		cfg:  alice, env: one, msg: "x\r\n",
		steps: []step{
			{server: greeting, client: "EHLO client.example.com\r\n"},
			{server: ehloBare, client: "MAIL FROM:<alice@example.com>\r\n"},
			{server: okMail, client: "RCPT TO:<bob@example.org>\r\n"},
			{server: okRcpt, client: "DATA\r\n"},
			{server: goAhead, client: "x\r\n.\r\n"},
			{server: "452 4.3.1 disk full\r\n", client: "QUIT\r\n"},
			{server: bye},
		},
		status: Deferred, code: 452,
	}, {
		name: "content bounced 5xx, with a multi-line reply",
		cfg:  alice, env: one, msg: "x\r\n",
		steps: []step{
			{server: greeting, client: "EHLO client.example.com\r\n"},
			{server: ehloBare, client: "MAIL FROM:<alice@example.com>\r\n"},
			{server: okMail, client: "RCPT TO:<bob@example.org>\r\n"},
			{server: okRcpt, client: "DATA\r\n"},
			{server: goAhead, client: "x\r\n.\r\n"},
			{server: "554-5.7.1 spam\r\n554 5.7.1 see policy\r\n", client: "QUIT\r\n"},
			{server: bye},
		},
		status: Bounced, code: 554,
	}, {
		name: "dot-stuffing and line endings",
		cfg:  alice, env: one, msg: ".hidden\n..two\r\nend.\r\n.",
		steps: []step{
			{server: greeting, client: "EHLO client.example.com\r\n"},
			{server: ehloBare, client: "MAIL FROM:<alice@example.com>\r\n"},
			{server: okMail, client: "RCPT TO:<bob@example.org>\r\n"},
			{server: okRcpt, client: "DATA\r\n"},
			{server: goAhead, client: "..hidden\r\n...two\r\nend.\r\n..\r\n.\r\n"},
			{server: queued, client: "QUIT\r\n"},
			{server: bye},
		},
		status: Delivered,
	}, {
		name: "null sender and postmaster",
		cfg:  alice, env: env(t, "", "postmaster"), msg: "x\r\n",
		steps: []step{
			{server: greeting, client: "EHLO client.example.com\r\n"},
			{server: ehloBare, client: "MAIL FROM:<>\r\n"},
			{server: okMail, client: "RCPT TO:<postmaster>\r\n"},
			{server: "550 no\r\n", client: "QUIT\r\n"},
			{server: bye},
		},
		status: Bounced,
	}, {
		name: "malformed reply ends the session",
		cfg:  alice, env: one, msg: "x\r\n",
		steps: []step{
			{server: greeting, client: "EHLO client.example.com\r\n"},
			{server: "HTTP/1.1 400 Bad Request\r\n"},
		},
		status: Deferred, reason: ReasonMalformedReply,
	}, {
		name: "code changes inside a multi-line reply",
		cfg:  alice, env: one, msg: "x\r\n",
		steps: []step{
			{server: greeting, client: "EHLO client.example.com\r\n"},
			{server: "250-mx\r\n220 PIPELINING\r\n"},
		},
		status: Deferred, reason: ReasonMalformedReply,
	}})
}

// TestIsCanonical compares isCanonical with the rule it implements, byte
// by byte, on messages with every kind of line ending in every place.
func TestIsCanonical(t *testing.T) {
	naive := func(msg []byte) bool {
		if len(msg) < 2 || msg[len(msg)-2] != '\r' || msg[len(msg)-1] != '\n' {
			return false
		}
		for i, c := range msg {
			if c == '\r' && (i+1 == len(msg) || msg[i+1] != '\n') {
				return false
			}
			if c == '\n' && (i == 0 || msg[i-1] != '\r') {
				return false
			}
		}
		return true
	}
	for _, m := range lineEndingMessages() {
		if got, want := isCanonical([]byte(m)), naive([]byte(m)); got != want {
			t.Errorf("isCanonical(%q) = %v, want %v", m, got, want)
		}
	}
}

// TestCanonical compares canonical with the rule it implements, byte by
// byte: a LF without a CR before it, or a CR without a LF after it, ends
// a line, written CRLF, and the message ends with CRLF.
func TestCanonical(t *testing.T) {
	naive := func(msg []byte) []byte {
		var out []byte
		for i, c := range msg {
			switch {
			case c == '\n' && (i == 0 || msg[i-1] != '\r'), c == '\r' && (i+1 == len(msg) || msg[i+1] != '\n'):
				out = append(out, "\r\n"...)
			default:
				out = append(out, c)
			}
		}
		if len(out) > 0 && !strings.HasSuffix(string(out), "\r\n") {
			out = append(out, "\r\n"...)
		}
		return out
	}
	for _, m := range lineEndingMessages() {
		if got, want := canonical([]byte(m), nil), naive([]byte(m)); string(got) != string(want) {
			t.Errorf("canonical(%q) = %q, want %q", m, got, want)
		}
	}
}

// lineEndingMessages returns short messages with every kind of line
// ending in every place.
func lineEndingMessages() []string {
	parts := []string{"a", "\r\n", "\n", "\r", "\r\r\n", "\n\r", "bc"}
	var msgs []string
	var build func(prefix string, depth int)
	build = func(prefix string, depth int) {
		msgs = append(msgs, prefix)
		if depth == 0 {
			return
		}
		for _, p := range parts {
			build(prefix+p, depth-1)
		}
	}
	build("", 4)
	return msgs
}

// TestNothingHandedOverIsNotDelivered: only the reply to the content hands
// a message over (RFC 5321 §4.1.1.4). A broken server that answers 250
// where it should not must not make the client believe it was delivered:
// the queue would drop a message nobody has.
func TestNothingHandedOverIsNotDelivered(t *testing.T) {
	alice := Config{Hostname: "client.example.com"}
	one := env(t, "alice@example.com", "bob@example.org")
	runScripts(t, []script{{
		name: "250 to DATA instead of 354",
		cfg:  alice, env: one, msg: "x\r\n",
		steps: []step{
			{server: greeting, client: "EHLO client.example.com\r\n"},
			{server: ehloBare, client: "MAIL FROM:<alice@example.com>\r\n"},
			{server: okMail, client: "RCPT TO:<bob@example.org>\r\n"},
			{server: okRcpt, client: "DATA\r\n"},
			{server: "250 2.0.0 ok\r\n", client: "QUIT\r\n"},
			{server: bye},
		},
		status: Deferred, code: 250,
	}, {
		name: "greeting 250 instead of 220",
		cfg:  alice, env: one, msg: "x\r\n",
		steps: []step{
			{server: "250 hello\r\n", client: "QUIT\r\n"},
			{server: bye},
		},
		status: Deferred, code: 250,
	}})
}

// TestSessionFailure: a failure of the session as a whole marks the
// recipients it decides, so that a relay tries the next MX for them at
// once (RFC 5321 §5.1); what the server said about a recipient or the
// message does not.
func TestSessionFailure(t *testing.T) {
	alice := Config{Hostname: "client.example.com"}
	two := env(t, "alice@example.com", "bob@example.org", "carol@example.org")
	runScripts(t, []script{{
		name: "421 greeting",
		cfg:  alice, env: two, msg: "x\r\n",
		steps: []step{
			{server: "421 4.7.0 too many connections\r\n"},
		},
		status: Deferred, code: 421, session: []bool{true, true},
	}, {
		name: "554 greeting",
		cfg:  alice, env: two, msg: "x\r\n",
		steps: []step{
			{server: "554 5.7.1 go away\r\n", client: "QUIT\r\n"},
			{server: bye},
		},
		status: Bounced, code: 554, session: []bool{true, true},
	}, {
		name: "EHLO and HELO refused",
		cfg:  alice, env: two, msg: "x\r\n",
		steps: []step{
			{server: greeting, client: "EHLO client.example.com\r\n"},
			{server: "502 5.5.1 no\r\n", client: "HELO client.example.com\r\n"},
			{server: "501 5.5.4 no\r\n", client: "QUIT\r\n"},
			{server: bye},
		},
		status: Bounced, code: 501, session: []bool{true, true},
	}, {
		name: "one recipient refused, then 421 before the content",
		cfg:  alice, env: two, msg: "x\r\n",
		steps: []step{
			{server: greeting, client: "EHLO client.example.com\r\n"},
			{server: ehloBare, client: "MAIL FROM:<alice@example.com>\r\n"},
			{server: okMail, client: "RCPT TO:<bob@example.org>\r\n"},
			{server: "550 5.1.1 no such user\r\n", client: "RCPT TO:<carol@example.org>\r\n"},
			{server: okRcpt, client: "DATA\r\n"},
			{server: "421 4.3.2 shutting down\r\n"},
		},
		status: Deferred, rcpts: []Status{Bounced, Deferred}, session: []bool{false, true},
	}, {
		name: "a recipient refused with 4xx is not a session failure",
		cfg:  alice, env: two, msg: "x\r\n",
		steps: []step{
			{server: greeting, client: "EHLO client.example.com\r\n"},
			{server: ehloBare, client: "MAIL FROM:<alice@example.com>\r\n"},
			{server: okMail, client: "RCPT TO:<bob@example.org>\r\n"},
			{server: "451 4.7.1 greylisted\r\n", client: "RCPT TO:<carol@example.org>\r\n"},
			{server: "451 4.7.1 greylisted\r\n", client: "QUIT\r\n"},
			{server: bye},
		},
		status: Deferred, session: []bool{false, false},
	}, {
		name: "the message refused after its content is not a session failure",
		cfg:  alice, env: two, msg: "x\r\n",
		steps: []step{
			{server: greeting, client: "EHLO client.example.com\r\n"},
			{server: ehloBare, client: "MAIL FROM:<alice@example.com>\r\n"},
			{server: okMail, client: "RCPT TO:<bob@example.org>\r\n"},
			{server: okRcpt, client: "RCPT TO:<carol@example.org>\r\n"},
			{server: okRcpt, client: "DATA\r\n"},
			{server: goAhead, client: "x\r\n.\r\n"},
			{server: "554 5.7.1 spam\r\n", client: "QUIT\r\n"},
			{server: bye},
		},
		status: Bounced, session: []bool{false, false},
	}})
	// A lost connection, as the driver reports it.
	c, err := New(alice, two, []byte("x\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	c.Feed([]byte(greeting))
	c.ConnectionLost(errors.New("reset by peer"))
	if o := c.Outcome(); !o.Recipients[0].SessionFailure || !o.Recipients[1].SessionFailure || o.Status != Deferred || o.Recipients[0].Verb != "" {
		t.Errorf("after a lost connection: %+v", o)
	}
	// Reset forgets the last session's failure.
	if err := c.Reset(alice, two, []byte("x\r\n")); err != nil {
		t.Fatal(err)
	}
	c.Feed([]byte(greeting + ehloBare + okMail))
	c.Output()
	c.Feed([]byte("550 5.1.1 no\r\n"))
	c.Output()
	c.ConnectionLost(errors.New("reset by peer"))
	if o := c.Outcome(); o.Recipients[0].SessionFailure || !o.Recipients[1].SessionFailure {
		t.Errorf("after a refused recipient and a lost connection: %+v", o)
	}
}

// TestUTF8HeaderNeedsSMTPUTF8: a message with a header of raw UTF-8 (not
// RFC 2047 encoded-words), its own or one at any level of its MIME
// structure, needs SMTPUTF8 as an address beyond ASCII does (RFC 6531
// §3.2, RFC 6532 §3), though its envelope is ASCII: it goes with SMTPUTF8,
// and to a server without it not at all, 5.6.7 as Postfix reports it.
// UTF-8 in the text of the body or a part, in a line that follows the
// header without a blank line, or in a part encoded in base64, needs
// 8BITMIME alone.
func TestUTF8HeaderNeedsSMTPUTF8(t *testing.T) {
	alice := Config{Hostname: "client.example.com"}
	one := env(t, "alice@example.com", "bob@example.org")
	sent := func(name, msg, mail string) script {
		return script{name: name, cfg: alice, env: one, msg: msg, status: Delivered, steps: []step{
			{server: greeting, client: "EHLO client.example.com\r\n"},
			{server: ehlo("8BITMIME", "SMTPUTF8"), client: mail},
			{server: okMail, client: "RCPT TO:<bob@example.org>\r\n"},
			{server: okRcpt, client: "DATA\r\n"},
			{server: goAhead, client: msg + ".\r\n"},
			{server: queued, client: "QUIT\r\n"},
			{server: bye},
		}}
	}
	const utf8Subject = "Subject: caf\xc3\xa9\r\n\r\nhi\r\n"
	multipart := func(part string) string {
		return "Subject: a\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n" + part + "--b--\r\n"
	}
	withUTF8 := "MAIL FROM:<alice@example.com> BODY=8BITMIME SMTPUTF8\r\n"
	without := "MAIL FROM:<alice@example.com> BODY=8BITMIME\r\n"
	runScripts(t, []script{
		sent("raw UTF-8 Subject: with SMTPUTF8", utf8Subject, withUTF8),
		sent("raw UTF-8 in a folded line", "Subject: a\r\n caf\xc3\xa9\r\n\r\nhi\r\n", withUTF8),
		sent("encoded-word Subject, UTF-8 body", "Subject: =?utf-8?b?Y2Fmw6k=?=\r\n\r\ncaf\xc3\xa9\r\n", without),
		// RFC 6531 §3.2: "at any level within its MIME structure".
		sent("UTF-8 in a part's header", multipart("Content-Type: text/plain; name=caf\xc3\xa9\r\n\r\nx\r\n"), withUTF8),
		sent("UTF-8 in a nested part's header", multipart("Content-Type: multipart/alternative; boundary=c\r\n\r\n"+
			"--c\r\nContent-Type: text/plain\r\nX-Note: caf\xc3\xa9\r\n\r\nx\r\n--c--\r\n"), withUTF8),
		sent("UTF-8 in an attached message's header", multipart("Content-Type: message/global\r\n\r\nSubject: caf\xc3\xa9\r\n\r\nx\r\n"), withUTF8),
		sent("UTF-8 header of an attached message in base64", multipart("Content-Type: message/global\r\n"+
			"Content-Transfer-Encoding: base64\r\n\r\nU3ViamVjdDogY2Fmw6k=\r\n\xc3\xa9\r\n"), without),
		sent("UTF-8 in a part's text only", multipart("Content-Type: text/plain\r\n\r\ncaf\xc3\xa9\r\n"), without),
		sent("no header, UTF-8 text", "caf\xc3\xa9\r\n", without),
		{
			name: "raw UTF-8 Subject, no SMTPUTF8: returned, nothing sent",
			cfg:  alice, env: one, msg: utf8Subject,
			steps: []step{
				{server: greeting, client: "EHLO client.example.com\r\n"},
				{server: ehlo("8BITMIME"), client: "QUIT\r\n"},
				{server: bye},
			},
			status: Bounced, reason: smtp.ReasonUTF8Required, enhanced: "5.6.7",
		},
	})
	c, _ := New(alice, one, []byte(utf8Subject))
	c.Feed([]byte(greeting + ehlo("8BITMIME") + bye))
	if err := c.Outcome().Err; err == nil || !strings.Contains(err.Error(), "header in the message has raw UTF-8") {
		t.Errorf("the refusal says %v, want that the header has raw UTF-8", err)
	}
}

// TestSevenBitForm: an 8-bit message goes to a server without 8BITMIME
// converted to 7 bits, its 8-bit text quoted-printable (RFC 6152 §3,
// "convert the message to 7 bits", as Postfix does), with the SIZE of
// what is sent, and the Outcome says so; a server with 8BITMIME gets the
// message itself. A message whose UTF-8 header is inside message/global
// needs SMTPUTF8 as it is, and none once that part is encoded (RFC 6533
// §6): a server with 8BITMIME but no SMTPUTF8 gets it converted, and the
// client decides SMTPUTF8 from the form it sends.
func TestSevenBitForm(t *testing.T) {
	const (
		msg   = "Subject: x\r\n\r\ncaf\xc3\xa9\r\n"
		seven = "Subject: x\r\nContent-Transfer-Encoding: quoted-printable\r\nMIME-Version: 1.0\r\n\r\ncaf=C3=A9\r\n"
		// global has a header of UTF-8 inside message/global.
		global      = "MIME-Version: 1.0\r\nContent-Type: message/global\r\n\r\nSubject: caf\xc3\xa9\r\n\r\nhi\r\n"
		globalSeven = "MIME-Version: 1.0\r\nContent-Type: message/global\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nSubject: caf=C3=A9\r\n\r\nhi\r\n"
		// noBlank lacks the empty line after its header: its text starts
		// at its first line that is no field, and gets the empty line.
		noBlank = "Subject: x\r\ncaf\xc3\xa9\r\n"
	)
	cfg := Config{Hostname: "client.example.com"}
	one := env(t, "alice@example.com", "bob@example.org")
	for _, tt := range []struct {
		name, msg  string
		ext        []string
		mail, sent string
		converted  bool
	}{
		{"no 8BITMIME", msg, []string{"SIZE"}, fmt.Sprintf("MAIL FROM:<alice@example.com> SIZE=%d\r\n", len(seven)), seven, true},
		{"8BITMIME", msg, []string{"8BITMIME"}, "MAIL FROM:<alice@example.com> BODY=8BITMIME\r\n", msg, false},
		{"no 8BITMIME, no empty line after the header", noBlank, []string{"SIZE"}, fmt.Sprintf("MAIL FROM:<alice@example.com> SIZE=%d\r\n", len(seven)), seven, true},
		{"message/global, no extension", global, nil, "MAIL FROM:<alice@example.com>\r\n", globalSeven, true},
		{"message/global, 8BITMIME, no SMTPUTF8", global, []string{"8BITMIME"}, "MAIL FROM:<alice@example.com>\r\n", globalSeven, true},
		{"message/global, 8BITMIME and SMTPUTF8", global, []string{"8BITMIME", "SMTPUTF8"}, "MAIL FROM:<alice@example.com> BODY=8BITMIME SMTPUTF8\r\n", global, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := script{cfg: cfg, env: one, msg: tt.msg, status: Delivered, steps: []step{
				{server: greeting, client: "EHLO client.example.com\r\n"},
				{server: ehlo(tt.ext...), client: tt.mail},
				{server: okMail, client: "RCPT TO:<bob@example.org>\r\n"},
				{server: okRcpt, client: "DATA\r\n"},
				{server: goAhead, client: tt.sent + ".\r\n"},
				{server: queued, client: "QUIT\r\n"},
				{server: bye},
			}}.play(t, false)
			if got := c.Outcome().SevenBit; got != tt.converted {
				t.Errorf("Outcome.SevenBit %v, want %v", got, tt.converted)
			}
		})
	}
}

// TestEightBitNeeds8BITMIME: RFC 6152 §3 and RFC 5321 §2.4 forbid sending
// octets above 127 to a server that did not offer 8BITMIME; this client
// converts such a message to 7 bits (TestSevenBitForm), and returns it,
// 5.6.3, only when that cannot be done: a header of UTF-8 (to a server
// that offers SMTPUTF8 and, against RFC 6531 §3.1, not 8BITMIME), a
// preamble of 8 bits, which no transfer encoding reaches.
func TestEightBitNeeds8BITMIME(t *testing.T) {
	alice := Config{Hostname: "client.example.com"}
	one := env(t, "alice@example.com", "bob@example.org")
	for _, tt := range []struct {
		name, msg, ext, why string
	}{
		{"UTF-8 header, SMTPUTF8 without 8BITMIME", "Subject: caf\xc3\xa9\r\n\r\nhi\r\n", "SMTPUTF8", "the message has octets beyond ASCII in its header"},
		{"8-bit preamble", "Content-Type: multipart/mixed; boundary=b\r\n\r\n\xc3\xa9\r\n--b\r\n\r\nhi\r\n--b--\r\n", "SIZE 1000", "has a preamble that is not 7-bit"},
	} {
		s := script{
			name: tt.name, cfg: alice, env: one, msg: tt.msg,
			steps: []step{
				{server: greeting, client: "EHLO client.example.com\r\n"},
				{server: ehlo(tt.ext), client: "QUIT\r\n"},
				{server: bye},
			},
			status: Bounced, reason: Reason8BitUnavailable, enhanced: "5.6.3",
		}
		runScripts(t, []script{s})
		err := s.play(t, false).Outcome().Err
		if err == nil || !strings.Contains(err.Error(), tt.why) || !strings.Contains(err.Error(), "does not offer 8BITMIME") {
			t.Errorf("%s: the refusal says %v, want that the server does not offer 8BITMIME and that %s", tt.name, err, tt.why)
		}
	}
}

// TestHas8bit puts one octet above 127 at every place of messages of every
// length up to a few words, where has8bit reads words of eight octets and
// groups of four words.
func TestHas8bit(t *testing.T) {
	for n := 0; n <= 80; n++ {
		msg := []byte(strings.Repeat("a", n))
		if has8bit(msg) {
			t.Fatalf("has8bit of %d ASCII octets = true", n)
		}
		for i := range msg {
			msg[i] = 0x80
			if !has8bit(msg) {
				t.Fatalf("has8bit of %d octets with 0x80 at %d = false", n, i)
			}
			msg[i] = 'a'
		}
	}
}

// TestWritable holds writable to its rule for every octet: no control,
// and when strict no space, '<' or '>'.
func TestWritable(t *testing.T) {
	for c := 0; c < 256; c++ {
		s := "a" + string([]byte{byte(c)}) + "b"
		control := c < 0x20 || c == 0x7f
		for _, strict := range []bool{false, true} {
			want := !control && !(strict && (c == ' ' || c == '<' || c == '>'))
			if got := writable(s, strict); got != want {
				t.Errorf("writable(%q, %v) = %v, want %v", s, strict, got, want)
			}
		}
	}
}
