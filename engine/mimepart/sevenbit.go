package mimepart

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// Bounds on the MIME structure AppendSevenBit opens: a message that needs
// more is rare, and one built to be costly to convert must not be. Its
// work is at most the message's length for each level.
const (
	MaxSevenBitDepth = 8    // multiparts and message/rfc822 inside one another
	MaxSevenBitParts = 1000 // entities in the whole message
)

// maxLine is the longest line of SMTP content, 998 octets and CRLF (RFC
// 5321 §4.5.3.1.6; RFC 2045 §2.7 for 7bit data).
const maxLine = 998

// qpLine is the longest line of quoted-printable, its soft line break's
// "=" included (RFC 2045 §6.7, rule 5).
const qpLine = 76

// AppendSevenBit appends to dst msg, a message with CRLF line endings, in
// 7 bits: the form a client sends to a server that does not offer
// 8BITMIME, as RFC 6152 §3 allows ("convert the message to 7 bits") and
// as Postfix does unless disable_mime_output_conversion says not to. It
// returns an error, and dst as it was, when msg cannot be made 7-bit so.
//
// Each leaf part whose content is not 7bit data (RFC 2045 §2.7: octets
// beyond ASCII, a NUL, a CR or LF outside CRLF, a line over 998 octets)
// and whose Content-Transfer-Encoding is 7bit, 8bit, binary or absent is
// re-encoded quoted-printable (RFC 2045 §6.7), its field saying so; a
// part already 7bit stays as it is, byte for byte. Multipart bodies are
// walked part by part, their delimiters, preamble and epilogue kept byte
// for byte (RFC 2046 §5.1), and a message/rfc822 part is walked into, as
// it may not be encoded itself (RFC 2046 §5.2.1); a container whose
// content changed and said 8bit or binary then says 7bit (RFC 2045 §6.4).
// message/global and message/global-headers are leaves, encoded whole, as
// RFC 6532 §3.5 and RFC 6533 §6 allow: that is how a global DSN, with a
// UTF-8 header inside, travels without SMTPUTF8. A message that had no
// MIME-Version, the whole one or one inside message/rfc822, gets one with
// its new Content-Transfer-Encoding field, which means nothing without it
// (RFC 2045 §4).
//
// It cannot convert a header with octets beyond ASCII, the message's own
// or a part's, which only an SMTPUTF8 transaction may carry (RFC 6531
// §3.2; RFC 2047 encoded-words are for the writer to choose), nor
// anything it must keep as it is and that is not 7-bit (a preamble, a
// line over 998 octets in a header, a part already base64 or
// quoted-printable, a message/partial), nor MIME structure past
// MaxSevenBitDepth or MaxSevenBitParts.
//
// It reads the structure as Parts does, and is deterministic: the same
// message gives the same octets.
func AppendSevenBit(dst, msg []byte) ([]byte, error) {
	c := sevenBit{out: dst}
	if err := c.entity(msg, "", MaxSevenBitDepth, "text/plain", true); err != nil {
		return dst, err
	}
	return c.out, nil
}

// sevenBit is one conversion: what it has written, and how many entities
// it has opened.
type sevenBit struct {
	out   []byte
	parts int
}

