package smtp

import (
	"fmt"
	"strconv"
	"strings"
)

// Param is one ESMTP parameter of MAIL or RCPT: KEY or KEY=VALUE
// (RFC 5321 §4.1.2 esmtp-param). Key is upper-cased; Value is as sent.
type Param struct {
	Key   string
	Value string
	Set   bool // "=VALUE" was present
}

// Params is the parameter list of one command, in the order sent.
type Params []Param

// Get returns the value of key (case-insensitive) and whether it was given.
func (ps Params) Get(key string) (string, bool) {
	for _, p := range ps {
		if strings.EqualFold(p.Key, key) {
			return p.Value, true
		}
	}
	return "", false
}

// ParamError says why a parameter list was refused.
type ParamError struct {
	Param string
	Why   string
}

func (e *ParamError) Error() string { return fmt.Sprintf("bad parameter %q: %s", e.Param, e.Why) }

// ParseParams parses space-separated esmtp-params:
//
//	esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
//	esmtp-value   = 1*(%d33-60 / %d62-126)   ; plus UTF-8 under SMTPUTF8
//
// A keyword may appear only once. Parameters are apart by ASCII white
// space; a space outside ASCII, such as U+00A0 or U+2000, is part of a
// value like any other UTF-8 character.
func ParseParams(s string, utf8ok bool) (Params, error) {
	return appendParams(nil, s, utf8ok)
}

// appendParams is ParseParams appending the parameters to dst.
func appendParams(dst Params, s string, utf8ok bool) (Params, error) {
	ps := dst
	for {
		// The next field, between runs of ASCII white space, found octet
		// by octet: no octet of a UTF-8 character beyond ASCII is one.
		for len(s) > 0 && isASCIISpace(s[0]) {
			s = s[1:]
		}
		if s == "" {
			break
		}
		end := 1
		for end < len(s) && !isASCIISpace(s[end]) {
			end++
		}
		field := s[:end]
		s = s[end:]
		key, value, set := strings.Cut(field, "=")
		if key == "" || !isKeyword(key) {
			return nil, &ParamError{field, "a parameter name is letters, digits and '-' and starts with a letter or digit"}
		}
		if set && value == "" {
			return nil, &ParamError{field, "a value after '=' may not be empty"}
		}
		for i := 0; i < len(value); i++ {
			c := value[i]
			if c == '=' || c < 33 || c == 127 || (c > 127 && !utf8ok) {
				return nil, &ParamError{field, fmt.Sprintf("byte 0x%02x is not allowed in a parameter value", c)}
			}
		}
		up := strings.ToUpper(key)
		if _, dup := ps[len(dst):].Get(up); dup {
			return nil, &ParamError{field, "the parameter is given twice"}
		}
		ps = append(ps, Param{Key: up, Value: value, Set: set})
	}
	return ps, nil
}

func isASCIISpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

func isKeyword(k string) bool {
	for i := 0; i < len(k); i++ {
		c := k[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || c != '-') {
			return false
		}
	}
	return true
}

// ParseMailArg parses the argument of MAIL: "FROM:<path> [params]". A space
// after the colon is tolerated, as most servers do, although RFC 5321 §4.1.1.2
// has none. UTF-8 in the path or in a parameter value needs the SMTPUTF8
// parameter (RFC 6531 §3.4); without it the error is a *PathError whose
// Field is "utf8".
func ParseMailArg(arg string, lim Limits) (Path, Params, error) {
	return AppendMailArg(nil, arg, lim)
}

