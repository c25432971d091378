package simnet

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"smtplab/engine/trace"
)

func TestEventsAtEqualTimesRunInSchedulingOrder(t *testing.T) {
	w := New(1)
	var order []string
	at := func(d time.Duration, name string) {
		w.After(d, func() { order = append(order, name) })
	}
	at(2*time.Second, "c")
	at(time.Second, "a")
	at(2*time.Second, "d")
	at(time.Second, "b")
	at(0, "now")
	// An event scheduled by a callback for "now" runs after everything
	// already due at that instant.
	w.After(time.Second, func() {
		order = append(order, "e")
		w.After(0, func() { order = append(order, "f") })
	})
	w.Advance(3 * time.Second)
	if want := []string{"now", "a", "b", "e", "f", "c", "d"}; !slices.Equal(order, want) {
		t.Fatalf("order = %v, want %v", order, want)
	}
}

func TestTimerStop(t *testing.T) {
	w := New(1)
	ran := map[string]bool{}
	t1 := w.After(time.Second, func() { ran["t1"] = true })
	t2 := w.After(time.Second, func() { ran["t2"] = true })
	t3 := w.After(5*time.Second, func() { ran["t3"] = true })
	// A callback may stop a timer due at the same instant.
	w.After(time.Second/2, func() { t2.Stop() })

	if !t3.Stop() {
		t.Fatal("Stop on a pending timer returned false")
	}
	if t3.Stop() {
		t.Fatal("second Stop returned true")
	}
	if t3.Pending() {
		t.Fatal("stopped timer still pending")
	}
	w.Advance(10 * time.Second)
	if !ran["t1"] || ran["t2"] || ran["t3"] {
		t.Fatalf("ran = %v, want only t1", ran)
	}
	if t1.Stop() {
		t.Fatal("Stop after the timer ran returned true")
	}
	if t1.When() != time.Second {
		t.Fatalf("When = %v, want 1s", t1.When())
	}
	if w.Pending() != 0 {
		t.Fatalf("Pending = %d, want 0", w.Pending())
	}
}

func TestAdvance(t *testing.T) {
	tests := []struct {
		name      string
		d         time.Duration
		wantRan   []string
		wantNow   time.Duration
		wantClock string // "" means no clock event
	}{
		{"zero runs what is due now", 0, []string{"at0"}, 0, ""},
		{"negative counts as zero", -time.Second, []string{"at0"}, 0, ""},
		{"window includes its end", time.Second, []string{"at0", "at1s", "chained"}, time.Second, "1s"},
		{"long jump", time.Hour, []string{"at0", "at1s", "chained", "beyond", "at1m"}, time.Hour, "1h0m0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := New(1)
			var ran []string
			w.After(0, func() { ran = append(ran, "at0") })
			w.After(time.Second, func() {
				ran = append(ran, "at1s")
				w.After(0, func() { ran = append(ran, "chained") })
				w.After(2*time.Second, func() { ran = append(ran, "beyond") })
			})
			w.After(time.Minute, func() { ran = append(ran, "at1m") })
			w.Advance(tt.d)
			if !slices.Equal(ran, tt.wantRan) {
				t.Fatalf("ran %v, want %v", ran, tt.wantRan)
			}
			if w.Now() != tt.wantNow {
				t.Fatalf("Now = %v, want %v", w.Now(), tt.wantNow)
			}
			clocks := eventsOf(w, trace.Clock)
			switch {
			case tt.wantClock == "" && len(clocks) != 0:
				t.Fatalf("clock events %+v, want none", clocks)
			case tt.wantClock != "" && (len(clocks) != 1 || clocks[0].Text != tt.wantClock ||
				clocks[0].At != int64(tt.wantNow/time.Millisecond)):
				t.Fatalf("clock events %+v, want one %q at %v", clocks, tt.wantClock, tt.wantNow)
			}
		})
	}
}

func TestAdvanceClockEventComesLast(t *testing.T) {
	w := New(1)
	w.After(time.Second, func() { w.Emit(trace.Event{Kind: trace.Note, Text: "tick"}) })
	w.Advance(time.Minute)
	all := w.Log().All()
	if len(all) != 2 || all[0].Kind != trace.Note || all[0].At != 1000 || all[1].Kind != trace.Clock || all[1].At != 60000 {
		t.Fatalf("log = %+v, want note at 1000 then clock at 60000", all)
	}
}

