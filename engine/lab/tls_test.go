package lab

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"smtplab/engine/trace"
)

func steps(events []trace.Event) []string {
	var out []string
	for _, e := range events {
		if e.Kind == trace.TLSStep {
			out = append(out, e.Step)
		}
	}
	return out
}

func TestScenarioSTARTTLS(t *testing.T) {
	w := newWorld(t, "starttls")
	events := typeAll(t, w, "EHLO laptop.example.com")
	if !strings.Contains(reply(events, "EHLO").Text, "STARTTLS") {
		t.Fatal("STARTTLS not offered")
	}
	events = typeAll(t, w, "STARTTLS")
	if r := reply(events, "STARTTLS"); r.Code != 220 {
		t.Fatalf("STARTTLS reply %+v", r)
	}
	got := steps(events)
	if len(got) == 0 || got[len(got)-1] != "finished" {
		t.Fatalf("handshake steps %v, want them to end with finished", got)
	}
	if !w.State().Learner.TLS {
		t.Fatal("the learner's connection is not TLS after the handshake")
	}
	events = typeAll(t, w, "EHLO laptop.example.com")
	var sealed bool
	for _, e := range events {
		if e.Kind == trace.Bytes && e.TLS && e.Attrs["cipher_hex"] != "" {
			sealed = true
		}
	}
	if !sealed {
		t.Fatal("bytes after STARTTLS are not traced as ciphertext")
	}
	if r := reply(events, "EHLO"); r.Code != 250 || strings.Contains(r.Text, "STARTTLS") {
		t.Fatalf("EHLO after TLS: %+v (STARTTLS must no longer be offered)", r)
	}
	session(t, w, "alice@example.com", "bob@example.org")
	box := mailbox(w, "mx.example.org", "bob@example.org")
	if len(box) != 1 || !strings.Contains(box[0].Received[0], "with ESMTPS") {
		t.Fatalf("delivered message's Received header does not say ESMTPS: %+v", box)
	}
}

func TestScenarioSubmissionWithAuth(t *testing.T) {
	w := newWorld(t, "submission-with-auth")
	events := typeAll(t, w, "EHLO laptop.example.com", "MAIL FROM:<alice@example.com>")
	if r := reply(events, "MAIL"); r.Code != 530 {
		t.Fatalf("MAIL before STARTTLS on 587: %+v, want 530", r)
	}
	if strings.Contains(reply(events, "EHLO").Text, "AUTH") {
		t.Fatal("AUTH offered before TLS on the submission port")
	}
	typeAll(t, w, "STARTTLS")
	events = typeAll(t, w, "EHLO laptop.example.com")
	if !strings.Contains(reply(events, "EHLO").Text, "AUTH") {
		t.Fatal("AUTH not offered after TLS")
	}
	bad := base64.StdEncoding.EncodeToString([]byte("\x00alice@example.com\x00guess"))
	if r := reply(typeAll(t, w, "AUTH PLAIN "+bad), "AUTH"); r.Code != 535 {
		t.Fatalf("wrong password: %+v, want 535", r)
	}
	good := base64.StdEncoding.EncodeToString([]byte("\x00alice@example.com\x00wonderland"))
	if r := reply(typeAll(t, w, "AUTH PLAIN "+good), "AUTH"); r.Code != 235 {
		t.Fatalf("right password: %+v, want 235", r)
	}
	typeAll(t, w, "MAIL FROM:<alice@example.com>", "RCPT TO:<bob@example.org>", "DATA", "Subject: hi", "", "hello", ".", "QUIT")
	advance(t, w, time.Minute)
	box := mailbox(w, "mx.example.org", "bob@example.org")
	if len(box) != 1 || !strings.Contains(box[0].Raw, "with ESMTPSA") {
		t.Fatalf("bob did not get the authenticated submission: %+v", box)
	}

	// The mail client does the same by itself.
	w2 := newWorld(t, "submission-with-auth")
	if _, err := w2.Submit(Message{From: "alice@example.com", To: []string{"bob@example.org"}, Subject: "sent by the client", Body: "hi"}); err != nil {
		t.Fatal(err)
	}
	advance(t, w2, time.Minute)
	if len(mailbox(w2, "mx.example.org", "bob@example.org")) != 1 {
		t.Fatalf("Submit did not deliver; trace:\n%s", dumpEvents(w2.Trace()))
	}
}

