package server

import "smtplab/engine/smtp"

// EventKind says what an Event records.
type EventKind uint8

const (
	// EventCommand: a command line arrived (Verb, Line). Verb is "" when
	// the line could not be parsed as a command.
	EventCommand EventKind = iota + 1
	// EventAuthResponse: a line answering a 334 AUTH challenge arrived
	// (Line). It carries credentials: a user interface may mask it.
	EventAuthResponse
	// EventReply: a reply was queued in Output (Verb it answers, or ""
	// for the greeting and for replies to no command, such as a timeout;
	// Reply with its Reason).
	EventReply
	// EventMessage: a message was accepted (Message).
	EventMessage
	// EventStartTLS: the server said 220 to STARTTLS. The driver must write
	// Output, run the TLS handshake as the server and then call
	// Session.TLSStarted. Discarded counts the plaintext bytes that had
	// arrived behind STARTTLS and were thrown away unread (CVE-2011-0411).
	EventStartTLS
	// EventClose: the server is done. The driver writes Output and closes
	// the connection. Reply is the last reply sent (221, 421 or 550).
	EventClose
	// EventPolicy: the Policy recorded something while it decided on a
	// command (Policy, see ConnState.Record). It comes after the command
	// and before the reply.
	EventPolicy
)

func (k EventKind) String() string {
	switch k {
	case EventCommand:
		return "command"
	case EventAuthResponse:
		return "auth-response"
	case EventReply:
		return "reply"
	case EventMessage:
		return "message"
	case EventStartTLS:
		return "starttls"
	case EventClose:
		return "close"
	case EventPolicy:
		return "policy"
	}
	return "unknown"
}

// Event is one thing that happened in a Session. Its slices are only
// valid until the next call that feeds the session.
type Event struct {
	Kind      EventKind
	Verb      smtp.Verb
	Line      []byte // the line as received, without its line ending
	Reply     smtp.Reply
	Message   *Message // EventMessage only
	Discarded int
	Policy    any // EventPolicy only: what the policy recorded, for the driver
}

// Message is an accepted message.
type Message struct {
	Envelope Envelope
	// Data is the message as received: dot-stuffing removed, CRLF line
	// ends, no end marker.
	Data    []byte
	QueueID string
}
