package dns

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// SyntaxError reports a zone-file line Parse could not read.
type SyntaxError struct {
	Line int    // 1-based line number
	Err  error  // what is wrong
	Text string // the line itself
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("zone line %d: %v", e.Line, e.Err) }
func (e *SyntaxError) Unwrap() error { return e.Err }

// Parse reads records written one per line in a small subset of the RFC 1035
// §5.1 master-file format:
//
//	example.org.      3600 IN MX 10 mx1.example.org.
//	mx1.example.org.  A    192.0.2.10
//	example.net.      MX   0 .
//	example.org.      TXT  "v=spf1 mx -all"
//	_25._tcp.mx1.example.org. TLSA 3 1 1 0123...ef
//
// The TTL and the class (always IN) are optional and may come in either
// order. Every name is absolute, with or without its trailing dot; there is
// no $ORIGIN, no "@" and no owner carried over from the line before. A ';'
// starts a comment. TXT data is either quoted strings, concatenated as DNS
// does (RFC 7208 §3.3), or bare words, joined by one space.
func Parse(text string) ([]Record, error) {
	var records []Record
	for i, line := range strings.Split(text, "\n") {
		r, ok, err := parseLine(strings.TrimSuffix(line, "\r"))
		if err != nil {
			return nil, &SyntaxError{Line: i + 1, Err: err, Text: line}
		}
		if ok {
			records = append(records, r)
		}
	}
	return records, nil
}

// ParseRecord reads one record in the format Parse reads.
func ParseRecord(line string) (Record, error) {
	r, ok, err := parseLine(line)
	if err == nil && !ok {
		err = errors.New("no record on the line")
	}
	return r, err
}

// token is one word of a zone line; quoted words may hold spaces and ';'.
type token struct {
	text   string
	quoted bool
}

// parseLine reads one line; ok is false for a blank or comment-only line.
func parseLine(line string) (r Record, ok bool, err error) {
	toks, err := tokenize(line)
	if err != nil || len(toks) == 0 {
		return Record{}, false, err
	}
	if toks[0].quoted {
		return Record{}, false, errors.New("the owner name may not be quoted")
	}
	r.Name = toks[0].text
	rest := toks[1:]
	// Up to two fields before the type: a TTL and the class, in any order.
	sawTTL, sawClass := false, false
	for len(rest) > 0 && !rest[0].quoted {
		word := rest[0].text
		if !sawTTL && isDigits(word) {
			ttl, err := strconv.ParseUint(word, 10, 32)
			if err != nil {
				return Record{}, false, fmt.Errorf("bad TTL %q", word)
			}
			r.TTL, sawTTL = uint32(ttl), true
		} else if !sawClass && strings.EqualFold(word, "IN") {
			sawClass = true
		} else if !sawClass && isClass(word) {
			return Record{}, false, fmt.Errorf("class %s: only IN (Internet) exists here", strings.ToUpper(word))
		} else {
			break
		}
		rest = rest[1:]
	}
	if len(rest) == 0 || rest[0].quoted {
		return Record{}, false, errors.New("missing record type")
	}
	r.Type = Type(strings.ToUpper(rest[0].text))
	if err := parseData(&r, rest[1:]); err != nil {
		return Record{}, false, err
	}
	r, err = r.normalize()
	return r, err == nil, err
}

// parseData fills r's type-specific fields from the words after the type.
func parseData(r *Record, data []token) error {
	least, most, takes := shape(r.Type)
	if least == 0 {
		return fmt.Errorf("unknown record type %q (known: A, AAAA, MX, TXT, TLSA, CNAME)", r.Type)
	}
	if len(data) < least || len(data) > most {
		return fmt.Errorf("%s takes %s", r.Type, takes)
	}
	if r.Type != TXT {
		for _, t := range data {
			if t.quoted {
				return fmt.Errorf("%s data may not be quoted", r.Type)
			}
		}
	}
	var err error
	switch r.Type {
	case A, AAAA:
		r.Addr = data[0].text
	case CNAME:
		r.Target = data[0].text
	case MX:
		pref, err := strconv.ParseUint(data[0].text, 10, 16)
		if err != nil {
			return fmt.Errorf("MX preference %q is not a number from 0 to 65535", data[0].text)
		}
		r.Pref, r.Target = uint16(pref), data[1].text
	case TXT:
		r.Text, err = txtData(data)
	case TLSA:
		var n [3]uint64
		for i, name := range []string{"usage", "selector", "matching type"} {
			if n[i], err = strconv.ParseUint(data[i].text, 10, 8); err != nil {
				return fmt.Errorf("TLSA %s %q is not a number from 0 to 255", name, data[i].text)
			}
		}
		r.Usage, r.Selector, r.Matching = uint8(n[0]), uint8(n[1]), uint8(n[2])
		for _, t := range data[3:] { // hex may be split into several words
			r.Cert += t.text
		}
	}
	return err
}

// shape says how many words the data of a type has, at least and at most,
// and what they are; least is 0 for an unknown type.
func shape(t Type) (least, most int, takes string) {
	const many = math.MaxInt
	switch t {
	case A:
		return 1, 1, "one IPv4 address"
	case AAAA:
		return 1, 1, "one IPv6 address"
	case CNAME:
		return 1, 1, "one target name"
	case MX:
		return 2, 2, "a preference and a target name"
	case TXT:
		return 1, many, "one or more strings"
	case TLSA:
		return 4, many, "usage, selector, matching type and hex data"
	}
	return 0, 0, ""
}

// txtData joins TXT words: quoted strings are concatenated like DNS
// character-strings, bare words are joined by a space, mixing is an error.
func txtData(data []token) (string, error) {
	var parts []string
	for _, t := range data {
		if t.quoted != data[0].quoted {
			return "", errors.New(`TXT: quote every string or none`)
		}
		parts = append(parts, t.text)
	}
	if data[0].quoted {
		return strings.Join(parts, ""), nil
	}
	return strings.Join(parts, " "), nil
}

// tokenize splits a line into words at spaces and tabs, stopping at a ';'
// comment. Inside double quotes, spaces and ';' are data and backslash
// escapes a character or writes a byte as \DDD (RFC 1035 §5.1).
func tokenize(line string) ([]token, error) {
	var toks []token
	for i := 0; i < len(line); {
		switch c := line[i]; {
		case c == ' ' || c == '\t':
			i++
		case c == ';':
			return toks, nil
		case c == '"':
			text, n, err := unquote(line[i:])
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{text: text, quoted: true})
			i += n
		default:
			j := i
			for j < len(line) && !strings.ContainsRune(" \t;\"", rune(line[j])) {
				j++
			}
			toks = append(toks, token{text: line[i:j]})
			i = j
		}
	}
	return toks, nil
}

// unquote reads the quoted string at the start of s and returns its value
// and how many bytes of s it took.
func unquote(s string) (string, int, error) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; c {
		case '"':
			return b.String(), i + 1, nil
		case '\\':
			if i+3 < len(s) && isDigits(s[i+1:i+4]) {
				n, _ := strconv.Atoi(s[i+1 : i+4])
				if n > 255 {
					return "", 0, fmt.Errorf(`escape \%s is not a byte`, s[i+1:i+4])
				}
				b.WriteByte(byte(n))
				i += 3
			} else if i+1 < len(s) {
				b.WriteByte(s[i+1])
				i++
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", 0, errors.New("unterminated quoted string")
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func isClass(s string) bool {
	switch strings.ToUpper(s) {
	case "CH", "CS", "HS", "ANY":
		return true
	}
	return false
}
