package lessons

import (
	"fmt"
	"sort"
	"strings"

	"smtplab/engine/lab"
	"smtplab/lessons/goal"
)

// Problem is one thing a course author should fix in a lesson.
type Problem struct {
	Lesson string `json:"lesson"` // the lesson's slug
	Where  string `json:"where"`  // "title", "goals", "solution[3]", "smtp-lab block 2"...; lists count from 1
	Msg    string `json:"msg"`
}

func (p Problem) String() string {
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
// the solution. It returns nil for a lesson that is ready to ship.
func Lint(l Lesson, knownScenarios []string) []Problem {
	var ps []Problem
	add := func(where, format string, args ...any) {
		ps = append(ps, Problem{Lesson: l.Slug, Where: where, Msg: fmt.Sprintf(format, args...)})
	}
	known := func(s string) bool {
		for _, k := range knownScenarios {
			if k == s {
				return true
			}
		}
		return false
	}

	if strings.TrimSpace(l.Title) == "" {
		add("title", "missing")
	}
	if strings.TrimSpace(l.Summary) == "" {
		add("summary", "missing")
	}
	if l.Order < 1 {
		add("order", "missing or not a whole number of 1 or more")
	}
	switch {
	case l.Scenario == "":
		add("scenario", "missing")
	case !known(l.Scenario):
		add("scenario", "%q is not a known scenario (known: %s)", l.Scenario, strings.Join(knownScenarios, ", "))
	}

	if len(l.Goals) == 0 {
		add("goals", "none; a lesson needs at least one goal the learner can reach")
	}
	for _, err := range goal.Validate(l.Goals) {
		add("goals", "%v", err)
	}

	if len(l.Hints) == 0 {
		add("hints", "none; give at least one hint for a learner who is stuck")
	}
	for i, h := range l.Hints {
		if strings.TrimSpace(h) == "" {
			add(hintWhere(i), "empty")
		}
	}

	if len(l.Solution) == 0 {
		add("solution", "empty; write the steps a learner would take so the tests can replay them")
	}
	for i, s := range l.Solution {
		for _, msg := range lintStep(s) {
			add(stepWhere(i), "%s", msg)
		}
	}

	for i, lab := range l.Labs {
		where := fmt.Sprintf("smtp-lab block %d", i+1)
		if !known(lab.Scenario) {
			add(where, "%q is not a known scenario", lab.Scenario)
		}
		for _, msg := range checkLabOptions(lab) {
			add(where, "%s", msg)
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
			add("goals", "%s names scenario %q, which none of the lesson's smtp-lab blocks runs", goalLabel(g, i), g.Scenario)
		}
	}
	for i, s := range l.Solution {
		if s.Lab != "" && !hasLab(s.Lab) {
			add(stepWhere(i), "lab %q is not the scenario of the lesson or of one of its smtp-lab blocks", s.Lab)
		}
	}
	for _, p := range lintConnectHosts(l) {
		add(p.Where, "%s", p.Msg)
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
			ps = append(ps, Problem{Where: stepWhere(i),
				Msg: fmt.Sprintf("connect: the %s lab has no host %q", current, host)})
		}
	}
	return ps
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
	byOrder := map[int][]string{}
	for _, l := range lessons {
		ps = append(ps, Lint(l, knownScenarios)...)
		if bySlug[l.Slug] {
			ps = append(ps, Problem{Lesson: l.Slug, Where: "slug", Msg: "two lessons have this slug"})
		}
		bySlug[l.Slug] = true
		if l.Order >= 1 {
			byOrder[l.Order] = append(byOrder[l.Order], l.Slug)
		}
	}
	orders := make([]int, 0, len(byOrder))
	for o := range byOrder {
		orders = append(orders, o)
	}
	sort.Ints(orders)
	for _, o := range orders {
		if slugs := byOrder[o]; len(slugs) > 1 {
			for _, s := range slugs {
				ps = append(ps, Problem{Lesson: s, Where: "order", Msg: fmt.Sprintf("%d is also the order of %s", o, strings.Join(others(slugs, s), ", "))})
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
