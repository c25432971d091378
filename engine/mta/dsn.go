package mta

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"

	"smtplab/engine/mimepart"
	"smtplab/engine/smtp"
)

// The actions a DSN reports for a recipient (RFC 3464 §2.3.3).
const (
	ActionFailed    = "failed"    // the message could not be delivered and will not be tried again
	ActionDelayed   = "delayed"   // not delivered yet; the queue keeps trying
	ActionDelivered = "delivered" // put into the recipient's mailbox
	// ActionRelayed: handed to a host that does not advertise DSN, so no
	// further notification will come (RFC 3461 §5.2.2).
	ActionRelayed = "relayed"
)

// RecipientStatus is one recipient a delivery status notification reports
// on.
type RecipientStatus struct {
	Recipient string // the recipient as this host received it
	// Original is the recipient's ORCPT as "addr-type;address" (RFC 3461
	// §4.2), the address decoded, "" when the sender gave none. A classic
	// DSN writes one of type utf-8 \x{F6} for ö, a global one as it is
	// (RFC 6533 §3).
	Original  string
	Action    string // ActionFailed, ActionDelayed, ActionDelivered or ActionRelayed
	Status    string // enhanced status code, e.g. "5.1.1"
	Remote    string // the host that answered, if any
	Diagnosis string // the reply as received, e.g. "550 5.1.1 no such user"; "" for none
	// RetryUntil, for a delayed recipient, is when the queue gives up.
	RetryUntil time.Time
	// Tried, for a failed recipient the queue gave up on, is how long it
	// kept trying; 0 for a recipient refused outright.
	Tried time.Duration
}

// DSN is everything a delivery status notification needs.
type DSN struct {
	ReportingMTA string    // the host writing the report
	To           string    // the original envelope sender
	QueueID      string    // the reported message's queue id
	MessageID    string    // Message-ID of the DSN itself
	EnvID        string    // the sender's ENVID (RFC 3461 §4.4), "" when not given
	Arrived      time.Time // when the original message was queued
	At           time.Time // now (virtual)
	Recipients   []RecipientStatus
	Original     []byte // the original message
	// Full returns the whole original message (RET=FULL, RFC 3461 §4.3)
	// instead of only its header.
	Full bool
}

// wording is what the DSN says to people for the action of its first
// recipient: a host sends one DSN per kind of news, as Postfix does, so a
// report of success never reads like a bounce.
func wording(action string) (subject string, intro []string) {
	switch action {
	case ActionDelayed:
		return "Delayed Mail (still being retried)", []string{
			"Your message could not be delivered yet to the recipients below.",
			"This is only a warning: the mail system keeps trying, and you",
			"do not need to send the message again.",
		}
	case ActionDelivered, ActionRelayed:
		return "Successful Mail Delivery Report", []string{
			"Your message was delivered to the recipients below, or handed",
			"to a system that will not report on it any further.",
		}
	}
	return "Undelivered Mail Returned to Sender", []string{
		"I'm sorry to have to inform you that your message could not",
		"be delivered to one or more recipients.",
	}
}

// Global reports whether the DSN must be a global one (RFC 6533): whether
// a recipient's address, a diagnosis or the original header is not ASCII,
// which a message/delivery-status, a text/rfc822-headers or a
// message/rfc822 part may not carry (RFC 3464 §2.1, RFC 6522, RFC 5322).
// The lab's own words in a diagnosis do not make it one (see
// RecipientStatus.diagnosis). Nor does an ORCPT of type utf-8 alone: its
// 7-bit form (utf-8-addr-xtext, RFC 6533 §3) fits a classic report; nor a
// sender that is not ASCII, which only the DSN's own envelope and To: name.
func (d DSN) Global() bool {
	for _, r := range d.Recipients {
		if !smtp.IsASCII(r.Recipient) || !smtp.IsASCII(r.diagnosis()) {
			return true
		}
	}
	_, body := mimepart.Headers(d.Original)
	return !smtp.IsASCII(string(d.Original[:body]))
}

