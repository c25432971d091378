package lab

// The learner's mail client writes MIME (RFC 2045, 2046, 2183): a message
// with attachments is a multipart/mixed of a text/plain part and one
// base64 part per file, and a text with a line too long for SMTP goes
// quoted-printable. (mimeview.go reads such messages back.)
//
// The standard library's mime package would write and read the header
// parameters, but it makes the browser's engine 68 KB larger, and the
// page has no room for that: the little needed is here and in
// mimeview.go, and the tests check it against package mime. The writer
// of mime/quotedprintable adds under 3 KB after brotli: that one is used.

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"mime/quotedprintable"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"smtplab/engine/smtp"
)

// Attachment is a file the learner's mail client sends with a message.
type Attachment struct {
	Name string `json:"name"` // the file's name, as the recipient sees it; never a path
	// Type is the file's media type, such as text/plain or image/png,
	// without parameters; empty means application/octet-stream, bytes of
	// no particular kind.
	Type    string `json:"type"`
	Content []byte `json:"content"` // the file itself; in JSON, base64 as encoding/json writes []byte
}

// Limits on attachments. A world is its inputs, and every attachment is
// in the input log, which the page keeps in the browser's storage (a few
// MB per site) and hands back to the engine to restore: so a message
// carries at most MaxAttachments files of MaxAttachmentBytes in all, and a
// world's messages together at most MaxWorldAttachmentBytes. Plenty for
// seeing MIME and base64 at work; not a file-transfer service.
const (
	MaxAttachments          = 10
	MaxAttachmentBytes      = 256 << 10
	MaxWorldAttachmentBytes = 512 << 10
	maxAttachmentName       = 255 // octets of UTF-8, the longest file name most file systems take
	maxMediaType            = 255
)

// base64Line is the longest line of base64 text in a message: RFC 2045
// §6.8 allows at most 76 characters.
const base64Line = 76

// CheckAttachments says what is wrong with a message's attachments, if
// anything: too many, too large together, or one with a name or media
// type the mail client cannot write (see checkFileName and mediaType).
func CheckAttachments(as []Attachment) error {
	if len(as) > MaxAttachments {
		return fmt.Errorf("a message carries at most %d attachments, not %d", MaxAttachments, len(as))
	}
	total := 0
	for i, a := range as {
		if err := checkFileName(a.Name); err != nil {
			return fmt.Errorf("attachment %d: %w", i+1, err)
		}
		if _, err := mediaType(a.Type); err != nil {
			return fmt.Errorf("attachment %d (%q): %w", i+1, a.Name, err)
		}
		total += len(a.Content)
	}
	if total > MaxAttachmentBytes {
		return fmt.Errorf("the attachments are %d bytes together; a message carries at most %d (%d KiB)", total, MaxAttachmentBytes, MaxAttachmentBytes>>10)
	}
	return nil
}

// attachedBytes returns the size of a message's files, before encoding.
func attachedBytes(as []Attachment) int {
	n := 0
	for _, a := range as {
		n += len(a.Content)
	}
	return n
}

// checkFileName refuses names that are not a plain file name. The name
// comes from the learner's computer and ends up in a header field and in
// the page: a line break would forge header fields, a slash makes it a
// path (RFC 2183 §2.3 asks receivers to ignore those), and the
// invisible characters that reverse the text's direction can disguise a
// name's real extension ("txt.exe" shown as "exe.txt").
func checkFileName(name string) error {
	switch {
	case name == "":
		return errors.New("the file has no name")
	case len(name) > maxAttachmentName:
		return fmt.Errorf("the file name is %d bytes long; at most %d", len(name), maxAttachmentName)
	case !utf8.ValidString(name):
		return errors.New("the file name is not valid UTF-8")
	case name == "." || name == "..":
		return fmt.Errorf("%q is not a file name", name)
	case strings.ContainsRune(name, '/'):
		return fmt.Errorf("the file name %q holds a /: give the name of the file, not its path", name)
	}
	for _, r := range name {
		if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) {
			return fmt.Errorf("the file name %q holds the invisible character %U", name, r)
		}
	}
	return nil
}

