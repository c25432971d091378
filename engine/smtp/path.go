package smtp

import (
	"fmt"
	"net/netip"
	"strings"
	"unicode/utf8"
)

// Mailbox is local-part@domain (RFC 5321 §4.1.2). Domain may be an address
// literal such as "[192.0.2.1]" or "[IPv6:2001:db8::1]". A quoted local part
// is kept in its quoted form, exactly as sent, because only the receiving
// domain may interpret it.
type Mailbox struct {
	Local  string
	Domain string
}

// String returns local@domain.
func (m Mailbox) String() string {
	if m.Domain == "" {
		return m.Local
	}
	return m.Local + "@" + m.Domain
}

// Path is a reverse-path (MAIL FROM) or forward-path (RCPT TO).
// Null is the empty reverse-path "<>" used by bounces (RFC 5321 §4.5.5);
// Postmaster is "<Postmaster>" without a domain (§4.1.1.3).
type Path struct {
	Mailbox    Mailbox
	Null       bool
	Postmaster bool
}

// String returns the path in angle brackets, as on the wire.
func (p Path) String() string {
	switch {
	case p.Null:
		return "<>"
	case p.Postmaster && p.Mailbox.Domain == "":
		return "<Postmaster>"
	}
	return "<" + p.Mailbox.String() + ">"
}

// PathError says why a path was refused; Field names the offending part so
// the reply text can point at it.
type PathError struct {
	Path  string
	Field string // "path", "local-part", "domain", "length", or "utf8" (see ErrNeedsUTF8)
	Why   string
}

func (e *PathError) Error() string {
	return fmt.Sprintf("bad address %q: %s: %s", e.Path, e.Field, e.Why)
}

// PathOptions say what a path may contain.
type PathOptions struct {
	Limits  Limits
	UTF8    bool // SMTPUTF8 was given on MAIL: UTF-8 allowed in local part and domain (RFC 6531 §3.3)
	Reverse bool // a reverse-path (MAIL FROM): "<>" is allowed, the bare "<Postmaster>" is not
}

// ParsePath parses "<...>" at the start of s and returns the path and the
// rest of s (ESMTP parameters, if any). Source routes ("<@a,@b:x@y>") are
// accepted and ignored, as RFC 5321 §4.1.1.3 and appendix C require.
func ParsePath(s string, opt PathOptions) (Path, string, error) {
	if !strings.HasPrefix(s, "<") {
		return Path{}, "", &PathError{s, "path", "an address must be written inside angle brackets, like <bob@example.org>"}
	}
	end := strings.IndexByte(s, '>')
	// A '>' may appear inside a quoted local part: find the closing bracket
	// after any quoted string.
	if q := strings.IndexByte(s, '"'); q >= 0 && q < end {
		if closeQ := quotedEnd(s, q); closeQ > 0 {
			end = closeQ + strings.IndexByte(s[closeQ:], '>')
			if end < closeQ {
				end = -1
			}
		}
	}
	if end < 0 {
		return Path{}, "", &PathError{s, "path", "the closing '>' is missing"}
	}
	inner, rest := s[1:end], s[end+1:]
	if opt.Limits.Path > 0 && end+1 > opt.Limits.Path {
		return Path{}, "", &PathError{s, "length", fmt.Sprintf("a path may be at most %d octets (RFC 5321 section 4.5.3.1.3)", opt.Limits.Path)}
	}
	if rest != "" && rest[0] != ' ' {
		return Path{}, "", &PathError{s, "path", "text after '>' must be separated by a space"}
	}
	rest = strings.TrimLeft(rest, " ")
	if inner == "" {
		if !opt.Reverse {
			return Path{}, "", &PathError{s, "path", "the null path <> is only allowed as the sender"}
		}
		return Path{Null: true}, rest, nil
	}
	if strings.EqualFold(inner, "postmaster") {
		if opt.Reverse { // RFC 5321 §4.1.2: Reverse-path = Path / "<>"; only a Forward-path may be <Postmaster>
			return Path{}, "", &PathError{s[:end+1], "domain", "a sender address needs a domain; the bare <Postmaster> is only a recipient"}
		}
		return Path{Postmaster: true, Mailbox: Mailbox{Local: inner}}, rest, nil
	}
	if inner[0] == '@' { // source route: skip up to the colon
		colon := strings.IndexByte(inner, ':')
		if colon < 0 {
			return Path{}, "", &PathError{s, "path", "a source route must end with ':'"}
		}
		inner = inner[colon+1:]
	}
	mb, err := ParseMailbox(inner, opt)
	if err != nil {
		pe := err.(*PathError)
		pe.Path = s[:end+1]
		return Path{}, "", pe
	}
	p := Path{Mailbox: mb}
	p.Postmaster = strings.EqualFold(mb.Local, "postmaster")
	return p, rest, nil
}

