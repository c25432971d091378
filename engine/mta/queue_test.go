package mta

import (
	"fmt"
	"slices"
	"testing"
)

// TestMessageQueueKeepsArrivalOrder removes messages from the front, the
// middle and the back, often enough for the holes to be squeezed out
// several times, and checks the rest stay in the order they arrived.
func TestMessageQueueKeepsArrivalOrder(t *testing.T) {
	var mq messageQueue
	var want []*queued
	for i := range 100 {
		q := &queued{id: fmt.Sprint(i)}
		mq.add(q)
		want = append(want, q)
	}
	for i, q := range slices.Clone(want) {
		if i%3 == 0 || i > 80 {
			mq.remove(q)
			mq.remove(q) // a second remove changes nothing
			want = slices.DeleteFunc(want, func(x *queued) bool { return x == q })
		}
	}
	var got []*queued
	for q := range mq.all {
		got = append(got, q)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("queue holds %d messages out of order or wrong; want %d", len(got), len(want))
	}
	if len(mq.msgs) > 2*len(want)+1 {
		t.Errorf("%d slots for %d messages: the holes were not squeezed out", len(mq.msgs), len(want))
	}
	for i, q := range mq.msgs {
		if q != nil && q.place != i {
			t.Fatalf("message %s is at %d but thinks it is at %d", q.id, i, q.place)
		}
	}
}
