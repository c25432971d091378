// Package mimepart reads what a mail message is made of (RFC 2045, 2046,
// 2047, 2183, 2231): its header fields, the parts of a multipart body, the
// parameters of a field such as Content-Type, text in encoded-words, and
// the content of a part under its transfer encoding. The mailbox view
// lists attachments and shows subjects with it, and a content filter
// looks inside attachments with it.
//
// It reads what it can and skips the rest: messages come from the
// learner's terminal and from real mail programs through the TCP bridge,
// and nothing in them is trusted. The standard library's mime and
// mime/multipart would do most of this, but they make the browser's engine
// tens of KB larger; the tests check this package against them.
package mimepart

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"iter"
	"net/textproto"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Headers returns the parsed header block of msg and the offset of its
// body, where HeaderEnd says they are. A line that starts with white
// space continues the field before it, joined to it by one space (RFC
// 5322 §2.2.3).
func Headers(msg []byte) (textproto.MIMEHeader, int) {
	end, body := HeaderEnd(msg)
	block := string(msg[:end]) // one copy, which every value is a piece of
	h := textproto.MIMEHeader{}
	var key string
	for l := range fieldLines(msg[:end]) {
		if l.colon < 0 {
			vals := h[key]
			vals[len(vals)-1] += " " + strings.TrimSpace(block[l.start:l.end])
			continue
		}
		key = textproto.CanonicalMIMEHeaderKey(strings.TrimSpace(block[l.start:l.colon]))
		h[key] = append(h[key], strings.TrimSpace(block[l.colon+1:l.end]))
	}
	return h, body
}

// Field returns the first value of the header field name in msg, as
// Headers(msg).Get(name) does, without reading the other fields into a
// map: a content filter asks for one or two of them in every message.
// name is a field name as RFC 5322 writes them, such as Content-Type:
// letters, digits and hyphens.
func Field(msg []byte, name string) string {
	var value string
	found := false
	for l := range fieldLines(msg) { // it stops where the header does
		switch {
		case l.colon < 0:
			if found {
				value += " " + string(bytes.TrimSpace(msg[l.start:l.end]))
			}
		case found:
			return value // the next field
		case equalFoldASCII(bytes.TrimSpace(msg[l.start:l.colon]), name):
			// The same field for Get, whose canonical form of a name
			// made of letters, digits and hyphens differs from another's
			// just when they differ in more than case.
			value, found = string(bytes.TrimSpace(msg[l.colon+1:l.end])), true
		}
	}
	return value
}

// Without returns msg without its header fields called name, each with
// the lines that continue it, and whether it had any; msg itself when it
// had none. name is a field name as RFC 5322 writes them, as for Field.
func Without(msg []byte, name string) ([]byte, bool) {
	var drop [][2]int // the spans of msg to leave out, in order
	dropping := false
	for l := range fieldLines(msg) {
		if l.colon >= 0 {
			dropping = equalFoldASCII(bytes.TrimSpace(msg[l.start:l.colon]), name)
		}
		if !dropping {
			continue
		}
		next := min(l.end+2, len(msg)) // with its CRLF
		if n := len(drop); n > 0 && drop[n-1][1] == l.start {
			drop[n-1][1] = next
		} else {
			drop = append(drop, [2]int{l.start, next})
		}
	}
	if len(drop) == 0 {
		return msg, false
	}
	out, at := make([]byte, 0, len(msg)), 0
	for _, d := range drop {
		out, at = append(out, msg[at:d[0]]...), d[1]
	}
	return append(out, msg[at:]...), true
}