// Build returns a delivery status notification (RFC 3464) as a
// multipart/report message (RFC 6522): a part in plain words for people, a
// message/delivery-status part for programs, and the original header (or,
// with Full, the whole original message).
//
// When the DSN is Global it is the one of RFC 6533 instead:
// report-type=global-delivery-status, a message/global-delivery-status part
// whose fields may be UTF-8 (a Final-Recipient that is not ASCII has type
// utf-8, and an address of type utf-8 is written as it is, utf-8-address,
// §3), and message/global or message/global-headers for the original. A
// part with octets beyond ASCII says Content-Transfer-Encoding: 8bit, so
// the DSN needs 8BITMIME on its way, and SMTPUTF8 too when its recipient's
// address or the original's header it returns is not ASCII (a header at any
// level of the MIME structure, RFC 6531 §3.2), as engine/client decides.
// A next hop without 8BITMIME or SMTPUTF8 gets it from engine/client
// converted to 7 bits, each of its 8-bit parts quoted-printable, as RFC
// 6533 §6 allows and asks for where the return path lacks SMTPUTF8
// (message/global may be so encoded, RFC 6532 §3.5): a DSN refused would
// be lost, as bounces are never bounced (RFC 5321 §6.1).
// It is deterministic: the boundary is derived from the queue id.
func (d DSN) Build() []byte {
	global := d.Global()
	boundary := "dsn-" + d.QueueID + "/" + d.ReportingMTA
	for bytes.Contains(d.Original, []byte(boundary)) {
		boundary += "_" // it may not occur in a part it separates (RFC 2046 §5.1.1)
	}
	reportType, statusType, textCharset := "delivery-status", "message/delivery-status", "us-ascii"
	if global {
		reportType, statusType, textCharset = "global-delivery-status", "message/global-delivery-status", "utf-8"
	}
	var m bytes.Buffer
	w := func(format string, args ...any) { fmt.Fprintf(&m, format+"\r\n", args...) }
	w("From: Mail Delivery System <MAILER-DAEMON@%s>", d.ReportingMTA)
	w("To: <%s>", d.To)
	w("Subject: %s", d.subject())
	w("Date: %s", d.At.UTC().Format(time.RFC1123Z))
	w("Message-ID: <%s>", d.MessageID)
	w("Auto-Submitted: auto-replied")
	w("MIME-Version: 1.0")
	w("Content-Type: multipart/report; report-type=%s;\r\n\tboundary=\"%s\"", reportType, boundary)
	w("")
	w("This is a MIME-encapsulated message.")
	w("")
	// A part: its Content-Type, and Content-Transfer-Encoding: 8bit when
	// its content has octets beyond ASCII (RFC 2045 §6.1): a global DSN's
	// parts, or a classic DSN's message/rfc822 returning an 8-bit body,
	// which must say so (RFC 2046 §5.2.1).
	part := func(contentType string, content []byte) {
		w("--%s", boundary)
		w("Content-Type: %s", contentType)
		if !smtp.IsASCII(string(content)) {
			w("Content-Transfer-Encoding: 8bit")
		}
		w("")
		m.Write(content)
	}
	part("text/plain; charset="+textCharset, d.forPeople())
	part(statusType, d.forPrograms(global))
	part(d.returned(global))
	if !bytes.HasSuffix(m.Bytes(), []byte("\r\n")) {
		m.WriteString("\r\n")
	}
	m.WriteString("\r\n") // the CRLF before a boundary belongs to the boundary
	w("--%s--", boundary)
	return m.Bytes()
}

// action is what the DSN reports: its first recipient's action, as every
// recipient of one DSN has the same (Host.report writes one for each).
func (d DSN) action() string {
	if len(d.Recipients) > 0 {
		return d.Recipients[0].Action
	}
	return ActionFailed
}

// subject is the DSN's Subject.
func (d DSN) subject() string {
	subject, _ := wording(d.action())
	return subject
}

