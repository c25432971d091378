package bridge

import (
	"errors"
	"strings"
	"testing"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"
)

// goSession is one go-smtp client session.
type goSession struct {
	addr     string
	startTLS bool
	tlsHost  string
	auth     sasl.Client
	from     string
	opts     *gosmtp.MailOptions
	to       []string
	msg      string
}

// run sends the message; rcptErrs holds the RCPT errors by recipient, and
// the error is that of any other step.
func (g goSession) run(t *testing.T, b *Bridge) (rcptErrs map[string]error, err error) {
	t.Helper()
	var c *gosmtp.Client
	if g.startTLS {
		c, err = gosmtp.DialStartTLS(g.addr, clientTLS(t, b, g.tlsHost))
	} else {
		c, err = gosmtp.Dial(g.addr)
	}
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if err := c.Hello("gosmtp.test"); err != nil {
		return nil, err
	}
	if g.auth != nil {
		if err := c.Auth(g.auth); err != nil {
			return nil, err
		}
	}
	if err := c.Mail(g.from, g.opts); err != nil {
		return nil, err
	}
	rcptErrs = map[string]error{}
	for _, r := range g.to {
		if err := c.Rcpt(r, nil); err != nil {
			rcptErrs[r] = err
		}
	}
	w, err := c.Data()
	if err != nil {
		return rcptErrs, err
	}
	if _, err := w.Write([]byte(g.msg)); err != nil {
		return rcptErrs, err
	}
	if err := w.Close(); err != nil {
		return rcptErrs, err
	}
	return rcptErrs, c.Quit()
}

// smtpCode returns the reply code of a go-smtp error, 0 for other errors.
func smtpCode(err error) int {
	var se *gosmtp.SMTPError
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}

func TestGoSMTPClientToBridge(t *testing.T) {
	b := startBridge(t, Options{})
	mx, sub := addr(b, 25), addr(b, 587)
	msg := "From: <gosmtp@gosmtp.test>\r\nTo: <bob@example.org>\r\nSubject: go-smtp\r\n\r\nHello from go-smtp.\r\n..leading dot\r\n"
	utf8 := "From: <jörg@gosmtp.test>\r\nSubject: Grüße\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nÄpfel und Öl, 8 bit.\r\n"
	cases := []struct {
		name      string
		s         goSession
		rcptCodes map[string]int // recipients that must be refused, with the code
		host      string         // where the accepted recipients' mail arrives
		delivered []string
	}{
		{name: "plain, two recipients",
			s:    goSession{addr: mx, from: "gosmtp@gosmtp.test", to: []string{"bob@example.org", "carol@example.org"}, msg: msg},
			host: "mx.example.org", delivered: []string{"bob@example.org", "carol@example.org"}},
		{name: "a rejected recipient",
			s:         goSession{addr: mx, from: "gosmtp@gosmtp.test", to: []string{"nobody@example.org", "bob@example.org"}, msg: "Subject: one of two\r\n\r\nx\r\n"},
			rcptCodes: map[string]int{"nobody@example.org": 550},
			host:      "mx.example.org", delivered: []string{"bob@example.org"}},
		{name: "8BITMIME and SMTPUTF8",
			s: goSession{addr: mx, from: "jörg@gosmtp.test", to: []string{"carol@example.org"}, msg: utf8,
				opts: &gosmtp.MailOptions{Body: gosmtp.Body8BitMIME, UTF8: true}},
			host: "mx.example.org", delivered: []string{"carol@example.org"}},
		{name: "STARTTLS on the MX, verified with the same lab CA",
			s:    goSession{addr: mx, startTLS: true, tlsHost: "mx.example.org", from: "gosmtp@gosmtp.test", to: []string{"carol@example.org"}, msg: msg},
			host: "mx.example.org", delivered: []string{"carol@example.org"}},
		{name: "submission: STARTTLS and AUTH PLAIN, relayed",
			s: goSession{addr: sub, startTLS: true, tlsHost: "smtp.example.com",
				auth: sasl.NewPlainClient("", "alice@example.com", "wonderland"),
				from: "alice@example.com", to: []string{"bob@example.org"}, msg: "Subject: relayed\r\n\r\nvia smtp.example.com\r\n"},
			host: "mx.example.org", delivered: []string{"bob@example.org"}},
		{name: "submission: STARTTLS and AUTH LOGIN, local",
			s: goSession{addr: sub, startTLS: true, tlsHost: "smtp.example.com",
				auth: sasl.NewLoginClient("alice@example.com", "wonderland"),
				from: "alice@example.com", to: []string{"alice@example.com"}, msg: "Subject: to myself\r\n\r\nnote\r\n"},
			host: "smtp.example.com", delivered: []string{"alice@example.com"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := mailCounts(b, c.host, c.delivered)
			rcptErrs, err := c.s.run(t, b)
			if err != nil {
				t.Fatal(err)
			}
			for r, code := range c.rcptCodes {
				if got := smtpCode(rcptErrs[r]); got != code {
					t.Errorf("RCPT %s: %v, want %d", r, rcptErrs[r], code)
				}
				delete(rcptErrs, r)
			}
			for r, err := range rcptErrs {
				t.Errorf("RCPT %s refused: %v", r, err)
			}
			// go-smtp dot-stuffs the text; the server must undo it
			// exactly (RFC 5321 §4.5.2).
			want := c.s.msg
			checkDelivered(t, b, c.host, before, want, "")
		})
	}
}

