package server

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/subtle"
	"encoding/hex"
	"net/netip"
	"strings"

	"smtplab/engine/smtp"
)

// Policy is what the server asks whenever the answer depends on the
// operator's rules rather than on the protocol: the simulated world's mail
// transfer agent answers greylisted, unknown user, relay denied, mailbox
// full, content rejected or rate limited through it; the real TCP bridge
// plugs in its own rules.
//
// Every method answers with an smtp.Reply, so a policy says exactly what
// the client will read, and its Reason says why. The zero Reply means "the
// server's standard answer": accept, for Connect, Hello, Mail, Rcpt and
// Data; refuse with 535 5.7.8, for Authenticate, so that a policy that knows
// nothing about passwords never lets anybody in. A 2xx (or 3xx) reply
// accepts with its own text; a 4xx or 5xx refuses.
//
// The pointers a policy receives are only valid during the call; a policy
// that keeps a message must copy it.
type Policy interface {
	// Connect is asked before the greeting. A 421 refuses and closes; a
	// 554 is sent as the greeting, after which the server answers 503 to
	// everything but QUIT (RFC 5321 §3.1).
	Connect(c *ConnState) smtp.Reply
	// Hello is asked for the name given with HELO or EHLO. Only a refusal
	// is used as the reply: accepted, the server answers with its own
	// greeting line and, for EHLO, the list of its extensions.
	Hello(c *ConnState, name string) smtp.Reply
	// Mail is asked for the sender and the MAIL parameters in env.
	Mail(c *ConnState, env *Envelope) smtp.Reply
	// Rcpt is asked for each recipient; env holds the sender and the
	// recipients accepted so far. The relay decision belongs here: whether
	// rcpt is a local user, or a remote one that c.AuthUser may send to.
	Rcpt(c *ConnState, env *Envelope, rcpt Recipient) smtp.Reply
	// Data is asked once the whole message has arrived, without its end
	// marker and dot-stuffing, with CRLF line ends: every CR and LF of msg
	// is part of a CRLF, and no octet is NUL, as the session refuses any
	// other text before it asks. queueID names the
	// message in the 250 reply ("Ok: queued as <queueID>").
	Data(c *ConnState, env *Envelope, msg []byte) (queueID string, reply smtp.Reply)
	// Authenticate checks credentials from AUTH (RFC 4954). Only a 2xx
	// reply authenticates.
	Authenticate(c *ConnState, cred Credentials) smtp.Reply
}

// DefaultPolicy gives the server's standard answer everywhere: every
// sender, recipient and message is welcome and nobody can authenticate.
// Embed it in a policy to override only some questions.
type DefaultPolicy struct{}

func (DefaultPolicy) Connect(*ConnState) smtp.Reply                    { return smtp.Reply{} }
func (DefaultPolicy) Hello(*ConnState, string) smtp.Reply              { return smtp.Reply{} }
func (DefaultPolicy) Mail(*ConnState, *Envelope) smtp.Reply            { return smtp.Reply{} }
func (DefaultPolicy) Rcpt(*ConnState, *Envelope, Recipient) smtp.Reply { return smtp.Reply{} }
func (DefaultPolicy) Data(*ConnState, *Envelope, []byte) (string, smtp.Reply) {
	return "", smtp.Reply{}
}
func (DefaultPolicy) Authenticate(*ConnState, Credentials) smtp.Reply { return smtp.Reply{} }

// ConnState is what the server knows about the connection, for the Policy.
type ConnState struct {
	Role   Role
	Remote string     // SessionOptions.Remote
	Addr   netip.Addr // SessionOptions.Addr: the zero Addr when not given
	TLS    bool       // the connection is encrypted (STARTTLS done, or implicit TLS)
	// Hello is the name given with the last HELO or EHLO ("" before one).
	Hello string
	// ESMTP is true after EHLO, false after HELO.
	ESMTP bool
	// AuthUser is the user name AUTH proved, "" before.
	AuthUser string

	session *Session // for Record
}

