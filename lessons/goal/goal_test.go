package goal

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"smtplab/engine/trace"
)

// session is a hand-built trace of a learner submitting a message on port
// 587: STARTTLS, AUTH, one unknown and one known recipient, then the
// server relaying the message after an MX lookup and two retries.
func session() []trace.Event {
	const you, srv = "you.example.net", "smtp.example.com"
	evs := []trace.Event{
		{Kind: trace.ConnOpen, Conn: 1, Host: you, Peer: srv, Port: 587},
		{Kind: trace.Reply, Conn: 1, Host: srv, Peer: you, Code: 220},
		{Kind: trace.Command, Conn: 1, Host: you, Peer: srv, Verb: "EHLO", Text: "EHLO you.example.net"},
		{Kind: trace.Reply, Conn: 1, Host: srv, Peer: you, Verb: "EHLO", Code: 250},
		{Kind: trace.Command, Conn: 1, Host: you, Peer: srv, Verb: "STARTTLS", Text: "STARTTLS"},
		{Kind: trace.Reply, Conn: 1, Host: srv, Peer: you, Verb: "STARTTLS", Code: 220, Enhanced: "2.0.0"},
		{Kind: trace.TLSStep, Conn: 1, Host: you, Peer: srv, Step: "client-hello"},
		{Kind: trace.TLSStep, Conn: 1, Host: you, Peer: srv, Step: "finished", Attrs: map[string]string{"version": "TLS 1.3", "verify": "ok"}},
		{Kind: trace.Bytes, Conn: 1, Host: you, Peer: srv, Dir: trace.ToServer, TLS: true, Size: 22},
		{Kind: trace.Command, Conn: 1, Host: you, Peer: srv, Verb: "EHLO", Text: "EHLO you.example.net"},
		{Kind: trace.Reply, Conn: 1, Host: srv, Peer: you, Verb: "EHLO", Code: 250},
		{Kind: trace.Command, Conn: 1, Host: you, Peer: srv, Verb: "AUTH", Text: "AUTH PLAIN AGFsaWNl"},
		{Kind: trace.Reply, Conn: 1, Host: srv, Peer: you, Verb: "AUTH", Code: 235, Enhanced: "2.7.0"},
		{Kind: trace.Command, Conn: 1, Host: you, Peer: srv, Verb: "MAIL", Text: "MAIL FROM:<alice@example.com>"},
		{Kind: trace.Reply, Conn: 1, Host: srv, Peer: you, Verb: "MAIL", Code: 250, Enhanced: "2.1.0"},
		{Kind: trace.Command, Conn: 1, Host: you, Peer: srv, Verb: "RCPT", Text: "RCPT TO:<nobody@example.org>"},
		{Kind: trace.Reply, Conn: 1, Host: srv, Peer: you, Verb: "RCPT", Code: 550, Enhanced: "5.1.1", Reason: "unknown-user"},
		{Kind: trace.Command, Conn: 1, Host: you, Peer: srv, Verb: "RCPT", Text: "RCPT TO:<bob@example.org>"},
		{Kind: trace.Reply, Conn: 1, Host: srv, Peer: you, Verb: "RCPT", Code: 250, Enhanced: "2.1.5", Reason: "recipient-ok"},
		{Kind: trace.QueueAdd, Host: srv, Msg: "m1", Rcpt: "bob@example.org"},
		{Kind: trace.DNSQuery, Host: srv, Name: "example.org", RType: "MX"},
		{Kind: trace.DNSAnswer, Host: srv, Name: "example.org", RType: "MX", Text: "10 mx1.example.org."},
		{Kind: trace.QueueRetry, Host: srv, Msg: "m1", Rcpt: "bob@example.org", Text: "451 4.7.1 try later", Attrs: map[string]string{"attempt": "1"}},
		{Kind: trace.QueueRetry, Host: srv, Msg: "m1", Rcpt: "bob@example.org", Text: "451 4.7.1 try later", Attrs: map[string]string{"attempt": "2"}},
		{Kind: trace.Delivery, Host: "mx1.example.org", Msg: "m1", Rcpt: "bob@example.org", Size: 310},
	}
	for i := range evs {
		evs[i].ID = i + 1
		evs[i].At = int64(i) * 10
	}
	return evs
}

func decodeYAML(t testing.TB, src string) Goal {
	t.Helper()
	var g Goal
	if err := yaml.Unmarshal([]byte(src), &g); err != nil {
		t.Fatalf("decoding %q: %v", src, err)
	}
	return g
}

