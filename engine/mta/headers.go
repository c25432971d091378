package mta

import (
	"bytes"
	"strings"
	"time"

	"smtplab/engine/mimepart"
	"smtplab/engine/smtp"
)

// Received describes one hop for a Received: header (RFC 5321 §4.4).
type Received struct {
	FromHelo string    // the name the client gave in HELO/EHLO
	FromHost string    // the client's host name as the server knows it
	FromAddr string    // the client's IP address
	By       string    // this server
	With     string    // protocol, see Protocol
	ID       string    // queue id
	For      string    // the recipient, when there is one
	At       time.Time // virtual time
}

// Protocol returns the "with" keyword of RFC 3848 for a session: ESMTP when
// EHLO was used, S when TLS was on, A when the client authenticated; and
// UTF8SMTP in place of ESMTP for a message sent with SMTPUTF8 (RFC 6531
// §3.7.3).
func Protocol(ehlo, tls, auth, utf8 bool) string {
	p := "SMTP"
	if ehlo {
		p = "ESMTP"
		if utf8 {
			p = "UTF8SMTP"
		}
		if tls {
			p += "S"
		}
		if auth {
			p += "A"
		}
	}
	return p
}

// String returns the header line, folded like Postfix does, with CRLF.
func (r Received) String() string { return string(r.AppendTo(nil)) }

// AppendTo appends the header line (see String) to b. Every hop of every
// message writes one, so it is built without fmt.
func (r Received) AppendTo(b []byte) []byte { return r.appendTo(b, nil) }

// appendTo is AppendTo, with the date from dates when it is not nil.
func (r Received) appendTo(b []byte, dates *DateCache) []byte {
	b = append(b, "Received: from "...)
	b = append(b, r.FromHelo...)
	b = append(b, " ("...)
	b = append(b, r.FromHost...)
	b = append(b, " ["...)
	if strings.Contains(r.FromAddr, ":") {
		b = append(b, "IPv6:"...) // an address literal carries its tag (RFC 5321 §4.1.3, §4.4)
	}
	for _, part := range [...]string{r.FromAddr, "])\r\n\tby ", r.By, " with ", r.With, " id ", r.ID} {
		b = append(b, part...)
	}
	if r.For != "" {
		b = append(b, "\r\n\tfor <"...)
		b = append(b, r.For...)
		b = append(b, '>')
	}
	b = append(b, "; "...)
	b = dates.Append(b, r.At.UTC())
	return append(b, "\r\n"...)
}

// Prepend returns the Received: header of r followed by msg: each hop adds
// its trace header at the top (RFC 5321 §4.4), never rewriting what is
// below. above are the hop's other trace fields (without CRLF), newest
// first, which go on top of its Received (Received-SPF: RFC 7208 §9.1).
func (r Received) Prepend(msg []byte, above ...string) []byte {
	_, stored := r.stamp(msg, above, "", nil)
	return stored
}

// stamp returns what Prepend does, stored, and the same with the
// Return-Path line of a delivery from sender on top (see
// Mailboxes.Deliver), delivered, in one allocation that fits them
// exactly: stored is the end of delivered. The host keeps stored, and a
// local recipient gets delivered, so that the last hop of a message does
// not copy all of it once more to add one line. The date comes from dates
// when it is not nil.
func (r Received) stamp(msg []byte, above []string, sender string, dates *DateCache) (delivered, stored []byte) {
	var room [512]byte // the Received: line first, to know the size
	received := r.appendTo(room[:0], dates)
	head := len("Return-Path: <>\r\n") + len(sender)
	size := head + len(received) + len(msg)
	for _, f := range above {
		size += len(f) + 2
	}
	out := returnPath(make([]byte, 0, size), sender)
	for _, f := range above {
		out = append(append(out, f...), '\r', '\n')
	}
	out = append(append(out, received...), msg...)
	return out, out[head:]
}

// DateCache holds the last date it wrote, in the form of time.RFC1123Z
// (the form of the Date: and Received: headers): a busy world stamps many
// a message in the same second of its clock, and formatting a time costs
// more than all the rest of the header.
type DateCache struct {
	unix int64          // the second it is of
	loc  *time.Location // and the zone it is written in
	text []byte
}

// Append appends t as time.RFC1123Z writes it. A nil cache formats it
// each time.
func (c *DateCache) Append(b []byte, t time.Time) []byte {
	if c == nil {
		return t.AppendFormat(b, time.RFC1123Z)
	}
	// The layout shows nothing finer than seconds.
	if u, loc := t.Unix(), t.Location(); c.text == nil || u != c.unix || loc != c.loc {
		c.unix, c.loc, c.text = u, loc, t.AppendFormat(c.text[:0], time.RFC1123Z)
	}
	return append(b, c.text...)
}

// Subject returns the text of the first Subject: header of msg as a mail
// program shows it (its encoded-words decoded, RFC 2047), without parsing
// the whole header block, for the trace of every delivery.
func Subject(msg []byte) string { return mimepart.DecodeWords(headerValue(msg, "Subject")) }

