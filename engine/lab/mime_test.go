package lab

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"smtplab/engine/mimepart"
	"smtplab/engine/mta"
	"smtplab/engine/smtp"
	"smtplab/engine/trace"
	"smtplab/internal/minijson"
)

// allBytes is a file with every octet value, twice, so that base64 has to
// get each one right and its last line is not a full one.
func allBytes() []byte {
	b := make([]byte, 512)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

// oddFiles are attachments whose names need each way of writing a
// parameter: a token, a quoted string with escapes, RFC 2231 for
// non-ASCII, long enough to fold the header field.
func oddFiles() []Attachment {
	return []Attachment{
		{Name: "notes.txt", Type: "text/plain", Content: []byte("a small text file\n")},
		{Name: "all bytes.bin", Content: allBytes()},
		{Name: `my "odd" \name; x=y.txt`, Type: "Text/Plain", Content: []byte("--smtplab-boundary-1-1\r\n")},
		{Name: "Résumé “final” €.pdf", Type: "application/pdf", Content: []byte("%PDF-1.7")},
		{Name: strings.Repeat("é", 125) + ".txt", Type: "text/plain", Content: nil},
		{Name: strings.Repeat("long-", 40) + "name.txt", Content: []byte{0}},
	}
}

// TestComposeWritesMIME sends a message with attachments and reads what
// Bob got with Go's own MIME readers: a multipart/mixed whose first part
// is the text and whose other parts are the files, every byte and every
// name as sent, in lines no longer than the RFCs allow.
func TestComposeWritesMIME(t *testing.T) {
	w := newWorld(t, "first-session")
	body := "Hello Bob,\nthe files. This line looks like a boundary:\n--smtplab-boundary-1-1\nü\n"
	files := oddFiles()
	if _, err := w.Submit(Message{From: "alice@example.com", To: []string{"bob@example.org"}, Subject: "Files", Body: body, Attachments: files}); err != nil {
		t.Fatal(err)
	}
	box := mailbox(w, "mx.example.org", "bob@example.org")
	if len(box) != 1 {
		t.Fatalf("Bob has %d messages", len(box))
	}
	raw := box[0].Raw
	for i, line := range strings.Split(raw, "\r\n") {
		if len(line) > 998 {
			t.Errorf("line %d is %d characters long (RFC 5322 §2.1.1: at most 998)", i+1, len(line))
		}
	}

	msg, err := mail.ReadMessage(strings.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if v := msg.Header.Get("MIME-Version"); v != "1.0" {
		t.Errorf("MIME-Version: %q", v)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/mixed" {
		t.Fatalf("Content-Type: %q (%v)", msg.Header.Get("Content-Type"), err)
	}
	if b := params["boundary"]; b == "smtplab-boundary-1-1" || strings.Contains(body, b) {
		t.Errorf("the boundary %q occurs in the text", b)
	}
	parts := multipart.NewReader(msg.Body, params["boundary"])

	text, err := parts.NextPart()
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(text)
	if want := strings.ReplaceAll(body, "\n", "\r\n"); string(got) != want || text.FileName() != "" {
		t.Errorf("the text part is %q (file %q), want %q", got, text.FileName(), want)
	}
	if ct, cte := text.Header.Get("Content-Type"), text.Header.Get("Content-Transfer-Encoding"); ct != "text/plain; charset=utf-8" || cte != "8bit" {
		t.Errorf("the text part is %q in %q", ct, cte)
	}

	for _, f := range files {
		p, err := parts.NextPart()
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		if p.FileName() != f.Name {
			t.Errorf("file name %q, want %q", p.FileName(), f.Name)
		}
		if d, _, _ := mime.ParseMediaType(p.Header.Get("Content-Disposition")); d != "attachment" {
			t.Errorf("%s: Content-Disposition %q", f.Name, p.Header.Get("Content-Disposition"))
		}
		wantType, _ := mediaType(f.Type)
		if ct := p.Header.Get("Content-Type"); ct != wantType {
			t.Errorf("%s: Content-Type %q, want %q", f.Name, ct, wantType)
		}
		if p.Header.Get("Content-Transfer-Encoding") != "base64" {
			t.Errorf("%s: Content-Transfer-Encoding %q", f.Name, p.Header.Get("Content-Transfer-Encoding"))
		}
		encoded, _ := io.ReadAll(p)
		for _, line := range strings.Split(string(encoded), "\r\n") {
			if len(line) > 76 {
				t.Errorf("%s: a base64 line of %d characters (RFC 2045 §6.8: at most 76)", f.Name, len(line))
			}
		}
		content, err := io.ReadAll(base64.NewDecoder(base64.StdEncoding, bytes.NewReader(encoded)))
		if err != nil || !bytes.Equal(content, f.Content) {
			t.Errorf("%s: the content came back as %q (%v), want %q", f.Name, content, err, f.Content)
		}
	}
	if _, err := parts.NextPart(); err != io.EOF {
		t.Errorf("after the files: %v, want the end", err)
	}

	// The mailbox view lists the files, and so does the mail client's note.
	var views []AttachmentView
	for _, f := range files {
		ct, _ := mediaType(f.Type)
		mt, _, _ := mime.ParseMediaType(ct)
		views = append(views, AttachmentView{Name: f.Name, Type: mt, Size: len(f.Content)})
	}
	if !slices.Equal(box[0].Attachments, views) {
		t.Errorf("the mailbox view lists %+v, want %+v", box[0].Attachments, views)
	}
	if !traceSays(w, `attached: "notes.txt" (18 octets, 24 in base64)`) {
		t.Error("the mail client's note does not list the files")
	}
}

// TestComposeWithoutAttachmentsIsUnchanged: a message without
// attachments is exactly what the mail client wrote before it could
// attach anything.
func TestComposeWithoutAttachmentsIsUnchanged(t *testing.T) {
	w := newWorld(t, "first-session")
	got := string(w.compose(Message{From: "alice@example.com", To: []string{"bob@example.org", "carol@example.org"}, Subject: "Hi", Body: "Hello\nBob\r\n"}, 1))
	want := "From: alice@example.com\r\nTo: bob@example.org, carol@example.org\r\nSubject: Hi\r\nDate: Mon, 05 Jan 2026 09:00:00 +0000\r\n" +
		"Message-ID: <1.1@laptop.example.com>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello\r\nBob\r\n"
	if got != want {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
}

// TestComposePlainEightBit: a plain message whose text is not ASCII says
// so in its header, Content-Transfer-Encoding: 8bit (without it 7bit is
// assumed, RFC 2045 §6.1), and every hop sends it with BODY=8BITMIME (RFC
// 6152); an ASCII one declares neither.
func TestComposePlainEightBit(t *testing.T) {
	w := newWorld(t, "mx-routing")
	m := Message{From: "alice@example.com", To: []string{"bob@example.org"}, Subject: "Grüße", Body: "Liebe Grüße aus Köln\n"}
	head, text, _ := strings.Cut(string(w.compose(m, 1)), "\r\n\r\n")
	if !strings.HasSuffix(head, "\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit") ||
		text != "Liebe Grüße aus Köln\r\n" {
		t.Errorf("the message is\n%s\r\n\r\n%s", head, text)
	}
	if _, err := w.Submit(m); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Advance(time.Minute); err != nil {
		t.Fatal(err)
	}
	box := mailbox(w, "mx1.example.org", "bob@example.org")
	if len(box) != 1 || !strings.Contains(box[0].Raw, "Content-Transfer-Encoding: 8bit\r\n\r\nLiebe Grüße aus Köln") {
		t.Fatalf("Bob has %d messages: %+v", len(box), box)
	}
	var mails []string
	for _, e := range w.Trace() {
		if e.Kind == trace.Command && e.Verb == "MAIL" {
			mails = append(mails, e.Host+": "+e.Text)
		}
	}
	if len(mails) != 2 || !strings.HasSuffix(mails[0], " BODY=8BITMIME") || !strings.HasSuffix(mails[1], " BODY=8BITMIME") {
		t.Errorf("the mail client and the relay sent %q, want BODY=8BITMIME from both", mails)
	}

	// The same words in ASCII: no transfer encoding, no BODY.
	w = newWorld(t, "mx-routing")
	m.Subject, m.Body = "Gruesse", "Liebe Gruesse aus Koeln\n"
	if got := string(w.compose(m, 1)); strings.Contains(got, "Content-Transfer-Encoding") {
		t.Errorf("an ASCII message declares a transfer encoding:\n%s", got)
	}
	if _, err := w.Submit(m); err != nil {
		t.Fatal(err)
	}
	for _, e := range w.Trace() {
		if e.Kind == trace.Command && e.Verb == "MAIL" && strings.Contains(e.Text, "BODY=") {
			t.Errorf("%s sent %q for an ASCII message", e.Host, e.Text)
		}
	}
}

// TestComposeIsDeterministic: the same world and input write the same
// message, boundary included; another seed writes another boundary.
func TestComposeIsDeterministic(t *testing.T) {
	m := Message{From: "alice@example.com", To: []string{"bob@example.org"}, Subject: "Files", Body: "Hi", Attachments: oddFiles()}
	a, b := newWorld(t, "first-session"), newWorld(t, "first-session")
	if x, y := a.compose(m, 3), b.compose(m, 3); !bytes.Equal(x, y) {
		t.Error("two worlds of one seed wrote different messages")
	}
	other, err := New("first-session", 2)
	if err != nil {
		t.Fatal(err)
	}
	if x, y := a.compose(m, 3), other.compose(m, 3); !bytes.Contains(x, []byte(`boundary="smtplab-boundary-1-3"`)) ||
		!bytes.Contains(y, []byte(`boundary="smtplab-boundary-2-3"`)) {
		t.Errorf("boundaries: %q and %q", x[:200], y[:200])
	}
	// Text holding the boundary, and the next one tried, gets a third.
	if got := boundaryFor(1, 3, "x smtplab-boundary-1-3-2 y"); got != "smtplab-boundary-1-3-3" {
		t.Errorf("boundaryFor = %q", got)
	}
}

// TestAttachmentLimits: what the mail client cannot send is refused with
// a reason, and leaves no input behind.
func TestAttachmentLimits(t *testing.T) {
	file := func(name, typ string, size int) Attachment {
		return Attachment{Name: name, Type: typ, Content: make([]byte, size)}
	}
	many := make([]Attachment, MaxAttachments+1)
	for i := range many {
		many[i] = file("f.txt", "", 1)
	}
	for _, tt := range []struct {
		name  string
		files []Attachment
		says  string
	}{
		{"too many", many, "at most 10 attachments"},
		{"too large", []Attachment{file("a", "", MaxAttachmentBytes/2), file("b", "", MaxAttachmentBytes/2+1)}, "at most 262144"},
		{"no name", []Attachment{file("", "", 1)}, "no name"},
		{"a path", []Attachment{file("../etc/passwd", "", 1)}, "not its path"},
		{"dot dot", []Attachment{file("..", "", 1)}, "not a file name"},
		{"a line break", []Attachment{file("a\r\nX-Evil: 1", "", 1)}, "invisible character U+000D"},
		{"right-to-left override", []Attachment{file("invoice\u202etxt.exe", "", 1)}, "U+202E"},
		{"not UTF-8", []Attachment{file("caf\xe9.txt", "", 1)}, "not valid UTF-8"},
		{"a long name", []Attachment{file(strings.Repeat("a", 256), "", 1)}, "at most 255"},
		{"a type without subtype", []Attachment{file("a", "text", 1)}, "not a media type"},
		{"a type with a space", []Attachment{file("a", "text/ plain", 1)}, "not a media type"},
		{"a broken parameter", []Attachment{file("a", "text/plain; charset", 1)}, "not a media type"},
		{"multipart", []Attachment{file("a", "multipart/mixed", 1)}, "application/octet-stream"},
		{"message", []Attachment{file("a.eml", "message/rfc822", 1)}, "cannot be sent in base64"},
		{"a long type", []Attachment{file("a", "application/"+strings.Repeat("x", 250), 1)}, "not a media type"},
		{"parameters", []Attachment{file("a", "text/plain; charset=utf-8", 1)}, "without parameters"},
	} {
		w := newWorld(t, "size-limit")
		_, err := w.Submit(Message{From: "alice@example.com", To: []string{"bob@example.org"}, Subject: "s", Body: "b", Attachments: tt.files})
		if err == nil || !strings.Contains(err.Error(), tt.says) {
			t.Errorf("%s: %v, want an error saying %q", tt.name, err, tt.says)
		}
		if n := len(w.Snapshot().Inputs); n != 0 {
			t.Errorf("%s: %d inputs recorded", tt.name, n)
		}
	}

	// A world's messages share one budget; undo gives it back.
	w := newWorld(t, "size-limit")
	half := Message{From: "alice@example.com", To: []string{"bob@example.org"}, Subject: "s", Body: "b",
		Attachments: []Attachment{file("half.bin", "", MaxWorldAttachmentBytes/2)}}
	for i := range 2 {
		if _, err := w.Submit(half); err != nil {
			t.Fatalf("message %d: %v", i+1, err)
		}
	}
	half.Attachments[0].Content = []byte{1}
	if _, err := w.Submit(half); err == nil || !strings.Contains(err.Error(), "512 KiB") {
		t.Errorf("past the world's budget: %v", err)
	}
	w, err := w.Undo()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Submit(half); err != nil {
		t.Errorf("after an undo: %v", err)
	}
}

// TestAttachmentsInSnapshots: a world with attachments goes through JSON,
// as the page saves it (minijson in the browser, encoding/json natively),
// and replays to the same trace; its snapshot and the message given to
// Submit share no memory with its input log.
func TestAttachmentsInSnapshots(t *testing.T) {
	w := newWorld(t, "first-session")
	m := Message{From: "alice@example.com", To: []string{"bob@example.org"}, Subject: "Files", Body: "Hi", Attachments: oddFiles()}
	if _, err := w.Submit(m); err != nil {
		t.Fatal(err)
	}
	m.Attachments[1].Content[0] = 'X' // the caller's own bytes
	s := w.Snapshot()
	s.Inputs[0].Submit.Attachments[1].Content[1] = 'Y'
	if got := w.Snapshot().Inputs[0].Submit.Attachments[1].Content; got[0] != 0 || got[1] != 1 {
		t.Errorf("the input log changed with the caller's message or a snapshot: % x", got[:2])
	}
	want, _ := json.Marshal(w.Trace())

	mini, err := minijson.Marshal(w.Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	std, _ := json.Marshal(w.Snapshot())
	if !bytes.Equal(mini, std) {
		t.Fatal("minijson and encoding/json write the snapshot differently")
	}
	var back Snapshot
	if err := minijson.Unmarshal(mini, &back); err != nil {
		t.Fatal(err)
	}
	r, err := Restore(back)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := json.Marshal(r.Trace()); !bytes.Equal(got, want) {
		t.Error("the restored world's trace differs")
	}
	if !bytes.Contains(mini, []byte(`"attachments":[{"name":"notes.txt","type":"text/plain","content":"YSBzbWFsbCB0ZXh0IGZpbGUK"}`)) {
		t.Errorf("the snapshot's JSON: %.300s", mini)
	}
}

// TestAttachmentsOf reads messages a mail program might have written by
// hand: a name only in Content-Type, quoted-printable, a part without
// header fields, a part that is inline, a message that is not multipart.
func TestAttachmentsOf(t *testing.T) {
	raw := "Subject: x\r\nContent-Type: Multipart/Mixed; boundary=b1\r\n\r\n" +
		"--b1\r\n\r\nno header fields: text\r\n" +
		"--b1 \r\nContent-Type: image/png; name=\"old style.png\"\r\nContent-Transfer-Encoding: BASE64\r\n\r\niVBO\r\nRw0=\r\n" +
		"--b1\r\nContent-Type: text/plain\r\nContent-Disposition: inline\r\n\r\nshown inline\r\n" +
		"--b1\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename*0=\"a\"; filename*1=\"b.txt\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=C3=A9=\r\nt=C3=A9\r\n" +
		"--b1\r\nContent-Disposition: attachment\r\n\r\n\r\n" +
		"--b1--\r\nepilogue\r\n"
	want := []AttachmentView{{Name: "old style.png", Type: "image/png", Size: 5}, {Name: "ab.txt", Type: "text/plain", Size: 5}, {Type: "text/plain", Size: 0}}
	if got := attachmentsOf([]byte(raw)); !slices.Equal(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	for _, raw := range []string{"Subject: plain\r\n\r\nHello", "Content-Type: multipart/mixed\r\n\r\n--\r\n", "Content-Type: multipart/mixed; boundary=x\r\n\r\n--x"} {
		if got := attachmentsOf([]byte(raw)); got != nil {
			t.Errorf("%q: %+v", raw, got)
		}
	}
}

// TestTextOf: the mailbox view's text of a message is its first text/plain
// part that is no attachment, decoded from its transfer encoding and
// charset, with a note when it is cut, in a charset the lab does not
// read, or missing.
func TestTextOf(t *testing.T) {
	long := strings.Repeat("é", maxTextBytes) // twice maxTextBytes octets
	for _, c := range []struct{ name, raw, text, note string }{
		{"plain", "Subject: x\r\n\r\nHello\r\n", "Hello\r\n", ""},
		{"no body", "Subject: x\r\n", "", ""},
		{"typed without the blank line", "Subject: x\r\nHello\r\n", "Hello\r\n", ""},
		{"no header at all", "Gr\xc3\xbc\xc3\x9fe\r\n", "Grüße\r\n",
			"The text declares no charset, so by RFC 2045 §5.2 it is US-ASCII; its octets past ASCII are read as UTF-8, as most mail programs guess."},
		{"quoted-printable", "Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: Quoted-Printable\r\n\r\nGr=C3=BC=C3=9Fe, so=\r\nft broken\r\n",
			"Grüße, soft broken\r\n", ""},
		{"base64 in an alternative in a mixed", "Content-Type: multipart/mixed; boundary=m\r\n\r\n--m\r\n" +
			"Content-Type: text/plain; name=notes.txt\r\n\r\nan attached file\r\n--m\r\n" +
			"Content-Type: multipart/alternative; boundary=\"a\"\r\n\r\n--a\r\nContent-Type: text/html\r\n\r\n<p>HTML</p>\r\n--a\r\n" +
			"Content-Type: text/plain; charset=\"utf-8\"\r\nContent-Transfer-Encoding: base64\r\n\r\nR3LDvMOfZQ==\r\n--a--\r\n--m--\r\n", "Grüße", ""},
		{"latin-1", "Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nK=F6ln", "Köln", ""},
		{"ascii with 8-bit octets", "Subject: x\r\n\r\nK\xf6ln", "K\uFFFDln", ""},
		{"no charset, UTF-8 typed", "Subject: x\r\n\r\nGr\xc3\xbc\xc3\x9fe", "Grüße",
			"The text declares no charset, so by RFC 2045 §5.2 it is US-ASCII; its octets past ASCII are read as UTF-8, as most mail programs guess."},
		{"another charset", "Content-Type: text/plain; charset=koi8-r\r\n\r\nplain \xf0", "plain \uFFFD",
			`The text is in the charset "koi8-r", which the lab does not read: its octets are shown as they are.`},
		{"html only", "Content-Type: text/html\r\n\r\n<p>Hi</p>", "", "This message has no text/plain part to show."},
		{"too deep", "Content-Type: multipart/mixed; boundary=1\r\n\r\n--1\r\nContent-Type: multipart/mixed; boundary=2\r\n\r\n--2\r\n" +
			"Content-Type: multipart/mixed; boundary=3\r\n\r\n--3\r\nContent-Type: multipart/mixed; boundary=4\r\n\r\n--4\r\n\r\ndeep\r\n",
			"", "This message has no text/plain part to show."},
		{"cut", "Content-Type: text/plain; charset=utf-8\r\n\r\n" + long, long[:maxTextBytes], "Only the first 32 KiB of the text are shown."},
		{"cut on a character", "Content-Type: text/plain; charset=utf-8\r\n\r\nx" + long, "x" + long[:maxTextBytes-2], "Only the first 32 KiB of the text are shown."},
	} {
		text, note := textOf([]byte(c.raw))
		if text != c.text || note != c.note {
			t.Errorf("%s: got %.80q (%s), want %.80q (%s)", c.name, text, note, c.text, c.note)
		}
	}
}

// fileNames are names that need each way of writing a parameter.
var fileNames = []string{"notes.txt", "my notes.txt", `a "quoted" \ name`, "x=y;z.txt", "Résumé “final” €.pdf",
	"100%*'.txt", "日本語.txt", strings.Repeat("long-", 50) + ".txt"}

// TestFileParamAsPackageMime: the filename parameter is written as
// package mime writes it, and read back as package mime reads it.
func TestFileParamAsPackageMime(t *testing.T) {
	for _, name := range fileNames {
		want := mime.FormatMediaType("attachment", map[string]string{"filename": name})
		if got := "attachment; " + fileParam(name); got != want {
			t.Errorf("%q: %s, package mime writes %s", name, got, want)
		}
		var b bytes.Buffer
		writeDisposition(&b, name)
		field, _ := strings.CutPrefix(b.String(), "Content-Disposition: ")
		if d, params := mimepart.Params(field); d != "attachment" || params["filename"] != name {
			t.Errorf("%q: read back as %q, %q", name, d, params["filename"])
		}
		if _, params, err := mime.ParseMediaType(strings.ReplaceAll(field, "\r\n", "")); err != nil || params["filename"] != name {
			t.Errorf("%q: package mime reads %s as %q (%v)", name, field, params["filename"], err)
		}
	}
}

// TestContentFilterReadsAttachments: lesson 10's filter refuses EICAR sent
// as an attachment, where the message itself holds only base64.
func TestContentFilterReadsAttachments(t *testing.T) {
	w := newWorld(t, "implicit-tls")
	r, err := w.Do(Input{Submit: &Message{From: "alice@example.com", To: []string{"bob@example.org"}, Subject: "a file",
		Body: "See the file.", Attachments: []Attachment{{Name: "eicar.com", Content: []byte(mta.EICAR)}}}})
	if err != nil {
		t.Fatal(err)
	}
	var refused bool
	for _, e := range r.Events {
		refused = refused || (e.Kind == trace.Reply && e.Code == 554 && strings.Contains(e.Text, "EICAR test file in a MIME part"))
	}
	if !refused {
		t.Fatalf("the EICAR attachment was not refused; trace:\n%s", dumpEvents(r.Events))
	}
}

// TestComposeLongLine: a line longer than the 998 octets RFC 5322 §2.1.1
// allows can go neither as 7bit nor as 8bit (RFC 2045 §2.7, §2.8), so the
// mail client sends the text quoted-printable (RFC 2045 §6.7): lines of
// at most 76 characters, soft line breaks where the learner had none.
// Through a relay to Bob's mailbox, and with an attachment too, the text
// decodes back to what the learner wrote, line for line, and the message
// is 7-bit: no hop sends BODY=8BITMIME.
func TestComposeLongLine(t *testing.T) {
	body := "A short line.\n" + strings.Repeat("0123456789", 120) + "\n" + strings.Repeat("é", 600) + "\nends with a space \n"
	want := strings.ReplaceAll(body, "\n", "\r\n")
	for _, files := range [][]Attachment{nil, {{Name: "notes.txt", Type: "text/plain", Content: []byte("a file\n")}}} {
		w := newWorld(t, "mx-routing")
		if _, err := w.Submit(Message{From: "alice@example.com", To: []string{"bob@example.org"}, Subject: "Long", Body: body, Attachments: files}); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Advance(time.Minute); err != nil {
			t.Fatal(err)
		}
		box := mailbox(w, "mx1.example.org", "bob@example.org")
		if len(box) != 1 {
			t.Fatalf("with %d attachments, Bob has %d messages; trace:\n%v", len(files), len(box), w.Trace())
		}
		raw := box[0].Raw
		if !strings.Contains(raw, "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n") {
			t.Errorf("the text is not declared quoted-printable:\n%s", raw)
		}
		_, content, _ := strings.Cut(raw, "\r\n\r\n")
		for i, line := range strings.Split(content, "\r\n") {
			if len(line) > 76 {
				t.Errorf("body line %d is %d characters long (RFC 2045 §6.7: at most 76)", i+1, len(line))
			}
		}
		msg, err := mail.ReadMessage(strings.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		var text io.Reader = quotedprintable.NewReader(msg.Body)
		if files != nil {
			_, params, _ := mime.ParseMediaType(msg.Header.Get("Content-Type"))
			part, err := multipart.NewReader(msg.Body, params["boundary"]).NextPart()
			if err != nil {
				t.Fatal(err)
			}
			text = part // multipart.Reader decodes quoted-printable itself
		}
		if got, err := io.ReadAll(text); err != nil || string(got) != want {
			t.Errorf("with %d attachments the text decodes to\n%q (%v), want\n%q", len(files), got, err, want)
		}
		if box[0].Text != want || box[0].TextNote != "" {
			t.Errorf("with %d attachments the mailbox shows the text as\n%q (%s), want\n%q", len(files), box[0].Text, box[0].TextNote, want)
		}
		for _, e := range w.Trace() {
			if e.Kind == trace.Command && e.Verb == "MAIL" && strings.Contains(e.Text, "BODY=") {
				t.Errorf("%s sent %q for a quoted-printable message", e.Host, e.Text)
			}
		}
	}
}

// TestComposeFoldsLongSubject: an ASCII Subject longer than a line is
// folded before spaces (RFC 5322 §2.2.3), every line within 78
// characters but a word longer than that, which gets a line of its own;
// unfolded, it is the Subject as written, and so the mailbox shows it. A
// Subject too long for a header line is refused, and the error says the
// limit.
func TestComposeFoldsLongSubject(t *testing.T) {
	words := strings.Repeat("The quick brown fox jumps over the lazy dog. ", 20)
	word := strings.Repeat("x", 100)
	for _, c := range []struct{ subject, want string }{
		{strings.Repeat("x", 69), "Subject: " + strings.Repeat("x", 69) + "\r\n"},
		{"Short " + word + " words after", "Subject: Short\r\n " + word + "\r\n words after\r\n"},
		{strings.Repeat("a ", 35) + " two spaces", "Subject: " + strings.TrimSpace(strings.Repeat("a ", 34)) + "\r\n a  two spaces\r\n"},
		{strings.TrimSpace(words), ""},
		{strings.Repeat("y", maxSubject), "Subject: " + strings.Repeat("y", maxSubject) + "\r\n"},
	} {
		w := newWorld(t, "first-session")
		header, _, _ := strings.Cut(string(w.compose(Message{From: "alice@example.com", To: []string{"bob@example.org"}, Subject: c.subject, Body: "Hi\n"}, 1)), "\r\n\r\n")
		_, field, _ := strings.Cut(header, "Subject:")
		field, _, _ = strings.Cut("Subject:"+field, "\r\nDate:")
		field += "\r\n"
		if c.want != "" && field != c.want {
			t.Errorf("%.20q... is written as\n%q, want\n%q", c.subject, field, c.want)
		}
		if unfolded := strings.ReplaceAll(field, "\r\n ", " "); unfolded != "Subject: "+c.subject+"\r\n" {
			t.Errorf("%.20q...: unfolded, the field is %q", c.subject, unfolded)
		}
		for line := range strings.SplitSeq(strings.TrimSuffix(field, "\r\n"), "\r\n") {
			if len(line) > maxLine || len(line) > 78 && strings.Contains(strings.TrimSpace(line[len("Subject:"):]), " ") {
				t.Errorf("%.20q...: a line of %d characters that could have been folded: %q", c.subject, len(line), line)
			}
		}
		if _, err := w.Submit(Message{From: "alice@example.com", To: []string{"bob@example.org"}, Subject: c.subject, Body: "Hi\n"}); err != nil {
			t.Fatal(err)
		}
		if box := mailbox(w, "mx.example.org", "bob@example.org"); len(box) != 1 || box[0].Subject != c.subject {
			t.Errorf("the mailbox shows the Subject %.20q... as %+v", c.subject, box)
		}
	}

	w := newWorld(t, "first-session")
	_, err := w.Submit(Message{From: "alice@example.com", To: []string{"bob@example.org"}, Subject: strings.Repeat("z", maxSubject+1), Body: "Hi\n"})
	if err == nil || !strings.Contains(err.Error(), "990 characters") || !strings.Contains(err.Error(), "at most 989") || !strings.Contains(err.Error(), "RFC 5322") {
		t.Errorf("a Subject of %d characters: %v", maxSubject+1, err)
	}
}

// subjects are Subject texts that need each way of writing one: ASCII as
// it is, and everything else as encoded-words, some over several lines.
var subjects = []string{"", "Hello", "Grüße aus Köln", "日本語のメール", "looks encoded: =?utf-8?b?aGk=?=", "tab\tand \x01 control",
	"Re: Einladung zur Jahresversammlung des Vereins für Heimatkunde und Brauchtumspflege – bitte bis Freitag antworten 🙂",
	strings.Repeat("é", 200), strings.Repeat("€", 41) + "x"}

// TestComposeEncodesSubject: a Subject that is not printable ASCII goes
// as RFC 2047 encoded-words, whole characters in each, folded so that no
// line of the header passes 78 characters (RFC 5322 §2.1.1); package
// mime reads it back as the learner wrote it, and so do the mailbox view
// and the delivery's trace event, while the raw message keeps the wire
// form. The header is all ASCII, so an ASCII body needs no 8BITMIME.
func TestComposeEncodesSubject(t *testing.T) {
	for _, subject := range subjects {
		w := newWorld(t, "first-session")
		header, _, _ := strings.Cut(string(w.compose(Message{From: "alice@example.com", To: []string{"bob@example.org"}, Subject: subject, Body: "Hi\n"}, 1)), "\r\n\r\n")
		if ascii := smtp.IsASCII(subject) && !strings.ContainsAny(subject, "\t\x01") && !strings.Contains(subject, "=?"); ascii != strings.Contains(header, "Subject: "+subject+"\r\n") {
			t.Errorf("%q is written as it is: %v, want %v:\n%s", subject, !ascii, ascii, header)
		}
		for i, line := range strings.Split(header, "\r\n") {
			if len(line) > 78 || !smtp.IsASCII(line) || strings.ContainsAny(line, "\x01") {
				t.Errorf("%q: header line %d is %d characters long, or not printable ASCII: %q", subject, i+1, len(line), line)
			}
		}
		for word := range strings.FieldsSeq(header) {
			if strings.HasPrefix(word, "=?") && len(word) > 75 {
				t.Errorf("%q: an encoded-word of %d characters (RFC 2047 §2: at most 75)", subject, len(word))
			}
			if raw, ok := strings.CutPrefix(word, "=?utf-8?b?"); ok {
				if b, err := base64.StdEncoding.DecodeString(strings.TrimSuffix(raw, "?=")); err != nil || !utf8.Valid(b) {
					t.Errorf("%q: the encoded-word %s does not hold whole characters (RFC 2047 §5)", subject, word)
				}
			}
		}
		msg, err := mail.ReadMessage(strings.NewReader(header + "\r\n\r\n"))
		if err != nil {
			t.Fatal(err)
		}
		if got, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject")); err != nil || got != subject {
			t.Errorf("package mime reads the Subject as %q (%v), want %q", got, err, subject)
		}

		if _, err := w.Submit(Message{From: "alice@example.com", To: []string{"bob@example.org"}, Subject: subject, Body: "Hi\n"}); err != nil {
			t.Fatal(err)
		}
		box := mailbox(w, "mx.example.org", "bob@example.org")
		if len(box) != 1 || box[0].Subject != subject {
			t.Fatalf("the mailbox shows the Subject as %+v, want %q", box, subject)
		}
		if !smtp.IsASCII(subject) && !strings.Contains(box[0].Raw, "Subject: =?utf-8?b?") {
			t.Errorf("the raw message does not show the encoded-words:\n%s", box[0].Raw)
		}
		for _, e := range w.Trace() {
			if e.Kind == trace.Delivery && e.Text != subject {
				t.Errorf("the delivery event says %q, want %q", e.Text, subject)
			}
			if e.Kind == trace.Command && e.Verb == "MAIL" && strings.Contains(e.Text, "BODY=") {
				t.Errorf("%q: %s sent %q for a 7-bit message", subject, e.Host, e.Text)
			}
		}
	}
}

// TestGlobalDSNInMailboxView: the mailbox view shows a global DSN (RFC
// 6533), 8-bit and UTF-8, as it shows a classic one: its words for people
// as the text, read as UTF-8, no attachments, and its three parts of the
// global types to be found.
func TestGlobalDSNInMailboxView(t *testing.T) {
	at := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	raw := mta.DSN{ReportingMTA: "smtp.example.com", To: "alice@example.com", QueueID: "Q1", MessageID: "Q2@smtp.example.com",
		Arrived: at, At: at, Full: true, Original: []byte("From: Jörg <alice@example.com>\r\nSubject: Grüße\r\n\r\nHallo\r\n"),
		Recipients: []mta.RecipientStatus{{Recipient: "böb@example.org", Action: mta.ActionFailed, Status: "5.1.1",
			Remote: "mx.example.org", Diagnosis: "550 5.1.1 <böb@example.org>: no such user"}},
	}.Build()
	text, note := textOf(raw)
	if want := "\r\n<böb@example.org>: host mx.example.org said: 550 5.1.1 <böb@example.org>: no such user\r\n"; !strings.Contains(text, want) || note != "" {
		t.Errorf("text %q (%s), want it to hold %q and no note", text, note, want)
	}
	if got := attachmentsOf(raw); got != nil {
		t.Errorf("attachments %+v, want none", got)
	}
	var types []string
	for _, p := range mimepart.Parts(raw, maxViewedParts) {
		types = append(types, p.Header.Get("Content-Type")+" "+p.Header.Get("Content-Transfer-Encoding"))
	}
	if want := []string{"text/plain; charset=utf-8 8bit", "message/global-delivery-status 8bit", "message/global 8bit"}; !slices.Equal(types, want) {
		t.Errorf("parts %q, want %q", types, want)
	}
}
