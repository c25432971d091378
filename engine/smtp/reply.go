package smtp

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Reply is one SMTP reply: a three-digit code, an optional enhanced status
// code (RFC 3463) and one or more lines of text.
//
// Reason is not on the wire. It is a stable identifier of why the reply was
// given ("bad-sequence", "relay-denied", ...), so a user interface can look up
// an explanation in plain words and the RFC section it comes from.
type Reply struct {
	Code     int
	Enhanced string // "2.1.5", or "" when the reply has none
	Lines    []string
	Reason   Reason
}

// Class is the first digit of the code: 2 success, 3 intermediate,
// 4 transient failure, 5 permanent failure (RFC 5321 §4.2.1).
func (r Reply) Class() int { return r.Code / 100 }

// Positive reports whether the reply is a 2xx or 3xx.
func (r Reply) Positive() bool { return r.Code >= 200 && r.Code < 400 }

// Transient reports whether the reply is a 4xx: try again later.
func (r Reply) Transient() bool { return r.Code >= 400 && r.Code < 500 }

// Permanent reports whether the reply is a 5xx: do not repeat as is.
func (r Reply) Permanent() bool { return r.Code >= 500 && r.Code < 600 }

// Text returns the lines joined by newlines, without codes.
func (r Reply) Text() string { return strings.Join(r.Lines, "\n") }

// String returns the reply as it appears on the wire, without the final CRLF.
func (r Reply) String() string {
	// Written into an array on the stack first, which holds most replies,
	// so that the string is the only allocation: the text grown from nil
	// took three.
	var buf [256]byte
	wire := r.AppendTo(buf[:0], r.Enhanced != "")
	return string(wire[:len(wire)-len("\r\n")])
}

// WireSafe returns r as it may go on the wire: each line of printable ASCII
// only (RFC 5321 §4.2: a reply's text is HT and octets 32-126, and RFC 6531
// §3.7.4.2 keeps UTF-8 out of replies) and short enough that, with its code
// and enhanced code, it fits in maxLine octets with CRLF (RFC 5321
// §4.5.3.1.5). Other bytes become '?', and a long line is cut and ends in
// "...". It returns r itself, without copying, when r already fits: the
// fixed replies and most policy replies do, and a server answers every
// command.
func (r Reply) WireSafe(maxLine int) Reply {
	room := maxLine - len("ddd ") - len("\r\n")
	if r.Enhanced != "" {
		room -= len(r.Enhanced) + 1
	}
	fine := func(line string) bool {
		if len(line) > room {
			return false
		}
		for i := 0; i < len(line); i++ {
			if c := line[i]; (c < ' ' && c != '\t') || c > '~' {
				return false
			}
		}
		return true
	}
	for i, line := range r.Lines {
		if fine(line) {
			continue
		}
		lines := make([]string, len(r.Lines))
		copy(lines, r.Lines[:i])
		for j := i; j < len(r.Lines); j++ {
			lines[j] = r.Lines[j]
			if !fine(lines[j]) {
				lines[j] = fitLine(lines[j], room)
			}
		}
		r.Lines = lines
		return r
	}
	return r
}

// fitLine makes line printable ASCII of at most room octets (see WireSafe).
func fitLine(line string, room int) string {
	b := []byte(line)
	for i, c := range b {
		if (c < ' ' && c != '\t') || c > '~' {
			b[i] = '?'
		}
	}
	if len(b) > room {
		b = append(b[:max(room-3, 0)], "..."...)
	}
	return string(b)
}

// AppendTo appends the wire form of r to dst: every line but the last is
// "code-text", the last is "code text" (RFC 5321 §4.2.1). When enhanced is
// true and r has an enhanced code, every line carries it after the code, as
// RFC 2034 §4 requires once ENHANCEDSTATUSCODES was advertised.
func (r Reply) AppendTo(dst []byte, enhanced bool) []byte {
	lines := r.Lines
	if len(lines) == 0 {
		lines = []string{""}
	}
	var buf [20]byte
	code := strconv.AppendInt(buf[:0], int64(r.Code), 10) // once, not for every line
	for i, line := range lines {
		dst = append(dst, code...)
		if i < len(lines)-1 {
			dst = append(dst, '-')
		} else {
			dst = append(dst, ' ')
		}
		if enhanced && r.Enhanced != "" {
			dst = append(dst, r.Enhanced...)
			if line != "" {
				dst = append(dst, ' ')
			}
		}
		dst = append(dst, line...)
		dst = append(dst, '\r', '\n')
	}
	return dst
}

// ReplyLine is one parsed line of a reply.
type ReplyLine struct {
	Code int
	More bool   // "-" after the code: more lines follow
	Text string // the text after the separator
}

// ErrBadReply says a line from a server is not "ddd", "ddd text" or "ddd-text".
var ErrBadReply = errors.New("malformed reply line")

// ParseReplyLine parses one reply line (without its CRLF), RFC 5321 §4.2.
func ParseReplyLine(line []byte) (ReplyLine, error) { return parseReplyLine(line) }

// parseReplyLine is ParseReplyLine for a line of octets or of text: the
// Text of a line given as a string is a piece of it, not a copy.
func parseReplyLine[T string | []byte](line T) (ReplyLine, error) {
	var head [4]byte // as much of the line as ReplyCode reads
	code, more, ok := ReplyCode(head[:copy(head[:], line)])
	if !ok {
		return ReplyLine{}, badReplyLine(line)
	}
	rl := ReplyLine{Code: code, More: more}
	if len(line) > 4 { // a client that reads only the code and its separator makes no string
		rl.Text = string(line[4:])
	}
	return rl, nil
}

