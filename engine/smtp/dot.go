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
		// Copy the rest of the line in one go; only line breaks need care.
		i := bytes.IndexAny(msg, "\r\n")
		if i < 0 {
			dst = append(dst, msg...)
			atLineStart = false
			break
		}
		dst = append(dst, msg[:i]...)
		dst = append(dst, '\r', '\n') // CRLF, LF and a bare CR all end a line
		if msg[i] == '\r' && i+1 < len(msg) && msg[i+1] == '\n' {
			i++
		}
		msg = msg[i+1:]
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
