package mta

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"smtplab/engine/mimepart"
	"smtplab/engine/server"
	"smtplab/engine/simnet"
	"smtplab/engine/smtp"
)

var t0 = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)

func TestRetrySchedule(t *testing.T) {
	s := DefaultRetrySchedule()
	want := []time.Duration{5 * time.Minute, 10 * time.Minute, 20 * time.Minute, 40 * time.Minute, 4000 * time.Second, 4000 * time.Second}
	for i, w := range want {
		if got := s.Next(i + 1); got != w {
			t.Errorf("Next(%d) = %v, want %v", i+1, got, w)
		}
	}
}

func TestGreylist(t *testing.T) {
	g := Greylist{Delay: 5 * time.Minute}
	if g.Check("192.0.2.1", "a@x", "b@y", 0) {
		t.Fatal("first sighting passed")
	}
	if g.Check("192.0.2.1", "a@x", "b@y", 4*time.Minute) {
		t.Fatal("retry before the delay passed")
	}
	if !g.Check("192.0.2.1", "A@X", "b@y", 5*time.Minute) {
		t.Fatal("retry after the delay was refused (addresses compare case-insensitively)")
	}
	if g.Check("192.0.2.2", "a@x", "b@y", 6*time.Minute) {
		t.Fatal("another client passed on the first client's record")
	}
}

func TestRateLimit(t *testing.T) {
	r := RateLimit{Max: 2, Window: time.Minute}
	got := []bool{r.Allow("c", 0), r.Allow("c", time.Second), r.Allow("c", 2*time.Second), r.Allow("d", 2*time.Second), r.Allow("c", 61*time.Second)}
	want := []bool{true, true, false, true, true}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("Allow sequence = %v, want %v", got, want)
		}
	}
}

func TestScan(t *testing.T) {
	tests := map[string]string{
		"Subject: hi\r\n\r\nhello\r\n":                        "",
		"Subject: hi\r\n\r\n" + EICAR + "\r\n":                "virus found: EICAR test file",
		"Subject: hi\r\n\r\n" + GTUBE + "\r\n":                "spam detected: GTUBE test string",
		"X-Spam-Flag: yes\r\nSubject: hi\r\n\r\nbuy now\r\n":  "spam detected: X-Spam-Flag is YES",
		"Subject: hi\r\n\r\nX-Spam-Flag: YES in the body\r\n": "",
		// Typed without the empty line: the text starts at "Hello", so the
		// flag below it is text, as a mail program shows it.
		"Subject: hi\r\nHello Bob\r\nX-Spam-Flag: YES\r\n":             "",
		"Subject: X\r\n\r\n" + GTUBE + "X" + EICAR[1:] + EICAR:         "virus found: EICAR test file", // a virus is worse news
		"Subject: hi\r\n\r\n" + GTUBE[:40] + EICAR[:40] + "XX" + GTUBE: "spam detected: GTUBE test string",
	}
	// Inside MIME parts, as a mail program attaches files: in base64 (in
	// lines of 76, so the string is cut across lines), in
	// quoted-printable, and in a forwarded message inside a part.
	b64 := base64.StdEncoding.EncodeToString([]byte("file start\r\n" + EICAR + "\r\n"))
	var lines strings.Builder
	for i := 0; i < len(b64); i += 76 {
		lines.WriteString(b64[i:min(i+76, len(b64))] + "\r\n")
	}
	mixed := func(part string) string {
		return "Subject: hi\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"=b\"\r\n\r\n" +
			"--=b\r\nContent-Type: text/plain\r\n\r\nSee the file.\r\n--=b\r\n" + part + "\r\n--=b--\r\n"
	}
	qp := strings.ReplaceAll(strings.ReplaceAll(GTUBE, "=", "=3D"), "*", "=2A")
	tests[mixed("Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=eicar.com\r\n\r\n"+lines.String())] = "virus found: EICAR test file in a MIME part"
	tests[mixed("Content-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"+qp[:40]+"=\r\n"+qp[40:])] = "spam detected: GTUBE test string in a MIME part"
	tests[mixed("Content-Type: message/rfc822\r\n\r\n"+mixed("Content-Transfer-Encoding: base64\r\n\r\n"+lines.String()))] = "virus found: EICAR test file in a MIME part"
	tests[mixed("Content-Transfer-Encoding: base64\r\n\r\n"+base64.StdEncoding.EncodeToString([]byte("a harmless file")))] = ""
	for msg, want := range tests {
		if got := Scan([]byte(msg)); got != want {
			t.Errorf("Scan(%q) = %q, want %q", msg, got, want)
		}
	}
}

