package lab

// The mailbox view lists the attachments of every delivered message, which
// may come from the learner's mail client, from the terminal or from a
// real mail program through the TCP bridge: nothing in them is trusted.

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"smtplab/engine/mimepart"
	"smtplab/engine/smtp"
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
// a file. A message that is not multipart has none. Parts inside parts (a
// multipart/alternative in a mixed one) are not opened.
func attachmentsOf(raw []byte) []AttachmentView {
	var out []AttachmentView
	for _, p := range mimepart.Parts(raw, maxViewedParts) {
		if a, ok := attachmentView(p); ok {
			out = append(out, a)
		}
	}
	return out
}

// attachmentView says whether a body part is an attachment, and what.
func attachmentView(p mimepart.Part) (AttachmentView, bool) {
	disposition, dparams := mimepart.Params(p.Header.Get("Content-Disposition"))
	mt, tparams := mimepart.Params(p.Header.Get("Content-Type"))
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
	return AttachmentView{Name: name, Type: mt, Size: mimepart.DecodedSize(p.Body, p.Header.Get("Content-Transfer-Encoding"))}, true
}

// maxTextBytes bounds the text the mailbox view shows of one message:
// plenty for a letter, and half of what the live feed shows of a
// message's raw source, which the same state event carries too.
const maxTextBytes = 32 << 10

// maxTextDepth bounds how deep textOf looks for the text: a multipart in
// a multipart (an alternative in a mixed one) is common, more is rare, and
// a message typed in the terminal may nest any number of them.
const maxTextDepth = 3

// textOf returns the text of a delivered message as a mail program shows
// it: its first text/plain part that is not an attachment, or its body
// when it is not multipart, with the transfer encoding undone (the =
// soft line breaks and =C3=A9 of quoted-printable, base64) and its octets
// read in its charset. note says, for the learner, what the text shown
// is not: whole, read in its charset, or there at all.
func textOf(raw []byte) (text, note string) {
	hdr, start := mimepart.Headers(raw)
	p, ok := firstText(mimepart.Part{Header: hdr, Body: raw[min(start, len(raw)):]}, maxTextDepth)
	if !ok {
		return "", "This message has no text/plain part to show."
	}
	// Every octet of text takes at most 4 in base64 or quoted-printable
	// (soft line breaks aside): decoding more is work for nothing.
	body, cut := p.Body, false
	if len(body) > 4*maxTextBytes {
		body, cut = body[:4*maxTextBytes], true
	}
	octets := mimepart.Decode(body, p.Header.Get("Content-Transfer-Encoding"))
	if n := wholeCharacters(string(octets), maxTextBytes); n < len(octets) {
		octets, cut = octets[:n], true
	}
	_, params := mimepart.Params(p.Header.Get("Content-Type"))
	charset := params["charset"]
	if charset == "" {
		// Without a charset the text is US-ASCII (RFC 2045 §5.2), but a
		// line typed with "é" in the terminal holds UTF-8 octets, and
		// mail programs guess so too: the learner should see the "é".
		charset = "us-ascii"
		if !smtp.IsASCII(string(octets)) && utf8.Valid(octets) {
			charset, note = "utf-8", "The text declares no charset, so by RFC 2045 §5.2 it is US-ASCII; its octets past ASCII are read as UTF-8, as most mail programs guess."
		}
	}
	text, ok = mimepart.DecodeCharset(octets, charset)
	if !ok {
		text, note = string(octets), fmt.Sprintf("The text is in the charset %q, which the lab does not read: its octets are shown as they are.", charset)
	}
	if cut {
		note = strings.TrimSpace(note + fmt.Sprintf(" Only the first %d KiB of the text are shown.", maxTextBytes>>10))
	}
	return strings.ToValidUTF8(text, "\uFFFD"), note
}

// firstText returns the first text/plain part of p that is not an
// attachment, p itself when it is not multipart, looking depth multiparts
// deep. A part without a Content-Type is text/plain (RFC 2045 §5.2).
func firstText(p mimepart.Part, depth int) (mimepart.Part, bool) {
	mt, _ := mimepart.Params(p.Header.Get("Content-Type"))
	if !strings.HasPrefix(mt, "multipart/") {
		return p, mt == "" || mt == "text/plain"
	}
	if depth == 0 {
		return mimepart.Part{}, false
	}
	for _, sub := range p.Parts(maxViewedParts) {
		if _, attached := attachmentView(sub); attached {
			continue
		}
		if t, ok := firstText(sub, depth-1); ok {
			return t, true
		}
	}
	return mimepart.Part{}, false
}
