package lessons

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"smtplab/engine/lab"
	"smtplab/engine/trace"
	"smtplab/lessons/goal"
)

func hasProblem(ps []Problem, where, msg string) bool {
	for _, p := range ps {
		if p.Where == where && strings.Contains(p.Msg, msg) {
			return true
		}
	}
	return false
}

func TestShippedLessons(t *testing.T) {
	ls, err := All()
	if err != nil {
		t.Fatalf("All: %v", err)
	}
	wantSlugs := []string{"01-first-session", "02-reply-codes", "03-mx-and-relays", "04-starttls-and-auth",
		"05-queues-and-retries", "06-line-endings-and-smuggling", "07-limits-and-protection",
		"08-certificates-and-trust", "09-when-dns-or-hosts-fail", "10-implicit-tls-logins-and-filters",
		"11-pipelining-chunking-and-dsn", "12-who-really-sent-this"}
	if len(ls) < len(wantSlugs) {
		t.Fatalf("All returned %d lessons, want at least %d", len(ls), len(wantSlugs))
	}
	for i, slug := range wantSlugs {
		if ls[i].Slug != slug || ls[i].Order != i+1 {
			t.Errorf("lesson %d is %s (order %d), want %s (order %d)", i, ls[i].Slug, ls[i].Order, slug, i+1)
		}
	}
	if ps := LintAll(ls, KnownScenarios()); ps != nil {
		t.Errorf("shipped lessons have problems:\n%v", ps)
	}
	for _, l := range ls {
		if n := len(l.Hints); n < 2 || n > 4 {
			t.Errorf("%s has %d hints, want 2 to 4", l.Slug, n)
		}
		if len(l.Labs) == 0 || l.Labs[0].Scenario != l.Scenario {
			t.Errorf("%s: first lab %+v does not run the lesson's scenario %s", l.Slug, l.Labs, l.Scenario)
		}
		if p := inertProblem(l.HTML); p != "" {
			t.Errorf("%s renders unsafe HTML: %s", l.Slug, p)
		}
		// Reply texts are not final: no goal may depend on them.
		for _, g := range l.Goals {
			for _, m := range matches(g.Cond) {
				if m.Kind == trace.Reply && (m.Text != nil || m.Starts != "") {
					t.Errorf("%s: goal %s matches on reply text", l.Slug, g.ID)
				}
			}
		}
		// The page gets goals as JSON and sends them back to be checked.
		b, err := json.Marshal(l.Goals)
		if err != nil {
			t.Fatalf("%s: marshal goals: %v", l.Slug, err)
		}
		var back []goal.Goal
		if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, l.Goals) {
			t.Errorf("%s: goals do not survive JSON (%v):\n%s", l.Slug, err, b)
		}
	}
}

// matches lists every event matcher inside a condition.
func matches(c goal.Cond) []goal.Match {
	var out []goal.Match
	if c.Event != nil {
		out = append(out, *c.Event)
	}
	if c.Answered != nil {
		out = append(out, c.Answered.Command, c.Answered.Reply)
	}
	for _, s := range append(append([]goal.Step{}, c.Before...), c.Session...) {
		switch {
		case s.Event != nil:
			out = append(out, *s.Event)
		case s.Answered != nil:
			out = append(out, s.Answered.Command, s.Answered.Reply)
		case s.None != nil:
			out = append(out, *s.None)
		}
	}
	if c.Count != nil {
		out = append(out, c.Count.Of)
	}
	for _, sub := range append(append([]goal.Cond{}, c.All...), c.Any...) {
		out = append(out, matches(sub)...)
	}
	if c.Not != nil {
		out = append(out, matches(*c.Not)...)
	}
	return out
}

