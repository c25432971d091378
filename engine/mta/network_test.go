package mta

import (
	"bytes"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"smtplab/engine/client"
	"smtplab/engine/dns"
	"smtplab/engine/server"
	"smtplab/engine/simnet"
	"smtplab/engine/trace"
)

const testZone = `example.com. MX 10 smtp.example.com.
smtp.example.com. A 192.0.2.25
laptop.example.com. A 192.0.2.10
example.org. MX 10 mx.example.org.
mx.example.org. A 198.51.100.25
example.net. MX 0 .
`

// testNet builds laptop → smtp.example.com (relays for the laptop) →
// mx.example.org (bob's mailbox), with changes applied to the MX config.
func testNet(t *testing.T, mx func(*HostConfig), relay func(*HostConfig)) *Network {
	t.Helper()
	zone, err := dns.ParseZone(testZone)
	if err != nil {
		t.Fatal(err)
	}
	n := NewNetwork(simnet.New(1), dns.NewResolver(zone))
	cfgs := []HostConfig{
		{Name: "laptop.example.com", Addrs: []string{"192.0.2.10"}},
		{Name: "smtp.example.com", Addrs: []string{"192.0.2.25"}, Ports: []int{25, 587}, Domains: []string{"example.com"},
			Users: []string{"alice@example.com"}, Passwords: map[string]string{"alice@example.com": "wonderland"}, RelayFrom: []string{"192.0.2.0/24"}},
		{Name: "mx.example.org", Addrs: []string{"198.51.100.25"}, Ports: []int{25}, Domains: []string{"example.org"}, Users: []string{"bob@example.org"}},
	}
	if relay != nil {
		relay(&cfgs[1])
	}
	if mx != nil {
		mx(&cfgs[2])
	}
	for _, c := range cfgs {
		if _, err := n.AddHost(c); err != nil {
			t.Fatal(err)
		}
	}
	return n
}

// submit sends a message from the laptop to smtp.example.com:25 and
// returns the outcome once the world has settled.
func submit(t *testing.T, n *Network, to ...string) client.Outcome {
	t.Helper()
	env, err := client.ParseEnvelope("alice@example.com", to...)
	if err != nil {
		t.Fatal(err)
	}
	return submitEnvelope(t, n, env)
}

// submitEnvelope is submit with an envelope of the test's own, such as one
// with DSN parameters.
func submitEnvelope(t *testing.T, n *Network, env client.Envelope) client.Outcome {
	t.Helper()
	return submitMessage(t, n, env, "From: alice@example.com\r\nSubject: lunch?\r\n\r\nAt noon?\r\n")
}

// submitMessage is submitEnvelope with a message of the test's own.
func submitMessage(t *testing.T, n *Network, env client.Envelope, msg string) client.Outcome {
	t.Helper()
	laptop, _ := n.Host("laptop.example.com")
	var got *client.Outcome
	n.Send(SendRequest{From: laptop, To: "smtp.example.com", Port: 25, Config: client.Config{Hostname: "laptop.example.com"},
		Envelope: env, Data: []byte(msg),
		Done: func(out client.Outcome, err error) {
			if err != nil {
				t.Fatalf("connect: %v", err)
			}
			got = &out
		}})
	n.Net.Settle()
	if got == nil {
		t.Fatal("submission did not finish")
	}
	return *got
}

func kinds(log *trace.Log, k trace.Kind) []trace.Event {
	var out []trace.Event
	for _, e := range log.All() {
		if e.Kind == k {
			out = append(out, e)
		}
	}
	return out
}

func TestRelayDeliversThroughMX(t *testing.T) {
	n := testNet(t, nil, nil)
	if out := submit(t, n, "bob@example.org"); out.Status != client.Delivered {
		t.Fatalf("submission outcome %v: %+v", out.Status, out)
	}
	n.Net.Advance(time.Minute)
	mx, _ := n.Host("mx.example.org")
	msgs := mx.Mailboxes.Messages("bob@example.org")
	if len(msgs) != 1 {
		t.Fatalf("bob has %d messages; trace:\n%s", len(msgs), dump(n.Net.Log()))
	}
	raw := string(msgs[0].Raw)
	if !strings.HasPrefix(raw, "Return-Path: <alice@example.com>\r\nReceived: from smtp.example.com") ||
		strings.Count(raw, "Received: ") != 2 {
		t.Fatalf("stored message lacks Return-Path or the two Received headers:\n%s", raw)
	}
	if len(kinds(n.Net.Log(), trace.DNSQuery)) == 0 || len(kinds(n.Net.Log(), trace.QueueDone)) != 1 {
		t.Fatalf("no MX lookup or no queue.done in the trace:\n%s", dump(n.Net.Log()))
	}
}

