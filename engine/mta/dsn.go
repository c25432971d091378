package mta

import (
	"bytes"
	"fmt"
	"time"
)

// Failure is one recipient a delivery status notification reports on.
type Failure struct {
	Recipient string // the original recipient
	Status    string // enhanced status code, e.g. "5.1.1"
	Remote    string // the host that said no, if any
	Diagnosis string // the reply as received, e.g. "550 5.1.1 no such user"
	Action    string // "failed" or "delayed" (RFC 3464 §2.3.3)
}

// Bounce is everything a DSN needs.
type Bounce struct {
	ReportingMTA string    // the host writing the report
	To           string    // the original envelope sender
	QueueID      string    // the failed message's queue id
	MessageID    string    // Message-ID of the DSN itself
	Arrived      time.Time // when the original message was queued
	At           time.Time // now (virtual)
	Failures     []Failure
	Original     []byte // the original message; only its header goes back
}

// Build returns a delivery status notification (RFC 3464) as a
// multipart/report message (RFC 6522): a part in plain words for people, a
// message/delivery-status part for programs, and the original header.
// It is deterministic: the boundary is derived from the queue id.
func (b Bounce) Build() []byte {
	boundary := "dsn-" + b.QueueID + "/" + b.ReportingMTA
	date := b.At.UTC().Format(time.RFC1123Z)
	var m bytes.Buffer
	w := func(format string, args ...any) { fmt.Fprintf(&m, format+"\r\n", args...) }
	w("From: Mail Delivery System <MAILER-DAEMON@%s>", b.ReportingMTA)
	w("To: <%s>", b.To)
	w("Subject: Undelivered Mail Returned to Sender")
	w("Date: %s", date)
	w("Message-ID: <%s>", b.MessageID)
	w("Auto-Submitted: auto-replied")
	w("MIME-Version: 1.0")
	w("Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"%s\"", boundary)
	w("")
	w("This is a MIME-encapsulated message.")
	w("")
	w("--%s", boundary)
	w("Content-Type: text/plain; charset=us-ascii")
	w("")
	w("This is the mail system at host %s.", b.ReportingMTA)
	w("")
	w("I'm sorry to have to inform you that your message could not")
	w("be delivered to one or more recipients.")
	w("")
	for _, f := range b.Failures {
		if f.Remote != "" {
			w("<%s>: host %s said: %s", f.Recipient, f.Remote, f.Diagnosis)
		} else {
			w("<%s>: %s", f.Recipient, f.Diagnosis)
		}
	}
	w("")
	w("--%s", boundary)
	w("Content-Type: message/delivery-status")
	w("")
	w("Reporting-MTA: dns; %s", b.ReportingMTA)
	w("X-Queue-ID: %s", b.QueueID)
	w("Arrival-Date: %s", b.Arrived.UTC().Format(time.RFC1123Z))
	for _, f := range b.Failures {
		w("")
		w("Final-Recipient: rfc822; %s", f.Recipient)
		w("Action: %s", f.Action)
		w("Status: %s", f.Status)
		if f.Remote != "" {
			w("Remote-MTA: dns; %s", f.Remote)
		}
		w("Diagnostic-Code: smtp; %s", f.Diagnosis)
	}
	w("")
	w("--%s", boundary)
	w("Content-Type: text/rfc822-headers")
	w("")
	_, body := Headers(b.Original)
	header := bytes.TrimRight(b.Original[:body], "\r\n")
	m.Write(header)
	m.WriteString("\r\n\r\n")
	w("--%s--", boundary)
	return m.Bytes()
}
