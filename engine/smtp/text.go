package smtp

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"runtime"
)

// LineEnds is what ScanLineEnds finds in a piece of a message's text about
// the rules that a server holds every message to (RFC 5321 §2.3.8, §4.1.4)
// and that a client needs to know before it sends one: every line ends
// with CRLF, and no octet is NUL.
type LineEnds struct {
	NUL    bool // an octet is NUL
	BareCR bool // a CR is followed by something other than LF
	BareLF bool // an LF follows something other than CR
	// CR: the piece ends with a CR whose LF, if any, is the first octet
	// of the next piece. At the end of the text it is a bare CR.
	CR bool
}

// ScanLineEnds reads p, the piece of a message's text that follows the
// pieces ends was found in, and adds to ends what p holds (a text may come
// in pieces cut anywhere, as BDAT chunks do): its NULs, its bare CRs and
// LFs, and whether it ends with a CR. With NUL set already, it need not
// look for NULs.
//
// Messages are most of what a simulated world moves, and their text is
// read at every hop, by the client that sends it and the server that
// takes it. The searches of package bytes use the processor's vector
// instructions, but under WebAssembly they look at one octet at a time:
// there ScanLineEnds reads eight at a time, as words (scanWords), and
// elsewhere it searches (scanSearching).
func ScanLineEnds(ends LineEnds, p []byte) LineEnds {
	switch {
	case len(p) == 0:
		return ends
	case wordsAtATime:
		return scanWords(ends, p)
	}
	return scanSearching(ends, p)
}

// wordsAtATime: ScanLineEnds reads words rather than use package bytes.
const wordsAtATime = runtime.GOARCH == "wasm"

// IndexByte is bytes.IndexByte, which under WebAssembly looks at one
// octet at a time: there it reads eight at a time (indexByteWords). The
// line readers of every session search each line for its end with it.
func IndexByte(p []byte, c byte) int {
	if wordsAtATime {
		return indexByteWords(p, c)
	}
	return bytes.IndexByte(p, c)
}

// lineEndWords returns where the first line of p ends, the place of its
// LF, or -1 when p holds no LF; and strayCR, whether a CR comes before that
// LF other than right before it. It reads p once, eight octets at a time,
// for either octet (crOrLFWords), where Next elsewhere searches for the LF,
// then the line before it for a CR: under WebAssembly, where a search is
// a loop of its own, the second search of every line cost as much as the
// first.
func lineEndWords(p []byte) (nl int, strayCR bool) {
	i := crOrLFWords(p)
	switch {
	case i < 0:
		return -1, false
	case p[i] == '\n':
		return i, false
	case i+1 < len(p) && p[i+1] == '\n':
		return i + 1, false // the CR of a CRLF
	}
	if nl = indexByteWords(p[i+1:], '\n'); nl < 0 {
		return -1, false
	}
	return i + 1 + nl, true
}

// crOrLFWords returns the place of the first CR or LF of p, or -1, reading
// eight octets at a time as indexByteWords does.
func crOrLFWords(p []byte) int {
	i := 0
	for ; i+8 <= len(p); i += 8 {
		if at, ok := firstCROrLF(binary.LittleEndian.Uint64(p[i:])); ok {
			return i + at
		}
	}
	if i < len(p) && len(p) >= 8 {
		// The octets this word shares with the one before hold neither.
		i = len(p) - 8
		if at, ok := firstCROrLF(binary.LittleEndian.Uint64(p[i:])); ok {
			return i + at
		}
		return -1
	}
	for ; i < len(p); i++ {
		if p[i] == '\r' || p[i] == '\n' {
			return i
		}
	}
	return -1
}

// firstCROrLF is firstOctet for either octet, CR or LF: the lowest top bit
// of each test is that of its first match, so the lowest of both is the
// first of either.
func firstCROrLF(w uint64) (int, bool) {
	cr, lf := w^(ones*'\r'), w^(ones*'\n')
	zeros := ((cr-ones)&^cr | (lf-ones)&^lf) & highs
	return bits.TrailingZeros64(zeros) / 8, zeros != 0
}

