package client

import (
	"bytes"
	"strings"
)

// Extensions are what a server advertised in its EHLO reply (RFC 5321
// §4.1.1.1: one keyword per line after the first, with parameters).
type Extensions struct {
	Size                int64 // SIZE limit in octets (RFC 1870); 0 means no limit given
	SizeOffered         bool
	Pipelining          bool      // RFC 2920
	EightBitMIME        bool      // RFC 6152
	SMTPUTF8            bool      // RFC 6531
	Chunking            bool      // RFC 3030 BDAT
	DSN                 bool      // RFC 3461
	StartTLS            bool      // RFC 3207
	EnhancedStatusCodes bool      // RFC 2034
	Auth                Mechanism // RFC 4954: the mechanisms we know among those offered
	AuthOffered         bool      // AUTH was advertised, even with no mechanism we know
}

// Mechanism is a SASL mechanism for AUTH, or a set of them (bits).
type Mechanism uint8

// The mechanisms the client can use, from the most to the least preferred.
const (
	// CRAMMD5 (RFC 2195) proves knowledge of the password with an HMAC-MD5
	// of the server's challenge; the password itself never crosses the wire.
	CRAMMD5 Mechanism = 1 << iota
	// PLAIN (RFC 4616) sends the user name and password, base64-encoded:
	// readable by anyone who sees the bytes, so only over TLS.
	PLAIN
	// LOGIN is the older, never standardised form of PLAIN in two steps.
	LOGIN
)

// lastMechanism ends a loop over the mechanisms, which run from the most
// preferred (CRAMMD5) to the least (LOGIN) as the bits grow.
const lastMechanism = LOGIN

// name returns the wire name of a single mechanism.
func (m Mechanism) name() string {
	switch m {
	case CRAMMD5:
		return "CRAM-MD5"
	case PLAIN:
		return "PLAIN"
	case LOGIN:
		return "LOGIN"
	}
	return ""
}

// String returns the wire name of one mechanism, or the names of a set
// separated by spaces.
func (m Mechanism) String() string {
	var names []string
	for k := Mechanism(1); k <= lastMechanism; k <<= 1 {
		if m&k != 0 {
			names = append(names, k.name())
		}
	}
	return strings.Join(names, " ")
}

// best returns the most preferred mechanism in the set, or 0.
func (m Mechanism) best() Mechanism {
	for k := Mechanism(1); k <= lastMechanism; k <<= 1 {
		if m&k != 0 {
			return k
		}
	}
	return 0
}

// parseEHLO reads the extensions from a complete EHLO reply, given as its
// raw lines each ending in CRLF. The first line is the server's name and
// greeting; keywords are case-insensitive. Unknown keywords are ignored, as
// RFC 5321 §4.1.1.1 asks.
func parseEHLO(raw []byte) Extensions {
	var x Extensions
	for first := true; len(raw) > 0; first = false {
		end := bytes.IndexByte(raw, '\n')
		if end < 0 {
			end = len(raw) - 1
		}
		line := raw[:end]
		for len(line) > 0 && line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
		raw = raw[end+1:]
		if first || len(line) < 5 {
			continue
		}
		// The keyword ends at a space, or at an '=' as some old servers
		// wrote AUTH ("AUTH=LOGIN PLAIN"). It is upper-cased into up as
		// it is read, in one pass; one too long for up is none this
		// client knows.
		text := line[4:]
		var up [24]byte
		n := 0
		for ; n < len(text) && n < len(up) && text[n] != ' ' && text[n] != '='; n++ {
			c := text[n]
			if c >= 'a' && c <= 'z' {
				c -= 'a' - 'A'
			}
			up[n] = c
		}
		var params []byte
		switch {
		case n == len(text):
		case text[n] == ' ' || text[n] == '=':
			params = text[n+1:]
		default:
			continue
		}
		switch string(up[:n]) {
		case "SIZE":
			x.SizeOffered = true
			x.Size = parseSize(bytes.TrimSpace(params))
		case "PIPELINING":
			x.Pipelining = true
		case "8BITMIME":
			x.EightBitMIME = true
		case "SMTPUTF8":
			x.SMTPUTF8 = true
		case "CHUNKING":
			x.Chunking = true
		case "DSN":
			x.DSN = true
		case "STARTTLS":
			x.StartTLS = true
		case "ENHANCEDSTATUSCODES":
			x.EnhancedStatusCodes = true
		case "AUTH":
			x.AuthOffered = true
			for name := range bytes.FieldsSeq(params) {
				for k := Mechanism(1); k <= lastMechanism; k <<= 1 {
					if bytes.EqualFold(name, []byte(k.name())) {
						x.Auth |= k
					}
				}
			}
		}
	}
	return x
}

// ehloMemo keeps the last few EHLO replies a Client parsed, with what they
// advertised. A client that a driver reuses (Reset) talks to the same few
// servers again and again, and a server's keyword lines are the same
// octets every time: comparing them costs a tenth of parsing them again.
// Only the lines after the first are compared, as only they are parsed;
// the first holds the greeting, which may name the client.
type ehloMemo struct {
	entries [4]ehloEntry
	next    int // the entry the next new reply replaces
}

type ehloEntry struct {
	keywords []byte // the reply's lines after the first, CRLF included
	ext      Extensions
}

// parse returns parseEHLO(raw), from the memo when its keyword lines are
// those of a reply parsed before.
func (m *ehloMemo) parse(raw []byte) Extensions {
	keywords := raw
	if i := bytes.IndexByte(raw, '\n'); i >= 0 {
		keywords = raw[i+1:]
	}
	for i := range m.entries {
		if e := &m.entries[i]; e.keywords != nil && bytes.Equal(e.keywords, keywords) {
			return e.ext
		}
	}
	e := &m.entries[m.next]
	m.next = (m.next + 1) % len(m.entries)
	e.keywords = append(e.keywords[:0], keywords...)
	e.ext = parseEHLO(raw)
	return e.ext
}

// known returns the keyword lines of a reply in the memo that pending
// starts with, those of a reply with the given code (its three digits), or
// nil. They were read whole and held to the rules of a reply when they
// came first (see Client.knownEHLO).
func (m *ehloMemo) known(pending, code []byte) []byte {
	for i := range m.entries {
		if e := &m.entries[i]; len(e.keywords) > 0 && bytes.HasPrefix(pending, e.keywords) && bytes.HasPrefix(e.keywords, code) {
			return e.keywords
		}
	}
	return nil
}

// parseSize reads the decimal limit after SIZE; anything else (no number,
// a sign, an overflow) counts as "no limit given".
func parseSize(b []byte) int64 {
	if len(b) == 0 || len(b) > 18 {
		return 0
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + int64(c-'0')
	}
	return n
}
