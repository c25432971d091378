package lessons

import (
	"bytes"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"smtplab/lessons/goal"
)

// source is where a lesson was read from: its file and the line of each of
// its parts, so that a problem can say where to look. Lines count from 1,
// the front matter's opening --- being line 1 (or 2, after a blank line).
// A Lesson built in Go has none, and its problems name no line.
type source struct {
	file      string
	top       int             // the line of the opening ---
	fields    map[string]int  // the line of each front-matter key
	goals     []int           // the line of each goal of Lesson.Goals
	lostGoals int             // how many goals could not be read, and are not in Lesson.Goals
	hints     []int           // the line of each hint
	solution  []int           // the line of each step
	labs      []labLines      // where each smtp-lab block is
	body      []bodyProblem   // what the page cannot show of the body (see lintBody)
	broken    map[string]bool // parts that could not be read, by Problem.Where: their problem is told already
}

// path returns the lesson's file, or "" for a lesson built in Go.
func (s *source) path() string {
	if s == nil {
		return ""
	}
	return s.file
}

// field returns the line of a front-matter key, or of the opening --- when
// the key is missing.
func (s *source) field(key string) int {
	if s == nil {
		return 0
	}
	if line, ok := s.fields[key]; ok {
		return line
	}
	return s.top
}

// goal, hint and step return the line of the i-th goal, hint or step,
// from 0, or of its list's key when there is no such item (a test
// appended it in Go).
func (s *source) goal(i int) int { return s.item(i, "goals") }
func (s *source) hint(i int) int { return s.item(i, "hints") }
func (s *source) step(i int) int { return s.item(i, "solution") }

func (s *source) item(i int, key string) int {
	if s == nil {
		return 0
	}
	lines := map[string][]int{"goals": s.goals, "hints": s.hints, "solution": s.solution}[key]
	if i >= 0 && i < len(lines) {
		return lines[i]
	}
	return s.field(key)
}

// lab returns the line of an option of the i-th smtp-lab block, or of the
// block's opening fence when the block does not write it.
func (s *source) lab(i int, option string) int {
	if s == nil || i < 0 || i >= len(s.labs) {
		return s.field("")
	}
	if line, ok := s.labs[i].options[option]; ok {
		return line
	}
	return s.labs[i].fence
}

// isBroken reports whether the part a Problem would name with where could
// not be read, and so was reported already.
func (s *source) isBroken(where string) bool { return s != nil && s.broken[where] }

// brokenStep reports whether a step of the solution, or the solution
// itself, could not be read.
func (s *source) brokenStep() bool {
	if s == nil {
		return false
	}
	for where := range s.broken {
		if strings.HasPrefix(where, "solution") {
			return true
		}
	}
	return false
}

// lostGoal reports whether a goal could not be read: the lesson's goals
// are not all there.
func (s *source) lostGoal() bool { return s != nil && s.lostGoals > 0 }

// frontMatterStart returns the number of lines in src before raw, the
// front matter goldmark found after its opening ---: raw starts on the
// line after the first line of dashes it follows. It also returns whether
// a closing line follows raw: without one, goldmark takes the whole file
// for front matter.
func frontMatterStart(src, raw []byte) (top int, closed bool) {
	for off := 0; off < len(src); {
		nl := bytes.IndexByte(src[off:], '\n')
		if nl < 0 {
			break
		}
		line := bytes.TrimSuffix(src[off:off+nl], []byte("\r"))
		off += nl + 1
		if len(line) >= 3 && len(bytes.Trim(line, "-")) == 0 && bytes.HasPrefix(src[off:], raw) {
			return bytes.Count(src[:off], []byte("\n")), len(bytes.TrimSpace(src[off+len(raw):])) > 0
		}
	}
	return 1, true
}

// maxFrontMatterNodes bounds the YAML nodes the reader visits, so aliases
// that refer to each other cannot make it expand the front matter without
// end.
const maxFrontMatterNodes = 100_000

// frontMatterReader reads a lesson's front matter part by part, so that
// one mistake does not hide the others: each problem is told with its
// line, and the rest is read all the same.
type frontMatterReader struct {
	src    *source
	offset int // a line of the YAML is this line of the file, less offset
	last   int // the last line of the file: yaml.v3 may place a problem at the end of the YAML past it
	ps     []Problem
	nodes  int // nodes visited, against maxFrontMatterNodes
}

