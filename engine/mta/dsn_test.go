package mta

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"

	"smtplab/engine/client"
	"smtplab/engine/simnet"
	"smtplab/engine/smtp"
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

// aliceDSN returns the one message in alice's mailbox, a DSN, as it was
// stored; it fails t unless there is exactly one.
func aliceDSN(t *testing.T, n *Network) string {
	t.Helper()
	msgs := aliceMail(n)
	if len(msgs) != 1 {
		t.Fatalf("alice has %d messages, want one DSN; trace:\n%s", len(msgs), dump(n.Net.Log()))
	}
	return string(msgs[0].Raw)
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

// TestClassicDSNLabels8BitOriginal: a classic DSN returning a message
// whose body is 8-bit (its header ASCII) says Content-Transfer-Encoding:
// 8bit on the message/rfc822 part, which without it would claim 7bit
// (RFC 2045 §6.1, RFC 2046 §5.2.1); the other parts, ASCII, say nothing.
func TestClassicDSNLabels8BitOriginal(t *testing.T) {
	d := DSN{ReportingMTA: "smtp.example.com", To: "alice@example.com", QueueID: "Q1", MessageID: "d@smtp.example.com",
		Recipients: []RecipientStatus{{Recipient: "bob@example.org", Action: ActionFailed, Status: "5.1.1", Diagnosis: "550 5.1.1 no such user"}},
		Original:   []byte("Subject: lunch\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nAu caf\xc3\xa9 ?\r\n"), Full: true}
	if d.Global() {
		t.Fatal("the DSN is global: its header and recipient are ASCII")
	}
	raw := string(d.Build())
	if !strings.Contains(raw, "Content-Type: message/rfc822\r\nContent-Transfer-Encoding: 8bit\r\n\r\nSubject: lunch") {
		t.Errorf("the message/rfc822 part is not labelled 8bit:\n%s", raw)
	}
	if n := strings.Count(raw, "Content-Transfer-Encoding"); n != 1 {
		t.Errorf("%d Content-Transfer-Encoding fields, want the one:\n%s", n, raw)
	}
}

func TestRETAndOriginalFieldsInFailureDSN(t *testing.T) {
	for _, ret := range []string{"FULL", "HDRS", ""} {
		t.Run("RET="+ret, func(t *testing.T) {
			n := testNet(t, nil, nil)
			submitEnvelope(t, n, dsnEnvelope(t, "nobody@example.org", "FAILURE", "Nobody@Example.org", ret, "lunch+42"))
			n.Net.Advance(time.Minute)
			raw := aliceDSN(t, n)
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
	raw := aliceDSN(t, n)
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
func multiLineMX(c *simnet.Conn) simnet.Handler {
	return scriptedMX("220 mx.example.org ESMTP", multiLineAnswers)(c)
}

func multiLineAnswers() func(*simnet.Conn, string) {
	return func(c *simnet.Conn, line string) {
		verb, _, _ := strings.Cut(strings.ToUpper(line), " ")
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
	raw := aliceDSN(t, n)
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

// TestGlobalDSNForUTF8Recipient: alice's message to böb@example.org, whom
// the MX does not know, comes back as a global DSN (RFC 6533): its report
// type, its message/global-delivery-status part with Final-Recipient of
// type utf-8 written as it is, and the original as message/global (RET=FULL)
// or message/global-headers, each part with octets past ASCII saying
// Content-Transfer-Encoding: 8bit. An ORCPT of type utf-8 comes back as it
// is, not in its \x{HEX} form.
func TestGlobalDSNForUTF8Recipient(t *testing.T) {
	for _, ret := range []string{"FULL", "HDRS"} {
		t.Run("RET="+ret, func(t *testing.T) {
			n := testNet(t, nil, nil)
			env := dsnEnvelope(t, "böb@example.org", "FAILURE", "böb+1@example.org", ret, "")
			env.To[0].ORcptType = "utf-8"
			submitEnvelope(t, n, env)
			n.Net.Advance(time.Minute)
			raw := aliceDSN(t, n)
			returned := "Content-Type: message/global-headers\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" +
				"Received: from laptop.example.com (laptop.example.com [192.0.2.10])\r\n" +
				"\tby smtp.example.com with UTF8SMTP id EC9CE00001\r\n" +
				"\tfor <böb@example.org>; Mon, 05 Jan 2026 09:00:00 +0000\r\n" +
				"From: alice@example.com\r\nSubject: lunch?\r\n\r\n--dsn-"
			if ret == "FULL" {
				returned = strings.Replace(returned, "global-headers", "global", 1)
				returned = strings.Replace(returned, "\r\n\r\n--dsn-", "\r\n\r\nAt noon?\r\n\r\n--dsn-", 1)
			}
			for _, want := range []string{
				"Content-Type: multipart/report; report-type=global-delivery-status;\r\n",
				"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n",
				"\r\n<böb@example.org>: host mx.example.org said: 550 5.1.1 ",
				"Content-Type: message/global-delivery-status\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" +
					"Reporting-MTA: dns; smtp.example.com\r\n",
				"\r\n\r\nOriginal-Recipient: utf-8; böb+1@example.org\r\n" +
					"Final-Recipient: utf-8; böb@example.org\r\nAction: failed\r\nStatus: 5.1.1\r\n" +
					"Remote-MTA: dns; mx.example.org\r\n",
				returned,
			} {
				if !strings.Contains(raw, want) {
					t.Errorf("the DSN lacks %q:\n%s", want, raw)
				}
			}
			for _, classic := range []string{"report-type=delivery-status", "message/delivery-status", "message/rfc822", "text/rfc822-headers", "charset=us-ascii", `\x{`} {
				if strings.Contains(raw, classic) {
					t.Errorf("the global DSN has %q:\n%s", classic, raw)
				}
			}
		})
	}
}

// TestGlobalDSNTravelsWith8BITMIME: a global DSN is 8-bit, so on its way
// to the sender's host it goes with BODY=8BITMIME, and with SMTPUTF8 when
// the original's header it returns (message/global-headers) is UTF-8, as
// RFC 6531 §3.2 asks of a header at any level of the MIME structure. A
// sender whose address is not ASCII gets the DSN with SMTPUTF8 (its
// envelope recipient and To: are UTF-8), a classic one when nothing it
// reports on is UTF-8. A bounce of an ASCII message is the classic DSN,
// 7-bit, sent with neither.
func TestGlobalDSNTravelsWith8BITMIME(t *testing.T) {
	for _, c := range []struct {
		from, to, mail string
		global         bool
	}{
		{"carol@example.org", "böb@example.net", "MAIL FROM:<> SIZE=1525 BODY=8BITMIME SMTPUTF8\n", true},
		{"cärol@example.org", "böb@example.net", "MAIL FROM:<> SIZE=1526 BODY=8BITMIME SMTPUTF8\n", true},
		{"cärol@example.org", "bob@example.net", "MAIL FROM:<> SIZE=1411 BODY=8BITMIME SMTPUTF8\n", false},
		{"carol@example.org", "bob@example.net", "MAIL FROM:<> SIZE=1407\n", false},
	} {
		t.Run(c.from+"→"+c.to, func(t *testing.T) {
			n := testNet(t, func(mx *HostConfig) { mx.Users = append(mx.Users, c.from) }, nil)
			env, err := client.ParseEnvelope(c.from, c.to)
			if err != nil {
				t.Fatal(err)
			}
			submitEnvelope(t, n, env)
			n.Net.Advance(time.Minute)
			cmds := strings.Join(commands(n.Net.Log(), "smtp.example.com", "mx.example.org"), "\n") + "\n"
			if !strings.Contains(cmds, c.mail) {
				t.Errorf("the relay's commands to the MX lack %q:\n%s", c.mail, cmds)
			}
			mx, _ := n.Host("mx.example.org")
			msgs := mx.Mailboxes.Messages(c.from)
			if len(msgs) != 1 {
				t.Fatalf("%s has %d messages, want one DSN; trace:\n%s", c.from, len(msgs), dump(n.Net.Log()))
			}
			if got := bytes.Contains(msgs[0].Raw, []byte("report-type=global-delivery-status")); got != c.global {
				t.Errorf("global DSN: %v, want %v:\n%s", got, c.global, msgs[0].Raw)
			}
		})
	}
}

// rawSubmit has the laptop send smtp.example.com:25 the session input as
// it is, all at once, for what the lab's own client never writes, and
// lets the world settle.
func rawSubmit(t *testing.T, n *Network, input string) {
	t.Helper()
	laptop, _ := n.Host("laptop.example.com")
	n.Net.Dial(laptop.Sim(), "smtp.example.com", 25, simnet.HandlerFuncs{
		OnOpen: func(c *simnet.Conn) { _ = c.Write([]byte(input)) },
	})
	n.Net.Settle()
}

// TestRelayLeavesOutAnORcptTooLongFor7Bit: a client that said SMTPUTF8
// with nothing in its envelope or header that needs it may send an ORCPT
// of type utf-8 in UTF-8 itself (RFC 6533 §3, utf-8-addr-unitext): 100 ö
// are 210 octets with the domain. The relay's own transaction is 7-bit,
// where each ö is \x{F6}, 610 characters in all, past the 500 of RFC 3461
// §4.2: the relay passes the message on without the ORCPT, and says so,
// rather than send what the next hop must refuse.
func TestRelayLeavesOutAnORcptTooLongFor7Bit(t *testing.T) {
	n := testNet(t, nil, nil)
	orcpt := strings.Repeat("ö", 100) + "@x.example"
	rawSubmit(t, n, "EHLO laptop.example.com\r\nMAIL FROM:<alice@example.com> SMTPUTF8\r\n"+
		"RCPT TO:<bob@example.org> NOTIFY=FAILURE ORCPT=utf-8;"+orcpt+"\r\nDATA\r\n"+
		"From: alice@example.com\r\nSubject: lunch?\r\n\r\nAt noon?\r\n.\r\nQUIT\r\n")
	n.Net.Advance(time.Minute)
	cmds := strings.Join(commands(n.Net.Log(), "smtp.example.com", "mx.example.org"), "\n") + "\n"
	if !strings.Contains(cmds, "RCPT TO:<bob@example.org> NOTIFY=FAILURE\n") {
		t.Errorf("the relay's RCPT to the MX is not without its ORCPT:\n%s", cmds)
	}
	if got := notesWith(n.Net.Log(), "was not passed on to mx.example.org"); len(got) != 1 || !strings.Contains(got[0].Text, "500 characters RFC 3461 §4.2 allows") {
		t.Errorf("notes %+v, want one that says why the ORCPT was left out", got)
	}
	mx, _ := n.Host("mx.example.org")
	if got := len(mx.Mailboxes.Messages("bob@example.org")); got != 1 {
		t.Fatalf("bob has %d messages, want 1; trace:\n%s", got, dump(n.Net.Log()))
	}
}

// TestRelayPassesUTF8HeaderOnWithSMTPUTF8: a message whose header has raw
// UTF-8 comes in without SMTPUTF8, which the relay takes as Postfix does
// (see package server). Passing it on, the relay asks for SMTPUTF8, which
// such a header needs (RFC 6532 §3): the MX offers it, and the message
// goes with BODY=8BITMIME SMTPUTF8. To a next hop without SMTPUTF8 the
// message does not go at all; it comes back to its sender with 5.6.7, in a
// global DSN (RFC 6533), as its returned header is UTF-8.
func TestRelayPassesUTF8HeaderOnWithSMTPUTF8(t *testing.T) {
	const input = "EHLO laptop.example.com\r\nMAIL FROM:<alice@example.com>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n" +
		"From: alice@example.com\r\nSubject: caf\xc3\xa9?\r\n\r\nAt noon?\r\n.\r\nQUIT\r\n"
	t.Run("offered", func(t *testing.T) {
		n := testNet(t, nil, nil)
		rawSubmit(t, n, input)
		n.Net.Advance(time.Minute)
		cmds := strings.Join(commands(n.Net.Log(), "smtp.example.com", "mx.example.org"), "\n") + "\n"
		if !strings.Contains(cmds, " BODY=8BITMIME SMTPUTF8\n") {
			t.Errorf("the relay's MAIL lacks SMTPUTF8:\n%s", cmds)
		}
		mx, _ := n.Host("mx.example.org")
		if got := len(mx.Mailboxes.Messages("bob@example.org")); got != 1 {
			t.Fatalf("bob has %d messages, want 1; trace:\n%s", got, dump(n.Net.Log()))
		}
	})
	t.Run("not offered", func(t *testing.T) {
		n := testNet(t, nil, nil)
		mx, _ := n.Host("mx.example.org")
		mx.Sim().StopListening(25)
		if err := mx.Sim().Listen(25, scriptedMX("220 mx.example.org ESMTP", func() func(*simnet.Conn, string) {
			return func(c *simnet.Conn, line string) {
				if strings.EqualFold(line, "QUIT") {
					_ = c.Write([]byte("221 2.0.0 Bye\r\n"))
					c.Close("quit")
					return
				}
				_ = c.Write([]byte("250 mx.example.org\r\n")) // EHLO: no extension at all
			}
		})); err != nil {
			t.Fatal(err)
		}
		rawSubmit(t, n, input)
		n.Net.Advance(time.Minute)
		raw := aliceDSN(t, n)
		for _, want := range []string{"report-type=global-delivery-status", "Status: 5.6.7\r\n", "header in the message has raw UTF-8", "Subject: caf\xc3\xa9?\r\n"} {
			if !strings.Contains(raw, want) {
				t.Errorf("the DSN lacks %q:\n%s", want, raw)
			}
		}
	})
}

// TestRelayConverts8BitToAHopWithout8BITMIME: alice's message with 8-bit
// text goes to an MX without 8BITMIME converted to 7 bits, its text
// quoted-printable, as Postfix does (RFC 6152 §3), where it had been
// returned to her with 5.6.3; the trace says so.
func TestRelayConverts8BitToAHopWithout8BITMIME(t *testing.T) {
	n := testNet(t, nil, nil)
	got := fakeMX(t, n, "mx.example.org", "250 2.0.0 queued")
	env, err := client.ParseEnvelope("alice@example.com", "bob@example.org")
	if err != nil {
		t.Fatal(err)
	}
	submitMessage(t, n, env, "From: alice@example.com\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"+
		"Content-Transfer-Encoding: 8bit\r\nSubject: lunch\r\n\r\nD\xc3\xa9j\xc3\xa0 midi ?\r\n")
	n.Net.Advance(time.Minute)
	checkConverted(t, n, strings.Join(*got, "\r\n"),
		"MAIL FROM:<alice@example.com>\r\n",
		"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\nSubject: lunch\r\n\r\nD=C3=A9j=C3=A0 midi ?\r\n.")
	if b := kinds(n.Net.Log(), trace.Bounce); len(b) != 0 {
		t.Errorf("the message bounced: %v", b)
	}
}

// checkConverted fails t unless wire, what an MX without 8BITMIME
// received, is ASCII and has every one of wants, and a note says the
// message went converted to 7 bits.
func checkConverted(t *testing.T, n *Network, wire string, wants ...string) {
	t.Helper()
	for _, want := range wants {
		if !strings.Contains(wire, want) {
			t.Errorf("what the MX received lacks %q:\n%s", want, wire)
		}
	}
	if !smtp.IsASCII(wire) {
		t.Errorf("the MX received 8-bit octets:\n%s", wire)
	}
	if len(notesWith(n.Net.Log(), "so it went converted to 7 bits")) != 1 {
		t.Errorf("no note says the message went in 7 bits; trace:\n%s", dump(n.Net.Log()))
	}
}

// TestGlobalDSNIn7BitToAHopWithout8BITMIME: carol's message to böb at a
// null MX bounces at once, and the relay writes her a global DSN, 8-bit.
// To an MX without 8BITMIME, or without SMTPUTF8, engine/client converts
// it to 7 bits, each part beyond ASCII quoted-printable (RFC 6533 §6),
// where it had been refused and, as a DSN, dropped. A DSN whose own
// envelope needs SMTPUTF8 (to cärol) still fails at such an MX (RFC 6531
// §3.2).
func TestGlobalDSNIn7BitToAHopWithout8BITMIME(t *testing.T) {
	for _, c := range []struct {
		name, from string
		ext        []string
		sent       bool
	}{
		{"no extension", "carol@example.org", nil, true},
		{"8BITMIME, no SMTPUTF8", "carol@example.org", []string{"8BITMIME"}, true},
		{"UTF-8 sender, no SMTPUTF8", "cärol@example.org", []string{"8BITMIME"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			n := testNet(t, nil, nil)
			got := fakeMX(t, n, "mx.example.org", "250 2.0.0 queued", c.ext...)
			env, err := client.ParseEnvelope(c.from, "böb@example.net")
			if err != nil {
				t.Fatal(err)
			}
			submitEnvelope(t, n, env)
			n.Net.Advance(time.Minute)
			wire := strings.Join(*got, "\r\n")
			if !c.sent {
				if strings.Contains(wire, "MAIL FROM") {
					t.Errorf("the DSN to %s was sent:\n%s", c.from, wire)
				}
				if len(notesWith(n.Net.Log(), "bounces are never bounced")) != 1 {
					t.Errorf("no note that the DSN was dropped; trace:\n%s", dump(n.Net.Log()))
				}
				return
			}
			checkConverted(t, n, wire,
				"MAIL FROM:<>\r\n",
				"Content-Type: multipart/report; report-type=global-delivery-status;",
				"Content-Type: message/global-delivery-status\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n",
				"Final-Recipient: utf-8; b=C3=B6b@example.net\r\n",
				"Content-Type: message/global-headers\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
			if len(notesWith(n.Net.Log(), "RFC 6533 §6 asks for a global DSN's parts so encoded")) != 1 {
				t.Errorf("no note says why it matters more for a DSN; trace:\n%s", dump(n.Net.Log()))
			}
		})
	}
}
