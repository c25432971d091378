package lessons

import (
	"bytes"
	"fmt"
	stdhtml "html"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/renderer"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// A fenced block with the info string smtp-lab puts a live lab in the
// lesson. Its lines are options, one "key: value" a line ("#" starts a
// comment line):
//
//	```smtp-lab
//	scenario: greylisting
//	seed: 7
//	tab: timeline
//	height: 12
//	prompt: EHLO laptop.example.com
//	```
//
// It renders as an <smtp-lab> element, the custom element the web page
// defines: scenario and seed become attributes of the same name, every
// other option becomes a data- attribute (data-height="12"), so no option
// can become an event handler or a style. A block without a scenario runs
// the lesson's scenario. Every value is escaped.
//
// Besides scenario and seed, a block may set the options below (the
// linter rejects any other, and values the page could not use); the page
// reads them in web/js/labopts.js and README.md explains them to authors.
const (
	// optTab is the view open beside the transcript at first: one of
	// labPanels.
	optTab = "tab"
	// optPanels lists the views an embedded lab shows, in order,
	// separated by commas, or is "none" for a transcript and terminal
	// only. The lab beside a lesson always has all of them.
	optPanels = "panels"
	// optHeight is the transcript's height in lines.
	optHeight = "height"
	// optPrompt is a line already typed in the terminal when the lab
	// opens, for the learner to send or change: not sent by itself.
	optPrompt = "prompt"
)

// Bounds of the height option, in lines.
const (
	minLabHeight = 4
	maxLabHeight = 60
)

// labOptionNames lists the options besides scenario and seed, sorted.
func labOptionNames() []string { return []string{optHeight, optPanels, optPrompt, optTab} }

// labPanels lists the views a lab can show, in the order the page shows
// them (the ids of the panels in web/js/panels.js).
func labPanels() []string { return []string{"network", "timeline", "tls", "mailbox"} }

// checkLabOptions reports every option of lab that is unknown or has a
// value the page cannot use, in the order of the option names, each with
// the option it is about.
func checkLabOptions(lab Lab) []optionProblem {
	var problems []optionProblem
	keys := make([]string, 0, len(lab.Options))
	for k := range lab.Options {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if msg := checkLabOption(k, lab.Options[k]); msg != "" {
			problems = append(problems, optionProblem{k, msg})
		}
	}
	if tab, list := lab.Options[optTab], lab.Options[optPanels]; tab != "" && list != "" && !slices.Contains(splitPanels(list), tab) {
		problems = append(problems, optionProblem{optTab, fmt.Sprintf("tab %q is not one of the panels the lab shows (%s)", tab, list)})
	}
	return problems
}

// optionProblem is what is wrong with an option of a lab block.
type optionProblem struct {
	key, msg string
}

// checkLabOption checks one option; it returns "" when it is fine.
func checkLabOption(key, value string) string {
	switch key {
	case optTab:
		if !slices.Contains(labPanels(), value) {
			return fmt.Sprintf("tab %q is not a view (one of: %s)", value, strings.Join(labPanels(), ", "))
		}
	case optPanels:
		if value == "none" {
			return ""
		}
		list := splitPanels(value)
		for _, p := range list {
			if !slices.Contains(labPanels(), p) {
				return fmt.Sprintf("panels: %q is not a view (write some of %s, separated by commas, or none)", p, strings.Join(labPanels(), ", "))
			}
		}
		if len(list) == 0 {
			return "panels is empty (write some of " + strings.Join(labPanels(), ", ") + ", or none)"
		}
	case optHeight:
		n, err := strconv.Atoi(value)
		if err != nil || n < minLabHeight || n > maxLabHeight {
			return fmt.Sprintf("height %q is not a number of lines from %d to %d", value, minLabHeight, maxLabHeight)
		}
	case optPrompt:
		if value == "" {
			return "prompt is empty (leave it out for an empty terminal)"
		}
		if len(value) > maxLine {
			return fmt.Sprintf("prompt is %d bytes long; an SMTP line holds at most %d", len(value), maxLine)
		}
		if strings.ContainsFunc(value, unicode.IsControl) {
			return "prompt holds a control character; the terminal takes one line of text"
		}
	default:
		return fmt.Sprintf("unknown option %q (a lab block takes scenario, seed, %s)", key, strings.Join(labOptionNames(), ", "))
	}
	return ""
}

// splitPanels splits a panels value at its commas, dropping blanks.
func splitPanels(value string) []string {
	var list []string
	for p := range strings.SplitSeq(value, ",") {
		if p = strings.TrimSpace(p); p != "" {
			list = append(list, p)
		}
	}
	return list
}

// Lab is one smtp-lab block of a lesson.
type Lab struct {
	Scenario string            `json:"scenario"`
	Seed     int64             `json:"seed,omitempty"`
	Options  map[string]string `json:"options,omitempty"` // everything but scenario and seed
}

// maxSeed bounds a lab's seed: the page holds it as a JavaScript number,
// which is a whole number only up to 2^53 - 1.
const maxSeed = 1<<53 - 1

// labBlockInfo is the info string that marks a lab block.
const labBlockInfo = "smtp-lab"

// maxOptionKey bounds option names; they become attribute names.
const maxOptionKey = 32

// kindLab is the AST node kind of a lab block. Goldmark registers kinds
// globally, so it is made once, when the package starts.
var kindLab = ast.NewNodeKind("SMTPLab")

// labNode is a lab block in the AST, in place of the fenced code block it
// was written as.
type labNode struct {
	ast.BaseBlock
	lab      Lab
	at       labLines
	problems []labOption // what was wrong with its lines; Parse reports them
}

// labLines says where a lab block is in its file: the line of its opening
// fence, and of each option.
type labLines struct {
	fence   int
	options map[string]int
}

// labOption is a problem with one line of a lab block: its line in the
// file, and what is wrong.
type labOption struct {
	line int
	msg  string
}

func (n *labNode) Kind() ast.NodeKind { return kindLab }

func (n *labNode) Dump(source []byte, level int) {
	ast.DumpHelper(n, source, level, map[string]string{"Scenario": n.lab.Scenario}, nil)
}

// labExtension adds lab blocks to a goldmark converter.
type labExtension struct{}

func (labExtension) Extend(md goldmark.Markdown) {
	md.Parser().AddOptions(parser.WithASTTransformers(util.Prioritized(labTransformer{}, 100)))
	md.Renderer().AddOptions(renderer.WithNodeRenderers(util.Prioritized(labRenderer{}, 100)))
}

// labTransformer replaces each smtp-lab fenced block with a labNode.
type labTransformer struct{}

func (labTransformer) Transform(doc *ast.Document, reader text.Reader, pc parser.Context) {
	src := reader.Source()
	var blocks []*ast.FencedCodeBlock
	ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if fb, ok := n.(*ast.FencedCodeBlock); ok && entering && string(fb.Language(src)) == labBlockInfo {
			blocks = append(blocks, fb)
		}
		return ast.WalkContinue, nil
	})
	for _, fb := range blocks {
		var lines []string
		var at []int
		for i := 0; i < fb.Lines().Len(); i++ {
			seg := fb.Lines().At(i)
			lines = append(lines, string(seg.Value(src)))
			at = append(at, lineOf(src, seg.Start))
		}
		node := &labNode{}
		node.lab, node.at.options, node.problems = parseLabOptions(lines, at)
		node.at.fence = lineOf(src, fb.Info.Segment.Start)
		if !closedFence(src, fb) {
			// The rest of the lesson became the block's lines: what
			// they say as options means nothing.
			node.lab = Lab{Scenario: node.lab.Scenario}
			node.problems = []labOption{{node.at.fence, "no line of ``` closes this block, so the rest of the lesson is read as its options; end it with a line of ```"}}
		}
		fb.Parent().ReplaceChild(fb.Parent(), fb, node)
	}
}