func (r *frontMatterReader) add(yamlLine int, where, msg string) {
	line := r.src.top
	if yamlLine > 0 {
		line = min(yamlLine+r.offset, r.last)
	}
	r.ps = append(r.ps, Problem{File: r.src.file, Line: line, Where: where, Msg: msg})
}

// yamlError matches the errors yaml.v3 gives for YAML it cannot read.
var yamlError = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlParserErrors lists the problems yaml.v3's parser (not its scanner)
// reports. For these it gives the line counted from 0, the line before
// the one it means; for the scanner's it counts from 1.
func yamlParserErrors() []string {
	return []string{"did not find expected <stream-start>", "did not find expected <document start>",
		"found undefined tag handle", "did not find expected node content", "did not find expected '-' indicator",
		"did not find expected key", "did not find expected ',' or ']'", "did not find expected ',' or '}'",
		"found duplicate %YAML directive", "found incompatible YAML document", "found duplicate %TAG directive"}
}

// firstFailingLine returns the line of the YAML in raw where it stops
// being YAML, for an error yaml.v3's parser placed at line. The parser
// names the line where the list or mapping it was reading began (the
// "goals:" of a goal indented one space too few), not the line that
// broke it: that is the first line whose YAML up to it fails with the
// same error. Once the YAML up to a line fails, the YAML up to any later
// line fails the same way, so a binary search finds it in a few parses.
func firstFailingLine(raw []byte, failure string, line int) int {
	lines := bytes.SplitAfter(raw, []byte("\n"))
	if line < 1 || line > len(lines) {
		return line
	}
	n := len(lines) - line + 1
	i := sort.Search(n, func(i int) bool {
		var doc yaml.Node
		err := yaml.Unmarshal(bytes.Join(lines[:line+i], nil), &doc)
		return err != nil && err.Error() == failure
	})
	if i == n {
		return line
	}
	return line + i
}

// yamlAdvice says what to do about the commonest ways YAML goes wrong
// (indentation, a tab, a ": " inside text), after yaml.v3's own words for
// what it found at line of raw; "" when it has nothing to add.
func yamlAdvice(msg string, raw []byte, line int) string {
	var text []byte
	if lines := bytes.Split(raw, []byte("\n")); line >= 1 && line <= len(lines) {
		text = lines[line-1]
	}
	switch {
	case bytes.ContainsRune(text, '\t'):
		return "; this line holds a tab: YAML indents with spaces only"
	case msg == "did not find expected key" || msg == "did not find expected '-' indicator":
		return "; this line is not indented like the lines above it (an item of a list starts with \"- \" under the one before)"
	case msg == "mapping values are not allowed in this context":
		return "; a \": \" inside text starts a mapping, so put the text in quotes (or the line is indented more than the one above)"
	case msg == "found unexpected end of stream":
		return "; a quote (or bracket) opened on this line is not closed"
	case msg == "did not find expected ',' or ']'" || msg == "did not find expected ',' or '}'":
		return "; a [ or { opened on this line is not closed where it should be"
	}
	return ""
}

// read reads the front matter in raw into fm. It returns false when there
// is no lesson to lint at all: the YAML is not a mapping, or not YAML.
func (r *frontMatterReader) read(raw []byte, fm *frontMatter) bool {
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		line := 0
		if m := yamlError.FindStringSubmatch(err.Error()); m != nil {
			line, _ = strconv.Atoi(m[1])
			msg = m[2]
			if slices.Contains(yamlParserErrors(), msg) {
				line = firstFailingLine(raw, err.Error(), line+1)
			}
		}
		r.add(line, "front matter", "not YAML: "+msg+yamlAdvice(msg, raw, line))
		return false
	}
	if len(doc.Content) == 0 {
		r.add(0, "front matter", "it is empty; write the lesson's title, order, scenario, summary, goals, hints and solution")
		return false
	}
	top := resolve(doc.Content[0])
	keys := yamlKeys(reflect.TypeFor[frontMatter]())
	if top.Kind != yaml.MappingNode {
		r.add(top.Line, "front matter", fmt.Sprintf("must be a mapping of fields (%s), not %s", strings.Join(keys, ", "), describeNode(top)))
		return false
	}
	v := reflect.ValueOf(fm).Elem()
	for i := 0; i+1 < len(top.Content); i += 2 {
		k, val := top.Content[i], top.Content[i+1]
		key := k.Value
		if line, dup := r.src.fields[key]; dup {
			r.add(k.Line, key, fmt.Sprintf("given twice (first on line %d)", line))
			continue
		}
		index := slices.Index(keys, key)
		if k.Kind != yaml.ScalarNode || index < 0 {
			r.add(k.Line, "front matter", fmt.Sprintf("unknown field %q; the front matter has: %s", key, strings.Join(keys, ", ")))
			continue
		}
		r.src.fields[key] = k.Line + r.offset
		switch key {
		case "goals":
			r.goals(val, fm)
		case "hints":
			r.list(val, key, "hints", hintWhere, &r.src.hints, decodeAppend(r, &fm.Hints))
		case "solution":
			r.list(val, key, "steps", stepWhere, &r.src.solution, decodeAppend(r, &fm.Solution))
		default:
			r.tell(key, r.decode(val, v.Field(fieldIndex(v.Type(), key)), ""))
		}
	}
	return true
}

