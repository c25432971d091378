package lessons

import (
	"testing"

	"gopkg.in/yaml.v3"

	"smtplab/engine/lab"
	"smtplab/engine/trace"
	"smtplab/lessons/goal"
)

// TestAnswersInTheEngine walks real worlds and checks that what package
// goal says about the answer to a command is what the engine traces: a
// pipelined batch pairs in order, DATA is answered by its 354, BDAT once
// its octets are in (or by the 421 of a timeout), each AUTH line in turn,
// and lines pipelined behind STARTTLS are no commands.
func TestAnswersInTheEngine(t *testing.T) {
	tests := []struct {
		name     string
		scenario string
		inputs   []lab.Input
		hold     []string // answered conditions that must hold
		fail     []string // and those that must not
	}{
		{
			name: "a batch with the second RCPT refused", scenario: "mx-routing",
			inputs: []lab.Input{{Type: "EHLO laptop.example.com"},
				{Raw: `MAIL FROM:<alice@example.com>\r\nRCPT TO:<bob@example.org>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\n`},
				{Raw: `Subject: hi\r\n\r\nhi\r\n.\r\n`}},
			hold: []string{
				"{command: {verb: MAIL, terminal: true}, reply: {code: 250}}",
				"{command: {verb: RCPT, text: <bob@example.org>}, reply: {code: 250}}",
				"{command: {verb: RCPT, text: <bob@example.com>}, reply: {code: 550, enhanced: 5.1.1}}",
				"{command: {verb: DATA}, reply: {code: 354}}",
			},
			fail: []string{
				"{command: {verb: RCPT, text: <bob@example.com>}, reply: {code: 250}}",
				"{command: {verb: DATA}, reply: {reason: message-accepted}}",
			},
		},
		{
			name: "BDAT chunks written apart from their commands, the last one never complete", scenario: "mx-routing",
			inputs: []lab.Input{{Type: "EHLO laptop.example.com"},
				{Raw: `MAIL FROM:<alice@example.com>\r\nRCPT TO:<carol@example.org>\r\nBDAT 9\r\n`}, {Raw: `Subject: `},
				{Raw: `BDAT 8 LAST\r\n`}, {Raw: `\r\nCarol.`},
				{Raw: `MAIL FROM:<alice@example.com>\r\nRCPT TO:<carol@example.org>\r\nBDAT 100 LAST\r\nnot 100`},
				{Advance: "10m"}},
			hold: []string{
				"{command: {verb: BDAT, text: BDAT 9}, reply: {code: 250, reason: chunk-accepted}}",
				"{command: {verb: BDAT, text: 8 LAST}, reply: {code: 250, reason: message-accepted}}",
				"{command: {verb: BDAT, text: 100 LAST}, reply: {code: 421}}",
			},
			fail: []string{
				"{command: {verb: BDAT, text: 100 LAST}, reply: {code: 250}}",
			},
		},
		{
			name: "AUTH LOGIN, then AUTH PLAIN on one line", scenario: "implicit-tls",
			inputs: []lab.Input{{Type: "EHLO laptop.example.com"}, {Type: "AUTH LOGIN"},
				{Type: "YWxpY2VAZXhhbXBsZS5jb20="}, {Type: "d29uZGVybGFuZA=="}, {Type: "QUIT"},
				{Type: "EHLO laptop.example.com"}, {Type: "AUTH PLAIN AGFsaWNlQGV4YW1wbGUuY29tAHdvbmRlcmxhbmQ="}},
			hold: []string{
				"{command: {verb: AUTH, starts: AUTH LOGIN}, reply: {code: 334}}",
				"{command: {verb: AUTH, text: d29uZGVybGFuZA==}, reply: {code: 235}}",
				"{command: {verb: AUTH, starts: AUTH PLAIN}, reply: {code: 235}}",
			},
			fail: []string{
				"{command: {verb: AUTH, starts: AUTH LOGIN}, reply: {code: 235}}",
			},
		},
		{
			name: "a line pipelined behind STARTTLS", scenario: "submission-with-auth",
			inputs: []lab.Input{{Type: "EHLO laptop.example.com"}, {Raw: `STARTTLS\r\nNOOP\r\n`}},
			hold:   []string{"{command: {verb: STARTTLS}, reply: {code: 220}}"},
			fail:   []string{"{command: {verb: NOOP}, reply: {}}"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := lab.New(tt.scenario, 1)
			if err != nil {
				t.Fatal(err)
			}
			for _, in := range tt.inputs {
				if _, err := w.Do(in); err != nil {
					t.Fatalf("%+v: %v", in, err)
				}
			}
			events := w.Trace()
			check := func(cond string, want bool) {
				var g goal.Goal
				if err := yaml.Unmarshal([]byte("{id: a, text: t, answered: "+cond+"}"), &g); err != nil {
					t.Fatal(err)
				}
				if got := g.Cond.Holds(events); got != want {
					t.Errorf("answered: %s holds: %v, want %v", cond, got, want)
				}
			}
			for _, c := range tt.hold {
				check(c, true)
			}
			for _, c := range tt.fail {
				check(c, false)
			}
			if t.Failed() {
				for _, e := range events {
					if e.Kind == trace.Command || e.Kind == trace.Reply {
						t.Logf("#%d conn %d %s %s %d %q", e.ID, e.Conn, e.Kind, e.Verb, e.Code, e.Text)
					}
				}
			}
		})
	}
}
