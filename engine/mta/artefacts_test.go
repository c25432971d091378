package mta

import (
	"bufio"
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"net/textproto"
	"strconv"
	"strings"
	"testing"
	"time"

	"smtplab/engine/client"
	"smtplab/engine/smtp"
	"smtplab/engine/trace"
)

// reportParts reads raw, a DSN, as a mail reader does, with the standard
// library's parsers alone (net/mail, mime, mime/multipart): its
// report-type and its parts, each with its header and content.
func reportParts(t *testing.T, raw []byte) (reportType string, parts []*multipart.Part, contents [][]byte) {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("net/mail cannot read the DSN: %v\n%s", err, raw)
	}
	media, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || media != "multipart/report" {
		t.Fatalf("Content-Type %q (%v), want multipart/report", m.Header.Get("Content-Type"), err)
	}
	r := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := r.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("mime/multipart: %v\n%s", err, raw)
		}
		b, err := io.ReadAll(p)
		if err != nil {
			t.Fatalf("mime/multipart: %v", err)
		}
		parts, contents = append(parts, p), append(contents, b)
	}
	return params["report-type"], parts, contents
}

// statusGroups reads the content of a message/delivery-status part as RFC
// 3464 §2.1 lays it out, groups of fields apart by empty lines: the
// per-message fields, then one group per recipient.
func statusGroups(t *testing.T, content []byte) []textproto.MIMEHeader {
	t.Helper()
	r := textproto.NewReader(bufio.NewReader(bytes.NewReader(content)))
	var groups []textproto.MIMEHeader
	for {
		h, err := r.ReadMIMEHeader()
		if len(h) > 0 {
			groups = append(groups, h)
		}
		if err == io.EOF {
			return groups
		}
		if err != nil {
			t.Fatalf("the delivery-status fields do not parse: %v\n%s", err, content)
		}
	}
}

// TestOwnWordsKeepADSNClassic: a failure no server replied, in the lab's
// own words, cites its RFC with "§" ("no usable mail exchanger (RFC 5321
// §5.1)", a DANE or TLS failure). That one character made the report a
// global one (RFC 6533: message/global-delivery-status, message/global,
// 8-bit parts needing 8BITMIME) for a message and an address in ASCII,
// where Postfix writes a classic one; the report now writes it
// "section", and a reply from a server is still quoted as it came.
func TestOwnWordsKeepADSNClassic(t *testing.T) {
	d := DSN{ReportingMTA: "smtp.example.com", To: "alice@example.com", QueueID: "Q7", MessageID: "Q8@smtp.example.com",
		Arrived: t0, At: t0.Add(time.Minute), Full: true, Original: []byte("From: alice@example.com\r\nSubject: hi\r\n\r\nhello\r\n"),
		Recipients: []RecipientStatus{
			{Recipient: "dave@example.net", Action: ActionFailed, Status: "5.4.4",
				Diagnosis: "5.4.4 no usable mail exchanger for example.net: dns: example.net MX: no usable mail exchanger (RFC 5321 §5.1)"},
			{Recipient: "erin@example.net", Action: ActionFailed, Status: "4.7.5", Remote: "mx.example.net",
				Diagnosis: "DANE: mx.example.net offered no STARTTLS (RFC 7672 § 2.2)"},
		}}
	if d.Global() {
		t.Fatal("Global() for ASCII addresses and message: only the lab's own words hold a §")
	}
	raw := d.Build()
	if !smtp.IsASCII(string(raw)) {
		t.Fatalf("the DSN is not ASCII:\n%s", raw)
	}
	reportType, parts, contents := reportParts(t, raw)
	if reportType != "delivery-status" || len(parts) != 3 {
		t.Fatalf("report-type %q with %d parts, want delivery-status with 3", reportType, len(parts))
	}
	for i, want := range []string{"text/plain; charset=us-ascii", "message/delivery-status", "message/rfc822"} {
		if got := parts[i].Header.Get("Content-Type"); got != want {
			t.Errorf("part %d is %q, want %q", i+1, got, want)
		}
	}
	groups := statusGroups(t, contents[1])
	if len(groups) != 3 {
		t.Fatalf("%d groups of fields, want 3", len(groups))
	}
	for i, want := range []string{
		"X-SMTP-Lab; 5.4.4 no usable mail exchanger for example.net: dns: example.net MX: no usable mail exchanger (RFC 5321 section 5.1)",
		"X-SMTP-Lab; DANE: mx.example.net offered no STARTTLS (RFC 7672 section 2.2)",
	} {
		if got := groups[i+1].Get("Diagnostic-Code"); got != want {
			t.Errorf("recipient %d: Diagnostic-Code %q, want %q", i+1, got, want)
		}
	}
	if !bytes.Contains(contents[0], []byte("(RFC 5321 section 5.1)")) {
		t.Errorf("the part for people keeps the §:\n%s", contents[0])
	}
	// A server's reply beyond ASCII (after SMTPUTF8) is its own: quoted as
	// it came, in a global report.
	d.Recipients[0] = RecipientStatus{Recipient: "dave@example.net", Action: ActionFailed, Status: "5.1.1", Remote: "mx.example.net",
		Diagnosis: "550 5.1.1 <dave@example.net>: unbekannter Empfänger"}
	if !d.Global() || !strings.Contains(string(d.Build()), "Diagnostic-Code: smtp; 550 5.1.1 <dave@example.net>: unbekannter Empfänger\r\n") {
		t.Errorf("a server's UTF-8 reply is not quoted as it came in a global DSN:\n%s", d.Build())
	}
}

