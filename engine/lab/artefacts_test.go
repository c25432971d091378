package lab

import (
	"bufio"
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The mail a learner reads in the Mailbox tab and downloads (.eml, .mbox)
// must be what real software writes and reads. artefactWorlds are worlds
// that make every kind of DSN the lab writes: TestMailArtefacts reads all
// their mail with the standard library's parsers, and with Python's when
// python3 is there.

// gtube is the spam filters' test string, which a content filter refuses.
const gtube = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"

// artefactSession types one SMTP session to smtp.example.com, the relay,
// whose message's Subject is the MAIL command, so that a DSN's returned
// header says which session it is about.
func artefactSession(t *testing.T, w *World, mailCmd string, rcpts []string, body ...string) {
	t.Helper()
	lines := append([]string{"EHLO laptop.example.com", mailCmd}, rcpts...)
	lines = append(lines, "DATA", "From: Alice <alice@example.com>", "To: bob@example.org", "Subject: "+mailCmd, "")
	lines = append(append(lines, body...), ".", "QUIT")
	typeAll(t, w, lines...)
}

// artefactWorld plays the sessions that make the DSNs of one scenario, and
// lets time pass for the queue to give up where it does.
func artefactWorld(t *testing.T, scenario string) *World {
	t.Helper()
	w := newWorld(t, scenario)
	if _, err := w.Connect("smtp.example.com:25"); err != nil {
		t.Fatal(err)
	}
	artefactSession(t, w, "MAIL FROM:<alice@example.com> RET=FULL ENVID=QQ314159",
		[]string{"RCPT TO:<bob@example.org> NOTIFY=SUCCESS,FAILURE,DELAY ORCPT=rfc822;bob@example.org",
			"RCPT TO:<nosuch@example.org> ORCPT=rfc822;NoSuch@example.org", "RCPT TO:<dave@example.net>"},
		"From the start", ">From quoted", "..dot", "Hello.")
	artefactSession(t, w, "MAIL FROM:<alice@example.com> RET=HDRS", []string{"RCPT TO:<bob@example.org>", "RCPT TO:<carol@example.org>"}, gtube)
	big := make([]string, 60)
	for i := range big {
		big[i] = strings.Repeat("x", 70)
	}
	artefactSession(t, w, "MAIL FROM:<alice@example.com>", []string{"RCPT TO:<carol@example.org>"}, big...)
	advance(t, w, 3*time.Hour)
	return w
}

// TestMailArtefacts: in worlds that refuse an unknown user (550 5.1.1), a
// message too large for the MX (5.3.4) or for a mailbox's quota (5.2.2),
// spam (554 5.7.1), a null MX (556 5.1.10), a domain with no usable MX
// (5.4.4), and a full mailbox that defers until the queue gives up
// (delayed, then failed with 4.2.2), every message of every mailbox, its
// Maildir name and its mailbox's mbox file are as RFC 5322, 5321, 3464,
// 3461 and 6522 and the mboxrd format want them.
func TestMailArtefacts(t *testing.T) {
	dir := t.TempDir()
	kinds := map[string]bool{}
	for _, scenario := range []string{"unknown-user-bounce", "mailbox-full", "null-mx", "size-limit", "spf-check"} {
		returned := map[string][]byte{} // a DSN's message/rfc822, by its Subject
		var delivered []MessageView
		for _, box := range artefactWorld(t, scenario).State().Mailboxes {
			where := scenario + " " + box.Host + " " + box.Owner
			names := map[string]bool{}
			for _, m := range box.Messages {
				if !maildirName.MatchString(m.Maildir) || names[m.Maildir] {
					t.Errorf("%s: Maildir name %q is not time.unique.host, or not unique", where, m.Maildir)
				}
				names[m.Maildir] = true
				ks, original := checkMessage(t, where+" "+m.Maildir, []byte(m.Raw), m.From)
				for _, k := range ks {
					kinds[k] = true
				}
				if original != nil {
					o, _ := mail.ReadMessage(bytes.NewReader(original))
					returned[o.Header.Get("Subject")] = original
				} else if m.From != "" {
					delivered = append(delivered, m)
				}
			}
			checkMbox(t, where, box)
			path := filepath.Join(dir, strings.NewReplacer("@", "_", ".", "_").Replace(where)+".mbox")
			if err := os.WriteFile(path, []byte(box.Mbox), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		checkTrace(t, scenario, returned, delivered)
	}
	for _, want := range []string{
		"failed 5.1.1 smtp message/rfc822 ORCPT ENVID", // unknown user, RET=FULL
		"failed 5.7.1 smtp text/rfc822-headers",        // the content filter, RET=HDRS
		"failed 5.3.4 X-SMTP-Lab text/rfc822-headers",  // too large for the MX's SIZE
		"failed 5.2.2 smtp text/rfc822-headers",        // too large for the mailbox's room
		"failed 5.1.10 smtp message/rfc822 ENVID",      // null MX, 556
		"failed 5.4.4 X-SMTP-Lab message/rfc822 ENVID", // no usable MX
		"failed 5.1.2 X-SMTP-Lab message/rfc822 ENVID", // no such domain
		"delayed 4.2.2 smtp text/rfc822-headers ORCPT ENVID",
		"failed 4.2.2 smtp message/rfc822 ORCPT ENVID", // given up after retries
		"delivered 2.0.0 - text/rfc822-headers ORCPT ENVID",
	} {
		if !kinds[want] {
			t.Errorf("no DSN of the kind %q; the kinds made: %q", want, keys(kinds))
		}
	}
	pythonReads(t, dir)
}

// maildirName is the name of a file in Maildir/new: time, a part unique
// on the host, the host (cr.yp.to/proto/maildir.html), and no ":2," info,
// which only cur/ has.
var maildirName = regexp.MustCompile(`^[0-9]+\.[0-9A-Za-z]+\.[a-z0-9.-]+$`)

// receivedField is a Received: field as the lab writes it, unfolded: RFC
// 5321 §4.4's Stamp with the TCP-info in parentheses, and the protocols
// of RFC 3848 and RFC 6531 §3.7.3.
var receivedField = regexp.MustCompile(`^from (\S+) \(\S+ \[(IPv6:)?[0-9A-Fa-f.:]+\]\) by \S+ with (E?SMTPS?A?|UTF8SMTPS?A?) id [0-9A-Z]+( for <[^<>\s]+>)?; (.+)$`)

// checkTrace: a message the relay returned whole in a DSN (RET=FULL) is
// the relay's copy, its own Received: on top; the MX delivered the same
// session's message to Bob. Bob's copy must be the relay's with only the
// MX's trace fields (its Received:, and where it checks senders
// Received-SPF: and Authentication-Results:) and the Return-Path: above
// it: each hop adds its trace fields on top and rewrites none below (RFC
// 5321 §4.4).
func checkTrace(t *testing.T, scenario string, returned map[string][]byte, delivered []MessageView) {
	t.Helper()
	for _, m := range delivered {
		relayCopy, ok := returned[m.Subject]
		if !ok || m.To != "bob@example.org" {
			continue
		}
		above, found := strings.CutSuffix(m.Raw, string(relayCopy))
		if !found || !strings.HasPrefix(above, "Return-Path: <"+m.From+">\r\n") || strings.Count(above, "Received:") != 1 ||
			!strings.Contains(above, "\nReceived: from smtp.example.com ") {
			t.Errorf("%s: Bob's copy is not the relay's with the MX's trace fields (one Received:) and the Return-Path: on top:\n%s\nthe relay's:\n%s", scenario, m.Raw, relayCopy)
		}
		returned[m.Subject] = nil // compared
	}
	for subject, r := range returned {
		if r != nil && strings.Contains(subject, "ENVID") && scenario == "unknown-user-bounce" {
			t.Errorf("%s: no copy of %q delivered to Bob to compare with the relay's", scenario, subject)
		}
	}
}

// checkMessage checks one delivered message, whose envelope sender was
// from, and returns its DSN's kind, "action status diagnostic-type
// third-part [ORCPT] [ENVID]", for each recipient a DSN reports on, and
// the message it returns whole (RET=FULL), if any.
func checkMessage(t *testing.T, where string, raw []byte, from string) (kinds []string, original []byte) {
	t.Helper()
	for i, line := range bytes.Split(raw, []byte("\r\n")) {
		if len(line) > 998 || bytes.ContainsAny(line, "\r\n") {
			t.Errorf("%s: line %d is longer than 998 octets or holds a bare CR or LF (RFC 5322 §2.1.1)", where, i+1)
		}
	}
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("%s: net/mail cannot read it: %v\n%s", where, err, raw)
	}
	header := raw[:bytes.Index(raw, []byte("\r\n\r\n"))]
	if !isASCII(header) {
		t.Errorf("%s: the header is not 7-bit", where)
	}
	if rp := m.Header["Return-Path"]; len(rp) != 1 || rp[0] != "<"+from+">" || !bytes.HasPrefix(raw, []byte("Return-Path: ")) {
		t.Errorf("%s: Return-Path %q, want <%s> once, on top (RFC 5321 §4.4)", where, rp, from)
	}
	for _, r := range m.Header["Received"] {
		f := receivedField.FindStringSubmatch(r)
		if f == nil {
			t.Errorf("%s: Received: %s is not RFC 5321's Time-stamp-line", where, r)
			continue
		}
		if _, err := mail.ParseDate(f[5]); err != nil {
			t.Errorf("%s: Received: date %q: %v", where, f[5], err)
		}
	}
	media, params, _ := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if media != "multipart/report" {
		return nil, nil
	}
	// A DSN: from the null sender, marked auto-replied (RFC 3834 §5), with
	// a Date and a Message-ID (RFC 5322 §3.6), in three parts (RFC 6522).
	if from != "" || m.Header.Get("Auto-Submitted") != "auto-replied" || !regexp.MustCompile(`^<[^<>@\s]+@[^<>@\s]+>$`).MatchString(m.Header.Get("Message-ID")) {
		t.Errorf("%s: a DSN's envelope sender %q, Auto-Submitted %q, Message-ID %q", where, from, m.Header.Get("Auto-Submitted"), m.Header.Get("Message-ID"))
	}
	if _, err := mail.ParseDate(m.Header.Get("Date")); err != nil {
		t.Errorf("%s: Date: %v", where, err)
	}
	if params["report-type"] != "delivery-status" {
		t.Errorf("%s: report-type %q, want delivery-status for ASCII addresses and text", where, params["report-type"])
	}
	var types []string
	var contents [][]byte
	r := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := r.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: mime/multipart: %v", where, err)
		}
		b, _ := io.ReadAll(p)
		media, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		types, contents = append(types, media), append(contents, b)
	}
	if len(types) != 3 || types[0] != "text/plain" || types[1] != "message/delivery-status" {
		t.Fatalf("%s: parts %q, want text/plain, message/delivery-status and the original", where, types)
	}
	returned, err := mail.ReadMessage(bytes.NewReader(contents[2]))
	if err != nil {
		t.Fatalf("%s: the returned %s does not parse: %v", where, types[2], err)
	}
	if body, _ := io.ReadAll(returned.Body); types[2] == "text/rfc822-headers" && len(body) > 0 {
		t.Errorf("%s: text/rfc822-headers returns a body", where)
	}
	if types[2] == "message/rfc822" {
		original = contents[2]
	}
	asked := returned.Header.Get("Subject") // the MAIL command of the session
	groups := fieldGroups(t, where, contents[1])
	if len(groups) < 2 || !strings.HasPrefix(groups[0].Get("Reporting-MTA"), "dns; ") {
		t.Fatalf("%s: the delivery-status part has no Reporting-MTA or no recipient:\n%s", where, contents[1])
	}
	envid := groups[0].Get("Original-Envelope-Id")
	if (envid != "") != strings.Contains(asked, "ENVID=") {
		t.Errorf("%s: Original-Envelope-Id %q for %q", where, envid, asked)
	}
	for _, g := range groups[1:] {
		action, status, diag := g.Get("Action"), g.Get("Status"), g.Get("Diagnostic-Code")
		classes := map[string]string{"failed": "45", "delayed": "4", "delivered": "2", "relayed": "2"}[action]
		if !strings.HasPrefix(g.Get("Final-Recipient"), "rfc822; ") || !regexp.MustCompile(`^[245]\.[0-9]{1,3}\.[0-9]{1,3}$`).MatchString(status) ||
			classes == "" || !strings.Contains(classes, status[:1]) {
			t.Errorf("%s: Final-Recipient %q, Action %q, Status %q (RFC 3464 §2.3, RFC 3463)", where, g.Get("Final-Recipient"), action, status)
			continue
		}
		if (action == "delayed") != (g.Get("Will-Retry-Until") != "") {
			t.Errorf("%s: Action %s with Will-Retry-Until %q", where, action, g.Get("Will-Retry-Until"))
		}
		if rm := g.Get("Remote-MTA"); rm != "" && !strings.HasPrefix(rm, "dns; ") {
			t.Errorf("%s: Remote-MTA %q", where, rm)
		}
		kind := action + " " + status + " -"
		if diag != "" {
			typ, _, ok := strings.Cut(diag, "; ")
			if !ok || (typ != "smtp" && !strings.HasPrefix(typ, "X-")) {
				t.Errorf("%s: Diagnostic-Code %q has no type", where, diag)
			}
			kind = action + " " + status + " " + typ
		}
		full := action == "failed" && strings.Contains(asked, "RET=FULL")
		if want := map[bool]string{true: "message/rfc822", false: "text/rfc822-headers"}[full]; types[2] != want {
			t.Errorf("%s: %s DSN for %q returns %s, want %s (RFC 3461 §4.3)", where, action, asked, types[2], want)
		}
		kind += " " + types[2]
		if orcpt := g.Get("Original-Recipient"); orcpt != "" {
			if orcpt != "rfc822; "+strings.TrimPrefix(g.Get("Final-Recipient"), "rfc822; ") && !strings.EqualFold(orcpt, g.Get("Final-Recipient")) {
				t.Errorf("%s: Original-Recipient %q for %q", where, orcpt, g.Get("Final-Recipient"))
			}
			kind += " ORCPT"
		}
		if envid != "" {
			kind += " ENVID"
		}
		kinds = append(kinds, kind)
	}
	return kinds, original
}

