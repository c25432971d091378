package mta

import (
	"slices"
	"strings"
	"unicode/utf8"

	"smtplab/engine/smtp"
)

// textTable hands out the strings the trace's command and reply events
// carry, and the addresses a host keeps of each message it takes. A
// world's sessions say the same few things over and over (the same EHLO
// and its reply, MAIL FROM and RCPT TO for every message of a run, from
// and to the same few people), and each would otherwise be copied into a
// new string: a text met before is given out again instead. Only short
// texts are kept, and the table is emptied when it fills, so that a
// client that never repeats itself cannot make it grow.
type textTable struct {
	texts map[string]string
	// joins holds the last few replies of several lines that were
	// joined, and their texts: those are the EHLO replies of the few
	// servers of a world, the same lines at every session, and comparing
	// lines with those kept (mostly the very same strings, which compare
	// at once) costs less than copying them out and hashing the copy.
	joins    [4]joinedLines
	nextJoin int // the entry of joins the next new reply replaces
	// addrs are the last two addresses written (see address): every
	// transaction asks for its sender's and its recipient's at RCPT and
	// at DATA, at every hop, and mostly of the same people, and two
	// comparisons of a few octets cost less than writing the address out
	// and hashing it to look it up.
	addrs    [2]keptAddress
	nextAddr int // the entry of addrs the next new address replaces
}

// keptAddress is one entry of textTable.addrs.
type keptAddress struct {
	m    smtp.Mailbox
	text string
	// parsed is text read back as parseAddress reads it, once asked for
	// (see mailbox); it need not be m.
	parsed     smtp.Mailbox
	parsedDone bool
}

// joinedLines is one entry of textTable.joins.
type joinedLines struct {
	lines []string // a copy: a caller may reuse the slice it gave
	text  string
}

// The bounds of a textTable: how long a text it keeps may be, and how
// many it keeps.
const (
	maxKeptText  = 512
	maxKeptTexts = 1024
)

// text returns b as a string.
func (t *textTable) text(b []byte) string {
	if len(b) > maxKeptText {
		return string(b)
	}
	if s, ok := t.texts[string(b)]; ok { // no copy: the compiler looks up b as it is
		return s
	}
	if t.texts == nil || len(t.texts) == maxKeptTexts {
		t.texts = make(map[string]string)
	}
	s := string(b)
	t.texts[s] = s
	return s
}

// joined returns lines joined by newlines, as strings.Join(lines, "\n")
// does: the text of a reply of several lines, such as an EHLO reply.
func (t *textTable) joined(lines []string) string {
	switch len(lines) {
	case 0:
		return ""
	case 1:
		return lines[0]
	}
	for i := range t.joins {
		if j := &t.joins[i]; slices.Equal(j.lines, lines) {
			return j.text
		}
	}
	j := &t.joins[t.nextJoin]
	t.nextJoin = (t.nextJoin + 1) % len(t.joins)
	j.lines = append(j.lines[:0], lines...)
	j.text = t.join(lines)
	return j.text
}

// join is joined without looking at the replies joined before.
func (t *textTable) join(lines []string) string {
	var buf [maxKeptText]byte
	b := buf[:0]
	for i, line := range lines {
		if len(b)+1+len(line) > len(buf) {
			return strings.Join(lines, "\n")
		}
		if i > 0 {
			b = append(b, '\n')
		}
		b = append(b, line...)
	}
	return t.text(b)
}

// address returns m.String(), local@domain.
func (t *textTable) address(m smtp.Mailbox) string {
	if m.Domain == "" || len(m.Local)+len("@")+len(m.Domain) > maxKeptText {
		return m.String()
	}
	for _, a := range t.addrs {
		if a.m == m {
			return a.text
		}
	}
	var room [maxKeptText]byte
	text := t.text(append(append(append(room[:0], m.Local...), '@'), m.Domain...))
	t.addrs[t.nextAddr] = keptAddress{m: m, text: text}
	t.nextAddr = (t.nextAddr + 1) % len(t.addrs)
	return text
}

// mailbox returns parseAddress(addr). An address the queue takes in is
// mostly one that address wrote lately (the sender's, a recipient's), and
// parsing it again at every hop cost more than finding it there: what it
// parsed to is kept with it.
func (t *textTable) mailbox(addr string) smtp.Mailbox {
	for i := range t.addrs {
		if a := &t.addrs[i]; a.text == addr && addr != "" {
			if !a.parsedDone {
				a.parsed, a.parsedDone = parseAddress(addr), true
			}
			return a.parsed
		}
	}
	return parseAddress(addr)
}

// lower returns strings.ToLower(s). The addresses, domains and host names
// a host keys its maps with are nearly always lower-case ASCII already,
// and lower finds that out eight octets at a time, where ToLower tests
// every octet: a message passes several such keys at every hop.
func lower(s string) string {
	const (
		ones = 0x0101010101010101
		high = 0x8080808080808080
	)
	rest := s
	for len(rest) >= 8 {
		w := uint64(rest[0]) | uint64(rest[1])<<8 | uint64(rest[2])<<16 | uint64(rest[3])<<24 |
			uint64(rest[4])<<32 | uint64(rest[5])<<40 | uint64(rest[6])<<48 | uint64(rest[7])<<56
		// With every octet below 0x80, adding 0x80-'A' sets an octet's
		// high bit when it is 'A' or more, and adding 0x80-'Z'-1 when it
		// is beyond 'Z'; no sum carries into the next octet.
		upper := (w + (0x80-'A')*ones) &^ (w + (0x80-'Z'-1)*ones)
		if (w|upper)&high != 0 {
			return strings.ToLower(s)
		}
		rest = rest[8:]
	}
	for i := 0; i < len(rest); i++ {
		if c := rest[i]; c >= utf8.RuneSelf || 'A' <= c && c <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
}