// TestDeliveryReplacesACarriedReturnPath: a message that comes with a
// Return-Path: field of its own (typed by whoever wrote it) is delivered
// with one Return-Path only, the envelope sender's, on top: the last hop
// removes the others, as RFC 5321 §4.4 allows and Postfix and Exim do, and
// says so in the trace. A relay passes the message on as it came: the MX
// finds the field there. A line of the body that reads like one stays.
func TestDeliveryReplacesACarriedReturnPath(t *testing.T) {
	n := testNet(t, nil, nil)
	env, err := client.ParseEnvelope("alice@example.com", "bob@example.org", "alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	submitMessage(t, n, env, "Return-Path: <bank@example.net>\r\nFrom: alice@example.com\r\nreturn-path:\r\n <other@example.net>\r\nSubject: hi\r\n\r\nReturn-Path: <text@example.net>\r\n")
	n.Net.Advance(time.Minute)
	mx, _ := n.Host("mx.example.org")
	relay, _ := n.Host("smtp.example.com")
	for _, box := range [][]StoredMessage{mx.Mailboxes.Messages("bob@example.org"), relay.Mailboxes.Messages("alice@example.com")} {
		if len(box) != 1 {
			t.Fatalf("%d messages, want 1; trace:\n%s", len(box), dump(n.Net.Log()))
		}
		m, err := mail.ReadMessage(bytes.NewReader(box[0].Raw))
		if err != nil {
			t.Fatal(err)
		}
		if got := m.Header["Return-Path"]; len(got) != 1 || got[0] != "<alice@example.com>" || !bytes.HasPrefix(box[0].Raw, []byte("Return-Path: <alice@example.com>\r\nReceived: ")) {
			t.Errorf("Return-Path fields %q, want the envelope sender's alone, on top:\n%s", got, box[0].Raw)
		}
		if body, _ := io.ReadAll(m.Body); string(body) != "Return-Path: <text@example.net>\r\n" {
			t.Errorf("body %q", body)
		}
	}
	var by []string
	for _, e := range notesWith(n.Net.Log(), "carried a Return-Path: field") {
		by = append(by, e.Host+" "+e.Rcpt)
	}
	if strings.Join(by, ", ") != "smtp.example.com alice@example.com, mx.example.org bob@example.org" {
		t.Errorf("notes of a replaced Return-Path: %q", by)
	}
}

// TestDefaultScheduleInQueueAndTrace follows a message Bob's full mailbox
// defers (452 4.2.2) under the default schedule, the numbers of Postfix's
// minimal_backoff_time (300 s), maximal_backoff_time (4000 s) and
// maximal_queue_lifetime (5 days): after each attempt the queue view and
// the trace's queue.retry say the same (attempts, next attempt, last
// error), the waits double from 5 minutes up to 4000 s, and the first
// attempt after 5 days gives up and returns a failure DSN that keeps the
// 4.2.2 (RFC 3463 §3.1, a persistent transient failure).
func TestDefaultScheduleInQueueAndTrace(t *testing.T) {
	n := testNet(t, func(c *HostConfig) { c.Quota = map[string]int{"bob@example.org": 0} }, nil)
	submit(t, n, "bob@example.org")
	n.Net.Advance(time.Second)
	var waits []time.Duration
	var last int64 // virtual ms of the last attempt that was deferred
	for len(kinds(n.Net.Log(), trace.QueueGiveUp)) == 0 {
		retries := kinds(n.Net.Log(), trace.QueueRetry)
		if len(retries) != len(waits)+1 {
			t.Fatalf("%d queue.retry events after %d waits; trace:\n%s", len(retries), len(waits), dump(n.Net.Log()))
		}
		e := retries[len(waits)]
		wait, err := time.ParseDuration(e.Attrs["next"])
		if err != nil {
			t.Fatal(err)
		}
		views := n.QueueEntries()
		if len(views) != 1 {
			t.Fatalf("queue view %+v, want the relay's one message", views)
		}
		v := views[0]
		if v.NextRetry != e.At+wait.Milliseconds() || strconv.Itoa(v.Attempts) != e.Attrs["attempt"] || v.LastError != e.Text {
			t.Fatalf("queue view %+v, trace %d %v %q", v, e.At, e.Attrs, e.Text)
		}
		waits, last = append(waits, wait), e.At
		n.Net.Advance(time.Duration(v.NextRetry-e.At)*time.Millisecond + time.Second)
	}
	want := []time.Duration{5 * time.Minute, 10 * time.Minute, 20 * time.Minute, 40 * time.Minute, 4000 * time.Second, 4000 * time.Second}
	for i, w := range want {
		if waits[i] != w {
			t.Errorf("wait %d: %v, want %v (all: %v)", i+1, waits[i], w, waits[:len(want)])
		}
	}
	for _, w := range waits[len(want):] {
		if w != 4000*time.Second {
			t.Fatalf("a wait of %v past the maximal backoff", w)
		}
	}
	fiveDays := (5 * 24 * time.Hour).Milliseconds()
	gaveUp := kinds(n.Net.Log(), trace.QueueGiveUp)[0]
	if last >= fiveDays || gaveUp.At < fiveDays || gaveUp.At > last+(4000*time.Second).Milliseconds()+2000 {
		t.Errorf("last deferral at %v, gave up at %v: want the first attempt after 5 days", time.Duration(last)*time.Millisecond, time.Duration(gaveUp.At)*time.Millisecond)
	}
	_, parts, contents := reportParts(t, []byte(aliceDSN(t, n)))
	groups := statusGroups(t, contents[1])
	if len(parts) != 3 || len(groups) != 2 || groups[1].Get("Action") != "failed" || groups[1].Get("Status") != "4.2.2" ||
		!bytes.Contains(contents[0], []byte("kept trying for 5 days")) {
		t.Errorf("the DSN after giving up:\n%s", aliceDSN(t, n))
	}
	if len(n.QueueEntries()) != 0 {
		t.Errorf("the queue still holds %+v", n.QueueEntries())
	}
}

// TestLineStartsFold: the quick look for a field finds its name at the
// start of a line of the header, in any case, and nowhere else: not inside
// another field's name or value, not on a line that continues a field, not
// in the body.
func TestLineStartsFold(t *testing.T) {
	for _, tt := range []struct {
		msg  string
		want bool
	}{
		{"Return-Path: <a@example.com>\r\nSubject: x\r\n\r\nhi\r\n", true},
		{"Subject: x\r\nRETURN-PATH: <a@example.com>\r\n\r\n", true},
		{"Subject: x\r\nReturn-Path : <a@example.com>\r\n\r\n", true}, // obsolete space before the colon (RFC 5322 §4.5.3)
		{"Subject: x\r\nX-Original-Return-Path: <a@example.com>\r\n\r\n", false},
		{"Subject: see Return-Path: <a@example.com>\r\n\r\n", false},
		{"Subject: x\r\n return-path: folded\r\n\r\n", false},
		{"Subject: x\r\n\r\nReturn-Path: <in the body>\r\n", false},
		{"Subject: x", false},
		{"", false},
	} {
		if got := lineStartsFold([]byte(tt.msg), "return-path"); got != tt.want {
			t.Errorf("%q: %v, want %v", tt.msg, got, tt.want)
		}
	}
}
