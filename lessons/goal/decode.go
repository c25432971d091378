package goal

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"smtplab/engine/trace"
	"smtplab/internal/minijson"
)

// The language is defined once, as a tree of maps, lists and scalars: the
// shape both YAML and JSON decode to. Decoding reads such a tree into a
// Goal; encoding writes a Goal back into one. Validate uses the same round
// trip, so goals built in Go obey exactly the rules written ones do.

// maxDepth bounds how deeply conditions nest, so a hostile or mistaken
// input cannot make decoding or checking recurse without end.
const maxDepth = 16

// matcher is one key of the language that matches a single event.
type matcher struct {
	key    string
	kind   trace.Kind // the kind it matches; "" for "event", where kind is a field
	fields []string   // the fields it accepts, in the order messages list them
}

// matchers lists the event matchers. The shorthands come first: encoding
// picks the first one that can say what a Match says.
func matchers() []matcher {
	return []matcher{
		{"reply", trace.Reply, []string{"verb", "code", "enhanced", "reason", "tls", "terminal", "host", "peer"}},
		{"command", trace.Command, []string{"verb", "text", "starts", "tls", "terminal", "host", "peer"}},
		{"dns", trace.DNSQuery, []string{"name", "rtype", "host"}},
		{"tls", trace.TLSStep, []string{"step", "attrs", "terminal", "host", "peer"}},
		{"queued", trace.QueueAdd, []string{"rcpt", "host"}},
		{"delivered", trace.Delivery, []string{"rcpt", "host"}},
		{"bounce", trace.Bounce, []string{"rcpt", "host"}},
		{"event", "", []string{"kind", "host", "peer", "port", "dir", "tls", "terminal", "verb", "code",
			"enhanced", "reason", "name", "rtype", "step", "msg", "rcpt", "error", "text", "starts", "attrs"}},
	}
}

// lookupMatcher returns the matcher written with key.
func lookupMatcher(key string) (matcher, bool) {
	for _, m := range matchers() {
		if m.key == key {
			return m, true
		}
	}
	return matcher{}, false
}

// combinators lists the condition keys that are not event matchers.
func combinators() []string {
	return []string{"answered", "before", "session", "count", "all", "any", "not"}
}

// matcherKeys lists the keys of the event matchers, for messages.
func matcherKeys() []string {
	var keys []string
	for _, m := range matchers() {
		keys = append(keys, m.key)
	}
	return keys
}

// conditionKeys lists every key that may start a condition, for messages.
func conditionKeys() string {
	return strings.Join(append(matcherKeys(), combinators()...), ", ")
}

// knownKinds are the event kinds an event matcher may name.
func knownKinds() []trace.Kind {
	return []trace.Kind{trace.ConnOpen, trace.ConnClose, trace.ConnRefused, trace.Bytes,
		trace.Command, trace.Reply, trace.DNSQuery, trace.DNSAnswer, trace.TLSStep,
		trace.QueueAdd, trace.QueueRetry, trace.QueueGiveUp, trace.QueueDone, trace.Bounce,
		trace.Delivery, trace.Fault, trace.Clock, trace.Note}
}

// Error is a problem with one goal, in words a course author can act on.
// Lists inside a goal count from 1, as the author does: before[1] is the
// first step.
type Error struct {
	Goal  string // the goal's id, or where it is ("goal #3") when it has none
	Index int    // the goal's place in the list Validate was given, from 0; -1 when decoding one goal
	Path  string // where inside the goal: "before[1].reply.code"; empty for the goal itself
	Msg   string
}

func (e *Error) Error() string {
	if e.Path == "" {
		return fmt.Sprintf("%s: %s", e.Goal, e.Msg)
	}
	return fmt.Sprintf("%s: %s: %s", e.Goal, e.Path, e.Msg)
}

// goalName is how messages name a goal: by its id when it has one.
func goalName(id string, index int) string {
	switch {
	case id != "":
		return strconv.Quote(id)
	case index >= 0:
		return fmt.Sprintf("goal #%d", index+1)
	}
	return "a goal with no id"
}

