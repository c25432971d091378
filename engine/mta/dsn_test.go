package mta

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"

	"smtplab/engine/client"
	"smtplab/engine/simnet"
	"smtplab/engine/trace"
)

// dsnEnvelope is alice's envelope to one recipient, with the DSN
// parameters a test sets on it.
func dsnEnvelope(t *testing.T, to, notify, orcpt, ret, envid string) client.Envelope {
	t.Helper()
	env, err := client.ParseEnvelope("alice@example.com", to)
	if err != nil {
		t.Fatal(err)
	}
	env.To[0].Notify, env.To[0].ORcpt = notify, orcpt
	env.Ret, env.EnvID = ret, envid
	return env
}

// aliceMail returns what reached alice's mailbox on smtp.example.com.
func aliceMail(n *Network) []StoredMessage {
	relay, _ := n.Host("smtp.example.com")
	return relay.Mailboxes.Messages("alice@example.com")
}

// commands returns the command lines host sent to peer, from the trace.
func commands(log *trace.Log, host, peer string) []string {
	var out []string
	for _, e := range kinds(log, trace.Command) {
		if e.Host == host && e.Peer == peer {
			out = append(out, e.Text)
		}
	}
	return out
}

func TestNotifyNeverGivesNoBounce(t *testing.T) {
	n := testNet(t, nil, nil)
	submitEnvelope(t, n, dsnEnvelope(t, "nobody@example.org", "NEVER", "", "", ""))
	n.Net.Advance(time.Minute)
	if msgs := aliceMail(n); len(msgs) != 0 {
		t.Fatalf("alice got a DSN although she asked NOTIFY=NEVER:\n%s", msgs[0].Raw)
	}
	if b := kinds(n.Net.Log(), trace.Bounce); len(b) != 0 {
		t.Fatalf("bounce events %+v", b)
	}
	said := false
	for _, e := range kinds(n.Net.Log(), trace.Note) {
		said = said || (e.Host == "smtp.example.com" && e.Rcpt == "nobody@example.org" && strings.Contains(e.Text, "NOTIFY=NEVER"))
	}
	if !said {
		t.Fatalf("no note says why no DSN was sent; trace:\n%s", dump(n.Net.Log()))
	}
}

func TestNotifySuccessGivesDeliveredDSN(t *testing.T) {
	n := testNet(t, nil, nil)
	submitEnvelope(t, n, dsnEnvelope(t, "bob@example.org", "SUCCESS", "", "", "lunch-1"))
	n.Net.Advance(time.Minute)
	msgs := aliceMail(n)
	if len(msgs) != 1 {
		t.Fatalf("alice has %d messages, want one delivered DSN; trace:\n%s", len(msgs), dump(n.Net.Log()))
	}
	raw := string(msgs[0].Raw)
	for _, want := range []string{
		"Return-Path: <>",
		"Subject: Successful Mail Delivery Report",
		"Original-Envelope-Id: lunch-1\r\nReporting-MTA: dns; mx.example.org\r\n",
		"Final-Recipient: rfc822; bob@example.org\r\nAction: delivered\r\nStatus: 2.0.0\r\n",
		"Content-Type: text/rfc822-headers",
	} {
		if !strings.Contains(raw, want) {
			t.Errorf("the DSN lacks %q:\n%s", want, raw)
		}
	}
	if strings.Contains(raw, "At noon?") {
		t.Errorf("a delivered DSN returns the body:\n%s", raw)
	}
	// The relay handed the message to a host that offers DSN, so the
	// report is the final host's to send, not the relay's.
	for _, e := range kinds(n.Net.Log(), trace.Bounce) {
		if e.Host != "mx.example.org" || e.Attrs["action"] != ActionDelivered {
			t.Errorf("unexpected DSN event %+v", e)
		}
	}
}

func TestRETAndOriginalFieldsInFailureDSN(t *testing.T) {
	for _, ret := range []string{"FULL", "HDRS", ""} {
		t.Run("RET="+ret, func(t *testing.T) {
			n := testNet(t, nil, nil)
			submitEnvelope(t, n, dsnEnvelope(t, "nobody@example.org", "FAILURE", "Nobody@Example.org", ret, "lunch+42"))
			n.Net.Advance(time.Minute)
			msgs := aliceMail(n)
			if len(msgs) != 1 {
				t.Fatalf("alice has %d messages, want one DSN; trace:\n%s", len(msgs), dump(n.Net.Log()))
			}
			raw := string(msgs[0].Raw)
			for _, want := range []string{
				"Original-Envelope-Id: lunch+42\r\n",
				"Original-Recipient: rfc822; Nobody@Example.org\r\nFinal-Recipient: rfc822; nobody@example.org\r\nAction: failed\r\n",
			} {
				if !strings.Contains(raw, want) {
					t.Errorf("the DSN lacks %q:\n%s", want, raw)
				}
			}
			full := ret == "FULL"
			if got := strings.Contains(raw, "Content-Type: message/rfc822\r\n\r\n"); got != full {
				t.Errorf("message/rfc822 part: %v, want %v:\n%s", got, full, raw)
			}
			if got := strings.Contains(raw, "Subject: lunch?\r\n\r\nAt noon?\r\n\r\n--dsn-"); got != full {
				t.Errorf("whole original returned: %v, want %v:\n%s", got, full, raw)
			}
		})
	}
}

