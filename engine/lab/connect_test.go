package lab

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"smtplab/engine/trace"
)

// connect performs a Connect input and fails the test on an error.
func connect(t *testing.T, w *World, target string) []trace.Event {
	t.Helper()
	r, err := w.Connect(target)
	if err != nil {
		t.Fatalf("Connect(%q): %v", target, err)
	}
	return r.Events
}

// TestConnectMovesTheTerminal: the learner plays the relay. The terminal
// hangs up on smtp.example.com, saying so in the trace, connects to the MX
// (the name written any way DNS allows), delivers to Bob there, and after
// QUIT reconnects to the MX, where it last connected.
func TestConnectMovesTheTerminal(t *testing.T) {
	w := newWorld(t, "mx-routing")
	typeAll(t, w, "EHLO laptop.example.com")
	events := connect(t, w, "MX1.Example.org.:25")
	var closed, opened trace.Event
	for _, e := range events {
		switch e.Kind {
		case trace.ConnClose:
			closed = e
		case trace.ConnOpen:
			opened = e
		}
	}
	if closed.Peer != "smtp.example.com" || closed.Text != reasonHangUp {
		t.Errorf("the old connection's close: %+v, want smtp.example.com hung up on by the terminal", closed)
	}
	if opened.Peer != "mx1.example.org" || opened.Port != 25 || opened.Attrs[trace.AttrClient] != trace.ClientTerminal {
		t.Errorf("the new connection: %+v, want the terminal's, to mx1.example.org:25", opened)
	}
	if got := strings.Join(replies(events), "|"); got != "220" {
		t.Errorf("replies after connecting: %s, want the MX's greeting only", got)
	}
	if st := w.State().Learner; st.Server != "mx1.example.org" || st.Port != 25 || !st.Connected || st.Conn != opened.Conn {
		t.Errorf("learner state %+v", st)
	}
	if got := w.Snapshot().Inputs[1]; got != (Input{Connect: "mx1.example.org:25"}) {
		t.Errorf("the input log keeps %+v, want the host's own name", got)
	}

	session(t, w, "alice@example.com", "bob@example.org")
	if len(mailbox(w, "mx1.example.org", "bob@example.org")) != 1 {
		t.Fatal("the message typed to the MX is not in Bob's mailbox")
	}
	if len(find(w.Trace(), trace.QueueAdd, "")) != 0 {
		t.Fatal("a relay queued the message, but the learner delivered it")
	}
	events = typeAll(t, w, "NOOP")
	if got := strings.Join(replies(events), "|"); got != "220|NOOP 250" || reply(events, "NOOP").Host != "mx1.example.org" {
		t.Fatalf("after QUIT the terminal reconnected with %s from %q, want mx1.example.org again", got, reply(events, "NOOP").Host)
	}
}

// TestConnectRefusesBadTargets: a target that is no host and SMTP port of
// the world is an error that says what would do, and is no input.
func TestConnectRefusesBadTargets(t *testing.T) {
	w := newWorld(t, "mx-routing")
	for target, want := range map[string]string{
		"mx9.example.org:25":     "its servers: smtp.example.com, mx1.example.org, mx2.example.org, example.net",
		"mx1.example.org":        "like mx.example.org:25",
		"mx1.example.org:80":     "port 25, 587 or 465",
		"mx1.example.org:":       "port 25, 587 or 465",
		":25":                    "the host is missing",
		strings.Repeat("a", 300): "no host and port",
	} {
		if _, err := w.Connect(target); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Connect(%.20q): %v, want an error saying %q", target, err, want)
		}
	}
	if n := len(w.Snapshot().Inputs); n != 0 {
		t.Fatalf("%d refused targets were recorded as inputs", n)
	}
	if _, err := w.Do(Input{Connect: "mx1.example.org:25", Type: "NOOP"}); err == nil {
		t.Error("an input that connects and types was taken")
	}
	if _, err := Restore(Snapshot{Scenario: "mx-routing", Seed: 1, Inputs: []Input{{Connect: "nowhere.example:25"}}}); err == nil {
		t.Error("a snapshot that connects to no host restored")
	}
}

