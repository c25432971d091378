package lab

import (
	"encoding/json"
	"strings"
	"testing"

	"smtplab/engine/client"
	"smtplab/engine/smtp"
	"smtplab/engine/trace"
)

// typeAll types lines into w and fails the test on an error.
func typeAll(t *testing.T, w *World, lines ...string) []trace.Event {
	t.Helper()
	var events []trace.Event
	for _, l := range lines {
		r, err := w.Type(l)
		if err != nil {
			t.Fatalf("Type(%q): %v", l, err)
		}
		events = append(events, r.Events...)
	}
	return events
}

// replies returns "verb code" for each reply event, e.g. "RCPT 250".
func replies(events []trace.Event) []string {
	var out []string
	for _, e := range events {
		if e.Kind == trace.Reply {
			out = append(out, strings.TrimSpace(e.Verb+" "+itoa(e.Code)))
		}
	}
	return out
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

var firstSession = []string{
	"EHLO laptop.example.com",
	"MAIL FROM:<alice@example.com>",
	"RCPT TO:<bob@example.org>",
	"DATA",
	"From: alice@example.com",
	"To: bob@example.org",
	"Subject: Hello Bob",
	"",
	"My first message, typed by hand.",
	".",
	"QUIT",
}

// TestMessageTypedWithoutBlankLine: a learner who forgets the empty line
// between the header and the text still sees the text in Bob's mailbox,
// and the Subject above it, as a mail reader would show them: the header
// ends at the first line that is not a field (RFC 5322 §2.1, §2.2).
func TestMessageTypedWithoutBlankLine(t *testing.T) {
	w, err := New("first-session", 1)
	if err != nil {
		t.Fatal(err)
	}
	typeAll(t, w, "EHLO laptop.example.com", "MAIL FROM:<alice@example.com>", "RCPT TO:<bob@example.org>", "DATA",
		"Subject: No blank line", "Hello Bob, the text starts here.", "Second line.", ".", "QUIT")
	box := mailbox(w, "mx.example.org", "bob@example.org")
	if len(box) != 1 {
		t.Fatalf("Bob has %d messages, want 1", len(box))
	}
	if box[0].Subject != "No blank line" || box[0].Text != "Hello Bob, the text starts here.\r\nSecond line.\r\n" {
		t.Errorf("the mailbox shows subject %q and text %q", box[0].Subject, box[0].Text)
	}
}

func TestFirstSessionDeliversToBob(t *testing.T) {
	w, err := New("first-session", 1)
	if err != nil {
		t.Fatal(err)
	}
	greeting := replies(w.Trace())
	if len(greeting) != 1 || greeting[0] != "220" {
		t.Fatalf("after connecting the trace has replies %v, want the 220 greeting", greeting)
	}
	events := typeAll(t, w, firstSession...)
	want := "EHLO 250|MAIL 250|RCPT 250|DATA 354|DATA 250|QUIT 221"
	if got := strings.Join(replies(events), "|"); got != want {
		t.Fatalf("replies %s, want %s", got, want)
	}
	st := w.State()
	if len(st.Mailboxes) != 1 || st.Mailboxes[0].Owner != "bob@example.org" || st.Mailboxes[0].Messages[0].Subject != "Hello Bob" {
		t.Fatalf("mailboxes %+v", st.Mailboxes)
	}
	if st.Learner.Connected {
		t.Fatal("still connected after QUIT")
	}
	// Typing again reconnects and gets a new greeting first.
	events = typeAll(t, w, "NOOP")
	if got := strings.Join(replies(events), "|"); got != "220|NOOP 250" {
		t.Fatalf("after reconnecting: %s", got)
	}
}

func TestSameInputSameTrace(t *testing.T) {
	run := func() []byte {
		w, err := New("first-session", 7)
		if err != nil {
			t.Fatal(err)
		}
		typeAll(t, w, firstSession...)
		if _, err := w.Advance(30 * 60e9); err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(w.Trace())
		return b
	}
	a, b := run(), run()
	if string(a) != string(b) {
		t.Fatal("two runs of the same scenario, seed and input gave different traces")
	}
}

// TestSnapshotOfFreshWorld: a world nothing was typed into yet snapshots
// to an empty input list, which the page reads as a lab (null it did not).
func TestSnapshotOfFreshWorld(t *testing.T) {
	for _, open := range []func() (*World, error){
		func() (*World, error) { return New("greylisting", 1) },
		func() (*World, error) { return Restore(Snapshot{Scenario: "greylisting", Seed: 1}) },
		func() (*World, error) {
			w, _ := New("greylisting", 1)
			typeAll(t, w, "NOOP")
			return w.Undo()
		},
	} {
		w, err := open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(w.Snapshot())
		if err != nil {
			t.Fatal(err)
		}
		if got, want := string(b), `{"scenario":"greylisting","seed":1,"inputs":[]}`; got != want {
			t.Errorf("snapshot %s, want %s", got, want)
		}
	}
}

func TestUndoAndRestoreReplay(t *testing.T) {
	w, _ := New("first-session", 3)
	typeAll(t, w, "EHLO me.example.com", "MAIL FROM:<alice@example.com>")
	u, err := w.Undo()
	if err != nil {
		t.Fatal(err)
	}
	if len(u.Snapshot().Inputs) != 1 {
		t.Fatalf("undo kept %d inputs", len(u.Snapshot().Inputs))
	}
	// A MAIL typed again after undo must be answered 250, not 503.
	if got := strings.Join(replies(typeAll(t, u, "MAIL FROM:<alice@example.com>")), "|"); got != "MAIL 250" {
		t.Fatalf("after undo: %s", got)
	}
	r, err := Restore(w.Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(w.Trace())
	b, _ := json.Marshal(r.Trace())
	if string(a) != string(b) {
		t.Fatal("restored world has a different trace")
	}
	if _, err := Restore(Snapshot{Scenario: "first-session", Inputs: []Input{{Advance: "forever"}}}); err == nil {
		t.Fatal("a bad input in a snapshot was accepted")
	}
}

func TestRawSmugglingIsRefused(t *testing.T) {
	w, _ := New("smuggling-attempt", 1)
	typeAll(t, w, "EHLO x.example.com", "MAIL FROM:<alice@example.com>", "RCPT TO:<bob@example.org>", "DATA")
	r, err := w.TypeRaw(`Subject: one\r\n\r\nhi\n.\nMAIL FROM:<evil@example.com>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\nSubject: two\r\n\r\nsmuggled\r\n.\r\n`)
	if err != nil {
		t.Fatal(err)
	}
	var codes []string
	for _, e := range r.Events {
		if e.Kind == trace.Reply {
			codes = append(codes, itoa(e.Code)+" "+e.Reason)
		}
	}
	if len(codes) == 0 || !strings.HasPrefix(codes[0], "550 bare-lf") {
		t.Fatalf("replies to the smuggling attempt: %v", codes)
	}
	if len(w.State().Mailboxes) != 0 {
		t.Fatal("a smuggled message was delivered")
	}
	if _, err := w.TypeRaw(`bad \q escape`); err == nil {
		t.Fatal("unknown escape accepted")
	}
	if _, err := w.Type("two\r\nlines"); err == nil {
		t.Fatal("a line break inside a typed line was accepted")
	}
}

// TestMailClientNoteNamesARefusalNoBounce: the mail client's note says
// the message was refused when the server said no inside the session,
// and not sent when the client itself held it back; neither is a bounce,
// which is a delivery status notification mailed back later (lessons 2
// and 10 teach the difference).
func TestMailClientNoteNamesARefusalNoBounce(t *testing.T) {
	gtube := "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
	tests := []struct {
		scenario string
		m        Message
		want     string
	}{
		{"first-session", Message{From: "alice@example.com", To: []string{"bob@example.org"}, Subject: "hi", Body: "hi"},
			"your mail client: the message was delivered (250 "},
		// The content filter's 554 after the content.
		{"implicit-tls", Message{From: "alice@example.com", To: []string{"bob@example.org"}, Subject: "spam", Body: gtube},
			"your mail client: the server refused the message (554 5.7.1 "},
		// The only recipient refused at RCPT.
		{"first-session", Message{From: "alice@example.com", To: []string{"nobody@example.org"}, Subject: "hi", Body: "hi"},
			"your mail client: the server refused the message (550 5.1.1 "},
		// Larger than the SIZE the server announced: never sent.
		{"size-limit", Message{From: "alice@example.com", To: []string{"bob@example.org"}, Subject: "long", Body: strings.Repeat("a line of text\n", 200)},
			"your mail client: the message was not sent (the message has "},
	}
	for _, tt := range tests {
		w, err := New(tt.scenario, 1)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Submit(tt.m); err != nil {
			t.Fatal(err)
		}
		var notes []string
		for _, e := range w.Trace() {
			if e.Kind == trace.Note && strings.Contains(e.Text, "mail client") {
				notes = append(notes, e.Text)
			}
		}
		if len(notes) != 1 || !strings.HasPrefix(notes[0], tt.want) || strings.Contains(notes[0], "bounce") {
			t.Errorf("%s, %q: the mail client's notes are %q, want one that starts %q and says no bounce", tt.scenario, tt.m.Subject, notes, tt.want)
		}
	}
}

// TestBounceEventNamesTheStatus: the trace's bounce event says why each
// recipient failed, in brief (the DSN's Status), so that the transcript
// and a lesson's goal can tell a null MX's 5.1.10 from an unknown user's
// 5.1.1 without opening the DSN.
func TestBounceEventNamesTheStatus(t *testing.T) {
	w, err := New("null-mx", 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Submit(Message{From: "alice@example.com", To: []string{"dave@example.net"}, Subject: "s", Body: "b"}); err != nil {
		t.Fatal(err)
	}
	var bounces []string
	for _, e := range w.Trace() {
		if e.Kind == trace.Bounce {
			bounces = append(bounces, e.Text)
		}
	}
	if len(bounces) != 1 || !strings.Contains(bounces[0], "for dave@example.net (5.1.10)") {
		t.Errorf("bounce events %q, want one for dave@example.net (5.1.10)", bounces)
	}
}

// TestDNSFailureIsTheRelaysOwnFinding: a DNS failure is what the relay
// found, not a reply any server gave: its queue reason carries the status
// code without a made-up reply code (as Postfix writes "Host or domain
// name not found"), while a null MX's carries the 556 RFC 7504 made for
// a relay to report it, and its DSN says so as an smtp diagnosis.
func TestDNSFailureIsTheRelaysOwnFinding(t *testing.T) {
	w, err := New("dns-failure", 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Submit(Message{From: "alice@example.com", To: []string{"bob@example.org"}, Subject: "s", Body: "b"}); err != nil {
		t.Fatal(err)
	}
	var retries []string
	for _, e := range w.Trace() {
		if e.Kind == trace.QueueRetry {
			retries = append(retries, e.Text)
		}
	}
	if len(retries) == 0 || !strings.HasPrefix(retries[0], "4.4.3 Host or domain name lookup failed for example.org") {
		t.Errorf("queue reasons %q, want the first to start with 4.4.3 and no reply code", retries)
	}

	w, err = New("null-mx", 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Submit(Message{From: "alice@example.com", To: []string{"dave@example.net"}, Subject: "s", Body: "b"}); err != nil {
		t.Fatal(err)
	}
	box := mailbox(w, "smtp.example.com", "alice@example.com")
	if len(box) != 1 || !strings.Contains(box[0].Raw, "Diagnostic-Code: smtp; 556 5.1.10 Domain example.net does not accept mail") {
		t.Errorf("alice's mailbox has %d messages, want the DSN with the 556 as an smtp diagnosis", len(box))
		for _, m := range box {
			t.Log(m.Raw)
		}
	}
}

// TestClientNoteSaysConverted: the note on the learner's mail client says
// when the message went converted to 7 bits, the server offering no
// 8BITMIME (RFC 6152 §3), as the relays' notes do.
func TestClientNoteSaysConverted(t *testing.T) {
	out := client.Outcome{Status: client.Delivered, SevenBit: true, Reply: smtp.Reply{Code: 250, Lines: []string{"2.0.0 queued"}}}
	if got := string(appendClientNote(nil, out, nil)); !strings.Contains(got, "the message was delivered") || !strings.Contains(got, "converted to 7 bits") {
		t.Errorf("the note says %q, want that it was delivered converted to 7 bits", got)
	}
	out.SevenBit = false
	if got := string(appendClientNote(nil, out, nil)); strings.Contains(got, "7 bits") {
		t.Errorf("the note on a message sent as it was says %q", got)
	}
}

// TestInputsAreText: a world's inputs travel as JSON, which holds only
// text, so an input that is not UTF-8 is refused rather than kept: kept,
// it would come back from a snapshot as U+FFFD, and the restored world
// would not be this one (FuzzWorldReplay found it with a typed 0xFF).
func TestInputsAreText(t *testing.T) {
	w := newWorld(t, "first-session")
	if _, err := w.Type("EHLO caf\xe9"); err == nil || !strings.Contains(err.Error(), "(UTF-8): the byte 0xe9 at 8 is not") {
		t.Errorf("a typed line with the byte 0xE9: %v", err)
	}
	if _, err := w.TypeRaw("EHLO \xff\\r\\n"); err == nil || !strings.Contains(err.Error(), "UTF-8") {
		t.Errorf("raw input with the byte 0xFF: %v", err)
	}
	m := Message{From: "alice@example.com", To: []string{"bob@example.org"}, Subject: "caf\xe9", Body: "hi"}
	if _, err := w.Submit(m); err == nil || !strings.Contains(err.Error(), "UTF-8") {
		t.Errorf("a Subject with the byte 0xE9: %v", err)
	}
	if n := len(w.Snapshot().Inputs); n != 0 {
		t.Errorf("%d inputs kept, want none", n)
	}
	if _, err := w.Type("EHLO café \uFFFD"); err != nil {
		t.Errorf("UTF-8 itself, U+FFFD included: %v", err)
	}
}
