package lessons

import (
	"bytes"
	"fmt"
	"html"
	"regexp"
	"strings"
	"testing"
)

// A lesson's HTML goes straight into the page, so these tests treat the
// renderer as an attacker would: whatever a lesson says, the HTML may hold
// only the tags and attributes below, no event handlers and no script URLs.

var (
	tagRE  = regexp.MustCompile(`<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[^\s=>]+(?:="[^"]*")?)*)\s*/?>|<!-- raw HTML omitted -->`)
	attrRE = regexp.MustCompile(`\s+([^\s=>]+)(?:="([^"]*)")?`)
)

// allowedTags is what goldmark with GFM and the lab block writes.
var allowedTags = map[string]bool{
	"h1": true, "h2": true, "h3": true, "h4": true, "h5": true, "h6": true, "p": true,
	"a": true, "img": true, "em": true, "strong": true, "del": true, "code": true, "pre": true,
	"blockquote": true, "ul": true, "ol": true, "li": true, "hr": true, "br": true,
	"table": true, "thead": true, "tbody": true, "tr": true, "th": true, "td": true,
	"input": true, "smtp-lab": true,
}

var allowedAttrs = map[string]bool{
	"id": true, "href": true, "title": true, "src": true, "alt": true, "class": true,
	"start": true, "checked": true, "disabled": true, "type": true, "align": true, "style": true,
	"scenario": true, "seed": true,
}

// inertProblem returns what makes html unsafe to insert, or "".
func inertProblem(out string) string {
	for _, m := range tagRE.FindAllStringSubmatch(out, -1) {
		if m[2] == "" { // the raw-HTML-omitted comment
			continue
		}
		tag := strings.ToLower(m[2])
		if !allowedTags[tag] {
			return fmt.Sprintf("tag <%s> in %q", tag, m[0])
		}
		for _, a := range attrRE.FindAllStringSubmatch(m[3], -1) {
			name, value := strings.ToLower(a[1]), strings.ToLower(strings.TrimSpace(html.UnescapeString(a[2])))
			if !allowedAttrs[name] && !strings.HasPrefix(name, "data-") {
				return fmt.Sprintf("attribute %s in %q", name, m[0])
			}
			if name == "style" && !strings.HasPrefix(value, "text-align:") {
				return fmt.Sprintf("style %q", value)
			}
			if name == "href" || name == "src" {
				for _, scheme := range []string{"javascript:", "vbscript:", "file:"} {
					if strings.HasPrefix(value, scheme) {
						return fmt.Sprintf("%s URL in %q", scheme, m[0])
					}
				}
				if strings.HasPrefix(value, "data:") && !strings.HasPrefix(value, "data:image/") {
					return fmt.Sprintf("data URL in %q", m[0])
				}
			}
		}
	}
	// Every "<" must have been a tag we checked; text is escaped as &lt;.
	if rest := tagRE.ReplaceAllString(out, ""); strings.Contains(rest, "<") {
		i := strings.Index(rest, "<")
		return fmt.Sprintf("unescaped < near %q", rest[i:min(len(rest), i+40)])
	}
	return ""
}

const hostile = `---
title: Hostile
order: 1
scenario: first-session
summary: s
---

## Heading with <b>tags</b> & "quotes"

<script>alert(1)</script>

Some text <img src=x onerror=alert(1)> and <a href="javascript:alert(2)">a raw link</a>.

[a markdown link](javascript:alert(3)) and [another](JaVaScRiPt:alert(4)) and
![an image](javascript:alert(5)) and <javascript:alert(6)> and [ok](https://example.org/?a=1&b=2).

    indented <script>alert(7)</script>

` + "```html\n<script>alert(8)</script>\n```" + `

` + "```smtp-lab\nscenario: \"><script>alert(9)</script>\nseed: 7\nonclick: alert(10)\ntitle: '<b>\"x\"</b>'\n```" + `
`

func TestHostileLessonRendersInert(t *testing.T) {
	l, err := Parse("hostile", []byte(hostile))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if p := inertProblem(l.HTML); p != "" {
		t.Fatalf("rendered HTML is not inert: %s\n%s", p, l.HTML)
	}
	for _, want := range []string{
		`<h2 id="smtplab-lesson-hostile--heading-with-btagsb--quotes">Heading with <!-- raw HTML omitted -->tags<!-- raw HTML omitted --> &amp; &quot;quotes&quot;</h2>`,
		`<a href="">a markdown link</a>`,
		`<a href="">another</a>`,
		`<a href="https://example.org/?a=1&amp;b=2">ok</a>`,
		`<pre><code>indented &lt;script&gt;alert(7)&lt;/script&gt;`,
		`<code class="language-html">&lt;script&gt;alert(8)&lt;/script&gt;`,
		`<smtp-lab scenario="&#34;&gt;&lt;script&gt;alert(9)&lt;/script&gt;" seed="7" data-onclick="alert(10)" data-title="&#39;&lt;b&gt;&#34;x&#34;&lt;/b&gt;&#39;">`,
		`(scenario <code>&#34;&gt;&lt;script&gt;alert(9)&lt;/script&gt;</code>)`,
	} {
		if !strings.Contains(l.HTML, want) {
			t.Errorf("HTML lacks %s\n%s", want, l.HTML)
		}
	}
	for _, bad := range []string{"<script", "onerror", "alert(1)", "alert(2)", " onclick"} {
		if strings.Contains(l.HTML, bad) {
			t.Errorf("HTML contains %q:\n%s", bad, l.HTML)
		}
	}
	if len(l.Labs) != 1 || l.Labs[0].Scenario != `"><script>alert(9)</script>` || l.Labs[0].Seed != 7 ||
		l.Labs[0].Options["onclick"] != "alert(10)" {
		t.Fatalf("Labs = %+v", l.Labs)
	}
	// The hostile scenario name is also a lint problem, not just inert.
	if ps := Lint(l, KnownScenarios()); !hasProblem(ps, "smtp-lab block 1", "not a known scenario") {
		t.Errorf("Lint missed the hostile scenario: %v", ps)
	}
}

