package client

import (
	"cmp"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"smtplab/engine/smtp"
)

// Envelope is what MAIL and RCPT carry (RFC 5321 §2.3.1): who the message
// is from, for bounces, and who it is for. The DSN fields (RFC 3461) are
// sent only to a server that advertises DSN.
type Envelope struct {
	// From is the reverse-path. The zero Mailbox is the null path "<>",
	// which bounces and other notifications use (RFC 5321 §4.5.5).
	From  smtp.Mailbox
	To    []Recipient
	Ret   string // DSN RET: "FULL" or "HDRS" (what a bounce should return), or ""
	EnvID string // DSN ENVID: the sender's identifier for this transaction, or ""
}

// Recipient is one forward-path with its DSN options.
type Recipient struct {
	// Mailbox is local@domain; a Local of "Postmaster" with no Domain is
	// the special <Postmaster> every server must accept (RFC 5321 §4.5.1).
	Mailbox smtp.Mailbox
	Notify  string // DSN NOTIFY: "NEVER" or a comma list of SUCCESS, FAILURE, DELAY; or ""
	// ORcpt is the DSN ORCPT: the original recipient address, decoded;
	// or "". It is sent as type;xtext (RFC 3461 §4.2), or, for the type
	// utf-8, as RFC 6533 §3 writes it: \x{F6} for ö, or UTF-8 itself in a
	// transaction that uses SMTPUTF8. A value that would pass the 500
	// characters of RFC 3461 §4.2 is left out (RecipientResult.ORcptLeftOut).
	ORcpt string
	// ORcptType is the address type of ORcpt (RFC 3461 §4.2), "rfc822"
	// when empty. A relay passes on the type it received, such as utf-8.
	ORcptType string
}

// ParseEnvelope builds an envelope from addresses written as local@domain
// (no angle brackets); from "" is the null path. Addresses are checked with
// smtp.ParseMailbox, UTF-8 allowed (the session will need SMTPUTF8).
func ParseEnvelope(from string, to ...string) (Envelope, error) {
	opt := smtp.PathOptions{Limits: smtp.DefaultLimits(), UTF8: true}
	var env Envelope
	if from != "" {
		mb, err := smtp.ParseMailbox(from, opt)
		if err != nil {
			return Envelope{}, fmt.Errorf("sender: %w", err)
		}
		env.From = mb
	}
	for _, addr := range to {
		if strings.EqualFold(addr, "postmaster") {
			env.To = append(env.To, Recipient{Mailbox: smtp.Mailbox{Local: addr}})
			continue
		}
		mb, err := smtp.ParseMailbox(addr, opt)
		if err != nil {
			return Envelope{}, fmt.Errorf("recipient: %w", err)
		}
		env.To = append(env.To, Recipient{Mailbox: mb})
	}
	return env, nil
}

// check makes sure every field can be written into a command line as it is:
// no CR, LF or other control byte (which would let an address inject a
// command), no '<', '>' or space outside a quoted local part. Full address
// syntax is the job of whoever built the envelope (ParseEnvelope, or the
// server that received it).
//
// What it refuses is a badEnvelope: no server will ever get this envelope
// from the client, so the message fails for good rather than waiting in a
// queue for a retry that cannot go better.
func (env Envelope) check() error {
	if len(env.To) == 0 {
		return badEnvelope("5.1.3", "client: the envelope has no recipient")
	}
	if env.From != (smtp.Mailbox{}) {
		if err := checkMailbox(env.From, false); err != nil {
			return badEnvelope("5.1.7", "client: sender: "+err.Error())
		}
	}
	for _, r := range env.To {
		if err := checkMailbox(r.Mailbox, true); err != nil {
			return badEnvelope("5.1.3", "client: recipient: "+err.Error())
		}
		if !isWord(r.Notify, ",") {
			return badEnvelope("5.5.4", fmt.Sprintf("client: recipient %s: NOTIFY %q is not a comma list of words", r.Mailbox, r.Notify))
		}
		if hasControl(r.ORcpt) {
			return badEnvelope("5.5.4", fmt.Sprintf("client: recipient %s: ORCPT has a control character", r.Mailbox))
		}
		if !isWord(r.ORcptType, "-0123456789") {
			return badEnvelope("5.5.4", fmt.Sprintf("client: recipient %s: ORCPT address type %q is not a name like rfc822", r.Mailbox, r.ORcptType))
		}
		utf8Type := strings.EqualFold(r.ORcptType, "utf-8")
		if utf8Type && !utf8.ValidString(r.ORcpt) {
			return badEnvelope("5.5.4", fmt.Sprintf("client: recipient %s: ORCPT of type utf-8 is not UTF-8", r.Mailbox))
		}
		// RFC 3461 §4.2: printable ASCII before the xtext; an address
		// beyond ASCII has the type utf-8 (RFC 6533 §3).
		if !utf8Type && !smtp.IsASCII(r.ORcpt) {
			return badEnvelope("5.5.4", fmt.Sprintf("client: recipient %s: an ORCPT beyond ASCII must have the type utf-8, not %s (RFC 3461 §4.2, RFC 6533 §3)", r.Mailbox, cmp.Or(r.ORcptType, "rfc822")))
		}
	}
	if !isWord(env.Ret, "") {
		return badEnvelope("5.5.4", fmt.Sprintf("client: RET %q is not a word", env.Ret))
	}
	if hasControl(env.EnvID) {
		return badEnvelope("5.5.4", "client: ENVID has a control character")
	}
	return nil
}