func TestCheck(t *testing.T) {
	tests := []struct {
		goal string
		want bool
	}{
		// event matchers
		{`reply: {verb: EHLO, code: 250}`, true},
		{`reply: {verb: ehlo, code: "2xx"}`, true},
		{`reply: {code: 220}`, true},
		{`reply: {code: 221}`, false},
		{`reply: {verb: RCPT, code: 5xx, enhanced: 5.1.1}`, true},
		{`reply: {verb: RCPT, enhanced: 5.1.x}`, true},
		{`reply: {verb: RCPT, enhanced: 5.7.x}`, false},
		{`reply: {verb: MAIL, code: 5xx}`, false},
		{`reply: {verb: RCPT, reason: unknown-user}`, true},
		{`reply: {verb: RCPT, code: 250, reason: Recipient-OK}`, true},
		{`reply: {verb: RCPT, code: 250, reason: unknown-user}`, false},
		{`reply: {reason: recipient}`, false}, // the whole reason, not a part
		{`event: {kind: smtp.reply, reason: unknown-user, enhanced: 5.1.1}`, true},
		{`event: {kind: smtp.command, reason: unknown-user}`, false},
		{`reply: {host: SMTP.example.com, peer: you.example.net}`, true},
		{`reply:`, true},
		{`command: {verb: RCPT}`, true},
		{`command: {verb: RCPT, text: "<BOB@example.org>"}`, true},
		{`command: {verb: RCPT, text: carol@}`, false},
		{`command: {verb: QUIT}`, false},
		{`dns: {rtype: MX, name: example.org}`, true},
		{`dns: {rtype: A}`, false},
		{`tls: {step: finished}`, true},
		{`tls: {step: finished, attrs: {version: "TLS 1.3"}}`, true},
		{`tls: {step: finished, attrs: {version: "TLS 1.2"}}`, false},
		{`tls: {step: failed}`, false},
		{`queued: {rcpt: bob@example.org}`, true},
		{`delivered: {rcpt: "<bob@example.org>"}`, true},
		{`delivered: {rcpt: carol@example.org}`, false},
		{`bounce: {}`, false},
		{`event: {kind: dns.answer, text: mx1.example.org}`, true},
		{`event: {kind: bytes, tls: true, dir: c2s}`, true},
		{`event: {kind: bytes, tls: false}`, false},
		{`event: {kind: conn.open, port: 587}`, true},
		{`event: {kind: conn.open, port: 25}`, false},
		{`event: {kind: queue.retry, attrs: {attempt: 2}}`, true},
		// ordering
		{"before:\n- tls: {step: finished}\n- reply: {verb: AUTH, code: 235}", true},
		{"before:\n- reply: {verb: AUTH, code: 235}\n- tls: {step: finished}", false},
		{"before:\n- reply: {verb: EHLO}\n- tls: {step: finished}\n- reply: {verb: EHLO}", true},
		{"before:\n- reply: {verb: AUTH}\n- reply: {verb: EHLO}", false},
		{"before:\n- reply: {verb: RCPT, code: 550}\n- reply: {verb: RCPT, code: 250}", true},
		// counting
		{`count: {event: {kind: queue.retry}, min: 2}`, true},
		{`count: {event: {kind: queue.retry}, min: 3}`, false},
		{`count: {reply: {verb: EHLO}, min: 2, max: 2}`, true},
		{`count: {reply: {verb: RCPT}, max: 1}`, false},
		{`count: {reply: {verb: QUIT}, min: 0, max: 1}`, true},
		// combinations
		{"all:\n- reply: {code: 235}\n- delivered: {rcpt: bob@example.org}", true},
		{"all:\n- reply: {code: 235}\n- bounce: {}", false},
		{"any:\n- bounce: {}\n- delivered: {}", true},
		{"any:\n- bounce: {}\n- tls: {step: failed}", false},
		{`not: {tls: {step: failed}}`, true},
		{`not: {reply: {code: 550}}`, false},
		{"not:\n  any:\n  - bounce: {}\n  - reply: {code: 4xx}", true},
		// answers
		{`answered: {command: {verb: RCPT, text: bob@example.org}, reply: {code: 250, enhanced: 2.1.5}}`, true},
		{`answered: {command: {verb: RCPT, text: nobody@example.org}, reply: {code: 550, reason: unknown-user}}`, true},
		{`answered: {command: {verb: RCPT, text: nobody@example.org}, reply: {code: 250}}`, false},
		{`answered: {command: {verb: MAIL}, reply: {verb: RCPT}}`, false}, // later replies answer later commands
		{`answered: {command: {verb: AUTH, starts: AUTH PLAIN}, reply: {code: 235}}`, true},
		{`answered: {command: {verb: STARTTLS}, reply: {code: 220, enhanced: 2.0.0}}`, true},
		{"answered:\n  command: {verb: QUIT}\n  reply:", false},
		{"answered:\n  command: {verb: MAIL}\n  reply:", true}, // answered at all
		{"not: {answered: {command: {verb: RCPT}, reply: {code: 4xx}}}", true},
	}
	events := session()
	for _, tt := range tests {
		g := decodeYAML(t, "id: g\ntext: t\n"+tt.goal)
		got := Check([]Goal{g}, events)
		if len(got) != 1 || got[0].Done != tt.want || got[0].ID != "g" || got[0].Text != "t" {
			t.Errorf("%s\n  → %+v, want done=%v", tt.goal, got, tt.want)
		}
	}
}

// terminalTrace is two connections: the terminal's (1), where the learner
// says EHLO, starts TLS and quits, and the mail client's (2), which says
// EHLO inside TLS and sends raw bytes; then the terminal's second (3),
// a plain EHLO and a smuggling attempt.
func terminalTrace() []trace.Event {
	const you, srv = "laptop.example.com", "smtp.example.com"
	term := map[string]string{trace.AttrClient: trace.ClientTerminal}
	evs := []trace.Event{
		{Kind: trace.ConnOpen, Conn: 1, Host: you, Peer: srv, Port: 587, Attrs: term},
		{Kind: trace.Reply, Conn: 1, Host: srv, Peer: you, Verb: "EHLO", Code: 250},
		{Kind: trace.Reply, Conn: 1, Host: srv, Peer: you, Verb: "STARTTLS", Code: 220},
		{Kind: trace.TLSStep, Conn: 1, Host: you, Peer: srv, Step: "finished"},
		{Kind: trace.Reply, Conn: 1, Host: srv, Peer: you, Verb: "QUIT", Code: 221, TLS: true},
		{Kind: trace.ConnOpen, Conn: 2, Host: you, Peer: srv, Port: 587},
		{Kind: trace.TLSStep, Conn: 2, Host: you, Peer: srv, Step: "finished"},
		{Kind: trace.Reply, Conn: 2, Host: srv, Peer: you, Verb: "EHLO", Code: 250, TLS: true},
		{Kind: trace.Reply, Conn: 2, Host: srv, Peer: you, Verb: "AUTH", Code: 235, TLS: true},
		{Kind: trace.ConnOpen, Conn: 3, Host: you, Peer: srv, Port: 587, Attrs: term},
		{Kind: trace.Reply, Conn: 3, Host: srv, Peer: you, Verb: "EHLO", Code: 250},
		{Kind: trace.Bytes, Conn: 3, Host: you, Peer: srv, Dir: trace.ToServer, Text: "Subject: wait..\r\n"},
		{Kind: trace.Bytes, Conn: 3, Host: you, Peer: srv, Dir: trace.ToServer,
			Text: "Hi.\n.\r\nMAIL FROM:<ceo@example.com>\r\nRCPT TO:<carol@example.org>\r\n"},
		{Kind: trace.ConnRefused, Host: you, Peer: "mx.example.org", Port: 25, Attrs: term},
		{Kind: trace.QueueAdd, Host: srv, Msg: "m1", Rcpt: "bob@example.org"},
	}
	for i := range evs {
		evs[i].ID = i + 1
	}
	return evs
}

