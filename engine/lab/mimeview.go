package lab

// The mailbox view lists the attachments of every delivered message, which
// may come from the learner's mail client, from the terminal or from a
// real mail program through the TCP bridge: nothing in them is trusted.

import (
	"smtplab/engine/mimepart"
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