func TestReceivedAndHeaders(t *testing.T) {
	r := Received{FromHelo: "client.example.com", FromHost: "client.example.com", FromAddr: "192.0.2.5", By: "mx.example.org",
		With: Protocol(true, true, false, false), ID: "Q1", For: "bob@example.org", At: t0}
	want := "Received: from client.example.com (client.example.com [192.0.2.5])\r\n\tby mx.example.org with ESMTPS id Q1\r\n\tfor <bob@example.org>; Mon, 05 Jan 2026 09:00:00 +0000\r\n"
	if got := r.String(); got != want {
		t.Fatalf("Received =\n%q\nwant\n%q", got, want)
	}
	msg := r.Prepend([]byte("Subject: hi\r\n\r\nbody\r\n"))
	h, body := mimepart.Headers(msg)
	if !strings.Contains(h.Get("Received"), "by mx.example.org with ESMTPS id Q1 for <bob@example.org>;") {
		t.Fatalf("folded Received not unfolded: %q", h.Get("Received"))
	}
	if h.Get("Subject") != "hi" || string(msg[body:]) != "body\r\n" {
		t.Fatalf("headers %v body %q", h, msg[body:])
	}
	// The hop's other trace fields go on top of its Received, in order.
	msg = r.Prepend([]byte("Subject: hi\r\n\r\nbody\r\n"), "Authentication-Results: x", "Received-SPF: pass")
	if want := "Authentication-Results: x\r\nReceived-SPF: pass\r\n" + want + "Subject: hi\r\n\r\nbody\r\n"; string(msg) != want {
		t.Fatalf("with trace fields:\n%q\nwant\n%q", msg, want)
	}
	// What a host keeps and what a local mailbox gets, in one piece: the
	// same as Prepend, and that with the Return-Path line Deliver adds.
	var dates DateCache
	delivered, stored := r.stamp([]byte("Subject: hi\r\n\r\nbody\r\n"), []string{"Received-SPF: pass"}, "alice@example.com", &dates)
	if string(stored) != string(r.Prepend([]byte("Subject: hi\r\n\r\nbody\r\n"), "Received-SPF: pass")) ||
		string(delivered) != "Return-Path: <alice@example.com>\r\n"+string(stored) || cap(delivered) != len(delivered) {
		t.Fatalf("stamp = %q, %q", delivered, stored)
	}
	var box Mailboxes
	if got, _ := box.Deliver(StoredMessage{From: "alice@example.com", To: "bob@example.org", Raw: stored}); string(got.Raw) != string(delivered) {
		t.Fatalf("Deliver stored %q, stamp %q", got.Raw, delivered)
	}
	// The same second in another zone is written again, in that zone.
	for _, at := range []time.Time{t0, t0.Add(300 * time.Millisecond), t0.Add(time.Second), t0.Add(36 * time.Hour),
		t0.Add(36 * time.Hour).In(time.FixedZone("X", 3600)), t0.In(time.FixedZone("X", 3600)), t0} {
		if got, want := string(dates.Append(nil, at)), at.Format(time.RFC1123Z); got != want {
			t.Errorf("DateCache: %s, want %s", got, want)
		}
	}
	for _, tt := range []struct {
		ehlo, tls, auth, utf8 bool
		want                  string
	}{
		{false, false, false, false, "SMTP"}, {true, false, false, false, "ESMTP"}, {true, true, true, false, "ESMTPSA"},
		{true, false, true, false, "ESMTPA"}, {true, false, false, true, "UTF8SMTP"}, {true, true, true, true, "UTF8SMTPSA"},
	} {
		if got := Protocol(tt.ehlo, tt.tls, tt.auth, tt.utf8); got != tt.want {
			t.Errorf("Protocol(%v,%v,%v,%v) = %q, want %q", tt.ehlo, tt.tls, tt.auth, tt.utf8, got, tt.want)
		}
	}
}