func TestSettle(t *testing.T) {
	// The horizon is 10s. Each case schedules timers (t) and network
	// deliveries (n) and lists which ran.
	type item struct {
		name    string
		at      time.Duration
		network bool
	}
	tests := []struct {
		name  string
		items []item
		want  []string
		now   time.Duration
	}{
		{"empty queue", nil, nil, 0},
		{"near timer runs, far one waits",
			[]item{{"t5s", 5 * time.Second, false}, {"t11s", 11 * time.Second, false}},
			[]string{"t5s"}, 5 * time.Second},
		{"horizon counts from the call, not from each timer",
			[]item{{"t6s", 6 * time.Second, false}, {"t12s", 12 * time.Second, false}},
			[]string{"t6s"}, 6 * time.Second},
		{"a network delivery runs however far, with the timers before it",
			[]item{{"t20s", 20 * time.Second, false}, {"n30s", 30 * time.Second, true}, {"t35s", 35 * time.Second, false},
				{"t41s", 41 * time.Second, false}},
			[]string{"t20s", "n30s", "t35s"}, 35 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := New(1)
			var ran []string
			for _, it := range tt.items {
				w.schedule(it.at, it.network, func() { ran = append(ran, it.name) })
			}
			n := w.Settle()
			if !slices.Equal(ran, tt.want) || n != len(tt.want) {
				t.Fatalf("ran %v (n=%d), want %v", ran, n, tt.want)
			}
			if w.Now() != tt.now {
				t.Fatalf("Now = %v, want %v", w.Now(), tt.now)
			}
			if len(eventsOf(w, trace.Clock)) != 0 {
				t.Fatal("Settle recorded a clock event")
			}
		})
	}
}

func TestSettleHorizonOption(t *testing.T) {
	w := New(1, WithSettleHorizon(time.Minute))
	ran := false
	w.After(50*time.Second, func() { ran = true })
	w.Settle()
	if !ran {
		t.Fatal("timer within a 1m horizon did not run")
	}
}

func TestSettleStopsAnEndlessConversation(t *testing.T) {
	w := New(1)
	w.settleLimit = 1000
	var ping func()
	ping = func() { w.schedule(w.Now()+time.Millisecond, true, ping) }
	ping()
	if n := w.Settle(); n != w.settleLimit {
		t.Fatalf("Settle ran %d events, want the limit %d", n, w.settleLimit)
	}
	notes := eventsOf(w, trace.Note)
	if len(notes) != 1 {
		t.Fatalf("notes = %+v, want one explaining the stop", notes)
	}
}

func TestDriversAreNotReentrant(t *testing.T) {
	for _, name := range []string{"Advance", "Settle"} {
		t.Run(name, func(t *testing.T) {
			w := New(1)
			w.After(0, func() {
				if name == "Advance" {
					w.Advance(time.Second)
				} else {
					w.Settle()
				}
			})
			defer func() {
				if recover() == nil {
					t.Fatalf("%s inside a callback did not panic", name)
				}
			}()
			w.Advance(time.Second)
		})
	}
}

func TestDateAndStart(t *testing.T) {
	w := New(1)
	if got := w.Date(); !got.Equal(DefaultStart()) {
		t.Fatalf("Date = %v, want %v", got, DefaultStart())
	}
	w.Advance(90 * time.Minute)
	if got, want := w.Date(), DefaultStart().Add(90*time.Minute); !got.Equal(want) {
		t.Fatalf("Date after 90m = %v, want %v", got, want)
	}
	start := time.Date(2030, 2, 3, 4, 5, 6, 0, time.UTC)
	if got := New(1, WithStart(start)).Date(); !got.Equal(start) {
		t.Fatalf("WithStart: Date = %v, want %v", got, start)
	}
}

func TestRandIsSeeded(t *testing.T) {
	draw := func(seed int64) []uint64 {
		r := New(seed).Rand()
		return []uint64{r.Uint64(), r.Uint64(), r.Uint64()}
	}
	if !slices.Equal(draw(7), draw(7)) {
		t.Fatal("same seed gave different numbers")
	}
	if slices.Equal(draw(7), draw(8)) {
		t.Fatal("different seeds gave the same numbers")
	}
}