// badEnvelope is the Error for an envelope the client cannot write, with
// the RFC 3463 status of the part at fault: X.1.7 the sender's address,
// X.1.3 a recipient's (or none at all), X.5.4 a DSN parameter (invalid
// command arguments).
func badEnvelope(enhanced, text string) *Error {
	return &Error{Status: Bounced, Enhanced: enhanced, Reason: ReasonBadEnvelopeBytes, Text: text}
}

func checkMailbox(mb smtp.Mailbox, rcpt bool) error {
	if mb.Local == "" {
		return errors.New("the local part is empty")
	}
	if mb.Domain == "" && !(rcpt && strings.EqualFold(mb.Local, "postmaster")) {
		return fmt.Errorf("%q has no domain", mb.Local)
	}
	if !writable(mb.Local, mb.Local[0] != '"') {
		return fmt.Errorf("local part %q cannot be written in a command", mb.Local)
	}
	if !writable(mb.Domain, true) {
		return fmt.Errorf("domain %q cannot be written in a command", mb.Domain)
	}
	return nil
}

// writable reports whether s has no control byte and, when strict, no
// space, '<' or '>' either: the bytes that would end a path or a command.
func writable(s string, strict bool) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c > '>' && c != 0x7f {
			continue // letters, '@' and beyond: most of an address, one test
		}
		if c < 0x20 || c == 0x7f || strict && (c == ' ' || c == '<' || c == '>') {
			return false
		}
	}
	return true
}

func hasControl(s string) bool { return !writable(s, false) }

// isWord reports whether s is empty or only ASCII letters and the bytes in
// extra.
func isWord(s, extra string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || strings.IndexByte(extra, c) >= 0) {
			return false
		}
	}
	return true
}

// needsUTF8 reports whether an address of the envelope has a non-ASCII
// character, which only a server offering SMTPUTF8 may receive (RFC 6531).
func (env Envelope) needsUTF8() bool {
	if !smtp.IsASCII(env.From.Local) || !smtp.IsASCII(env.From.Domain) {
		return true
	}
	for _, r := range env.To {
		if !smtp.IsASCII(r.Mailbox.Local) || !smtp.IsASCII(r.Mailbox.Domain) {
			return true
		}
	}
	return false
}

// orcptValue is the value of r's ORCPT parameter, "addr-type;address" as
// written on the wire: the address in xtext (RFC 3461 §4.2), or, for the
// type utf-8, as RFC 6533 §3 writes it, UTF-8 itself when unitext (the
// transaction uses SMTPUTF8), else \x{F6} for ö; never xtext's +C3+B6,
// which means something else there. The type goes as it was given, so a
// relay passes on the one it received; rfc822 when none was.
func orcptValue(r Recipient, unitext bool) string {
	typ := r.ORcptType
	if typ == "" {
		typ = "rfc822"
	}
	if strings.EqualFold(typ, "utf-8") {
		return typ + ";" + smtp.EncodeUTF8Addr(r.ORcpt, unitext)
	}
	return typ + ";" + smtp.EncodeXtext(r.ORcpt)
}

// appendMailbox writes local@domain (or a bare local part, for Postmaster).
func appendMailbox(dst []byte, mb smtp.Mailbox) []byte {
	dst = append(dst, mb.Local...)
	if mb.Domain != "" {
		dst = append(dst, '@')
		dst = append(dst, mb.Domain...)
	}
	return dst
}