func TestGoSMTPSubmissionNeedsTLSAndAuth(t *testing.T) {
	b := startBridge(t, Options{})
	// Without STARTTLS the submission port refuses MAIL, and AUTH is not
	// even offered in plaintext.
	_, err := goSession{addr: addr(b, 587), from: "alice@example.com", to: []string{"bob@example.org"}, msg: "x\r\n"}.run(t, b)
	if code := smtpCode(err); code != 530 {
		t.Fatalf("MAIL without TLS: %v, want 530", err)
	}
	// A wrong password.
	_, err = goSession{addr: addr(b, 587), startTLS: true, tlsHost: "smtp.example.com",
		auth: sasl.NewPlainClient("", "alice@example.com", "guess"), from: "alice@example.com", to: []string{"bob@example.org"}, msg: "x\r\n"}.run(t, b)
	if code := smtpCode(err); code != 535 {
		t.Fatalf("a wrong password: %v, want 535", err)
	}
	if n := len(mailbox(b, "mx.example.org", "bob@example.org")); n != 0 {
		t.Fatalf("%d messages arrived", n)
	}
}

func TestGoSMTPImplicitTLS(t *testing.T) {
	b := startBridge(t, Options{})
	c, err := gosmtp.DialTLS(addr(b, 465), clientTLS(t, b, "smtp.example.com"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Auth(sasl.NewPlainClient("", "alice@example.com", "wonderland")); err != nil {
		t.Fatal(err)
	}
	msg := "Subject: over 465\r\n\r\nimplicit TLS\r\n"
	if err := c.SendMail("alice@example.com", []string{"carol@example.org"}, strings.NewReader(msg)); err != nil {
		t.Fatal(err)
	}
	c.Quit()
	wantMailbox(t, b, "mx.example.org", "carol@example.org", msg)
}

func TestGoSMTPOversizeMessage(t *testing.T) {
	b := startBridge(t, Options{Scenario: "size-limit", SMTP: "127.0.0.1:0"})
	big := "Subject: big\r\n\r\n" + strings.Repeat("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\r\n", 64)
	// Declared with SIZE: refused at MAIL (RFC 1870 §6.1).
	_, err := goSession{addr: addr(b, 25), from: "big@gosmtp.test", to: []string{"bob@example.org"}, msg: big,
		opts: &gosmtp.MailOptions{Size: int64(len(big))}}.run(t, b)
	if code := smtpCode(err); code != 552 {
		t.Fatalf("MAIL with SIZE=%d: %v, want 552", len(big), err)
	}
	// Not declared: read to its end, then refused.
	_, err = goSession{addr: addr(b, 25), from: "big@gosmtp.test", to: []string{"bob@example.org"}, msg: big}.run(t, b)
	if code := smtpCode(err); code != 552 {
		t.Fatalf("an oversize message: %v, want 552", err)
	}
	small := "Subject: small\r\n\r\nfits\r\n"
	if _, err := (goSession{addr: addr(b, 25), from: "big@gosmtp.test", to: []string{"bob@example.org"}, msg: small}).run(t, b); err != nil {
		t.Fatal(err)
	}
	wantMailbox(t, b, "mx.example.org", "bob@example.org", small)
}