func TestInertCheckerCatchesUnsafeHTML(t *testing.T) {
	for _, h := range []string{
		`<script>x</script>`,
		`<p onclick="x">a</p>`,
		`<a href="javascript:x">a</a>`,
		`<a href="&#106;avascript:x">a</a>`,
		`<a href=" JAVASCRIPT:x">a</a>`,
		`<img src="data:text/html,x">`,
		`<p>a < b</p>`,
		`<div>x</div>`,
	} {
		if inertProblem(h) == "" {
			t.Errorf("inertProblem(%q) found nothing", h)
		}
	}
	if p := inertProblem(`<p><a href="https://x">a</a> &lt;b&gt;</p><!-- raw HTML omitted -->`); p != "" {
		t.Errorf("safe HTML flagged: %s", p)
	}
}

func TestLabBlocks(t *testing.T) {
	src := `---
title: t
order: 1
scenario: greylisting
summary: s
---

` + "```smtp-lab\n# a comment\n\nseed: 42\nheight: \"24\"\n```\n\n```smtp-lab\nscenario: backup-mx\n```\n\n```go\nscenario: not a lab\n```\n" +
		"\n```smtp-lab\nscenario: null-mx\nseed: 0\n```\n"
	l, err := Parse("labs", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Labs) != 3 {
		t.Fatalf("Labs = %+v, want 3", l.Labs)
	}
	if got := l.Labs[0]; got.Scenario != "greylisting" || got.Seed != 42 || got.Options["height"] != "24" {
		t.Errorf("first lab = %+v, want the lesson's scenario, seed 42, height 24", got)
	}
	if got := l.Labs[1]; got.Scenario != "backup-mx" || got.Seed != 0 || got.Options != nil {
		t.Errorf("second lab = %+v", got)
	}
	for _, want := range []string{
		`<smtp-lab scenario="greylisting" seed="42" data-height="24">`,
		`<smtp-lab scenario="backup-mx">`,
		// Seed 0 is a world of its own, not the page's default seed 1.
		`<smtp-lab scenario="null-mx" seed="0">`,
		`<code class="language-go">scenario: not a lab`,
	} {
		if !strings.Contains(l.HTML, want) {
			t.Errorf("HTML lacks %s:\n%s", want, l.HTML)
		}
	}
}

func TestHeadingIDs(t *testing.T) {
	src := "---\ntitle: t\n---\n\n## Reply codes\n\n## Reply codes\n\n### What *now*?\n"
	l, err := Parse("h", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`<h2 id="smtplab-lesson-h--reply-codes">`, `<h2 id="smtplab-lesson-h--reply-codes-1">`, `<h3 id="smtplab-lesson-h--what-now">`} {
		if !strings.Contains(l.HTML, want) {
			t.Errorf("HTML lacks %s:\n%s", want, l.HTML)
		}
	}
}

// FuzzParse feeds arbitrary lesson files to Parse: it must not panic,
// whatever it renders must be inert, and each problem it finds is on a
// line of the file.
func FuzzParse(f *testing.F) {
	f.Add([]byte(hostile))
	f.Add([]byte("---\ntitle: x\ngoals:\n  - {id: a, text: b, reply: {code: 250}}\nsolution:\n  - type: EHLO x\n---\n# Hi\n"))
	f.Add([]byte("---\n---\n```smtp-lab\nscenario: a\nseed: x\n```\n"))
	f.Add([]byte("---\ntitle: t\n---\n| a | b |\n|:--|--:|\n| <i>x</i> | [y](vbscript:z) |\n\n- [x] done\n"))
	f.Add([]byte("no front matter <script>"))
	f.Add([]byte("---\ntitle: t\n---\n[x](&#106;avascript:alert(1)) <&#106;avascript:y>\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		_, _, ps := parseFile("fuzz", "fuzz.md", src)
		for _, p := range ps {
			if p.Line < 1 || p.Line > bytes.Count(src, []byte("\n"))+1 {
				t.Fatalf("problem %v is on no line of the file\nsource %q", p, src)
			}
		}
		l, err := Parse("fuzz", src)
		if err != nil {
			return
		}
		if p := inertProblem(l.HTML); p != "" {
			t.Fatalf("not inert: %s\nsource %q\nHTML %s", p, src, l.HTML)
		}
	})
}

func BenchmarkParse(b *testing.B) {
	src, err := files.ReadFile("01-first-session.md")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		if _, err := Parse("01-first-session", src); err != nil {
			b.Fatal(err)
		}
	}
}
