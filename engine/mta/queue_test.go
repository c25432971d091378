package mta

import (
	"fmt"
	"slices"
	"testing"
)

// TestMessageQueueKeepsArrivalOrder removes three messages in four, from
// the front, the middle and the back, enough for the holes to be squeezed
// out along the way, adds more, and checks that the messages left are in
// the order they arrived and know where they are.
func TestMessageQueueKeepsArrivalOrder(t *testing.T) {
	var mq messageQueue
	var want []*queued
	add := func(n int) {
		for range n {
			q := &queued{id: fmt.Sprint(len(want))}
			mq.add(q)
			want = append(want, q)
		}
	}
	add(100)
	for i, q := range slices.Clone(want) {
		if i%4 != 0 {
			mq.remove(q)
			mq.remove(q) // a second remove changes nothing
			want = slices.DeleteFunc(want, func(x *queued) bool { return x == q })
		}
	}
	if len(mq.msgs) >= 100 {
		t.Fatalf("%d slots for %d messages: the holes were never squeezed out", len(mq.msgs), len(want))
	}
	add(10)
	var got []*queued
	for q := range mq.all {
		got = append(got, q)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("queue holds %d messages out of order or wrong; want %d", len(got), len(want))
	}
	for i, q := range mq.msgs {
		if q != nil && int(q.place) != i {
			t.Fatalf("message %s is at %d but thinks it is at %d", q.id, i, q.place)
		}
	}
}
