package bridge

import (
	"testing"
	"time"
)

// TestDeadlineArm checks that a deadline is moved only when it falls
// outside its window, never after a hard end, and sooner than its budget
// only where that is allowed (reads).
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
		sooner   bool // a deadline before the budget may stay
	}{
		{"none yet", time.Time{}, at(8), time.Time{}, at(9), true, false},
		{"still in the window", at(9), at(8.5), time.Time{}, at(9), false, false},
		{"exactly the budget", at(8), at(8), time.Time{}, at(8), false, false},
		{"too soon for the budget", at(9), at(9.5), time.Time{}, at(10.5), true, false},
		{"too late for the budget", at(12), at(8), time.Time{}, at(9), true, false},
		{"a hard end within the window", at(9), at(8), at(8.5), at(8.5), true, false},
		{"a hard end before the budget", at(20), at(8), at(5), at(5), true, false},
		{"at the hard end already", at(5), at(8), at(5), at(5), false, false},
		{"none yet, for a read", time.Time{}, at(8), time.Time{}, at(9), true, true},
		{"sooner than the budget, for a read", at(5), at(8), time.Time{}, at(5), false, true},
		{"too late for the budget, for a read", at(12), at(8), time.Time{}, at(9), true, true},
		{"a hard end before a read's deadline", at(9), at(8), at(8.5), at(8.5), true, true},
	}
	for _, c := range cases {
		d := deadline{at: c.current}
		var set []time.Time
		d.arm(func(t time.Time) error { set = append(set, t); return nil }, c.want, c.end, timeout, c.sooner)
		if !d.at.Equal(c.expected) || (len(set) == 1) != c.set || (c.set && !set[0].Equal(c.expected)) {
			t.Errorf("%s: deadline %v, set %v; want %v, set=%v", c.name, d.at.Sub(t0), set, c.expected.Sub(t0), c.set)
		}
	}
}

// TestEarlyReadDeadline pauses between messages for longer than the
// message text's budget, which the read deadline of the last message still
// stands for, and shorter than the command budget: the deadline passes
// early, and the session must go on rather than time out.
func TestEarlyReadDeadline(t *testing.T) {
	b := startBridge(t, Options{SMTP: "127.0.0.1:0"}) // 3 s per command, 1.8 s per block of text
	c := dialRaw(t, addr(b, 25))
	c.toData()
	c.send("Subject: first\r\n\r\none\r\n.\r\n")
	c.expect("250 2.0.0 Ok: queued as")
	time.Sleep(2500 * time.Millisecond)
	c.send("NOOP\r\n")
	c.expect("250 ")
	c.send("QUIT\r\n")
	c.expect("221 ")
	c.closed()
}
