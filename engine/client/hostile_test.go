package client

import (
	"strings"
	"testing"

	"smtplab/engine/smtp"
)

// TestHostileReplies drives the client through servers that break the
// reply syntax of RFC 5321 §4.2 in the ways real ones do, or hostile ones
// would. What must hold: a line that is no reply ends the session as a
// transient failure (the client cannot know what the server meant), a
// reply that is a reply is decided by its basic code alone (RFC 3463 §2:
// an enhanced code whose class disagrees is text, not a status), and
// nothing is delivered that no "250" after the content says was.
func TestHostileReplies(t *testing.T) {
	alice := Config{Hostname: "c.example"}
	one := env(t, "a@example.com", "b@example.org")
	two := env(t, "a@example.com", "b@example.org", "c@example.org")
	upToData := []step{
		{server: greeting, client: "EHLO c.example\r\n"},
		{server: ehloBare, client: "MAIL FROM:<a@example.com>\r\n"},
		{server: okMail, client: "RCPT TO:<b@example.org>\r\n"},
		{server: okRcpt, client: "DATA\r\n"},
		{server: goAhead, client: "x\r\n.\r\n"},
	}
	with := func(steps ...step) []step { return append(append([]step{}, upToData...), steps...) }
	runScripts(t, []script{{
		name: "code 199, below the range",
		cfg:  alice, env: one, msg: "x\r\n",
		steps:  []step{{server: greeting, client: "EHLO c.example\r\n"}, {server: "199 hello\r\n"}},
		status: Deferred, reason: ReasonMalformedReply, session: []bool{true},
	}, {
		name: "code 600, above the range",
		cfg:  alice, env: one, msg: "x\r\n",
		steps:  []step{{server: greeting, client: "EHLO c.example\r\n"}, {server: "600 hello\r\n"}},
		status: Deferred, reason: ReasonMalformedReply,
	}, {
		name: "a continuation line with another code",
		cfg:  alice, env: one, msg: "x\r\n",
		steps:  []step{{server: "220-mx.example.org\r\n554 no\r\n"}},
		status: Deferred, reason: ReasonMalformedReply,
	}, {
		name: `"250-" with nothing after, and a bare "250" last line`,
		cfg:  alice, env: one, msg: "x\r\n",
		steps: with(
			step{server: "250-\r\n250-\r\n250\r\n", client: "QUIT\r\n"},
			step{server: bye}),
		status: Delivered, code: 250,
	}, {
		name: "bare LF line ends",
		cfg:  alice, env: one, msg: "x\r\n",
		steps: []step{
			{server: "220 mx\n", client: "EHLO c.example\r\n"},
			{server: "250-mx\n250 PIPELINING\n", client: "MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n"},
			{server: "250 ok\n250 ok\n354 go\n", client: "x\r\n.\r\nQUIT\r\n"},
			{server: "250 queued\n221 bye\n"},
		},
		status: Delivered, code: 250,
	}, {
		name: "a reply line far over 512 octets is cut, not split into more replies",
		cfg:  alice, env: one, msg: "x\r\n",
		steps: with(
			step{server: "250 " + strings.Repeat("A", 3000) + "\r\n", client: "QUIT\r\n"},
			step{server: bye}),
		status: Delivered, code: 250,
	}, {
		name: "NUL and 8-bit octets in the text: the code decides",
		cfg:  alice, env: one, msg: "x\r\n",
		steps: []step{
			{server: greeting, client: "EHLO c.example\r\n"},
			{server: ehloBare, client: "MAIL FROM:<a@example.com>\r\n"},
			{server: "250 o\x00k \xff\r\n", client: "RCPT TO:<b@example.org>\r\n"},
			{server: "550 5.1.1 n\x00o \xc3\xa9\r\n", client: "QUIT\r\n"},
			{server: bye},
		},
		status: Bounced, code: 550,
	}, {
		name: "an enhanced code of class 2 on a 550: still refused",
		cfg:  alice, env: one, msg: "x\r\n",
		steps: []step{
			{server: greeting, client: "EHLO c.example\r\n"},
			{server: ehlo("ENHANCEDSTATUSCODES"), client: "MAIL FROM:<a@example.com>\r\n"},
			{server: okMail, client: "RCPT TO:<b@example.org>\r\n"},
			{server: "550 2.1.5 ok\r\n", client: "QUIT\r\n"},
			{server: bye},
		},
		status: Bounced, code: 550,
	}, {
		name: "an enhanced code of class 5 on the 250 after the content: delivered",
		cfg:  alice, env: one, msg: "x\r\n",
		steps: with(
			step{server: "250 5.0.0 ok\r\n", client: "QUIT\r\n"},
			step{server: bye}),
		status: Delivered, code: 250,
	}, {
		name: "421 after the final dot: deferred, no QUIT",
		cfg:  alice, env: one, msg: "x\r\n",
		steps:  with(step{server: "421 4.3.2 shutting down\r\n"}),
		status: Deferred, code: 421, session: []bool{true}, verbs: []smtp.Verb{smtp.DATA},
	}, {
		name: "421 in the middle of a pipelined batch",
		cfg:  alice, env: two, msg: "x\r\n",
		steps: []step{
			{server: greeting, client: "EHLO c.example\r\n"},
			{server: ehlo("PIPELINING"), client: "MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.org>\r\nRCPT TO:<c@example.org>\r\nDATA\r\n"},
			{server: okMail + okRcpt + "421 4.7.0 bye\r\n"},
		},
		status: Deferred, code: 421, rcpts: []Status{Deferred, Deferred}, session: []bool{true, true},
	}})
}

// TestHostileReplyKeepsItsEnhancedCode: an enhanced code whose class
// disagrees with the basic code is not taken as the reply's status (RFC
// 3463 §2), so a DSN made from the reply does not report "2.1.5" for a
// refusal.
func TestHostileReplyKeepsItsEnhancedCode(t *testing.T) {
	c, err := New(Config{}, env(t, "a@example.com", "b@example.org"), []byte("x\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range []string{greeting, ehloBare, okMail, "550 2.1.5 ok\r\n", bye} {
		c.Feed([]byte(in))
		c.Output()
	}
	r := c.Outcome().Recipients[0]
	if r.Status != Bounced || r.Reply.Enhanced != "" || r.Reply.Text() != "2.1.5 ok" {
		t.Fatalf("550 2.1.5: %+v", r)
	}
}

// TestLostAfterTheDot: a connection that drops after the final dot but
// before its reply leaves the message deferred (RFC 5321 §6.1, RFC 1047:
// it may arrive twice, but it must not be lost).
func TestLostAfterTheDot(t *testing.T) {
	c, err := New(Config{}, env(t, "a@example.com", "b@example.org"), []byte("x\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range []string{greeting, ehloBare, okMail, okRcpt, goAhead, "250 2.0.0 queu"} {
		c.Feed([]byte(in))
		c.Output()
	}
	c.ConnectionLost(errString("EOF"))
	if o := c.Outcome(); c.Action() != ActionClose || o.Status != Deferred || !o.Recipients[0].SessionFailure {
		t.Fatalf("lost after the dot, a reply half come: %v %+v", c.Action(), o)
	}
}