// ParseMailbox parses local-part@domain (no angle brackets).
func ParseMailbox(s string, opt PathOptions) (Mailbox, error) {
	at := strings.LastIndexByte(s, '@')
	if at < 0 {
		return Mailbox{}, &PathError{s, "domain", "the '@' and a domain are missing"}
	}
	local, domain := s[:at], s[at+1:]
	if err := checkLocalPart(local, opt); err != "" {
		return Mailbox{}, &PathError{s, "local-part", err}
	}
	if err := checkDomainOrLiteral(domain, opt); err != "" {
		return Mailbox{}, &PathError{s, "domain", err}
	}
	return Mailbox{Local: local, Domain: domain}, nil
}

// quotedEnd returns the index just after the quoted string starting at s[q],
// or -1 if it does not close.
func quotedEnd(s string, q int) int {
	for i := q + 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return -1
}

func checkLocalPart(local string, opt PathOptions) string {
	if local == "" {
		return "the local part before '@' is empty"
	}
	if opt.Limits.LocalPart > 0 && len(local) > opt.Limits.LocalPart {
		return fmt.Sprintf("a local part may be at most %d octets (RFC 5321 section 4.5.3.1.1)", opt.Limits.LocalPart)
	}
	if local[0] == '"' {
		return checkQuoted(local, opt.UTF8)
	}
	// Dot-string = Atom *("." Atom)
	for rest, more := local, true; more; {
		var atom string
		atom, rest, more = strings.Cut(rest, ".")
		if atom == "" {
			return "a dot may not start or end the local part or follow another dot"
		}
		for i := 0; i < len(atom); {
			if c := atom[i]; c < utf8.RuneSelf && isAlnum(c) { // most of an address: no rune to decode
				i++
				continue
			}
			r, size := utf8.DecodeRuneInString(atom[i:])
			if !isAtext(r, opt.UTF8) {
				return fmt.Sprintf("%+q is not allowed in an unquoted local part", r)
			}
			i += size
		}
	}
	return ""
}

// isAlnum reports whether c is an ASCII letter or digit.
func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// checkQuoted checks Quoted-string = DQUOTE *QcontentSMTP DQUOTE.
func checkQuoted(q string, utf8ok bool) string {
	if len(q) < 2 || q[len(q)-1] != '"' {
		return "the quoted local part does not close"
	}
	body := q[1 : len(q)-1]
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch {
		case c == '\\':
			if i+1 >= len(body) || body[i+1] < 32 || body[i+1] > 126 {
				return "a backslash in quotes must escape a printable character"
			}
			i++
		case c == '"':
			return "a double quote inside quotes must be escaped with a backslash"
		case c >= 32 && c <= 126:
		case c >= 0x80 && utf8ok:
		default:
			return fmt.Sprintf("byte 0x%02x is not allowed inside quotes", c)
		}
	}
	if !utf8ok && !IsASCII(body) {
		return "non-ASCII characters need SMTPUTF8"
	}
	if utf8ok && !utf8.ValidString(body) {
		return "the local part is not valid UTF-8"
	}
	return ""
}

// isAtext reports whether r is atext (RFC 5322 §3.2.3), extended with
// non-ASCII characters under SMTPUTF8 (RFC 6531 §3.3).
func isAtext(r rune, utf8ok bool) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return true
	case strings.ContainsRune("!#$%&'*+-/=?^_`{|}~", r):
		return true
	case r >= 0x80 && r != utf8.RuneError:
		return utf8ok
	}
	return false
}