// Record adds v to the session's events as an EventPolicy, in order: after
// the command being decided, before its reply. A policy records so what it
// found out on the way to its answer (the MTA its SPF lookups), for the
// driver to trace; the server never looks at v.
func (c *ConnState) Record(v any) {
	if s := c.session; s != nil {
		s.events = append(s.events, Event{Kind: EventPolicy, Verb: s.verb, Policy: v})
	}
}

// Envelope is one mail transaction: the sender and recipients of MAIL and
// RCPT, and what their parameters declared.
type Envelope struct {
	From  smtp.Path
	Rcpts []Recipient

	Size  int64  // SIZE= (RFC 1870), 0 when not declared
	Body  string // BODY= "7BIT" or "8BITMIME" (RFC 6152), "" when not declared
	UTF8  bool   // SMTPUTF8 (RFC 6531)
	Ret   string // RET= "FULL" or "HDRS" (RFC 3461 §4.3), "" when not declared
	EnvID string // ENVID= decoded from xtext (RFC 3461 §4.4)
	Auth  string // AUTH= decoded from xtext (RFC 4954 §5): who the sender says submitted it

	// PolicyData is the Policy's own notes on this transaction, made at
	// MAIL or RCPT and read at DATA (the MTA keeps its sender checks
	// there). The server never looks at it and clears it with each new
	// transaction.
	PolicyData any
}

// Notify is the set of NOTIFY= conditions of a recipient (RFC 3461 §4.1).
type Notify uint8

const (
	NotifyNever Notify = 1 << iota
	NotifySuccess
	NotifyFailure
	NotifyDelay
)

// String writes n as a NOTIFY value, as a relay passes it on: "NEVER", or
// the conditions set among SUCCESS, FAILURE and DELAY separated by commas;
// "" when NOTIFY was not given.
func (n Notify) String() string {
	if n&NotifyNever != 0 {
		return "NEVER"
	}
	var words []string
	for _, c := range []struct {
		bit  Notify
		word string
	}{{NotifySuccess, "SUCCESS"}, {NotifyFailure, "FAILURE"}, {NotifyDelay, "DELAY"}} {
		if n&c.bit != 0 {
			words = append(words, c.word)
		}
	}
	return strings.Join(words, ",")
}

// Recipient is one accepted RCPT.
type Recipient struct {
	Path   smtp.Path
	Notify Notify // 0 when NOTIFY= was not given
	// ORcpt is ORCPT= with its address decoded: "rfc822;bob@example.org"
	// from xtext (RFC 3461 §4.2), "utf-8;jörg@example.org" from
	// utf-8;j\x{F6}rg@example.org (RFC 6533 §3); "" when not given.
	ORcpt string
}

// Credentials are what a client sent with AUTH.
type Credentials struct {
	Mechanism string // "PLAIN", "LOGIN" or "CRAM-MD5"
	Identity  string // PLAIN's authorization identity (RFC 4616), usually ""
	Username  string
	Password  string // PLAIN and LOGIN
	Challenge string // CRAM-MD5: the challenge the server sent
	Digest    string // CRAM-MD5: the hex HMAC-MD5 of Challenge the client sent
}

// Check reports whether the credentials prove knowledge of password: the
// password itself for PLAIN and LOGIN, HMAC-MD5(password, challenge) for
// CRAM-MD5 (RFC 2195 §2). Comparisons take constant time.
func (c Credentials) Check(password string) bool {
	if c.Mechanism == "CRAM-MD5" {
		mac := hmac.New(md5.New, []byte(password))
		mac.Write([]byte(c.Challenge))
		want := hex.EncodeToString(mac.Sum(nil))
		return subtle.ConstantTimeCompare([]byte(want), []byte(c.Digest)) == 1
	}
	return subtle.ConstantTimeCompare([]byte(password), []byte(c.Password)) == 1
}