// good is a complete lesson the lint tests break one piece at a time.
const good = `---
title: A lesson
order: 7
scenario: greylisting
summary: Try again later.
goals:
  - {id: deferred, text: Get a 4xx, reply: {code: 4xx}}
  - {id: done, text: Deliver, delivered: {rcpt: bob@example.org}}
hints:
  - Wait.
solution:
  - type: EHLO me.example.com
  - type: ""
  - advance: 30m
  - raw: 'hi\n.\r\n\\ \t\0'
  - submit: {from: alice@example.com, to: [bob@example.org], subject: Hi, body: "Hello,\nBob."}
  - submit:
      from: alice@example.com
      to: [bob@example.org]
      subject: Files
      body: See the files.
      attachments:
        - name: notes.txt
          type: text/plain
          content: |
            Line one
            Line two
        - {name: dot.png, type: image/png, content: !!binary iVBORw0KGgo=}
  - connect: MX.example.org:25
  - advance: 1h
---

Body.

` + "```smtp-lab\nseed: 3\n```\n"

func parseGood(t *testing.T) Lesson {
	t.Helper()
	l, err := Parse("good", []byte(good))
	if err != nil {
		t.Fatalf("Parse(good): %v", err)
	}
	if ps := goodProblems(); ps != nil {
		t.Fatalf("the good lesson has problems: %v", ps)
	}
	return l
}

// goodProblems lints the good lesson once: the tests that break it
// piece by piece start from it dozens of times, and Lint replays its
// solution each time.
var goodProblems = sync.OnceValue(func() []Problem {
	l, err := Parse("good", []byte(good))
	if err != nil {
		return []Problem{{Msg: err.Error()}}
	}
	return Lint(l, KnownScenarios())
})