func TestTerminalSessionStartsAndText(t *testing.T) {
	tests := []struct {
		goal string
		want bool
	}{
		{`reply: {verb: AUTH, terminal: true}`, false},
		{`reply: {verb: AUTH, terminal: false}`, true},
		{`reply: {verb: AUTH}`, true},
		{`reply: {verb: EHLO, tls: true, terminal: true}`, false},
		{`reply: {verb: EHLO, tls: true}`, true},
		{`reply: {verb: QUIT, tls: true, terminal: true}`, true},
		{`event: {kind: conn.refused, terminal: true}`, true},
		{`queued: {rcpt: bob@example.org}`, true},
		{`event: {kind: queue.add, terminal: false}`, false}, // no connection: neither
		// before spans connections: the terminal's TLS, then the client's EHLO
		{"before:\n- tls: {step: finished, terminal: true}\n- reply: {verb: EHLO, code: 250}", true},
		// session does not
		{"session:\n- tls: {step: finished, terminal: true}\n- reply: {verb: EHLO, code: 250}", false},
		{"session:\n- tls: {step: finished}\n- reply: {verb: EHLO, code: 250}", true},
		{"session:\n- reply: {verb: EHLO, terminal: true}\n- tls: {step: finished}\n- reply: {verb: QUIT}", true},
		{"session:\n- tls: {step: finished, terminal: true}\n- reply: {verb: AUTH}", false},
		{"session:\n- reply: {verb: EHLO, terminal: true}\n- event: {kind: bytes, text: carol}", true},
		{"session:\n- event: {kind: bytes, text: carol}\n- reply: {verb: EHLO}", false},
		// starts: at the start of a line only
		{`event: {kind: bytes, starts: ..}`, false},
		{`event: {kind: bytes, starts: "mail from:<ceo"}`, true},
		{`event: {kind: bytes, starts: "."}`, true},
		{`event: {kind: bytes, starts: "RCPT TO:<carol"}`, true},
		{`event: {kind: bytes, starts: "TO:<carol"}`, false},
		// text: a list, in order
		{`event: {kind: bytes, text: ["\n.\r\n", "MAIL FROM:", "RCPT TO:<carol@example.org>"]}`, true},
		{`event: {kind: bytes, text: ["RCPT TO:<carol", "MAIL FROM:"]}`, false},
		{`event: {kind: bytes, text: ["\n.\r\n", "\n.\r\n"]}`, false},
		{`event: {kind: bytes, text: [wait, ..]}`, true},
	}
	events := terminalTrace()
	for _, tt := range tests {
		g := decodeYAML(t, "id: g\ntext: t\n"+tt.goal)
		if got := Check([]Goal{g}, events)[0].Done; got != tt.want {
			t.Errorf("%s\n  → done=%v, want %v", tt.goal, got, tt.want)
		}
		if got := g.Cond.Holds(events); got != tt.want {
			t.Errorf("%s\n  Holds → %v, want %v", tt.goal, got, tt.want)
		}
	}
}

// answerTrace has three connections. On the terminal's (1), AUTH LOGIN
// takes three lines, then Bob is refused and Carol accepted. A relay's
// (2) sends a RCPT for Bob and is cut before any reply, while connection 3
// pipelines MAIL, two RCPTs and DATA, the second RCPT refused, then sends
// the message and a BDAT chunk of the next one.
func answerTrace() []trace.Event {
	const you, relay, srv = "laptop.example.com", "relay.example.net", "mx.example.org"
	term := map[string]string{trace.AttrClient: trace.ClientTerminal}
	cmd := func(conn int, from, verb, text string) trace.Event {
		return trace.Event{Kind: trace.Command, Conn: conn, Host: from, Peer: srv, Verb: verb, Text: text}
	}
	reply := func(conn int, to, verb string, code int, reason string) trace.Event {
		return trace.Event{Kind: trace.Reply, Conn: conn, Host: srv, Peer: to, Verb: verb, Code: code, Reason: reason}
	}
	evs := []trace.Event{
		{Kind: trace.ConnOpen, Conn: 1, Host: you, Peer: srv, Port: 25, Attrs: term},
		reply(1, you, "", 220, "greeting"),
		cmd(1, you, "AUTH", "AUTH LOGIN"),
		reply(1, you, "AUTH", 334, "auth-challenge"),
		cmd(1, you, "AUTH", "YWxpY2VAZXhhbXBsZS5jb20="),
		reply(1, you, "AUTH", 334, "auth-challenge"),
		cmd(1, you, "AUTH", "d29uZGVybGFuZA=="),
		reply(1, you, "AUTH", 235, "auth-ok"),
		cmd(1, you, "MAIL", "MAIL FROM:<alice@example.com>"),
		reply(1, you, "MAIL", 250, "sender-ok"),
		cmd(1, you, "RCPT", "RCPT TO:<bob@example.org>"),
		reply(1, you, "RCPT", 550, "unknown-user"),
		cmd(1, you, "RCPT", "RCPT TO:<carol@example.org>"),
		reply(1, you, "RCPT", 250, "recipient-ok"),
		{Kind: trace.ConnOpen, Conn: 2, Host: relay, Peer: srv, Port: 25},
		{Kind: trace.ConnOpen, Conn: 3, Host: relay, Peer: srv, Port: 25},
		cmd(2, relay, "RCPT", "RCPT TO:<bob@example.org>"),
		{Kind: trace.Bytes, Conn: 3, Host: relay, Peer: srv, Dir: trace.ToServer,
			Text: "MAIL FROM:<>\r\nRCPT TO:<dave@example.org>\r\nRCPT TO:<erin@example.org>\r\nDATA\r\n"},
		cmd(3, relay, "MAIL", "MAIL FROM:<>"),
		reply(3, relay, "MAIL", 250, "sender-ok"),
		cmd(3, relay, "RCPT", "RCPT TO:<dave@example.org>"),
		reply(3, relay, "RCPT", 250, "recipient-ok"),
		cmd(3, relay, "RCPT", "RCPT TO:<erin@example.org>"),
		reply(3, relay, "RCPT", 550, "unknown-user"),
		cmd(3, relay, "DATA", "DATA"),
		reply(3, relay, "DATA", 354, "start-data"),
		{Kind: trace.ConnClose, Conn: 2, Host: relay, Peer: srv, Text: "dropped"},
		{Kind: trace.Bytes, Conn: 3, Host: relay, Peer: srv, Dir: trace.ToServer, Text: "Subject: hi\r\n\r\nhi\r\n.\r\n"},
		reply(3, relay, "DATA", 250, "message-accepted"),
		cmd(3, relay, "MAIL", "MAIL FROM:<>"),
		reply(3, relay, "MAIL", 250, "sender-ok"),
		cmd(3, relay, "RCPT", "RCPT TO:<dave@example.org>"),
		reply(3, relay, "RCPT", 250, "recipient-ok"),
		cmd(3, relay, "BDAT", "BDAT 30"),
		{Kind: trace.Bytes, Conn: 3, Host: relay, Peer: srv, Dir: trace.ToServer, Text: "Subject: two\r\n\r\nfirst, second"},
		reply(3, relay, "BDAT", 250, "chunk-accepted"),
	}
	for i := range evs {
		evs[i].ID = i + 1
	}
	return evs
}