// mediaType returns the Content-Type header value for an attachment's
// type: application/octet-stream for none, else type/subtype in lower
// case, each a token (RFC 2045 §5.1). Multipart and message types are
// refused: their parts must stay readable text, never base64 (RFC 2045
// §6.4, RFC 2046 §5.2.1).
func mediaType(t string) (string, error) {
	if t == "" {
		return "application/octet-stream", nil
	}
	top, sub, ok := strings.Cut(strings.ToLower(t), "/")
	if !ok || !isToken(top) || !isToken(sub) || len(t) > maxMediaType {
		return "", fmt.Errorf("%q is not a media type like text/plain or image/png (written without parameters)", t)
	}
	if top == "multipart" || top == "message" {
		return "", fmt.Errorf("a %s/%s attachment cannot be sent in base64; send it as application/octet-stream", top, sub)
	}
	return top + "/" + sub, nil
}

// isToken says whether s is a token of RFC 2045 §5.1: printable ASCII
// without spaces and without its special characters.
func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?=`, c) >= 0 {
			return false
		}
	}
	return s != ""
}

// writeMixed writes the rest of a message with attachments after its
// MIME-Version: the multipart/mixed Content-Type, a line for mail programs
// that know no MIME (RFC 2046 §5.1.1's preamble), the text as the first
// part and each file as a base64 part. text has CRLF line ends already.
func writeMixed(b *bytes.Buffer, boundary, text string, as []Attachment) {
	b.WriteString("Content-Type: multipart/mixed; boundary=" + strconv.Quote(boundary) + "\r\n\r\n")
	b.WriteString("This is a message in MIME format: a mail program shows its parts.\r\n")
	// A delimiter is CRLF "--" boundary: the CRLF before it belongs to
	// it, not to the part above (RFC 2046 §5.1.1).
	b.WriteString("--" + boundary + "\r\n")
	writeText(b, text)
	for _, a := range as {
		ct, _ := mediaType(a.Type) // CheckAttachments let it through
		b.WriteString("\r\n--" + boundary + "\r\nContent-Type: " + ct + "\r\n")
		writeDisposition(b, a.Name)
		b.WriteString("Content-Transfer-Encoding: base64\r\n\r\n")
		writeBase64(b, a.Content)
	}
	b.WriteString("\r\n--" + boundary + "--\r\n")
}

// writeUnstructured writes a header field of free text, such as Subject
// (RFC 5322 §3.2.5). Printable ASCII goes as it is. Other text cannot: a
// header is ASCII unless every hop offers SMTPUTF8 (RFC 6532), which a
// mail client cannot know. It goes as RFC 2047 encoded-words, UTF-8 in
// base64 (the "B" encoding, §4.1), as mail programs write it:
//
//	Subject: =?utf-8?b?R3LDvMOfZSBhdXMgS8O2bG4=?=
//
// So does ASCII with control characters, and ASCII that holds "=?": a
// reader would take it for an encoded-word. Each encoded-word holds whole
// characters (RFC 2047 §5) and at most 75 characters (§2), and each has a
// line of its own, within the 78 characters RFC 5322 §2.1.1 recommends;
// a reader drops the white space between two encoded-words (RFC 2047
// §6.2), so the text comes back whole.
func writeUnstructured(b *bytes.Buffer, name, text string) {
	if isPrintable(text) && !strings.Contains(text, "=?") {
		writeFolded(b, name, text)
		return
	}
	const start, end = "=?utf-8?b?", "?="
	b.WriteString(name + ":")
	used := len(name) + 1 // of the line, so far
	for text != "" {
		room := min(maxEncodedWord, maxHeaderLine-used-len(" ")) - len(start) - len(end)
		n := wholeCharacters(text, max(room/4*3, utf8.UTFMax)) // base64 writes 3 octets as 4 characters
		b.WriteString(" " + start + base64.StdEncoding.EncodeToString([]byte(text[:n])) + end)
		if text = text[n:]; text != "" {
			b.WriteString("\r\n") // folded: the next line starts with the space
			used = 0
		}
	}
	b.WriteString("\r\n")
}

// writeFolded writes a header field of printable ASCII, folded (RFC 5322
// §2.2.3) before a space wherever its line would pass maxHeaderLine: the
// reader removes each CRLF before a space, and the text comes back whole.
// It folds only before a space that a word follows, so that no line is
// all white space, and never inside a word: a word longer than a line
// stays whole on a line of its own (maxSubject keeps that within the 998
// characters a line may have).
func writeFolded(b *bytes.Buffer, name, text string) {
	b.WriteString(name + ": ")
	used := len(name) + len(": ") // of the line, so far
	for text != "" {
		n := foldPoint(text)
		if text[0] == ' ' && used+n > maxHeaderLine {
			b.WriteString("\r\n") // the next line starts with the space
			used = 0
		}
		b.WriteString(text[:n])
		used += n
		text = text[n:]
	}
	b.WriteString("\r\n")
}

// foldPoint returns where writeFolded may fold text next: at its first
// space, after the first character, that a word follows; len(text) when
// there is none.
func foldPoint(text string) int {
	for i := 1; i+1 < len(text); i++ {
		if text[i] == ' ' && text[i+1] != ' ' {
			return i
		}
	}
	return len(text)
}

// maxSubject is the longest Subject the mail client sends, in characters:
// a Subject of one long word cannot be folded, and with "Subject: " in
// front of it, its line must keep within maxLine (RFC 5322 §2.1.1).
const maxSubject = maxLine - len("Subject: ")

// Lengths in a header: RFC 5322 §2.1.1 recommends lines of at most 78
// characters, and RFC 2047 §2 allows an encoded-word at most 75.
const (
	maxHeaderLine  = 78
	maxEncodedWord = 75
)

// wholeCharacters returns how many of the first n octets of s end on a
// character boundary: all of s when it is shorter, and never 0 (bytes
// that are not UTF-8 are cut anywhere).
func wholeCharacters(s string, n int) int {
	if len(s) <= n {
		return len(s)
	}
	for i := n; i > 0; i-- {
		if utf8.RuneStart(s[i]) {
			return i
		}
	}
	return n
}

// isPrintable reports whether s is printable ASCII, spaces and tabs
// included: what a header field may hold as it is.
func isPrintable(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < ' ' || c > '~') && c != '\t' {
			return false
		}
	}
	return true
}

// maxLine is the longest line a message may have: RFC 5322 §2.1.1 allows
// 998 characters before the CRLF, which makes the 1000 octets of an SMTP
// text line (RFC 5321 §4.5.3.1.6).
const maxLine = 998

// writeText writes text, the message's own words in UTF-8 with CRLF line
// ends, as a text/plain entity: its header fields, a blank line and the
// text in the transfer encoding it needs (RFC 2045 §6):
//
//   - none, which means 7bit (RFC 2045 §6.1), for ASCII;
//   - 8bit for other UTF-8. The client then sends the message with
//     BODY=8BITMIME, or converted to quoted-printable to a server that
//     does not offer 8BITMIME (RFC 6152 §3, mimepart.AppendSevenBit);
//   - quoted-printable when a line is longer than maxLine, which neither
//     7bit nor 8bit data may have (RFC 2045 §2.7, §2.8) and no SMTP server
//     has to take. Its soft line breaks keep every line within 76
//     characters (RFC 2045 §6.7), and the recipient's mail program
//     removes them: the text reads as the learner wrote it. Every octet
//     of it is ASCII, so the message needs no 8BITMIME either.
func writeText(b *bytes.Buffer, text string) {
	b.WriteString("Content-Type: text/plain; charset=utf-8\r\n")
	switch {
	case hasLongLine(text):
		b.WriteString("Content-Transfer-Encoding: quoted-printable\r\n\r\n")
		// The encoder writes into a buffer of its own: handed b, as an
		// io.Writer, it would make every message's buffer escape to the
		// heap (see World.compose).
		var encoded bytes.Buffer
		qp := quotedprintable.NewWriter(&encoded)
		qp.Write([]byte(text)) // a bytes.Buffer takes everything
		qp.Close()
		b.Write(encoded.Bytes())
	case !smtp.IsASCII(text):
		b.WriteString("Content-Transfer-Encoding: 8bit\r\n\r\n")
		b.WriteString(text)
	default:
		b.WriteString("\r\n")
		b.WriteString(text)
	}
}

// hasLongLine reports whether a line of text, CRLF aside, is longer than
// maxLine octets.
func hasLongLine(text string) bool {
	for line := range strings.SplitSeq(text, "\r\n") {
		if len(line) > maxLine {
			return true
		}
	}
	return false
}

// writeDisposition writes the Content-Disposition header field of an
// attachment (RFC 2183), folded before its parameter when the line would
// pass the 78 characters RFC 5322 §2.1.1 recommends.
func writeDisposition(b *bytes.Buffer, name string) {
	param, sep := fileParam(name), " "
	if len("Content-Disposition: attachment; ")+len(param) > 78 {
		sep = "\r\n "
	}
	b.WriteString("Content-Disposition: attachment;" + sep + param + "\r\n")
}

// fileParam writes the filename parameter: as a token when the name is
// one, quoted when it is printable ASCII (with a backslash before each "
// and \), and a name beyond ASCII the way RFC 2231 §4 writes a value in
// another character set, percent-encoded UTF-8:
//
//	filename*=utf-8''%E2%82%AC.txt
//
// At most 255 bytes of name keep the line within the 998 characters RFC
// 5322 §2.1.1 requires.
func fileParam(name string) string {
	if isToken(name) {
		return "filename=" + name
	}
	var b strings.Builder
	if smtp.IsASCII(name) { // and without control characters: checkFileName saw to it
		b.WriteString(`filename="`)
		for i := 0; i < len(name); i++ {
			if name[i] == '"' || name[i] == '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(name[i])
		}
		return b.String() + `"`
	}
	b.WriteString("filename*=utf-8''")
	for i := 0; i < len(name); i++ {
		// RFC 2231 §7: an attribute-char is a token's character but * ' %.
		if c := name[i]; isToken(name[i:i+1]) && c != '*' && c != '\'' && c != '%' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// writeBase64 writes content in base64 lines of at most base64Line
// characters, each but the last followed by CRLF.
func writeBase64(b *bytes.Buffer, content []byte) {
	enc := base64.StdEncoding.EncodeToString(content)
	for len(enc) > base64Line {
		b.WriteString(enc[:base64Line] + "\r\n")
		enc = enc[base64Line:]
	}
	b.WriteString(enc)
}

// base64Size returns how many octets writeBase64 writes for n octets.
func base64Size(n int) int {
	chars := base64.StdEncoding.EncodedLen(n)
	if chars == 0 {
		return 0
	}
	return chars + 2*((chars-1)/base64Line)
}

// boundaryFor returns the boundary of the message of input n. It is made
// from the world's seed and n, so a replay writes the same message, and
// it must not occur in the text (RFC 2046 §5.1.1): while it does, a
// number is added. The '-' in it cannot occur in base64, so the files
// need no check.
func boundaryFor(seed int64, n int, text string) string {
	b := fmt.Sprintf("smtplab-boundary-%d-%d", seed, n)
	for k := 2; strings.Contains(text, b); k++ {
		b = fmt.Sprintf("smtplab-boundary-%d-%d-%d", seed, n, k)
	}
	return b
}

// attachmentSummary says what a message carried, for the mail client's
// note in the trace: each file's name, its size and its size in base64,
// which is the size that counts against a server's limit.
func attachmentSummary(as []Attachment) string {
	parts := make([]string, len(as))
	for i, a := range as {
		parts[i] = fmt.Sprintf("%q (%d octets, %d in base64)", a.Name, len(a.Content), base64Size(len(a.Content)))
	}
	return "attached: " + strings.Join(parts, ", ")
}