func TestLintCatchesEachProblem(t *testing.T) {
	reply := goal.Cond{Event: &goal.Match{Kind: trace.Reply, Code: "250"}}
	tests := []struct {
		name   string
		mutate func(*Lesson)
		where  string
		msg    string
	}{
		{"no title", func(l *Lesson) { l.Title = " " }, "title", "missing"},
		{"no summary", func(l *Lesson) { l.Summary = "" }, "summary", "missing"},
		{"no order", func(l *Lesson) { l.Order = 0 }, "order", "missing"},
		{"no scenario", func(l *Lesson) { l.Scenario = "" }, "scenario", "missing; name the world the lesson's lab runs (one of: backup-mx, bad-certificate,"},
		{"unknown scenario", func(l *Lesson) { l.Scenario = "greylist" }, "scenario", `"greylist" is not a known scenario`},
		{"no goals", func(l *Lesson) { l.Goals = nil }, "goals", "none"},
		{"goal without id", func(l *Lesson) { l.Goals[0].ID = "" }, "goals", "goal #1: has no id"},
		{"goal without text", func(l *Lesson) { l.Goals[1].Text = "" }, "goals", `"done": has no text`},
		{"duplicate goal id", func(l *Lesson) { l.Goals[1].ID = "deferred" }, "goals", "also used by goal #1"},
		{"empty goal", func(l *Lesson) { l.Goals[0].Cond = goal.Cond{} }, "goals", `"deferred": empty goal`},
		{"bad code pattern", func(l *Lesson) { l.Goals[0].Cond.Event.Code = "4x" }, "goals", `reply.code: "4x" is not a reply code pattern`},
		{"two conditions", func(l *Lesson) { l.Goals[0].Cond.Not = &reply }, "goals", "where one is allowed"},
		{"bad answered step", func(l *Lesson) {
			l.Goals[0].Cond = goal.Cond{Session: []goal.Step{{Event: reply.Event},
				{Answered: &goal.Answered{Command: goal.Match{Kind: trace.Command, Code: "250"}, Reply: goal.Match{Kind: trace.Reply}}}}}
		}, "goals", `"deferred": session[2].answered.command: unknown field "code"`},
		{"only none steps", func(l *Lesson) {
			l.Goals[0].Cond = goal.Cond{Before: []goal.Step{{None: reply.Event}, {None: reply.Event}}}
		}, "goals", `"deferred": before: has only none steps`},
		{"no hints", func(l *Lesson) { l.Hints = nil }, "hints", "none"},
		{"empty hint", func(l *Lesson) { l.Hints = []string{"ok", " "} }, "hints[2]", "empty"},
		{"no solution", func(l *Lesson) { l.Solution = nil }, "solution", "empty"},
		{"a solution short of a goal", func(l *Lesson) { l.Solution = l.Solution[:1] }, "goals", `goal "done" is not done after the solution's last step`},
		{"type and advance", func(l *Lesson) { l.Solution[0].Advance = "1m" }, "solution[1]", "both type and advance"},
		{"raw and submit", func(l *Lesson) { l.Solution[3].Submit = &Message{To: []string{"bob@example.org"}} }, "solution[4]", "both raw and submit"},
		{"type and raw", func(l *Lesson) { l.Solution[0].Raw = `x\r\n` }, "solution[1]", "both type and raw"},
		{"bad duration", func(l *Lesson) { l.Solution[2].Advance = "half an hour" }, "solution[3]", "not a positive duration"},
		{"negative duration", func(l *Lesson) { l.Solution[2].Advance = "-5m" }, "solution[3]", "not a positive duration"},
		{"too long a wait", func(l *Lesson) { l.Solution[2].Advance = "721h" }, "solution[3]", "up to 720h0m0s"},
		{"line break", func(l *Lesson) { l.Solution[0].Type = "EHLO a\r\nQUIT" }, "solution[1]", "line break"},
		{"long line", func(l *Lesson) { l.Solution[0].Type = strings.Repeat("x", 999) }, "solution[1]", "SMTP allows 998"},
		{"raw unknown escape", func(l *Lesson) { l.Solution[3].Raw = `a\qb` }, "solution[4]", `unknown escape \q`},
		{"raw lone backslash", func(l *Lesson) { l.Solution[3].Raw = `ab\` }, "solution[4]", `a lone \ ends the text`},
		{"raw real line feed", func(l *Lesson) { l.Solution[3].Raw = "a\nb" }, "solution[4]", "a real line feed"},
		{"raw real CR", func(l *Lesson) { l.Solution[3].Raw = "a\rb" }, "solution[4]", "a real carriage return"},
		{"raw NUL", func(l *Lesson) { l.Solution[3].Raw = "a\x00b" }, "solution[4]", "a real NUL byte"},
		{"raw too long", func(l *Lesson) { l.Solution[3].Raw = strings.Repeat(`\r`, 64<<10+1) }, "solution[4]", "at most 65536"},
		{"submit to nobody", func(l *Lesson) { l.Solution[4].Submit.To = nil }, "solution[5]", "lists no recipient"},
		{"submit bad sender", func(l *Lesson) { l.Solution[4].Submit.From = "alice" }, "solution[5]", "submit: sender"},
		{"submit bad recipient", func(l *Lesson) { l.Solution[4].Submit.To = []string{"bob@example.org", "<x@y"} }, "solution[5]", "submit: recipient"},
		{"submit subject break", func(l *Lesson) { l.Solution[4].Submit.Subject = "a\r\nBcc: x@y" }, "solution[5]", "subject cannot hold a line break"},
		{"attachment path", func(l *Lesson) { l.Solution[5].Submit.Attachments[1].Name = "img/dot.png" }, "solution[6]", "submit: attachment 2: the file name \"img/dot.png\" holds a /"},
		{"attachment type", func(l *Lesson) { l.Solution[5].Submit.Attachments[0].Type = "message/rfc822" }, "solution[6]", "cannot be sent in base64"},
		{"attachment too large", func(l *Lesson) {
			l.Solution[5].Submit.Attachments[0].Content = make(FileContent, lab.MaxAttachmentBytes+1)
		}, "solution[6]", "a message carries at most"},
		{"lab scenario", func(l *Lesson) { l.Labs[0].Scenario = "nope" }, "smtp-lab block 1", `"nope" is not a known scenario`},
		{"goal in a lab the lesson lacks", func(l *Lesson) { l.Goals[1].Scenario = "null-mx" }, "goals", `goal "done" names scenario "null-mx", which none of the lesson's smtp-lab blocks runs`},
		{"step in a lab the lesson lacks", func(l *Lesson) { l.Solution[2] = Step{Lab: "null-mx"} }, "solution[3]", `lab "null-mx" is not the scenario of the lesson or of one of its smtp-lab blocks`},
		{"lab and type", func(l *Lesson) { l.Solution[0].Lab = "greylisting" }, "solution[1]", "both type and lab"},
		{"connect and type", func(l *Lesson) { l.Solution[6].Type = "EHLO" }, "solution[7]", "both type and connect"},
		{"connect without a port", func(l *Lesson) { l.Solution[6].Connect = "mx.example.org" }, "solution[7]", "write a host and a port"},
		{"connect to port 80", func(l *Lesson) { l.Solution[6].Connect = "mx.example.org:80" }, "solution[7]", "port 25, 587 or 465"},
		{"connect to a host the lab lacks", func(l *Lesson) { l.Solution[6].Connect = "mx1.example.org:25" }, "solution[7]", `connect: the greylisting lab has no host "mx1.example.org"`},
		{"connect in a lab opened before", func(l *Lesson) {
			l.Labs = append(l.Labs, Lab{Scenario: "home-network"})
			l.Solution = append(l.Solution, Step{Lab: "home-network"}, Step{Connect: "smtp.example.org:587"})
		}, "solution[10]", `connect: the home-network lab has no host "smtp.example.org"`},
	}
	for _, tt := range tests {
		l := parseGood(t)
		tt.mutate(&l)
		ps := Lint(l, KnownScenarios())
		if !hasProblem(ps, tt.where, tt.msg) {
			t.Errorf("%s: problems %v, want one at %s saying %q", tt.name, ps, tt.where, tt.msg)
		}
	}
}

// TestLintLabOptions checks every option a lab block may set: the values
// the page can use pass, anything else is reported with what to write.
func TestLintLabOptions(t *testing.T) {
	tests := []struct {
		name    string
		options map[string]string
		msg     string // "" for no problem
	}{
		{"every option", map[string]string{"tab": "mailbox", "panels": "network, mailbox", "height": "12", "prompt": "EHLO me.example.com"}, ""},
		{"no panels", map[string]string{"panels": "none"}, ""},
		{"tab only", map[string]string{"tab": "tls"}, ""},
		{"smallest height", map[string]string{"height": "4"}, ""},
		{"largest height", map[string]string{"height": "60"}, ""},
		{"unknown option", map[string]string{"heigth": "12"}, `unknown option "heigth" (a lab block takes scenario, seed, height, panels, prompt, tab)`},
		{"unknown tab", map[string]string{"tab": "queue"}, `tab "queue" is not a view (one of: network, timeline, tls, mailbox)`},
		{"tab not shown", map[string]string{"tab": "tls", "panels": "network"}, `tab "tls" is not one of the panels the lab shows`},
		{"unknown panel", map[string]string{"panels": "network, dns"}, `panels: "dns" is not a view`},
		{"empty panels", map[string]string{"panels": " , "}, "panels is empty"},
		{"height not a number", map[string]string{"height": "tall"}, `height "tall" is not a number of lines from 4 to 60`},
		{"height too small", map[string]string{"height": "3"}, "from 4 to 60"},
		{"height too large", map[string]string{"height": "61"}, "from 4 to 60"},
		{"empty prompt", map[string]string{"prompt": ""}, "prompt is empty"},
		{"long prompt", map[string]string{"prompt": strings.Repeat("x", 999)}, "at most 998"},
		{"prompt with a line break", map[string]string{"prompt": "EHLO a\r\nQUIT"}, "prompt holds a control character"},
		{"prompt with a tab", map[string]string{"prompt": "EHLO\ta"}, "prompt holds a control character"},
	}
	for _, tt := range tests {
		l := parseGood(t)
		l.Labs[0].Options = tt.options
		ps := Lint(l, KnownScenarios())
		switch {
		case tt.msg == "" && ps != nil:
			t.Errorf("%s: problems %v, want none", tt.name, ps)
		case tt.msg != "" && !hasProblem(ps, "smtp-lab block 1", tt.msg):
			t.Errorf("%s: problems %v, want one at smtp-lab block 1 saying %q", tt.name, ps, tt.msg)
		}
	}
}

// TestLabOptionsFromMarkdown goes the author's way: options written in a
// block reach the linter, and a real control character in a prompt (a
// quoted value can hold one) is refused.
func TestLabOptionsFromMarkdown(t *testing.T) {
	src := strings.Replace(good, "```smtp-lab\nseed: 3\n```", "```smtp-lab\nseed: 3\ntab: timeline\nhieght: 9\nprompt: \"EHLO a\\x07\"\n```", 1)
	l, err := Parse("good", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	ps := Lint(l, KnownScenarios())
	if !hasProblem(ps, "smtp-lab block 1", `unknown option "hieght"`) || !hasProblem(ps, "smtp-lab block 1", "prompt holds a control character") || len(ps) != 2 {
		t.Errorf("problems %v, want the unknown option and the control character", ps)
	}
	if !strings.Contains(l.HTML, `data-tab="timeline"`) {
		t.Errorf("the tab option is not in the HTML:\n%s", l.HTML)
	}
}

func TestLintUsesTheGivenScenarios(t *testing.T) {
	l := parseGood(t)
	ps := Lint(l, []string{"first-session"})
	if !hasProblem(ps, "scenario", "not a known scenario") || !hasProblem(ps, "smtp-lab block 1", "not a known scenario") {
		t.Fatalf("problems %v, want the scenario and the lab refused", ps)
	}
}

func TestLintAllCatchesClashes(t *testing.T) {
	a, b, c := parseGood(t), parseGood(t), parseGood(t)
	b.Slug = "other"
	ps := LintAll([]Lesson{a, b, c}, KnownScenarios())
	if !hasProblem(ps, "slug", "two lessons have this slug") {
		t.Errorf("duplicate slug not reported: %v", ps)
	}
	if !hasProblem(ps, "order", "7 is also the order of") {
		t.Errorf("duplicate order not reported: %v", ps)
	}
}

// TestParseErrors checks what Parse says of a file it cannot read as a
// lesson: each problem as "file:line: where: what", in words for the
// author (the keys there are, never a Go type).
func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"no front matter", "# Just a heading\n", "x.md:1: front matter: missing; start the file with a line of ---"},
		{"empty front matter", "---\n---\nbody\n", "x.md:1: front matter: it is empty"},
		{"not YAML", strings.Replace(good, "summary: Try again later.", "summary: [Try again", 1), "x.md:5: front matter: not YAML: did not find expected ',' or ']'"},
		{"not YAML, badly indented", strings.Replace(good, "  - Wait.", "  - Wait.\n - Or not.", 1), "x.md:11: front matter: not YAML: did not find expected key; this line is not indented like the lines above it"},
		// yaml.v3 names the line of the list the goal is in (the goals:
		// line's first item), four lines above the one to fix.
		{"not YAML, a goal's field indented too little", strings.Replace(good, "  - {id: done, text: Deliver, delivered: {rcpt: bob@example.org}}",
			"  - id: done\n    text: Deliver\n   delivered: {rcpt: bob@example.org}", 1),
			"x.md:10: front matter: not YAML: did not find expected '-' indicator; this line is not indented like the lines above it"},
		{"not YAML, a tab", strings.Replace(good, "  - Wait.", "\t- Wait.", 1), "x.md:10: front matter: not YAML: found character that cannot start any token; this line holds a tab: YAML indents with spaces only"},
		{"not YAML, a colon in text", strings.Replace(good, "summary: Try again later.", "summary: Try again: later.", 1), `x.md:5: front matter: not YAML: mapping values are not allowed in this context; a ": " inside text starts a mapping, so put the text in quotes`},
		{"not YAML, a quote left open", strings.Replace(good, "advance: 1h", `advance: "1h`, 1), "x.md:30: front matter: not YAML: found unexpected end of stream; a quote (or bracket) opened on this line is not closed"},
		{"no closing ---", strings.Replace(good, "---\n\nBody.", "\nBody.", 1), "x.md:1: front matter: no line of --- ends it, so the whole file is read as front matter; end the YAML with a line of as many dashes as the one it starts with"},
		{"a closing line of another length", strings.Replace(good, "---\n\nBody.", "----\n\nBody.", 1), "x.md:1: front matter: no line of --- ends it"},
		{"a list", "---\n- a\n---\n", "x.md:2: front matter: must be a mapping of fields (title, order, scenario, summary, goals, hints, solution), not a list"},
		{"unknown field", strings.Replace(good, "hints:", "hint:", 1), `x.md:9: front matter: unknown field "hint"; the front matter has: title, order, scenario, summary, goals, hints, solution`},
		{"field twice", strings.Replace(good, "summary: Try again later.", "summary: Try again later.\ntitle: Again", 1), "x.md:6: title: given twice (first on line 2)"},
		{"wrong type", strings.Replace(good, "order: 7", "order: seven", 1), `x.md:3: order: must be a whole number, not "seven"`},
		{"goals not a list", strings.Replace(good, "goals:\n  - {id: deferred, text: Get a 4xx, reply: {code: 4xx}}\n  - ", "goals: ", 1), `x.md:6: goals: must be a list of goals, each starting with "- ", not a mapping`},
		{"bad goal", strings.Replace(good, "reply: {code: 4xx}", "reply: {rcpt: x}", 1), `x.md:7: goals: "deferred": reply: unknown field "rcpt"`},
		{"hint a mapping", strings.Replace(good, "  - Wait.", "  - Wait: an hour", 1), `x.md:10: hints[1]: must be text, not a mapping; a ": " inside text starts a mapping, so put the text in quotes`},
		{"unknown step field", strings.Replace(good, "advance: 30m", "wait: 30m", 1), `x.md:14: solution[3]: unknown step "wait"; a step is one of: type, raw, submit, advance, connect, lab`},
		{"unknown submit field", strings.Replace(good, "subject: Hi", "cc: [x@example.org]", 1), `x.md:16: solution[5]: submit: unknown field "cc"; a submit has: from, to, subject, body, attachments`},
		{"submit to one address", strings.Replace(good, "to: [bob@example.org]", "to: bob@example.org", 1), `x.md:16: solution[5]: submit.to: must be a list`},
		{"unknown attachment field", strings.Replace(good, "type: image/png", "mime: image/png", 1), `x.md:28: solution[6]: submit.attachments[2]: unknown field "mime"; an attachment has: name, type, content`},
		{"attachment content a list", strings.Replace(good, "content: !!binary iVBORw0KGgo=", "content: [1, 2]", 1), "x.md:28: solution[6]: submit.attachments[2].content: must be the file's text (content: |) or its bytes in base64 after !!binary, not a list"},
		{"attachment bad base64", strings.Replace(good, "content: !!binary iVBORw0KGgo=", "content: !!binary not*base64", 1), "x.md:28: solution[6]: submit.attachments[2].content: !!binary value contains invalid base64 data"},
		{"lab line", strings.Replace(good, "seed: 3", "seed 3", 1), `x.md:36: smtp-lab block 1: "seed 3" is not a key: value option`},
		{"lab key", strings.Replace(good, "seed: 3", "On-Click: x", 1), `x.md:36: smtp-lab block 1: "On-Click" is not an option name`},
		{"lab seed", strings.Replace(good, "seed: 3", "seed: three", 1), `x.md:36: smtp-lab block 1: seed "three" is not a whole number`},
		{"lab twice", strings.Replace(good, "seed: 3", "seed: 3\nseed: 4", 1), "x.md:37: smtp-lab block 1: seed is given twice (first on line 36)"},
		{"after a blank line", "\n" + strings.Replace(good, "order: 7", "order: seven", 1), `x.md:4: order: must be a whole number, not "seven"`},
		{"CRLF", strings.ReplaceAll(strings.Replace(good, "order: 7", "order: seven", 1), "\n", "\r\n"), `x.md:3: order: must be a whole number, not "seven"`},
	}
	for _, tt := range tests {
		_, err := Parse("x", []byte(tt.src))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want it to contain %q", tt.name, err, tt.want)
		}
	}
}

