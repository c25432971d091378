package lab

// The mailbox view lists the attachments of every delivered message, which
// may come from the learner's mail client, from the terminal or from a
// real mail program through the TCP bridge: nothing in them is trusted.

import (
	"bytes"
	"net/textproto"
	"strconv"
	"strings"
	"unicode"

	"smtplab/engine/mta"
)

// AttachmentView is one attachment of a delivered message, for the
// mailbox view.
type AttachmentView struct {
	Name string `json:"name"` // "" when the part names no file
	Type string `json:"type"` // the media type without parameters
	Size int    `json:"size"` // octets once decoded
}

// maxViewedParts bounds the parts attachmentsOf reads: a message typed
// in the terminal may hold any number of them.
const maxViewedParts = 100

// attachmentsOf lists the attachments of a delivered message: the parts of
// a top-level multipart that say Content-Disposition: attachment or name
// a file. A part it cannot read is skipped, and a message that is not
// multipart has none. Parts inside parts (a multipart/alternative in a
// mixed one) are not opened.
func attachmentsOf(raw []byte) []AttachmentView {
	hdr, start := mta.Headers(raw)
	mt, params := headerParams(hdr.Get("Content-Type"))
	if !strings.HasPrefix(mt, "multipart/") || params["boundary"] == "" {
		return nil
	}
	// Every delimiter, the first too, is found as CRLF "--" boundary
	// (RFC 2046 §5.1.1).
	rest := append([]byte("\r\n"), raw[start:]...)
	delim := []byte("\r\n--" + params["boundary"])
	var out []AttachmentView
	for range maxViewedParts {
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
		if a, ok := attachmentView(part); ok {
			out = append(out, a)
		}
	}
	return out
}

// attachmentView reads one body part, its header fields then its content,
// and says whether it is an attachment.
func attachmentView(part []byte) (AttachmentView, bool) {
	hdr, start := textproto.MIMEHeader{}, 2 // a part may have no header fields
	if !bytes.HasPrefix(part, []byte("\r\n")) {
		hdr, start = mta.Headers(part)
	}
	disposition, dparams := headerParams(hdr.Get("Content-Disposition"))
	mt, tparams := headerParams(hdr.Get("Content-Type"))
	if mt == "" {
		mt = "text/plain" // RFC 2045 §5.2
	}
	name := dparams["filename"]
	if name == "" {
		name = tparams["name"] // what mail programs wrote before RFC 2183
	}
	if disposition != "attachment" && name == "" {
		return AttachmentView{}, false
	}
	return AttachmentView{Name: name, Type: mt, Size: decodedSize(part[min(start, len(part)):], hdr.Get("Content-Transfer-Encoding"))}, true
}

// decodedSize returns the octets content decodes to under the transfer
// encoding cte. It counts rather than decodes, so stray characters do not
// stop it: every 4 characters of base64's alphabet are 3 octets, and a
// quoted-printable =XX is one.
func decodedSize(content []byte, cte string) int {
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "base64":
		n := 0
		for _, c := range content {
			if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' {
				n++
			}
		}
		return n * 3 / 4
	case "quoted-printable":
		// = at the end of a line is a line break that is not in the file
		// (RFC 2045 §6.7).
		n := 0
		for i := 0; i < len(content); i++ {
			if content[i] == '=' {
				if bytes.HasPrefix(content[i+1:], []byte("\r\n")) {
					i += 2
					continue
				}
				i += 2
			}
			n++
		}
		return n
	}
	return len(content)
}

// headerParams reads a header field value with parameters (RFC 2045
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
func headerParams(v string) (string, map[string]string) {
	value, rest, _ := strings.Cut(v, ";")
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
	return strings.ToLower(strings.TrimSpace(value)), params
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
