package lessons

import (
	"cmp"
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"smtplab/engine/lab"
	"smtplab/engine/trace"
)

// webFile returns a file of the page's scripts, which the lessons send
// the learner to.
func webFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("../web/js/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestHintsSendLookupsToTheViewsThatShowThem checks that a hint about DNS
// lookups sends the learner where the page shows them: the transcript
// leaves dns.query events out, the Network tab lists them under "DNS
// lookups" and the Timeline & queue tab under "What happened".
func TestHintsSendLookupsToTheViewsThatShowThem(t *testing.T) {
	transcript, panels := webFile(t, "transcript.js"), webFile(t, "panels.js")
	if strings.Contains(transcript, "'dns.query'") {
		t.Fatal("the transcript shows DNS lookups now; this test and the hints that say it does not need a look")
	}
	for _, s := range []string{`'network', 'Network'`, `section('DNS lookups'`, `'timeline', 'Timeline & queue'`, `section('What happened'`} {
		if !strings.Contains(panels, s) {
			t.Fatalf("panels.js has no %s; the hints about DNS lookups name it", s)
		}
	}
	all, err := All()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, l := range all {
		for i, h := range l.Hints {
			if !regexp.MustCompile(`(?i)\blookups?\b`).MatchString(h) {
				continue
			}
			n++
			for _, s := range []string{"Network tab", "DNS lookups", "Timeline & queue tab", "What happened"} {
				if !strings.Contains(h, s) {
					t.Errorf("%s, hint %d, speaks of lookups without naming %q: %s", l.Slug, i+1, s, h)
				}
			}
		}
	}
	if n == 0 {
		t.Error("no hint speaks of lookups; lesson 3's did")
	}
}

// TestGoalTextsNameSizesTheyCheck checks that a size a goal's text asks
// for, a number of four digits or more, is one the goal checks or its
// lab's world has (a server's limit): a text that asks for 100000 bytes
// while any size over the limit ticks the goal leads a learner who
// announces 50000, rightly, to think the goal is wrong.
func TestGoalTextsNameSizesTheyCheck(t *testing.T) {
	all, err := All()
	if err != nil {
		t.Fatal(err)
	}
	size := regexp.MustCompile(`\b\d{4,}\b`)
	for _, l := range all {
		for _, g := range l.Goals {
			cond, err := json.Marshal(g.Cond)
			if err != nil {
				t.Fatal(err)
			}
			world, err := os.ReadFile("../engine/lab/scenarios/" + cmp.Or(g.Scenario, l.Scenario) + ".json")
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range size.FindAllString(g.Text, -1) {
				if !regexp.MustCompile(`\b` + n + `\b`).Match(slices.Concat(cond, world)) {
					t.Errorf("%s, goal %q: its text names %s, which neither its condition nor its world holds: %s", l.Slug, g.ID, n, g.Text)
				}
			}
		}
	}
}

// TestLesson9SaysWhatTheDownPrimaryDoes checks lesson 9's words for the
// primary MX against its world: a dial to mx1.example.org is refused at
// once (the trace's conn.refused), so the lesson may not say that
// nothing answers, which is what a time-out is (lesson 3's filtered port
// 25), and says the connection is refused at once.
func TestLesson9SaysWhatTheDownPrimaryDoes(t *testing.T) {
	l := lessonNamed(t, "09-when-dns-or-hosts-fail")
	w, err := lab.New(l.Scenario, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Submit(lab.Message{From: "alice@example.com", To: []string{"bob@example.org"}, Subject: "hi", Body: "hi"}); err != nil {
		t.Fatal(err)
	}
	refused, timedOut := false, false
	for _, e := range w.Trace() {
		if e.Host == "smtp.example.com" && e.Peer == "mx1.example.org" {
			refused = refused || e.Kind == trace.ConnRefused
			timedOut = timedOut || (e.Kind == trace.ConnClose && strings.Contains(e.Text, "timeout"))
		}
	}
	if !refused || timedOut {
		t.Fatalf("the relay's dial to mx1.example.org: refused %v, timed out %v; lesson 9 says it is refused at once", refused, timedOut)
	}
	text := strings.Join(strings.Fields(l.HTML), " ")
	for _, s := range []string{"nothing answers on port 25", "the machine is there"} {
		if strings.Contains(text, s) {
			t.Errorf("lesson 9 says %q of a host that refuses connections", s)
		}
	}
	if !strings.Contains(text, "refused at once") {
		t.Error(`lesson 9 no longer says the connections to mx1.example.org are "refused at once"`)
	}
}

// TestRawBytesIsWhereTheTextSays checks that the lessons, and the page's
// words for a solution's raw step, put the Raw bytes box where the
// terminal has it: in the row of the input line, beside it, not under
// the terminal or the line.
func TestRawBytesIsWhereTheTextSays(t *testing.T) {
	terminal := webFile(t, "terminal.js")
	row := regexp.MustCompile(`(?s)h\('div', \{ class: 'smtplab-prompt-row' \}.*?this\.input,.*?this\.raw, h\('label', \{ for: this\.raw\.id \}, 'Raw bytes'\)`)
	if !row.MatchString(terminal) {
		t.Fatal("terminal.js no longer puts the Raw bytes box in the input line's row; the words of this test and the lessons need a look")
	}
	texts := map[string]string{"web/js/lessons.js": webFile(t, "lessons.js")}
	files, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f.Name(), ".md") {
			b, err := os.ReadFile(f.Name())
			if err != nil {
				t.Fatal(err)
			}
			texts[f.Name()] = string(b)
		}
	}
	under := regexp.MustCompile(`(?i)raw bytes\W{0,3}(box\s+)?under\s+the\s+\w+(\s+line)?`)
	for name, text := range texts {
		for _, m := range under.FindAllString(strings.Join(strings.Fields(text), " "), -1) {
			t.Errorf("%s says %q; the box is next to the input line", name, m)
		}
	}
}