func TestAnswered(t *testing.T) {
	tests := []struct {
		goal string
		want bool
	}{
		// Bob refused, then Carol accepted: session is fooled, answered not.
		{"session:\n- command: {verb: RCPT, text: bob@example.org, terminal: true}\n- reply: {verb: RCPT, code: 250}", true},
		{`answered: {command: {verb: RCPT, text: bob@example.org, terminal: true}, reply: {code: 250}}`, false},
		{`answered: {command: {verb: RCPT, text: bob@example.org, terminal: true}, reply: {code: 550, reason: unknown-user}}`, true},
		{`answered: {command: {verb: RCPT, text: carol@example.org}, reply: {code: 250}}`, true},
		// The relay's RCPT for Bob is never answered: the 250s after it
		// belong to connection 3.
		{"before:\n- command: {verb: RCPT, text: bob@example.org, host: relay.example.net}\n- reply: {verb: RCPT, code: 250}", true},
		{`answered: {command: {verb: RCPT, text: bob@example.org, host: relay.example.net}, reply: {code: 250}}`, false},
		{`answered: {command: {verb: RCPT, text: bob@example.org, host: relay.example.net}, reply: {}}`, false},
		// A pipelined batch pairs in order: the second RCPT is the refused one.
		{`answered: {command: {verb: RCPT, text: dave@example.org, terminal: false}, reply: {code: 250}}`, true},
		{`answered: {command: {verb: RCPT, text: erin@example.org}, reply: {code: 550}}`, true},
		{`answered: {command: {verb: RCPT, text: erin@example.org}, reply: {code: 2xx}}`, false},
		// DATA is answered by its 354; the 250 after the dot answers nothing.
		{`answered: {command: {verb: DATA}, reply: {code: 354}}`, true},
		{`answered: {command: {verb: DATA}, reply: {code: 250}}`, false},
		{`answered: {command: {verb: BDAT}, reply: {reason: chunk-accepted}}`, true},
		// Each AUTH line is answered in turn.
		{`answered: {command: {verb: AUTH, starts: AUTH LOGIN}, reply: {code: 334}}`, true},
		{`answered: {command: {verb: AUTH, starts: AUTH LOGIN}, reply: {code: 235}}`, false},
		{`answered: {command: {verb: AUTH}, reply: {code: 235, terminal: true}}`, true},
		// The greeting answers no command.
		{`answered: {command: {}, reply: {code: 220}}`, false},
	}
	events := answerTrace()
	for _, tt := range tests {
		g := decodeYAML(t, "id: g\ntext: t\n"+tt.goal)
		if got := g.Cond.Holds(events); got != tt.want {
			t.Errorf("%s\n  → %v, want %v", tt.goal, got, tt.want)
		}
	}

	// A command of no connection has no answer, even right before a reply.
	loose := []trace.Event{{Kind: trace.Command, Verb: "NOOP"}, {Kind: trace.Reply, Verb: "NOOP", Code: 250}}
	c := Cond{Answered: &Answered{Command: Match{Kind: trace.Command}, Reply: Match{Kind: trace.Reply}}}
	if c.Holds(loose) {
		t.Error("a command of no connection was answered")
	}
}

// TestAnswerAndNoneSteps checks answered and none as steps of session and
// before, against answerTrace.
func TestAnswerAndNoneSteps(t *testing.T) {
	const batch = "event: {kind: bytes, dir: c2s, text: [\"RCPT TO:\", \"\\r\\nDATA\\r\\n\"]}"
	const noWrite = "none: {event: {kind: bytes, dir: c2s}}"
	tests := []struct {
		goal string
		want bool
	}{
		// Bob refused, then Carol accepted: a reply step takes Carol's
		// 250, an answered step only Bob's own 550.
		{"session:\n- answered: {command: {verb: MAIL, terminal: true}, reply: {code: 250}}\n- answered: {command: {text: bob@example.org}, reply: {code: 250}}", false},
		{"session:\n- answered: {command: {verb: MAIL, terminal: true}, reply: {code: 250}}\n- answered: {command: {text: bob@example.org}, reply: {code: 550}}", true},
		{"session:\n- answered: {command: {verb: MAIL, terminal: true}, reply: {code: 250}}\n- answered: {command: {text: carol@example.org}, reply: {code: 250}}", true},
		{"session:\n- answered: {command: {text: carol@example.org}, reply: {code: 250}}\n- answered: {command: {text: bob@example.org}, reply: {}}", false},
		// The step ends at its reply: the next step comes after it.
		{"session:\n- answered: {command: {starts: AUTH LOGIN}, reply: {code: 334}}\n- reply: {code: 334}", true},
		{"session:\n- answered: {command: {starts: AUTH LOGIN}, reply: {code: 334}}\n- reply: {code: 334}\n- reply: {code: 334}", false},
		// The relay's RCPT for Bob is never answered, in before as alone.
		{"before:\n- event: {kind: conn.open, host: relay.example.net}\n- answered: {command: {text: bob@example.org}, reply: {}}", false},
		{"before:\n- event: {kind: conn.open, host: relay.example.net}\n- answered: {command: {text: dave@example.org}, reply: {code: 250}}", true},
		// none: the next command after the first 334 is the name, not the
		// password that got 235.
		{"session:\n- answered: {command: {starts: AUTH LOGIN}, reply: {code: 334}}\n- none: {command: {}}\n- answered: {command: {verb: AUTH}, reply: {code: 235}}", false},
		{"session:\n- answered: {command: {starts: AUTH LOGIN}, reply: {code: 334}}\n- none: {command: {}}\n- answered: {command: {verb: AUTH}, reply: {code: 334}}", true},
		{"session:\n- answered: {command: {starts: AUTH LOGIN}, reply: {code: 334}}\n- none: {command: {}}\n- none: {reply: {code: 334}}\n- answered: {command: {verb: AUTH}, reply: {code: 334}}", true},
		{"session:\n- answered: {command: {starts: AUTH LOGIN}, reply: {code: 334}}\n- none: {command: {}}\n- command: {}\n- none: {command: {}}\n- reply: {code: 235}", false},
		// A pipelined batch pairs in order: Dave is accepted, Erin
		// refused, and DATA gets its 354, all commands of that one write.
		{"session:\n- " + batch + "\n- " + noWrite + "\n- answered: {command: {verb: RCPT}, reply: {code: 550}}\n- " + noWrite + "\n- answered: {command: {verb: DATA}, reply: {code: 354}}", true},
		{"session:\n- " + batch + "\n- " + noWrite + "\n- answered: {command: {text: erin@example.org}, reply: {code: 550}}", true},
		{"session:\n- " + batch + "\n- " + noWrite + "\n- answered: {command: {text: erin@example.org}, reply: {code: 250}}", false},
		{"session:\n- " + batch + "\n- " + noWrite + "\n- answered: {command: {text: dave@example.org}, reply: {code: 5xx}}", false},
		// BDAT came after the message's bytes, in another write.
		{"session:\n- " + batch + "\n- " + noWrite + "\n- answered: {command: {verb: BDAT}, reply: {}}", false},
		// The first RCPT for Dave has the message's bytes after it; only
		// the second is followed at once by BDAT: a later match of a step
		// is found when the earliest does not do.
		{"session:\n- answered: {command: {text: dave@example.org}, reply: {code: 250}}\n- " + noWrite + "\n- answered: {command: {verb: BDAT}, reply: {reason: chunk-accepted}}", true},
		{"session:\n- answered: {command: {verb: MAIL}, reply: {code: 250}}\n- none: {command: {verb: RCPT}}\n- answered: {command: {verb: BDAT}, reply: {}}", false},
		// none at the end: nothing of the kind after the last step; at
		// the start: nothing before the first.
		{"session:\n- answered: {command: {verb: DATA}, reply: {code: 354}}\n- none: {reply: {reason: message-accepted}}", false},
		{"session:\n- answered: {command: {text: bob@example.org}, reply: {code: 550}}\n- none: {reply: {code: 5xx}}", true},
		{"session:\n- none: {reply: {code: 5xx}}\n- answered: {command: {text: bob@example.org}, reply: {code: 550}}", true},
		{"session:\n- none: {reply: {code: 5xx}}\n- answered: {command: {text: carol@example.org}, reply: {code: 250}}", false},
		// In a session, none looks at that connection only; in before,
		// at every event: the relay's RCPT on connection 2 comes between
		// Carol's 250 and connection 3's MAIL.
		{"session:\n- answered: {command: {verb: MAIL}, reply: {code: 250}}\n- none: {command: {}}\n- answered: {command: {verb: RCPT}, reply: {code: 250}}", true},
		{"before:\n- answered: {command: {text: carol@example.org}, reply: {code: 250}}\n- none: {command: {}}\n- command: {verb: MAIL}", false},
		{"before:\n- answered: {command: {text: carol@example.org}, reply: {code: 250}}\n- none: {command: {host: laptop.example.com}}\n- command: {verb: MAIL}", true},
	}
	events := answerTrace()
	for _, tt := range tests {
		g := decodeYAML(t, "id: g\ntext: t\n"+tt.goal)
		if got := g.Cond.Holds(events); got != tt.want {
			t.Errorf("%s\n  → %v, want %v", tt.goal, got, tt.want)
		}
		if got := Check([]Goal{g}, events)[0].Done; got != tt.want {
			t.Errorf("%s\n  Check → %v, want %v", tt.goal, got, tt.want)
		}
	}
}

