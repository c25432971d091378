package lab

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"smtplab/engine/trace"
)

// faultWorld is first-session's cast with the given faults, the learner
// typing to the relay smtp.example.com.
func faultWorld(t *testing.T, faults string) *World {
	t.Helper()
	sc, err := LoadScenario("greylisting")
	if err != nil {
		t.Fatal(err)
	}
	sc.Name = "faults"
	sc.Hosts[2].Greylist = 0
	if err := decodeFaults(sc, faults); err != nil {
		t.Fatal(err)
	}
	w, err := build(sc, 1)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestFaultDropMidDATAIsRetried(t *testing.T) {
	// The relay's connection to the MX is cut after 550 bytes: inside the
	// message, after the TLS handshake and the envelope (the scenario
	// lost-connection shows where). The MX never said 250, so the relay
	// keeps the message and delivers it on the next attempt; nothing is
	// lost or delivered twice.
	w := faultWorld(t, `{"kind":"drop","host":"smtp.example.com","peer":"mx.example.org","afterBytes":550}`)
	session(t, w, "alice@example.com", "bob@example.org")
	if len(find(w.Trace(), trace.Fault, "")) == 0 {
		t.Fatal("the drop fault did not fire")
	}
	if len(find(w.Trace(), trace.QueueRetry, "")) != 1 {
		t.Fatalf("the cut delivery was not deferred; trace:\n%s", dumpEvents(w.Trace()))
	}
	advance(t, w, 10*time.Minute)
	if n := len(mailbox(w, "mx.example.org", "bob@example.org")); n != 1 {
		t.Fatalf("bob has %d messages, want exactly 1", n)
	}
}

func TestFaultUnreachableTimesOut(t *testing.T) {
	w := faultWorld(t, `{"kind":"unreachable","host":"mx.example.org","until":"20m0s"}`)
	session(t, w, "alice@example.com", "bob@example.org")
	advance(t, w, time.Minute)
	var timedOut bool
	for _, e := range w.Trace() {
		if e.Kind == trace.ConnClose && strings.Contains(e.Text, "timeout") {
			timedOut = true
		}
	}
	if !timedOut || len(mailbox(w, "mx.example.org", "bob@example.org")) != 0 {
		t.Fatal("the dial to an unreachable MX did not time out")
	}
	advance(t, w, time.Hour)
	if len(mailbox(w, "mx.example.org", "bob@example.org")) != 1 {
		t.Fatal("not delivered once the MX was reachable again")
	}
}

// TestFaultBlockPort: a filter on the relay's network drops its
// connections to port 25 for 20 minutes: the delivery to the MX times out
// as if the MX were unreachable, stays queued, and goes through once the
// filter lifts. The learner's own connection (port 25 from the laptop)
// is not the relay's and is not touched.
func TestFaultBlockPort(t *testing.T) {
	w := faultWorld(t, `{"kind":"block-port","host":"smtp.example.com","port":25,"until":"20m"}`)
	session(t, w, "alice@example.com", "bob@example.org")
	advance(t, w, time.Minute)
	// The relay dials the address DNS gave for the MX.
	if len(find(w.Trace(), trace.Fault, "a filter on smtp.example.com's network dropped its connection request to 198.51.100.25:25")) != 1 {
		t.Fatalf("the relay's dial was not filtered; trace:\n%s", dumpEvents(w.Trace()))
	}
	var timedOut bool
	for _, e := range w.Trace() {
		timedOut = timedOut || e.Kind == trace.ConnClose && e.Text == "timeout" && e.Peer == "mx.example.org" && e.Port == 25
	}
	if !timedOut || len(mailbox(w, "mx.example.org", "bob@example.org")) != 0 {
		t.Fatal("the filtered delivery did not time out")
	}
	advance(t, w, time.Hour)
	if len(find(w.Trace(), trace.Fault, "outgoing connections to port 25 are allowed again")) != 1 ||
		len(mailbox(w, "mx.example.org", "bob@example.org")) != 1 {
		t.Fatal("not delivered once the filter lifted")
	}
}

func TestFaultSlowLink(t *testing.T) {
	w := faultWorld(t, `{"kind":"latency","host":"laptop.example.com","peer":"smtp.example.com","latency":"2s"}`)
	before := w.State().Now
	typeAll(t, w, "NOOP")
	if took := w.State().Now - before; took < 4000 {
		t.Fatalf("a round trip on a 2 s link took %d ms", took)
	}
}

func TestFaultStripSTARTTLS(t *testing.T) {
	// A man in the middle hides STARTTLS: the opportunistic relay sends in
	// plaintext; the message still arrives, without TLS.
	w := faultWorld(t, `{"kind":"strip-starttls","host":"smtp.example.com","peer":"mx.example.org"}`)
	session(t, w, "alice@example.com", "bob@example.org")
	advance(t, w, time.Minute)
	box := mailbox(w, "mx.example.org", "bob@example.org")
	if len(box) != 1 || strings.Contains(box[0].Received[0], "ESMTPS") {
		t.Fatalf("want one message received without TLS: %+v", box)
	}
	if len(steps(w.Trace())) != 0 {
		t.Fatal("a TLS handshake happened although STARTTLS was stripped")
	}
}

// decodeFaults replaces sc's faults with the JSON list given and checks
// the scenario again.
func decodeFaults(sc *Scenario, faults string) error {
	var list []Fault
	if err := json.Unmarshal([]byte("["+faults+"]"), &list); err != nil {
		return err
	}
	sc.Faults = list
	return sc.Validate()
}

// TestFaultStripSTARTTLSPerPair: each strip-starttls fault has its own
// pair of hosts and its own end; one healing leaves the other in place.
func TestFaultStripSTARTTLSPerPair(t *testing.T) {
	w := faultWorld(t, `{"kind":"strip-starttls","host":"smtp.example.com","peer":"mx.example.org","until":"10m"},
		{"kind":"strip-starttls","host":"laptop.example.com","peer":"smtp.example.com"}`)
	// The server's reply offers STARTTLS, and the wire carries XXXXXXXA.
	events := typeAll(t, w, "EHLO laptop.example.com")
	if len(find(events, trace.Fault, "rewrote STARTTLS to XXXXXXXA in smtp.example.com's reply")) != 1 ||
		len(find(events, trace.Bytes, "XXXXXXXA")) != 1 || len(find(events, trace.Bytes, "STARTTLS")) != 0 {
		t.Fatalf("the learner's EHLO reply was not rewritten on the wire; trace:\n%s", dumpEvents(events))
	}
	advance(t, w, 15*time.Minute)
	session(t, w, "alice@example.com", "bob@example.org")
	advance(t, w, time.Minute)
	box := mailbox(w, "mx.example.org", "bob@example.org")
	if len(box) != 1 || !strings.Contains(box[0].Received[0], "ESMTPS") {
		t.Fatalf("after the first man in the middle left, the relay did not use TLS: %+v", box)
	}
	if len(find(w.Trace(), trace.Fault, "the man in the middle between smtp.example.com and mx.example.org is gone")) != 1 {
		t.Fatal("the trace does not say which man in the middle left")
	}
}
