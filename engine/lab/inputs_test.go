package lab

import (
	"strings"
	"testing"
	"time"
)

// TestEveryInputCountsTowardsTheLimit: advancing time and submitting are
// inputs like typing, so a world never holds more inputs than Restore
// replays, and its own snapshot always restores.
func TestEveryInputCountsTowardsTheLimit(t *testing.T) {
	w := newWorld(t, "first-session")
	for i := 0; i < MaxInputs; i++ {
		if _, err := w.Advance(time.Second); err != nil {
			t.Fatalf("advance %d: %v", i+1, err)
		}
	}
	if _, err := w.Advance(time.Second); err == nil {
		t.Error("an advance past MaxInputs was taken")
	}
	if _, err := w.Submit(Message{From: "alice@example.com", To: []string{"bob@example.org"}, Subject: "s", Body: "b"}); err == nil {
		t.Error("a submit past MaxInputs was taken")
	}
	if _, err := Restore(w.Snapshot()); err != nil {
		t.Fatalf("the world's own snapshot does not restore: %v", err)
	}
}

// TestEmptyRawInputRefused: raw input that sends nothing is refused, since
// replayed it would be a typed empty line.
func TestEmptyRawInputRefused(t *testing.T) {
	w := newWorld(t, "first-session")
	if _, err := w.TypeRaw(""); err == nil {
		t.Fatal("empty raw input was taken")
	}
	if n := len(w.Snapshot().Inputs); n != 0 {
		t.Fatalf("%d inputs recorded", n)
	}
}

// TestWhatTheWorldHandsOutIsACopy: events and snapshots given to a caller
// are the caller's to change; the world keeps its own.
func TestWhatTheWorldHandsOutIsACopy(t *testing.T) {
	w := newWorld(t, "greylisting")
	session(t, w, "alice@example.com", "bob@example.org")
	changed := 0
	for _, e := range w.Trace() {
		if e.Attrs != nil {
			e.Attrs["next"] = "tampered"
			changed = e.ID
			break
		}
	}
	if changed == 0 {
		t.Fatal("the greylisting world traced no event with attributes")
	}
	if got, _ := w.net.Log().Get(changed); got.Attrs["next"] == "tampered" {
		t.Error("changing an event from Trace changed the world's trace")
	}

	if _, err := w.Submit(Message{From: "alice@example.com", To: []string{"bob@example.org"}, Subject: "s", Body: "b"}); err != nil {
		t.Fatal(err)
	}
	s := w.Snapshot()
	last := s.Inputs[len(s.Inputs)-1].Submit
	last.Body, last.To[0] = "changed", "carol@example.org"
	if got := w.Snapshot().Inputs[len(s.Inputs)-1].Submit; got.Body != "b" || got.To[0] != "bob@example.org" {
		t.Errorf("editing a snapshot rewrote the world's input log: %+v", *got)
	}
}

// TestResultCarriesMailOnlyWhenDelivered: an input that delivered nothing
// leaves the mailboxes out of its Result, so a keystroke does not carry
// every message of the world again; one that delivered has them all.
func TestResultCarriesMailOnlyWhenDelivered(t *testing.T) {
	w := newWorld(t, "first-session")
	res, err := w.Submit(Message{From: "alice@example.com", To: []string{"bob@example.org"}, Subject: "s", Body: "b"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.State.Mailboxes) != 1 {
		t.Fatalf("a delivering input's state has %d mailboxes, want Bob's", len(res.State.Mailboxes))
	}
	res, err = w.Type("NOOP")
	if err != nil {
		t.Fatal(err)
	}
	if res.State.Mailboxes != nil || len(res.Events) == 0 {
		t.Fatalf("a NOOP's result: %d mailboxes (want none), %d events", len(res.State.Mailboxes), len(res.Events))
	}
	if len(w.State().Mailboxes) != 1 {
		t.Fatal("State lost the mailbox")
	}
}

// TestSubmitNeedsAFrom: the mail client refuses a message with no From
// address, which would have gone out as the null sender <> (kept for
// bounces) with an empty From: line, and whose bounce would be dropped.
func TestSubmitNeedsAFrom(t *testing.T) {
	w := newWorld(t, "first-session")
	for _, from := range []string{"", "  "} {
		if _, err := w.Submit(Message{From: from, To: []string{"bob@example.org"}, Subject: "s", Body: "b"}); err == nil || !strings.Contains(err.Error(), "From address") {
			t.Errorf("From %q: err = %v", from, err)
		}
	}
	if n := len(w.Snapshot().Inputs); n != 0 {
		t.Errorf("%d inputs kept", n)
	}
}

// TestClockStopsBeforeItWraps: a learner who keeps letting 30 days pass
// reaches the end of the world's clock (MaxClock) before MaxInputs, and
// is told so; the date never goes backwards, which it did when the
// clock's time.Duration overflowed 292 years in, and a certificate still
// verifies at the end.
func TestClockStopsBeforeItWraps(t *testing.T) {
	w := newWorld(t, "starttls")
	last := w.net.Date()
	var stopped error
	for i := 0; i < MaxInputs-10 && stopped == nil; i++ {
		_, stopped = w.Advance(MaxAdvance)
		if now := w.net.Date(); now.Before(last) {
			t.Fatalf("advance %d moved the date back from %v to %v", i+1, last, now)
		} else {
			last = now
		}
	}
	if stopped == nil || !strings.Contains(stopped.Error(), "clock") {
		t.Fatalf("advancing to %v was never refused (%v)", last, stopped)
	}
	if w.net.Now() > MaxClock {
		t.Errorf("the clock went past MaxClock: %v", w.net.Now())
	}
	events := typeAll(t, w, "EHLO laptop.example.com", "STARTTLS")
	var verify string
	for _, e := range events {
		if e.Step == "verify" {
			verify = e.Attrs["verify"]
		}
	}
	if verify != "ok" {
		t.Errorf("STARTTLS at the clock's end: verify %q, want ok", verify)
	}
}
