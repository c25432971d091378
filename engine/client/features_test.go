package client

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"smtplab/engine/smtp"
)

func TestPipelining(t *testing.T) {
	cfg := Config{Hostname: "c.example"}
	three := env(t, "a@example.com", "b@example.org", "c@example.org", "d@example.org")
	batch := "MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.org>\r\nRCPT TO:<c@example.org>\r\nRCPT TO:<d@example.org>\r\nDATA\r\n"
	runScripts(t, []script{{
		name: "MAIL, RCPTs and DATA in one batch; content and QUIT in another",
		cfg:  cfg, env: three, msg: "x\r\n",
		steps: []step{
			{server: greeting, client: "EHLO c.example\r\n"},
			{server: ehlo("PIPELINING", "ENHANCEDSTATUSCODES"), client: batch},
			{server: okMail + okRcpt + "550 5.1.1 unknown\r\n" + "452 4.2.2 full\r\n", client: ""},
			{server: goAhead, client: "x\r\n.\r\nQUIT\r\n"},
			{server: queued + bye},
		},
		status: Delivered, rcpts: []Status{Delivered, Bounced, Deferred},
	}, {
		name: "all refused: DATA refused, no content",
		cfg:  cfg, env: three, msg: "x\r\n",
		steps: []step{
			{server: greeting, client: "EHLO c.example\r\n"},
			{server: ehlo("PIPELINING"), client: batch},
			{server: okMail + "550 no\r\n550 no\r\n550 no\r\n554 no valid recipients\r\n", client: "QUIT\r\n"},
			{server: bye},
		},
		status: Bounced, rcpts: []Status{Bounced, Bounced, Bounced}, code: 550,
	}, {
		name: "all refused yet 354: an empty end only",
		cfg:  cfg, env: three, msg: "secret\r\n",
		steps: []step{
			{server: greeting, client: "EHLO c.example\r\n"},
			{server: ehlo("PIPELINING"), client: batch},
			{server: okMail + "550 no\r\n550 no\r\n550 no\r\n" + goAhead, client: ".\r\n"},
			{server: "554 no recipients\r\n", client: "QUIT\r\n"},
			{server: bye},
		},
		status: Bounced,
	}, {
		name: "MAIL refused in a batch: the other replies are read, then QUIT",
		cfg:  cfg, env: three, msg: "x\r\n",
		steps: []step{
			{server: greeting, client: "EHLO c.example\r\n"},
			{server: ehlo("PIPELINING"), client: batch},
			{server: "530 5.7.0 auth first\r\n503 no\r\n", client: ""},
			{server: "503 no\r\n503 no\r\n503 no\r\n", client: "QUIT\r\n"},
			{server: bye},
		},
		status: Bounced, code: 530, verbs: []smtp.Verb{smtp.MAIL, smtp.MAIL, smtp.MAIL},
	}, {
		name: "NoPipelining waits for each reply",
		cfg:  Config{Hostname: "c.example", NoPipelining: true}, env: env(t, "a@example.com", "b@example.org"), msg: "x\r\n",
		steps: []step{
			{server: greeting, client: "EHLO c.example\r\n"},
			{server: ehlo("PIPELINING"), client: "MAIL FROM:<a@example.com>\r\n"},
			{server: okMail, client: "RCPT TO:<b@example.org>\r\n"},
			{server: okRcpt, client: "DATA\r\n"},
			{server: goAhead, client: "x\r\n.\r\n"},
			{server: queued, client: "QUIT\r\n"},
			{server: bye},
		},
		status: Delivered,
	}})
}

func TestConnectionLost(t *testing.T) {
	e := env(t, "a@example.com", "b@example.org")
	c, _ := New(Config{}, e, []byte("x\r\n"))
	for _, in := range []string{greeting, ehlo("PIPELINING"), okMail + okRcpt + goAhead} {
		c.Feed([]byte(in))
		c.Output()
	}
	c.ConnectionLost(errString("EOF"))
	if c.Action() != ActionClose || c.Status() != Deferred {
		t.Fatalf("after a lost connection: %v %v", c.Action(), c.Status())
	}
	// Lost after the 250 but before 221: the message was delivered.
	c, _ = New(Config{}, e, []byte("x\r\n"))
	for _, in := range []string{greeting, ehlo("PIPELINING"), okMail + okRcpt + goAhead, queued} {
		c.Feed([]byte(in))
		c.Output()
	}
	c.ConnectionLost(errString("EOF"))
	if o := c.Outcome(); o.Status != Delivered || o.Reply.Code != 250 || o.Reply.Enhanced != "2.0.0" {
		t.Fatalf("lost before 221: %+v", o)
	}
}