// indexByteWords is IndexByte eight octets at a time, read as words.
// What is left past the last whole word is read as the word that ends
// p, when p holds one, rather than an octet at a time: under WebAssembly
// every turn of a loop costs far more than the test in it, and a line
// reader's search mostly ends in those last few octets.
func indexByteWords(p []byte, c byte) int {
	i := 0
	for ; i+8 <= len(p); i += 8 {
		if at, ok := firstOctet(binary.LittleEndian.Uint64(p[i:]), c); ok {
			return i + at
		}
	}
	if i < len(p) && len(p) >= 8 {
		// The octets this word shares with the one before hold no c.
		i = len(p) - 8
		if at, ok := firstOctet(binary.LittleEndian.Uint64(p[i:]), c); ok {
			return i + at
		}
		return -1
	}
	for ; i < len(p); i++ {
		if p[i] == c {
			return i
		}
	}
	return -1
}

// scanSearching is ScanLineEnds with the searches of package bytes: one
// for the NULs, one for each CR, to see what follows it, and a count of
// the LFs, which are bare when there are more of them than CRs they follow.
func scanSearching(ends LineEnds, p []byte) LineEnds {
	crlfs := 0 // the LFs that follow a CR
	if ends.CR {
		if p[0] == '\n' {
			crlfs++
		} else {
			ends.BareCR = true
		}
	}
	ends.CR = false
	ends.NUL = ends.NUL || bytes.IndexByte(p, 0) >= 0 // not looked for again once found
	// p[at:] is still to search.
	for at := 0; ; {
		i := bytes.IndexByte(p[at:], '\r')
		if i < 0 {
			break
		}
		at += i + 1
		switch {
		case at == len(p):
			ends.CR = true
		case p[at] == '\n':
			crlfs++
			at++
		default:
			ends.BareCR = true
		}
	}
	ends.BareLF = ends.BareLF || bytes.Count(p, []byte{'\n'}) != crlfs
	return ends
}

// scanWords is ScanLineEnds eight octets at a time, each eight read as a
// word in plain Go (the compiler makes one load of it).
func scanWords(ends LineEnds, p []byte) LineEnds {
	// In the words below, octet i of p is bits 8i to 8i+7 of its word: an
	// LF that ends a line sits eight bits above its CR, or, for a CR in
	// the last octet of a word, in the first octet of the next word, where
	// carry puts the CR.
	var carry uint64
	if ends.CR {
		carry = 0x80
	}
	for len(p) >= 8 {
		w := binary.LittleEndian.Uint64(p)
		p = p[8:]
		// Most words of a text hold no octet below 0x0e, so no NUL, CR or
		// LF, and follow no CR: nothing to look at. (The test is exact
		// as a whole, though not octet by octet.)
		if carry == 0 && (w-ones*0x0e)&^w&highs == 0 {
			continue
		}
		carry = ends.word(w, 8, carry)
	}
	if len(p) > 0 {
		var w uint64
		for i, c := range p {
			w |= uint64(c) << (8 * i)
		}
		carry = ends.word(w, len(p), carry)
	}
	ends.CR = carry != 0
	return ends
}

// word adds to ends what the first n octets of w hold, and returns carry
// for the next word: the top bit of its first octet set when w's last
// octet is a CR. carry is that of the word before.
func (ends *LineEnds) word(w uint64, n int, carry uint64) uint64 {
	valid := ^uint64(0) >> (64 - 8*n) // the bits of w's octets: the rest are zeros, not NULs
	cr, lf := octetsEqual(w, '\r'), octetsEqual(w, '\n')
	want := (cr<<8 | carry) & valid // where the LFs of w's CRs must be
	ends.NUL = ends.NUL || octetsEqual(w, 0)&valid != 0
	ends.BareLF = ends.BareLF || lf&^want != 0
	ends.BareCR = ends.BareCR || want&^lf != 0
	return cr >> (8 * (n - 1)) & 0x80
}

// firstOctet returns the place of the first octet of w, read as a
// little-endian word, that is c, and whether there is one.
func firstOctet(w uint64, c byte) (int, bool) {
	w ^= ones * uint64(c) // the octets equal to c are zero
	// The lowest top bit this sets is that of the first zero octet (the
	// borrow may set some above it, never below).
	zeros := (w - ones) &^ w & highs
	return bits.TrailingZeros64(zeros) / 8, zeros != 0
}

// The constants of the word tests: each octet 1, and each octet's top bit.
const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// octetsEqual returns w with the top bit of every octet equal to c set,
// and every other bit clear: exact, unlike the shorter test whose borrow
// marks some octets after a match too.
func octetsEqual(w uint64, c byte) uint64 {
	const low7 = 0x7f7f7f7f7f7f7f7f
	x := w ^ ones*uint64(c) // the octets equal to c are zero
	return ^((x&low7 + low7) | x | low7)
}
