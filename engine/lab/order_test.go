package lab

import (
	"testing"

	"smtplab/engine/trace"
)

// TestTraceFollowsTheWire: the trace tells the story in the order it
// happened. A server decides a whole pipelined batch at once, and accepting
// a message queues or delivers it on the spot; still, the command that
// carried the message and the reply that took it come first, then what the
// server did with it.
func TestTraceFollowsTheWire(t *testing.T) {
	for _, tc := range []struct{ scenario, after string }{
		{"first-session", "delivery"}, // the MX delivers into Bob's mailbox
		{"spf-check", "queue.add"},    // the submission server queues for the MX
	} {
		w, err := New(tc.scenario, 1)
		if err != nil {
			t.Fatal(err)
		}
		res, err := w.Submit(Message{From: "alice@example.com", To: []string{"bob@example.org"}, Subject: "order", Body: "first things first"})
		if err != nil {
			t.Fatal(err)
		}
		var order []string
		for _, e := range res.Events {
			switch {
			case e.Kind == trace.Command && e.Verb == "BDAT":
				order = append(order, "command")
			case e.Kind == trace.Reply && e.Verb == "BDAT":
				order = append(order, "reply")
			case string(e.Kind) == tc.after && len(order) > 0 && order[len(order)-1] != tc.after:
				order = append(order, tc.after)
			}
		}
		if len(order) < 3 || order[0] != "command" || order[1] != "reply" || order[2] != tc.after {
			t.Errorf("%s: the message's events came in the order %v, want command, reply, %s", tc.scenario, order, tc.after)
		}
	}
}