type errString string

func (e errString) Error() string { return string(e) }

func TestExtensionsOnMail(t *testing.T) {
	cfg := Config{Hostname: "c.example"}
	one := env(t, "a@example.com", "b@example.org")
	utf := env(t, "a@example.com", "jürgen@bücher.example")
	dsn := one
	dsn.Ret, dsn.EnvID = "HDRS", "id+1=2"
	dsn.To = []Recipient{{Mailbox: one.To[0].Mailbox, Notify: "FAILURE,DELAY", ORcpt: "b@example.org"}}
	runScripts(t, []script{{
		name: "SIZE declared, 8BITMIME when needed",
		cfg:  cfg, env: one, msg: "caf\xc3\xa9\r\n",
		steps: []step{
			{server: greeting, client: "EHLO c.example\r\n"},
			{server: ehlo("SIZE 1000", "8BITMIME"), client: "MAIL FROM:<a@example.com> SIZE=7 BODY=8BITMIME\r\n"},
			{server: okMail, client: "RCPT TO:<b@example.org>\r\n"},
			{server: okRcpt, client: "DATA\r\n"},
			{server: goAhead, client: "caf\xc3\xa9\r\n.\r\n"},
			{server: queued, client: "QUIT\r\n"},
			{server: bye},
		},
		status: Delivered,
	}, {
		name: "no BODY for a 7-bit message; SIZE without a limit",
		cfg:  cfg, env: one, msg: "plain\r\n",
		steps: []step{
			{server: greeting, client: "EHLO c.example\r\n"},
			{server: ehlo("SIZE", "8BITMIME"), client: "MAIL FROM:<a@example.com> SIZE=7\r\n"},
			{server: "550 no\r\n", client: "QUIT\r\n"},
			{server: bye},
		},
		status: Bounced,
	}, {
		name: "oversize refused before MAIL",
		cfg:  cfg, env: one, msg: "0123456789\r\n",
		steps: []step{
			{server: greeting, client: "EHLO c.example\r\n"},
			{server: ehlo("SIZE 11"), client: "QUIT\r\n"},
			{server: bye},
		},
		status: Bounced, reason: smtp.ReasonTooLarge,
	}, {
		name: "SMTPUTF8 when an address needs it",
		cfg:  cfg, env: utf, msg: "x\r\n",
		steps: []step{
			{server: greeting, client: "EHLO c.example\r\n"},
			{server: ehlo("SMTPUTF8"), client: "MAIL FROM:<a@example.com> SMTPUTF8\r\n"},
			{server: okMail, client: "RCPT TO:<jürgen@bücher.example>\r\n"},
			{server: "550 no\r\n", client: "QUIT\r\n"},
			{server: bye},
		},
		status: Bounced,
	}, {
		name: "SMTPUTF8 needed but not offered: bounced, nothing sent",
		cfg:  cfg, env: utf, msg: "x\r\n",
		steps: []step{
			{server: greeting, client: "EHLO c.example\r\n"},
			{server: ehlo("8BITMIME"), client: "QUIT\r\n"},
			{server: bye},
		},
		status: Bounced, reason: smtp.ReasonUTF8Required,
	}, {
		name: "DSN parameters when offered",
		cfg:  cfg, env: dsn, msg: "x\r\n",
		steps: []step{
			{server: greeting, client: "EHLO c.example\r\n"},
			{server: ehlo("DSN"), client: "MAIL FROM:<a@example.com> RET=HDRS ENVID=id+2B1+3D2\r\n"},
			{server: okMail, client: "RCPT TO:<b@example.org> NOTIFY=FAILURE,DELAY ORCPT=rfc822;b@example.org\r\n"},
			{server: "550 no\r\n", client: "QUIT\r\n"},
			{server: bye},
		},
		status: Bounced,
	}, {
		name: "DSN parameters left out when not offered",
		cfg:  cfg, env: dsn, msg: "x\r\n",
		steps: []step{
			{server: greeting, client: "EHLO c.example\r\n"},
			{server: ehloBare, client: "MAIL FROM:<a@example.com>\r\n"},
			{server: okMail, client: "RCPT TO:<b@example.org>\r\n"},
			{server: "550 no\r\n", client: "QUIT\r\n"},
			{server: bye},
		},
		status: Bounced,
	}})
}

