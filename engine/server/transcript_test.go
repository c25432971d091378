package server

import (
	"crypto/hmac"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"testing"
)

const (
	greeting = "220 mx.example.org ESMTP SMTP Lab"
	nullMsg  = "354 End data with <CR><LF>.<CR><LF>"
	// rcptUnknown is the test policy's answer to nobody@example.org.
	rcptUnknown = "550 5.1.1 <nobody@example.org>: Recipient address rejected: User unknown"
	envelope    = "EHLO client.example.com\r\nMAIL FROM:<alice@example.com>\r\nRCPT TO:<bob@example.org>\r\n"
	startData   = envelope + "DATA\r\n"
)

// ehlo is the EHLO reply with the extensions given after the common ones.
func ehlo(extra ...string) []string {
	ls := []string{"250-mx.example.org", "250-PIPELINING", "250-SIZE 10485760", "250-8BITMIME",
		"250-ENHANCEDSTATUSCODES", "250-SMTPUTF8", "250-CHUNKING", "250-DSN"}
	ls = append(ls, extra...)
	last := ls[len(ls)-1]
	ls[len(ls)-1] = "250 " + last[4:]
	return ls
}

// okEnvelope is the reply to envelope.
func okEnvelope() []string {
	return append(ehlo(), "250 2.1.0 Ok", "250 2.1.5 Ok")
}

// withSize changes the SIZE line of an EHLO reply.
func withSize(ls []string, size int) []string {
	for i, l := range ls {
		if strings.HasPrefix(l, "250-SIZE ") {
			ls[i] = "250-SIZE " + strconv.Itoa(size)
		}
	}
	return ls
}