// UnmarshalJSON reads a goal written in the language as JSON.
func (g *Goal) UnmarshalJSON(b []byte) error {
	dec := minijson.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return fmt.Errorf("goal: %w", err)
	}
	goal, err := decodeGoal(tree, -1)
	if err != nil {
		return err
	}
	*g = goal
	return nil
}

// UnmarshalYAML reads a goal written in the language as YAML. It has the
// signature gopkg.in/yaml.v3 still accepts from v2, so this package need
// not import a YAML library that the browser would then have to download.
func (g *Goal) UnmarshalYAML(unmarshal func(any) error) error {
	var tree any
	if err := unmarshal(&tree); err != nil {
		return fmt.Errorf("goal: %w", err)
	}
	goal, err := decodeGoal(tree, -1)
	if err != nil {
		return err
	}
	*g = goal
	return nil
}

// MarshalJSON writes the goal in the language, so it can be sent to the
// web page and decoded back to the same Goal.
func (g Goal) MarshalJSON() ([]byte, error) {
	return minijson.Marshal(g.tree())
}

// Validate reports every problem with a lesson's goals: a missing id or
// text, an id used twice, and any condition the language does not allow
// (an empty goal, unknown fields, bad code patterns...). It returns nil
// when the goals are fine.
func Validate(goals []Goal) []error {
	var errs []error
	seen := map[string]int{}
	for i, g := range goals {
		name := goalName(g.ID, i)
		switch {
		case g.ID == "":
			errs = append(errs, &Error{Goal: name, Index: i, Msg: "has no id; give it a short one like \"greeted\""})
		case !isSimpleID(g.ID):
			errs = append(errs, &Error{Goal: name, Index: i, Msg: "id may use only letters, digits, '-', '_' and '.'"})
		default:
			if j, dup := seen[g.ID]; dup {
				errs = append(errs, &Error{Goal: name, Index: i, Msg: fmt.Sprintf("id is also used by goal #%d; ids must be unique", j+1)})
			} else {
				seen[g.ID] = i
			}
		}
		if strings.TrimSpace(g.Text) == "" {
			errs = append(errs, &Error{Goal: name, Index: i, Msg: "has no text telling the learner what to do"})
		}
		d := decoder{goal: name, index: i}
		d.cond("", g.Cond.tree(), 0)
		errs = append(errs, d.errs...)
	}
	return errs
}

func isSimpleID(id string) bool {
	for _, r := range id {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.'
		if !ok {
			return false
		}
	}
	return len(id) <= 64
}

// decodeGoal reads one goal from a tree. index is the goal's place in its
// list when known (for messages), or -1.
func decodeGoal(tree any, index int) (Goal, error) {
	m, ok := asMap(tree)
	if !ok {
		return Goal{}, &Error{Goal: goalName("", index), Index: index, Msg: "a goal must be a mapping with id, text and one condition, not " + describe(tree)}
	}
	var g Goal
	d := decoder{goal: goalName("", index), index: index}
	rest := make(map[string]any, len(m))
	for k, v := range m {
		switch {
		case contains(goalKeys(), k):
			s, ok := v.(string)
			switch {
			case !ok:
				d.fail(k, "must be text, not "+describe(v))
			case k == "id":
				g.ID = s
				d.goal = goalName(s, index)
			case k == "text":
				g.Text = s
			default:
				g.Scenario = s
			}
		default:
			rest[k] = v
		}
	}
	g.Cond = d.cond("", rest, 0)
	return g, errors.Join(d.errs...)
}

// decoder collects every problem it finds rather than stopping at the
// first, so an author fixes a goal in one go.
type decoder struct {
	goal  string
	index int // the goal's place in its list, or -1
	errs  []error
}

func (d *decoder) fail(path, msg string) {
	d.errs = append(d.errs, &Error{Goal: d.goal, Index: d.index, Path: path, Msg: msg})
}