// TestDSNOutcome: a relay passes ORCPT on with the address type it
// received, and learns from the outcome whether the DSN parameters went
// with the message at all (RFC 3461 §5.2.2).
func TestDSNOutcome(t *testing.T) {
	e := env(t, "a@example.com", "b@example.org")
	e.To[0].Notify, e.To[0].ORcpt, e.To[0].ORcptType = "SUCCESS", "bö@example.org", "utf-8"
	for _, tc := range []struct {
		ehlo, rcpt string
		dsn        bool
	}{
		{ehlo("DSN"), "RCPT TO:<b@example.org> NOTIFY=SUCCESS ORCPT=utf-8;b\\x{F6}@example.org\r\n", true},
		{ehloBare, "RCPT TO:<b@example.org>\r\n", false},
	} {
		s := script{cfg: Config{Hostname: "c.example"}, env: e, msg: "x\r\n", status: Bounced, steps: []step{
			{server: greeting, client: "EHLO c.example\r\n"},
			{server: tc.ehlo, client: "MAIL FROM:<a@example.com>\r\n"},
			{server: okMail, client: tc.rcpt},
			{server: "550 no\r\n", client: "QUIT\r\n"},
			{server: bye},
		}}
		if c := s.play(t, false); c.Outcome().DSN != tc.dsn {
			t.Errorf("EHLO %q: Outcome.DSN = %v, want %v", tc.ehlo, c.Outcome().DSN, tc.dsn)
		}
	}
}

// TestORcptUTF8Encoding: a relay passes an ORCPT of type utf-8 on as RFC
// 6533 §3 writes it, not as xtext: 7-bit, with \x{HEX} for ö and for '+',
// '=' and '\' (utf-8-addr-xtext), unless the transaction uses SMTPUTF8,
// when ö may be itself (utf-8-addr-unitext). An rfc822 one, ASCII, stays
// xtext.
func TestORcptUTF8Encoding(t *testing.T) {
	ascii := env(t, "a@example.com", "b@example.org")
	utf := env(t, "a@example.com", "bö@example.org")
	with := func(e Envelope, typ, orcpt string) Envelope {
		e.To = []Recipient{{Mailbox: e.To[0].Mailbox, ORcpt: orcpt, ORcptType: typ}}
		return e
	}
	var scripts []script
	for _, tt := range []struct {
		name       string
		env        Envelope
		ehlo, mail string
		rcpt       string
	}{
		{"7-bit: the transaction is ASCII", with(ascii, "utf-8", `bö+1=2\x@example.org`), ehlo("DSN", "SMTPUTF8"), "MAIL FROM:<a@example.com>\r\n",
			`RCPT TO:<b@example.org> ORCPT=utf-8;b\x{F6}\x{2B}1\x{3D}2\x{5C}x@example.org` + "\r\n"},
		{"the type as it was received", with(ascii, "UTF-8", "😀@example.org"), ehlo("DSN"), "MAIL FROM:<a@example.com>\r\n",
			`RCPT TO:<b@example.org> ORCPT=UTF-8;\x{1F600}@example.org` + "\r\n"},
		{"UTF-8 itself with SMTPUTF8", with(utf, "utf-8", "bö+1@example.org"), ehlo("DSN", "SMTPUTF8"), "MAIL FROM:<a@example.com> SMTPUTF8\r\n",
			"RCPT TO:<bö@example.org> ORCPT=utf-8;bö\\x{2B}1@example.org\r\n"},
		{"rfc822 stays xtext", with(utf, "rfc822", "b+1=2@example.org"), ehlo("DSN", "SMTPUTF8"), "MAIL FROM:<a@example.com> SMTPUTF8\r\n",
			"RCPT TO:<bö@example.org> ORCPT=rfc822;b+2B1+3D2@example.org\r\n"},
	} {
		scripts = append(scripts, script{name: tt.name, cfg: Config{Hostname: "c.example"}, env: tt.env, msg: "x\r\n", status: Bounced, steps: []step{
			{server: greeting, client: "EHLO c.example\r\n"},
			{server: tt.ehlo, client: tt.mail},
			{server: okMail, client: tt.rcpt},
			{server: "550 no\r\n", client: "QUIT\r\n"},
			{server: bye},
		}})
	}
	runScripts(t, scripts)
}