// HeaderEnd returns where the header of msg, a message or a body part with
// CRLF line endings, ends, and where its content starts.
//
// The header ends at the first empty line, and the content starts after
// it (RFC 5322 §2.1). A message typed without that line, as learners often
// do, has its content start at the first line that is neither a field
// (a name of printable ASCII, then ":", RFC 5322 §2.2, white space before
// the colon allowed as in §4.5) nor the continuation of one (a line that
// starts with white space): that is how mail readers and Postfix take it,
// and it keeps a first line of text such as "café" out of the header,
// where octets beyond ASCII would ask for SMTPUTF8. A message whose every
// line is a field is all header: both offsets are then len(msg).
func HeaderEnd(msg []byte) (end, body int) {
	return scanHeader(msg, nil)
}

// fieldLine is a line of a header block that holds a field or part of
// one: block[start:end], its first colon at colon, or colon -1 for a line
// that continues the field before it.
type fieldLine struct{ start, colon, end int }

// fieldLines yields the lines of msg's header (see HeaderEnd), split at
// CRLF: the lines that start a field and those that continue one.
func fieldLines(msg []byte) iter.Seq[fieldLine] {
	return func(yield func(fieldLine) bool) { scanHeader(msg, yield) }
}

// scanHeader walks the header of msg line by line, hands each line that
// starts or continues a field to yield (when yield is not nil), and
// returns what HeaderEnd does. It stops early, its results then
// meaningless, when yield returns false.
func scanHeader(msg []byte, yield func(fieldLine) bool) (end, body int) {
	for start := 0; start < len(msg); {
		end, next := start+bytes.Index(msg[start:], []byte("\r\n")), 0
		if end < start {
			end, next = len(msg), len(msg)
		} else {
			next = end + 2
		}
		l := fieldLine{start: start, colon: -1, end: end}
		line := msg[start:end]
		switch {
		case len(line) == 0:
			return start, next // the blank line before the content
		case line[0] == ' ' || line[0] == '\t':
			if start == 0 {
				return start, start // nothing before it to continue
			}
		default:
			colon := FieldColon(line)
			if colon < 0 {
				return start, start // the content's first line
			}
			l.colon = start + colon
		}
		if yield != nil && !yield(l) {
			return -1, -1
		}
		start = next
	}
	return len(msg), len(msg)
}

// FieldColon returns where the colon of line is when line starts a header
// field: a name of printable ASCII but the colon, then the colon, with
// white space between them allowed (obs-optional, RFC 5322 §4.5). It
// returns -1 for any other line, which, but for the continuation of a
// field, ends the header (see HeaderEnd).
func FieldColon(line []byte) int {
	name := 0
	for name < len(line) && line[name] > ' ' && line[name] <= '~' && line[name] != ':' {
		name++
	}
	if name == 0 {
		return -1
	}
	colon := name
	for colon < len(line) && (line[colon] == ' ' || line[colon] == '\t') {
		colon++
	}
	if colon == len(line) || line[colon] != ':' {
		return -1
	}
	return colon
}