// cond reads a mapping holding exactly one condition.
func (d *decoder) cond(path string, m map[string]any, depth int) Cond {
	if depth > maxDepth {
		d.fail(path, fmt.Sprintf("conditions nest more than %d deep", maxDepth))
		return Cond{}
	}
	keys := sortedKeys(m)
	var known []string
	for _, k := range keys {
		if _, ok := lookupMatcher(k); ok || isCombinator(k) {
			known = append(known, k)
		} else {
			d.fail(path, unknownConditionKey(path, k))
		}
	}
	switch {
	case len(keys) == 0:
		d.fail(path, "empty goal: give one condition ("+conditionKeys()+")")
		return Cond{}
	case len(known) > 1:
		d.fail(path, fmt.Sprintf("has %d conditions (%s) where one is allowed; combine them with all: [...]", len(known), strings.Join(known, ", ")))
		return Cond{}
	case len(known) == 0:
		return Cond{}
	}
	key := known[0]
	v := m[key]
	at := join(path, key)
	if mt, ok := lookupMatcher(key); ok {
		match := d.match(at, mt, v)
		return Cond{Event: &match}
	}
	switch key {
	case "answered":
		return Cond{Answered: d.answered(at, v)}
	case "before", "session":
		list, ok := d.list(at, v, 2, "steps in the order they must happen")
		var steps []Step
		happens := false
		for i, item := range list {
			step := d.step(fmt.Sprintf("%s[%d]", at, i+1), item)
			happens = happens || step.None == nil
			steps = append(steps, step)
		}
		if ok && !happens {
			d.fail(at, "has only none steps, which say what must not happen; give a step that does")
		}
		if !ok {
			return Cond{}
		}
		if key == "session" {
			return Cond{Session: steps}
		}
		return Cond{Before: steps}
	case "count":
		return Cond{Count: d.count(at, v)}
	case "all", "any":
		list, ok := d.list(at, v, 1, "conditions")
		var subs []Cond
		for i, item := range list {
			subs = append(subs, d.sub(fmt.Sprintf("%s[%d]", at, i+1), item, depth+1))
		}
		if !ok {
			return Cond{}
		}
		if key == "all" {
			return Cond{All: subs}
		}
		return Cond{Any: subs}
	default: // "not"
		sub := d.sub(at, v, depth+1)
		return Cond{Not: &sub}
	}
}

// unknownConditionKey says that k is no key of a condition at path, and
// which keys there are: at the top of a goal (path "") these are also the
// goal's own.
func unknownConditionKey(path, k string) string {
	if path == "" {
		return fmt.Sprintf("unknown field %q (a goal has %s, and one condition: %s)", k, strings.Join(goalKeys(), ", "), conditionKeys())
	}
	return fmt.Sprintf("unknown field %q (a condition is one of %s)", k, conditionKeys())
}

// goalKeys lists the keys of a goal besides its condition, as decodeGoal
// reads them.
func goalKeys() []string { return []string{"id", "text", "scenario"} }

func isCombinator(k string) bool { return contains(combinators(), k) }

// sub reads a nested condition.
func (d *decoder) sub(path string, v any, depth int) Cond {
	m, ok := asMap(v)
	if !ok {
		d.fail(path, "must be a condition like {reply: {code: 250}}, not "+describe(v))
		return Cond{}
	}
	return d.cond(path, m, depth)
}

// list reads a list of at least min items.
func (d *decoder) list(path string, v any, min int, what string) ([]any, bool) {
	list, ok := v.([]any)
	if !ok {
		d.fail(path, fmt.Sprintf("must be a list of %s, not %s", what, describe(v)))
		return nil, false
	}
	if len(list) < min {
		d.fail(path, fmt.Sprintf("needs at least %d %s", min, what))
		return list, false
	}
	return list, true
}