// TestORcptTooLong: an ORCPT whose value would pass the 500 characters
// RFC 3461 §4.2 allows is left out, and the outcome says so; the message
// still goes. A utf-8 address of 100 ö fits in UTF-8 (210 octets with its
// domain) but not in the \x{F6} form a 7-bit transaction needs (610), so
// it goes only where the transaction uses SMTPUTF8. "rfc822;" and 494
// octets make 501.
func TestORcptTooLong(t *testing.T) {
	oes := strings.Repeat("ö", 100) + "@x.example"
	ascii := env(t, "a@example.com", "b@example.org")
	utf := env(t, "a@example.com", "bö@example.org")
	with := func(e Envelope, typ, orcpt string) Envelope {
		e.To = []Recipient{{Mailbox: e.To[0].Mailbox, ORcpt: orcpt, ORcptType: typ, Notify: "FAILURE"}}
		return e
	}
	for _, tt := range []struct {
		name    string
		env     Envelope
		mail    string
		rcpt    string
		leftOut bool
	}{
		{"7-bit form too long", with(ascii, "utf-8", oes), "MAIL FROM:<a@example.com>\r\n",
			"RCPT TO:<b@example.org> NOTIFY=FAILURE\r\n", true},
		{"UTF-8 form fits", with(utf, "utf-8", oes), "MAIL FROM:<a@example.com> SMTPUTF8\r\n",
			"RCPT TO:<bö@example.org> NOTIFY=FAILURE ORCPT=utf-8;" + oes + "\r\n", false},
		{"xtext of 501", with(ascii, "rfc822", strings.Repeat("a", 494-len("@x.example"))+"@x.example"), "MAIL FROM:<a@example.com>\r\n",
			"RCPT TO:<b@example.org> NOTIFY=FAILURE\r\n", true},
		{"xtext of 500", with(ascii, "rfc822", strings.Repeat("a", 493-len("@x.example"))+"@x.example"), "MAIL FROM:<a@example.com>\r\n",
			"RCPT TO:<b@example.org> NOTIFY=FAILURE ORCPT=rfc822;" + strings.Repeat("a", 493-len("@x.example")) + "@x.example\r\n", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := script{cfg: Config{Hostname: "c.example"}, env: tt.env, msg: "x\r\n", status: Delivered, steps: []step{
				{server: greeting, client: "EHLO c.example\r\n"},
				{server: ehlo("DSN", "SMTPUTF8"), client: tt.mail},
				{server: okMail, client: tt.rcpt},
				{server: okRcpt, client: "DATA\r\n"},
				{server: goAhead, client: "x\r\n.\r\n"},
				{server: queued, client: "QUIT\r\n"},
				{server: bye},
			}}.play(t, false)
			if got := c.Outcome().Recipients[0].ORcptLeftOut; got != tt.leftOut {
				t.Errorf("ORcptLeftOut %v, want %v", got, tt.leftOut)
			}
		})
	}
}