// TestAnsweredStepEndsAtTheEarliestAnswer: in before, a command on one
// connection may be answered after a later command on another; the step
// ends at the earliest answer it can have, so what comes next is looked
// for from there, or, when a none step follows, at any of them.
func TestAnsweredStepEndsAtTheEarliestAnswer(t *testing.T) {
	events := []trace.Event{
		{Kind: trace.Command, Conn: 1, Verb: "NOOP"},
		{Kind: trace.Command, Conn: 2, Verb: "NOOP"},
		{Kind: trace.Reply, Conn: 2, Verb: "NOOP", Code: 250},
		{Kind: trace.Note, Text: "between"},
		{Kind: trace.Reply, Conn: 1, Verb: "NOOP", Code: 250},
	}
	answered := &Answered{Command: Match{Kind: trace.Command}, Reply: Match{Kind: trace.Reply}}
	note := &Match{Kind: trace.Note}
	if c := (Cond{Before: []Step{{Answered: answered}, {Event: note}}}); !c.Holds(events) {
		t.Error("the step did not end at connection 2's answer")
	}
	// With a none step after it, every place it can end counts: the
	// note follows connection 2's answer, not connection 1's.
	if c := (Cond{Before: []Step{{Answered: answered}, {None: note}}}); !c.Holds(events) {
		t.Error("the step did not end at connection 1's answer too")
	}
	if c := (Cond{Before: []Step{{}, {Event: note}}}); c.Holds(events) {
		t.Error("an empty step happened")
	}
}