func TestNextEventAt(t *testing.T) {
	w := New(1)
	if _, ok := w.NextEventAt(); ok {
		t.Fatal("NextEventAt on an empty queue reported an event")
	}
	w.After(3*time.Minute, func() {})
	w.After(time.Minute, func() {})
	if at, ok := w.NextEventAt(); !ok || at != time.Minute {
		t.Fatalf("NextEventAt = %v, %v; want 1m, true", at, ok)
	}
}

func TestEmitAfterTracesInTimeAndOrder(t *testing.T) {
	w := New(1)
	w.EmitAfter(trace.Event{Kind: trace.Note, Text: "late"}, 2*time.Second)
	w.EmitAfter(trace.Event{Kind: trace.Note, Text: "early"}, time.Second)
	w.After(time.Second, func() { w.Emit(trace.Event{Kind: trace.Note, Text: "timer"}) })
	// Reused events must not carry an old note into a new one.
	w.Advance(3 * time.Second)
	w.EmitAfter(trace.Event{Kind: trace.Note, Text: "again"}, time.Second)
	w.Advance(2 * time.Second)
	var got []string
	for _, e := range w.Log().All() {
		if e.Kind == trace.Note {
			got = append(got, fmt.Sprintf("%s@%d", e.Text, e.At))
		}
	}
	if want := []string{"early@1000", "timer@1000", "late@2000", "again@4000"}; !slices.Equal(got, want) {
		t.Fatalf("notes = %v, want %v", got, want)
	}
}

// TestQueueOrderWithStops schedules many timers at few distinct times,
// stops a third of them, some from inside callbacks, and checks that the
// rest run in (time, scheduling) order: what the queue's heap must keep
// through every push, pop and removal.
func TestQueueOrderWithStops(t *testing.T) {
	w := New(1)
	rng := w.Rand()
	var all []*orderEntry
	var ran []int
	for n := range 500 {
		e := &orderEntry{at: time.Duration(rng.IntN(20)) * time.Second, n: n}
		e.tmr = w.After(e.at, func() { ran = append(ran, e.n) })
		all = append(all, e)
	}
	stopped := map[int]bool{}
	for _, e := range all {
		switch rng.IntN(6) {
		case 0:
			e.tmr.Stop()
			stopped[e.n] = true
		case 1:
			// Stopped later by a callback that runs before it is due.
			if e.at > 0 {
				victim := e
				w.After(e.at-time.Second/2, func() { victim.tmr.Stop() })
				stopped[e.n] = true
			}
		}
	}
	w.Advance(time.Minute)
	checkOrder(t, all, stopped, ran)
}

// TestTimerReset: a reset timer runs again, or later, or after being
// stopped, and takes its turn among events due at the same time as Stop
// then After would.
func TestTimerReset(t *testing.T) {
	w := New(1)
	var ran []string
	tmr := w.After(time.Second, func() { ran = append(ran, "t") })
	w.After(2*time.Second, func() { ran = append(ran, "a") })
	tmr.Reset(2 * time.Second) // moves behind a, which was scheduled first
	w.After(2*time.Second, func() { ran = append(ran, "b") })
	if tmr.When() != 2*time.Second || !tmr.Pending() {
		t.Fatalf("after Reset: when %v, pending %v", tmr.When(), tmr.Pending())
	}
	w.Advance(3 * time.Second)
	if want := []string{"a", "t", "b"}; !slices.Equal(ran, want) {
		t.Fatalf("ran %v, want %v", ran, want)
	}
	tmr.Reset(time.Second) // after it ran
	w.Advance(2 * time.Second)
	tmr.Stop()
	tmr.Reset(-time.Second) // after Stop; negative is now
	w.Advance(0)
	if want := []string{"a", "t", "b", "t", "t"}; !slices.Equal(ran, want) {
		t.Fatalf("ran %v, want %v", ran, want)
	}
	if tmr.Pending() || w.Pending() != 0 {
		t.Fatalf("pending %v, queue %d", tmr.Pending(), w.Pending())
	}
}