func TestUnknownUserBouncesToSender(t *testing.T) {
	n := testNet(t, nil, nil)
	submit(t, n, "nobody@example.org")
	n.Net.Advance(time.Minute)
	relay, _ := n.Host("smtp.example.com")
	msgs := relay.Mailboxes.Messages("alice@example.com")
	if len(msgs) != 1 || !strings.Contains(string(msgs[0].Raw), "Status: 5.1.1") || !strings.HasPrefix(string(msgs[0].Raw), "Return-Path: <>") {
		t.Fatalf("alice has %d messages, want one DSN with 5.1.1; trace:\n%s", len(msgs), dump(n.Net.Log()))
	}
	// Without NOTIFY or RET: a failure DSN with the header only.
	raw := string(msgs[0].Raw)
	for _, want := range []string{"Subject: Undelivered Mail Returned to Sender", "Action: failed", "Content-Type: text/rfc822-headers"} {
		if !strings.Contains(raw, want) {
			t.Errorf("the DSN lacks %q:\n%s", want, raw)
		}
	}
	if strings.Contains(raw, "At noon?") || strings.Contains(raw, "Original-Envelope-Id") {
		t.Errorf("the DSN returns the body or an ENVID nobody gave:\n%s", raw)
	}
	if len(kinds(n.Net.Log(), trace.Bounce)) != 1 {
		t.Fatal("no bounce event")
	}
}

func TestGreylistingDeliversOnRetry(t *testing.T) {
	n := testNet(t, func(c *HostConfig) { c.Greylist = Duration(5 * time.Minute) }, nil)
	submit(t, n, "bob@example.org")
	n.Net.Advance(time.Minute)
	mx, _ := n.Host("mx.example.org")
	if len(mx.Mailboxes.Messages("bob@example.org")) != 0 {
		t.Fatal("delivered before the greylist delay")
	}
	retries := kinds(n.Net.Log(), trace.QueueRetry)
	if len(retries) != 1 || !strings.Contains(retries[0].Text, "451 4.7.1") {
		t.Fatalf("retry events %+v", retries)
	}
	n.Net.Advance(10 * time.Minute)
	if len(mx.Mailboxes.Messages("bob@example.org")) != 1 {
		t.Fatalf("not delivered on the retry; trace:\n%s", dump(n.Net.Log()))
	}
	relay, _ := n.Host("smtp.example.com")
	if msgs := relay.Mailboxes.Messages("alice@example.com"); len(msgs) != 0 {
		t.Fatalf("alice got a DSN she did not ask for (no NOTIFY=DELAY):\n%s", msgs[0].Raw)
	}
}

func TestNullMXBouncesAtOnce(t *testing.T) {
	n := testNet(t, nil, nil)
	submit(t, n, "dave@example.net")
	n.Net.Advance(time.Minute)
	relay, _ := n.Host("smtp.example.com")
	msgs := relay.Mailboxes.Messages("alice@example.com")
	if len(msgs) != 1 || !strings.Contains(string(msgs[0].Raw), "Status: 5.1.10") {
		t.Fatalf("want a DSN with 5.1.10; trace:\n%s", dump(n.Net.Log()))
	}
}

func TestRelayDeniedForStrangers(t *testing.T) {
	n := testNet(t, nil, func(c *HostConfig) { c.RelayFrom = nil })
	out := submit(t, n, "bob@example.org")
	if out.Status != client.Bounced || out.Reply.Code != 554 || out.Reply.Enhanced != "5.7.1" {
		t.Fatalf("outcome %+v, want 554 5.7.1", out)
	}
}

func TestMailboxFullDefersThenGivesUp(t *testing.T) {
	n := testNet(t, func(c *HostConfig) { c.Quota = map[string]int{"bob@example.org": 0} },
		func(c *HostConfig) {
			c.Retry = &RetrySchedule{First: Duration(5 * time.Minute), Max: Duration(30 * time.Minute), GiveUp: Duration(time.Hour)}
		})
	submit(t, n, "bob@example.org")
	n.Net.Advance(2 * time.Hour)
	relay, _ := n.Host("smtp.example.com")
	msgs := relay.Mailboxes.Messages("alice@example.com")
	if len(msgs) != 1 || !strings.Contains(string(msgs[0].Raw), "Status: 4.2.2") {
		t.Fatalf("want a DSN with 4.2.2 (a persistent transient failure) after giving up; trace:\n%s", dump(n.Net.Log()))
	}
	// The part for people says how long the queue tried; the first attempt
	// was at once, the last one at or after the hour.
	if !regexp.MustCompile(`The mail system kept trying for 1 hour( \d+ minutes?)? and has now given up\.`).Match(msgs[0].Raw) {
		t.Errorf("the DSN does not say how long the queue tried:\n%s", msgs[0].Raw)
	}
	if len(kinds(n.Net.Log(), trace.QueueGiveUp)) != 1 || len(relay.QueueView()) != 0 {
		t.Fatal("no give-up event, or the message is still queued")
	}
}

func dump(l *trace.Log) string {
	var b strings.Builder
	for _, e := range l.All() {
		b.WriteString((time.Duration(e.At) * time.Millisecond).String() + " " + string(e.Kind) + " " + e.Host + " " + e.Verb + " " + e.Text + "\n")
	}
	return b.String()
}