// fieldGroups reads a message/delivery-status part as RFC 3464 §2.1 lays
// it out: groups of fields apart by empty lines.
func fieldGroups(t *testing.T, where string, content []byte) []textproto.MIMEHeader {
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
			t.Fatalf("%s: the delivery-status fields do not parse: %v\n%s", where, err, content)
		}
	}
}

// fromLine is an mbox separator: "From ", the envelope sender
// (MAILER-DAEMON for the null one), and the date as asctime writes it.
var fromLine = regexp.MustCompile(`^From \S+ (Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ 1-3][0-9] [0-2][0-9]:[0-5][0-9]:[0-6][0-9] [0-9]{4}$`)

// checkMbox reads box.Mbox as an mboxrd reader does: a message starts at
// each line that starts with "From ", ends with an empty line, and has
// one ">" taken off each of its lines that start with ">From ", ">>From
// " and so on. It must give back each message of the mailbox, in order,
// with LF line ends.
func checkMbox(t *testing.T, where string, box MailboxView) {
	t.Helper()
	var got []string
	var msg []string
	for _, line := range strings.SplitAfter(box.Mbox, "\n") {
		switch {
		case strings.HasPrefix(line, "From "):
			if !fromLine.MatchString(strings.TrimSuffix(line, "\n")) {
				t.Errorf("%s: mbox separator %q", where, line)
			}
			if msg != nil {
				got = append(got, strings.Join(msg, ""))
			}
			msg = []string{}
		case msg == nil:
			if line != "" {
				t.Fatalf("%s: the mbox does not start with a From line: %q", where, line)
			}
		case strings.HasPrefix(strings.TrimLeft(line, ">"), "From ") && strings.HasPrefix(line, ">"):
			msg = append(msg, line[1:])
		default:
			msg = append(msg, line)
		}
	}
	if msg != nil {
		got = append(got, strings.Join(msg, ""))
	}
	if len(got) != len(box.Messages) {
		t.Fatalf("%s: the mbox holds %d messages, the mailbox %d", where, len(got), len(box.Messages))
	}
	for i, m := range box.Messages {
		if want := strings.ReplaceAll(m.Raw, "\r\n", "\n") + "\n"; got[i] != want {
			t.Errorf("%s: message %d read back from the mbox:\n%q\nwant (its text and the empty line after it)\n%q", where, i+1, got[i], want)
		}
	}
}