// step reads one step of before or session: a mapping holding one event
// matcher, answered or none.
func (d *decoder) step(path string, v any) Step {
	k, body, ok := d.onlyKey(path, v, "one step like {reply: {code: 250}}, {answered: {command: {verb: RCPT}, reply: {code: 250}}} or {none: {command: {}}}")
	if !ok {
		return Step{}
	}
	at := join(path, k)
	switch k {
	case "answered":
		return Step{Answered: d.answered(at, body)}
	case "none":
		match := d.single(at, body)
		return Step{None: &match}
	}
	if mt, ok := lookupMatcher(k); ok {
		match := d.match(at, mt, body)
		return Step{Event: &match}
	}
	msg := fmt.Sprintf("%q is not a step; a step is an event matcher (%s), answered or none", k, strings.Join(matcherKeys(), ", "))
	if k == "not" {
		msg += "; to say that something does not happen between two steps, write none: {...} between them"
	}
	d.fail(path, msg)
	return Step{}
}

// single reads a mapping holding exactly one event matcher, as count: and
// none: do.
func (d *decoder) single(path string, v any) Match {
	k, body, ok := d.onlyKey(path, v, "one event matcher like {reply: {code: 250}}")
	if !ok {
		return Match{}
	}
	mt, ok := lookupMatcher(k)
	if !ok {
		d.fail(path, fmt.Sprintf("%q is not an event matcher; use one of %s", k, strings.Join(matcherKeys(), ", ")))
		return Match{}
	}
	return d.match(join(path, k), mt, body)
}

// onlyKey returns the key and value of a mapping with exactly one key. It
// reports anything else as not being what, as in "must be what".
func (d *decoder) onlyKey(path string, v any, what string) (key string, value any, ok bool) {
	m, isMap := asMap(v)
	if !isMap || len(m) != 1 {
		d.fail(path, "must be "+what)
		return "", nil, false
	}
	for k, val := range m {
		key, value = k, val
	}
	return key, value, true
}

// answered reads {command: {...}, reply: {...}}: the fields of a command
// matcher and of a reply matcher, both required.
func (d *decoder) answered(path string, v any) *Answered {
	a := &Answered{}
	m, ok := asMap(v)
	if !ok {
		d.fail(path, "must be a mapping like {command: {verb: RCPT}, reply: {code: 250}}, not "+describe(v))
		return a
	}
	for _, k := range sortedKeys(m) {
		if k != "command" && k != "reply" {
			d.fail(path, fmt.Sprintf("unknown field %q (answered knows command and reply)", k))
		}
	}
	for _, part := range [...]struct {
		key, example string
		into         *Match
	}{
		{"command", "command: {verb: RCPT, text: bob@example.org}", &a.Command},
		{"reply", "reply: {code: 250}", &a.Reply},
	} {
		body, ok := m[part.key]
		if !ok {
			d.fail(path, fmt.Sprintf("needs a %s, like %s", part.key, part.example))
			continue
		}
		mt, _ := lookupMatcher(part.key)
		*part.into = d.match(join(path, part.key), mt, body)
	}
	return a
}

// count reads {<matcher>: {...}, min: N, max: M}.
func (d *decoder) count(path string, v any) *Count {
	m, ok := asMap(v)
	if !ok {
		d.fail(path, "must be a mapping like {reply: {code: 4xx}, min: 2}, not "+describe(v))
		return &Count{}
	}
	c := &Count{Min: 1}
	rest := map[string]any{}
	for k, val := range m {
		switch k {
		case "min", "max":
			n, ok := asInt(val)
			if !ok || n < 0 {
				d.fail(join(path, k), "must be a whole number, 0 or more, not "+describe(val))
				continue
			}
			if k == "min" {
				c.Min = n
			} else {
				c.Max = n
			}
		default:
			rest[k] = val
		}
	}
	if c.Max != 0 && c.Max < c.Min {
		d.fail(path, fmt.Sprintf("max %d is less than min %d", c.Max, c.Min))
	}
	if c.Min == 0 && c.Max == 0 {
		d.fail(path, "min 0 and no max always holds; for \"never\" write not: {...}")
	}
	c.Of = d.single(path, rest)
	return c
}

