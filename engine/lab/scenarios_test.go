package lab

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"smtplab/engine/mta"
	"smtplab/engine/trace"
)

// session types a whole transaction from the learner's terminal.
func session(t *testing.T, w *World, from string, to ...string) []trace.Event {
	t.Helper()
	lines := []string{"EHLO laptop.example.com", "MAIL FROM:<" + from + ">"}
	for _, r := range to {
		lines = append(lines, "RCPT TO:<"+r+">")
	}
	lines = append(lines, "DATA", "From: "+from, "Subject: test", "", "Hello.", ".", "QUIT")
	return typeAll(t, w, lines...)
}

func advance(t *testing.T, w *World, d time.Duration) []trace.Event {
	t.Helper()
	r, err := w.Advance(d)
	if err != nil {
		t.Fatal(err)
	}
	return r.Events
}

func mailbox(w *World, host, owner string) []MessageView {
	for _, b := range w.State().Mailboxes {
		if b.Host == host && b.Owner == owner {
			return b.Messages
		}
	}
	return nil
}

// find returns the events of kind k whose text contains text.
func find(events []trace.Event, k trace.Kind, text string) []trace.Event {
	var out []trace.Event
	for _, e := range events {
		if e.Kind == k && strings.Contains(e.Text, text) {
			out = append(out, e)
		}
	}
	return out
}

func reply(events []trace.Event, verb string) trace.Event {
	for _, e := range events {
		if e.Kind == trace.Reply && e.Verb == verb {
			return e
		}
	}
	return trace.Event{}
}

// lastReply returns the last reply to verb: for DATA, the one after the
// message rather than the 354.
func lastReply(events []trace.Event, verb string) trace.Event {
	for i := len(events) - 1; i >= 0; i-- {
		if e := events[i]; e.Kind == trace.Reply && e.Verb == verb {
			return e
		}
	}
	return trace.Event{}
}