// TestTimerResetWhileQueued: timers reset while they wait, to earlier and
// later times, run in the order Stop then After would give them: by time,
// then by when each was last scheduled.
func TestTimerResetWhileQueued(t *testing.T) {
	w := New(1)
	rng := rand.New(rand.NewPCG(1, 2))
	type due struct {
		at  time.Duration
		seq int
	}
	timers := make([]*Timer, 50)
	dues := make([]due, len(timers))
	var ran []int
	for i := range timers {
		d := time.Duration(rng.IntN(10)) * time.Second
		timers[i] = w.After(d, func() { ran = append(ran, i) })
		dues[i] = due{d, i}
	}
	for seq := len(timers); seq < 300; seq++ {
		i, d := rng.IntN(len(timers)), time.Duration(rng.IntN(10))*time.Second
		timers[i].Reset(d)
		dues[i] = due{d, seq}
	}
	w.Advance(time.Minute)
	want := make([]int, len(timers))
	for i := range want {
		want[i] = i
	}
	slices.SortFunc(want, func(a, b int) int {
		return cmp.Or(cmp.Compare(dues[a].at, dues[b].at), cmp.Compare(dues[a].seq, dues[b].seq))
	})
	if !slices.Equal(ran, want) {
		t.Fatalf("ran %v, want %v", ran, want)
	}
}

// TestTimersAndOtherEventsKeepOneOrder: timers and the network's own
// events wait in queues of their own (see schedule), yet run in one order,
// by time and then by when they were scheduled, stopped timers left out.
func TestTimersAndOtherEventsKeepOneOrder(t *testing.T) {
	w := New(1)
	rng := w.Rand()
	var all []*orderEntry
	var ran []int
	for n := range 600 {
		e := &orderEntry{at: time.Duration(rng.IntN(8)) * time.Millisecond, n: n}
		if rng.IntN(2) == 0 {
			e.tmr = w.After(e.at, func() { ran = append(ran, e.n) })
		} else {
			w.schedule(e.at, rng.IntN(2) == 0, func() { ran = append(ran, e.n) })
		}
		all = append(all, e)
	}
	stopped := map[int]bool{}
	for _, e := range all {
		if e.tmr != nil && rng.IntN(4) == 0 {
			e.tmr.Stop()
			stopped[e.n] = true
		}
	}
	w.Advance(time.Second)
	checkOrder(t, all, stopped, ran)
}

// TestBusyQueueKeepsItsOrder: network events that keep the queue from
// emptying for thousands of runs, each queueing another at a random time
// close ahead, as packets do, still run by time and then in the order they
// were queued (soonQueue lets go of the front of a list that never
// empties).
func TestBusyQueueKeepsItsOrder(t *testing.T) {
	w := New(1)
	rng := w.Rand()
	var all []*orderEntry
	var ran []int
	var queue func()
	queue = func() {
		e := &orderEntry{at: w.Now() + time.Duration(rng.IntN(4))*time.Millisecond, n: len(all)}
		all = append(all, e)
		w.schedule(e.at, true, func() {
			ran = append(ran, e.n)
			for range rng.IntN(3) {
				if len(all) < 5000 {
					queue()
				}
			}
		})
	}
	for range 20 {
		queue()
	}
	w.Settle()
	if len(ran) < 2000 {
		t.Fatalf("only %d events ran", len(ran))
	}
	checkOrder(t, all, nil, ran)
}

// orderEntry is one event the order tests schedule: when, its number in
// scheduling order, and its timer, if it is one.
type orderEntry struct {
	at  time.Duration
	n   int
	tmr *Timer
}

// checkOrder fails t unless ran, the numbers of the events that ran, are
// those of all but the stopped ones, by time and then in the order they
// were scheduled.
func checkOrder(t *testing.T, all []*orderEntry, stopped map[int]bool, ran []int) {
	t.Helper()
	all = slices.Clone(all)
	slices.SortStableFunc(all, func(a, b *orderEntry) int { return int(a.at - b.at) })
	var want []int
	for _, e := range all {
		if !stopped[e.n] {
			want = append(want, e.n)
		}
	}
	if !slices.Equal(ran, want) {
		t.Fatalf("ran %d events in the order\n%v\nwant %d in\n%v", len(ran), ran, len(want), want)
	}
}