// TestBadCertificateBounceSaysWhatTheRelayFound: when the relay gives up
// on a message it could not send because the certificate of
// mx.example.org had expired, the queue, the trace's note and the bounce
// say so in plain words, as the relay's own finding: no "host
// mx.example.org said", since the MX said nothing, no x509 or crypto/tls
// error chain, and a Diagnostic-Code of the lab's own type, as Postfix
// writes X-Postfix for its own diagnoses (RFC 3464 §2.3.6).
func TestBadCertificateBounceSaysWhatTheRelayFound(t *testing.T) {
	w := newWorld(t, "bad-certificate")
	session(t, w, "alice@example.com", "bob@example.org")
	advance(t, w, time.Minute)
	const found = "the TLS handshake failed: the certificate of mx.example.org expired on 2026-01-04"
	retries := find(w.Trace(), trace.QueueRetry, "")
	if len(retries) != 1 || retries[0].Text != found {
		t.Errorf("the queue says %+v, want %q", retries, found)
	}
	if q := w.State().Queue; len(q) != 1 || q[0].LastError != found {
		t.Errorf("the queue view: %+v", q)
	}
	if len(find(w.Trace(), trace.Note, "TLS handshake failed: the certificate of mx.example.org expired on 2026-01-04")) != 1 {
		t.Errorf("no note in plain words; trace:\n%s", dumpEvents(w.Trace()))
	}
	advance(t, w, 6*24*time.Hour)
	box := mailbox(w, "smtp.example.com", "alice@example.com")
	if len(box) != 1 {
		t.Fatalf("alice has %d messages, want the bounce", len(box))
	}
	dsn := box[0].Raw
	for _, want := range []string{
		"<bob@example.org>: " + found + "\r\n",
		"Diagnostic-Code: X-SMTP-Lab; " + found + "\r\n",
		"Status: 4.7.5\r\n",
	} {
		if !strings.Contains(dsn, want) {
			t.Errorf("the bounce lacks %q:\n%s", want, dsn)
		}
	}
	for _, not := range []string{"said", "x509", "labtls", "client saw", "server saw", "remote error"} {
		if strings.Contains(dsn, not) {
			t.Errorf("the bounce says %q:\n%s", not, dsn)
		}
	}
}

func TestScenarioBadCertificate(t *testing.T) {
	w := newWorld(t, "bad-certificate")
	session(t, w, "alice@example.com", "bob@example.org")
	advance(t, w, time.Minute)
	var failed bool
	for _, e := range w.Trace() {
		if e.Kind == trace.TLSStep && e.Step == "failed" && e.Attrs["check"] == "expired" {
			failed = true
		}
	}
	if !failed {
		t.Fatalf("no failed handshake for the expired certificate; trace:\n%s", dumpEvents(w.Trace()))
	}
	if len(mailbox(w, "mx.example.org", "bob@example.org")) != 0 {
		t.Fatal("a verifying sender delivered over a bad certificate")
	}
	if len(w.State().Queue) != 1 {
		t.Fatal("the message is not waiting in the queue")
	}
	// The learner's own terminal does not insist on a valid certificate,
	// but the trace says the check failed.
	w2 := newWorld(t, "bad-certificate")
	if _, err := w2.Connect("mx.example.org:25"); err != nil {
		t.Fatal(err)
	}
	typeAll(t, w2, "EHLO laptop.example.com")
	events := typeAll(t, w2, "STARTTLS")
	var verify string
	for _, e := range events {
		if e.Kind == trace.TLSStep && e.Step == "verify" {
			verify = e.Attrs["verify"]
		}
	}
	if verify != "expired" || !w2.State().Learner.TLS {
		t.Fatalf("learner STARTTLS to an expired certificate: verify=%q tls=%v", verify, w2.State().Learner.TLS)
	}
}

// everyStep drives a world of scenario through a session with a message,
// STARTTLS and two hours, and returns its trace.
func everyStep(t *testing.T, scenario string) []trace.Event {
	t.Helper()
	w := newWorld(t, scenario)
	session(t, w, "alice@example.com", "bob@example.org")
	typeAll(t, w, "EHLO again.example.com", "STARTTLS", "EHLO again.example.com", "QUIT")
	advance(t, w, 2*time.Hour)
	return w.Trace()
}

func TestEveryScenarioIsDeterministic(t *testing.T) {
	for _, info := range Scenarios() {
		t.Run(info.Name, func(t *testing.T) {
			encode := func() string {
				b, err := json.Marshal(everyStep(t, info.Name))
				if err != nil {
					t.Fatal(err)
				}
				return string(b)
			}
			if a, b := encode(), encode(); a != b {
				t.Fatal("the same scenario, seed and input gave two different traces")
			}
		})
	}
}

