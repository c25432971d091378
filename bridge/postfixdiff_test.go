package bridge

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// postfixLikeLab is the main.cf that brings Postfix as close to the lab's
// MX (mx.example.org in first-session) as Postfix's settings allow. What
// no setting can change is written down in the rows of
// TestPostfixDifferential that show it.
//
//   - smtpd_helo_required: the lab answers MAIL before HELO/EHLO with 503;
//     Postfix by default takes it.
//   - smtpd_delay_reject = no and reject_invalid_helo_hostname: the lab
//     checks the HELO name's syntax and refuses a bad one at HELO; Postfix
//     checks nothing by default, and refuses only at RCPT when delaying.
//   - strict_rfc821_envelopes: the lab wants the angle brackets of RFC 5321
//     §4.1.2 around a path; Postfix by default takes a bare address.
//   - smtpd_relay_restrictions without permit_mynetworks: 127.0.0.1 is not
//     a network the lab's MX relays for (it has no relayFrom), but it is in
//     startPostfix's mynetworks.
//   - smtpd_forbid_bare_newline = reject, for every client: the lab
//     refuses a bare LF in commands and in text (SMTP smuggling). Postfix
//     3.7.11 has the setting, off by default; "yes" only normalizes a bare
//     LF into CRLF, and the default exclusions are $mynetworks.
//   - message_size_limit, smtpd_recipient_limit: the lab's SIZE (10 MiB)
//     and 100 recipients (smtp.DefaultLimits).
//   - smtpd_hard_error_limit: the lab's MaxErrors, 10 bad commands before
//     421; the soft limit may not be above it, and no error sleep keeps the
//     test fast (the lab does not sleep either).
const postfixLikeLab = `smtpd_helo_required = yes
smtpd_delay_reject = no
smtpd_helo_restrictions = reject_invalid_helo_hostname
strict_rfc821_envelopes = yes
smtpd_relay_restrictions = reject_unauth_destination
smtpd_forbid_bare_newline = reject
smtpd_forbid_bare_newline_exclusions =
message_size_limit = 10485760
smtpd_recipient_limit = 100
smtpd_hard_error_limit = 10
smtpd_soft_error_limit = 10
smtpd_error_sleep_time = 0
`

// diffStep is one write of a session: its bytes, then how many replies the
// client waits for before it writes the next step. A step with tls set
// runs the TLS handshake instead (after a 220 to STARTTLS).
type diffStep struct {
	send    string
	replies int
	tls     bool
}

// cmd is one command line, CRLF added, that waits for its reply.
func cmd(line string) diffStep { return diffStep{send: line + "\r\n", replies: 1} }

// raw writes s exactly as it is, in one write, and waits for n replies:
// a PIPELINING group, a bare LF, a BDAT chunk.
func raw(s string, n int) diffStep { return diffStep{send: s, replies: n} }

// diffTarget is one server a row is played against.
type diffTarget struct {
	name string
	addr string
	tls  *tls.Config
}

// stepWait bounds the wait for one step's replies. Both servers answer at
// once; a server that waits for more input (a reply it will never send)
// shows as "…" after it.
const stepWait = 3 * time.Second

// play runs steps against target and returns what it answered: each reply
// as its code and, when it has one, the class and subject of its enhanced
// status code ("250 2.1", "354"), then "closed" when the server closed
// the connection, "…" where a step's replies did not come in time, all
// separated by " | ".
func play(t *testing.T, target diffTarget, steps []diffStep) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", target.addr, 5*time.Second)
	if err != nil {
		t.Fatalf("%s: %v", target.name, err)
	}
	defer func() { c.Close() }()
	var got []string
	rd := bufio.NewReader(c)
	// read reads n replies; it reports false once the server has closed.
	read := func(n int) bool {
		c.SetReadDeadline(time.Now().Add(stepWait))
		for range n {
			r, err := readReply(rd)
			var ne net.Error
			switch {
			case errors.As(err, &ne) && ne.Timeout():
				got = append(got, "…")
				return true
			case err != nil: // EOF, or a reset after the server closed
				got = append(got, "closed")
				return false
			}
			got = append(got, r)
		}
		return true
	}
	open := read(1) // the greeting
	for _, s := range steps {
		if !open {
			break
		}
		if s.tls {
			tc := tls.Client(c, target.tls)
			tc.SetDeadline(time.Now().Add(stepWait))
			if err := tc.Handshake(); err != nil {
				got = append(got, "handshake failed")
				open = false
				break
			}
			c, rd = tc, bufio.NewReader(tc)
			continue
		}
		if _, err := c.Write([]byte(s.send)); err != nil {
			// The server has closed; what it said before is still to read.
			open = read(1)
			break
		}
		open = read(s.replies)
	}
	// Every row ends with QUIT or with the server closing: read what is
	// left up to the close.
	for open {
		open = read(1)
		if got[len(got)-1] == "…" {
			break
		}
	}
	return strings.Join(got, " | ")
}

// enhanced matches an enhanced status code at the start of a reply's text
// (RFC 3463 §2), keeping its class and subject.
var enhanced = regexp.MustCompile(`^([245]\.\d{1,3})\.\d{1,3}(?: |$)`)