func TestStepsParse(t *testing.T) {
	l := parseGood(t)
	want := []Step{{Type: "EHLO me.example.com"}, {}, {Advance: "30m"}, {Raw: `hi\n.\r\n\\ \t\0`},
		{Submit: &Message{From: "alice@example.com", To: []string{"bob@example.org"}, Subject: "Hi", Body: "Hello,\nBob."}},
		{Submit: &Message{From: "alice@example.com", To: []string{"bob@example.org"}, Subject: "Files", Body: "See the files.",
			Attachments: []Attachment{{Name: "notes.txt", Type: "text/plain", Content: FileContent("Line one\nLine two\n")},
				{Name: "dot.png", Type: "image/png", Content: FileContent("\x89PNG\r\n\x1a\n")}}}},
		{Connect: "MX.example.org:25"}, {Advance: "1h"}}
	if !reflect.DeepEqual(l.Solution, want) {
		t.Fatalf("Solution = %+v, want %+v", l.Solution, want)
	}
}

// broken is a lesson with a mistake in nearly every part; its lines are
// numbered as the linter counts them.
const broken = `---
title: Broken
order: seven
scenario: first-session
summary: S
goals:
  - {id: g, text: T, reply: {code: 250, rcpt: x}}
  - {id: d, delivered: {rcpt: bob@example.org}}
hint:
  - Say EHLO.
solution:
  - type: EHLO x
  - typo: EHLO x
  - advance: forever
---
Body.

` + "```smtp-lab\nheigth: 9\nseed: x\n```\n"