// tell reports what decode found wrong with the part named where, and
// marks the part broken so that the linter does not report it again.
func (r *frontMatterReader) tell(where string, msgs []nodeMsg) {
	for _, m := range msgs {
		r.add(m.line, where, m.msg)
	}
	if len(msgs) > 0 {
		r.src.broken[where] = true
	}
}

// decodeAppend returns the item function of r.list for a list of T:
// each item is decoded into a new T appended to *list, what it could read
// of it even when it tells a problem.
func decodeAppend[T any](r *frontMatterReader, list *[]T) func(*yaml.Node) []nodeMsg {
	return func(item *yaml.Node) []nodeMsg {
		var x T
		msgs := r.decode(item, reflect.ValueOf(&x).Elem(), "")
		*list = append(*list, x)
		return msgs
	}
}

// list reads a list of the front matter, one item at a time: an item that
// cannot be read is reported as where(i) and kept (as far as it was read)
// so that the others keep their places.
func (r *frontMatterReader) list(n *yaml.Node, key, what string, where func(int) string, lines *[]int, item func(*yaml.Node) []nodeMsg) {
	n = resolve(n)
	if isNull(n) {
		return
	}
	if n.Kind != yaml.SequenceNode {
		r.tell(key, []nodeMsg{{n.Line, fmt.Sprintf("must be a list of %s, each on a line of its own starting with \"- \", not %s", what, describeNode(n))}})
		return
	}
	for i, it := range n.Content {
		*lines = append(*lines, resolve(it).Line+r.offset)
		r.tell(where(i), item(it))
	}
}

// goals reads the goals with the goal language's own decoder. A goal it
// cannot read is left out: the goal's problems name it by id.
func (r *frontMatterReader) goals(n *yaml.Node, fm *frontMatter) {
	n = resolve(n)
	if isNull(n) {
		return
	}
	if n.Kind != yaml.SequenceNode {
		r.tell("goals", []nodeMsg{{n.Line, "must be a list of goals, each starting with \"- \", not " + describeNode(n)}})
		return
	}
	for _, item := range n.Content {
		item = resolve(item)
		var g goal.Goal
		if err := item.Decode(&g); err != nil {
			for _, e := range unjoin(err) {
				r.add(item.Line, "goals", e.Error())
			}
			r.src.lostGoals++
			continue
		}
		fm.Goals = append(fm.Goals, g)
		r.src.goals = append(r.src.goals, item.Line+r.offset)
	}
}

// unjoin returns the errors errors.Join joined, or err alone.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// nodeMsg is a problem decode found: its line in the YAML, and what it is.
type nodeMsg struct {
	line int
	msg  string
}