func TestEmptyTraceDoesNothing(t *testing.T) {
	g := decodeYAML(t, "id: g\ntext: t\nreply: {code: 250}")
	if r := Check([]Goal{g}, nil); r[0].Done {
		t.Fatal("a goal was done on an empty trace")
	}
	if (Cond{}).Holds(session()) {
		t.Fatal("an empty condition held")
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		src  string
		want string // a part of the message
	}{
		{"id: x\ntext: t", `"x": empty goal`},
		{"id: x\ntext: t\nreply: {rcpt: bob@example.org}", `"x": reply: unknown field "rcpt" (reply knows verb, code, enhanced, reason, tls, terminal, host, peer)`},
		{"id: x\ntext: t\ncommand: {reason: hello}", `"x": command: unknown field "reason"`},
		{"id: x\ntext: t\nreply: {reason: 250}", `reply.reason: must be text`},
		{"id: x\ntext: t\nreplies: {code: 250}", `unknown field "replies"`},
		{"id: x\ntext: t\nreply: {code: 2x}", `reply.code: "2x" is not a reply code pattern`},
		{"id: x\ntext: t\nreply: {code: 650}", `reply.code: 650 is not a reply code pattern`},
		{"id: x\ntext: t\nreply: {code: [250]}", `reply.code: a list is not a reply code pattern`},
		{"id: x\ntext: t\nreply: {enhanced: 5.1}", `reply.enhanced: must be text`},
		{"id: x\ntext: t\nreply: {enhanced: 3.1.1}", `"3.1.1" is not an enhanced status code pattern`},
		{"id: x\ntext: t\nreply: {verb: \"\"}", `reply.verb: is empty`},
		{"id: x\ntext: t\nreply: {code: 250}\ncommand: {verb: EHLO}", `has 2 conditions (command, reply) where one is allowed`},
		{"id: x\ntext: t\nreply: 250", `reply: must be a mapping of event fields, not 250`},
		{"id: x\ntext: t\nevent: {code: 250}", `event: needs a kind`},
		{"id: x\ntext: t\nevent: {kind: smtp.answer}", `"smtp.answer" is not an event kind`},
		{"id: x\ntext: t\nevent: {kind: bytes, dir: up}", `"up" is not a direction`},
		{"id: x\ntext: t\nevent: {kind: conn.open, port: 70000}", `port number from 1 to 65535`},
		{"id: x\ntext: t\nevent: {kind: bytes, tls: yes}", `event.tls: must be true or false, not "yes"`},
		{"id: x\ntext: t\ntls: {attrs: [a]}", `tls.attrs: must be a mapping`},
		{"id: x\ntext: t\nbefore: [{reply: {code: 250}}]", `before: needs at least 2 steps`},
		{"id: x\ntext: t\nbefore: {reply: {code: 250}}", `before: must be a list`},
		{"id: x\ntext: t\nbefore: [{all: []}, {reply: {}}]", `before[1]: "all" is not a step; a step is an event matcher (reply, command, dns, tls, queued, delivered, bounce, event), answered or none`},
		{"id: x\ntext: t\nbefore: [{reply: {}, command: {}}, {reply: {}}]", `before[1]: must be one step like {reply: {code: 250}}, {answered:`},
		{"id: x\ntext: t\nbefore: [{reply: {rcpt: a}}, {reply: {}}]", `before[1].reply: unknown field "rcpt"`},
		{"id: x\ntext: t\ncount: {reply: {}, min: -1}", `count.min: must be a whole number`},
		{"id: x\ntext: t\ncount: {reply: {}, min: 3, max: 2}", `max 2 is less than min 3`},
		{"id: x\ntext: t\ncount: {reply: {}, min: 0}", `min 0 and no max always holds`},
		{"id: x\ntext: t\ncount: {min: 2}", `count: must be one event matcher`},
		{"id: x\ntext: t\nall: []", `all: needs at least 1 conditions`},
		{"id: x\ntext: t\nany: [250]", `any[1]: must be a condition`},
		{"id: x\ntext: t\nnot: {}", `not: empty goal`},
		{"id: [x]\ntext: t\nreply: {}", `id: must be text`},
		{"text: t\nreply: {bogus: 1}", `a goal with no id: reply: unknown field "bogus"`},
		{"- a\n- b", `a goal must be a mapping`},
		{"id: x\ntext: t\nnot:\n" + nest(20), `nest more than 16 deep`},
		{"id: x\ntext: t\nreply: {terminal: yes}", `reply.terminal: must be true or false, not "yes"`},
		{"id: x\ntext: t\ndelivered: {rcpt: a, terminal: true}", `delivered: unknown field "terminal"`},
		{"id: x\ntext: t\ncommand: {text: []}", `command.text: is an empty list`},
		{"id: x\ntext: t\ncommand: {text: [a, \"\"]}", `command.text: must be text, or a list of texts, none empty`},
		{"id: x\ntext: t\ncommand: {text: \"\"}", `command.text: is empty`},
		{"id: x\ntext: t\nevent: {kind: bytes, starts: 3}", `event.starts: must be text`},
		{"id: x\ntext: t\nsession: [{reply: {}}]", `session: needs at least 2 steps`},
		{"id: x\ntext: t\nsession: [{not: {reply: {}}}, {reply: {}}]", `session[1]: "not" is not a step`},
		{"id: x\ntext: t\nsession: [{reply: {}}, {not: {command: {}}}, {reply: {}}]", `write none: {...} between them`},
		{"id: x\ntext: t\nanswered: {command: {verb: RCPT}}", `"x": answered: needs a reply, like reply: {code: 250}`},
		{"id: x\ntext: t\nanswered: {reply: {code: 250}}", `"x": answered: needs a command, like command: {verb: RCPT`},
		{"id: x\ntext: t\nanswered: {}", `answered: needs a command`},
		{"id: x\ntext: t\nanswered: {command: {}, reply: {}, replies: {}}", `answered: unknown field "replies" (answered knows command and reply)`},
		{"id: x\ntext: t\nanswered: {command: {code: 250}, reply: {}}", `answered.command: unknown field "code" (command knows verb, text, starts`},
		{"id: x\ntext: t\nanswered: {command: {}, reply: {text: Ok}}", `answered.reply: unknown field "text" (reply knows verb, code`},
		{"id: x\ntext: t\nanswered: {command: {}, reply: {code: 6xx}}", `answered.reply.code: "6xx" is not a reply code pattern`},
		{"id: x\ntext: t\nanswered: {command: RCPT, reply: {}}", `answered.command: must be a mapping of event fields`},
		{"id: x\ntext: t\nanswered: [{command: {}}]", `answered: must be a mapping like {command: {verb: RCPT}, reply: {code: 250}}, not a list`},
		{"id: x\ntext: t\nanswered:", `answered: must be a mapping like`},
		{"id: x\ntext: t\nanswered: {command: {}, reply: {}}\nreply: {}", `has 2 conditions (answered, reply)`},
		// answered and none as steps
		{"id: x\ntext: t\nsession: [{answered: {command: {verb: AUTH}}}, {reply: {}}]", `"x": session[1].answered: needs a reply, like reply: {code: 250}`},
		{"id: x\ntext: t\nbefore: [{reply: {}}, {answered: {command: {code: 250}, reply: {}}}]", `before[2].answered.command: unknown field "code" (command knows verb, text, starts`},
		{"id: x\ntext: t\nbefore: [{reply: {}}, {answered: [1]}]", `before[2].answered: must be a mapping like {command: {verb: RCPT}, reply: {code: 250}}, not a list`},
		{"id: x\ntext: t\nsession: [{none: {reply: {}}}, {none: {command: {}}}]", `session: has only none steps`},
		{"id: x\ntext: t\nsession: [{none: {}}, {reply: {}}]", `session[1].none: must be one event matcher`},
		{"id: x\ntext: t\nsession: [{none: {answered: {command: {}, reply: {}}}}, {reply: {}}]", `session[1].none: "answered" is not an event matcher; use one of reply, command`},
		{"id: x\ntext: t\nsession: [{reply: {}}, {none: {reply: {code: 9}}}]", `session[2].none.reply.code: 9 is not a reply code pattern`},
		{"id: x\ntext: t\ncount: {answered: {command: {}, reply: {}}}", `count: "answered" is not an event matcher`},
		{"id: x\ntxt: t\nreply: {}", `"x": unknown field "txt" (a goal has id, text, scenario, and one condition: reply, command,`},
		{"id: x\ntext: t\nnot: {txt: t}", `"x": not: unknown field "txt" (a condition is one of reply,`},
		{"id: x\ntext: t\nbogus: {}", `(a goal has id, text, scenario, and one condition: reply, command, dns, tls, queued, delivered, bounce, event, answered, before,`},
	}
	for _, tt := range tests {
		var g Goal
		err := yaml.Unmarshal([]byte(tt.src), &g)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q\n  error %v\n  want it to contain %q", tt.src, err, tt.want)
		}
	}
}

// nest writes n levels of "not:" as flow YAML.
func nest(n int) string {
	return "  " + strings.Repeat("{not: ", n) + "{reply: {}}" + strings.Repeat("}", n)
}

func TestDecodeReportsEveryProblem(t *testing.T) {
	var g Goal
	err := yaml.Unmarshal([]byte("id: x\ntext: t\nall:\n- reply: {code: 9}\n- command: {rcpt: a}"), &g)
	var first *Error
	if !errors.As(err, &first) {
		t.Fatalf("error %v is not a goal.Error", err)
	}
	if n := strings.Count(err.Error(), "\n") + 1; n != 2 {
		t.Fatalf("got %d problems, want 2:\n%v", n, err)
	}
	if first.Goal != `"x"` || first.Path != "all[1].reply.code" {
		t.Fatalf("first problem at %s %s, want \"x\" all[1].reply.code", first.Goal, first.Path)
	}
}

