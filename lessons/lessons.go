// Package lessons holds SMTP Lab's lessons and turns them into data the
// web page shows beside the lab.
//
// A lesson is a Markdown file in this directory with YAML front matter:
//
//	---
//	title: Your first SMTP session
//	order: 1
//	scenario: first-session
//	summary: One line saying what the learner will do.
//	goals:
//	  - {id: greeted, text: Say hello with EHLO, reply: {verb: EHLO, code: 250}}
//	hints:
//	  - Start with EHLO and a name for your machine.
//	solution:
//	  - type: EHLO me.example.com
//	  - advance: 30m
//	---
//
// Goals are written in the language of package lessons/goal. The solution
// is what a learner would do, step by step: type a line, send raw bytes,
// submit a message from the mail client, or move the world's clock (see
// Step); the tests and the linter (Lint) replay it and expect every goal
// to be done.
//
// The body is rendered with goldmark and GitHub-flavoured Markdown, never
// allowing raw HTML: a lesson is content, not code, so tags in it are
// dropped and javascript: links lose their target. A fenced block whose
// info string is smtp-lab becomes a live lab on the page; see Lab.
package lessons

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
	"go.abhg.dev/goldmark/frontmatter"

	"smtplab/lessons/goal"
)

// files holds the lessons shipped with SMTP Lab.
//
//go:embed *.md
var files embed.FS

// Lesson is one lesson, parsed and rendered.
type Lesson struct {
	Slug     string      `json:"slug"` // the file name without .md: "01-first-session"
	Title    string      `json:"title"`
	Order    int         `json:"order"`    // lessons are shown by increasing order
	Scenario string      `json:"scenario"` // the lab world the lesson runs in
	Summary  string      `json:"summary"`
	Goals    []goal.Goal `json:"goals"`
	Hints    []string    `json:"hints"`
	Solution []Step      `json:"solution"`
	HTML     string      `json:"html"` // the body, safe to insert into the page
	Labs     []Lab       `json:"labs"` // the smtp-lab blocks in the body, in order

	src *source // where the lesson was read from, for Lint's messages; nil for one built in Go
}

// frontMatter is the YAML at the top of a lesson file. Unknown fields are
// errors, so a misspelt "hint:" does not silently vanish.
type frontMatter struct {
	Title    string      `yaml:"title"`
	Order    int         `yaml:"order"`
	Scenario string      `yaml:"scenario"`
	Summary  string      `yaml:"summary"`
	Goals    []goal.Goal `yaml:"goals"`
	Hints    []string    `yaml:"hints"`
	Solution []Step      `yaml:"solution"`
}

// All parses every lesson shipped with SMTP Lab, sorted by order (then
// slug, so the result is the same every time even if orders clash).
func All() ([]Lesson, error) {
	return ParseFS(files, ".")
}

// ParseFS parses every .md file in dir of fsys as a lesson, sorted like
// All. Its error holds every problem of every file that is not a lesson,
// one a line.
func ParseFS(fsys fs.FS, dir string) ([]Lesson, error) {
	names, err := fs.Glob(fsys, path.Join(dir, "*.md"))
	if err != nil {
		return nil, fmt.Errorf("lessons: listing %s: %w", dir, err)
	}
	var lessons []Lesson
	var errs []error
	for _, name := range names {
		src, err := fs.ReadFile(fsys, name)
		if err != nil {
			errs = append(errs, fmt.Errorf("lessons: %w", err))
			continue
		}
		l, _, ps := parseFile(strings.TrimSuffix(path.Base(name), ".md"), name, src)
		if ps != nil {
			errs = append(errs, errProblems(ps))
			continue
		}
		lessons = append(lessons, l)
	}
	sort.SliceStable(lessons, func(i, j int) bool {
		if lessons[i].Order != lessons[j].Order {
			return lessons[i].Order < lessons[j].Order
		}
		return lessons[i].Slug < lessons[j].Slug
	})
	return lessons, errors.Join(errs...)
}

// Parse reads one lesson: its front matter, its smtp-lab blocks and its
// rendered body. It fails only when the file cannot be read as a lesson
// at all; whether the lesson is complete and correct is Lint's business.
// Its error tells every problem, one a line, as
// "<slug>.md:LINE: where: what".
func Parse(slug string, src []byte) (Lesson, error) {
	l, _, ps := parseFile(slug, slug+".md", src)
	if ps != nil {
		return Lesson{}, errProblems(ps)
	}
	return l, nil
}