// entity converts e, a message or a body part (its header fields, a blank
// line, its content), into c.out. path names it in errors ("" for the
// message, "2.1" for the first part of its second part, as IMAP numbers
// them); depth is how many more levels may be opened; defaultType is its
// type when it has no Content-Type (RFC 2046 §5.1.5 for multipart/digest).
func (c *sevenBit) entity(e []byte, path string, depth int, defaultType string, message bool) error {
	c.parts++
	if c.parts > MaxSevenBitParts {
		return fmt.Errorf("%s: more than %d MIME parts", c.name(path), MaxSevenBitParts)
	}
	header, body, hasBody := splitEntity(e)
	if i, ok := not7bit(header, false); !ok {
		if header[i] >= 0x80 {
			return fmt.Errorf("%s has octets beyond ASCII in its header, which only an SMTPUTF8 transaction may carry (RFC 6531 §3.2), not 7-bit MIME", c.name(path))
		}
		return fmt.Errorf("%s has a header line of more than %d octets (RFC 5322 §2.1.1)", c.name(path), maxLine)
	}
	if _, ok := not7bit(body, true); ok {
		c.out = append(c.out, e...)
		return nil
	}
	hdr, _ := Headers(header)
	mediaType, params := Params(hdr.Get("Content-Type"))
	if mediaType == "" {
		mediaType = defaultType
	}
	cte := strings.ToLower(strings.TrimSpace(hdr.Get("Content-Transfer-Encoding")))
	switch cte {
	case "", "7bit", "8bit", "binary":
	default:
		return fmt.Errorf("%s says Content-Transfer-Encoding %q, yet its content is not 7-bit: it cannot be encoded again", c.name(path), cte)
	}
	// The field that says the content's new encoding: quoted-printable
	// for a leaf, 7bit for a container that said 8bit or binary; none for
	// one that says 7bit or nothing, which stays right.
	newCTE := "quoted-printable"
	container := strings.HasPrefix(mediaType, "multipart/") || mediaType == "message/rfc822"
	switch {
	case mediaType == "message/partial" || mediaType == "message/external-body":
		return fmt.Errorf("%s is %s, which must be 7bit (RFC 2046 §5.2.2.1, §5.2.3.1), and is not", c.name(path), mediaType)
	case container && depth == 0:
		return fmt.Errorf("%s: MIME parts nested more than %d deep", c.name(path), MaxSevenBitDepth)
	case container && (cte == "8bit" || cte == "binary"):
		newCTE = "7bit"
	case container:
		newCTE = ""
	}
	// A message, the whole one or one carried in message/rfc822, claims
	// MIME once something in it is encoded, and must say so; a body part
	// need not (RFC 2045 §4).
	mimeVersion := message && hdr.Get("Mime-Version") == ""
	c.out = appendHeader(c.out, header, newCTE, mimeVersion)
	if hasBody {
		c.out = append(c.out, "\r\n"...)
	}
	switch {
	case strings.HasPrefix(mediaType, "multipart/"):
		if params["boundary"] == "" {
			return fmt.Errorf("%s is %s without a boundary", c.name(path), mediaType)
		}
		inner := "text/plain"
		if mediaType == "multipart/digest" {
			inner = "message/rfc822"
		}
		return c.multipart(body, params["boundary"], path, depth-1, inner)
	case mediaType == "message/rfc822":
		// Its content is a message, with a header of its own.
		return c.entity(body, c.sub(path, 1), depth-1, "text/plain", true)
	}
	c.out = appendQuotedPrintable(c.out, body)
	return nil
}

// name is how an error names the entity at path.
func (c *sevenBit) name(path string) string {
	if path == "" {
		return "the message"
	}
	return "MIME part " + path
}

// sub is the path of the nth part inside the entity at path.
func (c *sevenBit) sub(path string, n int) string {
	if path == "" {
		return strconv.Itoa(n)
	}
	return path + "." + strconv.Itoa(n)
}

// multipart converts the body of a multipart entity, finding its
// delimiters as Parts does: every one, the first too, is CRLF "--"
// boundary (RFC 2046 §5.1.1), and its line ends at the next CRLF. What is
// not a part (the preamble, the delimiter lines, the epilogue) is kept as
// it is, and must be 7-bit.
func (c *sevenBit) multipart(body []byte, boundary, path string, depth int, inner string) error {
	delim := []byte("\r\n--" + boundary)
	// start, end: the delimiter found, from its CRLF to its boundary's end;
	// the first may have its CRLF as the one before the body.
	start, end := -1, -1
	if bytes.HasPrefix(body, delim[2:]) {
		start, end = 0, len(delim)-2
	} else if i := bytes.Index(body, delim); i >= 0 {
		start, end = i, i+len(delim)
	}
	if start < 0 {
		return c.verbatim(body, path, "has no delimiter line for its boundary")
	}
	if err := c.verbatim(body[:start], path, "has a preamble"); err != nil {
		return err
	}
	for n := 1; ; n++ {
		rest := body[end:]
		eol := bytes.Index(rest, []byte("\r\n"))
		if bytes.HasPrefix(rest, []byte("--")) || eol < 0 {
			// The close delimiter and the epilogue, or nothing after the
			// last delimiter.
			return c.verbatim(body[start:], path, "has an epilogue")
		}
		partStart := end + eol + 2
		if err := c.verbatim(body[start:partStart], path, "has a delimiter line"); err != nil {
			return err
		}
		partEnd := len(body)
		if j := bytes.Index(body[partStart:], delim); j >= 0 {
			partEnd = partStart + j
		}
		if err := c.entity(body[partStart:partEnd], c.sub(path, n), depth, inner, false); err != nil {
			return err
		}
		if partEnd == len(body) {
			return nil
		}
		start, end = partEnd, partEnd+len(delim)
	}
}

