package lessons

import (
	"cmp"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/text"

	"smtplab/engine/lab"
	"smtplab/lessons/goal"
)

// Problem is one thing a course author should fix in a lesson.
type Problem struct {
	Lesson string `json:"lesson"`         // the lesson's slug
	File   string `json:"file,omitempty"` // the file it was read from; empty for a lesson built in Go
	Line   int    `json:"line,omitempty"` // the line in File, the front matter's --- being line 1; 0 if unknown
	Where  string `json:"where"`          // "title", "goals", "solution[3]", "smtp-lab block 2"...; lists count from 1
	Msg    string `json:"msg"`
}

// String writes the problem as "file:line: where: what", the form
// editors jump to, or "slug: where: what" for a lesson built in Go.
func (p Problem) String() string {
	switch {
	case p.File != "" && p.Line > 0:
		return fmt.Sprintf("%s:%d: %s: %s", p.File, p.Line, p.Where, p.Msg)
	case p.File != "":
		return fmt.Sprintf("%s: %s: %s", p.File, p.Where, p.Msg)
	}
	return fmt.Sprintf("%s: %s: %s", p.Lesson, p.Where, p.Msg)
}

// KnownScenarios lists the names of the scenarios the engine ships, the
// ones lessons may use.
func KnownScenarios() []string {
	var names []string
	for _, s := range lab.Scenarios() {
		names = append(names, s.Name)
	}
	return names
}

// maxLine is the longest line SMTP allows, without its CRLF (RFC 5321
// §4.5.3.1.6).
const maxLine = 998

// Lint reports what is missing or wrong in one lesson: front matter fields,
// scenarios that do not exist, goals the goal language rejects, hints and
// the solution. Once the scenario, goals and solution have no problem of
// their own, it replays the solution through the engine and reports each
// goal it does not reach. It returns nil for a lesson that is ready to
// ship. For a
// lesson parsed from a file, each problem names its file and line, and
// the parts that file could not give (reported when it was parsed) are
// not reported again.
func Lint(l Lesson, knownScenarios []string) []Problem {
	var ps []Problem
	src := l.src
	// replayable is whether the solution can be replayed: nothing it
	// rests on (the scenario, goals, steps, labs) is wrong.
	replayable := !src.brokenStep()
	add := func(line int, where, format string, args ...any) {
		if where == "scenario" || where == "goals" || strings.HasPrefix(where, "solution") {
			replayable = false
		}
		if src.isBroken(where) {
			return
		}
		ps = append(ps, Problem{Lesson: l.Slug, File: src.path(), Line: line, Where: where, Msg: fmt.Sprintf(format, args...)})
	}
	known := func(s string) bool {
		for _, k := range knownScenarios {
			if k == s {
				return true
			}
		}
		return false
	}

	if !validSlug(l.Slug) {
		add(src.field(""), "slug", "the file name %q is not one the lab can serve: its name without .md is the lesson's address "+
			"(#lesson=%s) and the name of its files on the server; use letters, digits and '-', starting with a letter or digit, as in 13-my-lesson.md",
			l.Slug+".md", l.Slug)
	}
	if strings.TrimSpace(l.Title) == "" {
		add(src.field("title"), "title", "missing")
	}
	if strings.TrimSpace(l.Summary) == "" {
		add(src.field("summary"), "summary", "missing")
	}
	if l.Order < 1 {
		add(src.field("order"), "order", "missing or not a whole number of 1 or more")
	}
	switch {
	case l.Scenario == "":
		add(src.field("scenario"), "scenario", "missing; name the world the lesson's lab runs (one of: %s)", strings.Join(knownScenarios, ", "))
	case !known(l.Scenario):
		add(src.field("scenario"), "scenario", "%q is not a known scenario (known: %s)", l.Scenario, strings.Join(knownScenarios, ", "))
	}

	if len(l.Goals) == 0 && !src.lostGoal() {
		add(src.field("goals"), "goals", "none; a lesson needs at least one goal the learner can reach")
	}
	for _, err := range goal.Validate(l.Goals) {
		line := src.field("goals")
		var e *goal.Error
		if errors.As(err, &e) {
			line = src.goal(e.Index)
		}
		add(line, "goals", "%v", err)
	}

	if len(l.Hints) == 0 {
		add(src.field("hints"), "hints", "none; give at least one hint for a learner who is stuck")
	}
	for i, h := range l.Hints {
		if strings.TrimSpace(h) == "" {
			add(src.hint(i), hintWhere(i), "empty")
		}
	}

	if len(l.Solution) == 0 {
		add(src.field("solution"), "solution", "empty; write the steps a learner would take so the tests can replay them")
	}
	for i, s := range l.Solution {
		for _, msg := range lintStep(s) {
			add(src.step(i), stepWhere(i), "%s", msg)
		}
	}

	for i, lab := range l.Labs {
		where := labWhere(i)
		if !known(lab.Scenario) {
			add(src.lab(i, "scenario"), where, "%q is not a known scenario", lab.Scenario)
			replayable = false
		}
		for _, p := range checkLabOptions(lab) {
			add(src.lab(i, p.key), where, "%s", p.msg)
		}
	}

	// A goal or a solution step may name another lab only if the lesson
	// has one for the learner to open.
	hasLab := func(scenario string) bool {
		if scenario == l.Scenario {
			return true
		}
		for _, lab := range l.Labs {
			if lab.Scenario == scenario {
				return true
			}
		}
		return false
	}
	for i, g := range l.Goals {
		if g.Scenario != "" && !hasLab(g.Scenario) {
			add(src.goal(i), "goals", "%s names scenario %q, which none of the lesson's smtp-lab blocks runs", goalLabel(g, i), g.Scenario)
		}
	}
	for i, s := range l.Solution {
		if s.Lab != "" && !hasLab(s.Lab) {
			add(src.step(i), stepWhere(i), "lab %q is not the scenario of the lesson or of one of its smtp-lab blocks", s.Lab)
		}
	}
	if src != nil {
		for _, p := range src.body {
			add(p.line, "body", "%s", p.msg)
		}
	}
	for _, p := range lintConnectHosts(l) {
		add(p.Line, p.Where, "%s", p.Msg)
	}
	if replayable {
		ps = append(ps, replay(l)...)
	}
	return ps
}

