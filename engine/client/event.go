package client

import "smtplab/engine/smtp"

// EventKind says what an Event records.
type EventKind uint8

const (
	// CommandSent: a command line went out (Verb, Text, Secret).
	CommandSent EventKind = iota + 1
	// ReplyReceived: a complete reply came in (Verb it answers, Reply).
	ReplyReceived
	// ContentSent: message content went out after DATA's 354 or with a
	// BDAT command (Verb, Size: octets on the wire).
	ContentSent
	// TLSRequested: the server said 220 to STARTTLS; the driver must run the
	// TLS handshake now. Size counts the bytes that had arrived behind the
	// 220 and were thrown away unread: a man in the middle could have put
	// them there to be taken as replies sent over TLS (RFC 3207 §6, the
	// "STARTTLS command injection" of CVE-2011-0411).
	TLSRequested
	// TLSStarted: the driver finished the handshake; EHLO follows. Text
	// is empty when the server's certificate verified, else why it did
	// not (see Client.TLSStarted).
	TLSStarted
	// TLSSkipped: the policy is opportunistic and the session goes on in
	// plaintext, because the server did not offer STARTTLS or refused it
	// (Text says which). Nothing on the wire shows a man in the middle
	// who struck STARTTLS from the EHLO reply: this event is how the one
	// reading the trace learns the message went in clear (RFC 7435 §3,
	// RFC 3207 §6). TLSRequired defers the message instead.
	TLSSkipped
)

func (k EventKind) String() string {
	switch k {
	case CommandSent:
		return "command"
	case ReplyReceived:
		return "reply"
	case ContentSent:
		return "content"
	case TLSRequested:
		return "tls-requested"
	case TLSStarted:
		return "tls-started"
	case TLSSkipped:
		return "tls-skipped"
	}
	return "unknown"
}

// Event is one step of a session, for tracing.
type Event struct {
	Kind EventKind
	// Verb is the command sent, or the one a reply answers ("" for the
	// greeting, AUTH for the lines of an AUTH exchange).
	Verb smtp.Verb
	// Text is the command line as sent, without CRLF.
	Text string
	// Secret is true when Text carries credentials (AUTH): a user interface
	// may mask it.
	Secret bool
	Reply  smtp.Reply
	Size   int
}