// twoMXNet builds laptop → smtp.example.com → example.org, whose two MXes
// both hold the mailboxes of bob and carol: mx1 (preference 10) and mx2
// (preference 20), each with its config changed by its function (nil
// changes nothing).
func twoMXNet(t *testing.T, change1, change2 func(*HostConfig)) *Network {
	t.Helper()
	users := []string{"bob@example.org", "carol@example.org"}
	mx1 := HostConfig{Name: "mx1.example.org", Addrs: []string{"198.51.100.25"}, Ports: []int{25}, Domains: []string{"example.org"}, Users: users}
	mx2 := HostConfig{Name: "mx2.example.org", Addrs: []string{"198.51.100.26"}, Ports: []int{25}, Domains: []string{"example.org"}, Users: users}
	if change1 != nil {
		change1(&mx1)
	}
	if change2 != nil {
		change2(&mx2)
	}
	return relayNet(t, `example.org. MX 10 mx1.example.org.
example.org. MX 20 mx2.example.org.
mx1.example.org. A 198.51.100.25
mx2.example.org. A 198.51.100.26
`, mx1, mx2)
}

// relayNet builds laptop → smtp.example.com (relays for the laptop) →
// the mail exchangers mxs of example.org, which zone names.
func relayNet(t *testing.T, zone string, mxs ...HostConfig) *Network {
	t.Helper()
	z, err := dns.ParseZone(zone + "smtp.example.com. A 192.0.2.25\n")
	if err != nil {
		t.Fatal(err)
	}
	n := NewNetwork(simnet.New(1), dns.NewResolver(z))
	for _, c := range append([]HostConfig{
		{Name: "laptop.example.com", Addrs: []string{"192.0.2.10"}},
		{Name: "smtp.example.com", Addrs: []string{"192.0.2.25"}, Ports: []int{25}, Domains: []string{"example.com"},
			Users: []string{"alice@example.com"}, RelayFrom: []string{"192.0.2.0/24"}},
	}, mxs...) {
		if _, err := n.AddHost(c); err != nil {
			t.Fatal(err)
		}
	}
	return n
}

// connectionsTo counts the connections opened to host.
func connectionsTo(log *trace.Log, host string) int {
	count := 0
	for _, e := range kinds(log, trace.ConnOpen) {
		if e.Peer == host {
			count++
		}
	}
	return count
}

// TestNextMXAfterSessionFailure: an MX that answers but fails the session
// as a whole (here a 421 greeting, past its connection rate limit) sends
// the relay on to the next MX at once (RFC 5321 §5.1), as Postfix does; a
// recipient the MX refused is not tried again elsewhere.
func TestNextMXAfterSessionFailure(t *testing.T) {
	n := twoMXNet(t, func(c *HostConfig) {
		c.RateLimit = &RateConfig{Max: 100, Window: Duration(time.Hour), Connections: 1}
	}, nil)
	submit(t, n, "bob@example.org") // mx1's one connection
	submit(t, n, "bob@example.org") // 421 from mx1, then mx2
	n.Net.Advance(time.Minute)
	mx1, _ := n.Host("mx1.example.org")
	mx2, _ := n.Host("mx2.example.org")
	if a, b := len(mx1.Mailboxes.Messages("bob@example.org")), len(mx2.Mailboxes.Messages("bob@example.org")); a != 1 || b != 1 {
		t.Fatalf("mx1 holds %d messages and mx2 %d, want one each; trace:\n%s", a, b, dump(n.Net.Log()))
	}
	var moved []trace.Event
	for _, e := range kinds(n.Net.Log(), trace.Note) {
		if strings.Contains(e.Text, "next MX is tried at once") {
			moved = append(moved, e)
		}
	}
	if len(moved) != 1 || !strings.Contains(moved[0].Text, "mx1.example.org[198.51.100.25]") ||
		!strings.Contains(moved[0].Text, "(421 ") || !strings.Contains(moved[0].Text, "mx2.example.org[198.51.100.26]") {
		t.Fatalf("the trace does not say why the relay moved on: %+v", moved)
	}
	if len(kinds(n.Net.Log(), trace.QueueRetry)) != 0 {
		t.Fatalf("the message waited for a retry instead of going to mx2; trace:\n%s", dump(n.Net.Log()))
	}

	// A recipient mx1 refuses by name is bounced, not tried at mx2.
	n = twoMXNet(t, nil, nil)
	submit(t, n, "nobody@example.org")
	n.Net.Advance(time.Minute)
	if got := connectionsTo(n.Net.Log(), "mx2.example.org"); got != 0 {
		t.Fatalf("%d connections to mx2 for a recipient mx1 refused with 550", got)
	}
	relay, _ := n.Host("smtp.example.com")
	if msgs := relay.Mailboxes.Messages("alice@example.com"); len(msgs) != 1 || !strings.Contains(string(msgs[0].Raw), "Status: 5.1.1") {
		t.Fatalf("want one DSN with 5.1.1; trace:\n%s", dump(n.Net.Log()))
	}
}

// notesWith returns the trace's notes whose text holds part.
func notesWith(log *trace.Log, part string) []trace.Event {
	var out []trace.Event
	for _, e := range kinds(log, trace.Note) {
		if strings.Contains(e.Text, part) {
			out = append(out, e)
		}
	}
	return out
}

