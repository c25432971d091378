// Package gosmtptest is a go-smtp server backend for interoperability
// tests: it keeps what it receives, refuses one recipient and, when asked,
// offers AUTH PLAIN for one user. Only tests import it; product code never
// depends on go-smtp.
package gosmtptest

import (
	"errors"
	"io"
	"sync"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"
)

// Message is one message the backend accepted.
type Message struct {
	From string
	To   []string
	Data []byte
	TLS  bool // the session was encrypted when MAIL came
}

// Backend keeps the messages of every session. The zero value accepts
// everything and offers no AUTH.
type Backend struct {
	Reject   string // a recipient refused with 550 5.1.1
	User     string // when set, AUTH PLAIN is offered for User and Password
	Password string

	mu       sync.Mutex
	received []Message
	logins   []string
}

// NewSession implements gosmtp.Backend.
func (b *Backend) NewSession(c *gosmtp.Conn) (gosmtp.Session, error) {
	return &session{be: b, conn: c}, nil
}

// Logins returns the user names that AUTH was tried with so far, in
// order, each followed by ":" and the password: what a server that should
// not have been trusted would have learnt.
func (b *Backend) Logins() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.logins...)
}

// Messages returns what was received so far.
func (b *Backend) Messages() []Message {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]Message(nil), b.received...)
}

type session struct {
	be   *Backend
	conn *gosmtp.Conn
	msg  Message
}

func (s *session) Reset()        { s.msg = Message{} }
func (s *session) Logout() error { return nil }

func (s *session) Mail(from string, _ *gosmtp.MailOptions) error {
	_, s.msg.TLS = s.conn.TLSConnectionState()
	s.msg.From = from
	return nil
}

func (s *session) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	if to == s.be.Reject {
		return &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
	}
	s.msg.To = append(s.msg.To, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.msg.Data = data
	s.be.mu.Lock()
	s.be.received = append(s.be.received, s.msg)
	s.be.mu.Unlock()
	return nil
}

// AuthMechanisms implements gosmtp.AuthSession.
func (s *session) AuthMechanisms() []string {
	if s.be.User == "" {
		return nil
	}
	return []string{sasl.Plain}
}

// Auth implements gosmtp.AuthSession.
func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		s.be.mu.Lock()
		s.be.logins = append(s.be.logins, user+":"+pass)
		s.be.mu.Unlock()
		if user != s.be.User || pass != s.be.Password {
			return errors.New("bad credentials")
		}
		return nil
	}), nil
}