// verbatim writes what a multipart keeps as it is, or says why it
// cannot: what is not 7-bit there, which no encoding can reach.
func (c *sevenBit) verbatim(b []byte, path, what string) error {
	if _, ok := not7bit(b, false); !ok {
		return fmt.Errorf("%s %s that is not 7-bit, and no transfer encoding applies to it (RFC 2046 §5.1.1)", c.name(path), what)
	}
	c.out = append(c.out, b...)
	return nil
}

// splitEntity cuts e into its header (each field line with its CRLF) and
// its content, where HeaderEnd says: after the blank line, or from the
// first line that is not a field when the blank line is missing (which
// entity then writes back). A part with no fields starts with the blank
// line; an entity that is all fields has no content.
func splitEntity(e []byte) (header, body []byte, hasBody bool) {
	end, start := HeaderEnd(e)
	return e[:end], e[start:], end < len(e)
}

// not7bit reports where b is not 7-bit, and ok false, when it is not: an
// octet beyond ASCII, a line (up to an LF, its CR not counted) of more
// than 998 octets or, in data, a NUL or a CR or LF outside CRLF, which
// 7bit data may not have (RFC 2045 §2.7).
func not7bit(b []byte, data bool) (at int, ok bool) {
	start := 0 // where the line of b[i] starts
	for i, o := range b {
		crlf := o == '\r' && i+1 < len(b) && b[i+1] == '\n'
		switch {
		case o >= 0x80:
			return i, false
		case o == '\n':
			if data && (i == 0 || b[i-1] != '\r') {
				return i, false
			}
			start = i + 1
		case data && (o == 0 || o == '\r' && !crlf):
			return i, false
		case i-start >= maxLine && !crlf: // the 999th octet of its line
			return i, false
		}
	}
	return 0, true
}

// appendHeader appends header, its lines each ending in CRLF. When cte is
// not "", its Content-Transfer-Encoding fields (folded lines included)
// are one that says cte, in the place of the first, or at the end; with
// mimeVersion, MIME-Version: 1.0 is added at the end.
func appendHeader(dst, header []byte, cte string, mimeVersion bool) []byte {
	placed, dropping := cte == "", false
	for rest := header; len(rest) > 0; {
		line := rest
		if i := bytes.Index(rest, []byte("\r\n")); i >= 0 {
			line = rest[:i+2]
		}
		rest = rest[len(line):]
		if cte != "" && line[0] != ' ' && line[0] != '\t' {
			name, _, _ := bytes.Cut(line, []byte(":"))
			dropping = strings.EqualFold(strings.TrimSpace(string(name)), "Content-Transfer-Encoding")
			if dropping && !placed {
				dst, placed = append(dst, "Content-Transfer-Encoding: "+cte+"\r\n"...), true
			}
		}
		if !dropping {
			dst = append(dst, line...)
		}
	}
	if !placed {
		dst = append(dst, "Content-Transfer-Encoding: "+cte+"\r\n"...)
	}
	if mimeVersion {
		dst = append(dst, "MIME-Version: 1.0\r\n"...)
	}
	return dst
}

// appendQuotedPrintable appends content quoted-printable (RFC 2045 §6.7):
// each CRLF a line break of the encoding; every other octet outside
// printable ASCII, and "=", as =XX; a space or tab before a line break or
// at the end (where the CRLF of a delimiter follows) as =XX too, as a
// mail system may strip it; a "-" that starts a line as =2D, so that no
// line of the encoding can be taken for a multipart delimiter ("--" and
// the boundary, RFC 2046 §5.1.1) whatever the content held; lines of at
// most 76 characters, with soft line breaks, "=" CRLF, where they would
// be longer.
func appendQuotedPrintable(dst, content []byte) []byte {
	const hex = "0123456789ABCDEF"
	col := 0
	for i := 0; i < len(content); i++ {
		o := content[i]
		if o == '\r' && i+1 < len(content) && content[i+1] == '\n' {
			dst = append(dst, "\r\n"...)
			col = 0
			i++
			continue
		}
		lineEnds := i+1 == len(content) || bytes.HasPrefix(content[i+1:], []byte("\r\n"))
		literal := o > ' ' && o <= '~' && o != '=' || (o == ' ' || o == '\t') && !lineEnds
		width := 3
		if literal {
			width = 1
		}
		// The last character of a line may take the column a soft line
		// break's "=" would need.
		room := qpLine - 1
		if lineEnds {
			room = qpLine
		}
		if col+width > room {
			dst = append(dst, "=\r\n"...)
			col = 0
		}
		if o == '-' && col == 0 {
			literal, width = false, 3
		}
		if literal {
			dst = append(dst, o)
		} else {
			dst = append(dst, '=', hex[o>>4], hex[o&15])
		}
		col += width
	}
	return dst
}