// ReplyCode reads what ParseReplyLine reads of a reply line but its text:
// the code, and whether more lines follow ("ddd-"). ok is false where
// ParseReplyLine returns an error. A client reads every line of every
// reply with it, the many lines of EHLO's too, and it returns only
// numbers, which cost less to hand back than a ReplyLine.
func ReplyCode(line []byte) (code int, more, ok bool) {
	if len(line) < 3 || line[0] < '2' || line[0] > '5' || !isDigit(line[1]) || !isDigit(line[2]) {
		return 0, false, false
	}
	code = int(line[0]-'0')*100 + int(line[1]-'0')*10 + int(line[2]-'0')
	if len(line) == 3 {
		return code, false, true
	}
	if line[3] != ' ' && line[3] != '-' {
		return 0, false, false
	}
	return code, line[3] == '-', true
}

// badReplyLine says what is wrong with a line ReplyCode refused.
func badReplyLine[T string | []byte](line T) error {
	switch {
	case len(line) < 3:
		return fmt.Errorf("%w: %q is shorter than a code", ErrBadReply, line)
	case line[0] < '2' || line[0] > '5' || !isDigit(line[1]) || !isDigit(line[2]):
		return fmt.Errorf("%w: %q does not start with a code 200-599", ErrBadReply, line)
	}
	return fmt.Errorf("%w: %q has %q after the code", ErrBadReply, line, line[3])
}

// ReplyReader assembles multi-line replies from lines, for a client.
// The zero value is ready to use.
type ReplyReader struct {
	cur     Reply
	started bool
}

// Feed adds one line (without CRLF). It returns the complete reply and true
// when line was the last one. A line whose code differs from the first line
// of the same reply is an error (RFC 5321 §4.2.1: all lines share the code).
func (rr *ReplyReader) Feed(line []byte) (Reply, bool, error) {
	rl, err := ParseReplyLine(line)
	return rr.add(rl, err)
}

// FeedString is Feed for a line held as a string. The reply's lines are
// pieces of it, not copies: a client that keeps the texts of its replies
// in memory of its own makes no string for each line.
func (rr *ReplyReader) FeedString(line string) (Reply, bool, error) {
	rl, err := parseReplyLine(line)
	return rr.add(rl, err)
}

// add is the rest of Feed and FeedString, for the line parsed as rl, or
// not, with err. It is no generic function of the line: a caller in
// another package could then not keep its ReplyReader on the stack.
func (rr *ReplyReader) add(rl ReplyLine, err error) (Reply, bool, error) {
	if err != nil {
		rr.Reset()
		return Reply{}, false, err
	}
	if rr.started && rl.Code != rr.cur.Code {
		rr.Reset()
		return Reply{}, false, fmt.Errorf("%w: code %d inside a %d reply", ErrBadReply, rl.Code, rr.cur.Code)
	}
	if !rr.started && !rl.More {
		// A reply of one line, as most are: its list of lines made at its
		// size, where appending to none went through growslice.
		r := Reply{Code: rl.Code, Lines: []string{rl.Text}}
		r.Enhanced, r.Lines = splitEnhanced(r.Code, r.Lines)
		return r, true, nil
	}
	if !rr.started {
		rr.cur = Reply{Code: rl.Code}
		rr.started = true
	}
	rr.cur.Lines = append(rr.cur.Lines, rl.Text)
	if rl.More {
		return Reply{}, false, nil
	}
	r := rr.cur
	rr.Reset()
	r.Enhanced, r.Lines = splitEnhanced(r.Code, r.Lines)
	return r, true, nil
}

// Reset forgets a partly read reply.
func (rr *ReplyReader) Reset() { rr.cur, rr.started = Reply{}, false }

// splitEnhanced moves an enhanced status code that prefixes every line into
// the Enhanced field. The class digit must match the reply code's (RFC 3463
// §2); otherwise the text is left as it is. The lines are cut in place:
// they belong to the reply being completed.
func splitEnhanced(code int, lines []string) (string, []string) {
	var enh string
	for i, line := range lines {
		e, _, ok := cutEnhanced(line)
		if !ok || int(e[0]-'0') != code/100 || (i > 0 && e != enh) {
			return "", lines
		}
		enh = e
	}
	for i, line := range lines {
		lines[i] = strings.TrimPrefix(line[len(enh):], " ") // every line starts with enh, as checked
	}
	return enh, lines
}

// cutEnhanced splits "2.1.5 rest" into "2.1.5" and "rest".
func cutEnhanced(s string) (code, rest string, ok bool) {
	end := strings.IndexByte(s, ' ')
	if end < 0 {
		end = len(s)
	}
	if !ValidEnhanced(s[:end]) {
		return "", s, false
	}
	return s[:end], strings.TrimPrefix(s[end:], " "), true
}

// ValidEnhanced reports whether s is class.subject.detail per RFC 3463 §2:
// class is 2, 4 or 5; subject is 1-3 digits; detail is 1-3 digits. It
// reads s once, octet by octet: a client checks the enhanced code of every
// reply it keeps.
func ValidEnhanced(s string) bool {
	if len(s) < len("2.0.0") || (s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.' {
		return false
	}
	subject := leadingDigits(s[2:])
	if subject == 0 || subject > 3 || 2+subject == len(s) || s[2+subject] != '.' {
		return false
	}
	detail := s[3+subject:]
	n := leadingDigits(detail)
	return n > 0 && n <= 3 && n == len(detail)
}

// leadingDigits counts the decimal digits s starts with, up to four.
func leadingDigits(s string) int {
	n := 0
	for n < len(s) && n < 4 && isDigit(s[n]) {
		n++
	}
	return n
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