func TestChunking(t *testing.T) {
	one := env(t, "a@example.com", "b@example.org")
	msg := "0123456789abcdefghij.\r\n" // 23 octets: chunks of 10, 10, 3
	chunked := Config{Hostname: "c.example", ChunkSize: 10}
	runScripts(t, []script{{
		name: "BDAT one chunk at a time, no dot-stuffing",
		cfg:  chunked, env: one, msg: msg,
		steps: []step{
			{server: greeting, client: "EHLO c.example\r\n"},
			{server: ehlo("CHUNKING"), client: "MAIL FROM:<a@example.com>\r\n"},
			{server: okMail, client: "RCPT TO:<b@example.org>\r\n"},
			{server: okRcpt, client: "BDAT 10\r\n0123456789"},
			{server: "250 2.0.0 10 octets\r\n", client: "BDAT 10\r\nabcdefghij"},
			{server: "250 2.0.0 20 octets\r\n", client: "BDAT 3 LAST\r\n.\r\n"},
			{server: queued, client: "QUIT\r\n"},
			{server: bye},
		},
		status: Delivered, code: 250, verbs: []smtp.Verb{smtp.BDAT},
	}, {
		name: "BDAT pipelined: every chunk and QUIT at once, after the RCPT replies",
		cfg:  chunked, env: one, msg: msg,
		steps: []step{
			{server: greeting, client: "EHLO c.example\r\n"},
			{server: ehlo("CHUNKING", "PIPELINING"), client: "MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.org>\r\n"},
			{server: okMail + okRcpt, client: "BDAT 10\r\n0123456789BDAT 10\r\nabcdefghijBDAT 3 LAST\r\n.\r\nQUIT\r\n"},
			{server: "250 ok\r\n250 ok\r\n" + queued + bye},
		},
		status: Delivered,
	}, {
		name: "BDAT chunk refused: later chunk replies do not count",
		cfg:  chunked, env: one, msg: msg,
		steps: []step{
			{server: greeting, client: "EHLO c.example\r\n"},
			{server: ehlo("CHUNKING", "PIPELINING"), client: "MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.org>\r\n"},
			{server: okMail + okRcpt, client: "BDAT 10\r\n0123456789BDAT 10\r\nabcdefghijBDAT 3 LAST\r\n.\r\nQUIT\r\n"},
			{server: "452 4.3.1 no room\r\n503 5.5.1 no\r\n250 ok\r\n" + bye},
		},
		status: Deferred, code: 452,
	}, {
		name: "BDAT refused, one at a time: QUIT at once",
		cfg:  chunked, env: one, msg: msg,
		steps: []step{
			{server: greeting, client: "EHLO c.example\r\n"},
			{server: ehlo("CHUNKING"), client: "MAIL FROM:<a@example.com>\r\n"},
			{server: okMail, client: "RCPT TO:<b@example.org>\r\n"},
			{server: okRcpt, client: "BDAT 10\r\n0123456789"},
			{server: "554 5.6.0 no\r\n", client: "QUIT\r\n"},
			{server: bye},
		},
		status: Bounced,
	}, {
		name: "empty message is BDAT 0 LAST",
		cfg:  chunked, env: one, msg: "",
		steps: []step{
			{server: greeting, client: "EHLO c.example\r\n"},
			{server: ehlo("CHUNKING"), client: "MAIL FROM:<a@example.com>\r\n"},
			{server: okMail, client: "RCPT TO:<b@example.org>\r\n"},
			{server: okRcpt, client: "BDAT 0 LAST\r\n"},
			{server: queued, client: "QUIT\r\n"},
			{server: bye},
		},
		status: Delivered,
	}, {
		name: "bare LF made CRLF before BDAT and SIZE",
		cfg:  Config{Hostname: "c.example"}, env: one, msg: "a\nb",
		steps: []step{
			{server: greeting, client: "EHLO c.example\r\n"},
			{server: ehlo("CHUNKING", "SIZE 100"), client: "MAIL FROM:<a@example.com> SIZE=6\r\n"},
			{server: okMail, client: "RCPT TO:<b@example.org>\r\n"},
			{server: okRcpt, client: "BDAT 6 LAST\r\na\r\nb\r\n"},
			{server: queued, client: "QUIT\r\n"},
			{server: bye},
		},
		status: Delivered,
	}, {
		name: "NoChunking sends DATA",
		cfg:  Config{Hostname: "c.example", NoChunking: true}, env: one, msg: "x\r\n",
		steps: []step{
			{server: greeting, client: "EHLO c.example\r\n"},
			{server: ehlo("CHUNKING"), client: "MAIL FROM:<a@example.com>\r\n"},
			{server: okMail, client: "RCPT TO:<b@example.org>\r\n"},
			{server: okRcpt, client: "DATA\r\n"},
			{server: goAhead, client: "x\r\n.\r\n"},
			{server: queued, client: "QUIT\r\n"},
			{server: bye},
		},
		status: Delivered,
	}})
}

// TestEHLOMemo checks that a memo gives what parseEHLO gives, for replies
// seen before, for new ones that push the oldest out, and for a reply whose
// keyword lines are those of another after a different first line.
func TestEHLOMemo(t *testing.T) {
	replies := []string{
		ehlo("SIZE 100", "PIPELINING"), ehlo("SIZE 200", "PIPELINING"), ehlo("8BITMIME"), ehlo("DSN"),
		ehlo("CHUNKING"), ehlo("STARTTLS"), "250 mx.example.org\r\n",
		strings.Replace(ehlo("SIZE 100", "PIPELINING"), "mx.example.org", "other.example", 1),
	}
	var m ehloMemo
	for round := range 3 {
		for i, r := range replies {
			if got, want := m.parse([]byte(r)), parseEHLO([]byte(r)); got != want {
				t.Fatalf("round %d, reply %d: got %+v, want %+v", round, i, got, want)
			}
		}
	}
}