// equalFoldASCII reports whether b and s are the same but for the case of
// ASCII letters.
func equalFoldASCII(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		x, y := b[i], s[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// Part is one body part of a multipart message.
type Part struct {
	Header textproto.MIMEHeader
	Body   []byte // the content, still in its transfer encoding
}

// Parts returns the body parts of msg, a whole message or a part, when its
// Content-Type is multipart with a boundary, at most limit of them; nil
// otherwise. Parts inside parts are not opened (call Parts on a part).
func Parts(msg []byte, limit int) []Part {
	hdr, start := Headers(msg)
	return Part{Header: hdr, Body: msg[min(start, len(msg)):]}.Parts(limit)
}

// Parts returns the body parts of p when it is multipart, as Parts does
// for a message.
func (p Part) Parts(limit int) []Part {
	mt, params := Params(p.Header.Get("Content-Type"))
	if !strings.HasPrefix(mt, "multipart/") || params["boundary"] == "" {
		return nil
	}
	// Every delimiter, the first too, is found as CRLF "--" boundary
	// (RFC 2046 §5.1.1).
	rest := append([]byte("\r\n"), p.Body...)
	delim := []byte("\r\n--" + params["boundary"])
	var out []Part
	for range limit {
		i := bytes.Index(rest, delim)
		if i < 0 {
			break
		}
		rest = rest[i+len(delim):]
		eol := bytes.Index(rest, []byte("\r\n"))
		if bytes.HasPrefix(rest, []byte("--")) || eol < 0 {
			break // the close delimiter, or nothing after the last one
		}
		rest = rest[eol+2:] // the part starts after its delimiter's line
		part := rest
		if j := bytes.Index(rest, delim); j >= 0 {
			part = rest[:j]
		}
		hdr, start := Headers(part) // a part may have no fields: it then starts with CRLF
		out = append(out, Part{Header: hdr, Body: part[min(start, len(part)):]})
	}
	return out
}

// isBase64 reports whether c is in base64's alphabet, padding aside.
func isBase64(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/'
}

// DecodedSize returns the octets content decodes to under the transfer
// encoding cte. For base64 it counts rather than decodes: every 4
// characters of base64's alphabet are 3 octets.
func DecodedSize(content []byte, cte string) int {
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "base64":
		n := 0
		for _, c := range content {
			if isBase64(c) {
				n++
			}
		}
		return n * 3 / 4
	case "quoted-printable":
		return len(Decode(content, cte))
	}
	return len(content)
}

// Encoded reports whether the transfer encoding cte is one that Decode
// decodes, base64 or quoted-printable. Content in any other (7bit, 8bit,
// binary) is what it says, and Decode returns it as it is.
func Encoded(cte string) bool {
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "base64", "quoted-printable":
		return true
	}
	return false
}

// Decode returns content decoded from the transfer encoding cte: base64
// or quoted-printable; anything else (7bit, 8bit, binary) as it is. Like a
// mail program it reads past what it cannot decode: characters outside
// base64's alphabet are skipped (RFC 2045 §6.8), and a quoted-printable =
// not followed by two hex digits stays as it is.
func Decode(content []byte, cte string) []byte {
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "base64":
		clean := make([]byte, 0, len(content))
		for _, c := range content {
			if isBase64(c) {
				clean = append(clean, c)
			}
		}
		if len(clean)%4 == 1 {
			clean = clean[:len(clean)-1] // one character is no octet
		}
		out := make([]byte, base64.RawStdEncoding.DecodedLen(len(clean)))
		n, _ := base64.RawStdEncoding.Decode(out, clean)
		return out[:n]
	case "quoted-printable":
		out := make([]byte, 0, len(content))
		for i := 0; i < len(content); i++ {
			c := content[i]
			if c != '=' {
				out = append(out, c)
				continue
			}
			if bytes.HasPrefix(content[i+1:], []byte("\r\n")) {
				i += 2 // a soft line break
				continue
			}
			if i+2 < len(content) {
				if n, err := strconv.ParseUint(string(content[i+1:i+3]), 16, 8); err == nil {
					out = append(out, byte(n))
					i += 2
					continue
				}
			}
			out = append(out, c)
		}
		return out
	}
	return content
}

// Params reads a header field value with parameters (RFC 2045
// §5.1), such as
//
//	attachment; filename="my \"notes\".txt"
//
// into its value and its parameters, names in lower case. It joins what
// RFC 2231 splits into numbered sections and decodes what it
// percent-encodes, and prefers that to a plain parameter of the same name:
//
//	attachment; filename*0*=utf-8''%C3%A9t%C3%A9; filename*1=.txt
//
// It reads what it can (text it cannot read ends the parameters), and
// what package mime reads without an error it reads the same way.
func Params(v string) (string, map[string]string) {
	_, rest, _ := strings.Cut(v, ";")
	written := map[string]string{} // as written: "filename*0*" -> "utf-8''%C3%A9t%C3%A9"
	for {
		name, after, ok := strings.Cut(rest, "=")
		if i := strings.LastIndexByte(name, ';'); i >= 0 {
			name = name[i+1:]
		}
		name = strings.ToLower(strings.TrimSpace(name))
		if !ok || name == "" {
			break
		}
		var val string
		if after = strings.TrimLeftFunc(after, unicode.IsSpace); strings.HasPrefix(after, `"`) {
			val, rest = unquote(after)
		} else {
			val, rest, _ = strings.Cut(after, ";")
			val = strings.TrimSpace(val)
		}
		written[name] = val
	}
	params := map[string]string{}
	for name, val := range written {
		base, section, split := strings.Cut(name, "*")
		if !split {
			if _, ok := params[name]; !ok {
				params[name] = val
			}
		} else if section == "" || section == "0" || section == "0*" {
			if v, ok := joinSections(written, base); ok {
				params[base] = v
			}
		}
	}
	return MediaType(v), params
}