func TestSubject(t *testing.T) {
	for msg, want := range map[string]string{
		"From: a\r\nSubject:  lunch? \r\n\r\nbody": "lunch?",
		"SUBJECT: loud\r\n\r\n":                    "loud",
		"From: a\r\n\r\nSubject: in the body\r\n":  "",
		"Subject: last line, no CRLF":              "last line, no CRLF",
		"Subject: =?utf-8?b?R3LDvMOfZQ==?=\r\n =?utf-8?q?_aus_K=C3=B6ln?=\r\nTo: b\r\n\r\n": "Grüße aus Köln",
		"Subject: folded\r\n\tonce\r\n\r\n":                                                 "folded\tonce",
		"Subject: folded\r\n twice\r\n over\r\nTo: b\r\n\r\n":                               "folded twice over",
		// Without the empty line the text starts at the first line that is
		// no field (mimepart.HeaderEnd): what follows it is text.
		"From: a\r\nHello Bob\r\nSubject: in the text\r\n": "",
		"Subject: first\r\nHello: a field after all\r\n":   "first",
		// Space before the colon is allowed (obs-optional, RFC 5322 §4.5),
		// and a line with space after the name but no colon is text.
		"Subject \t: spaced\r\n\r\n":                         "spaced",
		"From: a\r\nSubject x\r\nSubject: in the text\r\n":   "",
		" Subject: a first line cannot continue a field\r\n": "",
		// A stray LF is part of its line, which only CRLF ends.
		"Subject: a\nb\r\n\r\n":              "a\nb",
		"From: x\ny\r\nSubject: s\r\n\r\n":   "s",
		"\nSubject: s\r\n\r\n":               "",
		"Subject: s\r\n\tnext\nline\r\n\r\n": "s\tnext\nline",
		"":                                   "",
	} {
		if got := Subject([]byte(msg)); got != want {
			t.Errorf("Subject(%q) = %q, want %q", msg, got, want)
		}
	}
}

func TestBounceIsAMultipartReport(t *testing.T) {
	b := DSN{ReportingMTA: "mail.example.com", To: "alice@example.com", QueueID: "Q7", MessageID: "Q7.dsn@mail.example.com",
		Arrived: t0, At: t0.Add(time.Minute), Original: []byte("From: alice@example.com\r\nSubject: lunch\r\n\r\nsecret body\r\n"),
		Recipients: []RecipientStatus{{Recipient: "nobody@example.org", Status: "5.1.1", Remote: "mx.example.org", Diagnosis: "550 5.1.1 no such user", Action: "failed"}}}
	dsn := string(b.Build())
	for _, want := range []string{
		"Content-Type: multipart/report; report-type=delivery-status;",
		"Final-Recipient: rfc822; nobody@example.org\r\nAction: failed\r\nStatus: 5.1.1\r\nRemote-MTA: dns; mx.example.org\r\nDiagnostic-Code: smtp; 550 5.1.1 no such user\r\n",
		"Content-Type: text/rfc822-headers\r\n\r\nFrom: alice@example.com\r\nSubject: lunch\r\n\r\n",
		"--dsn-Q7/mail.example.com--\r\n",
	} {
		if !strings.Contains(dsn, want) {
			t.Errorf("DSN lacks %q:\n%s", want, dsn)
		}
	}
	if strings.Contains(dsn, "secret body") {
		t.Error("the DSN returns the original body; only its header belongs there")
	}
	if string(b.Build()) != dsn {
		t.Error("Build is not deterministic")
	}
	// A diagnosis that is not a server's reply is not typed smtp.
	b.Recipients[0].Diagnosis = "connect to mx.example.org[198.51.100.25]: connection refused"
	if dsn := string(b.Build()); !strings.Contains(dsn, "Diagnostic-Code: X-SMTP-Lab; connect to mx.example.org[198.51.100.25]") {
		t.Errorf("a connection failure's Diagnostic-Code:\n%s", dsn)
	}
}