// forPeople is the first part, in plain words: what happened to each
// recipient, as Postfix writes it.
func (d DSN) forPeople() []byte {
	var p bytes.Buffer
	pw := func(format string, args ...any) { fmt.Fprintf(&p, format+"\r\n", args...) }
	pw("This is the mail system at host %s.", d.ReportingMTA)
	pw("")
	_, intro := wording(d.action())
	for _, line := range intro {
		pw("%s", line)
	}
	pw("")
	for _, r := range d.Recipients {
		pw("<%s>: %s", r.Recipient, r.explanation())
		if r.Tried > 0 && r.Action == ActionFailed {
			pw("    The mail system kept trying for %s and has now given up.", Words(r.Tried))
		}
	}
	pw("")
	return p.Bytes()
}

// forPrograms is the second part, the delivery-status fields (RFC 3464
// §2.2 and §2.3, in that order, extensions last): global, those of RFC
// 6533, where an address beyond ASCII is written as it is.
func (d DSN) forPrograms(global bool) []byte {
	var p bytes.Buffer
	pw := func(format string, args ...any) { fmt.Fprintf(&p, format+"\r\n", args...) }
	if d.EnvID != "" {
		pw("Original-Envelope-Id: %s", d.EnvID)
	}
	pw("Reporting-MTA: dns; %s", d.ReportingMTA)
	pw("Arrival-Date: %s", d.Arrived.UTC().Format(time.RFC1123Z))
	pw("X-Queue-ID: %s", d.QueueID)
	for _, r := range d.Recipients {
		pw("")
		if r.Original != "" {
			typ, addr, _ := strings.Cut(r.Original, ";")
			if strings.EqualFold(typ, "utf-8") && !global {
				// RFC 6533 §3: in its 7-bit form, \x{F6} for ö
				// (utf-8-addr-xtext), so this part stays ASCII. A
				// global report has the address as it is
				// (utf-8-address).
				addr = smtp.EncodeUTF8Addr(addr, false)
			}
			pw("Original-Recipient: %s; %s", typ, addr)
		}
		if smtp.IsASCII(r.Recipient) {
			pw("Final-Recipient: rfc822; %s", r.Recipient)
		} else {
			// RFC 6533 §3: an address that is not ASCII has type
			// utf-8, written as it is in a global report.
			pw("Final-Recipient: utf-8; %s", r.Recipient)
		}
		pw("Action: %s", r.Action)
		pw("Status: %s", r.Status)
		if r.Remote != "" {
			pw("Remote-MTA: dns; %s", r.Remote)
		}
		if r.Diagnosis != "" {
			pw("Diagnostic-Code: %s; %s", diagnosticType(r.Diagnosis), fold(r.diagnosis()))
		}
		if !r.RetryUntil.IsZero() {
			pw("Will-Retry-Until: %s", r.RetryUntil.UTC().Format(time.RFC1123Z))
		}
	}
	pw("")
	return p.Bytes()
}

// returned is the third part, its type and content: the original message
// with Full (RET=FULL), else its header alone.
func (d DSN) returned(global bool) (contentType string, content []byte) {
	switch {
	case d.Full && global:
		return "message/global", d.Original
	case d.Full:
		return "message/rfc822", d.Original
	}
	_, body := mimepart.Headers(d.Original)
	header := append(bytes.TrimRight(d.Original[:body:body], "\r\n"), "\r\n"...)
	if global {
		return "message/global-headers", header
	}
	return "text/rfc822-headers", header
}