func newWorld(t *testing.T, name string) *World {
	t.Helper()
	w, err := New(name, 1)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestScenarioMXRouting(t *testing.T) {
	w := newWorld(t, "mx-routing")
	session(t, w, "alice@example.com", "bob@example.org", "dave@example.net")
	advance(t, w, time.Minute)
	if len(mailbox(w, "mx1.example.org", "bob@example.org")) != 1 {
		t.Fatalf("bob's mail did not arrive at the preferred MX mx1")
	}
	if len(mailbox(w, "example.net", "dave@example.net")) != 1 {
		t.Fatalf("dave's mail did not arrive through the implicit MX of example.net")
	}
	var mxQueries int
	for _, e := range w.Trace() {
		if e.Kind == trace.DNSQuery && e.RType == "MX" {
			mxQueries++
		}
	}
	if mxQueries < 2 {
		t.Fatalf("%d MX queries in the trace, want one per domain", mxQueries)
	}
}

func TestScenarioBackupMX(t *testing.T) {
	w := newWorld(t, "backup-mx")
	session(t, w, "alice@example.com", "bob@example.org")
	advance(t, w, time.Minute)
	events := w.Trace()
	if len(find(events, trace.ConnRefused, "")) == 0 {
		t.Fatal("the primary MX did not refuse the connection")
	}
	if len(find(events, trace.QueueDone, "delivered to mx2.example.org")) != 1 {
		t.Fatal("the message was not handed to the backup MX")
	}
	advance(t, w, 2*time.Hour)
	if len(mailbox(w, "mx1.example.org", "bob@example.org")) != 1 {
		t.Fatal("the backup did not forward the message to the primary once it was back")
	}
}

// TestScenarioBusyMX: a primary that answers with 421 is no better than
// one that cannot be reached: the relay tries the backup at once (RFC 5321
// §5.1), and the backup, which may only pass mail to better MXes, waits
// for the primary's 421s to stop.
func TestScenarioBusyMX(t *testing.T) {
	w := newWorld(t, "busy-mx")
	session(t, w, "alice@example.com", "bob@example.org")
	advance(t, w, time.Minute)
	events := w.Trace()
	busy := 0
	for _, e := range events {
		if e.Kind == trace.Reply && e.Host == "mx1.example.org" && e.Code == 421 && e.Reason == "too-many-conns" {
			busy++
		}
	}
	if busy == 0 || len(find(events, trace.ConnRefused, "")) != 0 {
		t.Fatalf("mx1 greeted %d connections with 421; refused connections: %d", busy, len(find(events, trace.ConnRefused, "")))
	}
	if len(find(events, trace.Note, "so the next MX is tried at once: mx2.example.org")) != 1 ||
		len(find(events, trace.QueueDone, "delivered to mx2.example.org")) != 1 {
		t.Fatal("the relay did not move on to the backup MX at once")
	}
	if len(mailbox(w, "mx1.example.org", "bob@example.org")) != 0 {
		t.Fatal("mx1 took the message while busy")
	}
	advance(t, w, time.Hour)
	if len(find(w.Trace(), trace.Fault, "host no longer busy")) != 1 || len(mailbox(w, "mx1.example.org", "bob@example.org")) != 1 {
		t.Fatal("the backup did not forward the message once the primary had room")
	}
}

// TestScenarioLostConnection: a delivery cut in the middle of the message
// is simply tried again, since the MX never said 250; one cut just as
// the MX says 250 leaves the MX with the message and the relay without
// the answer, so the relay sends it again and Bob gets it twice (RFC
// 1047): nothing is lost, one copy is doubled.
func TestScenarioLostConnection(t *testing.T) {
	w := newWorld(t, "lost-connection")
	session(t, w, "alice@example.com", "bob@example.org")
	advance(t, w, time.Minute)
	events := w.Trace()
	cut := find(events, trace.Fault, "connection")
	if len(cut) == 0 || cut[0].Host != "smtp.example.com" {
		t.Fatalf("the first cut did not happen on the relay's side: %+v", cut)
	}
	// The first cut falls inside the message, which the relay sends with
	// BDAT (CHUNKING): its last write before the cut carries the command
	// and the start of the message, and nothing more arrives.
	var inMessage bool
	for _, e := range events {
		if e.ID > cut[0].ID {
			break
		}
		if e.Kind == trace.Bytes && e.Host == "smtp.example.com" && e.Peer == "mx.example.org" {
			inMessage = strings.HasPrefix(e.Text, "BDAT ") && strings.Contains(e.Text, "Received: from laptop.example.com")
		}
	}
	if !inMessage || len(mailbox(w, "mx.example.org", "bob@example.org")) != 0 {
		t.Fatal("the first cut was not inside the message, or the cut message was delivered")
	}
	advance(t, w, 10*time.Minute) // the first retry: the MX takes it, its 250 is lost
	if len(find(w.Trace(), trace.Fault, "breaks just as mx.example.org sends its reply")) != 1 ||
		len(mailbox(w, "mx.example.org", "bob@example.org")) != 1 || len(find(w.Trace(), trace.QueueRetry, "")) != 2 {
		t.Fatalf("the second cut did not leave one copy with Bob and the message in the relay's queue; trace:\n%s", dumpEvents(w.Trace()))
	}
	advance(t, w, time.Hour)
	if n := len(mailbox(w, "mx.example.org", "bob@example.org")); n != 2 {
		t.Fatalf("bob has %d copies, want the duplicate too", n)
	}
	if len(w.State().Queue) != 0 {
		t.Fatalf("something is still queued: %+v", w.State().Queue)
	}
}

// TestLostRepliesAreNotReceived: the MX's 250 to the message, and the 221
// to the QUIT the relay had pipelined behind it, are in the trace as
// replies the MX sent and the relay never got (trace.AttrLost), after the
// note that the line breaks; the replies that did arrive carry no mark.
// Before, they read like an ordinary ending of the session, and the note
// came only after them.
func TestLostRepliesAreNotReceived(t *testing.T) {
	w := newWorld(t, "lost-connection")
	session(t, w, "alice@example.com", "bob@example.org")
	advance(t, w, 11*time.Minute)
	cut := find(w.Trace(), trace.Fault, "breaks just as mx.example.org sends its reply")
	if len(cut) != 1 || cut[0].Conn == 0 {
		t.Fatalf("the cut's note: %+v", cut)
	}
	var lost []string
	for _, e := range w.Trace() {
		if e.Kind != trace.Reply || e.Conn != cut[0].Conn {
			continue
		}
		if e.Attrs[trace.AttrLost] == "true" {
			if e.ID < cut[0].ID {
				t.Errorf("%d %s is marked lost before the line breaks", e.Code, e.Text)
			}
			lost = append(lost, fmt.Sprintf("%d %s", e.Code, e.Reason))
		} else if e.ID > cut[0].ID {
			t.Errorf("%d %s, after the break, is not marked lost", e.Code, e.Text)
		}
	}
	if got := strings.Join(lost, ", "); got != "250 message-accepted, 221 closing" {
		t.Errorf("lost replies: %s, want the 250 to the message and the 221", got)
	}
	for _, e := range w.Trace() {
		if e.Kind == trace.Reply && e.Conn != cut[0].Conn && e.Attrs[trace.AttrLost] != "" {
			t.Errorf("a reply on connection %d is marked lost: %+v", e.Conn, e)
		}
	}
}

func TestScenarioGreylisting(t *testing.T) {
	w := newWorld(t, "greylisting")
	session(t, w, "alice@example.com", "bob@example.org")
	advance(t, w, time.Minute)
	if r := find(w.Trace(), trace.QueueRetry, "451 4.7.1"); len(r) != 1 {
		t.Fatalf("no deferral by greylisting: %v", r)
	}
	if len(mailbox(w, "mx.example.org", "bob@example.org")) != 0 {
		t.Fatal("delivered before the greylisting delay")
	}
	advance(t, w, 10*time.Minute)
	if len(mailbox(w, "mx.example.org", "bob@example.org")) != 1 {
		t.Fatal("not delivered on the second attempt")
	}
}

func TestScenarioUnknownUserBounce(t *testing.T) {
	w := newWorld(t, "unknown-user-bounce")
	session(t, w, "alice@example.com", "nobody@example.org")
	advance(t, w, time.Minute)
	box := mailbox(w, "smtp.example.com", "alice@example.com")
	if len(box) != 1 || !strings.Contains(box[0].Raw, "Status: 5.1.1") || box[0].From != "" {
		t.Fatalf("no DSN with 5.1.1 from <> in alice's mailbox: %+v", box)
	}
	// Typed straight to the MX, the same recipient is refused at RCPT.
	w2 := newWorld(t, "first-session")
	if r := reply(typeAll(t, w2, "HELO me.example.com", "MAIL FROM:<alice@example.com>", "RCPT TO:<nobody@example.org>"), "RCPT"); r.Code != 550 || r.Reason != "unknown-user" {
		t.Fatalf("RCPT reply %+v", r)
	}
}

func TestScenarioMailboxFull(t *testing.T) {
	w := newWorld(t, "mailbox-full")
	session(t, w, "alice@example.com", "bob@example.org")
	advance(t, w, time.Minute)
	if len(find(w.Trace(), trace.QueueRetry, "452 4.2.2")) != 1 {
		t.Fatal("no 452 4.2.2 deferral")
	}
	if len(find(advance(t, w, 3*time.Hour), trace.QueueGiveUp, "")) != 1 {
		t.Fatal("the queue did not give up")
	}
	box := mailbox(w, "smtp.example.com", "alice@example.com")
	if len(box) != 1 || !strings.Contains(box[0].Raw, "Status: 4.2.2") {
		t.Fatalf("no DSN after giving up: %+v", box)
	}

	// Carol's mailbox has room for about 2 KB: a short message fits, a
	// long one is refused after its data, for good.
	for _, body := range []string{"short", strings.Repeat("a long line of text that fills the mailbox\n", 60)} {
		if _, err := w.Submit(Message{From: "alice@example.com", To: []string{"carol@example.org"}, Subject: "room?", Body: body}); err != nil {
			t.Fatal(err)
		}
	}
	advance(t, w, time.Minute)
	if got := len(mailbox(w, "mx.example.org", "carol@example.org")); got != 1 {
		t.Fatalf("carol has %d messages, want the short one", got)
	}
	refused := false
	for _, e := range w.Trace() {
		refused = refused || (e.Kind == trace.Reply && e.Code == 552 && e.Enhanced == "5.2.2" && e.Reason == "mailbox-full-permanent")
	}
	box = mailbox(w, "smtp.example.com", "alice@example.com")
	if !refused || len(box) != 2 || !strings.Contains(box[1].Raw, "Status: 5.2.2") {
		t.Fatalf("the long message was not refused with 552 5.2.2 and bounced (refused %v, %d DSNs)", refused, len(box))
	}
}

func TestScenarioRelayDenied(t *testing.T) {
	w := newWorld(t, "relay-denied")
	events := typeAll(t, w, "EHLO laptop.example.com", "MAIL FROM:<alice@example.com>", "RCPT TO:<dave@example.net>")
	if r := reply(events, "RCPT"); r.Code != 554 || r.Enhanced != "5.7.1" || r.Reason != "relay-denied" {
		t.Fatalf("RCPT reply %+v, want 554 5.7.1 relay-denied", r)
	}
}

func TestScenarioDNSFailure(t *testing.T) {
	w := newWorld(t, "dns-failure")
	session(t, w, "alice@example.com", "bob@example.org")
	advance(t, w, time.Minute)
	if len(find(w.Trace(), trace.QueueRetry, "4.4.3")) != 1 {
		t.Fatal("no deferral for the DNS failure")
	}
	advance(t, w, time.Hour)
	if len(mailbox(w, "mx.example.org", "bob@example.org")) != 1 {
		t.Fatal("not delivered once DNS answered again")
	}
}

func TestScenarioNullMX(t *testing.T) {
	w := newWorld(t, "null-mx")
	session(t, w, "alice@example.com", "dave@example.net")
	advance(t, w, time.Minute)
	box := mailbox(w, "smtp.example.com", "alice@example.com")
	if len(box) != 1 || !strings.Contains(box[0].Raw, "Status: 5.1.10") {
		t.Fatalf("no DSN with 5.1.10: %+v", box)
	}
}

func TestScenarioSizeLimit(t *testing.T) {
	w := newWorld(t, "size-limit")
	events := typeAll(t, w, "EHLO laptop.example.com")
	if !strings.Contains(reply(events, "EHLO").Text, "SIZE 2048") {
		t.Fatal("SIZE 2048 not advertised")
	}
	if r := reply(typeAll(t, w, "MAIL FROM:<alice@example.com> SIZE=100000"), "MAIL"); r.Code != 552 || r.Enhanced != "5.3.4" {
		t.Fatalf("declared oversize: %+v", r)
	}
	typeAll(t, w, "MAIL FROM:<alice@example.com>", "RCPT TO:<bob@example.org>", "DATA")
	for i := 0; i < 40; i++ {
		typeAll(t, w, strings.Repeat("x", 70))
	}
	if r := reply(typeAll(t, w, "."), "DATA"); r.Code != 552 || r.Enhanced != "5.3.4" {
		t.Fatalf("oversize message: %+v", r)
	}
}

func TestScenarioRateLimit(t *testing.T) {
	w := newWorld(t, "rate-limit")
	typeAll(t, w, "EHLO laptop.example.com")
	var codes []int
	for i := 0; i < 3; i++ {
		codes = append(codes, reply(typeAll(t, w, "MAIL FROM:<alice@example.com>"), "MAIL").Code)
		typeAll(t, w, "RSET")
	}
	if codes[0] != 250 || codes[1] != 250 || codes[2] != 450 {
		t.Fatalf("MAIL replies %v, want 250 250 450", codes)
	}
	advance(t, w, 2*time.Minute)
	if c := reply(typeAll(t, w, "EHLO laptop.example.com", "MAIL FROM:<alice@example.com>"), "MAIL").Code; c != 250 {
		t.Fatalf("after the window MAIL got %d", c)
	}

	// Connections: the one above was opened minutes ago. Of the five new
	// ones, the fifth within the minute is refused at the greeting, and
	// the server closes it.
	var greetings []int
	for i := 0; i < 5; i++ {
		for _, e := range typeAll(t, w, "QUIT", "NOOP") {
			if e.Kind == trace.Reply && e.Verb == "" {
				greetings = append(greetings, e.Code)
			}
		}
	}
	if fmt.Sprint(greetings) != "[220 220 220 220 421]" {
		t.Fatalf("greetings %v, want four 220 then 421", greetings)
	}
}

func TestContentFilterRejectsTestVirusAndSpam(t *testing.T) {
	for name, body := range map[string]string{"eicar": mta.EICAR, "gtube": mta.GTUBE} {
		w := newWorld(t, "first-session")
		events := typeAll(t, w, "EHLO laptop.example.com", "MAIL FROM:<alice@example.com>", "RCPT TO:<bob@example.org>",
			"DATA", "Subject: "+name, "", body, ".")
		var last trace.Event
		for _, e := range events {
			if e.Kind == trace.Reply {
				last = e
			}
		}
		if last.Code != 554 || last.Enhanced != "5.7.1" || last.Reason != "content-rejected" {
			t.Errorf("%s: reply after the message %+v, want 554 5.7.1 content-rejected", name, last)
		}
		if len(mailbox(w, "mx.example.org", "bob@example.org")) != 0 {
			t.Errorf("%s: the message was delivered", name)
		}
	}
}

// RFC 5321 §4.5.1: every server accepts mail for <Postmaster>, with or
// without its domain, even though no user is called that.
func TestPostmasterIsAlwaysAccepted(t *testing.T) {
	for _, rcpt := range []string{"<Postmaster>", "<postmaster@example.org>"} {
		w := newWorld(t, "first-session")
		events := typeAll(t, w, "EHLO laptop.example.com", "MAIL FROM:<alice@example.com>", "RCPT TO:"+rcpt,
			"DATA", "Subject: hello postmaster", "", "hi", ".")
		if r := reply(events, "RCPT"); r.Code != 250 {
			t.Fatalf("RCPT TO:%s got %+v, want 250", rcpt, r)
		}
		var delivered bool
		for _, e := range events {
			delivered = delivered || (e.Kind == trace.Delivery && strings.EqualFold(strings.Split(e.Rcpt, "@")[0], "postmaster"))
		}
		if !delivered {
			t.Fatalf("mail to %s was not delivered", rcpt)
		}
	}
}

// RFC 5321 §6.1: a message with the null sender (a bounce) that fails is
// dropped, never bounced, so two servers cannot bounce mail back and forth.
func TestBouncesAreNeverBounced(t *testing.T) {
	w := newWorld(t, "unknown-user-bounce")
	session(t, w, "", "nobody@example.org")
	advance(t, w, time.Minute)
	if n := len(find(w.Trace(), trace.Bounce, "")); n != 0 {
		t.Fatalf("%d bounces created for a failed bounce", n)
	}
	if len(find(w.Trace(), trace.Note, "bounces are never bounced")) != 1 {
		t.Fatalf("the dropped bounce is not explained in the trace:\n%s", dumpEvents(w.Trace()))
	}
	if len(w.State().Queue) != 0 {
		t.Fatal("the failed bounce is still queued")
	}
}

func TestScenarioSPFCheck(t *testing.T) {
	w := newWorld(t, "spf-check")
	// example.com allows only its MX, smtp.example.com: the laptop is refused,
	// after the lookups that decided, which the trace shows first.
	events := typeAll(t, w, "EHLO laptop.example.com", "MAIL FROM:<alice@example.com>")
	r := reply(events, "MAIL")
	if r.Code != 550 || r.Enhanced != "5.7.23" || r.Reason != "spf-fail" {
		t.Fatalf("MAIL reply %+v, want 550 5.7.23 spf-fail", r)
	}
	var command trace.Event
	for _, e := range events {
		if e.Kind == trace.Command && e.Verb == "MAIL" {
			command = e
		}
	}
	var looked []string
	for _, e := range events {
		if e.Kind == trace.DNSQuery && e.ID > command.ID && e.ID < r.ID {
			looked = append(looked, e.RType+" "+e.Name)
		}
	}
	if strings.Join(looked, ", ") != "TXT example.com, MX example.com, A smtp.example.com" {
		t.Errorf("queries between MAIL and its reply: %v", looked)
	}
	if len(find(events, trace.Note, `SPF check of example.com ("v=spf1 mx -all") for client 192.0.2.10: fail`)) != 1 {
		t.Errorf("no note of the verdict")
	}
	// A bounce's null sender is checked by the HELO name (RFC 7208 §2.4),
	// which publishes nothing here.
	events = typeAll(t, w, "MAIL FROM:<>")
	if r := reply(events, "MAIL"); r.Code != 250 || len(find(events, trace.Note, "SPF check of laptop.example.com for client 192.0.2.10: none")) != 1 {
		t.Errorf("MAIL FROM:<> got %d, notes %v", r.Code, find(events, trace.Note, "SPF"))
	}
	for _, c := range []struct {
		from, code, enhanced, reason string
	}{
		{"dave@broken.example", "550", "5.7.24", "spf-permerror"},
		{"news@shop.example", "550", "5.7.23", "spf-fail"},
		{"carol@example.net", "250", "2.1.0", "sender-ok"},
	} {
		events := typeAll(t, w, "RSET", "MAIL FROM:<"+c.from+">")
		if r := reply(events, "MAIL"); fmt.Sprint(r.Code) != c.code || r.Enhanced != c.enhanced || r.Reason != c.reason {
			t.Errorf("MAIL FROM:<%s>: %d %s %s, want %s %s %s", c.from, r.Code, r.Enhanced, r.Reason, c.code, c.enhanced, c.reason)
		}
	}
	// The accepted senders' messages carry what the checks found, the
	// newest on top, above the Received header of the hop that checked.
	typeAll(t, w, "RCPT TO:<bob@example.org>", "DATA", "From: Carol <carol@example.net>", "Subject: allowed", "", "Hello.", ".")
	typeAll(t, w, "MAIL FROM:<eve@lenient.example>", "RCPT TO:<bob@example.org>", "DATA", "From: eve@lenient.example", "Subject: lenient", "", "Hi.", ".")
	typeAll(t, w, "MAIL FROM:<me@laptop.example.com>", "RCPT TO:<bob@example.org>", "DATA", "Subject: no From: line", "", "Hey.", ".")
	// DMARC: SPF passes for example.net, but the From: line says
	// example.com, whose policy is p=reject.
	events = typeAll(t, w, "MAIL FROM:<carol@example.net>", "RCPT TO:<bob@example.org>", "DATA", "From: Alice <alice@example.com>", "Subject: forged", "", "Trust me.", ".")
	if r := lastReply(events, "DATA"); r.Code != 550 || r.Enhanced != "5.7.1" || r.Reason != "dmarc-reject" {
		t.Errorf("the forged From: got %d %s %s, want 550 5.7.1 dmarc-reject", r.Code, r.Enhanced, r.Reason)
	}
	if len(find(events, trace.Note, "DMARC check of From: example.com: fail (p=reject). SPF passed for example.net, but that is not aligned")) != 1 {
		t.Errorf("no DMARC verdict in %v", find(events, trace.Note, "DMARC"))
	}
	// The same, with the From: line of shop.example, whose policy is
	// p=quarantine: taken, but marked as junk.
	events = typeAll(t, w, "MAIL FROM:<carol@example.net>", "RCPT TO:<bob@example.org>", "DATA", "From: Shop <news@shop.example>", "Subject: a bargain", "", "Buy now.", ".")
	if r := lastReply(events, "DATA"); r.Code != 250 || r.Reason != "message-accepted" {
		t.Errorf("the From: of a quarantining domain got %d %s %s, want 250 message-accepted", r.Code, r.Enhanced, r.Reason)
	}
	if len(find(events, trace.Note, "DMARC check of From: shop.example: fail (p=quarantine).")) != 1 || len(find(events, trace.Note, "Quarantined")) != 1 {
		t.Errorf("no quarantine in %v", find(events, trace.Note, "DMARC"))
	}
	if d := find(events, trace.Delivery, ""); len(d) != 1 || d[0].Attrs["disposition"] != "quarantine" || d[0].Attrs["dmarc"] != "fail" {
		t.Errorf("the quarantined delivery: %+v", d)
	}
	typeAll(t, w, "QUIT")
	box := mailbox(w, "mx.example.org", "bob@example.org")
	if len(box) != 4 {
		t.Fatalf("bob has %d messages, want 4", len(box))
	}
	for i, want := range []string{
		"Return-Path: <carol@example.net>\r\nAuthentication-Results: mx.example.org; spf=pass smtp.mailfrom=example.net;\r\n\tdkim=none;\r\n\tdmarc=pass (p=none) header.from=example.net\r\n" +
			"Received-SPF: pass (mx.example.org: domain of carol@example.net designates 192.0.2.10 as permitted sender)\r\n\tclient-ip=192.0.2.10; envelope-from=carol@example.net;\r\nReceived: from laptop.example.com",
		"Return-Path: <eve@lenient.example>\r\nAuthentication-Results: mx.example.org; spf=softfail smtp.mailfrom=lenient.example;\r\n\tdkim=none;\r\n\tdmarc=none header.from=lenient.example\r\nReceived-SPF: softfail (",
		"Return-Path: <me@laptop.example.com>\r\nReceived-SPF: none (",
		"Return-Path: <carol@example.net>\r\nX-Spam-Flag: YES\r\nAuthentication-Results: mx.example.org; spf=pass smtp.mailfrom=example.net;\r\n\tdkim=none;\r\n\tdmarc=fail (p=quarantine dis=quarantine) header.from=shop.example\r\nReceived-SPF: pass (",
	} {
		if !strings.HasPrefix(box[i].Raw, want) {
			t.Errorf("message %d starts\n%q\nwant\n%q", i, box[i].Raw[:min(len(box[i].Raw), 400)], want)
		}
	}
}

// TestDMARCPassWhenAligned: the same From: domain as the SPF-checked
// envelope sender passes, and the message arrives.
func TestDMARCPassWhenAligned(t *testing.T) {
	sc, err := LoadScenario("spf-check")
	if err != nil {
		t.Fatal(err)
	}
	// Let the laptop send for example.com too.
	sc.Zone = strings.Replace(sc.Zone, `"v=spf1 mx -all"`, `"v=spf1 mx ip4:192.0.2.10 -all"`, 1)
	w, err := build(sc, 1)
	if err != nil {
		t.Fatal(err)
	}
	events := typeAll(t, w, "EHLO laptop.example.com", "MAIL FROM:<alice@example.com>", "RCPT TO:<bob@example.org>",
		"DATA", "From: Alice <alice@example.com>", "", "Hi Bob.", ".")
	if r := lastReply(events, "DATA"); r.Code != 250 {
		t.Fatalf("the end of the data got %d %s", r.Code, r.Text)
	}
	if !strings.Contains(mailbox(w, "mx.example.org", "bob@example.org")[0].Raw, "dmarc=pass (p=reject) header.from=example.com") {
		t.Errorf("no dmarc=pass in\n%s", mailbox(w, "mx.example.org", "bob@example.org")[0].Raw)
	}
}

// TestDKIM: mail Alice's mail client submits goes through her provider,
// smtp.example.com, which signs it, and mx.example.org verifies it; the
// same signed message, sent on from the terminal by someone else, still
// passes DMARC through DKIM, and with its body changed it is refused.
func TestDKIM(t *testing.T) {
	w, err := New("spf-check", 1)
	if err != nil {
		t.Fatal(err)
	}
	res, err := w.Submit(Message{From: "alice@example.com", To: []string{"bob@example.org"}, Subject: "Signed", Body: "Hello Bob."})
	if err != nil {
		t.Fatal(err)
	}
	w.Advance(time.Minute)
	events := w.Trace()
	if len(find(events, trace.Note, "DKIM: signed for example.com with the key published at lab._domainkey.example.com")) != 1 {
		t.Errorf("no signing note in %v", find(res.Events, trace.Note, "DKIM"))
	}
	if len(find(events, trace.Note, "DKIM signature by example.com (s=lab): pass")) != 1 {
		t.Errorf("no verification note in %v", find(events, trace.Note, "DKIM"))
	}
	var asked bool
	for _, e := range events {
		asked = asked || (e.Kind == trace.DNSQuery && e.Host == "mx.example.org" && e.Name == "lab._domainkey.example.com" && e.RType == "TXT")
	}
	if !asked {
		t.Error("the MX did not look up the key")
	}
	box := mailbox(w, "mx.example.org", "bob@example.org")
	if len(box) != 1 {
		t.Fatalf("bob has %d messages", len(box))
	}
	raw := box[0].Raw
	for _, want := range []string{"spf=pass smtp.mailfrom=example.com;\r\n\tdkim=pass header.d=example.com header.s=lab;\r\n\tdmarc=pass (p=reject) header.from=example.com",
		"DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n\td=example.com; s=lab;"} {
		if !strings.Contains(raw, want) {
			t.Errorf("the message lacks %q:\n%s", want, raw)
		}
	}
	// What a forwarder does: the signed message, sent on from another
	// domain. SPF passes for example.net, not aligned; DKIM carries it.
	signed := raw[strings.Index(raw, "DKIM-Signature:"):]
	for _, c := range []struct {
		name, body string
		code       int
	}{
		{"as signed", signed, 250},
		{"with a footer", strings.TrimSuffix(signed, "\r\n") + "\r\n-- \r\nForwarded by carol\r\n", 550},
	} {
		lines := []string{"EHLO laptop.example.com", "MAIL FROM:<carol@example.net>", "RCPT TO:<bob@example.org>", "DATA"}
		lines = append(lines, strings.Split(strings.TrimSuffix(c.body, "\r\n"), "\r\n")...)
		events := typeAll(t, w, append(lines, ".", "RSET")...)
		if r := lastReply(events, "DATA"); r.Code != c.code {
			t.Errorf("%s: %d %s, want %d", c.name, r.Code, r.Text, c.code)
		}
	}
}

// TestDKIMWhoSigns: a host signs only its own users' mail from its own
// domains, and a key the scenario publishes itself (here a revoked one)
// is the one verifiers find.
func TestDKIMWhoSigns(t *testing.T) {
	sc, err := LoadScenario("spf-check")
	if err != nil {
		t.Fatal(err)
	}
	sc.Zone += "lab._domainkey.example.com. TXT \"v=DKIM1; k=ed25519; p=\"\n"
	w, err := build(sc, 1)
	if err != nil {
		t.Fatal(err)
	}
	// Alice's own mail: signed, but with the key revoked it cannot verify;
	// SPF passes for example.com, so DMARC still lets it in.
	if _, err := w.Submit(Message{From: "alice@example.com", To: []string{"bob@example.org"}, Subject: "Revoked", Body: "Hi."}); err != nil {
		t.Fatal(err)
	}
	// Someone else's domain, from the same user: smtp.example.com does not
	// sign for example.net.
	if _, err := w.Submit(Message{From: "carol@example.net", To: []string{"bob@example.org"}, Subject: "Not ours", Body: "Hi."}); err != nil {
		t.Fatal(err)
	}
	box := mailbox(w, "mx.example.org", "bob@example.org")
	if len(box) != 2 {
		t.Fatalf("bob has %d messages, want 2", len(box))
	}
	if raw := box[0].Raw; !strings.Contains(raw, "dkim=permerror header.d=example.com header.s=lab;") || !strings.Contains(raw, "dmarc=pass") {
		t.Errorf("the message signed with a revoked key:\n%s", raw)
	}
	if len(find(w.Trace(), trace.Note, "The key at lab._domainkey.example.com is revoked")) != 1 {
		t.Errorf("the verifier did not find the scenario's own (revoked) key: %v", find(w.Trace(), trace.Note, "DKIM signature"))
	}
	if raw := box[1].Raw; strings.Contains(raw, "DKIM-Signature:") || !strings.Contains(raw, "dkim=none;") {
		t.Errorf("example.net's message was signed by example.com's server:\n%s", raw)
	}
	// A client that is neither authenticated nor trusted gets nothing
	// signed, even for example.com.
	sc.Hosts[1].RelayFrom = nil
	sc.Learner.Connect, sc.Learner.Port = "smtp.example.com", 25
	w, err = build(sc, 1)
	if err != nil {
		t.Fatal(err)
	}
	events := typeAll(t, w, "EHLO laptop.example.com", "MAIL FROM:<alice@example.com>", "RCPT TO:<alice@example.com>",
		"DATA", "From: Alice <alice@example.com>", "", "A note to self.", ".")
	if r := lastReply(events, "DATA"); r.Code != 250 || len(find(events, trace.Note, "DKIM")) != 0 {
		t.Errorf("an outsider's message: %d %s, DKIM notes %v", r.Code, r.Text, find(events, trace.Note, "DKIM"))
	}
	if raw := mailbox(w, "smtp.example.com", "alice@example.com")[0].Raw; strings.Contains(raw, "DKIM-Signature:") {
		t.Errorf("an outsider's message was signed:\n%s", raw)
	}
}

func TestSPFTempError(t *testing.T) {
	sc, err := LoadScenario("spf-check")
	if err != nil {
		t.Fatal(err)
	}
	sc.Faults = append(sc.Faults, Fault{Kind: "dns", Name: "example.net", RType: "TXT", Error: "SERVFAIL"})
	w, err := build(sc, 1)
	if err != nil {
		t.Fatal(err)
	}
	events := typeAll(t, w, "EHLO laptop.example.com", "MAIL FROM:<carol@example.net>")
	if r := reply(events, "MAIL"); r.Code != 451 || r.Enhanced != "4.7.24" || r.Reason != "spf-temperror" {
		t.Fatalf("MAIL reply %+v, want 451 4.7.24 spf-temperror", r)
	}
}

// TestScenarioSTARTTLSDowngrade: a man in the middle hides STARTTLS from
// the relay's view of both MX hosts for half an hour. The relay is
// opportunistic towards example.org, which publishes no TLSA record, so
// Bob's copy goes in plain text at once; example.net's signed TLSA record
// makes TLS mandatory (RFC 7672), so Dave's copy waits in the queue and
// leaves over TLS, its certificate authenticated by the record, once the
// man in the middle is gone.
func TestScenarioSTARTTLSDowngrade(t *testing.T) {
	w := newWorld(t, "starttls-downgrade")
	session(t, w, "alice@example.com", "bob@example.org", "dave@example.net")
	advance(t, w, time.Minute)
	events := w.Trace()
	bob := mailbox(w, "mx.example.org", "bob@example.org")
	if len(bob) != 1 || !strings.Contains(bob[0].Received[0], "with ESMTP ") {
		t.Fatalf("bob's message did not arrive in plain text: %+v; trace:\n%s", bob, dumpEvents(events))
	}
	for _, e := range events {
		if e.Kind == trace.TLSStep && e.Host == "smtp.example.com" {
			t.Fatalf("the relay started TLS although STARTTLS was hidden: %+v", e)
		}
		if e.Kind == trace.Command && e.Host == "smtp.example.com" && e.Peer == "mx.example.net" && e.Verb != "EHLO" && e.Verb != "QUIT" {
			t.Fatalf("the relay sent %s to mx.example.net without TLS", e.Text)
		}
	}
	if len(find(events, trace.Fault, "rewrote STARTTLS to XXXXXXXA in mx.example.org's reply")) != 1 ||
		len(find(events, trace.Fault, "rewrote STARTTLS to XXXXXXXA in mx.example.net's reply")) != 1 {
		t.Fatal("the trace does not show the man in the middle at work on both links")
	}
	var tlsaSecure, tlsaOrg bool
	for _, e := range events {
		if e.Kind == trace.DNSAnswer && e.RType == "TLSA" {
			tlsaSecure = tlsaSecure || e.Name == "_25._tcp.mx.example.net" && e.Attrs["dnssec"] == "secure" && strings.Contains(e.Text, "TLSA 3 1 1")
			tlsaOrg = tlsaOrg || e.Name == "_25._tcp.mx.example.org" && e.Error == "NXDOMAIN"
		}
	}
	if !tlsaSecure || !tlsaOrg ||
		len(find(events, trace.Note, "DANE does not apply to mx.example.org: no TLSA records")) != 1 ||
		len(find(events, trace.Note, "DANE applies to mx.example.net")) != 1 ||
		len(find(events, trace.Note, "DANE: mx.example.net[203.0.113.25] did not offer STARTTLS")) != 1 {
		t.Fatalf("the trace does not explain the two decisions; trace:\n%s", dumpEvents(events))
	}
	// The relay says where it goes on in clear: nothing on the wire shows
	// the offer was struck. Towards mx.example.net it does not go on.
	if clear := find(events, trace.Note, "no TLS with "); len(clear) != 1 || clear[0].Peer != "mx.example.org" ||
		!strings.Contains(clear[0].Text, "does not offer STARTTLS: the session goes on in plaintext (opportunistic TLS, RFC 7435)") {
		t.Fatalf("the relay's notes of going on in plaintext: %+v, want one, for mx.example.org", clear)
	}
	retries := find(events, trace.QueueRetry, "TLS is required")
	if len(mailbox(w, "mx.example.net", "dave@example.net")) != 0 || len(retries) != 1 || retries[0].Rcpt != "dave@example.net" {
		t.Fatalf("dave's copy is not waiting in the queue: %+v", retries)
	}

	later := advance(t, w, time.Hour)
	dave := mailbox(w, "mx.example.net", "dave@example.net")
	if len(dave) != 1 || !strings.Contains(dave[0].Received[0], "with ESMTPS") {
		t.Fatalf("dave's copy was not delivered over TLS once the man in the middle left: %+v; trace:\n%s", dave, dumpEvents(later))
	}
	var authenticated bool
	for _, e := range later {
		if e.Kind == trace.TLSStep && e.Step == "verify" && e.Peer == "mx.example.net" {
			authenticated = e.Attrs["verify"] == "ok" && strings.HasPrefix(e.Attrs["tlsa"], "3 1 1 ")
		}
	}
	if !authenticated || len(find(later, trace.Fault, "is gone")) != 2 {
		t.Fatalf("the TLS delivery was not authenticated with DANE; trace:\n%s", dumpEvents(later))
	}
	if len(w.State().Queue) != 0 || len(mailbox(w, "mx.example.org", "bob@example.org")) != 1 {
		t.Fatal("something is left in the queue, or bob got his copy twice")
	}
}

// TestScenarioHomeNetwork: at home, the Internet provider filters
// outgoing port 25. The laptop's connections to the MX on 25, and to its
// own provider's port 25, time out; the submission port 587 answers, wants
// a login before it relays, and with STARTTLS and AUTH takes the message,
// which the provider's server, not filtered, delivers to Bob. The world,
// timeouts and all, restores from its snapshot to the same trace.
func TestScenarioHomeNetwork(t *testing.T) {
	w := newWorld(t, "home-network")
	if st := w.State().Learner; !st.Connected || st.Server != "smtp.example.com" || st.Port != 587 {
		t.Fatalf("the terminal starts at %+v, want connected to smtp.example.com:587", st)
	}
	for _, target := range []string{"mx.example.org:25", "smtp.example.com:25"} {
		events := connect(t, w, target)
		host, _, _ := strings.Cut(target, ":")
		if len(find(events, trace.Fault, "a filter on laptop.home.example's network dropped its connection request to "+target)) != 1 ||
			len(find(events, trace.Note, "could not connect to "+target+": nothing answered")) != 1 || len(find(events, trace.ConnOpen, "")) != 0 {
			t.Fatalf("connecting to %s from home; trace:\n%s", host, dumpEvents(events))
		}
	}
	connect(t, w, "smtp.example.com:587")
	events := typeAll(t, w, "EHLO laptop.home.example", "MAIL FROM:<alice@example.com>")
	if r := reply(events, "MAIL"); r.Code != 530 {
		t.Fatalf("MAIL before logging in on 587: %d %s, want 530", r.Code, r.Text)
	}
	events = typeAll(t, w, "STARTTLS", "EHLO laptop.home.example", "AUTH PLAIN AGFsaWNlQGV4YW1wbGUuY29tAHdvbmRlcmxhbmQ=",
		"MAIL FROM:<alice@example.com>", "RCPT TO:<bob@example.org>", "DATA", "Subject: from home", "", "Sent on 587.", ".", "QUIT")
	var fromHome []trace.Event // the relay's own delivery to the MX follows at once
	for _, e := range events {
		if e.Peer == "laptop.home.example" {
			fromHome = append(fromHome, e)
		}
	}
	if got := strings.Join(replies(fromHome), "|"); got != "STARTTLS 220|EHLO 250|AUTH 235|MAIL 250|RCPT 250|DATA 354|DATA 250|QUIT 221" {
		t.Fatalf("the submission on 587: %s", got)
	}
	advance(t, w, time.Minute)
	if box := mailbox(w, "mx.example.org", "bob@example.org"); len(box) != 1 || !strings.Contains(box[0].Received[len(box[0].Received)-1], "ESMTPSA") {
		t.Fatalf("Bob's mailbox %+v, want the message the provider took with TLS and AUTH (ESMTPSA)", box)
	}
	r, err := Restore(w.Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	if traceJSON(t, r) != traceJSON(t, w) {
		t.Fatal("the restored home network has another trace")
	}
}