func TestParseEHLO(t *testing.T) {
	x := parseEHLO([]byte(ehlo("size 2048", "Pipelining", "8BITMIME", "SMTPUTF8", "CHUNKING", "DSN",
		"STARTTLS", "ENHANCEDSTATUSCODES", "AUTH PLAIN XOAUTH2 login", "AUTH=CRAM-MD5", "X-UNKNOWN 1")))
	want := Extensions{Size: 2048, SizeOffered: true, Pipelining: true, EightBitMIME: true, SMTPUTF8: true,
		Chunking: true, DSN: true, StartTLS: true, EnhancedStatusCodes: true, Auth: PLAIN | LOGIN | CRAMMD5, AuthOffered: true}
	if x != want {
		t.Fatalf("got %+v\nwant %+v", x, want)
	}
	if x := parseEHLO([]byte(ehlo("SIZE -1", "AUTH"))); x.Size != 0 || !x.SizeOffered || x.Auth != 0 || !x.AuthOffered {
		t.Fatalf("odd SIZE and AUTH: %+v", x)
	}
	if s := (CRAMMD5 | LOGIN).String(); s != "CRAM-MD5 LOGIN" {
		t.Fatalf("String: %q", s)
	}
}

// TestEnvelopeChecks: the client refuses an envelope or a hostname it
// cannot write into a command, with an Error that says the message fails
// for good and which part is at fault (RFC 3463): X.1.7 the sender, X.1.3
// a recipient, X.5.4 a DSN parameter, X.3.5 the client's own name.
func TestEnvelopeChecks(t *testing.T) {
	bob := smtp.Mailbox{Local: "b", Domain: "y.example"}
	for _, tt := range []struct {
		env      Envelope
		hostname string
		enh      string
	}{
		{env: Envelope{}, enh: "5.1.3"},
		{env: Envelope{From: smtp.Mailbox{Local: "a", Domain: "x.example\r\nRSET"}, To: []Recipient{{Mailbox: bob}}}, enh: "5.1.7"},
		{env: Envelope{To: []Recipient{{Mailbox: smtp.Mailbox{Local: "b>", Domain: "y.example"}}}}, enh: "5.1.3"},
		{env: Envelope{To: []Recipient{{Mailbox: smtp.Mailbox{Local: "b", Domain: ""}}}}, enh: "5.1.3"},
		{env: Envelope{To: []Recipient{{Mailbox: bob, Notify: "NEVER X"}}}, enh: "5.5.4"},
		{env: Envelope{Ret: "FULL\r\n", To: []Recipient{{Mailbox: bob}}}, enh: "5.5.4"},
		{env: Envelope{To: []Recipient{{Mailbox: bob, ORcpt: "b@y.example", ORcptType: "rfc822;x"}}}, enh: "5.5.4"},
		{env: Envelope{To: []Recipient{{Mailbox: bob, ORcpt: "b\x01@y.example"}}}, enh: "5.5.4"},
		{env: Envelope{To: []Recipient{{Mailbox: bob, ORcpt: "b\xff@y.example", ORcptType: "utf-8"}}}, enh: "5.5.4"},
		{env: Envelope{EnvID: "id\n", To: []Recipient{{Mailbox: bob}}}, enh: "5.5.4"},
		{env: env(t, "", "postmaster"), hostname: "a b", enh: "5.3.5"},
		// RFC 6531 §3.7.1: EHLO carries A-labels (xn--bcher-kva.example).
		{env: env(t, "", "postmaster"), hostname: "bücher.example", enh: "5.3.5"},
	} {
		_, err := New(Config{Hostname: tt.hostname}, tt.env, nil)
		var ce *Error
		if !errors.As(err, &ce) || ce.Status != Bounced || ce.Enhanced != tt.enh || ce.Reason == "" {
			t.Errorf("envelope %+v, hostname %q: %#v, want a bounce with %s", tt.env, tt.hostname, err, tt.enh)
		}
	}
	if _, err := ParseEnvelope("not an address", "b@example.org"); err == nil {
		t.Error("ParseEnvelope accepted a bad sender")
	}
	if _, err := ParseEnvelope("a@example.org", "b@@example.org"); err == nil {
		t.Error("ParseEnvelope accepted a bad recipient")
	}
}

