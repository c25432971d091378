package client

import (
	"bytes"
	"encoding/binary"
	"net/textproto"
	"slices"
	"strings"

	"smtplab/engine/mimepart"
	"smtplab/engine/smtp"
)

// canonical returns msg with every line ending as CRLF and a CRLF at the
// end (RFC 5321 §2.3.8), appending to buf only when msg is not already so.
// BDAT sends the message as it is, and SIZE declares its length, so both
// need the form that goes on the wire; DATA's dot-stuffing would make the
// same change on its own.
func canonical(msg, buf []byte) []byte {
	if len(msg) == 0 {
		return msg
	}
	if onlyCRLF(msg) {
		if bytes.HasSuffix(msg, []byte(crlf)) {
			return msg
		}
		// All it lacks is the CRLF at the end, as a text typed or made
		// without a last line break does: copied whole.
		return append(append(buf[:0], msg...), crlf...)
	}
	buf = buf[:0]
	for len(msg) > 0 {
		// The text up to the first CR or LF goes in one piece: two
		// vectorised searches, the LF and a CR before it, instead of a
		// test of every byte. A bare CR ends a line too.
		line := msg
		if nl := bytes.IndexByte(msg, '\n'); nl >= 0 {
			line = msg[:nl]
		}
		if cr := bytes.IndexByte(line, '\r'); cr >= 0 {
			line = msg[:cr]
		}
		buf = append(buf, line...)
		if len(line) == len(msg) {
			break // the last line has no line ending
		}
		buf = append(buf, crlf...)
		end := len(line) + 1
		if msg[len(line)] == '\r' && end < len(msg) && msg[end] == '\n' {
			end++ // a CRLF
		}
		msg = msg[end:]
	}
	if !bytes.HasSuffix(buf, []byte(crlf)) {
		buf = append(buf, crlf...)
	}
	return buf
}

const crlf = "\r\n"

// isCanonical reports whether every CR and every LF of msg is part of a
// CRLF and msg ends with one.
func isCanonical(msg []byte) bool {
	return bytes.HasSuffix(msg, []byte(crlf)) && onlyCRLF(msg)
}

// onlyCRLF reports whether every CR and every LF of msg is part of a
// CRLF. It reads msg a word at a time (smtp.ScanLineEnds), as messages
// can be large and every hop's client checks the message it relays.
func onlyCRLF(msg []byte) bool {
	ends := smtp.ScanLineEnds(smtp.LineEnds{NUL: true}, msg) // NULs do not matter here: not looked for
	return !ends.BareCR && !ends.BareLF && !ends.CR
}

// has8bit reports whether msg has a byte above 127, so it needs
// BODY=8BITMIME (RFC 6152). It looks at eight bytes at a time, and tests
// four of those words at once, as every session of a relay reads the
// whole message.
func has8bit(msg []byte) bool {
	const high = 0x8080808080808080
	le := binary.LittleEndian
	for len(msg) >= 32 {
		if (le.Uint64(msg)|le.Uint64(msg[8:])|le.Uint64(msg[16:])|le.Uint64(msg[24:]))&high != 0 {
			return true
		}
		msg = msg[32:]
	}
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

// hasUTF8Header reports whether msg has a header with octets beyond ASCII
// (raw UTF-8, not RFC 2047 encoded-words) at any level of its MIME
// structure: its own header, a body part's, or the header of a message
// carried whole inside it (message/global, message/rfc822) in a transfer
// encoding that leaves it as it is. RFC 6531 §3.2 lets only a transaction
// that uses SMTPUTF8 carry such a message, "at any level within its MIME
// structure"; UTF-8 in content needs 8BITMIME only (RFC 6152).
func hasUTF8Header(msg []byte) bool {
	// Where the header ends is mimepart's rule, the one every reader in
	// the lab uses: the mailbox view, the content filter, the 7-bit
	// conversion.
	end, start := mimepart.HeaderEnd(msg)
	if has8bit(msg[:end]) {
		return true
	}
	body := msg[start:]
	if !has8bit(body) {
		return false
	}
	hdr, _ := mimepart.Headers(msg[:end])
	return nestedUTF8Header(mimepart.Part{Header: hdr, Body: body}, maxMIMEDepth)
}

// MIME structure deeper or wider than these is not opened: a message
// that needs it is rare, and one built to be costly to read must not be.
const (
	maxMIMEDepth = 8
	maxMIMEParts = 100
)

// nestedUTF8Header reports whether a header inside part p, whose own
// header has been looked at, has octets beyond ASCII (see hasUTF8Header),
// opening at most depth levels.
func nestedUTF8Header(p mimepart.Part, depth int) bool {
	if depth == 0 || !has8bit(p.Body) {
		return false
	}
	inner := func(hdr textproto.MIMEHeader, body []byte) bool {
		for name, values := range hdr {
			if has8bit([]byte(name)) || slices.ContainsFunc(values, func(v string) bool { return has8bit([]byte(v)) }) {
				return true
			}
		}
		return nestedUTF8Header(mimepart.Part{Header: hdr, Body: body}, depth-1)
	}
	mediaType, _ := mimepart.Params(p.Header.Get("Content-Type"))
	switch mediaType {
	case "message/global", "message/rfc822", "message/global-headers":
		switch strings.ToLower(p.Header.Get("Content-Transfer-Encoding")) {
		case "", "7bit", "8bit", "binary":
			hdr, start := mimepart.Headers(p.Body)
			return inner(hdr, p.Body[min(start, len(p.Body)):])
		}
		return false // base64 or quoted-printable: 7-bit on the wire
	}
	if strings.HasPrefix(mediaType, "multipart/") {
		for _, part := range p.Parts(maxMIMEParts) {
			if inner(part.Header, part.Body) {
				return true
			}
		}
	}
	return false
}