// closedFence reports whether a fenced block ends with a closing fence.
// Without one goldmark ends it where the document (or the list or quote
// it is in) ends.
func closedFence(src []byte, fb *ast.FencedCodeBlock) bool {
	end := fb.Info.Segment.Stop
	if n := fb.Lines().Len(); n > 0 {
		end = fb.Lines().At(n - 1).Stop
	}
	// The line after the block's last line.
	if end > 0 && end <= len(src) && src[end-1] != '\n' {
		nl := bytes.IndexByte(src[end:], '\n')
		if nl < 0 {
			return false
		}
		end += nl + 1
	}
	next, _, _ := bytes.Cut(src[min(end, len(src)):], []byte("\n"))
	next = bytes.TrimLeft(next, " \t>")
	return bytes.HasPrefix(next, []byte("```")) || bytes.HasPrefix(next, []byte("~~~"))
}

// lineOf returns the line of src, from 1, that holds the byte at offset.
func lineOf(src []byte, offset int) int {
	return bytes.Count(src[:min(offset, len(src))], []byte("\n")) + 1
}

// parseLabOptions reads the lines of a lab block; at holds their lines in
// the file. It returns the lab, the line of each option, and what is wrong
// with the lines.
func parseLabOptions(lines []string, at []int) (Lab, map[string]int, []labOption) {
	var lab Lab
	var problems []labOption
	seen := map[string]int{}
	for i, line := range lines {
		fail := func(format string, args ...any) {
			problems = append(problems, labOption{at[i], fmt.Sprintf(format, args...)})
		}
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, value, ok := strings.Cut(line, ":")
		key, value = strings.TrimSpace(key), unquote(strings.TrimSpace(value))
		switch {
		case !ok:
			fail("%q is not a key: value option", line)
			continue
		case !validOptionKey(key):
			fail("%q is not an option name (lower-case letters, digits and '-', starting with a letter, at most %d)", key, maxOptionKey)
			continue
		case seen[key] > 0:
			fail("%s is given twice (first on line %d)", key, seen[key])
			continue
		}
		seen[key] = at[i]
		switch key {
		case "scenario":
			lab.Scenario = value
		case "seed":
			seed, err := strconv.ParseInt(value, 10, 64)
			if err != nil || seed < -maxSeed || seed > maxSeed {
				fail("seed %q is not a whole number from %d to %d", value, -maxSeed, maxSeed)
			}
			lab.Seed = seed
		default:
			if lab.Options == nil {
				lab.Options = map[string]string{}
			}
			lab.Options[key] = value
		}
	}
	return lab, seen, problems
}