// decode reads n into v, a struct, pointer, list or scalar of the front
// matter's types, and returns every problem it finds, each with its path
// inside n ("submit.to", "attachments[2].content"). Unlike yaml.v3's own
// decoding it goes on after a problem, and says what the keys of a
// mapping are in words instead of Go types.
func (r *frontMatterReader) decode(n *yaml.Node, v reflect.Value, path string) []nodeMsg {
	if r.nodes++; r.nodes > maxFrontMatterNodes {
		if r.nodes == maxFrontMatterNodes+1 {
			return []nodeMsg{{n.Line, fmt.Sprintf("the front matter holds more than %d values once its aliases are expanded", maxFrontMatterNodes)}}
		}
		return nil
	}
	n = resolve(n)
	fail := func(msg string) []nodeMsg { return []nodeMsg{{n.Line, at(path, msg)}} }
	if isNull(n) {
		return nil // nothing written: the zero value, as yaml.v3 does
	}
	t := v.Type()
	switch {
	case t == reflect.TypeFor[FileContent]():
		if n.Kind != yaml.ScalarNode {
			return fail("must be the file's text (content: |) or its bytes in base64 after !!binary, not " + describeNode(n))
		}
		if err := n.Decode(v.Addr().Interface()); err != nil {
			return fail(strings.TrimPrefix(err.Error(), "yaml: "))
		}
	case t.Kind() == reflect.Pointer:
		p := reflect.New(t.Elem())
		v.Set(p)
		return r.decode(n, p.Elem(), path)
	case t.Kind() == reflect.Struct:
		keys := yamlKeys(t)
		if n.Kind != yaml.MappingNode {
			return fail(fmt.Sprintf("must be a mapping of %s, not %s", strings.Join(keys, ", "), describeNode(n)))
		}
		var msgs []nodeMsg
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			switch {
			case k.Kind != yaml.ScalarNode || !slices.Contains(keys, k.Value):
				msgs = append(msgs, nodeMsg{k.Line, at(path, unknownKey(t, k.Value, keys))})
			case seen[k.Value]:
				msgs = append(msgs, nodeMsg{k.Line, at(path, k.Value+" is given twice")})
			default:
				seen[k.Value] = true
				msgs = append(msgs, r.decode(val, v.Field(fieldIndex(t, k.Value)), join(path, k.Value))...)
			}
		}
		return msgs
	case t.Kind() == reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return fail("must be a list ([a, b], or one item a line after \"- \"), not " + describeNode(n))
		}
		list := reflect.MakeSlice(t, len(n.Content), len(n.Content))
		var msgs []nodeMsg
		for i, item := range n.Content {
			msgs = append(msgs, r.decode(item, list.Index(i), fmt.Sprintf("%s[%d]", path, i+1))...)
		}
		v.Set(list)
		return msgs
	default:
		want := "text"
		if t.Kind() != reflect.String {
			want = "a whole number"
		}
		if n.Kind != yaml.ScalarNode {
			msg := "must be " + want + ", not " + describeNode(n)
			if n.Kind == yaml.MappingNode && t.Kind() == reflect.String {
				msg += `; a ": " inside text starts a mapping, so put the text in quotes`
			}
			return fail(msg)
		}
		if err := n.Decode(v.Addr().Interface()); err != nil {
			return fail("must be " + want + ", not " + strconv.Quote(n.Value))
		}
	}
	return nil
}

// unknownKey says that key is none of the keys of t, and which they are.
func unknownKey(t reflect.Type, key string, keys []string) string {
	list := strings.Join(keys, ", ")
	switch t {
	case reflect.TypeFor[Step]():
		return fmt.Sprintf("unknown step %q; a step is one of: %s", key, list)
	case reflect.TypeFor[Message]():
		return fmt.Sprintf("unknown field %q; a submit has: %s", key, list)
	case reflect.TypeFor[Attachment]():
		return fmt.Sprintf("unknown field %q; an attachment has: %s", key, list)
	}
	return fmt.Sprintf("unknown field %q; the fields are: %s", key, list)
}

// yamlKeys lists the keys of a struct in YAML, from its fields' tags, in
// their order.
func yamlKeys(t reflect.Type) []string {
	var keys []string
	for i := range t.NumField() {
		if name := yamlName(t.Field(i)); name != "" {
			keys = append(keys, name)
		}
	}
	return keys
}

// fieldIndex returns the index of the field of t whose YAML key is key.
func fieldIndex(t reflect.Type, key string) int {
	for i := range t.NumField() {
		if yamlName(t.Field(i)) == key {
			return i
		}
	}
	panic("lessons: no field " + key + " in " + t.String())
}

// yamlName is the key of a struct field in YAML, as yaml.v3 reads it; ""
// for a field YAML leaves alone.
func yamlName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	switch name {
	case "-":
		return ""
	case "":
		return strings.ToLower(f.Name)
	}
	return name
}

// resolve follows an alias (*name) to the node it names.
func resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }

// describeNode names a node's shape for messages.
func describeNode(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return strconv.Quote(n.Value)
	}
	return "nothing"
}

// at puts a path before a message.
func at(path, msg string) string {
	if path == "" {
		return msg
	}
	return path + ": " + msg
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// errProblems is the error Parse returns: every problem of the file.
type errProblems []Problem

func (e errProblems) Error() string {
	lines := make([]string, len(e))
	for i, p := range e {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}