// match reads the fields of one event matcher.
func (d *decoder) match(path string, mt matcher, v any) Match {
	out := Match{Kind: mt.kind}
	if v == nil { // "reply:" with nothing after it: any reply
		v = map[string]any{}
	}
	m, ok := asMap(v)
	if !ok {
		d.fail(path, "must be a mapping of event fields, not "+describe(v))
		return out
	}
	for _, k := range sortedKeys(m) {
		if !contains(mt.fields, k) {
			d.fail(path, fmt.Sprintf("unknown field %q (%s knows %s)", k, mt.key, strings.Join(mt.fields, ", ")))
			continue
		}
		if err := setField(&out, k, m[k]); err != nil {
			d.fail(join(path, k), err.Error())
		}
	}
	if mt.kind == "" && out.Kind == "" {
		d.fail(path, "needs a kind, like kind: dns.answer")
	}
	return out
}

// setField sets the field the language calls name.
func setField(m *Match, name string, v any) error {
	switch name {
	case "port":
		n, ok := asInt(v)
		if !ok || n < 1 || n > 65535 {
			return fmt.Errorf("must be a port number from 1 to 65535, not %s", describe(v))
		}
		m.Port = n
		return nil
	case "tls", "terminal":
		b, ok := v.(bool)
		if !ok {
			return fmt.Errorf("must be true or false, not %s", describe(v))
		}
		if name == "tls" {
			m.TLS = &b
		} else {
			m.Terminal = &b
		}
		return nil
	case "text":
		list, isList := v.([]any)
		if !isList {
			if v == "" {
				return errors.New("is empty; leave the field out to match anything")
			}
			list = []any{v}
		}
		if len(list) == 0 {
			return errors.New("is an empty list; leave the field out to match anything")
		}
		m.Text = make([]string, 0, len(list))
		for _, item := range list {
			t, ok := item.(string)
			if !ok || t == "" {
				return fmt.Errorf("must be text, or a list of texts, none empty, not %s", describe(item))
			}
			m.Text = append(m.Text, t)
		}
		return nil
	case "attrs":
		am, ok := asMap(v)
		if !ok {
			return fmt.Errorf("must be a mapping of attribute names to values, not %s", describe(v))
		}
		m.Attrs = make(map[string]string, len(am))
		for k, av := range am {
			s, ok := scalarText(av)
			if !ok {
				return fmt.Errorf("attribute %q must be a single value, not %s", k, describe(av))
			}
			m.Attrs[k] = s
		}
		return nil
	case "code":
		s, ok := scalarText(v)
		if !ok || !validCode(s) {
			return fmt.Errorf("%s is not a reply code pattern: three characters, a class 2 to 5 then digits or x, like 250 or 5xx", describe(v))
		}
		m.Code = s
		return nil
	}
	s, ok := v.(string)
	if !ok {
		return fmt.Errorf("must be text, not %s", describe(v))
	}
	if s == "" {
		return errors.New("is empty; leave the field out to match anything")
	}
	switch name {
	case "kind":
		if !contains(knownKinds(), trace.Kind(s)) {
			return fmt.Errorf("%q is not an event kind (kinds: %s)", s, kindList())
		}
		m.Kind = trace.Kind(s)
	case "enhanced":
		if !validEnhanced(s) {
			return fmt.Errorf("%q is not an enhanced status code pattern: class.subject.detail, numbers or x, like 5.1.1 or 4.x.x", s)
		}
		m.Enhanced = s
	case "reason":
		m.Reason = s
	case "host":
		m.Host = s
	case "peer":
		m.Peer = s
	case "dir":
		if s != trace.ToServer && s != trace.ToClient {
			return fmt.Errorf("%q is not a direction; use %s or %s", s, trace.ToServer, trace.ToClient)
		}
		m.Dir = s
	case "verb":
		m.Verb = s
	case "name":
		m.Name = s
	case "rtype":
		m.RType = s
	case "step":
		m.Step = s
	case "msg":
		m.Msg = s
	case "rcpt":
		m.Rcpt = s
	case "error":
		m.Error = s
	case "starts":
		m.Starts = s
	default:
		return fmt.Errorf("unknown field %q", name) // unreachable: fields come from matchers()
	}
	return nil
}