// readReply reads one reply, all its lines, and returns it as play
// writes it: the code, and the class and subject of the enhanced code of
// its last line.
func readReply(rd *bufio.Reader) (string, error) {
	for {
		line, err := rd.ReadString('\n')
		if err != nil {
			return "", err
		}
		line = strings.TrimRight(line, "\r\n")
		if len(line) < 3 {
			return "not a reply: " + strconv.Quote(line), nil
		}
		if len(line) > 3 && line[3] == '-' {
			continue
		}
		out := line[:3]
		if m := enhanced.FindStringSubmatch(strings.TrimPrefix(line[3:], " ")); m != nil {
			out += " " + m[1]
		}
		return out, nil
	}
}

// TestPostfixDifferential plays the same sessions, byte for byte, against
// a private Postfix set up like the lab's MX (postfixLikeLab) and against
// the bridge's port 25 (mx.example.org: example.org with bob and carol),
// and compares the replies: their codes and the class and subject of
// their enhanced status codes, and where each server closed.
//
// want is what both answer. Where they differ, postfix is what Postfix
// answers and why says why the lab answers otherwise: a Postfix setting
// or habit, or a choice of the lab with the RFC that backs it. Both sides
// are checked, so the test fails when either changes.
func TestPostfixDifferential(t *testing.T) {
	p := newPeerTLS(t)
	pf := startPostfix(t, p, postfixConfig{main: postfixLikeLab})
	b := startBridge(t, Options{SMTP: "127.0.0.1:0"})
	// Postfix shows newPeerTLS's certificate for mx.example.org: the rows
	// that run STARTTLS check it as a client would.
	pool := x509.NewCertPool()
	caPEM, err := os.ReadFile(p.ca)
	if err != nil || !pool.AppendCertsFromPEM(caPEM) {
		t.Fatalf("the CA of newPeerTLS: %v", err)
	}
	lab := diffTarget{name: "lab", addr: addr(b, 25), tls: clientTLS(t, b, "mx.example.org")}
	postfix := diffTarget{name: "postfix", addr: pf.starttls, tls: &tls.Config{RootCAs: pool, ServerName: "mx.example.org"}}
	for _, row := range diffRows() {
		t.Run(row.name, func(t *testing.T) {
			t.Parallel()
			wantPostfix := row.want
			if row.postfix != "" {
				wantPostfix = row.postfix
				if row.why == "" || row.postfix == row.want {
					t.Fatalf("a row where Postfix answers otherwise says why, and differs from want")
				}
			} else if row.why != "" {
				t.Fatalf("a row with a why says what Postfix answers")
			}
			if got := play(t, lab, row.steps); got != row.want {
				t.Errorf("lab answers\n\t%s\nwant\n\t%s", got, row.want)
			}
			if got := play(t, postfix, row.steps); got != wantPostfix {
				t.Errorf("Postfix answers\n\t%s\nwant\n\t%s", got, wantPostfix)
			}
		})
	}
}

// diffRow is one session of TestPostfixDifferential.
type diffRow struct {
	name    string
	steps   []diffStep
	want    string // the lab's replies, and Postfix's unless postfix is set
	postfix string // Postfix's replies, where they differ from the lab's
	why     string // why the lab answers otherwise, when postfix is set
}