func cat(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func one(ls ...string) []string { return ls }

type transcript struct {
	name  string
	cfg   func(*Config)           // changes to the MX test config
	opt   SessionOptions          // options of the session
	input string                  // what the client sends
	want  []string                // every reply line, greeting first
	check func(*labPolicy) string // extra checks on what the policy saw; "" when fine
}

func testConfig(p *labPolicy) Config {
	return Config{Hostname: "mx.example.org", Role: RoleMX, Policy: p}
}

func (tt transcript) run(t *testing.T, chunk int) (string, []string) {
	t.Helper()
	p := &labPolicy{}
	cfg := testConfig(p)
	if tt.cfg != nil {
		tt.cfg(&cfg)
	}
	out, events, _ := run(cfg, tt.opt, tt.input, chunk)
	want := lines(append([]string{greeting}, tt.want...)...)
	if out != want {
		t.Errorf("chunks of %d:\ngot:\n%s\nwant:\n%s", chunk, out, want)
	}
	if tt.check != nil {
		if msg := tt.check(p); msg != "" {
			t.Errorf("chunks of %d: %s", chunk, msg)
		}
	}
	return out, events
}

func cramDigest(challenge string) string {
	mac := hmac.New(md5.New, []byte("secret"))
	mac.Write([]byte(challenge))
	return hex.EncodeToString(mac.Sum(nil))
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func queued(n int) func(*labPolicy) string {
	return func(p *labPolicy) string {
		if p.queued != n {
			return "the policy queued " + string(rune('0'+p.queued)) + " messages"
		}
		return ""
	}
}

func submission(c *Config) { c.Role = RoleSubmissions }

var transcripts = []transcript{
	// A whole session and every simple verb.
	{name: "plain session", input: startData + "Subject: hi\r\n\r\nHello Bob.\r\n..dot\r\n.\r\nQUIT\r\n",
		want: cat(okEnvelope(), one(nullMsg, "250 2.0.0 Ok: queued as Q1", "221 2.0.0 Bye")),
		check: func(p *labPolicy) string {
			if len(p.msgs) != 1 || p.msgs[0] != "Subject: hi\r\n\r\nHello Bob.\r\n.dot\r\n" {
				return "message = " + strings.Join(p.msgs, "|")
			}
			return ""
		}},
	// RFC 2034 §4: a server that supports enhanced status codes attaches
	// them "regardless of whether or not EHLO is employed by the client";
	// only the greeting and the replies to HELO and EHLO go without (§3).
	{name: "a HELO session has enhanced codes too", input: "HELO client.example.com\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\nHi\r\n.\r\nVRFY bob\r\nFOO\r\nQUIT\r\n",
		want: one("250 mx.example.org", "250 2.1.0 Ok", "250 2.1.5 Ok", nullMsg, "250 2.0.0 Ok: queued as Q1",
			"252 2.5.0 Cannot VRFY user, but will accept message and attempt delivery", "500 5.5.1 Error: command not recognized", "221 2.0.0 Bye")},
	{name: "HELO after EHLO keeps enhanced codes", input: "EHLO a.example\r\nNOOP\r\nHELO a.example\r\nNOOP\r\n",
		want: cat(ehlo(), one("250 2.0.0 Ok", "250 mx.example.org", "250 2.0.0 Ok"))},
	{name: "noop rset vrfy expn help", input: "EHLO a.example\r\nNOOP anything\r\nRSET\r\nVRFY bob\r\nEXPN staff\r\nHELP\r\n",
		want: cat(ehlo(), one("250 2.0.0 Ok", "250 2.0.0 Ok", "252 2.5.0 Cannot VRFY user, but will accept message and attempt delivery",
			"502 5.5.1 Error: EXPN is disabled",
			"214-2.0.0 Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY EXPN HELP",
			"214-2.0.0 A mail transaction is MAIL FROM:<sender>, RCPT TO:<recipient> (once per recipient), DATA",
			"214 2.0.0 See RFC 5321 section 4.1 for what each command does"))},
	{name: "lower case verbs", input: "ehlo a.example\r\nmail from:<a@example.com>\r\nrcpt to:<bob@example.org>\r\nquit\r\n",
		want: cat(okEnvelope(), one("221 2.0.0 Bye"))},
	{name: "input after QUIT is ignored", input: "QUIT\r\nNOOP\r\n", want: one("221 2.0.0 Bye")},

	// Sequencing, RFC 5321 §4.3.2 and §3.3.
	{name: "MAIL RCPT DATA before HELO", input: "MAIL FROM:<a@example.com>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\nBDAT 3 LAST\r\nabc",
		want: one("503 5.5.1 Error: send HELO/EHLO first", "503 5.5.1 Error: need MAIL command", "503 5.5.1 Error: need MAIL command", "503 5.5.1 Error: need MAIL command")},
	{name: "nested MAIL and DATA without RCPT", input: "EHLO a.example\r\nRCPT TO:<bob@example.org>\r\nMAIL FROM:<a@example.com>\r\nMAIL FROM:<a@example.com>\r\nDATA\r\nRSET\r\nRCPT TO:<bob@example.org>\r\n",
		want: cat(ehlo(), one("503 5.5.1 Error: need MAIL command", "250 2.1.0 Ok", "503 5.5.1 Error: nested MAIL command",
			"503 5.5.1 Error: need RCPT command", "250 2.0.0 Ok", "503 5.5.1 Error: need MAIL command"))},
	{name: "no valid recipients", input: "EHLO a.example\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<nobody@example.org>\r\nDATA\r\n",
		want: cat(ehlo(), one("250 2.1.0 Ok", "550 5.1.1 <nobody@example.org>: Recipient address rejected: User unknown", "554 5.5.1 Error: no valid recipients"))},
	{name: "EHLO ends the transaction", input: envelope + "EHLO a.example\r\nDATA\r\n",
		want: cat(okEnvelope(), ehlo(), one("503 5.5.1 Error: need MAIL command"))},

	// 500, 501, 502, 504.
	{name: "unrecognized and unimplemented", input: "EHLO a.example\r\nFOO bar\r\nTURN\r\nM4IL FROM:<a@b.example>\r\n\r\n",
		want: cat(ehlo(), one("500 5.5.1 Error: command not recognized", "502 5.5.1 Error: command not implemented",
			"500 5.5.2 Error: bad syntax, a command is a verb of letters and its arguments",
			"500 5.5.2 Error: bad syntax, a command is a verb of letters and its arguments"))},
	{name: "syntax errors", cfg: func(c *Config) { c.Limits.MaxErrors = 20 }, input: "EHLO\r\nEHLO bad..example\r\nEHLO a b\r\nEHLO [192.0.2.1]\r\nMAIL TO:<a@example.com>\r\nMAIL FROM:<alice>\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:bob@example.org\r\nDATA now\r\nRSET x\r\nVRFY\r\nQUIT now\r\n",
		want: cat(one("501 5.5.4 Syntax: EHLO hostname", "501 5.5.2 Invalid hostname: a domain may not have an empty label (two dots, or a dot at an end)",
			"501 5.5.4 Syntax: EHLO hostname"), ehlo(), one("501 5.5.4 Syntax: MAIL FROM:<address>",
			"501 5.1.7 Bad sender address syntax: the '@' and a domain are missing", "250 2.1.0 Ok",
			"501 5.1.3 Bad recipient address syntax: an address must be written inside angle brackets, like <bob@example.org>",
			"501 5.5.4 Syntax error: this command takes no argument", "501 5.5.4 Syntax error: this command takes no argument",
			"501 5.5.4 Syntax: VRFY address", "501 5.5.4 Syntax error: this command takes no argument"))},
	{name: "trailing white space ends no command line (RFC 5321 §4.1.1), and stays in message text",
		input: "EHLO client.example.com \r\nMAIL FROM:<alice@example.com> \r\nRCPT TO:<bob@example.org>\t\r\nBDAT 10 LAST \r\nQUIT\r\nNOOP" +
			"RSET  \r\nNOOP\t\r\nMAIL FROM:<alice@example.com>\r\nRCPT TO:<bob@example.org>\r\nDATA \t\r\nhi \t\r\n.\r\nQUIT  \r\n",
		want: cat(okEnvelope(), one("250 2.0.0 Ok: queued as Q1", "250 2.0.0 Ok", "250 2.0.0 Ok", "250 2.1.0 Ok", "250 2.1.5 Ok",
			nullMsg, "250 2.0.0 Ok: queued as Q2", "221 2.0.0 Bye")),
		check: func(p *labPolicy) string {
			if len(p.msgs) != 2 || p.msgs[0] != "QUIT\r\nNOOP" || p.msgs[1] != "hi \t\r\n" {
				return fmt.Sprintf("messages = %q", p.msgs)
			}
			return ""
		}},
	{name: "trailing white space after STARTTLS", opt: SessionOptions{TLSAvailable: true}, input: "EHLO a.example\r\nSTARTTLS \t \r\n",
		want: cat(ehlo("250-STARTTLS"), one("220 2.0.0 Ready to start TLS"))},
	{name: "a HELO or EHLO name in UTF-8 is refused: RFC 6531 §3.7.1 asks for its A-label",
		input: "EHLO bücher.example\r\nHELO bücher.example\r\nEHLO xn--bcher-kva.example\r\nEHLO bücher.example\r\nMAIL FROM:<a@example.com>\r\n",
		want: cat(one("501 5.5.4 Invalid hostname: a name that is not ASCII must be sent in its A-label form, xn--... (RFC 6531 section 3.7.1)",
			"501 5.5.4 Invalid hostname: a name that is not ASCII must be sent in its A-label form, xn--... (RFC 6531 section 3.7.1)"), ehlo(),
			one("501 5.5.4 Invalid hostname: a name that is not ASCII must be sent in its A-label form, xn--... (RFC 6531 section 3.7.1)", "250 2.1.0 Ok"))},
	{name: "bad address literal in HELO", input: "HELO [300.1.1.1]\r\n", want: one("501 5.5.2 Invalid hostname: not a valid IPv4 address literal")},

	// Extensions and their parameters.
	{name: "SIZE over the limit at MAIL", input: "EHLO a.example\r\nMAIL FROM:<a@example.com> SIZE=10485761\r\nMAIL FROM:<a@example.com> SIZE=10485760\r\n",
		want: cat(ehlo(), one("552 5.3.4 Message size exceeds fixed maximum message size", "250 2.1.0 Ok"))},
	{name: "bad and unknown parameters", cfg: func(c *Config) { c.Limits.MaxErrors = 20 }, input: "EHLO a.example\r\nMAIL FROM:<a@example.com> SIZE=ten\r\nMAIL FROM:<a@example.com> SIZE\r\nMAIL FROM:<a@example.com> FOO=1\r\nMAIL FROM:<a@example.com> BODY=9BIT\r\nMAIL FROM:<a@example.com> RET=ALL\r\nMAIL FROM:<a@example.com> SMTPUTF8=yes\r\nMAIL FROM:<a@example.com> ENVID=a+zz\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<bob@example.org> NOTIFY=NEVER,DELAY\r\nRCPT TO:<bob@example.org> ORCPT=bob@example.org\r\nRCPT TO:<bob@example.org> XFOO=1\r\n",
		want: cat(ehlo(), one("501 5.5.4 Bad SIZE syntax: a number of octets is expected", "501 5.5.4 Error: SIZE needs a value",
			"555 5.5.4 Unsupported option: FOO", "501 5.5.4 Unsupported BODY type: 7BIT or 8BITMIME", "501 5.5.4 Bad RET value: FULL or HDRS",
			"501 5.5.4 Error: SMTPUTF8 takes no value", "501 5.5.4 Bad ENVID value: xtext of at most 100 printable characters", "250 2.1.0 Ok",
			"501 5.5.4 Bad NOTIFY value: NEVER, or a list of SUCCESS, FAILURE, DELAY",
			"501 5.5.4 Bad ORCPT value: addr-type;xtext expected, like rfc822;bob@example.org", "555 5.5.4 Unsupported option: XFOO"))},
	{name: "BODY=BINARYMIME, a value of an extension this server does not offer, is not implemented here (RFC 5321 §4.1.1.11, RFC 3030 §3); a value no extension defines is bad syntax",
		input: "EHLO a.example\r\nMAIL FROM:<a@example.com> BODY=BINARYMIME\r\nMAIL FROM:<a@example.com> BODY=binarymime\r\nMAIL FROM:<a@example.com> BODY=9BIT\r\nMAIL FROM:<a@example.com> BODY=8bitmime\r\n",
		want: cat(ehlo(), one("555 5.5.4 Unsupported option: BODY=BINARYMIME, this server offers no BINARYMIME",
			"555 5.5.4 Unsupported option: BODY=BINARYMIME, this server offers no BINARYMIME",
			"501 5.5.4 Unsupported BODY type: 7BIT or 8BITMIME", "250 2.1.0 Ok"))},
	{name: "NOTIFY is a list without empty items (RFC 3461 §4.1)",
		input: "EHLO a.example\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<bob@example.org> NOTIFY=SUCCESS,\r\nRCPT TO:<bob@example.org> NOTIFY=,FAILURE\r\n" +
			"RCPT TO:<bob@example.org> NOTIFY=SUCCESS,,FAILURE\r\nRCPT TO:<bob@example.org> NOTIFY=success,Delay\r\n",
		want: cat(ehlo(), one("250 2.1.0 Ok", "501 5.5.4 Bad NOTIFY value: NEVER, or a list of SUCCESS, FAILURE, DELAY",
			"501 5.5.4 Bad NOTIFY value: NEVER, or a list of SUCCESS, FAILURE, DELAY",
			"501 5.5.4 Bad NOTIFY value: NEVER, or a list of SUCCESS, FAILURE, DELAY", "250 2.1.5 Ok"))},
	{name: "DSN values a report could not carry", input: "EHLO a.example\r\nMAIL FROM:<a@example.com> ENVID=a+0D+0AX-Evil:1\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<bob@example.org> ORCPT=rfc822;bob+0A@example.org\r\nRCPT TO:<bob@example.org> ORCPT=rfc(822);bob@example.org\r\nRCPT TO:<bob@example.org> ORCPT=utf-8;bob@example.org\r\n",
		want: cat(ehlo(), one("501 5.5.4 Bad ENVID value: xtext of at most 100 printable characters", "250 2.1.0 Ok",
			"501 5.5.4 Bad ORCPT value: addr-type;xtext expected, like rfc822;bob@example.org",
			"501 5.5.4 Bad ORCPT value: addr-type;xtext expected, like rfc822;bob@example.org", "250 2.1.5 Ok"))},
	{name: "NoDSN hides DSN and refuses its parameters", cfg: func(c *Config) { c.NoDSN = true },
		input: "EHLO a.example\r\nMAIL FROM:<a@example.com> RET=FULL\r\nMAIL FROM:<a@example.com> ENVID=x\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<bob@example.org> NOTIFY=NEVER\r\nRCPT TO:<bob@example.org> ORCPT=rfc822;bob@example.org\r\nRCPT TO:<bob@example.org>\r\n",
		want: cat(ehlo()[:len(ehlo())-2], one("250 CHUNKING"), one("555 5.5.4 Unsupported option: RET", "555 5.5.4 Unsupported option: ENVID", "250 2.1.0 Ok",
			"555 5.5.4 Unsupported option: NOTIFY", "555 5.5.4 Unsupported option: ORCPT", "250 2.1.5 Ok"))},
	{name: "parameters and BDAT need EHLO", input: "HELO a.example\r\nMAIL FROM:<a@example.com> SIZE=10\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<bob@example.org>\r\nBDAT 4 LAST\r\nQUITNOOP\r\n",
		want: one("250 mx.example.org", "555 5.5.4 Error: parameters need EHLO, not HELO", "250 2.1.0 Ok", "250 2.1.5 Ok", "503 5.5.1 Error: send EHLO first", "250 2.0.0 Ok")},
	{name: "DSN, 8BITMIME and SIZE pass into the envelope",
		input: "EHLO a.example\r\nMAIL FROM:<a@example.com> SIZE=4 BODY=8bitmime RET=HDRS ENVID=id+2B1\r\nRCPT TO:<bob@example.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;bob+40example.org\r\nRCPT TO:<carol@example.org> NOTIFY=NEVER\r\nDATA\r\nx\r\n.\r\n",
		want:  cat(ehlo(), one("250 2.1.0 Ok", "250 2.1.5 Ok", "250 2.1.5 Ok", nullMsg, "250 2.0.0 Ok: queued as Q1"))},
	{name: "SMTPUTF8 allows UTF-8 addresses", input: "EHLO a.example\r\nMAIL FROM:<jösé@example.com>\r\nMAIL FROM:<jösé@example.com> SMTPUTF8\r\nRCPT TO:<bøb@example.org>\r\n",
		want: cat(ehlo(), one("550 5.6.7 non-ASCII characters in an address need the SMTPUTF8 parameter on MAIL FROM (RFC 6531 section 3.4)", "250 2.1.0 Ok", "250 2.1.5 Ok"))},
	{name: "UTF-8 needs the SMTPUTF8 parameter itself, not the word anywhere",
		input: "EHLO a.example\r\nMAIL FROM:<smtputf8.jösé@example.com>\r\nMAIL FROM:<a@example.com> ENVID=SMTPUTF8é\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<bøb@example.org>\r\n",
		want: cat(ehlo(), one("550 5.6.7 non-ASCII characters in an address need the SMTPUTF8 parameter on MAIL FROM (RFC 6531 section 3.4)",
			"501 5.5.4 Bad parameter ENVID=SMTPUTF8??: byte 0xc3 is not allowed in a parameter value", "250 2.1.0 Ok",
			"553 5.6.7 non-ASCII characters in an address need the SMTPUTF8 parameter on MAIL FROM (RFC 6531 section 3.4)"))},
	{name: "the bare <Postmaster> is a recipient, never a sender",
		input: "EHLO a.example\r\nMAIL FROM:<Postmaster>\r\nMAIL FROM:<>\r\nRCPT TO:<Postmaster>\r\n",
		want:  cat(ehlo(), one("501 5.1.7 Bad sender address syntax: a sender address needs a domain; the bare <Postmaster> is only a recipient", "250 2.1.0 Ok", "250 2.1.5 Ok"))},
	{name: "an unknown parameter gets 555, with a value or without",
		input: "EHLO a.example\r\nMAIL FROM:<a@example.com> XFOO\r\nMAIL FROM:<a@example.com> XFOO=1\r\nMAIL FROM:<a@example.com> SIZE\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<bob@example.org> XFOO\r\n",
		want:  cat(ehlo(), one("555 5.5.4 Unsupported option: XFOO", "555 5.5.4 Unsupported option: XFOO", "501 5.5.4 Error: SIZE needs a value", "250 2.1.0 Ok", "555 5.5.4 Unsupported option: XFOO"))},
	{name: "SIZE of 20 digits is too big, not bad syntax (RFC 1870 size-value = 1*20DIGIT)",
		input: "EHLO a.example\r\nMAIL FROM:<a@example.com> SIZE=99999999999999999999\r\nMAIL FROM:<a@example.com> SIZE=999999999999999999999\r\n",
		want:  cat(ehlo(), one("552 5.3.4 Message size exceeds fixed maximum message size", "501 5.5.4 Bad SIZE syntax: a number of octets is expected"))},

	// Limits.
	{name: "too many recipients", cfg: func(c *Config) { c.Limits.Recipients = 2 },
		input: envelope + "RCPT TO:<carol@example.org>\r\nRCPT TO:<dave@example.org>\r\n",
		want:  cat(okEnvelope(), one("250 2.1.5 Ok", "452 4.5.3 Error: too many recipients"))},
	{name: "too many errors", cfg: func(c *Config) { c.Limits.MaxErrors = 3 },
		input: "EHLO a.example\r\nFOO\r\nRCPT TO:<a@example.org>\r\nBAR\r\nNOOP\r\n",
		want: cat(ehlo(), one("500 5.5.1 Error: command not recognized", "503 5.5.1 Error: need MAIL command",
			"500 5.5.1 Error: command not recognized", "421 4.7.0 mx.example.org Error: too many errors"))},
	{name: "refused recipients count as errors, so guessing addresses ends with 421 (Postfix: smtpd_hard_error_limit)",
		cfg:   func(c *Config) { c.Limits.MaxErrors = 3 },
		input: envelope + "RCPT TO:<grey@example.org>\r\nRCPT TO:<full@example.org>\r\nRCPT TO:<grey@example.org>\r\nRCPT TO:<nobody@example.org>\r\nRCPT TO:<x@elsewhere.example>\r\nRCPT TO:<grey@example.org>\r\nRCPT TO:<nobody@example.org>\r\nNOOP\r\n",
		want: cat(okEnvelope(), one("451 4.7.1 Greylisted, try again later", "452 4.2.2 Mailbox full", "451 4.7.1 Greylisted, try again later",
			"550 5.1.1 <nobody@example.org>: Recipient address rejected: User unknown", "554 5.7.1 <x@elsewhere.example>: Relay access denied",
			"451 4.7.1 Greylisted, try again later", "550 5.1.1 <nobody@example.org>: Recipient address rejected: User unknown",
			"421 4.7.0 mx.example.org Error: too many errors"))},
	{name: "commands that move no mail count as errors past Limits.MaxJunk (Postfix: smtpd_junk_command_limit)",
		cfg:   func(c *Config) { c.Limits.MaxJunk, c.Limits.MaxErrors = 3, 2 },
		input: "EHLO a.example\r\nNOOP\r\nRSET\r\nVRFY bob@example.org\r\nEXPN staff\r\nNOOP\r\nNOOP\r\n",
		want: cat(ehlo(), one("250 2.0.0 Ok", "250 2.0.0 Ok", "252 2.5.0 Cannot VRFY user, but will accept message and attempt delivery",
			"502 5.5.1 Error: EXPN is disabled", "250 2.0.0 Ok", "421 4.7.0 mx.example.org Error: too many errors"))},
	{name: "a message accepted starts the count of commands that move no mail again",
		cfg:   func(c *Config) { c.Limits.MaxJunk, c.Limits.MaxErrors = 2, 1 },
		input: "EHLO a.example\r\nNOOP\r\nNOOP\r\nMAIL FROM:<alice@example.com>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\nhi\r\n.\r\nNOOP\r\nNOOP\r\nNOOP\r\n",
		want: cat(ehlo(), one("250 2.0.0 Ok", "250 2.0.0 Ok", "250 2.1.0 Ok", "250 2.1.5 Ok", nullMsg, "250 2.0.0 Ok: queued as Q1",
			"250 2.0.0 Ok", "250 2.0.0 Ok", "250 2.0.0 Ok", "421 4.7.0 mx.example.org Error: too many errors"))},
	{name: "a message accepted forgives the errors before it, as Postfix's smtpd does",
		cfg:   func(c *Config) { c.Limits.MaxErrors = 3 },
		input: "EHLO a.example\r\n" + strings.Repeat("MAIL FROM:<a@example.com>\r\nRCPT TO:<nobody@example.org>\r\nRCPT TO:<nobody@example.org>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\nhi\r\n.\r\n", 3),
		want: cat(ehlo(), one("250 2.1.0 Ok", rcptUnknown, rcptUnknown, "250 2.1.5 Ok", nullMsg, "250 2.0.0 Ok: queued as Q1"),
			one("250 2.1.0 Ok", rcptUnknown, rcptUnknown, "250 2.1.5 Ok", nullMsg, "250 2.0.0 Ok: queued as Q2"),
			one("250 2.1.0 Ok", rcptUnknown, rcptUnknown, "250 2.1.5 Ok", nullMsg, "250 2.0.0 Ok: queued as Q3")),
		check: queued(3)},
	{name: "a sender or a HELO name the policy refuses for good counts as an error too",
		cfg:   func(c *Config) { c.Limits.MaxErrors = 3 },
		input: "EHLO spammer.example\r\nEHLO a.example\r\nMAIL FROM:<a@blocked.example>\r\nMAIL FROM:<b@blocked.example>\r\nNOOP\r\n",
		want:  cat(one("550 5.7.1 Go away"), ehlo(), one("550 5.7.1 Sender blocked", "550 5.7.1 Sender blocked", "421 4.7.0 mx.example.org Error: too many errors"))},
	// A web request to the mail port (Postfix: smtpd_forbidden_commands):
	// hung up on at its first line, so that none of the lines after it,
	// headers or a body a web page wrote, is read as a command.
	{name: "an HTTP request is hung up on at once", input: "POST / HTTP/1.1\r\nHost: mx.example.org:25\r\nContent-Type: text/plain\r\n\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<bob@example.org>\r\n",
		want: one("221 2.7.0 Error: this is a mail server, not a web server. Goodbye")},
	{name: "GET and CONNECT, in any case, in the middle of a session", input: "EHLO a.example\r\nget / HTTP/1.0\r\nNOOP\r\n",
		want: cat(ehlo(), one("221 2.7.0 Error: this is a mail server, not a web server. Goodbye"))},
	{name: "CONNECT after a transaction began", input: envelope + "CONNECT mx.example.org:443 HTTP/1.1\r\nDATA\r\n",
		want: cat(okEnvelope(), one("221 2.7.0 Error: this is a mail server, not a web server. Goodbye"))},
	{name: "command line too long", input: "EHLO a.example\r\n" + strings.Repeat("X", 600) + "\r\nMAIL FROM:<" + strings.Repeat("a", 1200) + "@example.com>\r\nNOOP\r\n",
		want: cat(ehlo(), one("500 5.5.2 Error: line too long", "500 5.5.2 Error: line too long", "250 2.0.0 Ok"))},
	{name: "message too big, stream stays in sync", cfg: func(c *Config) { c.Limits.MessageSize = 20 },
		input: startData + "0123456789\r\n0123456789\r\n.\r\nNOOP\r\n",
		want:  cat(withSize(okEnvelope(), 20), one(nullMsg, "552 5.3.4 Error: message file too big", "250 2.0.0 Ok")),
		check: queued(0)},
	{name: "message line too long", input: startData + strings.Repeat("x", 2000) + "\r\n.\r\nNOOP\r\n",
		want: cat(okEnvelope(), one(nullMsg, "500 5.6.0 Error: message has a line longer than 1000 octets", "250 2.0.0 Ok")), check: queued(0)},
	{name: "the 1000-octet text limit does not count a doubled leading dot (RFC 5321 §4.5.3.1.6)",
		input: startData + ".." + strings.Repeat("x", 997) + "\r\n.\r\n",
		want:  cat(okEnvelope(), one(nullMsg, "250 2.0.0 Ok: queued as Q1")), check: queued(1)},
	{name: "999 octets of text and CRLF are one too many",
		input: startData + strings.Repeat("x", 999) + "\r\n.\r\n",
		want:  cat(okEnvelope(), one(nullMsg, "500 5.6.0 Error: message has a line longer than 1000 octets")), check: queued(0)},
	{name: "DSN parameters may make RCPT longer than 512 octets (RFC 3461 §5), not other commands",
		input: envelope + "RCPT TO:<carol@example.org> NOTIFY=SUCCESS,FAILURE,DELAY ORCPT=rfc822;" + strings.Repeat("+2B", 150) + "\r\n" +
			"NOOP " + strings.Repeat("x", 520) + "\r\n",
		want: cat(okEnvelope(), one("250 2.1.5 Ok", "500 5.5.2 Error: line too long"))},
	{name: "a reply that echoes a long parameter stays within 512 octets",
		input: "EHLO a.example\r\nMAIL FROM:<a@example.com> X=" + strings.Repeat("v", 600) + "=\r\n",
		want:  cat(ehlo(), one("501 5.5.4 Bad parameter X="+strings.Repeat("v", 481)+"..."))},
	{name: "NUL bytes", input: "EHLO a.example\r\nNO\x00OP\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\na\x00b\r\n.\r\n",
		want: cat(ehlo(), one("500 5.5.2 Error: NUL character in command line", "250 2.1.0 Ok", "250 2.1.5 Ok", nullMsg,
			"550 5.6.0 Error: message contains a NUL character")), check: queued(0)},

	// Policy answers.
	{name: "policy refusals", input: "EHLO spammer.example\r\nEHLO a.example\r\nMAIL FROM:<x@blocked.example>\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<x@elsewhere.example>\r\nRCPT TO:<grey@example.org>\r\nRCPT TO:<full@example.org>\r\nRCPT TO:<Postmaster>\r\nDATA\r\nGTUBE\r\n.\r\n",
		want: cat(one("550 5.7.1 Go away"), ehlo(), one("550 5.7.1 Sender blocked", "250 2.1.0 Ok", "554 5.7.1 <x@elsewhere.example>: Relay access denied",
			"451 4.7.1 Greylisted, try again later", "452 4.2.2 Mailbox full", "250 2.1.5 Ok", nullMsg, "554 5.7.1 Spam detected")),
		check: queued(0)},

	// The 2023 SMTP smuggling attack: only CRLF.CRLF ends a message.
	smuggle("\n.\n", "LF"), smuggle("\r.\r", "CR"), smuggle("\r\n.\n", "LF"), smuggle("\n.\r\n", "LF"),
	smuggle("\r.\r\n", "CR"), smuggle("\r\n.\r", "CR"), smuggle("\n.\r", "LF"), smuggle("\r.\n", "LF"),
	smuggle("\r\n\x00.\r\n", "NUL"), smuggle("\r\n..\r\n", "text"), smuggle("\r\n .\r\n", "text"),
	{name: "bare LF in a command line", input: "EHLO a.example\nNOOP\r\n", want: one("550 5.5.2 Error: bare <LF> received")},
	{name: "bare CR in a command line", input: "EHLO a.example\r\nNO\rOP\r\n", want: cat(ehlo(), one("550 5.5.2 Error: bare <CR> received"))},
	{name: "bare LF at the end of an overlong line", input: startData + strings.Repeat("x", 1500) + "\n.\r\nMAIL FROM:<evil@example.com>\r\n",
		want: cat(okEnvelope(), one(nullMsg, "550 5.5.2 Error: bare <LF> received")), check: queued(0)},

	// STARTTLS refusals (the handshake itself is in TestStartTLS).
	{name: "STARTTLS not available", input: "EHLO a.example\r\nSTARTTLS\r\n", want: cat(ehlo(), one("502 5.5.1 Error: STARTTLS is not available here"))},
	{name: "STARTTLS needs EHLO", opt: SessionOptions{TLSAvailable: true}, input: "STARTTLS\r\nHELO a.example\r\nSTARTTLS\r\nEHLO a.example\r\nSTARTTLS now\r\nMAIL FROM:<a@example.com>\r\nSTARTTLS\r\n",
		want: cat(one("503 5.5.1 Error: send EHLO first", "250 mx.example.org", "503 5.5.1 Error: send EHLO first"), ehlo("250-STARTTLS"),
			one("501 5.5.4 Syntax error: this command takes no argument", "250 2.1.0 Ok", "503 5.5.1 Error: MAIL transaction in progress"))},

	// AUTH (RFC 4954) on a submission server with implicit TLS.
	{name: "AUTH PLAIN with initial response", cfg: submission, opt: SessionOptions{TLS: true},
		input: "EHLO a.example\r\nMAIL FROM:<alice@example.org>\r\nAUTH PLAIN " + b64("\x00alice\x00wrong") + "\r\nAUTH PLAIN " + b64("\x00alice\x00secret") + "\r\nAUTH PLAIN " + b64("\x00alice\x00secret") + "\r\nMAIL FROM:<alice@example.org>\r\nAUTH LOGIN\r\nRCPT TO:<friend@elsewhere.example>\r\n",
		want: cat(ehlo("250-AUTH PLAIN LOGIN"), one("530 5.7.0 Authentication required", "535 5.7.8 Authentication credentials invalid",
			"235 2.7.0 Authentication successful", "503 5.5.1 Error: already authenticated", "250 2.1.0 Ok", "503 5.5.1 Error: already authenticated", "250 2.1.5 Ok"))},
	{name: "AUTH= is a MAIL parameter only where AUTH is offered (RFC 4954 §5)", cfg: submission, opt: SessionOptions{TLS: true},
		input: "EHLO a.example\r\nAUTH PLAIN " + b64("\x00alice\x00secret") + "\r\nMAIL FROM:<alice@example.org> AUTH=<>\r\n",
		want:  cat(ehlo("250-AUTH PLAIN LOGIN"), one("235 2.7.0 Authentication successful", "250 2.1.0 Ok"))},
	{name: "AUTH= where AUTH is not offered is an unknown parameter",
		input: "EHLO a.example\r\nMAIL FROM:<a@example.com> AUTH=<>\r\n",
		want:  cat(ehlo(), one("555 5.5.4 Unsupported option: AUTH"))},
	{name: "AUTH PLAIN with an initial response and trailing white space", cfg: submission, opt: SessionOptions{TLS: true},
		input: "EHLO a.example\r\nAUTH PLAIN " + b64("\x00alice\x00secret") + " \r\n",
		want:  cat(ehlo("250-AUTH PLAIN LOGIN"), one("235 2.7.0 Authentication successful"))},
	{name: "AUTH PLAIN after an empty challenge", cfg: submission, opt: SessionOptions{TLS: true},
		input: "EHLO a.example\r\nAUTH PLAIN\r\n" + b64("\x00alice\x00secret") + "\r\n",
		want:  cat(ehlo("250-AUTH PLAIN LOGIN"), one("334 ", "235 2.7.0 Authentication successful"))},
	{name: "AUTH LOGIN", cfg: submission, opt: SessionOptions{TLS: true},
		input: "EHLO a.example\r\nAUTH LOGIN\r\n" + b64("alice") + "\r\n" + b64("secret") + "\r\nQUIT\r\n",
		want:  cat(ehlo("250-AUTH PLAIN LOGIN"), one("334 VXNlcm5hbWU6", "334 UGFzc3dvcmQ6", "235 2.7.0 Authentication successful", "221 2.0.0 Bye"))},
	{name: "AUTH LOGIN with the user name as initial response", cfg: submission, opt: SessionOptions{TLS: true},
		input: "EHLO a.example\r\nAUTH LOGIN " + b64("alice") + "\r\n" + b64("nope") + "\r\n",
		want:  cat(ehlo("250-AUTH PLAIN LOGIN"), one("334 UGFzc3dvcmQ6", "535 5.7.8 Authentication credentials invalid"))},
	{name: "AUTH CRAM-MD5", cfg: submission, opt: SessionOptions{TLS: true, Nonce: "1234.5678"},
		input: "EHLO a.example\r\nAUTH CRAM-MD5\r\n" + b64("alice "+cramDigest("<1234.5678@mx.example.org>")) + "\r\n",
		want:  cat(ehlo("250-AUTH PLAIN LOGIN CRAM-MD5"), one("334 "+b64("<1234.5678@mx.example.org>"), "235 2.7.0 Authentication successful"))},
	{name: "AUTH CRAM-MD5 wrong digest", cfg: submission, opt: SessionOptions{TLS: true, Nonce: "1"},
		input: "EHLO a.example\r\nAUTH CRAM-MD5\r\n" + b64("alice "+cramDigest("<2@mx.example.org>")) + "\r\n",
		want:  cat(ehlo("250-AUTH PLAIN LOGIN CRAM-MD5"), one("334 "+b64("<1@mx.example.org>"), "535 5.7.8 Authentication credentials invalid"))},
	{name: "AUTH cancelled, undecodable, unknown, a PLAIN text without its NULs", cfg: submission, opt: SessionOptions{TLS: true},
		input: "AUTH PLAIN\r\nEHLO a.example\r\nAUTH PLAIN\r\n*\r\nAUTH LOGIN\r\n!!!\r\nAUTH GSSAPI\r\nAUTH CRAM-MD5\r\nAUTH\r\nAUTH PLAIN " + b64("no-nuls") + "\r\n",
		want: cat(one("503 5.5.1 Error: send EHLO first"), ehlo("250-AUTH PLAIN LOGIN"), one("334 ", "501 5.7.0 Authentication cancelled", "334 VXNlcm5hbWU6",
			"501 5.5.2 Cannot decode response", "504 5.5.4 Unrecognized authentication type", "504 5.5.4 Unrecognized authentication type",
			"501 5.5.4 Syntax: AUTH mechanism [initial-response]",
			"535 5.7.8 Authentication failed: PLAIN takes an authorization identity, a user name and a password, separated by NUL bytes (RFC 4616 section 2)"))},
	{name: "AUTH response too long", cfg: submission, opt: SessionOptions{TLS: true},
		input: "EHLO a.example\r\nAUTH PLAIN\r\n" + strings.Repeat("A", 13000) + "\r\nNOOP\r\n",
		want:  cat(ehlo("250-AUTH PLAIN LOGIN"), one("334 ", "500 5.5.6 Authentication exchange line is too long", "250 2.0.0 Ok"))},
	{name: "AUTH before TLS on submission", cfg: func(c *Config) { c.Role = RoleSubmission }, opt: SessionOptions{TLSAvailable: true},
		input: "EHLO a.example\r\nAUTH PLAIN " + b64("\x00alice\x00secret") + "\r\nMAIL FROM:<alice@example.org>\r\n",
		want:  cat(ehlo("250-STARTTLS"), one("538 5.7.11 Encryption required for requested authentication mechanism", "530 5.7.0 Must issue a STARTTLS command first"))},
	{name: "AUTH on an MX", input: "EHLO a.example\r\nAUTH PLAIN\r\n", want: cat(ehlo(), one("502 5.5.1 Error: authentication is not offered here"))},

	// CHUNKING (RFC 3030).
	{name: "BDAT", input: envelope + "BDAT 5\r\nhelloBDAT 8 LAST\r\n world\r\nQUIT\r\n",
		want: cat(okEnvelope(), one("250 2.0.0 Ok: 5 octets received", "250 2.0.0 Ok: queued as Q1", "221 2.0.0 Bye")),
		check: func(p *labPolicy) string {
			if len(p.msgs) != 1 || p.msgs[0] != "hello world\r\n" {
				return "message = " + strings.Join(p.msgs, "|")
			}
			return ""
		}},
	{name: "BDAT has no end marker", input: envelope + "BDAT 15 LAST\r\na\r\n.\r\n.\r\nQUIT\r\nNOOP\r\n",
		want: cat(okEnvelope(), one("250 2.0.0 Ok: queued as Q1", "250 2.0.0 Ok")),
		check: func(p *labPolicy) string {
			if len(p.msgs) != 1 || p.msgs[0] != "a\r\n.\r\n.\r\nQUIT\r\n" {
				return "message = " + strings.Join(p.msgs, "|")
			}
			return ""
		}},
	// Without BINARYMIME, what BDAT carries is still text with DATA's
	// rules (RFC 3030 §3, RFC 5322 §2.1): refused at the end of the last
	// chunk, with DATA's replies; the counted chunks keep the session in
	// step, so it goes on.
	{name: "BDAT text with a bare LF is refused, the session goes on", input: envelope + "BDAT 6 last\r\nhello\nNOOP\r\n",
		want: cat(okEnvelope(), one("550 5.5.2 Error: bare <LF> received", "250 2.0.0 Ok")), check: queued(0)},
	{name: "BDAT text with a bare CR is refused, even across chunks and at the end", cfg: func(c *Config) { c.Limits.MaxErrors = 3 },
		input: envelope + "BDAT 3\r\nab\rBDAT 3 LAST\r\ncd\n" +
			"MAIL FROM:<a@example.com>\r\nRCPT TO:<bob@example.org>\r\nBDAT 3\r\nab\rBDAT 2 LAST\r\nxy" +
			"MAIL FROM:<a@example.com>\r\nRCPT TO:<bob@example.org>\r\nBDAT 3\r\nab\rBDAT 0 LAST\r\n" +
			"MAIL FROM:<a@example.com>\r\nRCPT TO:<bob@example.org>\r\nBDAT 3\r\nab\rBDAT 1 LAST\r\n\nNOOP\r\n",
		want: cat(okEnvelope(), one("250 2.0.0 Ok: 3 octets received", "550 5.5.2 Error: bare <LF> received",
			"250 2.1.0 Ok", "250 2.1.5 Ok", "250 2.0.0 Ok: 3 octets received", "550 5.5.2 Error: bare <CR> received",
			"250 2.1.0 Ok", "250 2.1.5 Ok", "250 2.0.0 Ok: 3 octets received", "550 5.5.2 Error: bare <CR> received",
			"250 2.1.0 Ok", "250 2.1.5 Ok", "250 2.0.0 Ok: 3 octets received", "250 2.0.0 Ok: queued as Q1", "250 2.0.0 Ok")),
		check: func(p *labPolicy) string {
			if len(p.msgs) != 1 || p.msgs[0] != "ab\r\n" {
				return "message = " + strings.Join(p.msgs, "|")
			}
			return ""
		}},
	{name: "BDAT text with a line over 1000 octets is refused as over DATA", input: envelope +
		"BDAT 600\r\n" + strings.Repeat("x", 600) + "BDAT 401 LAST\r\n" + strings.Repeat("x", 399) + "\r\nNOOP\r\n" +
		"MAIL FROM:<a@example.com>\r\nRCPT TO:<bob@example.org>\r\nBDAT 1000 LAST\r\n" + strings.Repeat("x", 998) + "\r\n",
		want: cat(okEnvelope(), one("250 2.0.0 Ok: 600 octets received", "500 5.6.0 Error: message has a line longer than 1000 octets", "250 2.0.0 Ok",
			"250 2.1.0 Ok", "250 2.1.5 Ok", "250 2.0.0 Ok: queued as Q1")), check: queued(1)},
	{name: "BDAT text with a NUL is refused as over DATA", input: envelope + "BDAT 5 LAST\r\na\x00b\r\n",
		want: cat(okEnvelope(), one("550 5.6.0 Error: message contains a NUL character")), check: queued(0)},
	{name: "BDAT 0 LAST", input: envelope + "BDAT 3\r\nabcBDAT 0 LAST\r\n",
		want: cat(okEnvelope(), one("250 2.0.0 Ok: 3 octets received", "250 2.0.0 Ok: queued as Q1"))},
	{name: "refused BDAT still skips its octets", input: "EHLO a.example\r\nBDAT 6 LAST\r\nQUIT\r\nNOOP\r\n",
		want: cat(ehlo(), one("503 5.5.1 Error: need MAIL command", "250 2.0.0 Ok")), check: queued(0)},
	{name: "BDAT and DATA do not mix", input: envelope + "BDAT 2\r\nabDATA\r\n",
		want: cat(okEnvelope(), one("250 2.0.0 Ok: 2 octets received", "503 5.5.1 Error: DATA and BDAT cannot be mixed in one transaction"))},
	// Its chunk's end unknown, the chunk would be read as commands, and
	// its "MAIL FROM" taken for the client's.
	{name: "a BDAT whose count cannot be read ends the session, as Postfix ends it", input: envelope + "BDAT x\r\nMAIL FROM:<evil@example.com>\r\n",
		want: cat(okEnvelope(), one("521 5.5.4 Syntax: BDAT count [LAST]")), check: queued(0)},
	{name: "a BDAT whose count is readable has its chunk skipped even when the rest of the line is wrong, and its message is lost",
		input: envelope + "BDAT 5\r\nhelloBDAT 6 MORE\r\nQUIT\r\nBDAT 3 LAST\r\nabcNOOP\r\n",
		want: cat(okEnvelope(), one("250 2.0.0 Ok: 5 octets received", "501 5.5.4 Syntax: BDAT count [LAST]",
			"503 5.5.1 Error: need MAIL command", "250 2.0.0 Ok")),
		check: queued(0)},
	{name: "BDAT arguments may be apart by several spaces, as Postfix reads them",
		input: envelope + "BDAT  5\r\nhellobdat 8   last\r\n world\r\n",
		want:  cat(okEnvelope(), one("250 2.0.0 Ok: 5 octets received", "250 2.0.0 Ok: queued as Q1")), check: queued(1)},
	{name: "no RCPT once BDAT has started the message (RFC 3030 §2, RFC 5321 §3.3)",
		input: envelope + "BDAT 5\r\nhelloRCPT TO:<carol@example.org>\r\nMAIL FROM:<a@example.com>\r\nBDAT 8 LAST\r\n world\r\n",
		want: cat(okEnvelope(), one("250 2.0.0 Ok: 5 octets received", "503 5.5.1 Error: RCPT after BDAT",
			"503 5.5.1 Error: nested MAIL command", "250 2.0.0 Ok: queued as Q1")),
		check: func(p *labPolicy) string {
			if len(p.msgs) != 1 || p.msgs[0] != "hello world\r\n" {
				return "message = " + strings.Join(p.msgs, "|")
			}
			return ""
		}},
	{name: "BDAT too big", cfg: func(c *Config) { c.Limits.MessageSize = 10 },
		input: envelope + "BDAT 8\r\n12345678BDAT 8\r\n12345678BDAT 1 LAST\r\nxNOOP\r\n",
		want:  cat(withSize(okEnvelope(), 10), one("250 2.0.0 Ok: 8 octets received", "552 5.3.4 Error: message file too big", "503 5.5.1 Error: need MAIL command", "250 2.0.0 Ok")),
		check: queued(0)},
	{name: "the chunks pipelined after a failed BDAT are not client errors",
		cfg:   func(c *Config) { c.Limits.MessageSize = 10; c.Limits.MaxErrors = 2 },
		input: envelope + "BDAT 11\r\n12345678901BDAT 1\r\nxBDAT 1\r\nxBDAT 1 LAST\r\nxNOOP\r\nBDAT 1\r\nx",
		want: cat(withSize(okEnvelope(), 10), one("552 5.3.4 Error: message file too big", "503 5.5.1 Error: need MAIL command",
			"503 5.5.1 Error: need MAIL command", "503 5.5.1 Error: need MAIL command", "250 2.0.0 Ok", "503 5.5.1 Error: need MAIL command")),
		check: queued(0)},
}

// smuggle builds the transcript of one SMTP smuggling variant: sep stands
// where the end marker would be and a second message follows. None may end
// the first message or start the second. A bare LF or CR closes the session
// with 550; a NUL or dot-stuffed line is message text, so the "second
// message" is part of the first, which is refused (NUL) or accepted whole.
func smuggle(sep, kind string) transcript {
	tt := transcript{
		name:  "smuggling " + strconv.Quote(sep),
		input: startData + "Subject: hi\r\n\r\nhello" + sep + "MAIL FROM:<evil@example.com>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\nevil\r\n.\r\n",
		check: queued(0),
	}
	switch kind {
	case "LF", "CR":
		tt.want = cat(okEnvelope(), one(nullMsg, "550 5.5.2 Error: bare <"+kind+"> received"))
	case "NUL":
		tt.want = cat(okEnvelope(), one(nullMsg, "550 5.6.0 Error: message contains a NUL character"))
	case "text":
		tt.want = cat(okEnvelope(), one(nullMsg, "250 2.0.0 Ok: queued as Q1"))
		tt.check = func(p *labPolicy) string {
			if len(p.msgs) != 1 || !strings.Contains(p.msgs[0], "MAIL FROM:<evil@example.com>\r\n") {
				return "the second message was not kept inside the first: " + strings.Join(p.msgs, "|")
			}
			return ""
		}
	}
	return tt
}

func TestTranscripts(t *testing.T) {
	for _, tt := range transcripts {
		t.Run(tt.name, func(t *testing.T) {
			_, whole := tt.run(t, 0)
			// Any chunking gives the same replies and the same events.
			for _, n := range []int{1, 2, 3, 7, 64} {
				_, events := tt.run(t, n)
				if strings.Join(events, "\n") != strings.Join(whole, "\n") {
					t.Errorf("chunks of %d: events differ:\n%s\nall at once:\n%s", n, strings.Join(events, "\n"), strings.Join(whole, "\n"))
				}
			}
		})
	}
}

func TestEveryReplyHasAReason(t *testing.T) {
	for _, tt := range transcripts {
		p := &labPolicy{}
		cfg := testConfig(p)
		if tt.cfg != nil {
			tt.cfg(&cfg)
		}
		srv := New(cfg)
		s := srv.NewSession(tt.opt)
		s.Feed([]byte(tt.input))
		for _, ev := range s.Events() {
			if ev.Kind == EventReply && (ev.Reply.Reason == "" || ev.Reply.Code == 0) {
				t.Errorf("%s: reply %+v has no reason", tt.name, ev.Reply)
			}
		}
	}
}