func checkDomainOrLiteral(d string, opt PathOptions) string {
	if d == "" {
		return "the domain after '@' is empty"
	}
	if d[0] == '[' {
		return checkAddressLiteral(d)
	}
	return CheckDomain(d, opt)
}

// CheckDomain checks Domain = sub-domain *("." sub-domain) with
// sub-domain = Let-dig [Ldh-str] (RFC 5321 §4.1.2). It returns "" when the
// domain is valid, or why it is not.
func CheckDomain(d string, opt PathOptions) string {
	if opt.Limits.Domain > 0 && len(d) > opt.Limits.Domain {
		return fmt.Sprintf("a domain may be at most %d octets (RFC 5321 section 4.5.3.1.2)", opt.Limits.Domain)
	}
	if plainDomain(d) {
		return ""
	}
	return checkLabels(d, opt)
}

// plainDomain reports whether d is a valid domain of ASCII letters, digits
// and hyphens, as nearly every domain is, in one pass over its octets; the
// path of every MAIL and RCPT has one. It is false for any other d, valid
// or not, which checkLabels then reads label by label to say why.
func plainDomain(d string) bool {
	start := 0 // of the current label
	for i := 0; i <= len(d); i++ {
		if i < len(d) && d[i] != '.' {
			if c := d[i]; c != '-' && !isAlnum(c) {
				return false
			}
			continue
		}
		n := i - start
		if n == 0 || n > 63 || d[start] == '-' || d[i-1] == '-' {
			return false
		}
		start = i + 1
	}
	return true
}

// checkLabels is CheckDomain for a domain that is not plainDomain: the
// first problem of its first bad label, or "" for a valid domain with
// UTF-8 labels.
func checkLabels(d string, opt PathOptions) string {
	for rest, more := d, true; more; {
		var label string
		label, rest, more = strings.Cut(rest, ".")
		if label == "" {
			return "a domain may not have an empty label (two dots, or a dot at an end)"
		}
		if len(label) > 63 {
			return "a domain label may be at most 63 octets"
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return "a domain label may not start or end with '-'"
		}
		for i := 0; i < len(label); {
			if c := label[i]; c < utf8.RuneSelf && (c == '-' || isAlnum(c)) { // no rune to decode
				i++
				continue
			}
			r, size := utf8.DecodeRuneInString(label[i:])
			if !opt.UTF8 || r < utf8.RuneSelf || r == utf8.RuneError {
				return fmt.Sprintf("%+q is not allowed in a domain", r)
			}
			i += size
		}
	}
	return ""
}

// checkAddressLiteral checks "[IPv4]", "[IPv6:addr]" or a general literal
// "[tag:content]" (RFC 5321 §4.1.3).
func checkAddressLiteral(d string) string {
	if len(d) < 3 || d[len(d)-1] != ']' {
		return "an address literal must be closed with ']'"
	}
	body := d[1 : len(d)-1]
	if strings.HasPrefix(strings.ToUpper(body), "IPV6:") {
		a, err := netip.ParseAddr(body[5:])
		if err != nil || !a.Is6() || a.Zone() != "" {
			return "not a valid IPv6 address literal"
		}
		return ""
	}
	if tag, content, ok := strings.Cut(body, ":"); ok {
		if tag == "" || content == "" {
			return "a general address literal needs a tag and content"
		}
		for i := 0; i < len(content); i++ {
			if c := content[i]; c < 33 || c > 126 || c == '[' || c == ']' || c == '\\' {
				return "the address literal has a forbidden character"
			}
		}
		return ""
	}
	a, err := netip.ParseAddr(body)
	if err != nil || !a.Is4() {
		return "not a valid IPv4 address literal"
	}
	return ""
}

// IsASCII reports whether s is 7-bit: SMTP without SMTPUTF8 and 8BITMIME
// carries nothing else.
func IsASCII(s string) bool {
	// Eight octets at a time, as utf8.ValidString reads ASCII (the
	// compiler makes one load of the eight): every name and address of
	// every session passes here, some more than once.
	for len(s) >= 8 {
		w := uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
			uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
		if w&0x8080808080808080 != 0 {
			return false
		}
		s = s[8:]
	}
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