func dumpEvents(events []trace.Event) string {
	var b strings.Builder
	for _, e := range events {
		b.WriteString(time.Duration(e.At*int64(time.Millisecond)).String() + " " + string(e.Kind) + " " + e.Host + " " + e.Verb + " " + e.Step + " " + e.Text + "\n")
	}
	return b.String()
}

// TestTerminalConnectionsAreLabelled checks what lesson goals rely on: the
// terminal's connections, and only they, carry client: terminal on their
// conn.open, and commands and replies say when they went inside TLS.
func TestTerminalConnectionsAreLabelled(t *testing.T) {
	w := newWorld(t, "submission-with-auth")
	typeAll(t, w, "EHLO laptop.example.com", "STARTTLS", "EHLO laptop.example.com", "QUIT", "NOOP")
	if _, err := w.Submit(Message{From: "alice@example.com", To: []string{"bob@example.org"}, Subject: "by the client", Body: "hi"}); err != nil {
		t.Fatal(err)
	}
	advance(t, w, time.Minute)
	terminal := map[int]bool{}
	opened := 0
	for _, e := range w.Trace() {
		if e.Kind != trace.ConnOpen {
			continue
		}
		opened++
		if e.Attrs[trace.AttrClient] == trace.ClientTerminal {
			if e.Host != "laptop.example.com" || e.Peer != "smtp.example.com" {
				t.Errorf("terminal label on %s -> %s", e.Host, e.Peer)
			}
			terminal[e.Conn] = true
		} else if len(e.Attrs) != 0 {
			t.Errorf("conn.open %d has attrs %v", e.Conn, e.Attrs)
		}
	}
	if len(terminal) != 2 || opened < 4 {
		t.Fatalf("%d terminal connections of %d, want 2 (before and after QUIT) of at least 4 (mail client, relay)", len(terminal), opened)
	}
	var ehlo []bool
	for _, e := range w.Trace() {
		if e.Kind == trace.Reply && e.Verb == "EHLO" && terminal[e.Conn] {
			ehlo = append(ehlo, e.TLS)
		}
	}
	if len(ehlo) != 2 || ehlo[0] || !ehlo[1] {
		t.Fatalf("the terminal's EHLO replies have tls %v, want [false true]", ehlo)
	}
}

// TestImplicitTLSGreetsAfterHandshake: on port 465 the terminal shakes
// hands first, and the server's 220 comes after it, encrypted (RFC 8314
// §3.3), as the only greeting.
func TestImplicitTLSGreetsAfterHandshake(t *testing.T) {
	w := newWorld(t, "implicit-tls")
	var kinds []string
	for _, e := range w.Trace() {
		switch {
		case e.Kind == trace.TLSStep && e.Step == "finished":
			kinds = append(kinds, "finished")
		case e.Kind == trace.Reply:
			kinds = append(kinds, fmt.Sprintf("%d tls=%v", e.Code, e.TLS))
		}
	}
	if strings.Join(kinds, ", ") != "finished, 220 tls=true" {
		t.Fatalf("the connection to 465 shows %v, want the handshake, then one encrypted 220", kinds)
	}
	events := typeAll(t, w, "EHLO laptop.example.com")
	if r := reply(events, "EHLO"); r.Code != 250 || !r.TLS || !strings.Contains(r.Text, "AUTH PLAIN LOGIN CRAM-MD5") || strings.Contains(r.Text, "STARTTLS") {
		t.Fatalf("EHLO on 465: %+v, want 250 inside TLS offering AUTH and not STARTTLS", r)
	}
}