// TestKeptRepliesBounded: a server answering each of many recipients with
// a long reply does not make the client keep it all.
func TestKeptRepliesBounded(t *testing.T) {
	var to []string
	for i := 0; i < 100; i++ {
		to = append(to, "r@example.org")
	}
	c, _ := New(Config{}, env(t, "a@example.com", to...), []byte("x"))
	c.Feed([]byte(greeting + ehlo("PIPELINING") + okMail))
	long := strings.Repeat("550-"+strings.Repeat("x", 1000)+"\r\n", 50) + "550 5.1.1 last line\r\n"
	for range to {
		c.Feed([]byte(long))
	}
	if len(c.kept) > maxKept+100*(maxReplyLine+2) {
		t.Fatalf("kept %d bytes", len(c.kept))
	}
	o := c.Outcome()
	if last := o.Recipients[99].Reply; last.Code != 550 || last.Enhanced != "5.1.1" || last.Text() != "last line" {
		t.Fatalf("truncated reply %+v", last)
	}
	if first := o.Recipients[0].Reply; len(first.Lines) != 51 {
		t.Fatalf("first reply has %d lines", len(first.Lines))
	}
}

// TestKnownEHLO: a client reused for session after session with the same
// server reads an EHLO reply whose keyword lines it met before at once
// (knownEHLO); what it sends, traces and decides must be what a new client
// does, however the reply is cut into pieces, whatever its first line says,
// and when the same keyword lines come with another code or nothing awaits
// them.
func TestKnownEHLO(t *testing.T) {
	cfg := Config{Hostname: "client.example.com"}
	to := env(t, "alice@example.com", "bob@example.org")
	keywords := "250-PIPELINING\r\n250-SIZE 1000\r\n250-8BITMIME\r\n250 DSN\r\n"
	replies := []string{
		"250-mx.example.org\r\n" + keywords,
		"250-mx.example.org Hello again\r\n" + keywords,
		"251-mx.example.org\r\n" + keywords, // another code: not a reply the client met before
		"250-mx.example.org\r\n250-PIPELINING\r\n250 SIZE 1000\r\n",
		"250-mx.example.org\n" + keywords,
	}
	session := func(c *Client, server []string) string {
		var b strings.Builder
		for _, p := range server {
			c.Feed([]byte(p))
			fmt.Fprintf(&b, "%q %v|", c.Output(), c.Action())
		}
		fmt.Fprintf(&b, "%+v", c.Outcome())
		return b.String()
	}
	reused := new(Client)
	for round := range 2 {
		for i, reply := range replies {
			for cut := 0; cut <= len(reply); cut++ {
				server := []string{greeting, reply[:cut], reply[cut:] + okMail + okRcpt, queued, bye}
				var want, got []Event
				fresh, err := New(Config{Hostname: cfg.Hostname, Trace: func(e Event) { want = append(want, e) }}, to, []byte("x\r\n"))
				if err != nil {
					t.Fatal(err)
				}
				wantOut := session(fresh, server)
				if err := reused.Reset(Config{Hostname: cfg.Hostname, Trace: func(e Event) { got = append(got, e) }}, to, []byte("x\r\n")); err != nil {
					t.Fatal(err)
				}
				if gotOut := session(reused, server); gotOut != wantOut {
					t.Fatalf("round %d, reply %d cut at %d:\n got %s\nwant %s", round, i, cut, gotOut, wantOut)
				}
				if g, w := fmt.Sprintf("%+v", got), fmt.Sprintf("%+v", want); g != w {
					t.Fatalf("round %d, reply %d cut at %d: events\n got %s\nwant %s", round, i, cut, g, w)
				}
			}
		}
	}
	// Keyword lines the client knows, again and again, answering commands
	// that are not EHLO, and then with nothing left to answer.
	server := []string{greeting, replies[0] + replies[0] + replies[0] + replies[0] + replies[0] + replies[0] + replies[0]}
	fresh, err := New(cfg, to, []byte("x\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := session(fresh, server)
	if err := reused.Reset(cfg, to, []byte("x\r\n")); err != nil {
		t.Fatal(err)
	}
	if got := session(reused, server); got != want {
		t.Fatalf("EHLO replies that answer other commands:\n got %s\nwant %s", got, want)
	}
}
