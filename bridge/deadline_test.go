package bridge

import (
	"testing"
	"time"
)

// TestDeadlineArm checks that a deadline is moved only when it falls
// outside its window, never sooner than its budget and never after a hard
// end.
func TestDeadlineArm(t *testing.T) {
	t0 := time.Unix(1_000_000, 0)
	const timeout = 8 * time.Second // late by at most 1 s
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	cases := []struct {
		name     string
		current  time.Time // zero: none set yet
		want     time.Time
		end      time.Time
		expected time.Time // the deadline afterwards
		set      bool
	}{
		{"none yet", time.Time{}, at(8), time.Time{}, at(9), true},
		{"still in the window", at(9), at(8.5), time.Time{}, at(9), false},
		{"exactly the budget", at(8), at(8), time.Time{}, at(8), false},
		{"too soon for the budget", at(9), at(9.5), time.Time{}, at(10.5), true},
		{"too late for the budget", at(12), at(8), time.Time{}, at(9), true},
		{"a hard end within the window", at(9), at(8), at(8.5), at(8.5), true},
		{"a hard end before the budget", at(20), at(8), at(5), at(5), true},
		{"at the hard end already", at(5), at(8), at(5), at(5), false},
	}
	for _, c := range cases {
		d := deadline{at: c.current}
		var set []time.Time
		d.arm(func(t time.Time) error { set = append(set, t); return nil }, c.want, c.end, timeout)
		if !d.at.Equal(c.expected) || (len(set) == 1) != c.set || (c.set && !set[0].Equal(c.expected)) {
			t.Errorf("%s: deadline %v, set %v; want %v, set=%v", c.name, d.at.Sub(t0), set, c.expected.Sub(t0), c.set)
		}
	}
}