func TestJSONRoundTrip(t *testing.T) {
	srcs := []string{
		"id: a\ntext: t\nreply: {verb: EHLO, code: 250}",
		"id: b\ntext: t\nreply: {code: 5xx, enhanced: 5.1.x, host: mx, peer: you}",
		"id: c\ntext: t\nbefore:\n- tls: {step: finished, attrs: {verify: ok}}\n- reply: {verb: AUTH, code: 235}",
		"id: d\ntext: t\ncount: {event: {kind: queue.retry}, min: 2, max: 5}",
		"id: e\ntext: t\ncount: {reply: {code: 4xx}, min: 0, max: 1}",
		"id: f\ntext: t\nnot: {any: [{bounce: {}}, {all: [{dns: {rtype: MX}}, {delivered: {rcpt: x@y}}]}]}",
		"id: g\ntext: t\nevent: {kind: bytes, tls: false, dir: s2c, port: 25, text: hello}",
		"id: h\ntext: t\nevent: {kind: smtp.reply, rcpt: bob@example.org}",
		"id: i\ntext: t\nqueued: {rcpt: bob@example.org}",
		"id: j\ntext: t\nsession:\n- tls: {step: finished, terminal: true}\n- reply: {verb: EHLO, tls: true, terminal: false}",
		"id: k\ntext: t\nevent: {kind: bytes, text: [\"\\n.\\r\\n\", MAIL FROM], starts: ..}",
		"id: l\ntext: t\ncommand: {text: RCPT, starts: rcpt}",
		"id: m\ntext: t\nreply: {verb: BDAT, code: 250, reason: chunk-accepted, terminal: true}",
		"id: n\ntext: t\nevent: {kind: smtp.reply, reason: message-accepted, text: queued}",
		"id: o\ntext: t\nanswered: {command: {verb: RCPT, text: bob@example.org, terminal: true}, reply: {code: 250, enhanced: 2.1.5}}",
		"id: p\ntext: t\nall: [{answered: {command: {starts: AUTH PLAIN, tls: true}, reply: {}}}, {not: {answered: {command: {verb: DATA}, reply: {code: 5xx}}}}]",
		"id: q\ntext: t\nscenario: busy-mx\nevent: {kind: note, text: next MX}",
		"id: r\ntext: t\nsession:\n- answered: {command: {verb: AUTH, starts: AUTH CRAM-MD5, terminal: true}, reply: {code: 334}}\n- none: {command: {}}\n- answered: {command: {text: \"*\"}, reply: {code: 501, reason: auth-cancelled}}",
		"id: s\ntext: t\nbefore:\n- none: {event: {kind: fault, port: 25}}\n- reply: {code: 250}\n- none: {reply: {code: 5xx, terminal: true}}\n- none: {event: {kind: bytes, dir: c2s}}",
	}
	for _, src := range srcs {
		g := decodeYAML(t, src)
		b, err := json.Marshal(g)
		if err != nil {
			t.Fatalf("marshal %q: %v", src, err)
		}
		var back Goal
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("unmarshal %s: %v", b, err)
		}
		if !reflect.DeepEqual(g, back) {
			t.Errorf("round trip changed %q\n  json %s\n  got  %+v\n  want %+v", src, b, back, g)
		}
	}
}

func TestJSONShape(t *testing.T) {
	g := decodeYAML(t, "id: greeted\ntext: Say hello\nreply: {verb: EHLO, code: 250}")
	b, _ := json.Marshal(g)
	want := `{"id":"greeted","reply":{"code":"250","verb":"EHLO"},"text":"Say hello"}`
	if string(b) != want {
		t.Fatalf("JSON = %s, want %s", b, want)
	}
	// The web page sends goals back as JSON, numbers and all.
	var goals []Goal
	err := json.Unmarshal([]byte(`[{"id":"x","text":"t","count":{"reply":{"code":250},"min":2}}]`), &goals)
	if err != nil || len(goals) != 1 || goals[0].Cond.Count.Min != 2 || goals[0].Cond.Count.Of.Code != "250" {
		t.Fatalf("decoding JSON goals: %+v, %v", goals, err)
	}
	if err := json.Unmarshal([]byte(`[{"id":"x","text":"t","reply":{"code":2.5}}]`), &goals); err == nil {
		t.Fatal("a fractional code was accepted")
	}
	err = json.Unmarshal([]byte(`[{"id":"x","text":"t","answered":{"command":{"verb":"RCPT","text":"bob"},"reply":{"code":250}}}]`), &goals)
	if err != nil || goals[0].Cond.Answered == nil || goals[0].Cond.Answered.Reply.Code != "250" ||
		goals[0].Cond.Answered.Command.Kind != trace.Command || goals[0].Cond.Answered.Reply.Kind != trace.Reply {
		t.Fatalf("decoding an answered goal from JSON: %+v, %v", goals, err)
	}
	err = json.Unmarshal([]byte(`[{"id":"x","text":"t","answered":{"command":{"verb":"RCPT"}}}]`), &goals)
	if err == nil || !strings.Contains(err.Error(), `"x": answered: needs a reply`) {
		t.Fatalf("an answered goal without its reply, from JSON: error %v", err)
	}
}

// TestValidateSaysWhichGoal checks that each problem Validate finds has
// the place of its goal, as the linter needs to give its line.
func TestValidateSaysWhichGoal(t *testing.T) {
	ok := Cond{Event: &Match{Kind: trace.Reply, Code: "250"}}
	errs := Validate([]Goal{{ID: "a", Text: "t", Cond: ok}, {ID: "b", Cond: ok}, {ID: "a", Text: "t", Cond: Cond{Event: &Match{Code: "250"}}}})
	var at []int
	for _, err := range errs {
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("%v is not a goal.Error", err)
		}
		at = append(at, e.Index)
	}
	if !slices.Equal(at, []int{1, 2, 2}) {
		t.Errorf("problems %v are at goals %v, want 1, 2, 2", errs, at)
	}
	var g Goal
	var e *Error
	if err := yaml.Unmarshal([]byte("id: x\ntext: t\nreply: {code: 9}"), &g); !errors.As(err, &e) || e.Index != -1 {
		t.Errorf("decoding one goal: %v, want a goal.Error at index -1", err)
	}
}