// lintConnectHosts reports each connect step whose host is not one of the
// world it happens in: the lesson's scenario, or the lab a lab step
// opened before it. Scenarios that do not load are reported elsewhere.
func lintConnectHosts(l Lesson) []Problem {
	var ps []Problem
	current := l.Scenario
	for i, s := range l.Solution {
		if s.Lab != "" {
			current = s.Lab
		}
		host, _, err := lab.ParseTarget(s.Connect)
		if s.Connect == "" || err != nil {
			continue // lintStep reports a bad target
		}
		if sc, err := lab.LoadScenario(current); err == nil && !sc.HasHost(host) {
			ps = append(ps, Problem{Line: l.src.step(i), Where: stepWhere(i),
				Msg: fmt.Sprintf("connect: the %s lab has no host %q", current, host)})
		}
	}
	return ps
}

// validSlug reports whether a lesson's slug, its file name without .md,
// can be its address in the page and on the server: a "#" or "?" in it
// would end the path of its files, and go:embed leaves out a file whose
// name starts with "_" or ".".
func validSlug(slug string) bool {
	if slug == "" {
		return false
	}
	for i, c := range slug {
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !letter && (i == 0 || c != '-') {
			return false
		}
	}
	return true
}

// stepWhere and hintWhere name the i-th step of a solution and the i-th
// hint (from 0) in a Problem, counting from 1 as authors do: solution[1]
// is the first step, as smtp-lab block 1 is the first block and goal #1
// the first goal.
func stepWhere(i int) string { return fmt.Sprintf("solution[%d]", i+1) }
func hintWhere(i int) string { return fmt.Sprintf("hints[%d]", i+1) }

// goalLabel names a goal in a message: by its id, or by its place.
func goalLabel(g goal.Goal, i int) string {
	if g.ID != "" {
		return fmt.Sprintf("goal %q", g.ID)
	}
	return fmt.Sprintf("goal #%d", i+1)
}

// LintAll lints every lesson and the set as a whole: no two lessons may
// share a slug or an order.
func LintAll(lessons []Lesson, knownScenarios []string) []Problem {
	var ps []Problem
	bySlug := map[string]bool{}
	byOrder := map[int][]Lesson{}
	for _, l := range lessons {
		ps = append(ps, Lint(l, knownScenarios)...)
		if bySlug[l.Slug] {
			ps = append(ps, Problem{Lesson: l.Slug, File: l.src.path(), Line: l.src.field(""), Where: "slug", Msg: "two lessons have this slug"})
		}
		bySlug[l.Slug] = true
		if l.Order >= 1 {
			byOrder[l.Order] = append(byOrder[l.Order], l)
		}
	}
	orders := make([]int, 0, len(byOrder))
	for o := range byOrder {
		orders = append(orders, o)
	}
	sort.Ints(orders)
	for _, o := range orders {
		if same := byOrder[o]; len(same) > 1 {
			var slugs []string
			for _, l := range same {
				slugs = append(slugs, l.Slug)
			}
			for _, l := range same {
				ps = append(ps, Problem{Lesson: l.Slug, File: l.src.path(), Line: l.src.field("order"), Where: "order",
					Msg: fmt.Sprintf("%d is also the order of %s", o, strings.Join(others(slugs, l.Slug), ", "))})
			}
		}
	}
	return ps
}