// diffRows are the sessions of TestPostfixDifferential, one a row.
func diffRows() []diffRow {
	// The steps most rows play around what they test.
	var (
		ehlo = cmd("EHLO client.test")
		quit = cmd("QUIT")
		mail = cmd("MAIL FROM:<alice@example.com>")
		rcpt = cmd("RCPT TO:<bob@example.org>")
		// handshake runs TLS over the connection, as a client does after
		// 220 to STARTTLS; what the server answers next comes through TLS.
		handshake = diffStep{tls: true}
	)
	// Why the lab answers otherwise, where several rows share a reason.
	const (
		whyHelloSyntax = "RFC 2034 §3 leaves the replies to HELO and EHLO free of enhanced status codes, and §4 has every other reply " +
			"carry one, before EHLO too: the lab gives one to every reply but the greeting and its 250 to HELO or EHLO; Postfix none to a HELO or EHLO without a name"
		whyNoRcpt = "RFC 5321 §3.3 allows 503 or 554 for DATA without a valid recipient: the lab answers 503 when no RCPT came " +
			"and 554 when every one was refused (DATA with no valid recipient), Postfix 554 both times; BDAT likewise"
		whyBDATSyntax = "RFC 3030 leaves a malformed BDAT open: where the lab can read the count it skips the chunk, answers 501 " +
			"(RFC 5321 §4.2.2) and goes on; Postfix hangs up with 521 5.5.4 at any malformed BDAT, as both do where the count cannot be read"
		whyBareLFText = "both refuse the message with 550 5.5.2; the lab closes at once, since after a bare LF it cannot tell where the client " +
			"thinks the message ends (SMTP smuggling), while Postfix's smtpd_forbid_bare_newline = reject reads on to CRLF.CRLF and the session goes on"
		whyLongCommand = "RFC 5321 §4.5.3.1.4: a command line is at most 512 octets, and §4.2.2 gives 500 for one too long; " +
			"Postfix reads lines up to line_length_limit (2048), drops the rest of a longer one, and NOOP ignores its argument"
		whyHelp = "the lab answers HELP (RFC 5321 §4.1.1.8) with the commands a learner may use now; Postfix has no HELP and answers as to an unknown word"
	)
	long := strings.Repeat("x", 600)
	return []diffRow{
		// HELO and EHLO (RFC 5321 §4.1.1.1).
		{name: "HELO without a name", steps: []diffStep{cmd("HELO"), quit},
			want:    "220 | 501 5.5 | 221 2.0 | closed",
			postfix: "220 | 501 | 221 2.0 | closed",
			why:     whyHelloSyntax},
		{name: "EHLO without a name", steps: []diffStep{cmd("EHLO"), quit},
			want:    "220 | 501 5.5 | 221 2.0 | closed",
			postfix: "220 | 501 | 221 2.0 | closed",
			why:     whyHelloSyntax},
		{name: "EHLO with two words", steps: []diffStep{cmd("EHLO client test"), quit},
			want: "220 | 501 5.5 | 221 2.0 | closed"},
		{name: "EHLO with a bad address literal", steps: []diffStep{cmd("EHLO [300.0.0.1]"), quit},
			want: "220 | 501 5.5 | 221 2.0 | closed"},
		{name: "EHLO with an address literal", steps: []diffStep{cmd("EHLO [127.0.0.1]"), mail, quit},
			want: "220 | 250 | 250 2.1 | 221 2.0 | closed"},
		{name: "EHLO with a name that is not a domain", steps: []diffStep{cmd("EHLO bad_name!.test"), quit},
			want: "220 | 501 5.5 | 221 2.0 | closed"},
		{name: "EHLO with a bad name after a good one", steps: []diffStep{ehlo, cmd("EHLO client test"), mail, quit},
			want: "220 | 250 | 501 5.5 | 250 2.1 | 221 2.0 | closed"},
		{name: "HELO after EHLO ends the transaction", steps: []diffStep{ehlo, mail, cmd("HELO client.test"), rcpt, quit},
			want: "220 | 250 | 250 2.1 | 250 | 503 5.5 | 221 2.0 | closed"},
		{name: "lower-case verbs", steps: []diffStep{cmd("ehlo client.test"), cmd("mail from:<alice@example.com>"), cmd("rcpt to:<bob@example.org>"), quit},
			want: "220 | 250 | 250 2.1 | 250 2.1 | 221 2.0 | closed"},

		// Commands out of order (RFC 5321 §4.1.4, §3.3).
		{name: "MAIL before EHLO", steps: []diffStep{mail, quit},
			want: "220 | 503 5.5 | 221 2.0 | closed"},
		{name: "RCPT before EHLO", steps: []diffStep{rcpt, quit},
			want: "220 | 503 5.5 | 221 2.0 | closed"},
		{name: "NOOP before EHLO", steps: []diffStep{cmd("NOOP"), quit},
			want: "220 | 250 2.0 | 221 2.0 | closed"},
		{name: "RCPT before MAIL", steps: []diffStep{ehlo, rcpt, quit},
			want: "220 | 250 | 503 5.5 | 221 2.0 | closed"},
		{name: "DATA before MAIL", steps: []diffStep{ehlo, cmd("DATA"), quit},
			want: "220 | 250 | 503 5.5 | 221 2.0 | closed"},
		{name: "DATA before RCPT", steps: []diffStep{ehlo, mail, cmd("DATA"), quit},
			want:    "220 | 250 | 250 2.1 | 503 5.5 | 221 2.0 | closed",
			postfix: "220 | 250 | 250 2.1 | 554 5.5 | 221 2.0 | closed",
			why:     whyNoRcpt},
		{name: "nested MAIL", steps: []diffStep{ehlo, mail, mail, quit},
			want: "220 | 250 | 250 2.1 | 503 5.5 | 221 2.0 | closed"},
		{name: "RSET ends the transaction", steps: []diffStep{ehlo, mail, rcpt, cmd("RSET"), cmd("DATA"), quit},
			want: "220 | 250 | 250 2.1 | 250 2.1 | 250 2.0 | 503 5.5 | 221 2.0 | closed"},

		// MAIL FROM (RFC 5321 §4.1.1.2, §4.1.2) and its parameters.
		{name: "MAIL without angle brackets", steps: []diffStep{ehlo, cmd("MAIL FROM:alice@example.com"), quit},
			want: "220 | 250 | 501 5.1 | 221 2.0 | closed"},
		{name: "MAIL with a space after the colon", steps: []diffStep{ehlo, cmd("MAIL FROM: <alice@example.com>"), quit},
			want: "220 | 250 | 250 2.1 | 221 2.0 | closed"},
		{name: "MAIL without the closing bracket", steps: []diffStep{ehlo, cmd("MAIL FROM:<alice@example.com"), quit},
			want: "220 | 250 | 501 5.1 | 221 2.0 | closed"},
		{name: "MAIL TO instead of FROM", steps: []diffStep{ehlo, cmd("MAIL TO:<alice@example.com>"), quit},
			want: "220 | 250 | 501 5.5 | 221 2.0 | closed"},
		{name: "MAIL with the null sender", steps: []diffStep{ehlo, cmd("MAIL FROM:<>"), rcpt, quit},
			want: "220 | 250 | 250 2.1 | 250 2.1 | 221 2.0 | closed"},
		{name: "MAIL with a quoted local part", steps: []diffStep{ehlo, cmd(`MAIL FROM:<"alice smith"@example.com>`), quit},
			want: "220 | 250 | 250 2.1 | 221 2.0 | closed"},
		{name: "MAIL with two @", steps: []diffStep{ehlo, cmd("MAIL FROM:<alice@@example.com>"), quit},
			want:    "220 | 250 | 501 5.1 | 221 2.0 | closed",
			postfix: "220 | 250 | 250 2.1 | 221 2.0 | closed",
			why:     "alice@@example.com is no Mailbox of RFC 5321 §4.1.2; Postfix, even with strict_rfc821_envelopes, checks the brackets, not the address"},
		{name: "MAIL with a SIZE too large", steps: []diffStep{ehlo, cmd("MAIL FROM:<alice@example.com> SIZE=10485761"), quit},
			want: "220 | 250 | 552 5.3 | 221 2.0 | closed"},
		{name: "MAIL with a SIZE at the limit", steps: []diffStep{ehlo, cmd("MAIL FROM:<alice@example.com> SIZE=10485760"), quit},
			want: "220 | 250 | 250 2.1 | 221 2.0 | closed"},
		{name: "MAIL with a SIZE that is not a number", steps: []diffStep{ehlo, cmd("MAIL FROM:<alice@example.com> SIZE=ten"), quit},
			want: "220 | 250 | 501 5.5 | 221 2.0 | closed"},
		{name: "MAIL with BODY=8BITMIME", steps: []diffStep{ehlo, cmd("MAIL FROM:<alice@example.com> BODY=8BITMIME"), quit},
			want: "220 | 250 | 250 2.1 | 221 2.0 | closed"},
		{name: "MAIL with BODY=BINARYMIME, not offered", steps: []diffStep{ehlo, cmd("MAIL FROM:<alice@example.com> BODY=BINARYMIME"), quit},
			want: "220 | 250 | 555 5.5 | 221 2.0 | closed"},
		{name: "MAIL with an unknown BODY", steps: []diffStep{ehlo, cmd("MAIL FROM:<alice@example.com> BODY=9BIT"), quit},
			want:    "220 | 250 | 501 5.5 | 221 2.0 | closed",
			postfix: "220 | 250 | 555 5.5 | 221 2.0 | closed",
			why:     "9BIT is no BODY value of RFC 6152 or RFC 3030: the lab takes it for bad syntax (501, RFC 5321 §4.2.2), Postfix for an option it does not implement (555); BODY=BINARYMIME, defined but not offered, gets 555 from both"},
		{name: "MAIL with an unknown parameter", steps: []diffStep{ehlo, cmd("MAIL FROM:<alice@example.com> FOO=BAR"), quit},
			want: "220 | 250 | 555 5.5 | 221 2.0 | closed"},
		{name: "MAIL with RET=HDRS and ENVID", steps: []diffStep{ehlo, cmd("MAIL FROM:<alice@example.com> RET=HDRS ENVID=abc"), quit},
			want: "220 | 250 | 250 2.1 | 221 2.0 | closed"},
		{name: "MAIL with a bad RET", steps: []diffStep{ehlo, cmd("MAIL FROM:<alice@example.com> RET=ALL"), quit},
			want: "220 | 250 | 501 5.5 | 221 2.0 | closed"},
		{name: "MAIL with SMTPUTF8", steps: []diffStep{ehlo, cmd("MAIL FROM:<j\xc3\xb6rg@example.com> SMTPUTF8"), quit},
			want: "220 | 250 | 250 2.1 | 221 2.0 | closed"},
		{name: "MAIL of UTF-8 without SMTPUTF8", steps: []diffStep{ehlo, cmd("MAIL FROM:<j\xc3\xb6rg@example.com>"), quit},
			want:    "220 | 250 | 550 5.6 | 221 2.0 | closed",
			postfix: "220 | 250 | 250 2.1 | 221 2.0 | closed",
			why:     "RFC 6531 §3.5: a non-ASCII address without the SMTPUTF8 parameter is refused, at MAIL with 550 5.6.7; Postfix takes it"},
		{name: "MAIL with a parameter after HELO", steps: []diffStep{cmd("HELO client.test"), cmd("MAIL FROM:<alice@example.com> SIZE=100"), quit},
			want:    "220 | 250 | 555 5.5 | 221 2.0 | closed",
			postfix: "220 | 250 | 250 2.1 | 221 2.0 | closed",
			why:     "MAIL parameters are ESMTP (RFC 5321 §4.1.1.11, §2.2.1): after HELO the lab refuses them with 555; Postfix takes them"},
		{name: "MAIL with a local part over 64 octets", steps: []diffStep{ehlo, cmd("MAIL FROM:<" + strings.Repeat("a", 65) + "@example.com>"), quit},
			want:    "220 | 250 | 501 5.1 | 221 2.0 | closed",
			postfix: "220 | 250 | 250 2.1 | 221 2.0 | closed",
			why:     "RFC 5321 §4.5.3.1.1 caps a local part at 64 octets and §4.5.3.1 lets a server refuse a longer one, which the lab does to show the limit; Postfix has no limit short of its line length"},

		// RCPT TO (RFC 5321 §4.1.1.3) and what the MX takes.
		{name: "RCPT without angle brackets", steps: []diffStep{ehlo, mail, cmd("RCPT TO:bob@example.org"), quit},
			want: "220 | 250 | 250 2.1 | 501 5.1 | 221 2.0 | closed"},
		{name: "RCPT with an unknown parameter", steps: []diffStep{ehlo, mail, cmd("RCPT TO:<bob@example.org> FOO=1"), quit},
			want: "220 | 250 | 250 2.1 | 555 5.5 | 221 2.0 | closed"},
		{name: "RCPT with a bad NOTIFY", steps: []diffStep{ehlo, mail, cmd("RCPT TO:<bob@example.org> NOTIFY=SOMETIMES"), quit},
			want: "220 | 250 | 250 2.1 | 501 5.5 | 221 2.0 | closed"},
		{name: "RCPT with NOTIFY and ORCPT", steps: []diffStep{ehlo, mail, cmd("RCPT TO:<bob@example.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;bob@example.org"), quit},
			want: "220 | 250 | 250 2.1 | 250 2.1 | 221 2.0 | closed"},
		{name: "RCPT to an unknown user", steps: []diffStep{ehlo, mail, cmd("RCPT TO:<dave@example.org>"), quit},
			want: "220 | 250 | 250 2.1 | 550 5.1 | 221 2.0 | closed"},
		{name: "RCPT to another domain: relay", steps: []diffStep{ehlo, mail, cmd("RCPT TO:<someone@example.net>"), quit},
			want: "220 | 250 | 250 2.1 | 554 5.7 | 221 2.0 | closed"},
		{name: "RCPT with a source route", steps: []diffStep{ehlo, mail, cmd("RCPT TO:<@relay.test:bob@example.org>"), quit},
			want: "220 | 250 | 250 2.1 | 250 2.1 | 221 2.0 | closed"},
		{name: "RCPT with the domain in capitals", steps: []diffStep{ehlo, mail, cmd("RCPT TO:<bob@EXAMPLE.ORG>"), quit},
			want: "220 | 250 | 250 2.1 | 250 2.1 | 221 2.0 | closed"},
		{name: "DATA with no valid recipient", steps: []diffStep{ehlo, mail, cmd("RCPT TO:<dave@example.org>"), cmd("DATA"), quit},
			want: "220 | 250 | 250 2.1 | 550 5.1 | 554 5.5 | 221 2.0 | closed"},

		// DATA and the message's text (RFC 5321 §4.1.1.4, §4.5.2).
		{name: "DATA with an argument", steps: []diffStep{ehlo, mail, rcpt, cmd("DATA now"), quit},
			want: "220 | 250 | 250 2.1 | 250 2.1 | 501 5.5 | 221 2.0 | closed"},
		{name: "a message of a lone dot", steps: []diffStep{ehlo, mail, rcpt, cmd("DATA"), raw(".\r\n", 1), quit},
			want: "220 | 250 | 250 2.1 | 250 2.1 | 354 | 250 2.0 | 221 2.0 | closed"},
		{name: "a dot-stuffed line", steps: []diffStep{ehlo, mail, rcpt, cmd("DATA"), raw("Subject: dots\r\n\r\n..hidden\r\n.\r\n", 1), quit},
			want: "220 | 250 | 250 2.1 | 250 2.1 | 354 | 250 2.0 | 221 2.0 | closed"},
		{name: "bare LF in the text", steps: []diffStep{ehlo, mail, rcpt, cmd("DATA"), raw("Subject: lf\r\n\r\nline\nmore\r\n.\r\n", 1), quit},
			want:    "220 | 250 | 250 2.1 | 250 2.1 | 354 | 550 5.5 | closed",
			postfix: "220 | 250 | 250 2.1 | 250 2.1 | 354 | 550 5.5 | 221 2.0 | closed",
			why:     whyBareLFText},
		{name: "bare LF dot bare LF in the text", steps: []diffStep{ehlo, mail, rcpt, cmd("DATA"), raw("Subject: lf\r\n\r\nline\n.\nMAIL FROM:<x@example.com>\r\n.\r\n", 1), quit},
			want:    "220 | 250 | 250 2.1 | 250 2.1 | 354 | 550 5.5 | closed",
			postfix: "220 | 250 | 250 2.1 | 250 2.1 | 354 | 550 5.5 | 221 2.0 | closed",
			why:     whyBareLFText},
		{name: "bare CR in the text", steps: []diffStep{ehlo, mail, rcpt, cmd("DATA"), raw("Subject: cr\r\n\r\nline\rmore\r\n.\r\n", 1), quit},
			want:    "220 | 250 | 250 2.1 | 250 2.1 | 354 | 550 5.5 | closed",
			postfix: "220 | 250 | 250 2.1 | 250 2.1 | 354 | 250 2.0 | 221 2.0 | closed",
			why:     "RFC 5321 §2.3.8: a CR only in CRLF. The lab refuses and closes as for a bare LF (a server that ends a message at CR.CR can be smuggled to); Postfix 3.7 does not look for bare CRs and keeps the message"},
		{name: "NUL in the text", steps: []diffStep{ehlo, mail, rcpt, cmd("DATA"), raw("Subject: nul\r\n\r\nli\x00ne\r\n.\r\n", 1), quit},
			want:    "220 | 250 | 250 2.1 | 250 2.1 | 354 | 550 5.6 | 221 2.0 | closed",
			postfix: "220 | 250 | 250 2.1 | 250 2.1 | 354 | 250 2.0 | 221 2.0 | closed",
			why:     "without BINARYMIME the text is 7bit or 8bit data, which holds no NUL (RFC 2045 §2.7, §2.8; RFC 6152): the lab refuses the message after its end, Postfix keeps it"},
		{name: "a text line over 1000 octets", steps: []diffStep{ehlo, mail, rcpt, cmd("DATA"), raw("Subject: long\r\n\r\n"+strings.Repeat("y", 1200)+"\r\n.\r\n", 1), quit},
			want:    "220 | 250 | 250 2.1 | 250 2.1 | 354 | 500 5.6 | 221 2.0 | closed",
			postfix: "220 | 250 | 250 2.1 | 250 2.1 | 354 | 250 2.0 | 221 2.0 | closed",
			why:     "RFC 5321 §4.5.3.1.6: a text line is at most 1000 octets with its CRLF; the lab refuses the message after its end with 500 (§4.2.2, line too long), Postfix takes lines up to line_length_limit (2048) and splits longer ones"},

		// Malformed command lines.
		{name: "an unknown command", steps: []diffStep{ehlo, cmd("FOO bar"), quit},
			want: "220 | 250 | 500 5.5 | 221 2.0 | closed"},
		{name: "EXPN", steps: []diffStep{ehlo, cmd("EXPN staff"), quit},
			want:    "220 | 250 | 502 5.5 | 221 2.0 | closed",
			postfix: "220 | 250 | 500 5.5 | 221 2.0 | closed",
			why:     "EXPN is a command of RFC 5321 §4.1.1.7 the lab does not offer: 502, not implemented (§4.2.4); Postfix has no EXPN and answers as to an unknown word, 500"},
		{name: "bare LF after a command", steps: []diffStep{ehlo, raw("NOOP\n", 1), quit},
			want: "220 | 250 | 550 5.5 | closed"},
		{name: "bare CR in a command", steps: []diffStep{ehlo, raw("NOOP\rNOOP\r\n", 1), quit},
			want:    "220 | 250 | 550 5.5 | closed",
			postfix: "220 | 250 | 250 2.0 | 221 2.0 | closed",
			why:     "RFC 5321 §2.3.8: a CR only in CRLF; the lab closes as for a bare LF, Postfix reads NOOP<CR>NOOP as a NOOP with an argument"},
		{name: "NUL in a command", steps: []diffStep{ehlo, raw("NOOP\x00\r\n", 1), quit},
			want:    "220 | 250 | 500 5.5 | 221 2.0 | closed",
			postfix: "220 | 250 | 250 2.0 | 221 2.0 | closed",
			why:     "a command is printable text (RFC 5321 §4.1.1): the lab refuses a line with NUL with 500 5.5.2; Postfix reads the command up to the NUL"},
		{name: "a command line over 512 octets", steps: []diffStep{ehlo, cmd("NOOP " + long), quit},
			want:    "220 | 250 | 500 5.5 | 221 2.0 | closed",
			postfix: "220 | 250 | 250 2.0 | 221 2.0 | closed",
			why:     whyLongCommand},
		{name: "MAIL with an ENVID over 100 characters", steps: []diffStep{ehlo, cmd("MAIL FROM:<alice@example.com> ENVID=" + strings.Repeat("e", 101)), quit},
			want:    "220 | 250 | 501 5.5 | 221 2.0 | closed",
			postfix: "220 | 250 | 250 2.1 | 221 2.0 | closed",
			why:     "RFC 3461 §4.4: ENVID is at most 100 characters; Postfix takes a longer one"},
		{name: "a command line over 4096 octets", steps: []diffStep{ehlo, cmd("NOOP " + strings.Repeat(long, 7)), quit},
			want:    "220 | 250 | 500 5.5 | 221 2.0 | closed",
			postfix: "220 | 250 | 250 2.0 | 221 2.0 | closed",
			why:     whyLongCommand},
		{name: "an empty line", steps: []diffStep{ehlo, cmd(""), quit},
			want: "220 | 250 | 500 5.5 | 221 2.0 | closed"},
		{name: "an HTTP request", steps: []diffStep{raw("POST / HTTP/1.1\r\nHost: 127.0.0.1:2525\r\nContent-Length: 0\r\n\r\n", 1)},
			want: "220 | 221 2.7 | closed"},
		{name: "GET in a session", steps: []diffStep{ehlo, cmd("GET / HTTP/1.0"), quit},
			want: "220 | 250 | 221 2.7 | closed"},
		{name: "CONNECT in a transaction", steps: []diffStep{ehlo, mail, cmd("CONNECT 127.0.0.1:443 HTTP/1.1"), quit},
			want: "220 | 250 | 250 2.1 | 221 2.7 | closed"},
		{name: "ten bad commands", steps: []diffStep{ehlo, raw(strings.Repeat("FOO\r\n", 10), 11), quit},
			want: "220 | 250 | 500 5.5 | 500 5.5 | 500 5.5 | 500 5.5 | 500 5.5 | 500 5.5 | 500 5.5 | 500 5.5 | 500 5.5 | 500 5.5 | 421 4.7 | closed"},

		// Commands with arguments they do not take (RFC 5321 §4.1.1.5-10).
		{name: "RSET with an argument", steps: []diffStep{ehlo, cmd("RSET now"), quit},
			want: "220 | 250 | 501 5.5 | 221 2.0 | closed"},
		{name: "NOOP with an argument", steps: []diffStep{ehlo, cmd("NOOP anything"), quit},
			want: "220 | 250 | 250 2.0 | 221 2.0 | closed"},
		{name: "QUIT with an argument", steps: []diffStep{ehlo, cmd("QUIT now"), quit},
			want:    "220 | 250 | 501 5.5 | 221 2.0 | closed",
			postfix: "220 | 250 | 221 2.0 | closed",
			why:     "RFC 5321 §4.1.1.10: quit = \"QUIT\" CRLF; the lab answers 501 and the session goes on, Postfix ignores the argument and closes"},
		{name: "VRFY a user", steps: []diffStep{ehlo, cmd("VRFY bob@example.org"), quit},
			want:    "220 | 250 | 252 2.5 | 221 2.0 | closed",
			postfix: "220 | 250 | 252 2.0 | 221 2.0 | closed",
			why:     "the lab never tells who has a mailbox (RFC 5321 §7.3): 252 for every address (§3.5.3); Postfix looks the address up and answers 252 2.0.0 for bob"},
		{name: "VRFY an unknown user", steps: []diffStep{ehlo, cmd("VRFY dave@example.org"), quit},
			want:    "220 | 250 | 252 2.5 | 221 2.0 | closed",
			postfix: "220 | 250 | 550 5.1 | 221 2.0 | closed",
			why:     "the lab never tells who has a mailbox (RFC 5321 §7.3): 252 for every address (§3.5.3); Postfix looks the address up and tells an address harvester that dave does not exist"},
		{name: "VRFY without an argument", steps: []diffStep{ehlo, cmd("VRFY"), quit},
			want: "220 | 250 | 501 5.5 | 221 2.0 | closed"},
		{name: "HELP", steps: []diffStep{ehlo, cmd("HELP"), quit},
			want:    "220 | 250 | 214 2.0 | 221 2.0 | closed",
			postfix: "220 | 250 | 500 5.5 | 221 2.0 | closed",
			why:     whyHelp},
		{name: "HELP with an argument", steps: []diffStep{ehlo, cmd("HELP MAIL"), quit},
			want:    "220 | 250 | 214 2.0 | 221 2.0 | closed",
			postfix: "220 | 250 | 500 5.5 | 221 2.0 | closed",
			why:     whyHelp},

		// PIPELINING (RFC 2920).
		{name: "a pipelined transaction", steps: []diffStep{ehlo, raw("MAIL FROM:<alice@example.com>\r\nRCPT TO:<bob@example.org>\r\nRCPT TO:<carol@example.org>\r\nDATA\r\n", 4), raw("Subject: piped\r\n\r\nHi.\r\n.\r\nQUIT\r\n", 2)},
			want: "220 | 250 | 250 2.1 | 250 2.1 | 250 2.1 | 354 | 250 2.0 | 221 2.0 | closed"},
		{name: "a pipelined group with refused recipients", steps: []diffStep{ehlo, raw("MAIL FROM:<alice@example.com>\r\nRCPT TO:<dave@example.org>\r\nRCPT TO:<x@example.net>\r\nDATA\r\n", 4), raw("Subject: piped\r\n\r\n.\r\nQUIT\r\n", 4)},
			want:    "220 | 250 | 250 2.1 | 550 5.1 | 554 5.7 | 554 5.5 | 500 5.5 | 500 5.5 | 500 5.5 | 221 2.0 | closed",
			postfix: "220 | 250 | 250 2.1 | 550 5.1 | 554 5.7 | 554 5.5 | 221 2.7 | closed",
			why:     "after DATA's 554 the client sends its message anyway: the lab reads those lines as the commands they now are, 500 each (RFC 5321 §4.1.1.4: no 354, no text); Postfix sees message text sent without a 354 and hangs up with 221 2.7.0 \"I can break rules, too\""},
		{name: "EHLO pipelined behind the greeting", steps: []diffStep{raw("EHLO client.test\r\nMAIL FROM:<alice@example.com>\r\nQUIT\r\n", 3)},
			want: "220 | 250 | 250 2.1 | 221 2.0 | closed"},

		// CHUNKING (RFC 3030).
		{name: "BDAT LAST", steps: []diffStep{ehlo, mail, rcpt, raw("BDAT 12 LAST\r\nSubject: b\r\n", 1), quit},
			want: "220 | 250 | 250 2.1 | 250 2.1 | 250 2.0 | 221 2.0 | closed"},
		{name: "BDAT in two chunks", steps: []diffStep{ehlo, mail, rcpt, raw("BDAT 3\r\nSub", 1), raw("BDAT 9 LAST\r\nject: b\r\n", 1), quit},
			want: "220 | 250 | 250 2.1 | 250 2.1 | 250 2.0 | 250 2.0 | 221 2.0 | closed"},
		{name: "BDAT before MAIL", steps: []diffStep{ehlo, raw("BDAT 3 LAST\r\nabc", 1), quit},
			want: "220 | 250 | 503 5.5 | 221 2.0 | closed"},
		{name: "BDAT before RCPT", steps: []diffStep{ehlo, mail, raw("BDAT 3 LAST\r\nabc", 1), quit},
			want:    "220 | 250 | 250 2.1 | 503 5.5 | 221 2.0 | closed",
			postfix: "220 | 250 | 250 2.1 | 554 5.5 | 221 2.0 | closed",
			why:     whyNoRcpt},
		{name: "BDAT with a count that is not a number", steps: []diffStep{ehlo, mail, rcpt, cmd("BDAT ten LAST"), quit},
			want: "220 | 250 | 250 2.1 | 250 2.1 | 521 5.5 | closed"},
		{name: "BDAT with a negative count", steps: []diffStep{ehlo, mail, rcpt, cmd("BDAT -3 LAST"), quit},
			want: "220 | 250 | 250 2.1 | 250 2.1 | 521 5.5 | closed"},
		{name: "BDAT without a count", steps: []diffStep{ehlo, mail, rcpt, cmd("BDAT"), quit},
			want: "220 | 250 | 250 2.1 | 250 2.1 | 521 5.5 | closed"},
		{name: "BDAT with a word other than LAST", steps: []diffStep{ehlo, mail, rcpt, raw("BDAT 3 FIRST\r\nabc", 1), quit},
			want:    "220 | 250 | 250 2.1 | 250 2.1 | 501 5.5 | 221 2.0 | closed",
			postfix: "220 | 250 | 250 2.1 | 250 2.1 | 521 5.5 | closed",
			why:     whyBDATSyntax},
		{name: "BDAT 0 LAST alone", steps: []diffStep{ehlo, mail, rcpt, cmd("BDAT 0 LAST"), quit},
			want: "220 | 250 | 250 2.1 | 250 2.1 | 250 2.0 | 221 2.0 | closed"},
		{name: "DATA after BDAT", steps: []diffStep{ehlo, mail, rcpt, raw("BDAT 3\r\nabc", 1), cmd("DATA"), quit},
			want: "220 | 250 | 250 2.1 | 250 2.1 | 250 2.0 | 503 5.5 | 221 2.0 | closed"},
		{name: "BDAT with a bare LF in the chunk", steps: []diffStep{ehlo, mail, rcpt, raw("BDAT 11 LAST\r\nSubject: b\n", 1), quit},
			want: "220 | 250 | 250 2.1 | 250 2.1 | 550 5.5 | 221 2.0 | closed"},

		// AUTH where it is not offered (RFC 4954).
		{name: "AUTH on the MX", steps: []diffStep{ehlo, cmd("AUTH PLAIN AGFsaWNlAHdvbmRlcmxhbmQ="), quit},
			want:    "220 | 250 | 502 5.5 | 221 2.0 | closed",
			postfix: "220 | 250 | 503 5.5 | 221 2.0 | closed",
			why:     "the MX offers no AUTH: the lab answers 502, not implemented (RFC 5321 §4.2.4), Postfix 503 5.5.1 \"authentication not enabled\""},

		// STARTTLS (RFC 3207).
		{name: "STARTTLS, then EHLO again", steps: []diffStep{ehlo, cmd("STARTTLS"), handshake, ehlo, mail, quit},
			want: "220 | 250 | 220 2.0 | 250 | 250 2.1 | 221 2.0 | closed"},
		{name: "STARTTLS with commands pipelined after it", steps: []diffStep{ehlo, raw("STARTTLS\r\nRSET\r\n", 1), handshake, ehlo, quit},
			want: "220 | 250 | 220 2.0 | 250 | 221 2.0 | closed"},
		{name: "STARTTLS with a transaction pipelined after it", steps: []diffStep{ehlo, raw("STARTTLS\r\nMAIL FROM:<alice@example.com>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n", 1), handshake, ehlo, rcpt, quit},
			want: "220 | 250 | 220 2.0 | 250 | 503 5.5 | 221 2.0 | closed"},
		{name: "STARTTLS with an argument", steps: []diffStep{ehlo, cmd("STARTTLS now"), quit},
			want: "220 | 250 | 501 5.5 | 221 2.0 | closed"},
		{name: "STARTTLS before EHLO", steps: []diffStep{cmd("STARTTLS"), quit},
			want:    "220 | 503 5.5 | 221 2.0 | closed",
			postfix: "220 | 220 2.0 | closed",
			why:     "STARTTLS is an extension EHLO offers (RFC 3207 §4, RFC 5321 §2.2.1): the lab wants EHLO first, 503; Postfix starts TLS, and then takes the QUIT sent in the clear for a broken handshake"},
		{name: "STARTTLS in a transaction", steps: []diffStep{ehlo, mail, cmd("STARTTLS"), quit},
			want:    "220 | 250 | 250 2.1 | 503 5.5 | 221 2.0 | closed",
			postfix: "220 | 250 | 250 2.1 | 220 2.0 | closed",
			why:     "the lab refuses STARTTLS while a transaction is open, as RFC 4954 §4 refuses AUTH, rather than silently drop the MAIL that RFC 3207 §4.2 would forget; Postfix starts TLS, and then takes the QUIT sent in the clear for a broken handshake"},
		{name: "STARTTLS twice", steps: []diffStep{ehlo, cmd("STARTTLS"), handshake, ehlo, cmd("STARTTLS"), quit},
			want: "220 | 250 | 220 2.0 | 250 | 554 5.5 | 221 2.0 | closed"},
		{name: "MAIL after STARTTLS without EHLO", steps: []diffStep{ehlo, cmd("STARTTLS"), handshake, mail, quit},
			want: "220 | 250 | 220 2.0 | 503 5.5 | 221 2.0 | closed"},
	}
}