// TestNextMXAfterSoftRCPT: a recipient an MX refuses for now at RCPT (a
// 4xx) is offered to the next MX in the same attempt, as Postfix does;
// only when no MX is left does it wait in the queue. The others of the
// message are not sent twice.
func TestNextMXAfterSoftRCPT(t *testing.T) {
	greylist := func(c *HostConfig) { c.Greylist = Duration(5 * time.Minute) }
	n := twoMXNet(t, greylist, nil)
	submit(t, n, "bob@example.org")
	n.Net.Advance(time.Minute)
	mx1, _ := n.Host("mx1.example.org")
	mx2, _ := n.Host("mx2.example.org")
	if a, b := len(mx1.Mailboxes.Messages("bob@example.org")), len(mx2.Mailboxes.Messages("bob@example.org")); a != 0 || b != 1 {
		t.Fatalf("mx1 holds %d messages and mx2 %d, want mx2 to take the one mx1 greylisted; trace:\n%s", a, b, dump(n.Net.Log()))
	}
	moved := notesWith(n.Net.Log(), "next MX is tried at once")
	if len(moved) != 1 || moved[0].Rcpt != "bob@example.org" || !strings.Contains(moved[0].Text, "mx1.example.org[198.51.100.25]") ||
		!strings.Contains(moved[0].Text, "RCPT TO:<bob@example.org>") || !strings.Contains(moved[0].Text, "451 4.7.1") ||
		!strings.Contains(moved[0].Text, "mx2.example.org[198.51.100.26]") {
		t.Fatalf("the trace does not say why the relay moved on: %+v", moved)
	}
	if got := kinds(n.Net.Log(), trace.QueueRetry); len(got) != 0 {
		t.Fatalf("the message waited for a retry instead of going to mx2: %+v", got)
	}

	// One recipient refused for now, the other taken: only the first
	// goes on to mx2.
	n = twoMXNet(t, func(c *HostConfig) { c.Quota = map[string]int{"carol@example.org": 0} }, nil)
	submit(t, n, "bob@example.org", "carol@example.org")
	n.Net.Advance(time.Minute)
	mx1, _ = n.Host("mx1.example.org")
	mx2, _ = n.Host("mx2.example.org")
	if len(mx1.Mailboxes.Messages("bob@example.org")) != 1 || len(mx2.Mailboxes.Messages("bob@example.org")) != 0 ||
		len(mx2.Mailboxes.Messages("carol@example.org")) != 1 {
		t.Fatalf("want bob's copy at mx1 and carol's at mx2; trace:\n%s", dump(n.Net.Log()))
	}

	// When the last MX refuses for now too, the recipient waits in the
	// queue, and the next attempt starts again from the best MX.
	n = twoMXNet(t, greylist, greylist)
	submit(t, n, "bob@example.org")
	n.Net.Advance(time.Minute)
	retries := kinds(n.Net.Log(), trace.QueueRetry)
	if len(retries) != 1 || !strings.Contains(retries[0].Text, "451 4.7.1") || len(notesWith(n.Net.Log(), "next MX is tried at once")) != 1 {
		t.Fatalf("want one move to mx2, then one retry with mx2's 451; trace:\n%s", dump(n.Net.Log()))
	}
	n.Net.Advance(10 * time.Minute)
	mx1, _ = n.Host("mx1.example.org")
	if len(mx1.Mailboxes.Messages("bob@example.org")) != 1 {
		t.Fatalf("the retry did not deliver at mx1; trace:\n%s", dump(n.Net.Log()))
	}
}

// TestNextMXAfterSoftMessageReply: a 4xx about the whole message (here
// mx1's rate limit, 450 to MAIL) sends it to the next MX at once, as
// Postfix's smtp_mesg_fail does; only at the last MX does it wait in the
// queue.
func TestNextMXAfterSoftMessageReply(t *testing.T) {
	oneAnHour := func(c *HostConfig) { c.RateLimit = &RateConfig{Max: 1, Window: Duration(time.Hour)} }
	n := twoMXNet(t, oneAnHour, nil)
	submit(t, n, "bob@example.org") // mx1's one message this hour
	submit(t, n, "bob@example.org") // 450 to MAIL at mx1, then mx2
	n.Net.Advance(time.Minute)
	mx1, _ := n.Host("mx1.example.org")
	mx2, _ := n.Host("mx2.example.org")
	if a, b := len(mx1.Mailboxes.Messages("bob@example.org")), len(mx2.Mailboxes.Messages("bob@example.org")); a != 1 || b != 1 {
		t.Fatalf("mx1 holds %d messages and mx2 %d, want one each; trace:\n%s", a, b, dump(n.Net.Log()))
	}
	moved := notesWith(n.Net.Log(), "turned the message down for now")
	if len(moved) != 1 || !strings.Contains(moved[0].Text, "to MAIL") || !strings.Contains(moved[0].Text, "mx2.example.org[198.51.100.26]") {
		t.Fatalf("the trace does not say why the relay moved on: %+v", moved)
	}
	if got := kinds(n.Net.Log(), trace.QueueRetry); len(got) != 0 {
		t.Fatalf("the message waited for a retry instead of going to mx2: %+v", got)
	}

	// Both MXes at their limit: the message waits in the queue.
	n = twoMXNet(t, oneAnHour, oneAnHour)
	for range 3 {
		submit(t, n, "bob@example.org")
	}
	n.Net.Advance(time.Minute)
	if got := kinds(n.Net.Log(), trace.QueueRetry); len(got) != 1 {
		t.Fatalf("want the third message queued for a retry once; trace:\n%s", dump(n.Net.Log()))
	}
}

