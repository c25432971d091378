package lessons

import (
	"testing"

	"smtplab/engine/lab"
	"smtplab/lessons/goal"
)

// TestSolutionsReachEveryGoal replays each lesson's solution through the
// engine, as a learner would do it, and requires every goal to be done
// at the end, and none to be done before the first step.
func TestSolutionsReachEveryGoal(t *testing.T) {
	all, err := All()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) < 7 {
		t.Fatalf("%d lessons, want at least 7", len(all))
	}
	for _, l := range all {
		t.Run(l.Slug, func(t *testing.T) {
			w, err := lab.New(l.Scenario, 1)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range goal.Check(l.Goals, w.Trace()) {
				if r.Done {
					t.Errorf("goal %q is done before the learner did anything", r.ID)
				}
			}
			for i, step := range l.Solution {
				// Do performs the step with Type, TypeRaw, Submit or
				// Advance, the way the page and snapshots do.
				if _, err := w.Do(step.Input()); err != nil {
					t.Fatalf("solution[%d] %+v: %v", i, step, err)
				}
			}
			for _, r := range goal.Check(l.Goals, w.Trace()) {
				if !r.Done {
					t.Errorf("after the solution, goal %q (%s) is not done", r.ID, r.Text)
				}
			}
		})
	}
}
