package client

import (
	"fmt"

	"smtplab/engine/smtp"
)

// Status is where a recipient, or the whole message, stands.
type Status uint8

const (
	// Pending: not decided yet (the session is still running).
	Pending Status = iota
	// Delivered: the server took responsibility for the message (RFC 5321
	// §4.1.1.4: a 250 after the content).
	Delivered
	// Deferred: a transient failure (4xx, a lost connection, a TLS policy
	// not met). The sender keeps the message and tries again later.
	Deferred
	// Bounced: a permanent failure (5xx, or a message this server can never
	// take). The sender returns the message with a delivery status
	// notification.
	Bounced
)

func (s Status) String() string {
	switch s {
	case Pending:
		return "pending"
	case Delivered:
		return "delivered"
	case Deferred:
		return "deferred"
	case Bounced:
		return "bounced"
	}
	return fmt.Sprintf("status(%d)", uint8(s))
}

// statusOf classifies a reply code: 2xx delivered, 5xx bounced, anything
// else (4xx, or a 3xx where none belongs) deferred.
func statusOf(code int) Status {
	switch code / 100 {
	case 2:
		return Delivered
	case 5:
		return Bounced
	}
	return Deferred
}

// failureOf classifies a reply that ends a session or a transaction before
// the content was taken: 5xx bounced, anything else deferred. A 2xx there
// (250 to DATA, where RFC 5321 §4.3.2 allows only 354; a greeting of 250)
// is a broken server, and the message was not handed over.
func failureOf(code int) Status {
	if code/100 == 5 {
		return Bounced
	}
	return Deferred
}

// Reasons for outcomes the client decides by itself. They extend the
// smtp.Reason list (which names the replies a server gives) and, like it,
// key the explanations a user interface shows.
const (
	ReasonTLSUnavailable    smtp.Reason = "starttls-unavailable"     // TLS required, STARTTLS not offered
	ReasonTLSRefused        smtp.Reason = "starttls-refused"         // TLS required, STARTTLS answered with an error
	ReasonTLSFailed         smtp.Reason = "tls-handshake-failed"     // the TLS handshake failed
	ReasonMalformedReply    smtp.Reason = "malformed-reply"          // the server sent something that is not a reply
	ReasonConnectionLost    smtp.Reason = "connection-lost"          // the connection ended before the session did
	ReasonNoAuthMechanism   smtp.Reason = "auth-no-common-mechanism" // AUTH offered, but no mechanism we know
	ReasonAuthUnavailable   smtp.Reason = "auth-unavailable"         // credentials given and required, AUTH not offered
	ReasonAuthUnverifiedTLS smtp.Reason = "auth-unverified-tls"      // the certificate did not verify: credentials kept
	ReasonBadEnvelopeBytes  smtp.Reason = "bad-envelope"             // an address or DSN parameter that cannot be written on the wire
	ReasonBadHostname       smtp.Reason = "bad-hostname"             // the client's own name cannot be written in EHLO
	Reason8BitUnavailable   smtp.Reason = "8bitmime-unavailable"     // 8-bit content, 8BITMIME not offered
)

// Error is an outcome the client decided without a server reply saying so,
// such as "STARTTLS required but not offered" or "message larger than the
// server's SIZE". It carries what a delivery status notification needs.
type Error struct {
	Status   Status      // Deferred or Bounced
	Enhanced string      // the RFC 3463 status a DSN would report, e.g. "5.3.4"
	Reason   smtp.Reason // stable identifier for explanations
	Text     string      // plain words
}

func (e *Error) Error() string { return e.Text }

// Is makes errors.Is(err, &client.Error{Reason: r}) match any Error with
// reason r.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Reason == e.Reason
}

// RecipientResult is the fate of one recipient.
type RecipientResult struct {
	Mailbox smtp.Mailbox
	Status  Status
	// Reply is the server reply that decided Status: the RCPT reply for a
	// refused recipient, the reply after the content for an accepted one,
	// or an earlier reply (greeting, EHLO, MAIL, ...) that ended the
	// session. It is the zero Reply when the client decided; see Err.
	Reply smtp.Reply
	// Verb is the command Reply answers: RCPT for a recipient the server
	// refused by name, DATA or BDAT for the reply after the content, MAIL,
	// EHLO, ... for an earlier reply that ended the transaction or the
	// session, and "" for the greeting (as in Event). It tells a relay what
	// a reply is about: a 4xx to RCPT is "not now" for this recipient at
	// this server only, where a 4xx after the content is about the message.
	// "" when Reply is the zero Reply.
	Verb smtp.Verb
	// Err is set when the client decided, or when a policy failed on a
	// server reply (then Reply is set too).
	Err error
	// SessionFailure reports that the recipient was decided by a failure
	// of the whole session rather than by anything the server said about
	// this recipient or the message: a greeting, EHLO or HELO that was not
	// 2xx, TLS that was required and did not happen, a 421, a lost
	// connection, a reply that broke the protocol. Another server for the
	// same domain may well take the message, so a relay tries the next MX
	// at once (RFC 5321 §5.1), as Postfix does.
	SessionFailure bool
	// ORcptLeftOut reports that the recipient's ORCPT was not sent: in
	// the form this transaction needed, it would have had more than the
	// 500 characters RFC 3461 §4.2 allows (see smtp.MaxORcpt). A DSN
	// about the recipient then has no Original-Recipient.
	ORcptLeftOut bool
}

// Outcome is the result of a session.
type Outcome struct {
	// Status of the message as a whole: Delivered when at least one
	// recipient got it, else Deferred when at least one may still get it
	// later, else Bounced. Pending while the session runs.
	Status Status
	// Reply and Err are those of the first recipient whose status is
	// Status: the reply (or client decision) that decided the outcome.
	Reply      smtp.Reply
	Err        error
	Recipients []RecipientResult
	TLS        bool      // the session ran over TLS after STARTTLS
	Auth       Mechanism // the mechanism that authenticated, or 0
	// DSN reports that the server advertised DSN (RFC 3461), so the
	// envelope's NOTIFY, ORCPT, RET and ENVID went with the message. When
	// they could not, a relay reports "relayed" to a sender who asked for
	// NOTIFY=SUCCESS (RFC 3461 §5.2.2).
	DSN bool
	// SevenBit reports that the message was sent converted to 7 bits,
	// its 8-bit parts quoted-printable (RFC 6152 §3): the server offered
	// no 8BITMIME, or no SMTPUTF8 for a message whose only header beyond
	// ASCII is inside message/global (RFC 6533 §6).
	SevenBit bool
}