// MediaType returns the value of a header field with parameters, such as
// Content-Type, without them and in lower case: what Params returns
// first, without reading the parameters.
func MediaType(v string) string {
	value, _, _ := strings.Cut(v, ";")
	return strings.ToLower(strings.TrimSpace(value))
}

// joinSections returns the value of the RFC 2231 parameter base, if it
// has one: name* alone, or name*0, name*1, ... each with a * when it is
// percent-encoded.
func joinSections(written map[string]string, base string) (string, bool) {
	if v, ok := written[base+"*"]; ok {
		return decodeExtended(v)
	}
	var b strings.Builder
	for n := 0; ; n++ {
		section := base + "*" + strconv.Itoa(n)
		if v, ok := written[section]; ok {
			b.WriteString(v)
		} else if v, ok := written[section+"*"]; ok {
			if n == 0 {
				v, _ = decodeExtended(v)
			} else {
				v, _ = percentDecode(v)
			}
			b.WriteString(v)
		} else {
			return b.String(), n > 0
		}
	}
}

// decodeExtended decodes an RFC 2231 value, charset'language'text. Like
// package mime it reads UTF-8 and ASCII, and leaves out the rest.
func decodeExtended(v string) (string, bool) {
	charset, v, ok := strings.Cut(v, "'")
	_, text, ok2 := strings.Cut(v, "'")
	if !ok || !ok2 || (!strings.EqualFold(charset, "utf-8") && !strings.EqualFold(charset, "us-ascii")) {
		return "", false
	}
	return percentDecode(text)
}

// percentDecode undoes %XX, and fails on a % without two hex digits.
func percentDecode(s string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+3 > len(s) {
			return "", false
		}
		n, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
		if err != nil {
			return "", false
		}
		b.WriteByte(byte(n))
		i += 2
	}
	return b.String(), true
}

// unquote reads the quoted-string at the start of s (RFC 5322 §3.2.4) and
// returns it and what follows it. A backslash escapes what follows it
// only when that is a special character of RFC 2045 §5.1, as package mime
// reads it: Internet Explorer sent paths like "C:\dev\a.txt" unescaped.
func unquote(s string) (string, string) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch {
		case s[i] == '"':
			return b.String(), s[i+1:]
		case s[i] == '\\' && i+1 < len(s) && strings.IndexByte(`()<>@,;:\"/[]?=`, s[i+1]) >= 0:
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String(), ""
}

// DecodeWords returns the text of a header field such as Subject with its
// encoded-words (RFC 2047) decoded, as a mail program shows it:
//
//	=?utf-8?b?R3LDvMOfZQ==?= aus =?utf-8?q?K=C3=B6ln?=  →  Grüße aus Köln
//
// The white space between two encoded-words is dropped (RFC 2047 §6.2): a
// writer splits a long text into several of them, one to a line. v is the
// field's value unfolded, as Headers returns it. Like package mime
// without a CharsetReader it reads UTF-8, ISO-8859-1 and US-ASCII, and
// what package mime decodes without an error it decodes the same way; an
// encoded-word it cannot decode (another character set, broken base64)
// stays as it is.
func DecodeWords(v string) string {
	var b strings.Builder
	afterWord := false // the last thing written was a decoded word
	for {
		start := strings.Index(v, "=?")
		if start < 0 {
			break
		}
		charset, encoding, text, n, ok := cutWord(v[start:])
		if !ok {
			break // no whole encoded-word from here on: plain text
		}
		end := start + n
		decoded, ok := decodeWord(charset, encoding, text)
		if !ok {
			b.WriteString(v[:end])
			v, afterWord = v[end:], false
			continue
		}
		if before := v[:start]; !afterWord || strings.Trim(before, " \t\r\n") != "" {
			b.WriteString(before)
		}
		b.WriteString(decoded)
		v, afterWord = v[end:], true
	}
	return b.String() + v
}