// unquote removes the quotes around a value written as a Go or YAML
// double-quoted string; anything else is taken as written.
func unquote(s string) string {
	if u, err := strconv.Unquote(s); err == nil && strings.HasPrefix(s, `"`) {
		return u
	}
	return s
}

func validOptionKey(k string) bool {
	if k == "" || len(k) > maxOptionKey || k[0] < 'a' || k[0] > 'z' {
		return false
	}
	for _, c := range k {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// prepareLabs gives scenario-less lab blocks the lesson's scenario and
// returns the labs in document order, where each is, and the problems
// found in their lines.
func prepareLabs(doc ast.Node, scenario string) ([]Lab, []labLines, []Problem) {
	var labs []Lab
	var lines []labLines
	var ps []Problem
	ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		node, ok := n.(*labNode)
		if !ok || !entering {
			return ast.WalkContinue, nil
		}
		if node.lab.Scenario == "" {
			node.lab.Scenario = scenario
		}
		for _, p := range node.problems {
			ps = append(ps, Problem{Line: p.line, Where: labWhere(len(labs)), Msg: p.msg})
		}
		labs = append(labs, node.lab)
		lines = append(lines, node.at)
		return ast.WalkContinue, nil
	})
	return labs, lines, ps
}

// labWhere names the i-th smtp-lab block (from 0) in a Problem.
func labWhere(i int) string { return fmt.Sprintf("smtp-lab block %d", i+1) }

// labRenderer writes a labNode as an <smtp-lab> element. It writes every
// byte itself, so it escapes every value itself.
type labRenderer struct{}

func (labRenderer) RegisterFuncs(reg renderer.NodeRendererFuncRegisterer) {
	reg.Register(kindLab, renderLab)
}

func renderLab(w util.BufWriter, _ []byte, n ast.Node, entering bool) (ast.WalkStatus, error) {
	if !entering {
		return ast.WalkContinue, nil
	}
	node := n.(*labNode)
	lab := node.lab
	esc := stdhtml.EscapeString
	_, _ = w.WriteString(`<smtp-lab scenario="` + esc(lab.Scenario) + `"`)
	// A seed written in the block, 0 included, is the lab's; without one
	// the page takes its default, 1.
	if _, written := node.at.options["seed"]; written || lab.Seed != 0 {
		_, _ = w.WriteString(` seed="` + strconv.FormatInt(lab.Seed, 10) + `"`)
	}
	keys := make([]string, 0, len(lab.Options))
	for k := range lab.Options {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		// k is checked by validOptionKey, but escaping costs nothing.
		_, _ = w.WriteString(` data-` + esc(k) + `="` + esc(lab.Options[k]) + `"`)
	}
	_, _ = w.WriteString(`><p class="smtplab-fallback">A live lab runs here (scenario <code>` + esc(lab.Scenario) +
		`</code>). It needs JavaScript and WebAssembly.</p></smtp-lab>` + "\n")
	return ast.WalkSkipChildren, nil
}
