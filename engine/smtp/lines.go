package smtp

import "bytes"

// LineFlaw says what was wrong with a line the LineReader returned.
type LineFlaw uint8

const (
	// LineOK: the line ended with CRLF and holds no other CR or LF.
	LineOK LineFlaw = iota
	// LineBareLF: the line ended with a LF that had no CR before it. RFC 5321
	// §2.3.8 allows only CRLF; accepting bare LF is what the 2023 "SMTP
	// smuggling" attacks exploit, so the server refuses such lines.
	LineBareLF
	// LineBareCR: the line holds a CR that is not followed by LF.
	LineBareCR
	// LineTooLong: the line was longer than the limit. Its bytes past the
	// limit were thrown away as they arrived, so memory stays bounded and the
	// next line is read in sync.
	LineTooLong
)

func (f LineFlaw) String() string {
	switch f {
	case LineOK:
		return "ok"
	case LineBareLF:
		return "bare LF"
	case LineBareCR:
		return "bare CR"
	case LineTooLong:
		return "too long"
	}
	return "unknown"
}

// LineReader splits a byte stream into lines, sans-IO: the caller feeds it
// whatever bytes arrived, in any chunking, and takes complete lines out. It
// never holds more than the current limit plus one read's worth of bytes.
type LineReader struct {
	buf     []byte
	start   int  // first unread byte of buf
	max     int  // longest line allowed, CRLF included
	tooLong bool // the current line passed max: its bytes are being dropped
}

// NewLineReader returns a reader for lines of at most max octets, CRLF
// included.
func NewLineReader(max int) *LineReader { return &LineReader{max: max} }

// SetMax changes the line limit, e.g. from 512 for commands to 1000 for
// message text.
func (r *LineReader) SetMax(max int) { r.max = max }

// Feed appends bytes that arrived.
func (r *LineReader) Feed(p []byte) {
	if r.start > 0 && r.start == len(r.buf) {
		r.buf, r.start = r.buf[:0], 0
	} else if r.start > 0 && len(r.buf)+len(p) > cap(r.buf) {
		n := copy(r.buf, r.buf[r.start:])
		r.buf, r.start = r.buf[:n], 0
	}
	r.buf = append(r.buf, p...)
	r.dropOverlong()
}

// dropOverlong enforces the limit on a line whose end has not arrived yet.
func (r *LineReader) dropOverlong() {
	pending := r.buf[r.start:]
	if len(pending) <= r.max || IndexByte(pending, '\n') >= 0 {
		return // the length first: it is mostly enough
	}
	r.tooLong = true
	// Keep the first max bytes, so the caller sees the same start of the line
	// however it was chunked, and the last byte seen: if it is a CR it may be
	// the first half of the CRLF that ends the line, and if it is not, the
	// line must not look CRLF-terminated just because the kept prefix
	// happens to end with a CR.
	last := pending[len(pending)-1]
	r.buf = append(r.buf[:r.start+r.max], last)
}

// Next returns the next complete line without its line ending. The slice is
// only valid until the next Feed. ok is false when no complete line is
// buffered.
func (r *LineReader) Next() (line []byte, flaw LineFlaw, ok bool) {
	pending := r.buf[r.start:]
	var nl int
	var strayCR bool // known only under WebAssembly: elsewhere the line is searched
	if wordsAtATime {
		nl, strayCR = lineEndWords(pending)
	} else {
		nl = bytes.IndexByte(pending, '\n')
	}
	if nl < 0 {
		return nil, LineOK, false
	}
	line = pending[:nl]
	r.start += nl + 1
	if r.start == len(r.buf) {
		r.buf, r.start = r.buf[:0], 0
	}
	switch {
	case len(line) > 0 && line[len(line)-1] == '\r':
		line = line[:len(line)-1]
		if strayCR || !wordsAtATime && bytes.IndexByte(line, '\r') >= 0 {
			flaw = LineBareCR
		}
	default:
		flaw = LineBareLF
	}
	if r.tooLong || len(line)+2 > r.max {
		r.tooLong = false
		if len(line) > r.max {
			line = line[:r.max]
		}
		// A bare LF wins over the length: it ends the line where a CRLF
		// would not, which is what SMTP smuggling relies on, so the caller
		// must see it even on an overlong line.
		if flaw == LineBareLF {
			return line, LineBareLF, true
		}
		return line, LineTooLong, true
	}
	return line, flaw, true
}

// TextLines takes at once the complete lines buffered at the front that are
// plain message text, as a DATA reader could take them one by one from Next
// with nothing to do but keep them: each ends with CRLF and holds no other
// CR or LF, holds at most max octets besides its CRLF (and at most what Next
// allows), and does not start with "." (which is dot-stuffed, or the end of
// the message). It takes them whole, at most room octets of them, and
// returns them with their CRLFs, and how many lines that is; the first line
// it leaves is for Next. The slice is only valid until the next Feed.
//
// A message's text is most of what a server reads, nearly all of it in such
// lines: taken in one block, it costs one search for the end of each line
// and one copy, where Next and the caller looked at every line several
// times over.
func (r *LineReader) TextLines(max, room int) (text []byte, lines int) {
	if r.tooLong { // the first line is being cut: Next says so
		return nil, 0
	}
	max = min(max, r.max-2)
	pending := r.buf[r.start:]
	n := 0 // octets of pending taken
	for {
		nl := IndexByte(pending[n:], '\n')
		if nl < 1 || nl-1 > max || n+nl+1 > room || pending[n] == '.' || pending[n+nl-1] != '\r' {
			break
		}
		n += nl + 1
		lines++
	}
	if bytes.Count(pending[:n], []byte{'\r'}) != lines {
		// A line holds a bare CR: take the lines before it (rare, so it
		// is looked for line by line only now).
		n, lines = 0, 0
		for {
			nl := bytes.IndexByte(pending[n:], '\n')
			if bytes.IndexByte(pending[n:n+nl-1], '\r') >= 0 {
				break
			}
			n += nl + 1
			lines++
		}
	}
	text = pending[:n]
	r.start += n
	if r.start == len(r.buf) {
		r.buf, r.start = r.buf[:0], 0
	}
	return text, lines
}

// Buffered returns how many bytes are waiting.
func (r *LineReader) Buffered() int { return len(r.buf) - r.start }

// Discard throws away everything buffered and returns how many bytes that
// was. The server calls it after "220 Ready to start TLS": bytes a client
// pipelined behind STARTTLS arrived in plaintext and must not be treated as
// if they came over TLS (CVE-2011-0411).
func (r *LineReader) Discard() int {
	n := r.Buffered()
	r.buf, r.start, r.tooLong = r.buf[:0], 0, false
	return n
}

// Pending returns the bytes buffered after the last line returned, without
// taking them: a client that knows what is likely to come (the same EHLO
// reply from the same server) compares them, and Takes them whole. The
// slice is only valid until the next Feed.
func (r *LineReader) Pending() []byte { return r.buf[r.start:] }

// Take removes and returns up to n buffered bytes, for BDAT chunks, which
// are counted in octets rather than lines (RFC 3030 §2). The slice is only
// valid until the next Feed.
func (r *LineReader) Take(n int) []byte {
	pending := r.buf[r.start:]
	if n > len(pending) {
		n = len(pending)
	}
	out := pending[:n]
	r.start += n
	return out
}