// TestPipelinedBehindSTARTTLSIsDiscarded: a learner who sends STARTTLS and
// a command in one raw write, as a man in the middle injecting a command
// would (CVE-2011-0411), sees the server say 220, drop what followed
// unread, and the handshake run; the injected MAIL is never answered, and
// the session inside TLS starts afresh (RFC 3207 §4.2).
func TestPipelinedBehindSTARTTLSIsDiscarded(t *testing.T) {
	w := newWorld(t, "starttls")
	typeAll(t, w, "EHLO laptop.example.com")
	r, err := w.TypeRaw(`STARTTLS\r\nMAIL FROM:<evil@example.com>\r\n`)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(replies(r.Events), ", "); got != "STARTTLS 220" {
		t.Errorf("replies to the pipelined write: %s, want only STARTTLS 220", got)
	}
	if len(find(r.Events, trace.Note, "discarded 30 bytes that were pipelined behind STARTTLS")) != 1 {
		t.Errorf("no note of the discarded bytes; events:\n%s", dumpEvents(r.Events))
	}
	if got := steps(r.Events); len(got) == 0 || got[len(got)-1] != "finished" {
		t.Fatalf("handshake steps %v, want a handshake that finishes; events:\n%s", got, dumpEvents(r.Events))
	}
	events := typeAll(t, w, "MAIL FROM:<alice@example.com>", "EHLO laptop.example.com", "MAIL FROM:<alice@example.com>")
	if got := strings.Join(replies(events), ", "); got != "MAIL 503, EHLO 250, MAIL 250" {
		t.Errorf("inside TLS: %s, want MAIL 503 (EHLO first), EHLO 250, MAIL 250", got)
	}
	for _, e := range events {
		if e.Kind == trace.Reply && !e.TLS {
			t.Errorf("reply %d %q not inside TLS", e.Code, e.Text)
		}
	}
}

// TestSTARTTLSRefusals: STARTTLS with an argument gets 501 and no
// handshake; a second STARTTLS inside TLS gets Postfix's 554 5.5.1, and so
// does STARTTLS on 465, where TLS came first.
func TestSTARTTLSRefusals(t *testing.T) {
	w := newWorld(t, "starttls")
	events := typeAll(t, w, "EHLO laptop.example.com", "STARTTLS now")
	if r := reply(events, "STARTTLS"); r.Code != 501 || len(steps(events)) != 0 {
		t.Errorf("STARTTLS with an argument: %d %q, steps %v; want 501 and no handshake", r.Code, r.Text, steps(events))
	}
	typeAll(t, w, "STARTTLS", "EHLO laptop.example.com")
	events = typeAll(t, w, "STARTTLS")
	if r := reply(events, "STARTTLS"); r.Code != 554 || r.Enhanced != "5.5.1" || len(steps(events)) != 0 {
		t.Errorf("a second STARTTLS: %d %s %q, steps %v; want 554 5.5.1 and no handshake", r.Code, r.Enhanced, r.Text, steps(events))
	}
	w = newWorld(t, "implicit-tls")
	events = typeAll(t, w, "EHLO laptop.example.com", "STARTTLS")
	if r := reply(events, "STARTTLS"); r.Code != 554 || r.Enhanced != "5.5.1" || len(steps(events)) != 0 {
		t.Errorf("STARTTLS on 465: %d %s %q, steps %v; want 554 5.5.1 and no handshake", r.Code, r.Enhanced, r.Text, steps(events))
	}
}

// TestSealedBytesAreTLSRecords: after STARTTLS each write is traced with
// its size on the wire and a hex preview that is the TLS record itself:
// an application-data header (17 03 03) whose length is the rest of the
// write, 22 bytes more than the plaintext (the 5-byte header, TLS 1.3's
// content-type byte and its 16-byte tag), which does not show through in the preview.
func TestSealedBytesAreTLSRecords(t *testing.T) {
	w := newWorld(t, "starttls")
	typeAll(t, w, "EHLO laptop.example.com", "STARTTLS")
	events := typeAll(t, w, "EHLO laptop.example.com", "NOOP")
	var n int
	for _, e := range events {
		if e.Kind != trace.Bytes {
			continue
		}
		n++
		hexs, plain := e.Attrs["cipher_hex"], e.Attrs["plain_size"]
		if !e.TLS || hexs == "" || plain == "" {
			t.Fatalf("bytes inside TLS traced without ciphertext: %+v", e)
		}
		wire, err := hex.DecodeString(hexs)
		if err != nil || len(wire) < 5 {
			t.Fatalf("preview %q: %v", hexs, err)
		}
		if wire[0] != 0x17 || wire[1] != 3 || wire[2] != 3 || int(wire[3])<<8|int(wire[4]) != e.Size-5 {
			t.Errorf("preview %q is not one application-data record of %d bytes", hexs, e.Size)
		}
		if size, _ := strconv.Atoi(plain); size != len(e.Text) || e.Size != size+22 {
			t.Errorf("%q: plain_size %s, %d bytes on the wire; want %d and %d", e.Text, plain, e.Size, len(e.Text), len(e.Text)+22)
		}
		if strings.Contains(hexs, hex.EncodeToString([]byte(e.Text[:4]))) {
			t.Errorf("the preview %q shows the plaintext %q", hexs, e.Text)
		}
	}
	if n != 4 {
		t.Errorf("%d writes traced, want EHLO, its reply, NOOP and its reply", n)
	}
}