// TestLesson4HintNamesWhatEachSlipGets makes each login slip lesson 4's
// hints speak of and checks that the hints name the reply code the server
// gives it, and no code that none of them gets: a learner who reads "535
// means the base64 text is not quite right" and gets 501 for base64 that
// does not decode is sent looking for the wrong mistake.
func TestLesson4HintNamesWhatEachSlipGets(t *testing.T) {
	l := lessonNamed(t, "04-starttls-and-auth")
	encrypted := []string{"EHLO laptop.example.com", "STARTTLS", "EHLO laptop.example.com"}
	slips := []struct {
		name  string
		lines []string
	}{
		{"base64 cut short", append(slices.Clone(encrypted), "AUTH PLAIN AGFsaWNlQGV4YW1wbGUuY29tAHdvbmRlcmxhbm")},
		{"the first zero byte left out", append(slices.Clone(encrypted), "AUTH PLAIN YWxpY2VAZXhhbXBsZS5jb20Ad29uZGVybGFuZA==")},
		{"a wrong password", append(slices.Clone(encrypted), "AUTH PLAIN AGFsaWNlQGV4YW1wbGUuY29tAHdyb25n")},
		{"a login before STARTTLS", []string{"EHLO laptop.example.com", "AUTH PLAIN AGFsaWNlQGV4YW1wbGUuY29tAHdvbmRlcmxhbmQ="}},
		{"a message before the login", append(slices.Clone(encrypted), "MAIL FROM:<alice@example.com>")},
		{"a message before STARTTLS", []string{"EHLO laptop.example.com", "MAIL FROM:<alice@example.com>"}},
	}
	hints := strings.Join(l.Hints, " ")
	got := map[string]bool{}
	for _, s := range slips {
		w, err := lab.New(l.Scenario, 1)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range s.lines {
			if _, err := w.Type(line); err != nil {
				t.Fatal(err)
			}
		}
		code := ""
		for _, e := range w.Trace() {
			if e.Kind == trace.Reply && e.Host == "smtp.example.com" {
				code = strconv.Itoa(e.Code)
			}
		}
		got[code] = true
		if !strings.Contains(hints, code) {
			t.Errorf("%s gets %s, which lesson 4's hints do not name", s.name, code)
		}
	}
	for _, code := range regexp.MustCompile(`\b5\d\d\b`).FindAllString(hints, -1) {
		if !got[code] {
			t.Errorf("lesson 4's hints name %s, which none of the slips gets", code)
		}
	}
}

// TestLesson12SaysWhereTheJunkMarkIs delivers lesson 12's quarantined
// message and checks that the lesson names the field the X-Spam-Flag:
// line follows: it had said the message starts with it, where
// Return-Path: comes first, as in every delivered message.
func TestLesson12SaysWhereTheJunkMarkIs(t *testing.T) {
	l := lessonNamed(t, "12-who-really-sent-this")
	w, err := lab.New(l.Scenario, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{"EHLO laptop.example.com", "MAIL FROM:<carol@example.net>", "RCPT TO:<bob@example.org>", "DATA",
		"From: Shop <news@shop.example>", "Subject: Half price", "", "buy", "."} {
		if _, err := w.Type(line); err != nil {
			t.Fatal(err)
		}
	}
	var raw string
	for _, mb := range w.State().Mailboxes {
		for _, m := range mb.Messages {
			if strings.Contains(m.Raw, "news@shop.example") {
				raw = m.Raw
			}
		}
	}
	header, _, _ := strings.Cut(raw, "\r\n\r\n")
	lines := strings.Split(header, "\r\n")
	at := slices.IndexFunc(lines, func(s string) bool { return strings.HasPrefix(s, "X-Spam-Flag: YES") })
	if at < 1 {
		t.Fatalf("the quarantined message has X-Spam-Flag: YES at line %d:\n%s", at, header)
	}
	before, _, _ := strings.Cut(lines[at-1], ":")
	text := strings.Join(strings.Fields(regexp.MustCompile(`<[^>]*>`).ReplaceAllString(l.HTML, "")), " ")
	if want := "X-Spam-Flag: YES just below " + before + ":"; !strings.Contains(text, want) {
		t.Errorf("lesson 12 does not say %q, where the message has it", want)
	}
}
