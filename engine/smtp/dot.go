package smtp

import "bytes"

// AppendDotStuffed appends msg to dst as the body of a DATA command
// (RFC 5321 §4.5.2): every line that starts with "." gets a second ".",
// lone LFs become CRLF, the text ends with CRLF, and the ".\r\n" end marker
// follows.
func AppendDotStuffed(dst, msg []byte) []byte {
	atLineStart := true
	for len(msg) > 0 {
		if atLineStart && msg[0] == '.' {
			dst = append(dst, '.')
		}
		// Find the end of the line with two fast byte searches: the LF, and
		// any CR before it that is not the CR of a CRLF (a bare CR ends a
		// line too).
		line, next := msg, []byte(nil)
		if nl := bytes.IndexByte(msg, '\n'); nl >= 0 {
			line, next = msg[:nl], msg[nl+1:]
			if len(line) > 0 && line[len(line)-1] == '\r' {
				line = line[:len(line)-1]
			}
		}
		if cr := bytes.IndexByte(line, '\r'); cr >= 0 {
			line, next = msg[:cr], msg[cr+1:]
		}
		if next == nil && len(line) == len(msg) {
			dst = append(dst, msg...) // the last line has no line break
			atLineStart = false
			break
		}
		dst = append(dst, line...)
		dst = append(dst, '\r', '\n')
		msg = next
		atLineStart = true
	}
	if !atLineStart {
		dst = append(dst, '\r', '\n')
	}
	return append(dst, '.', '\r', '\n')
}

// Unstuff reverses dot-stuffing for one line of DATA (without its CRLF).
// end is true for the lone "." that ends the message.
func Unstuff(line []byte) (text []byte, end bool) {
	if len(line) == 1 && line[0] == '.' {
		return nil, true
	}
	if len(line) > 0 && line[0] == '.' {
		return line[1:], false
	}
	return line, false
}