func TestFoldKeepsOneField(t *testing.T) {
	for in, want := range map[string]string{
		"550 5.1.1 no such user":               "550 5.1.1 no such user",
		"550-first\r\n550 second":              "550-first\r\n 550 second",
		"451 bare\nline feed\r\n\r\n  \r\nend": "451 bare\r\n line feed\r\n end",
		"":                                     "",
	} {
		if got := fold(in); got != want {
			t.Errorf("fold(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestDSNBoundaryNotInOriginal: with RET=FULL the original is inside the
// report, so the boundary must be one it does not contain.
func TestDSNBoundaryNotInOriginal(t *testing.T) {
	d := DSN{ReportingMTA: "mail.example.com", To: "alice@example.com", QueueID: "Q7", Full: true,
		Original:   []byte("Subject: tricky\r\n\r\n--dsn-Q7/mail.example.com--\r\n"),
		Recipients: []RecipientStatus{{Recipient: "bob@example.org", Status: "5.1.1", Action: ActionFailed}}}
	dsn := string(d.Build())
	if !strings.Contains(dsn, `boundary="dsn-Q7/mail.example.com_"`) || !strings.HasSuffix(dsn, "\r\n--dsn-Q7/mail.example.com_--\r\n") {
		t.Fatalf("the boundary is not longer than the one in the original:\n%s", dsn)
	}
}

func TestMailboxesAndViews(t *testing.T) {
	var m Mailboxes
	m.SetQuota("bob@example.org", 1)
	if m.Full("bob@example.org") {
		t.Fatal("empty mailbox is full")
	}
	got, _ := m.Deliver(StoredMessage{ID: "Q1", From: "alice@example.com", To: "Bob@example.org", DeliveredAt: t0,
		Raw: []byte("Subject: x\r\n\r\nFrom me\r\n>From you\r\n")})
	if !strings.HasPrefix(string(got.Raw), "Return-Path: <alice@example.com>\r\n") {
		t.Fatalf("no Return-Path: %q", got.Raw)
	}
	if !m.Full("bob@example.org") || len(m.Messages("BOB@example.org")) != 1 || m.Owners()[0] != "bob@example.org" {
		t.Fatal("mailbox lookup is not case-insensitive or quota not reached")
	}
	mbox := string(Mbox(m.Messages("bob@example.org")))
	want := "From alice@example.com Mon Jan  5 09:00:00 2026\nReturn-Path: <alice@example.com>\nSubject: x\n\n>From me\n>>From you\n\n"
	if mbox != want {
		t.Fatalf("mbox =\n%q\nwant\n%q", mbox, want)
	}
	if name := MaildirName(got, "mx.example.org"); name != "1767603600.Q1.mx.example.org" {
		t.Fatalf("MaildirName = %q", name)
	}
}

func TestClientIP(t *testing.T) {
	for remote, want := range map[string]string{
		"192.0.2.5:25":      "192.0.2.5",
		"[2001:db8::1]:587": "2001:db8::1",
		"unknown":           "unknown",
		"mx.example.org:25": "mx.example.org:25", // not an address: left alone
	} {
		if got := clientIP(remote); got != want {
			t.Errorf("clientIP(%q) = %q, want %q", remote, got, want)
		}
	}
}

// TestPeerOf: a server end's policies read the same client address and
// host name whether the driver gave the address parsed (a simulated
// connection, noted at accept; a session from outside whose Remote is
// written as netip writes it, by ExternalSession or ExternalSessionAt) or
// only as Remote, and the one kept of the last address from outside does
// not outlive it.
func TestPeerOf(t *testing.T) {
	n := &Network{Net: simnet.New(1)}
	h := &Host{net: n}
	n.Net.AddHost("laptop.example", "192.0.2.5")
	addr := netip.MustParseAddr("192.0.2.5")
	n.notePeer(addr, "laptop.example")
	parsed := &server.ConnState{Remote: "192.0.2.5:40000", Addr: addr}
	remote := &server.ConnState{Remote: "192.0.2.5:40001"}
	for _, c := range []*server.ConnState{parsed, remote} {
		if p := h.peerOf(c); p != (peer{ip: "192.0.2.5", name: "laptop.example"}) {
			t.Errorf("peerOf(%+v) = %+v", c, p)
		}
		if a, ok := clientAddr(c); !ok || a != addr {
			t.Errorf("clientAddr(%+v) = %v, %v", c, a, ok)
		}
	}
	for _, remote := range []string{"unknown", "", "mx.example.org:25", "[2001:db8::1]:25", "[2001:db8:0::1]:25", "192.0.2.5:40001", "203.0.113.9:1", "[2001:db8::1]:26", "203.0.113.9:2"} {
		want := peer{ip: clientIP(remote)}
		want.name = n.nameOf(want.ip)
		c := h.ExternalSession(25, remote, false).Conn()
		if got := h.peerOf(&c); got != want {
			t.Errorf("peerOf(%q) = %+v, want %+v", remote, got, want)
		}
		if got, ok := clientAddr(&c); ok != (want.ip != remote) || ok && got.String() != netip.MustParseAddr(want.ip).String() {
			t.Errorf("clientAddr(%q) = %v, %v", remote, got, ok)
		}
		// A caller that parsed Remote already gets the same session.
		if ap, err := netip.ParseAddrPort(remote); err == nil {
			if at := h.ExternalSessionAt(25, remote, ap.Addr(), false).Conn(); at.Addr != c.Addr || at.Remote != c.Remote {
				t.Errorf("ExternalSessionAt(%q): address %v, remote %q; ExternalSession: %v, %q", remote, at.Addr, at.Remote, c.Addr, c.Remote)
			}
		}
	}
}

// TestMailboxesKeepBytes: a mailbox told to keep n octets drops its oldest
// messages past that, never the newest, and says how many went.
func TestMailboxesKeepBytes(t *testing.T) {
	var m Mailboxes
	deliver := func(id string, size int) int {
		t.Helper()
		_, removed := m.Deliver(StoredMessage{ID: id, From: "", To: "bob@example.org", Raw: []byte(strings.Repeat("x", size))})
		return removed
	}
	deliver("Q0", 100) // before the limit: counted when KeepBytes is called
	m.KeepBytes(3 * (100 + len("Return-Path: <>\r\n")))
	for i := 1; i <= 2; i++ {
		if removed := deliver(fmt.Sprint("Q", i), 100); removed != 0 {
			t.Fatalf("message %d removed %d within the limit", i, removed)
		}
	}
	if removed := deliver("Q3", 100); removed != 1 {
		t.Fatalf("the fourth message removed %d, want 1", removed)
	}
	if removed := deliver("Q4", 1000); removed != 3 {
		t.Fatalf("a message larger than the limit removed %d, want 3 (all but itself)", removed)
	}
	var ids []string
	for _, msg := range m.Messages("bob@example.org") {
		ids = append(ids, msg.ID)
	}
	if strings.Join(ids, " ") != "Q4" {
		t.Fatalf("mailbox holds %v, want [Q4]", ids)
	}
	deliver("Q5", 10)
	if n := len(m.Messages("bob@example.org")); n != 1 {
		t.Fatalf("%d messages after a small one followed a huge one, want 1 (the huge one goes)", n)
	}
	m.KeepBytes(0)
	for i := 6; i < 20; i++ {
		if removed := deliver(fmt.Sprint("Q", i), 1000); removed != 0 {
			t.Fatal("KeepBytes(0) still removes mail")
		}
	}
}

// TestReceivedIPv6Literal: the client's address in Received is an address
// literal, and an IPv6 one carries its tag (RFC 5321 §4.1.3, §4.4).
func TestReceivedIPv6Literal(t *testing.T) {
	r := Received{FromHelo: "client.test", FromHost: "unknown", FromAddr: "2001:db8::5", By: "mx.example.org", With: "ESMTP", ID: "Q1"}
	if got := r.String(); !strings.Contains(got, "(unknown [IPv6:2001:db8::5])") {
		t.Errorf("Received: %q", got)
	}
	r.FromAddr = "192.0.2.5"
	if got := r.String(); !strings.Contains(got, "(unknown [192.0.2.5])") {
		t.Errorf("Received: %q", got)
	}
}

// TestRetryScheduleValidated: a schedule that would retry back to back, or
// never give up, is refused when the scenario is read.
func TestRetryScheduleValidated(t *testing.T) {
	for _, r := range []RetrySchedule{
		{First: Duration(time.Minute), GiveUp: Duration(time.Hour)},                                // no max
		{Max: Duration(time.Hour), GiveUp: Duration(time.Hour)},                                    // no first
		{First: Duration(time.Minute), Max: Duration(time.Hour)},                                   // never gives up
		{First: Duration(time.Hour), Max: Duration(time.Minute), GiveUp: Duration(24 * time.Hour)}, // max below first
	} {
		cfg := HostConfig{Name: "mx.example.org", Addrs: []string{"192.0.2.1"}, Retry: &r}
		if err := cfg.Validate(); err == nil {
			t.Errorf("retry %+v accepted", r)
		}
	}
	good := DefaultRetrySchedule()
	cfg := HostConfig{Name: "mx.example.org", Addrs: []string{"192.0.2.1"}, Retry: &good}
	if err := cfg.Validate(); err != nil {
		t.Errorf("the default schedule refused: %v", err)
	}
}

func TestWords(t *testing.T) {
	for d, want := range map[time.Duration]string{
		5 * time.Minute:                        "5 minutes",
		time.Minute + 30*time.Second:           "1 minute 30 seconds",
		2*time.Hour + 30*time.Minute:           "2 hours 30 minutes",
		2*time.Hour + 5*time.Second:            "2 hours",
		5 * 24 * time.Hour:                     "5 days",
		24*time.Hour + time.Hour + time.Second: "1 day 1 hour",
		time.Second:                            "1 second",
		time.Millisecond:                       "less than a second",
	} {
		if got := Words(d); got != want {
			t.Errorf("Words(%s) = %q, want %q", d, got, want)
		}
	}
}

func TestUpperFirstKeepsNames(t *testing.T) {
	for in, want := range map[string]string{
		"laptop.example.com publishes no SPF record": "laptop.example.com publishes no SPF record",
		"192.0.2.10 matched ip4:192.0.2.0/24":        "192.0.2.10 matched ip4:192.0.2.0/24",
		`"x" is not a domain`:                        `"x" is not a domain`,
		"redirect=a.example names a domain":          "redirect=a.example names a domain",
		"no mechanism of example.com's record":       "No mechanism of example.com's record",
		"signature verified":                         "Signature verified",
		"":                                           "",
	} {
		if got := upperFirst(in); got != want {
			t.Errorf("upperFirst(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzScan: whatever a client sends, Scan returns (its walk through MIME
// parts is bounded) and finds a test string that is there in clear; and
// it finds what scanEveryPart finds, which reads every header and scans
// every part's content again, encoded or not.
func FuzzScan(f *testing.F) {
	f.Add([]byte("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n--b--\r\n"))
	f.Add([]byte("Content-Type: message/rfc822\r\n\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Transfer-Encoding: base64\r\n\r\nQUJD\r\n--x--\r\n"))
	f.Add([]byte("Content-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nX5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE=\r\n!$H+H*\r\n"))
	f.Add([]byte("Content-Type: Message/RFC822\r\nContent-Transfer-Encoding: base64\r\n\r\nQ29udGVudC1UeXBlOiB0ZXh0L3BsYWluDQoNCkdUVUJF\r\n"))
	f.Add([]byte("\r\nx-SPAM-flag: yes\r\nCONTENT-type:multipart/mixed;boundary=b\r\n\r\n--b\r\ncontent-transfer-encoding: BASE64\r\n\r\nQUJD\r\n--b--\r\n"))
	f.Add([]byte("Subject: no fields of note\r\n\r\nContent-Type: multipart/mixed\r\nX-Spam-Flag: YES\r\n"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		msg = msg[:min(len(msg), 64<<10)]
		budget := maxScannedParts
		if got, want := Scan(msg), scanEveryPart(msg, &budget); got != want {
			t.Fatalf("Scan(%q) = %q, scanning every part gives %q", msg, got, want)
		}
		if got := Scan(append(msg, EICAR...)); got == "" {
			t.Fatalf("EICAR in clear after %q was not found", msg)
		}
	})
}

// scanEveryPart is Scan without its shortcuts: it reads the whole header
// of every message and scans the content of every part, whether or not
// it was decoded, for each test string in turn.
func scanEveryPart(msg []byte, budget *int) string {
	scanText := func(text []byte) string {
		switch {
		case bytes.Contains(text, []byte(EICAR)):
			return "virus found: EICAR test file"
		case bytes.Contains(text, []byte(GTUBE)):
			return "spam detected: GTUBE test string"
		}
		return ""
	}
	if why := scanText(msg); why != "" {
		return why
	}
	if strings.EqualFold(headerValue(msg, "X-Spam-Flag"), "YES") {
		return "spam detected: X-Spam-Flag is YES"
	}
	hdr, start := mimepart.Headers(msg)
	var scan func(p mimepart.Part, depth int) string
	scan = func(p mimepart.Part, depth int) string {
		if depth == maxScanDepth {
			return ""
		}
		mt, _ := mimepart.Params(p.Header.Get("Content-Type"))
		if strings.HasPrefix(mt, "multipart/") {
			for _, part := range p.Parts(*budget) {
				if *budget--; *budget < 0 {
					return ""
				}
				if why := scan(part, depth+1); why != "" {
					return why
				}
			}
			return ""
		}
		content := mimepart.Decode(p.Body, p.Header.Get("Content-Transfer-Encoding"))
		if why := scanText(content); why != "" {
			return why + " in a MIME part"
		}
		if mt == "message/rfc822" {
			hdr, start := mimepart.Headers(content)
			return scan(mimepart.Part{Header: hdr, Body: content[start:]}, depth+1)
		}
		return ""
	}
	return scan(mimepart.Part{Header: hdr, Body: msg[start:]}, 0)
}

// TestScanSinglePartBase64: a message that is one base64 body, not
// multipart, and such a message attached, are decoded too.
func TestScanSinglePartBase64(t *testing.T) {
	b64 := base64.StdEncoding.EncodeToString([]byte(EICAR))
	single := "From: a@example.com\r\nMIME-Version: 1.0\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n" + b64 + "\r\n"
	if why := Scan([]byte(single)); why == "" {
		t.Error("EICAR in a single-part base64 message was not found")
	}
	attached := "From: a@example.com\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b\r\nContent-Type: message/rfc822\r\n\r\n" + single + "--b--\r\n"
	if why := Scan([]byte(attached)); why == "" {
		t.Error("EICAR in an attached single-part base64 message was not found")
	}
}

// TestGlobalDSNIn7Bit: the global DSN of Build, converted to 7 bits as
// engine/client sends it to a hop without 8BITMIME or SMTPUTF8
// (mimepart.AppendSevenBit), has each 8-bit part quoted-printable (RFC
// 6533 §6; message/global and message/global-headers may be so encoded,
// RFC 6532 §3.5): 7-bit all through, the same header, the same parts,
// which decode to what Build has. A classic DSN, 7-bit already, stays as
// it is.
func TestGlobalDSNIn7Bit(t *testing.T) {
	for _, full := range []bool{false, true} {
		b := DSN{ReportingMTA: "mail.example.com", To: "alice@example.com", QueueID: "Q7", MessageID: "Q7.dsn@mail.example.com",
			Arrived: t0, At: t0.Add(time.Minute), Full: full,
			Original: []byte("From: alice@example.com\r\nSubject: caf\xc3\xa9\r\n\r\n" + strings.Repeat("d\xc3\xa9j\xc3\xa0 vu ", 20) + "\r\n"),
			Recipients: []RecipientStatus{{Recipient: "n\xc3\xb6body@example.org", Original: "utf-8;n\xc3\xb6body@example.org", Status: "5.1.1",
				Remote: "mx.example.org", Diagnosis: "550 5.1.1 no such user", Action: "failed"}}}
		eight := b.Build()
		seven, err := mimepart.AppendSevenBit(nil, eight)
		if err != nil {
			t.Fatalf("Full=%v: %v", full, err)
		}
		if !smtp.IsASCII(string(seven)) {
			t.Fatalf("Full=%v: the 7-bit form is not 7-bit:\n%s", full, seven)
		}
		if again, _ := mimepart.AppendSevenBit(nil, b.Build()); string(again) != string(seven) {
			t.Error("the 7-bit form is not deterministic")
		}
		_, ebody := mimepart.Headers(eight)
		_, sbody := mimepart.Headers(seven)
		if string(eight[:ebody]) != string(seven[:sbody]) {
			t.Errorf("Full=%v: the headers differ:\n%s\n%s", full, eight[:ebody], seven[:sbody])
		}
		eparts, sparts := mimepart.Parts(eight, 10), mimepart.Parts(seven, 10)
		if len(eparts) != 3 || len(sparts) != 3 {
			t.Fatalf("Full=%v: %d and %d parts, want 3 and 3", full, len(eparts), len(sparts))
		}
		for i := range eparts {
			ct := eparts[i].Header.Get("Content-Type")
			if got := sparts[i].Header.Get("Content-Type"); got != ct {
				t.Errorf("part %d: Content-Type %q, want %q", i, got, ct)
			}
			if cte := sparts[i].Header.Get("Content-Transfer-Encoding"); cte != "quoted-printable" {
				t.Errorf("part %d (%s): Content-Transfer-Encoding %q, want quoted-printable", i, ct, cte)
			}
			if got, want := mimepart.Decode(sparts[i].Body, "quoted-printable"), eparts[i].Body; string(got) != string(want) {
				t.Errorf("part %d (%s) decodes to\n%q\nwant\n%q", i, ct, got, want)
			}
		}
	}
	b := DSN{ReportingMTA: "mail.example.com", To: "alice@example.com", QueueID: "Q7", Original: []byte("Subject: lunch\r\n\r\nhi\r\n"),
		Recipients: []RecipientStatus{{Recipient: "nobody@example.org", Status: "5.1.1", Action: "failed"}}}
	classic := b.Build()
	if got, err := mimepart.AppendSevenBit(nil, classic); err != nil || string(got) != string(classic) {
		t.Errorf("a classic DSN changed in 7 bits (%v):\n%s", err, got)
	}
}

// TestTextTableJoined: joined gives strings.Join(lines, "\n") for replies
// met before, for more replies than it keeps, and for a slice its caller
// filled again with other lines.
func TestTextTableJoined(t *testing.T) {
	var tt textTable
	replies := [][]string{{"a", "b"}, {"mx", "SIZE 10", "DSN"}, {"a", "c"}, {"x", "y"}, {"p", "q"}, {"", ""}}
	for round := range 3 {
		for i, lines := range replies {
			if got, want := tt.joined(lines), strings.Join(lines, "\n"); got != want {
				t.Fatalf("round %d, reply %d: got %q, want %q", round, i, got, want)
			}
		}
	}
	reused := []string{"a", "b"}
	tt.joined(reused)
	reused[1] = "changed"
	if got := tt.joined(reused); got != "a\nchanged" {
		t.Fatalf("a reused slice: got %q", got)
	}
}

// FuzzLower holds lower to strings.ToLower.
func FuzzLower(f *testing.F) {
	for _, s := range []string{"", "bob@example.org", "Bob@Example.ORG", "abcdefghZ", "@[\\]^_`{", "jörg@example.org", "JÖRG@EXAMPLE.ORG",
		"ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefgh\x80", "\xff\xfe", "12345678@AZaz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := lower(s), strings.ToLower(s); got != want {
			t.Fatalf("lower(%q) = %q, want %q", s, got, want)
		}
	})
}

// TestSessionNonce: a session on a port that offers AUTH gets a CRAM-MD5
// nonce, "sessions.random"; one on an MX port gets none, yet draws its
// random number all the same, so that the world's random sequence, and
// the nonces of the sessions after it, do not depend on the ports.
func TestSessionNonce(t *testing.T) {
	nonces := func(ports ...int) []string {
		h := &Host{net: &Network{Net: simnet.New(1)}}
		var out []string
		for _, p := range ports {
			out = append(out, h.sessionNonce(p))
		}
		return out
	}
	all := nonces(587, 465, 587)
	mixed := nonces(25, 465, 25)
	if mixed[0] != "" || mixed[2] != "" {
		t.Errorf("MX sessions got nonces %q", mixed)
	}
	if mixed[1] != all[1] || !strings.HasPrefix(all[1], "2.") {
		t.Errorf("the second session's nonce is %q after an MX session, %q after a submission one", mixed[1], all[1])
	}
}

// TestSubjectOf: the Subject of a message a host took is the same read
// from below the host's own fields as read with them, however its text
// starts.
func TestSubjectOf(t *testing.T) {
	own := Received{FromHelo: "laptop", FromHost: "laptop.example", FromAddr: "192.0.2.5", By: "mx.example.org",
		With: "ESMTP", ID: "Q1", For: "bob@example.org"}
	for _, text := range []string{
		"Subject: lunch?\r\n\r\nAt noon?\r\n",
		"From: alice@example.com\r\nSubject: =?utf-8?q?caf=C3=A9?=\r\n folded\r\n\r\n",
		" folded first\r\nSubject: hidden?\r\n\r\n",
		"\tSubject: folded\r\nSubject: x\r\n\r\n",
		"not a field\r\nSubject: x\r\n\r\n",
		"\r\nSubject: in the body\r\n",
		"Subject: no end",
		"",
	} {
		for _, above := range [][]string{nil, {"Authentication-Results: mx.example.org; spf=pass"}} {
			stored := own.Prepend([]byte(text), above...)
			got := taken{data: stored, own: len(stored) - len(text)}.subjectOf()
			if want := Subject(stored); got != want {
				t.Errorf("subjectOf(%q) = %q, want %q", stored, got, want)
			}
		}
	}
}
