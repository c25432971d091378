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
// Step); the tests replay it and expect every goal to be done.
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
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
	"go.abhg.dev/goldmark/frontmatter"
	"gopkg.in/yaml.v3"

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
// All. The lint command uses it on a course author's directory.
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
		l, err := Parse(strings.TrimSuffix(path.Base(name), ".md"), src)
		if err != nil {
			errs = append(errs, err)
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
func Parse(slug string, src []byte) (Lesson, error) {
	md := newMarkdown()
	ctx := parser.NewContext()
	doc := md.Parser().Parse(text.NewReader(src), parser.WithContext(ctx))

	data := frontmatter.Get(ctx)
	if data == nil {
		return Lesson{}, fmt.Errorf("lesson %s: no front matter: start the file with a line of --- and the lesson's YAML", slug)
	}
	var fm frontMatter
	if err := data.Decode(&fm); err != nil {
		return Lesson{}, fmt.Errorf("lesson %s: front matter: %w", slug, err)
	}

	labs, err := prepareLabs(doc, fm.Scenario)
	if err != nil {
		return Lesson{}, fmt.Errorf("lesson %s: %w", slug, err)
	}
	var body bytes.Buffer
	if err := md.Renderer().Render(&body, src, doc); err != nil {
		return Lesson{}, fmt.Errorf("lesson %s: rendering: %w", slug, err)
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
	}, nil
}

// newMarkdown builds the converter for one lesson. It is cheap, and
// building one per call keeps Parse free of shared state. html.WithUnsafe
// is deliberately absent: raw HTML in a lesson is omitted.
func newMarkdown() goldmark.Markdown {
	return goldmark.New(
		goldmark.WithExtensions(
			extension.GFM,
			&frontmatter.Extender{Formats: []frontmatter.Format{strictYAML()}},
			labExtension{},
		),
		goldmark.WithParserOptions(parser.WithAutoHeadingID()),
	)
}

// strictYAML is front matter in YAML that rejects unknown fields.
func strictYAML() frontmatter.Format {
	return frontmatter.Format{
		Name:  "YAML",
		Delim: '-',
		Unmarshal: func(b []byte, v any) error {
			dec := yaml.NewDecoder(bytes.NewReader(b))
			dec.KnownFields(true)
			err := dec.Decode(v)
			if errors.Is(err, io.EOF) {
				return errors.New("it is empty")
			}
			return err
		},
	}
}