// onlyEHLO is the good lesson with a solution that reaches none of its
// goals.
var onlyEHLO = good[:strings.Index(good, "solution:\n")] + "solution:\n  - type: EHLO x\n---\nBody.\n"

// TestLintFilesReportsEveryProblem lints files as the lint-lessons command
// does: every problem of every file in one run, each as
// "file:line: where: what", in the order of the files and lines.
func TestLintFilesReportsEveryProblem(t *testing.T) {
	tests := []struct {
		name  string
		files []File
		want  []string
	}{
		{"a good lesson", []File{{"good.md", []byte(good)}}, nil},
		{"several mistakes in one file", []File{{"dir/13-broken.md", []byte(broken)}}, []string{
			"dir/13-broken.md:1: hints: none; give at least one hint for a learner who is stuck",
			`dir/13-broken.md:3: order: must be a whole number, not "seven"`,
			`dir/13-broken.md:7: goals: "g": reply: unknown field "rcpt" (reply knows verb, code, enhanced, reason, tls, terminal, host, peer)`,
			`dir/13-broken.md:8: goals: "d": has no text telling the learner what to do`,
			`dir/13-broken.md:9: front matter: unknown field "hint"; the front matter has: title, order, scenario, summary, goals, hints, solution`,
			`dir/13-broken.md:13: solution[2]: unknown step "typo"; a step is one of: type, raw, submit, advance, connect, lab`,
			`dir/13-broken.md:14: solution[3]: advance "forever" is not a positive duration up to 720h0m0s, like 30s, 5m or 2h`,
			`dir/13-broken.md:19: smtp-lab block 1: unknown option "heigth" (a lab block takes scenario, seed, height, panels, prompt, tab)`,
			`dir/13-broken.md:20: smtp-lab block 1: seed "x" is not a whole number from -9007199254740991 to 9007199254740991`,
		}},
		{"a misspelt step key", []File{{"typo.md", []byte(strings.Replace(good, "  - advance: 30m", "  - typo: 30m", 1))}}, []string{
			`typo.md:14: solution[3]: unknown step "typo"; a step is one of: type, raw, submit, advance, connect, lab`,
		}},
		{"a misspelt goal key", []File{{"goal.md", []byte(strings.Replace(good, "{id: done, text:", "{id: done, txt:", 1))}}, []string{
			`goal.md:8: goals: "done": unknown field "txt" (a goal has id, text, scenario, and one condition: reply, command, dns, tls, queued, delivered, bounce, event, answered, before, session, count, all, any, not)`,
		}},
		{"a solution that misses its goals", []File{{"short.md", []byte(onlyEHLO)}}, []string{
			`short.md:7: goals: goal "deferred" is not done after the solution's last step: the solution must reach every goal`,
			`short.md:8: goals: goal "done" is not done after the solution's last step: the solution must reach every goal`,
		}},
		{"a goal done before the learner does anything", []File{{"early.md", []byte(strings.Replace(good,
			"{id: deferred, text: Get a 4xx, reply: {code: 4xx}}", "{id: greeting, text: Be greeted, reply: {code: 220}}", 1))}}, []string{
			`early.md:7: goals: "greeting" is done before the learner does anything; a goal must ask for something`,
		}},
		{"a goal in a lab the solution never opens", []File{{"lab.md", []byte(strings.Replace(good, "{id: done, text: Deliver,", "{id: done, text: Deliver, scenario: null-mx,", 1) +
			"\n```smtp-lab\nscenario: null-mx\n```\n")}}, []string{
			`lab.md:8: goals: goal "done" is reached in the null-mx lab, which the solution never opens (with a lab: null-mx step)`,
		}},
		{"HTML in the body", []File{{"html.md", []byte(strings.Replace(good, "\nBody.\n", "\nBody <b>bold</b> and RCPT TO:<bob>.\n\n<div class=\"note\">\nA note.\n</div>\n\n<!-- a comment for authors -->\n", 1))}}, []string{
			"html.md:33: body: <b> is HTML, which the page leaves out (a lesson is Markdown only): write it in Markdown, such as **bold**, *italics* or [a link](https://example.org/), and a lab as a ```smtp-lab block",
			`html.md:35: body: <div class="note"> is HTML, which the page leaves out (a lesson is Markdown only): write it in Markdown, such as **bold**, *italics* or [a link](https://example.org/), and a lab as a ` + "```smtp-lab block",
		}},
		{"images from another site", []File{{"img.md", []byte(strings.Replace(good, "\nBody.\n", "\nBody ![a diagram](https://example.org/d.png).\n\n![](//cdn.example.org/e.png) ![ours](/img/f.png) ![](g.png)\n", 1))}}, []string{
			`img.md:33: body: the image "https://example.org/d.png" is not on the lab's server, and the page shows images from there only (its Content-Security-Policy): put the file in web/ and write its path, as /img/diagram.png`,
			`img.md:35: body: the image "//cdn.example.org/e.png" is not on the lab's server, and the page shows images from there only (its Content-Security-Policy): put the file in web/ and write its path, as /img/diagram.png`,
		}},
		{"a lab block left open", []File{{"open.md", []byte(strings.TrimSuffix(good, "```\n") + "\n## Next\n\nMore text: with a colon.\n\n- a list\n")}}, []string{
			"open.md:35: smtp-lab block 1: no line of ``` closes this block, so the rest of the lesson is read as its options; end it with a line of ```",
		}},
		{"a good lesson with CRLF line ends", []File{{"crlf.md", []byte(strings.ReplaceAll(good, "\n", "\r\n"))}}, nil},
		{"a seed the page cannot hold", []File{{"seed.md", []byte(strings.Replace(good, "seed: 3", "seed: 9007199254740993", 1))}}, []string{
			`seed.md:36: smtp-lab block 1: seed "9007199254740993" is not a whole number from -9007199254740991 to 9007199254740991`,
		}},
		{"file names the lab cannot serve", []File{{"dir/My lesson #2.md", []byte(good)}, {"_draft.md", []byte(strings.Replace(good, "order: 7", "order: 8", 1))}}, []string{
			`dir/My lesson #2.md:1: slug: the file name "My lesson #2.md" is not one the lab can serve: its name without .md is the lesson's address (#lesson=My lesson #2) and the name of its files on the server; use letters, digits and '-', starting with a letter or digit, as in 13-my-lesson.md`,
			`_draft.md:1: slug: the file name "_draft.md" is not one the lab can serve: its name without .md is the lesson's address (#lesson=_draft) and the name of its files on the server; use letters, digits and '-', starting with a letter or digit, as in 13-my-lesson.md`,
		}},
		{"problems in three files", []File{
			{"b.md", []byte(strings.Replace(good, "  - Wait.", `  - ""`, 1))},
			{"a.md", []byte(good)},
			{"c.md", []byte("# No front matter\n")},
		}, []string{
			`b.md:3: order: 7 is also the order of a`,
			`b.md:10: hints[1]: empty`,
			`a.md:3: order: 7 is also the order of b`,
			`c.md:1: front matter: missing; start the file with a line of --- and the lesson's YAML, and end the YAML with another`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ps := LintFiles(tt.files, KnownScenarios())
			var got []string
			for _, p := range ps {
				got = append(got, p.String())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}