func others(list []string, not string) []string {
	var out []string
	for _, s := range list {
		if s != not {
			out = append(out, s)
		}
	}
	return out
}

// File is a lesson file for LintFiles: the path its problems name, and
// its bytes.
type File struct {
	Path string
	Src  []byte
}

// LintFiles parses and lints lesson files for a course author: it reads
// each file as far as it can, so that one mistake does not hide the
// others, and lints the lessons together as LintAll does. It returns how
// many files it could read as lessons, and every problem of every file,
// each with its file and line, in the order of the files, then of the
// lines.
func LintFiles(files []File, knownScenarios []string) (int, []Problem) {
	var ps []Problem
	var ls []Lesson
	order := map[string]int{}
	for i, f := range files {
		if _, ok := order[f.Path]; !ok {
			order[f.Path] = i
		}
		slug := strings.TrimSuffix(filepath.Base(f.Path), ".md")
		l, read, fps := parseFile(slug, f.Path, f.Src)
		ps = append(ps, fps...)
		if read {
			ls = append(ls, l)
		}
	}
	ps = append(ps, LintAll(ls, knownScenarios)...)
	slices.SortStableFunc(ps, func(a, b Problem) int {
		return cmp.Or(cmp.Compare(order[a.File], order[b.File]), cmp.Compare(a.Line, b.Line))
	})
	return len(ls), ps
}

// bodyProblem is something in a lesson's body the page cannot show: its
// line, and what to do.
type bodyProblem struct {
	line int
	msg  string
}

// lintBody finds what the page cannot show of a lesson's body, for Lint
// to tell the author: HTML, which the page leaves out (one piece a line
// is enough; comments are left out as a reader of the file expects), and
// images from another site, which the page's Content-Security-Policy
// does not load.
func lintBody(doc ast.Node, src []byte) []bodyProblem {
	var found []bodyProblem
	html := func(seg text.Segment) {
		line := lineOf(src, seg.Start)
		tag := strings.TrimSpace(string(seg.Value(src)))
		if strings.HasPrefix(tag, "<!--") || len(found) > 0 && found[len(found)-1].line == line {
			return
		}
		tag, _, _ = strings.Cut(tag, "\n")
		if len(tag) > 40 {
			tag = tag[:40] + "…"
		}
		found = append(found, bodyProblem{line, tag + " is HTML, which the page leaves out (a lesson is Markdown only): write it in Markdown, " +
			"such as **bold**, *italics* or [a link](https://example.org/), and a lab as a ```smtp-lab block"})
	}
	ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n := n.(type) {
		case *ast.HTMLBlock:
			if n.Lines().Len() > 0 {
				html(n.Lines().At(0))
			}
		case *ast.RawHTML:
			if n.Segments.Len() > 0 {
				html(n.Segments.At(0))
			}
		case *ast.Image:
			if dest := string(n.Destination); offSite(dest) {
				line := 0 // the line of its alt text, else of the paragraph it is in
				if t, ok := n.FirstChild().(*ast.Text); ok {
					line = lineOf(src, t.Segment.Start)
				}
				for p := n.Parent(); line == 0 && p != nil; p = p.Parent() {
					if p.Type() == ast.TypeBlock && p.Lines().Len() > 0 {
						line = lineOf(src, p.Lines().At(0).Start)
					}
				}
				found = append(found, bodyProblem{line, fmt.Sprintf("the image %q is not on the lab's server, and the page shows images from there only "+
					"(its Content-Security-Policy): put the file in web/ and write its path, as /img/diagram.png", dest)})
			}
		}
		return ast.WalkContinue, nil
	})
	return found
}

// offSite reports whether a URL names another site (or a scheme such as
// data:) rather than a path on the lab's own server.
func offSite(url string) bool {
	if strings.HasPrefix(url, "//") {
		return true
	}
	scheme, _, ok := strings.Cut(url, ":")
	return ok && !strings.ContainsAny(scheme, "/?#")
}