// parseFile reads the lesson in src, from file, as far as it can. It
// returns the lesson, with every part it could read, whether it found
// front matter to lint at all, and a problem for each part it could not
// read. The lesson remembers the line of each part, for Lint.
func parseFile(slug, file string, src []byte) (Lesson, bool, []Problem) {
	s := &source{file: file, top: 1, fields: map[string]int{}, broken: map[string]bool{}}
	md := newMarkdown()
	ctx := parser.NewContext(parser.WithIDs(headingIDs{parser.NewContext().IDs(), "smtplab-lesson-" + slug + "--"}))
	doc := md.Parser().Parse(text.NewReader(src), parser.WithContext(ctx))

	var fm frontMatter
	var ps []Problem
	read := false
	if data := frontmatter.Get(ctx); data == nil {
		ps = append(ps, Problem{Line: 1, Where: "front matter", Msg: "missing; start the file with a line of --- and the lesson's YAML, and end the YAML with another"})
	} else {
		var raw []byte
		_ = data.Decode(&raw) // rawYAML only hands the bytes over
		var closed bool
		s.top, closed = frontMatterStart(src, raw)
		if closed {
			r := frontMatterReader{src: s, offset: s.top, last: lineOf(src, len(src))}
			read = r.read(raw, &fm)
			ps = append(ps, r.ps...)
		} else {
			// The lesson's text read as YAML would only give puzzles
			// such as "found character that cannot start any token".
			ps = append(ps, Problem{Line: s.top, Where: "front matter", Msg: "no line of --- ends it, so the whole file is read as front matter; " +
				"end the YAML with a line of as many dashes as the one it starts with"})
		}
	}

	labs, lines, labProblems := prepareLabs(doc, fm.Scenario)
	s.labs = lines
	s.body = lintBody(doc, src)
	ps = append(ps, labProblems...)
	var body bytes.Buffer
	if err := md.Renderer().Render(&body, src, doc); err != nil {
		ps = append(ps, Problem{Line: 1, Where: "body", Msg: "rendering: " + err.Error()})
	}
	for i := range ps {
		ps[i].Lesson, ps[i].File = slug, file
	}
	return Lesson{
		Slug:     slug,
		Title:    fm.Title,
		Order:    fm.Order,
		Scenario: fm.Scenario,
		Summary:  fm.Summary,
		Goals:    fm.Goals,
		Hints:    fm.Hints,
		Solution: fm.Solution,
		HTML:     body.String(),
		Labs:     labs,
		src:      s,
	}, read, ps
}

// headingIDs gives a lesson's headings goldmark's ids ("## What now?" is
// what-now) after a prefix of the lab's own and the lesson's slug. The
// lesson's HTML goes into the lab's page beside the page's elements, which
// its scripts find by id, and beside the other lessons: unprefixed, an
// author's "## Lab" took the id of the lab's section (the page then put the
// lab inside the heading) and "## Lesson data" that of the lessons' JSON
// (the page did not start), and three lessons' "## What to take away"
// shared one id.
type headingIDs struct {
	parser.IDs // goldmark's own, which keeps each id unique in the lesson
	prefix     string
}

func (h headingIDs) Generate(value []byte, kind ast.NodeKind) []byte {
	return append([]byte(h.prefix), h.IDs.Generate(value, kind)...)
}

// newMarkdown builds the converter for one lesson. It is cheap, and
// building one per call keeps Parse free of shared state. html.WithUnsafe
// is deliberately absent: raw HTML in a lesson is omitted.
func newMarkdown() goldmark.Markdown {
	return goldmark.New(
		goldmark.WithExtensions(
			extension.GFM,
			&frontmatter.Extender{Formats: []frontmatter.Format{rawYAML()}},
			labExtension{},
		),
		goldmark.WithParserOptions(parser.WithAutoHeadingID()),
	)
}

// rawYAML is front matter in YAML, handed over as its bytes: parseFile
// reads them with frontMatterReader, which knows the line of each part.
func rawYAML() frontmatter.Format {
	return frontmatter.Format{
		Name:  "YAML",
		Delim: '-',
		Unmarshal: func(b []byte, v any) error {
			p, ok := v.(*[]byte)
			if !ok {
				return errors.New("lessons: front matter is read as bytes")
			}
			*p = b
			return nil
		},
	}
}