func kindList() string {
	var s []string
	for _, k := range knownKinds() {
		s = append(s, string(k))
	}
	return strings.Join(s, ", ")
}

// validCode reports whether s is a reply code pattern: the class digit 2
// to 5 (RFC 5321 §4.2.1) or x, then two digits or x.
func validCode(s string) bool {
	if len(s) != 3 {
		return false
	}
	for i := range 3 {
		c := s[i]
		switch {
		case c == 'x' || c == 'X':
		case i == 0 && c >= '2' && c <= '5':
		case i > 0 && c >= '0' && c <= '9':
		default:
			return false
		}
	}
	return true
}

// validEnhanced reports whether s is an enhanced status code pattern (RFC
// 3463 §2): class 2, 4 or 5, then subject and detail of one to three digits;
// any part may be x.
func validEnhanced(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return false
	}
	for i, p := range parts {
		if p == "x" || p == "X" {
			continue
		}
		if i == 0 && p != "2" && p != "4" && p != "5" {
			return false
		}
		if len(p) < 1 || len(p) > 3 {
			return false
		}
		for _, c := range p {
			if c < '0' || c > '9' {
				return false
			}
		}
	}
	return true
}

// tree writes the goal in the language.
func (g Goal) tree() map[string]any {
	t := g.Cond.tree()
	if g.ID != "" {
		t["id"] = g.ID
	}
	if g.Text != "" {
		t["text"] = g.Text
	}
	if g.Scenario != "" {
		t["scenario"] = g.Scenario
	}
	return t
}

// tree writes the condition in the language. Every field that is set is
// written, so a Cond with two set (which Go allows and the language does
// not) reads back as the error it is.
func (c Cond) tree() map[string]any {
	// An event matcher and answered are written alike as conditions and
	// as steps.
	t := Step{Event: c.Event, Answered: c.Answered}.tree()
	for key, steps := range map[string][]Step{"before": c.Before, "session": c.Session} {
		if steps != nil {
			list := make([]any, len(steps))
			for i, s := range steps {
				list[i] = s.tree()
			}
			t[key] = list
		}
	}
	if c.Count != nil {
		key, fields := c.Count.Of.tree()
		ct := map[string]any{key: fields}
		if c.Count.Min != 1 {
			ct["min"] = c.Count.Min
		}
		if c.Count.Max != 0 {
			ct["max"] = c.Count.Max
		}
		t["count"] = ct
	}
	for key, subs := range map[string][]Cond{"all": c.All, "any": c.Any} {
		if subs != nil {
			list := make([]any, len(subs))
			for i, s := range subs {
				list[i] = s.tree()
			}
			t[key] = list
		}
	}
	if c.Not != nil {
		t["not"] = c.Not.tree()
	}
	return t
}

// tree writes the step in the language. As in Cond.tree, every field that
// is set is written, so a step with two reads back as an error.
func (s Step) tree() map[string]any {
	t := map[string]any{}
	if s.Event != nil {
		key, fields := s.Event.tree()
		t[key] = fields
	}
	if s.Answered != nil {
		t["answered"] = s.Answered.tree()
	}
	if s.None != nil {
		key, fields := s.None.tree()
		t["none"] = map[string]any{key: fields}
	}
	return t
}

// tree writes {command: {...}, reply: {...}}.
func (a Answered) tree() map[string]any {
	return map[string]any{
		"command": a.Command.treeOf(trace.Command),
		"reply":   a.Reply.treeOf(trace.Reply),
	}
}

