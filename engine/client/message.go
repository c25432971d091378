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