func TestRelayPassesDSNParametersOn(t *testing.T) {
	n := testNet(t, nil, nil)
	submitEnvelope(t, n, dsnEnvelope(t, "nobody@example.org", "FAILURE,DELAY", "Nobody@Example.org", "FULL", "lunch+42"))
	n.Net.Advance(time.Minute)
	cmds := strings.Join(commands(n.Net.Log(), "smtp.example.com", "mx.example.org"), "\n")
	for _, want := range []string{
		"MAIL FROM:<alice@example.com> SIZE=",
		" RET=FULL ENVID=lunch+2B42\n",
		"RCPT TO:<nobody@example.org> NOTIFY=FAILURE,DELAY ORCPT=rfc822;Nobody@Example.org\n",
	} {
		if !strings.Contains(cmds, want) {
			t.Errorf("the relay's commands to the MX lack %q:\n%s", want, cmds)
		}
	}
}

// TestUTF8OriginalRecipientIn7Bit: an ORCPT of type utf-8 travels in RFC
// 6533's \x{HEX} form, and comes back in the DSN's Original-Recipient
// written so, in 7 bits, where it had been UTF-8 in the message/delivery-
// status part, which is ASCII (RFC 3464 §2.1; RFC 6533 §3, utf-8-addr-xtext).
func TestUTF8OriginalRecipientIn7Bit(t *testing.T) {
	n := testNet(t, nil, nil)
	env := dsnEnvelope(t, "nobody@example.org", "FAILURE", "nöbody+1@example.org", "", "")
	env.To[0].ORcptType = "utf-8"
	submitEnvelope(t, n, env)
	n.Net.Advance(time.Minute)
	cmds := strings.Join(commands(n.Net.Log(), "smtp.example.com", "mx.example.org"), "\n")
	if want := `RCPT TO:<nobody@example.org> NOTIFY=FAILURE ORCPT=utf-8;n\x{F6}body\x{2B}1@example.org` + "\n"; !strings.Contains(cmds, want) {
		t.Errorf("the relay's commands to the MX lack %q:\n%s", want, cmds)
	}
	msgs := aliceMail(n)
	if len(msgs) != 1 {
		t.Fatalf("alice has %d messages, want one DSN; trace:\n%s", len(msgs), dump(n.Net.Log()))
	}
	raw := string(msgs[0].Raw)
	if want := `Original-Recipient: utf-8; n\x{F6}body\x{2B}1@example.org` + "\r\nFinal-Recipient: rfc822; nobody@example.org\r\n"; !strings.Contains(raw, want) {
		t.Errorf("the DSN lacks %q:\n%s", want, raw)
	}
	_, part, _ := strings.Cut(raw, "Content-Type: message/delivery-status\r\n")
	part, _, _ = strings.Cut(part, "\r\n--")
	for i := 0; i < len(part); i++ {
		if part[i] >= 0x80 {
			t.Fatalf("the message/delivery-status part is not ASCII:\n%s", part)
		}
	}
}

func TestRelayToHostWithoutDSNReportsRelayed(t *testing.T) {
	n := testNet(t, func(c *HostConfig) { c.NoDSN = true }, nil)
	submitEnvelope(t, n, dsnEnvelope(t, "bob@example.org", "SUCCESS,FAILURE", "bob@example.org", "HDRS", "lunch-2"))
	n.Net.Advance(time.Minute)
	mx, _ := n.Host("mx.example.org")
	if len(mx.Mailboxes.Messages("bob@example.org")) != 1 {
		t.Fatalf("bob did not get the message; trace:\n%s", dump(n.Net.Log()))
	}
	for _, c := range commands(n.Net.Log(), "smtp.example.com", "mx.example.org") {
		if strings.Contains(c, "NOTIFY=") || strings.Contains(c, "ORCPT=") || strings.Contains(c, "RET=") || strings.Contains(c, "ENVID=") {
			t.Errorf("the relay sent DSN parameters to a host that does not offer DSN: %q", c)
		}
	}
	msgs := aliceMail(n)
	if len(msgs) != 1 {
		t.Fatalf("alice has %d messages, want one relayed DSN; trace:\n%s", len(msgs), dump(n.Net.Log()))
	}
	raw := string(msgs[0].Raw)
	for _, want := range []string{
		"Original-Envelope-Id: lunch-2\r\nReporting-MTA: dns; smtp.example.com\r\n",
		"Original-Recipient: rfc822; bob@example.org\r\nFinal-Recipient: rfc822; bob@example.org\r\nAction: relayed\r\nStatus: 2.0.0\r\nRemote-MTA: dns; mx.example.org\r\nDiagnostic-Code: smtp; 250 2.0.0 Ok: queued as ",
	} {
		if !strings.Contains(raw, want) {
			t.Errorf("the DSN lacks %q:\n%s", want, raw)
		}
	}
}