// TestConnectToAHostThatIsDown: the dial is refused as simnet traces it,
// the terminal says it could not connect, and typing tries that host
// again rather than the scenario's server. The refusal says what a refusal
// means: the host answered, and nothing listens on the port because its
// services are stopped (a host that is down answers nothing, and the dial
// times out); it had said "host is down".
func TestConnectToAHostThatIsDown(t *testing.T) {
	w := newWorld(t, "backup-mx")
	events := connect(t, w, "mx1.example.org:25")
	if len(find(events, trace.ConnRefused, "nothing listens on port 25: the host's services are stopped")) != 1 ||
		len(find(events, trace.Note, "your terminal could not connect to mx1.example.org:25: the connection was refused")) != 1 {
		t.Fatalf("connecting to a host that is down; trace:\n%s", dumpEvents(events))
	}
	if st := w.State().Learner; st.Connected || st.Server != "mx1.example.org" || st.DialError != "the connection was refused" {
		t.Fatalf("learner state %+v, want not connected, aiming at mx1.example.org, refused", st)
	}
	events = typeAll(t, w, "EHLO laptop.example.com")
	if len(find(events, trace.ConnRefused, "")) != 1 || len(find(events, trace.Note, "the line was not sent")) != 1 {
		t.Fatalf("a line typed after the refusal; trace:\n%s", dumpEvents(events))
	}
	// A connection that works forgets the failure.
	connect(t, w, "mx2.example.org:25")
	if st := w.State().Learner; !st.Connected || st.DialError != "" {
		t.Fatalf("learner state %+v after connecting to mx2, want connected without a dial error", st)
	}
}

// TestConnectWaitsForADialNobodyAnswers: to a host that is unreachable,
// Connect waits as connect(2) does, the connect timeout, and the trace
// shows the clock move, the timed-out dial (the terminal's, to port 25)
// and the terminal's word on it.
func TestConnectWaitsForADialNobodyAnswers(t *testing.T) {
	w := faultWorld(t, `{"kind":"unreachable","host":"mx.example.org"}`)
	before := w.State().Now
	events := connect(t, w, "mx.example.org:25")
	if took := w.State().Now - before; took != 30000 {
		t.Errorf("Connect took %d virtual ms, want the 30 s connect timeout", took)
	}
	var timedOut trace.Event
	for _, e := range events {
		if e.Kind == trace.ConnClose && e.Text == "timeout" {
			timedOut = e
		}
	}
	if timedOut.Peer != "mx.example.org" || timedOut.Port != 25 || timedOut.Attrs[trace.AttrClient] != trace.ClientTerminal {
		t.Errorf("the timed-out dial: %+v", timedOut)
	}
	if len(find(events, trace.Clock, "")) != 1 ||
		len(find(events, trace.Note, "could not connect to mx.example.org:25: nothing answered, and the attempt timed out")) != 1 {
		t.Fatalf("trace:\n%s", dumpEvents(events))
	}
	// A line typed next tries that host again, and waits as long.
	before = w.State().Now
	events = typeAll(t, w, "EHLO laptop.example.com")
	if took := w.State().Now - before; took != 30000 || len(find(events, trace.Note, "could not connect to mx.example.org:25: nothing answered")) != 1 ||
		len(find(events, trace.Note, "the line was not sent")) != 1 {
		t.Fatalf("a line typed after the timeout took %d virtual ms; trace:\n%s", took, dumpEvents(events))
	}
	if st := w.State().Learner; st.Connected || st.DialError != "nothing answered, and the attempt timed out" {
		t.Fatalf("learner state %+v after the second timeout", st)
	}
}

// TestConnectToPort465StartsTLS: as with a scenario that starts there, the
// terminal shakes hands before the greeting.
func TestConnectToPort465StartsTLS(t *testing.T) {
	w := newWorld(t, "submission-with-auth")
	events := connect(t, w, "smtp.example.com:465")
	if len(steps(events)) == 0 || !reply(events, "").TLS || !w.State().Learner.TLS {
		t.Fatalf("port 465 without TLS from the start; trace:\n%s", dumpEvents(events))
	}
	events = connect(t, w, "smtp.example.com:587")
	if len(steps(events)) != 0 || reply(events, "").TLS || w.State().Learner.TLS {
		t.Fatalf("port 587 after 465 started TLS; trace:\n%s", dumpEvents(events))
	}
}