func TestValidate(t *testing.T) {
	ok := Cond{Event: &Match{Kind: trace.Reply, Code: "250"}}
	tests := []struct {
		name  string
		goals []Goal
		want  []string // one part per expected problem, in order
	}{
		{"fine", []Goal{{ID: "a", Text: "t", Cond: ok}, {ID: "b", Text: "t", Cond: ok}}, nil},
		{"no id", []Goal{{Text: "t", Cond: ok}}, []string{"goal #1: has no id"}},
		{"bad id", []Goal{{ID: "a b", Text: "t", Cond: ok}}, []string{`"a b": id may use only`}},
		{"no text", []Goal{{ID: "a", Text: "  ", Cond: ok}}, []string{`"a": has no text`}},
		{"duplicate", []Goal{{ID: "a", Text: "t", Cond: ok}, {ID: "a", Text: "t", Cond: ok}}, []string{`"a": id is also used by goal #1`}},
		{"empty", []Goal{{ID: "a", Text: "t"}}, []string{`"a": empty goal`}},
		{"two conditions", []Goal{{ID: "a", Text: "t", Cond: Cond{Event: ok.Event, Not: &ok}}}, []string{`"a": has 2 conditions (not, reply)`}},
		{"kindless match", []Goal{{ID: "a", Text: "t", Cond: Cond{Event: &Match{Code: "250"}}}}, []string{`"a": event: needs a kind`}},
		{"bad pattern", []Goal{{ID: "a", Text: "t", Cond: Cond{Before: []Step{{Event: &Match{Kind: trace.Reply, Code: "2"}}, {Event: &Match{Kind: trace.Reply}}}}}}, []string{`"a": before[1].reply.code: "2" is not a reply code pattern`}},
		{"answered", []Goal{{ID: "a", Text: "t", Cond: Cond{Answered: &Answered{
			Command: Match{Kind: trace.Command, Verb: "RCPT"}, Reply: Match{Kind: trace.Reply, Code: "250"}}}}}, nil},
		{"answered, kinds swapped", []Goal{{ID: "a", Text: "t", Cond: Cond{Answered: &Answered{
			Command: Match{Kind: trace.Reply, Verb: "RCPT"}, Reply: Match{Code: "250"}}}}},
			[]string{`"a": answered.command: unknown field "kind"`, `"a": answered.reply: unknown field "kind"`}},
		{"answered, a reply field on the command", []Goal{{ID: "a", Text: "t", Cond: Cond{Answered: &Answered{
			Command: Match{Kind: trace.Command, Code: "250"}, Reply: Match{Kind: trace.Reply}}}}},
			[]string{`"a": answered.command: unknown field "code"`}},
		{"steps", []Goal{{ID: "a", Text: "t", Cond: Cond{Session: []Step{
			{Answered: &Answered{Command: Match{Kind: trace.Command, Verb: "AUTH"}, Reply: Match{Kind: trace.Reply, Code: "334"}}},
			{None: &Match{Kind: trace.Command}},
			{Event: &Match{Kind: trace.Reply, Code: "501"}}}}}}, nil},
		{"steps, each wrong", []Goal{{ID: "a", Text: "t", Cond: Cond{Before: []Step{
			{Answered: &Answered{Command: Match{Kind: trace.Reply}, Reply: Match{Kind: trace.Reply}}},
			{None: &Match{Code: "250"}},
			{Event: ok.Event, None: ok.Event},
			{}}}}},
			[]string{`"a": before[1].answered.command: unknown field "kind"`, `"a": before[2].none.event: needs a kind`,
				`"a": before[3]: must be one step`, `"a": before[4]: must be one step`}},
		{"only none steps", []Goal{{ID: "a", Text: "t", Cond: Cond{Session: []Step{{None: ok.Event}, {None: ok.Event}}}}},
			[]string{`"a": session: has only none steps`}},
	}
	for _, tt := range tests {
		errs := Validate(tt.goals)
		if len(errs) != len(tt.want) {
			t.Errorf("%s: got %d problems %v, want %d", tt.name, len(errs), errs, len(tt.want))
			continue
		}
		for i, err := range errs {
			if !strings.Contains(err.Error(), tt.want[i]) {
				t.Errorf("%s: problem %q does not contain %q", tt.name, err, tt.want[i])
			}
		}
	}
}

func TestPatterns(t *testing.T) {
	codes := []struct {
		pattern string
		code    int
		want    bool
	}{
		{"250", 250, true}, {"2xx", 250, true}, {"2XX", 299, true}, {"25x", 251, true},
		{"25x", 260, false}, {"x50", 550, true}, {"5xx", 450, false}, {"250", 0, false},
		{"250", 2500, false},
	}
	for _, c := range codes {
		if got := codeMatches(c.pattern, c.code); got != c.want {
			t.Errorf("codeMatches(%q, %d) = %v", c.pattern, c.code, got)
		}
	}
	enh := []struct {
		pattern, code string
		want          bool
	}{
		{"5.1.1", "5.1.1", true}, {"5.x.x", "5.7.26", true}, {"5.1.x", "5.1.10", true},
		{"5.1.1", "5.1.10", false}, {"4.x.x", "5.1.1", false}, {"5.1.1", "", false},
	}
	for _, c := range enh {
		if got := enhancedMatches(c.pattern, c.code); got != c.want {
			t.Errorf("enhancedMatches(%q, %q) = %v", c.pattern, c.code, got)
		}
	}
}

func BenchmarkCheck(b *testing.B) {
	goals := []Goal{
		decodeYAML(b, "id: a\ntext: t\nreply: {verb: QUIT, code: 221}"),
		decodeYAML(b, "id: b\ntext: t\nbefore:\n- tls: {step: finished}\n- reply: {verb: AUTH, code: 235}\n- delivered: {rcpt: nobody@example.org}"),
		decodeYAML(b, "id: c\ntext: t\ncount: {event: {kind: queue.retry}, min: 1000}"),
		decodeYAML(b, "id: d\ntext: t\nnot: {bounce: {}}"),
		decodeYAML(b, "id: e\ntext: t\nanswered: {command: {verb: RCPT}, reply: {code: 251}}"),
	}
	one := session()
	var events []trace.Event
	for len(events) < 10000 {
		events = append(events, one...)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		Check(goals, events)
	}
}

// TestIn: a goal with no scenario belongs to the lesson's own lab, one
// that names a scenario to that lab only.
func TestIn(t *testing.T) {
	goals := []Goal{
		decodeYAML(t, "id: home\ntext: t\nbounce: {}"),
		decodeYAML(t, "id: busy\ntext: t\nscenario: busy-mx\nbounce: {}"),
		decodeYAML(t, "id: no-mail\ntext: t\nscenario: null-mx\nbounce: {}"),
		decodeYAML(t, "id: home-named\ntext: t\nscenario: backup-mx\nbounce: {}"),
	}
	ids := func(gs []Goal) string {
		var out []string
		for _, g := range gs {
			out = append(out, g.ID)
		}
		return strings.Join(out, " ")
	}
	for _, tt := range []struct{ scenario, want string }{
		{"backup-mx", "home home-named"},
		{"busy-mx", "busy"},
		{"null-mx", "no-mail"},
		{"first-session", ""},
	} {
		if got := ids(In(goals, tt.scenario, "backup-mx")); got != tt.want {
			t.Errorf("In(%s) = %q, want %q", tt.scenario, got, tt.want)
		}
	}
	var g Goal
	if err := yaml.Unmarshal([]byte("id: x\ntext: t\nscenario: [a]\nbounce: {}"), &g); err == nil || !strings.Contains(err.Error(), "scenario: must be text") {
		t.Errorf("a scenario that is not text: %v", err)
	}
}

// TestTextWhoseLowerCaseIsShorter: a text: part whose lower case takes
// fewer bytes (the Kelvin sign K is 3 bytes, k is 1) is found and moved
// past by the length of what was found, not of what was written, so a
// part at the end of an event's text neither panics nor misses.
func TestTextWhoseLowerCaseIsShorter(t *testing.T) {
	for _, c := range []struct {
		text  string
		parts []string
		want  bool
	}{
		{"ok", []string{"o", "\u212a"}, true},
		{"k", []string{"\u212a"}, true},
		{"\u1e9e x", []string{"\u1e9e", "x"}, true}, // ẞ is 3 bytes, ß 2
		{"ab", []string{"\u212a"}, false},
		{"İx", []string{"İ", "x"}, true}, // İ is 2 bytes, i̇ 3
	} {
		if got := containsInOrder(c.text, c.parts); got != c.want {
			t.Errorf("containsInOrder(%q, %q) = %v, want %v", c.text, c.parts, got, c.want)
		}
	}
}
