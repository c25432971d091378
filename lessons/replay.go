package lessons

import (
	"cmp"
	"fmt"

	"smtplab/engine/lab"
	"smtplab/lessons/goal"
)

// replay performs the lesson's solution through the engine, step by step
// as a learner would, and reports what keeps it from being a solution: a
// goal already done before the learner does anything, a step the lab
// refuses (the replay stops there), and each goal not done after the last
// step. It returns nil for a solution that reaches every goal. Each world
// is the scenario's with seed 1, as a lesson's lab opens.
//
// It takes a few milliseconds a lesson; Lint calls it once the lesson's
// scenario, goals and solution have no other problem.
func replay(l Lesson) []Problem {
	var ps []Problem
	add := func(line int, where, format string, args ...any) {
		ps = append(ps, Problem{Lesson: l.Slug, File: l.src.path(), Line: line, Where: where, Msg: fmt.Sprintf(format, args...)})
	}
	goalLine := func(id string) int {
		for i, g := range l.Goals {
			if g.ID == id {
				return l.src.goal(i)
			}
		}
		return l.src.field("goals")
	}

	// One world per lab the solution opens, kept when it moves on to
	// another, as the page keeps each lab's saved world.
	worlds := map[string]*lab.World{}
	open := func(scenario string, line int, where string) *lab.World {
		if w := worlds[scenario]; w != nil {
			return w
		}
		w, err := lab.New(scenario, 1)
		if err != nil {
			add(line, where, "the solution cannot be replayed: %v", err)
			return nil
		}
		for _, r := range goal.Check(goal.In(l.Goals, scenario, l.Scenario), w.Trace()) {
			if r.Done {
				add(goalLine(r.ID), "goals", "%q is done before the learner does anything; a goal must ask for something", r.ID)
			}
		}
		worlds[scenario] = w
		return w
	}
	w := open(l.Scenario, l.src.field("scenario"), "scenario")
	if w == nil {
		return ps
	}
	for i, step := range l.Solution {
		if step.Lab != "" {
			if w = open(step.Lab, l.src.step(i), stepWhere(i)); w == nil {
				return ps
			}
			continue
		}
		// Do performs the step with Type, TypeRaw, Submit, Advance or
		// Connect, the way the page and snapshots do.
		if _, err := w.Do(step.Input()); err != nil {
			add(l.src.step(i), stepWhere(i), "the lab refuses this step: %v", err)
			return ps
		}
	}
	for i, g := range l.Goals {
		scenario := cmp.Or(g.Scenario, l.Scenario)
		w := worlds[scenario]
		if w == nil {
			add(l.src.goal(i), "goals", "%s is reached in the %s lab, which the solution never opens (with a lab: %s step)", goalLabel(g, i), scenario, scenario)
			continue
		}
		if r := goal.Check([]goal.Goal{g}, w.Trace())[0]; !r.Done {
			add(l.src.goal(i), "goals", "%s is not done after the solution's last step: the solution must reach every goal", goalLabel(g, i))
		}
	}
	return ps
}