// AppendMailArg is ParseMailArg that appends the parameters to dst and
// returns the extended list, for a server that reads every MAIL's
// parameters into the same array rather than a new one each time.
func AppendMailArg(dst Params, arg string, lim Limits) (Path, Params, error) {
	rest, ok := cutPrefixFold(arg, "FROM:")
	if !ok {
		return Path{}, nil, &ParamError{arg, `MAIL must be followed by "FROM:<address>"`}
	}
	rest = strings.TrimLeft(rest, " ")
	// The parameters come after the path but decide what the path may
	// hold: read both with UTF-8 allowed, then hold them to what the
	// parameters say.
	p, tail, err := ParsePath(rest, PathOptions{Limits: lim, UTF8: true, Reverse: true})
	if err != nil {
		return Path{}, nil, err
	}
	all, err := appendParams(dst, tail, true)
	if err != nil {
		return Path{}, nil, err
	}
	ps := all[len(dst):] // this command's
	if _, utf8ok := ps.Get("SMTPUTF8"); !utf8ok {
		if err := needsUTF8(rest[:len(rest)-len(tail)]); err != nil {
			return Path{}, nil, err
		}
		for _, p := range ps {
			if i := nonASCII(p.Value); i >= 0 {
				return Path{}, nil, &ParamError{p.Key + "=" + p.Value, fmt.Sprintf("byte 0x%02x is not allowed in a parameter value", p.Value[i])}
			}
		}
	}
	return p, all, nil
}

// ParseRcptArg parses the argument of RCPT: "TO:<path> [params]". utf8ok says
// whether the transaction's MAIL carried SMTPUTF8; without it, UTF-8 in the
// path is a *PathError whose Field is "utf8".
func ParseRcptArg(arg string, lim Limits, utf8ok bool) (Path, Params, error) {
	return AppendRcptArg(nil, arg, lim, utf8ok)
}

// AppendRcptArg is ParseRcptArg that appends the parameters to dst and
// returns the extended list (see AppendMailArg).
func AppendRcptArg(dst Params, arg string, lim Limits, utf8ok bool) (Path, Params, error) {
	rest, ok := cutPrefixFold(arg, "TO:")
	if !ok {
		return Path{}, nil, &ParamError{arg, `RCPT must be followed by "TO:<address>"`}
	}
	rest = strings.TrimLeft(rest, " ")
	p, tail, err := ParsePath(rest, PathOptions{Limits: lim, UTF8: true})
	if err != nil {
		return Path{}, nil, err
	}
	if !utf8ok {
		if err := needsUTF8(rest[:len(rest)-len(tail)]); err != nil {
			return Path{}, nil, err
		}
	}
	ps, err := appendParams(dst, tail, utf8ok)
	return p, ps, err
}

// nonASCII returns the index of the first octet of s above 127, or -1.
func nonASCII(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] > 127 {
			return i
		}
	}
	return -1
}

// needsUTF8 returns the "utf8" PathError when path, as written, is not
// ASCII. The error's text stays ASCII: a reply may not carry UTF-8 to a
// client that did not ask for it.
func needsUTF8(path string) error {
	if IsASCII(path) {
		return nil
	}
	return &PathError{strings.TrimRight(path, " "), "utf8", "non-ASCII characters in an address need the SMTPUTF8 parameter on MAIL FROM (RFC 6531 section 3.4)"}
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) < len(prefix) || !strings.EqualFold(s[:len(prefix)], prefix) {
		return s, false
	}
	return s[len(prefix):], true
}

// DecodeXtext decodes xtext (RFC 3461 §4): "+" followed by two upper-case
// hex digits stands for one octet; every other character is itself and must
// be in 33-126 except "+" and "=".
func DecodeXtext(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '+':
			if i+2 >= len(s) {
				return "", fmt.Errorf("xtext %q: '+' must be followed by two hex digits", s)
			}
			v, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
			if err != nil || strings.ToUpper(s[i+1:i+3]) != s[i+1:i+3] {
				return "", fmt.Errorf("xtext %q: '+' must be followed by two upper-case hex digits", s)
			}
			b.WriteByte(byte(v))
			i += 2
		case c < 33 || c > 126 || c == '=':
			return "", fmt.Errorf("xtext %q: byte 0x%02x must be written as +%02X", s, c, c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

// MaxORcpt is the longest value an ORCPT parameter may have,
// "addr-type;address" as written on the wire (RFC 3461 §4.2: 500
// characters). A server refuses a longer one, and a client never sends
// one.
const MaxORcpt = 500

// EncodeXtext encodes s as xtext (RFC 3461 §4).
func EncodeXtext(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 33 || c > 126 || c == '+' || c == '=' {
			b.WriteByte('+')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
