package smtp

// AppendDotStuffed appends msg to dst as the body of a DATA command
// (RFC 5321 §4.5.2): every line that starts with "." gets a second ".",
// lone LFs become CRLF, the text ends with CRLF, and the ".\r\n" end marker
// follows.
func AppendDotStuffed(dst, msg []byte) []byte {
	atLineStart := true
	for i := 0; i < len(msg); i++ {
		c := msg[i]
		if atLineStart && c == '.' {
			dst = append(dst, '.')
		}
		switch {
		case c == '\n' && (i == 0 || msg[i-1] != '\r'):
			dst = append(dst, '\r', '\n')
		case c == '\r' && (i+1 >= len(msg) || msg[i+1] != '\n'):
			dst = append(dst, '\r', '\n') // a bare CR is a line break too
			c = '\n'
		default:
			dst = append(dst, c)
		}
		atLineStart = c == '\n'
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