// tree writes the match with the shortest key that can say it.
func (m Match) tree() (string, map[string]any) {
	fields := m.fields()
	for _, mt := range matchers() {
		if mt.kind == "" || mt.kind != m.Kind {
			continue
		}
		fits := true
		for k := range fields {
			fits = fits && contains(mt.fields, k)
		}
		if fits {
			return mt.key, fields
		}
	}
	if m.Kind != "" {
		fields["kind"] = string(m.Kind)
	}
	return "event", fields
}

// treeOf writes the fields of a match that a matcher of kind holds, where
// the kind goes without saying. A match of another kind keeps a kind
// field, which no such matcher knows, so it reads back as an error.
func (m Match) treeOf(kind trace.Kind) map[string]any {
	fields := m.fields()
	if m.Kind != kind {
		fields["kind"] = string(m.Kind)
	}
	return fields
}

// fields returns the match's set fields by their names in the language,
// leaving out kind.
func (m Match) fields() map[string]any {
	f := map[string]any{}
	for name, v := range map[string]string{
		"host": m.Host, "peer": m.Peer, "dir": m.Dir, "verb": m.Verb, "code": m.Code,
		"enhanced": m.Enhanced, "reason": m.Reason, "name": m.Name, "rtype": m.RType, "step": m.Step,
		"msg": m.Msg, "rcpt": m.Rcpt, "error": m.Error, "starts": m.Starts,
	} {
		if v != "" {
			f[name] = v
		}
	}
	switch len(m.Text) {
	case 0:
	case 1:
		f["text"] = m.Text[0]
	default:
		list := make([]any, len(m.Text))
		for i, t := range m.Text {
			list[i] = t
		}
		f["text"] = list
	}
	if m.Terminal != nil {
		f["terminal"] = *m.Terminal
	}
	if m.Port != 0 {
		f["port"] = m.Port
	}
	if m.TLS != nil {
		f["tls"] = *m.TLS
	}
	if m.Attrs != nil {
		attrs := make(map[string]any, len(m.Attrs))
		for k, v := range m.Attrs {
			attrs[k] = v
		}
		f["attrs"] = attrs
	}
	return f
}

// asMap accepts the two shapes decoders give mappings: map[string]any
// (JSON, and YAML with text keys) and map[any]any (YAML otherwise).
func asMap(v any) (map[string]any, bool) {
	switch m := v.(type) {
	case map[string]any:
		return m, true
	case map[any]any:
		out := make(map[string]any, len(m))
		for k, val := range m {
			out[fmt.Sprint(k)] = val
		}
		return out, true
	}
	return nil, false
}

// asInt accepts the number types YAML and JSON decoders produce, when
// they hold a whole number.
func asInt(v any) (int, bool) {
	switch n := v.(type) {
	case int:
		return n, true
	case int64:
		if n >= math.MinInt32 && n <= math.MaxInt32 {
			return int(n), true
		}
	case uint64:
		if n <= math.MaxInt32 {
			return int(n), true
		}
	case float64:
		if n == math.Trunc(n) && n >= math.MinInt32 && n <= math.MaxInt32 {
			return int(n), true
		}
	case minijson.Number:
		if i, err := n.Int64(); err == nil {
			return asInt(i)
		}
	}
	return 0, false
}

// scalarText turns a text or whole-number value into text: YAML reads
// code: 250 as a number and code: 5xx as text.
func scalarText(v any) (string, bool) {
	if s, ok := v.(string); ok {
		return s, true
	}
	if b, ok := v.(bool); ok {
		return strconv.FormatBool(b), true
	}
	if n, ok := asInt(v); ok {
		return strconv.Itoa(n), true
	}
	return "", false
}

// describe names a value's shape for messages.
func describe(v any) string {
	switch v := v.(type) {
	case nil:
		return "nothing"
	case string:
		return strconv.Quote(v)
	case bool:
		return strconv.FormatBool(v)
	case []any:
		return "a list"
	case map[string]any, map[any]any:
		return "a mapping"
	}
	if n, ok := asInt(v); ok {
		return strconv.Itoa(n)
	}
	return fmt.Sprintf("%v", v)
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func contains[T comparable](list []T, v T) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