// headerValue returns the value of the first header field called name in
// msg, unfolded (RFC 5322 §2.2.3) and trimmed, or "" when there is none.
// It reads the header block line by line without building a map: every
// delivery and every content check asks for one field, of messages that
// may be large.
//
// The header ends where every reader in the lab ends it (see
// mimepart.HeaderEnd): at the empty line, or at the first line that is
// neither a field nor the continuation of one, so that a line of a
// message's text is never read as a field, by the content filter or the
// sender checks, when a mail program would show it as text.
func headerValue(msg []byte, name string) string {
	var value string
	found := false
	for lines := 0; len(msg) > 0; lines++ {
		line := msg
		// The first LF usually ends a CRLF: found here, rather than by
		// indexCRLF, which is not inlined and which only a stray LF needs.
		if i := smtp.IndexByte(msg, '\n'); i > 0 && msg[i-1] == '\r' {
			line, msg = msg[:i-1], msg[i+1:]
		} else if i = indexCRLF(msg); i >= 0 {
			line, msg = msg[:i], msg[i+2:]
		} else {
			msg = nil
		}
		folded := len(line) > 0 && (line[0] == ' ' || line[0] == '\t') && lines > 0
		switch {
		case found && folded:
			value += string(line) // a folded field goes on
		case found || len(line) == 0:
			return strings.TrimSpace(value) // the next field, or the end of the header
		case len(line) > len(name) && line[len(name)] == ':' && bytes.EqualFold(line[:len(name)], []byte(name)):
			value, found = string(line[len(name)+1:]), true
		case len(line) > len(name) && (line[len(name)] == ' ' || line[len(name)] == '\t') &&
			bytes.EqualFold(line[:len(name)], []byte(name)) && mimepart.FieldColon(line) > 0:
			// "From : ..." is a From: field too (obs-optional, RFC 5322
			// §4.5), as mimepart.FieldColon and a mail program read it.
			value, found = string(line[mimepart.FieldColon(line)+1:]), true
		case !folded && mimepart.FieldColon(line) < 0:
			return "" // the first line of the text
		}
	}
	return strings.TrimSpace(value)
}

// indexCRLF is bytes.Index(b, []byte("\r\n")), by way of IndexByte
// (smtp's, which under WebAssembly reads words): over the short lines of a
// header, bytes.Index costs several times more.
func indexCRLF(b []byte) int {
	for i := 0; ; i++ {
		j := smtp.IndexByte(b[i:], '\n')
		if j < 0 {
			return -1
		}
		if i += j; i > 0 && b[i-1] == '\r' {
			return i - 1
		}
	}
}

// headerBound returns the start of msg that holds its header and perhaps
// more: up to its first empty line, where the header ends at the latest
// (mimepart.HeaderEnd). Finding that line costs one search, where finding
// the header's exact end reads it line by line; it is enough for a quick
// look for a field's name, which the field itself, read from the header
// alone, then confirms.
func headerBound(msg []byte) []byte {
	if i := bytes.Index(msg, []byte("\r\n\r\n")); i >= 0 {
		return msg[:i+2]
	}
	return msg
}

// holdsFold reports whether b holds s, ASCII letters compared without
// their case. s is lower-case and holds a hyphen: a hyphen has no case,
// so it is looked for with IndexByte, and s only where one stands.
func holdsFold(b []byte, s string) bool {
	k := strings.IndexByte(s, '-')
	for i := k; i < len(b); i++ {
		j := bytes.IndexByte(b[i:], '-')
		if j < 0 {
			return false
		}
		i += j
		if start := i - k; start+len(s) <= len(b) && lowerEquals(b[start:start+len(s)], s) {
			return true
		}
	}
	return false
}

// lineStartsFold reports whether a line of msg's header starts with
// name, which is lower-case and starts with a letter, ASCII letters
// compared without their case:
// a quick look for a field before the header is read field by field. It
// reads the start of each line only, jumping to the next with one search
// for its end, and stops at the empty line that ends the header: at a
// delivery, which every message meets, this costs a third of a search of
// the whole header for the name (see holdsFold).
func lineStartsFold(msg []byte, name string) bool {
	for i := 0; i < len(msg); {
		line := msg[i:]
		if line[0] == '\r' || line[0] == '\n' {
			return false // the empty line: the header ends here
		}
		if line[0]|0x20 == name[0] && len(line) >= len(name) && lowerEquals(line[:len(name)], name) {
			return true // (0x20 makes a letter lower-case, and name starts with one)
		}
		j := smtp.IndexByte(line, '\n')
		if j < 0 {
			return false
		}
		i += j + 1
	}
	return false
}

// lowerEquals reports whether b, its ASCII letters made lower-case, is s.
func lowerEquals(b []byte, s string) bool {
	for i := range len(s) {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}