func TestNotifyDelayWarnsOnce(t *testing.T) {
	n := testNet(t, func(c *HostConfig) { c.Quota = map[string]int{"bob@example.org": 0} },
		func(c *HostConfig) {
			c.Retry = &RetrySchedule{First: Duration(5 * time.Minute), Max: Duration(30 * time.Minute), GiveUp: Duration(time.Hour)}
		})
	submitEnvelope(t, n, dsnEnvelope(t, "bob@example.org", "DELAY,FAILURE", "", "", ""))
	n.Net.Advance(2 * time.Hour)
	msgs := aliceMail(n)
	if len(msgs) != 2 {
		t.Fatalf("alice has %d messages, want a delay warning and a failure; trace:\n%s", len(msgs), dump(n.Net.Log()))
	}
	first, last := string(msgs[0].Raw), string(msgs[1].Raw)
	for _, want := range []string{"Subject: Delayed Mail (still being retried)", "Action: delayed\r\nStatus: 4.2.2\r\n", "Will-Retry-Until: "} {
		if !strings.Contains(first, want) {
			t.Errorf("the first DSN lacks %q:\n%s", want, first)
		}
	}
	if !strings.Contains(last, "Action: failed\r\nStatus: 4.2.2\r\n") {
		t.Errorf("the second DSN is not the failure:\n%s", last)
	}
	if len(kinds(n.Net.Log(), trace.QueueRetry)) < 2 {
		t.Fatal("the test needs several deferrals to show the warning comes once")
	}
}

// multiLineMX answers every RCPT with a refusal over two lines, as many
// real servers do when they add a help URL.
func multiLineMX(*simnet.Conn) simnet.Handler {
	var pending []byte
	return simnet.HandlerFuncs{
		OnOpen: func(c *simnet.Conn) { _ = c.Write([]byte("220 mx.example.org ESMTP\r\n")) },
		OnData: func(c *simnet.Conn, p []byte) {
			pending = append(pending, p...)
			for {
				line, rest, ok := bytes.Cut(pending, []byte("\r\n"))
				if !ok {
					return
				}
				pending = rest
				verb, _, _ := strings.Cut(strings.ToUpper(string(line)), " ")
				switch verb {
				case "EHLO":
					_ = c.Write([]byte("250-mx.example.org\r\n250 ENHANCEDSTATUSCODES\r\n"))
				case "RCPT":
					_ = c.Write([]byte("550-5.1.1 <nobody@example.org>: no such user here\r\n550 5.1.1 see https://help.example.org/550\r\n"))
				case "QUIT":
					_ = c.Write([]byte("221 2.0.0 Bye\r\n"))
					c.Close("quit")
				default:
					_ = c.Write([]byte("250 2.0.0 Ok\r\n"))
				}
			}
		},
	}
}

// fieldLine is a header field's first line (RFC 5322 §2.2, field names as
// RFC 3464 §2.1 uses them).
var fieldLine = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]*: \S`)

func TestMultiLineReplyStaysOneField(t *testing.T) {
	n := testNet(t, func(c *HostConfig) { c.Ports = nil }, nil)
	mx, _ := n.Host("mx.example.org")
	if err := mx.Sim().Listen(25, multiLineMX); err != nil {
		t.Fatal(err)
	}
	submit(t, n, "nobody@example.org")
	n.Net.Advance(time.Minute)
	msgs := aliceMail(n)
	if len(msgs) != 1 {
		t.Fatalf("alice has %d messages, want one DSN; trace:\n%s", len(msgs), dump(n.Net.Log()))
	}
	raw := string(msgs[0].Raw)
	_, status, ok := strings.Cut(raw, "Content-Type: message/delivery-status\r\n\r\n")
	status, _, ok2 := strings.Cut(status, "\r\n--dsn-")
	if !ok || !ok2 {
		t.Fatalf("no delivery-status part:\n%s", raw)
	}
	fields := map[string]string{}
	name := ""
	for i, line := range strings.Split(status, "\r\n") {
		switch {
		case line == "":
			name = ""
		case line[0] == ' ' || line[0] == '\t':
			if name == "" {
				t.Fatalf("line %d %q continues no field:\n%s", i, line, status)
			}
			fields[name] += line // unfolding removes the CRLF only (RFC 5322 §2.2.3)
		case fieldLine.MatchString(line):
			var value string
			name, value, _ = strings.Cut(line, ": ")
			fields[name] = value
		default:
			t.Fatalf("line %d %q is neither a field nor a continuation:\n%s", i, line, status)
		}
	}
	want := "smtp; 550-5.1.1 <nobody@example.org>: no such user here 550 5.1.1 see https://help.example.org/550"
	if got := fields["Diagnostic-Code"]; got != want {
		t.Fatalf("Diagnostic-Code unfolds to\n%q\nwant\n%q", got, want)
	}
}