// scriptedMX is a fake SMTP server for what the lab's own server never
// does: it greets with greeting and hands each line a client sends,
// without its CRLF, to the answer function newSession makes for that
// connection (which may keep state, such as being inside DATA).
func scriptedMX(greeting string, newSession func() func(c *simnet.Conn, line string)) func(*simnet.Conn) simnet.Handler {
	return func(*simnet.Conn) simnet.Handler {
		var pending []byte
		answer := newSession()
		return simnet.HandlerFuncs{
			OnOpen: func(c *simnet.Conn) { _ = c.Write([]byte(greeting + "\r\n")) },
			OnData: func(c *simnet.Conn, p []byte) {
				pending = append(pending, p...)
				for {
					line, rest, ok := bytes.Cut(pending, []byte("\r\n"))
					if !ok {
						return
					}
					pending = rest
					answer(c, string(line))
				}
			},
		}
	}
}

// fakeMX makes host's port 25 a server that offers ext in its EHLO
// reply, takes every command and the content, answers the content's final
// dot with atDot, and keeps what it read in *got: the command lines and
// the content, each line without its CRLF. With a 451 it is a server whose
// disk is full for the moment (RFC 5321 §4.2.5).
func fakeMX(t *testing.T, n *Network, host, atDot string, ext ...string) *[]string {
	t.Helper()
	got := new([]string)
	h, _ := n.Host(host)
	h.Sim().StopListening(25)
	err := h.Sim().Listen(25, scriptedMX("220 "+host+" ESMTP", func() func(*simnet.Conn, string) {
		inData := false
		return func(c *simnet.Conn, line string) {
			*got = append(*got, line)
			verb := strings.ToUpper(line[:min(4, len(line))])
			switch {
			case inData && line == ".":
				inData = false
				_ = c.Write([]byte(atDot + "\r\n"))
			case inData:
			case verb == "EHLO":
				lines := append([]string{host}, ext...)
				for i, l := range lines {
					sep := "-"
					if i == len(lines)-1 {
						sep = " "
					}
					_ = c.Write([]byte("250" + sep + l + "\r\n"))
				}
			case verb == "DATA":
				inData = true
				_ = c.Write([]byte("354 go ahead\r\n"))
			case verb == "QUIT":
				_ = c.Write([]byte("221 2.0.0 Bye\r\n"))
				c.Close("quit")
			default:
				_ = c.Write([]byte("250 OK\r\n"))
			}
		}
	}))
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// TestNextMXAfterSoftReplyToContent: a 451 to the content, after the
// final dot, sends the message to the next MX at once too: that server
// kept nothing (RFC 5321 §4.2.5), and another may take it now.
func TestNextMXAfterSoftReplyToContent(t *testing.T) {
	n := twoMXNet(t, nil, nil)
	fakeMX(t, n, "mx1.example.org", "451 4.3.0 mx1.example.org: no room to store it just now")
	submit(t, n, "bob@example.org")
	n.Net.Advance(time.Minute)
	mx2, _ := n.Host("mx2.example.org")
	if got := len(mx2.Mailboxes.Messages("bob@example.org")); got != 1 {
		t.Fatalf("mx2 holds %d messages, want the one mx1 deferred after its content; trace:\n%s", got, dump(n.Net.Log()))
	}
	moved := notesWith(n.Net.Log(), "turned the message down for now")
	if len(moved) != 1 || !strings.Contains(moved[0].Text, "its reply to DATA was 451 4.3.0") {
		t.Fatalf("the trace does not say why the relay moved on: %+v", moved)
	}
}

// greetWith554 makes host's port 25 greet every connection with 554, as a
// server does that takes no mail from anybody (RFC 5321 §3.1), and answer
// whatever comes next with 221 and hang up.
func greetWith554(t *testing.T, n *Network, host string) {
	t.Helper()
	h, _ := n.Host(host)
	h.Sim().StopListening(25)
	err := h.Sim().Listen(25, func(*simnet.Conn) simnet.Handler {
		return simnet.HandlerFuncs{
			OnOpen: func(c *simnet.Conn) { _ = c.Write([]byte("554 5.7.1 " + host + " does not take mail from you\r\n")) },
			OnData: func(c *simnet.Conn, _ []byte) {
				_ = c.Write([]byte("221 2.0.0 Bye\r\n"))
				c.Close("quit")
			},
		}
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestSkip5xxGreeting: a relay skips an MX that greets with 5xx, as
// Postfix does by default (smtp_skip_5xx_greeting): the next MX is tried,
// and when the last one greets so, the message waits in the queue with a
// 4.X.X status instead of bouncing at once.
func TestSkip5xxGreeting(t *testing.T) {
	n := testNet(t, nil, func(c *HostConfig) {
		c.Retry = &RetrySchedule{First: Duration(5 * time.Minute), Max: Duration(30 * time.Minute), GiveUp: Duration(time.Hour)}
	})
	greetWith554(t, n, "mx.example.org")
	submit(t, n, "bob@example.org")
	n.Net.Advance(time.Minute)
	relay, _ := n.Host("smtp.example.com")
	if msgs := relay.Mailboxes.Messages("alice@example.com"); len(msgs) != 0 {
		t.Fatalf("a 554 greeting from the last MX bounced the message:\n%s", msgs[0].Raw)
	}
	retries := kinds(n.Net.Log(), trace.QueueRetry)
	if len(retries) != 1 || !strings.Contains(retries[0].Text, "554 5.7.1") {
		t.Fatalf("want one retry that shows the 554; trace:\n%s", dump(n.Net.Log()))
	}
	if skipped := notesWith(n.Net.Log(), "smtp_skip_5xx_greeting"); len(skipped) != 1 || !strings.Contains(skipped[0].Text, "mx.example.org[198.51.100.25]") {
		t.Fatalf("the trace does not say why a 554 is retried: %+v", skipped)
	}
	// When the queue gives up, the report calls it a persistent
	// transient failure, and quotes the greeting.
	n.Net.Advance(2 * time.Hour)
	msgs := relay.Mailboxes.Messages("alice@example.com")
	if len(msgs) != 1 || !strings.Contains(string(msgs[0].Raw), "Status: 4.7.1") || !strings.Contains(string(msgs[0].Raw), "554 5.7.1 mx.example.org does not take mail") {
		t.Fatalf("want one DSN with Status 4.7.1 and the greeting; trace:\n%s", dump(n.Net.Log()))
	}

	// With an MX after it, the next MX takes the mail at once.
	n = twoMXNet(t, nil, nil)
	greetWith554(t, n, "mx1.example.org")
	submit(t, n, "bob@example.org")
	n.Net.Advance(time.Minute)
	mx2, _ := n.Host("mx2.example.org")
	if len(mx2.Mailboxes.Messages("bob@example.org")) != 1 || len(kinds(n.Net.Log(), trace.QueueRetry)) != 0 {
		t.Fatalf("mx2 did not take the mail at once; trace:\n%s", dump(n.Net.Log()))
	}
}

// TestOwnAddressLiteralIsLocal: a host takes mail for an address literal
// of its own address as its own (RFC 5321 §4.1.3), for the user of that
// name, rather than refusing it as relaying.
func TestOwnAddressLiteralIsLocal(t *testing.T) {
	n := testNet(t, nil, nil)
	if out := submit(t, n, "bob@[198.51.100.25]", "postmaster@[198.51.100.25]"); out.Status != client.Delivered {
		t.Fatalf("submission outcome %+v", out)
	}
	n.Net.Advance(time.Minute)
	mx, _ := n.Host("mx.example.org")
	bob := mx.Mailboxes.Messages("bob@example.org")
	if len(bob) != 1 || len(mx.Mailboxes.Messages("postmaster@example.org")) != 1 {
		t.Fatalf("bob has %d messages and postmaster %d, want one each; trace:\n%s",
			len(bob), len(mx.Mailboxes.Messages("postmaster@example.org")), dump(n.Net.Log()))
	}

	// An unknown user at the literal is unknown, not a relay attempt.
	n = testNet(t, nil, nil)
	submit(t, n, "nobody@[198.51.100.25]")
	n.Net.Advance(time.Minute)
	relay, _ := n.Host("smtp.example.com")
	if msgs := relay.Mailboxes.Messages("alice@example.com"); len(msgs) != 1 || !strings.Contains(string(msgs[0].Raw), "Status: 5.1.1") {
		t.Fatalf("want one DSN with 5.1.1; trace:\n%s", dump(n.Net.Log()))
	}

	// Another host's literal is still somebody else's.
	cfg := HostConfig{Name: "mx.example.org", Addrs: []string{"198.51.100.25"}, Domains: []string{"example.org"}}
	if cfg.Serves("[198.51.100.26]") || !cfg.Serves("[198.51.100.25]") || cfg.Serves("[IPv6:2001:db8::1]") {
		t.Error("Serves is wrong about address literals")
	}
	// RFC 5321 §4.1.3: an IPv6 literal carries its tag, an IPv4 one none.
	v6 := HostConfig{Name: "mx6.example.org", Addrs: []string{"2001:db8::25", "198.51.100.25"}, Domains: []string{"example.org"}}
	for literal, want := range map[string]bool{"[IPv6:2001:db8::25]": true, "[ipv6:2001:DB8::25]": true, "[2001:db8::25]": false,
		"[IPv6:198.51.100.25]": false, "[198.51.100.25]": true, "[IPv6:::ffff:198.51.100.25]": false, "[IPv6:fe80::1%eth0]": false} {
		if got := v6.Serves(literal); got != want {
			t.Errorf("Serves(%s) = %v, want %v", literal, got, want)
		}
	}
}

// TestNextAddressOfTheSameMX: when an MX host has two addresses, the
// relay tries the second one at once after the first (RFC 5321 §5.1),
// and the trace calls it the next address of that host, not the next MX.
func TestNextAddressOfTheSameMX(t *testing.T) {
	n := relayNet(t, `example.org. MX 10 mx.example.org.
mx.example.org. A 198.51.100.25
mx.example.org. A 198.51.100.26
`, HostConfig{Name: "mx.example.org", Addrs: []string{"198.51.100.25", "198.51.100.26"}, Ports: []int{25}, Domains: []string{"example.org"},
		Users: []string{"bob@example.org"}, Greylist: Duration(5 * time.Minute),
		RateLimit: &RateConfig{Max: 100, Window: Duration(time.Hour), Connections: 2}})
	submit(t, n, "bob@example.org") // greylisted at both addresses: two connections
	submit(t, n, "bob@example.org") // 421 at both: past the rate limit
	n.Net.Advance(time.Minute)

	moved := append(notesWith(n.Net.Log(), "turned down RCPT"), notesWith(n.Net.Log(), "failed the session")...)
	if len(moved) != 2 {
		t.Fatalf("want one note for the greylisted RCPT and one for the 421; trace:\n%s", dump(n.Net.Log()))
	}
	for _, e := range moved {
		if !strings.Contains(e.Text, "so the next address of mx.example.org is tried at once") ||
			!strings.Contains(e.Text, "mx.example.org[198.51.100.26]") || strings.Contains(e.Text, "next MX") {
			t.Errorf("the note does not say the relay moved on to the host's next address: %s", e.Text)
		}
	}
}

// TestUnsendableRecipientFailsAtOnce: a queued recipient the client
// refuses to write into a command (here its ORCPT has a control
// character, which a server of the lab never lets in) can never be sent,
// however often the queue tries. It fails at the first attempt, with a
// note that says why and a DSN to the sender, instead of waiting in the
// queue until it gives up.
func TestUnsendableRecipientFailsAtOnce(t *testing.T) {
	n := testNet(t, nil, nil)
	relay, _ := n.Host("smtp.example.com")
	relay.accept("Q1", envelope{from: "alice@example.com", rcpts: []recipient{{addr: "bob@example.org", orcpt: "rfc822;bob\x01@example.org"}}},
		taken{data: []byte("From: alice@example.com\r\nSubject: lunch?\r\n\r\nAt noon?\r\n")})
	n.Net.Advance(time.Minute)

	if got := kinds(n.Net.Log(), trace.QueueRetry); len(got) != 0 {
		t.Fatalf("the recipient waits for a retry: %+v", got)
	}
	if len(relay.QueueView()) != 0 {
		t.Errorf("the message is still queued: %+v", relay.QueueView())
	}
	if why := notesWith(n.Net.Log(), "ORCPT has a control character"); len(why) != 1 || !strings.Contains(why[0].Text, "no session to 198.51.100.25") {
		t.Errorf("want one note that says why the message cannot go to mx.example.org's address; trace:\n%s", dump(n.Net.Log()))
	}
	msgs := relay.Mailboxes.Messages("alice@example.com")
	if len(msgs) != 1 || !strings.Contains(string(msgs[0].Raw), "Status: 5.5.4") || !strings.Contains(string(msgs[0].Raw), "ORCPT has a control character") {
		t.Fatalf("want one DSN with Status 5.5.4 that says why; trace:\n%s", dump(n.Net.Log()))
	}
}

// TestDuplicateRecipientsGetOneCopy: a client that names bob 100 times,
// in several cases, gets 250 to every RCPT, as Postfix's smtpd answers,
// but bob gets the message once, as Postfix's cleanup drops duplicate
// recipients. The relay sends on one RCPT per address (the domain's case
// does not count, the local part's is the MX's to judge); the MX, whose
// mailboxes take no notice of case, delivers one copy. The copy answers
// every RCPT's NOTIFY: a NOTIFY=SUCCESS after ninety-nine NEVERs still
// gets its report.
func TestDuplicateRecipientsGetOneCopy(t *testing.T) {
	n := testNet(t, nil, nil)
	var to []string
	for range 97 {
		to = append(to, "bob@example.org")
	}
	to = append(to, "bob@Example.ORG", "BOB@EXAMPLE.ORG", "BOB@EXAMPLE.ORG")
	env, err := client.ParseEnvelope("alice@example.com", to...)
	if err != nil {
		t.Fatal(err)
	}
	for i := range env.To {
		env.To[i].Notify = "NEVER"
	}
	env.To[len(env.To)-1].Notify = "SUCCESS"

	if out := submitEnvelope(t, n, env); out.Status != client.Delivered {
		t.Fatalf("submission outcome %+v", out)
	}
	n.Net.Advance(time.Minute)
	log := n.Net.Log()

	rcpts, oks := 0, 0
	for _, e := range log.All() {
		if e.Kind == trace.Command && e.Host == "laptop.example.com" && e.Verb == "RCPT" {
			rcpts++
		}
		if e.Kind == trace.Reply && e.Host == "smtp.example.com" && e.Peer == "laptop.example.com" && e.Verb == "RCPT" && e.Code == 250 {
			oks++
		}
	}
	if rcpts != 100 || oks != 100 {
		t.Errorf("the trace shows %d RCPT commands and %d 250 replies to them, want 100 of each", rcpts, oks)
	}
	if got := relayCommands(log, "mx.example.org", "RCPT"); got != 2 {
		t.Errorf("the relay sent %d RCPT commands to the MX, want 2 (bob@example.org, BOB@EXAMPLE.ORG)", got)
	}
	mx, _ := n.Host("mx.example.org")
	if got := len(mx.Mailboxes.Messages("bob@example.org")); got != 1 || len(kinds(log, trace.Delivery)) != 2 {
		t.Fatalf("bob has %d messages, and the trace %d deliveries; want one, and one DSN to alice; trace:\n%s", got, len(kinds(log, trace.Delivery)), dump(log))
	}
	msgs := aliceMail(n)
	if len(msgs) != 1 || !strings.Contains(string(msgs[0].Raw), "Final-Recipient: rfc822; bob@example.org\r\nAction: delivered\r\n") {
		t.Fatalf("want one delivered DSN for bob@example.org, as the last RCPT's NOTIFY=SUCCESS asked; alice has %d messages; trace:\n%s", len(msgs), dump(log))
	}
	for host, want := range map[string]string{
		"smtp.example.com": "named 100 recipients, 2 of them distinct",
		"mx.example.org":   "named 2 recipients, 1 of them distinct",
	} {
		found := false
		for _, e := range notesWith(log, want) {
			found = found || e.Host == host
		}
		if !found {
			t.Errorf("no note of %s says %q; trace:\n%s", host, want, dump(log))
		}
	}
}

// TestQuotedLocalPartIsTheSameMailbox: "bob"@example.org is bob@example.org
// written with quotes it does not need (RFC 5321 §4.1.2, RFC 5322
// §3.4.1). As Postfix does, the MX strips them before it looks bob up, so
// the RCPT gets 250 instead of 550 5.1.1, and the message lands in bob's
// mailbox; the trace and the envelope keep the address as the client
// wrote it. Named beside bob@example.org, it is the same recipient, and
// bob gets one copy. A local part that needs its quotes, "bob smith",
// stays another address, which the MX does not know.
func TestQuotedLocalPartIsTheSameMailbox(t *testing.T) {
	n := testNet(t, nil, nil)
	if out := submit(t, n, `"bob"@example.org`); out.Status != client.Delivered {
		t.Fatalf("submission outcome %+v", out)
	}
	n.Net.Advance(time.Minute)
	mx, _ := n.Host("mx.example.org")
	msgs := mx.Mailboxes.Messages("bob@example.org")
	if len(msgs) != 1 || len(aliceMail(n)) != 0 {
		t.Fatalf("bob has %d messages and alice %d, want one for bob and no bounce; trace:\n%s", len(msgs), len(aliceMail(n)), dump(n.Net.Log()))
	}
	if got := commands(n.Net.Log(), "smtp.example.com", "mx.example.org"); !slices.Contains(got, `RCPT TO:<"bob"@example.org>`) {
		t.Errorf("the relay's RCPT is not as the client wrote it: %q", got)
	}
	if !strings.Contains(string(msgs[0].Raw), `for <"bob"@example.org>;`) {
		t.Errorf("the MX's Received: does not name the recipient as written:\n%s", msgs[0].Raw)
	}

	n = testNet(t, nil, nil)
	submit(t, n, "bob@example.org", `"bob"@example.org`, `"b\ob"@example.org`, `"Bob"@example.org`)
	n.Net.Advance(time.Minute)
	mx, _ = n.Host("mx.example.org")
	if got := len(mx.Mailboxes.Messages("bob@example.org")); got != 1 || relayCommands(n.Net.Log(), "mx.example.org", "RCPT") != 2 {
		t.Fatalf("bob has %d messages, want 1, and the relay sent %d RCPTs, want 2 (bob, \"Bob\"); trace:\n%s",
			got, relayCommands(n.Net.Log(), "mx.example.org", "RCPT"), dump(n.Net.Log()))
	}

	n = testNet(t, nil, nil)
	submit(t, n, `"bob smith"@example.org`)
	n.Net.Advance(time.Minute)
	if msgs := aliceMail(n); len(msgs) != 1 || !strings.Contains(string(msgs[0].Raw), "Status: 5.1.1") {
		t.Fatalf("want one DSN with 5.1.1 for \"bob smith\"; trace:\n%s", dump(n.Net.Log()))
	}

	for local, want := range map[string]string{
		`"bob"`: "bob", `"b\ob"`: "bob", `"bob.smith"`: "bob.smith", `"jösé"`: "jösé", `"a+b"`: "a+b",
		`"bob smith"`: `"bob smith"`, `".bob"`: `".bob"`, `"bob..smith"`: `"bob..smith"`, `""`: `""`,
		`"a@b"`: `"a@b"`, `"\"bob\""`: `"\"bob\""`, `"b\ ob"`: `"b\ ob"`, "bob": "bob", "Bob": "Bob",
	} {
		if got := plainLocal(local); got != want {
			t.Errorf("plainLocal(%s) = %s, want %s", local, got, want)
		}
	}
}

// TestMergeNotify: one recipient named twice answers what either RCPT
// asked for; NEVER only when both said it.
func TestMergeNotify(t *testing.T) {
	const (
		never   = server.NotifyNever
		success = server.NotifySuccess
		failure = server.NotifyFailure
		delay   = server.NotifyDelay
	)
	for _, tc := range []struct{ a, b, want server.Notify }{
		{0, 0, 0},
		{never, never, never},
		{never, success, success},
		{success, never, success},
		{0, success, success | failure},
		{0, never, failure},
		{success, delay, success | delay},
		{success | failure, failure, success | failure},
	} {
		if got := mergeNotify(tc.a, tc.b); got != tc.want {
			t.Errorf("mergeNotify(%v, %v) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}