// explanation is the line the plain-words part gives a recipient. Only a
// reply is what the remote host "said"; anything else is what this host
// found itself (a certificate that failed its check, a connection that was
// refused or lost), said as such, as Postfix does.
func (r RecipientStatus) explanation() string {
	diag := fold(r.diagnosis())
	switch {
	case r.Action == ActionDelivered && diag == "":
		return "delivered to mailbox"
	case r.Action == ActionRelayed:
		return fmt.Sprintf("relayed to host %s, which does not send delivery status notifications (no DSN in its EHLO reply); it said: %s", r.Remote, diag)
	case r.Remote != "" && diagnosticType(r.Diagnosis) == "smtp":
		return fmt.Sprintf("host %s said: %s", r.Remote, diag)
	case r.Remote != "" && !strings.Contains(diag, r.Remote):
		return fmt.Sprintf("%s (while talking to host %s)", diag, r.Remote)
	}
	return diag
}

// diagnosis is r.Diagnosis as the DSN writes it. A server's reply is
// quoted as it came. The lab's own words (a failure no server replied,
// typed X-SMTP-Lab) cite RFC sections with "§", the one character beyond
// ASCII they hold, which alone would make the report a global one (RFC
// 6533) with 8-bit parts, where a real MTA writes a classic report for
// a message and addresses in ASCII: there it is written "section".
func (r RecipientStatus) diagnosis() string {
	if diagnosticType(r.Diagnosis) == "smtp" || smtp.IsASCII(r.Diagnosis) {
		return r.Diagnosis
	}
	// "§5.1" and "§ 5.1" alike become "section 5.1".
	return strings.ReplaceAll(strings.ReplaceAll(r.Diagnosis, "§ ", "§"), "§", "section ")
}

// Words writes a duration the way a person would say it: "5 minutes",
// "2 hours 30 minutes", "5 days", "1 minute 30 seconds". Units smaller
// than the largest two are left out.
func Words(d time.Duration) string {
	if d < time.Second {
		return "less than a second"
	}
	units := [...]struct {
		size time.Duration
		name string
	}{{24 * time.Hour, "day"}, {time.Hour, "hour"}, {time.Minute, "minute"}, {time.Second, "second"}}
	// Written into an array on the stack, the string the only allocation:
	// a greylisting server says it in every reply that defers a client.
	var buf [64]byte
	b, parts := buf[:0], 0
	for _, u := range units {
		if d >= u.size && parts < 2 {
			n := int(d / u.size)
			d -= time.Duration(n) * u.size
			if parts++; parts == 2 {
				b = append(b, ' ')
			}
			b = append(strconv.AppendInt(b, int64(n), 10), ' ')
			b = append(b, u.name...)
			if n != 1 {
				b = append(b, 's')
			}
		} else if parts > 0 {
			break // "1 day 3 seconds" says less than "1 day"
		}
	}
	return string(b)
}

// fold writes a diagnosis of several lines, such as a multi-line SMTP
// reply, as one folded field value: each line break becomes CRLF and a
// space, which a reader unfolds back into one line (RFC 5322 §2.2.3). A bare
// line break would end the field, and the next line of the reply would be
// read as a field of its own, breaking the message/delivery-status syntax
// (RFC 3464 §2.1).
func fold(s string) string {
	lines := strings.FieldsFunc(s, func(r rune) bool { return r == '\r' || r == '\n' })
	kept := lines[:0]
	for _, l := range lines {
		if l = strings.TrimSpace(l); l != "" {
			kept = append(kept, l)
		}
	}
	return strings.Join(kept, "\r\n ")
}

// diagnosticType names what a diagnosis is (RFC 3464 §2.3.6): "smtp" for a
// server's reply, which starts with its three-digit code; anything else
// (a connection that failed, a DNS answer) is the lab's own words, and
// says so with an X- type, as Postfix writes X-Postfix.
func diagnosticType(diagnosis string) string {
	if len(diagnosis) >= 4 && (diagnosis[3] == ' ' || diagnosis[3] == '-') && isReplyCode(diagnosis[:3]) {
		return "smtp"
	}
	return "X-SMTP-Lab"
}

func isReplyCode(s string) bool {
	return s[0] >= '2' && s[0] <= '5' && s[1] >= '0' && s[1] <= '9' && s[2] >= '0' && s[2] <= '9'
}
