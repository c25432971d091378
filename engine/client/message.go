package client

import (
	"bytes"
	"encoding/binary"
)

// canonical returns msg with every line ending as CRLF and a CRLF at the
// end (RFC 5321 §2.3.8), appending to buf only when msg is not already so.
// BDAT sends the message as it is, and SIZE declares its length, so both
// need the form that goes on the wire; DATA's dot-stuffing would make the
// same change on its own.
func canonical(msg, buf []byte) []byte {
	if len(msg) == 0 || isCanonical(msg) {
		return msg
	}
	buf = buf[:0]
	for i := 0; i < len(msg); i++ {
		switch c := msg[i]; {
		case c == '\n' && (i == 0 || msg[i-1] != '\r'):
			buf = append(buf, '\r', '\n')
		case c == '\r' && (i+1 == len(msg) || msg[i+1] != '\n'):
			buf = append(buf, '\r', '\n') // a bare CR ends a line too
		default:
			buf = append(buf, c)
		}
	}
	if !bytes.HasSuffix(buf, []byte(crlf)) {
		buf = append(buf, crlf...)
	}
	return buf
}

const crlf = "\r\n"

// isCanonical reports whether every CR and every LF of msg is part of a
// CRLF and msg ends with one: each CR is followed by an LF, and there are
// no more LFs than CRs. It reads msg twice, both times with the vectorised
// helpers of package bytes, as messages can be large and every hop's
// client checks the message it relays.
func isCanonical(msg []byte) bool {
	if !bytes.HasSuffix(msg, []byte(crlf)) {
		return false
	}
	crs := 0
	for rest := msg; ; crs++ {
		i := bytes.IndexByte(rest, '\r')
		if i < 0 {
			break
		}
		if i+1 == len(rest) || rest[i+1] != '\n' {
			return false
		}
		rest = rest[i+2:]
	}
	return bytes.Count(msg, []byte{'\n'}) == crs
}

// has8bit reports whether msg has a byte above 127, so it needs
// BODY=8BITMIME (RFC 6152). It looks at eight bytes at a time.
func has8bit(msg []byte) bool {
	const high = 0x8080808080808080
	for len(msg) >= 8 {
		if binary.LittleEndian.Uint64(msg)&high != 0 {
			return true
		}
		msg = msg[8:]
	}
	for _, c := range msg {
		if c >= 0x80 {
			return true
		}
	}
	return false
}

// headerEnd returns where the header of msg, a message with CRLF line
// endings, ends: at the blank line before the body, or at the first line
// that is neither a field ("name:") nor the continuation of one, which a
// reader takes for the body of a message that lacks the blank line. A
// message's own header is what RFC 6532 §3 lets carry UTF-8 only with
// SMTPUTF8 (RFC 6531 §3.4); the header of a part or of an attached
// message/global is body, which 8BITMIME covers.
func headerEnd(msg []byte) int {
	for i := 0; i < len(msg); {
		line := msg[i:]
		if j := bytes.IndexByte(line, '\n'); j >= 0 {
			line = line[:j+1]
		}
		folded := i > 0 && (line[0] == ' ' || line[0] == '\t')
		if !folded && !isFieldLine(line) {
			return i
		}
		i += len(line)
	}
	return len(msg)
}

// isFieldLine reports whether line starts a header field: a name of
// printable ASCII but ':' (RFC 5322 §2.2), then ':'.
func isFieldLine(line []byte) bool {
	for k, c := range line {
		switch {
		case c == ':':
			return k > 0
		case c <= ' ' || c > '~':
			return false
		}
	}
	return false
}