// TestConnectReplaysTheSame: a world with Connect inputs restores from its
// snapshot (as JSON, the way a permalink carries it) to the same trace,
// byte for byte, twice; undoing a Connect gives the world before it.
func TestConnectReplaysTheSame(t *testing.T) {
	run := func() *World {
		w := newWorld(t, "greylisting")
		typeAll(t, w, "EHLO laptop.example.com")
		connect(t, w, "mx.example.org:25")
		session(t, w, "alice@example.com", "bob@example.org")
		connect(t, w, "198.51.100.25:587") // the MX by its address, on a port it does not listen on
		connect(t, w, "smtp.example.com:25")
		advance(t, w, 10*time.Minute)
		return w
	}
	w := run()
	if a, b := traceJSON(t, w), traceJSON(t, run()); a != b {
		t.Fatal("the same inputs gave two different traces")
	}
	snap, err := json.Marshal(w.Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(snap), `{"connect":"mx.example.org:25"}`) {
		t.Fatalf("the snapshot does not hold the Connect input: %s", snap)
	}
	var back Snapshot
	if err := json.Unmarshal(snap, &back); err != nil {
		t.Fatal(err)
	}
	r, err := Restore(back)
	if err != nil {
		t.Fatal(err)
	}
	if traceJSON(t, r) != traceJSON(t, w) {
		t.Fatal("the restored world has another trace")
	}

	moved := newWorld(t, "greylisting")
	connect(t, moved, "mx.example.org:25")
	undone, err := moved.Undo()
	if err != nil {
		t.Fatal(err)
	}
	if traceJSON(t, undone) != traceJSON(t, newWorld(t, "greylisting")) || undone.State().Learner.Server != "smtp.example.com" {
		t.Fatal("undoing a Connect did not give the world before it")
	}
}

// traceJSON is w's whole trace as JSON.
func traceJSON(t *testing.T, w *World) string {
	t.Helper()
	b, err := json.Marshal(w.Trace())
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestServerHangUpSaysWho: a connection the server closes after a 421 (a
// busy greeting, an idle client) or a 550 for a bare LF is traced as the
// server hanging up after that reply, not as "quit", which the client's
// QUIT alone still gives.
func TestServerHangUpSaysWho(t *testing.T) {
	closeText := func(events []trace.Event) string { // the last connection's
		for i := len(events) - 1; i >= 0; i-- {
			if events[i].Kind == trace.ConnClose {
				return events[i].Text
			}
		}
		return "(no conn.close)"
	}

	busy := newWorld(t, "busy-mx")
	r, err := busy.Connect("mx1.example.org:25")
	if err != nil {
		t.Fatal(err)
	}
	// As the 421 went out: a greeting carries no enhanced status code
	// (RFC 2034 §3), even where the policy gave one.
	if got, want := closeText(r.Events), "mx1.example.org hung up after replying 421"; got != want {
		t.Errorf("after a busy greeting: %q, want %q", got, want)
	}

	idle := newWorld(t, "first-session")
	typeAll(t, idle, "EHLO laptop.example.com")
	if got, want := closeText(advance(t, idle, time.Hour)), "mx.example.org hung up after replying 421 4.4.2"; got != want {
		t.Errorf("after the idle timeout: %q, want %q", got, want)
	}

	bare := newWorld(t, "smuggling-attempt")
	typeAll(t, bare, "EHLO x.example.com", "MAIL FROM:<alice@example.com>", "RCPT TO:<bob@example.org>", "DATA")
	r, err = bare.TypeRaw(`Subject: one\r\n\r\nhi\n.\n`)
	if err != nil {
		t.Fatal(err)
	}
	if got := closeText(r.Events); !strings.HasSuffix(got, " hung up after replying 550 5.5.2") {
		t.Errorf("after a bare LF: %q, want the server hanging up after 550 5.5.2", got)
	}

	quit := newWorld(t, "first-session")
	if got := closeText(typeAll(t, quit, "EHLO laptop.example.com", "QUIT")); got != "quit" {
		t.Errorf("after QUIT: %q, want quit", got)
	}
}
