package mta

import (
	"bytes"
	"strings"
	"time"

	"smtplab/engine/mimepart"
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
func (r Received) AppendTo(b []byte) []byte {
	addr := r.FromAddr
	if strings.Contains(addr, ":") {
		addr = "IPv6:" + addr // an address literal carries its tag (RFC 5321 §4.1.3, §4.4)
	}
	for _, part := range [...]string{"Received: from ", r.FromHelo, " (", r.FromHost, " [", addr,
		"])\r\n\tby ", r.By, " with ", r.With, " id ", r.ID} {
		b = append(b, part...)
	}
	if r.For != "" {
		b = append(b, "\r\n\tfor <"...)
		b = append(b, r.For...)
		b = append(b, '>')
	}
	b = append(b, "; "...)
	b = r.At.UTC().AppendFormat(b, time.RFC1123Z)
	return append(b, "\r\n"...)
}

// Prepend returns the Received: header of r followed by msg: each hop adds
// its trace header at the top (RFC 5321 §4.4), never rewriting what is
// below. above are the hop's other trace fields (without CRLF), newest
// first, which go on top of its Received (Received-SPF: RFC 7208 §9.1).
func (r Received) Prepend(msg []byte, above ...string) []byte {
	size := 256 + len(msg)
	for _, f := range above {
		size += len(f) + 2
	}
	out := make([]byte, 0, size)
	for _, f := range above {
		out = append(append(out, f...), '\r', '\n')
	}
	out = r.AppendTo(out)
	return append(out, msg...)
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
func headerValue(msg []byte, name string) string {
	var value string
	found := false
	for len(msg) > 0 {
		line := msg
		if i := bytes.Index(msg, []byte("\r\n")); i >= 0 {
			line, msg = msg[:i], msg[i+2:]
		} else {
			msg = nil
		}
		switch {
		case found && len(line) > 0 && (line[0] == ' ' || line[0] == '\t'):
			value += string(line) // a folded field goes on
		case found || len(line) == 0:
			return strings.TrimSpace(value) // the next field, or the end of the header
		case len(line) > len(name) && line[len(name)] == ':' && bytes.EqualFold(line[:len(name)], []byte(name)):
			value, found = string(line[len(name)+1:]), true
		}
	}
	return strings.TrimSpace(value)
}