// pythonReads reads every .mbox file in dir with Python's mailbox and
// email packages, when python3 is there, as a second reader: each must
// parse without defects, and each DSN's delivery-status part must give
// Reporting-MTA and, for each recipient, Final-Recipient, Action and
// Status.
func pythonReads(t *testing.T, dir string) {
	t.Helper()
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Log("python3 is not installed: the mbox files were read with Go's parsers alone")
		return
	}
	const script = `
import email, glob, mailbox, sys
n = 0
for path in sorted(glob.glob(sys.argv[1] + "/*.mbox")):
    for msg in mailbox.mbox(path, create=False):
        n += 1
        m = email.message_from_bytes(msg.as_bytes())
        for part in m.walk():
            assert not part.defects, (path, part.get_content_type(), part.defects)
        if m.get_content_type() != "multipart/report":
            continue
        status = m.get_payload()[1].get_payload()
        assert status[0]["Reporting-MTA"], path
        for r in status[1:]:
            assert r["Final-Recipient"] and r["Action"] and r["Status"], (path, r.items())
print(n)
`
	out, err := exec.Command(python, "-c", script, dir).CombinedOutput()
	if err != nil {
		t.Fatalf("Python cannot read the mbox files: %v\n%s", err, out)
	}
	if strings.TrimSpace(string(out)) == "0" {
		t.Fatal("Python read no message")
	}
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