// cutWord reads the encoded-word at the start of s,
// =?charset?encoding?text?=, into its parts and its length. ok is false
// when s does not hold a whole one.
func cutWord(s string) (charset string, encoding byte, text string, n int, ok bool) {
	charset, rest, found := strings.Cut(s[len("=?"):], "?")
	if !found || len(rest) < len("Q??=") || rest[1] != '?' {
		return "", 0, "", 0, false
	}
	text, _, found = strings.Cut(rest[2:], "?=")
	if !found {
		return "", 0, "", 0, false
	}
	return charset, rest[0], text, len("=?") + len(charset) + len("?Q?") + len(text) + len("?="), true
}

// decodeWord decodes the text of an encoded-word: its octets in B
// (base64) or Q encoding (RFC 2047 §4), then its characters in charset.
// ok is false when either cannot be read.
func decodeWord(charset string, encoding byte, text string) (string, bool) {
	var octets []byte
	var err error
	switch encoding {
	case 'B', 'b':
		octets, err = base64.StdEncoding.DecodeString(text)
	case 'Q', 'q':
		octets, err = decodeQ(text)
	default:
		return "", false
	}
	if err != nil {
		return "", false
	}
	return DecodeCharset(octets, charset)
}

// DecodeCharset returns octets as the characters they are in charset:
// UTF-8 (as they are), ISO-8859-1 or US-ASCII, whose octets past ASCII
// are no character and become U+FFFD. ok is false for any other charset.
func DecodeCharset(octets []byte, charset string) (string, bool) {
	latin1 := strings.EqualFold(charset, "iso-8859-1")
	switch {
	case strings.EqualFold(charset, "utf-8"):
		return string(octets), true
	case !latin1 && !strings.EqualFold(charset, "us-ascii"):
		return "", false
	}
	// ISO-8859-1's 256 characters are Unicode's first 256; an octet past
	// ASCII in US-ASCII is no character at all.
	var b strings.Builder
	for _, c := range octets {
		switch {
		case c < utf8.RuneSelf:
			b.WriteByte(c)
		case latin1:
			b.WriteRune(rune(c))
		default:
			b.WriteRune(utf8.RuneError)
		}
	}
	return b.String(), true
}

// decodeQ decodes the Q encoding (RFC 2047 §4.2): quoted-printable's =XX,
// and _ for a space. Like package mime it takes lower-case hex digits
// and white space, and refuses any other octet outside printable ASCII.
func decodeQ(text string) ([]byte, error) {
	out := make([]byte, 0, len(text))
	for i := 0; i < len(text); i++ {
		switch c := text[i]; {
		case c == '_':
			out = append(out, ' ')
		case c == '=':
			if i+2 >= len(text) {
				return nil, errors.New("= without two hex digits")
			}
			n, err := strconv.ParseUint(text[i+1:i+3], 16, 8)
			if err != nil {
				return nil, err
			}
			out = append(out, byte(n))
			i += 2
		case c >= ' ' && c <= '~' || c == '\t' || c == '\r' || c == '\n':
			out = append(out, c)
		default:
			return nil, fmt.Errorf("octet %#02x in Q-encoded text", c)
		}
	}
	return out, nil
}
