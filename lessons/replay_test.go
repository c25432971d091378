package lessons

import (
	"fmt"
	"strings"
	"testing"

	"smtplab/engine/lab"
	"smtplab/engine/mta"
	"smtplab/engine/trace"
)

// TestSolutionsReachEveryGoal replays each lesson's solution through the
// engine, as a learner would do it, and requires every goal to be done
// at the end, and none to be done before the first step: replay, which
// the linter runs too, says what is not.
func TestSolutionsReachEveryGoal(t *testing.T) {
	all, err := All()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) < 7 {
		t.Fatalf("%d lessons, want at least 7", len(all))
	}
	for _, l := range all {
		t.Run(l.Slug, func(t *testing.T) {
			for _, p := range replay(l) {
				t.Error(p)
			}
		})
	}
}

// TestGoalsTickedOtherWays does what a lesson asks in another correct way
// than its solution, and checks that the goals about it are done all the
// same: verbs in lower case, commands pipelined in one write, a mistake
// mended with RSET, EHLO said twice, recipients in another order.
func TestGoalsTickedOtherWays(t *testing.T) {
	tests := []walk{
		{
			name: "lower case, a false start dropped with RSET, the envelope pipelined", lesson: "01-first-session",
			inputs: typed("ehlo laptop.example.com", "rcpt to:<bob@example.org>", "mail from:<alice@example.com>", "rcpt to:<carol@example.org>",
				"rset", "ehlo laptop.example.com", `raw:mail from:<alice@example.com>\r\nrcpt to:<Bob@Example.org>\r\ndata\r\n`,
				"subject: hi", "", "hi", ".", "quit"),
			done: []string{"greeted", "sender", "recipient", "go-ahead", "delivered", "goodbye"},
		},
		{
			name: "the mail client sends a file to Carol and Bob", lesson: "01-first-session",
			inputs: []lab.Input{{Submit: &lab.Message{From: "alice@example.com", To: []string{"carol@example.org", "bob@example.org"},
				Subject: "a file", Body: "Hi both", Attachments: []lab.Attachment{{Name: "notes.txt", Type: "text/plain", Content: []byte("notes\n")}}}}},
			done: []string{"attachment"},
		},
		{
			name: "Bob before nobody, the envelope pipelined", lesson: "02-reply-codes",
			inputs: typed("EHLO laptop.example.com",
				`raw:MAIL FROM:<alice@example.com>\r\nRCPT TO:<bob@example.org>\r\nRCPT TO:<nobody@example.org>\r\nDATA\r\n`,
				"Subject: both", "", "hi", "."),
			done: []string{"unknown-user", "delivered", "bounced"},
		},
		{
			name: "on 587, logged in with AUTH LOGIN, the envelope pipelined", lesson: "03-mx-and-relays", lab: "home-network",
			inputs: typed("ehlo laptop.home.example", "starttls", "ehlo laptop.home.example", "auth login", "YWxpY2VAZXhhbXBsZS5jb20=",
				"d29uZGVybGFuZA==", `raw:MAIL FROM:<alice@example.com>\r\nRCPT TO:<carol@example.org>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n`,
				"Subject: from home", "", "hi", "."),
			done: []string{"submitted-from-home"},
		},
		{
			name: "lower case, EHLO said twice, a wrong password first, the envelope pipelined", lesson: "04-starttls-and-auth",
			inputs: typed("ehlo laptop.example.com", "starttls", "ehlo laptop.example.com", "ehlo laptop.example.com",
				"auth plain AGFsaWNlQGV4YW1wbGUuY29tAHdyb25n", "auth plain AGFsaWNlQGV4YW1wbGUuY29tAHdvbmRlcmxhbmQ=",
				`raw:mail from:<alice@example.com>\r\nrcpt to:<bob@example.org>\r\ndata\r\n`, "Subject: hi", "", "hi", "."),
			done: []string{"encrypted", "ehlo-again", "logged-in", "submitted"},
		},
		{
			name: "one message typed to nobody, Carol and Bob", lesson: "05-queues-and-retries",
			inputs: typed("EHLO laptop.example.com", "MAIL FROM:<alice@example.com>", "RCPT TO:<nobody@example.org>",
				"RCPT TO:<carol@example.org>", "RCPT TO:<bob@example.org>", "DATA", "Subject: lunch", "", "Lunch?", ".", "advance:10m"),
			done: []string{"accepted", "greylisted", "kept", "bounced", "delivered"},
		},
		{
			name: "the message with its doubled dot in one raw write", lesson: "06-line-endings-and-smuggling",
			inputs: typed("ehlo laptop.example.com", "mail from:<alice@example.com>", "rcpt to:<bob@example.org>", "data",
				`raw:Subject: dots\r\n\r\n..a line that starts with a dot\r\n.\r\n`),
			done: []string{"dot-stuffed"},
		},
		{
			name: "the smuggling typed in three writes", lesson: "06-line-endings-and-smuggling",
			inputs: typed("EHLO laptop.example.com", "MAIL FROM:<alice@example.com>", "RCPT TO:<bob@example.org>", "DATA",
				"Subject: ordinary", "", `raw:Just an ordinary message.\n.\r\nMAIL FROM:<ceo@example.com>\r\nRCPT TO:<carol@example.org>\r\nDATA\r\n`,
				"Subject: Urgent", "", "Pay now.", "."),
			done: []string{"refused", "nothing-smuggled"},
		},
		{
			// Any size over the limit is refused before the message.
			name: "SIZE=50000 announced", lesson: "07-limits-and-protection",
			inputs: typed("EHLO laptop.example.com", "MAIL FROM:<alice@example.com> SIZE=50000"),
			done:   []string{"declared"},
		},
		{
			name: "SIZE=2049 announced, in lower case", lesson: "07-limits-and-protection",
			inputs: typed("ehlo laptop.example.com", "mail from:<alice@example.com> size=2049"),
			done:   []string{"declared"},
		},
		{
			// Carol's mailbox holds a message, but not the smuggled one.
			name: "a message to Carol first, then the smuggling", lesson: "06-line-endings-and-smuggling",
			inputs: append([]lab.Input{{Submit: &lab.Message{From: "alice@example.com", To: []string{"carol@example.org"},
				Subject: "lunch", Body: "Lunch?"}}}, typed("EHLO laptop.example.com", "MAIL FROM:<alice@example.com>",
				"RCPT TO:<bob@example.org>", "DATA",
				`raw:Subject: Hi\r\n\r\nNothing to see.\n.\r\nMAIL FROM:<ceo@example.com>\r\nRCPT TO:<carol@example.org>\r\nDATA\r\nSubject: Urgent\r\n\r\nPay.\r\n.\r\n`)...),
			done: []string{"refused", "nothing-smuggled"},
		},
		{
			// After the attempt, Carol gets an honest message.
			name: "the smuggling, then a message to Carol", lesson: "06-line-endings-and-smuggling",
			inputs: append(typed("EHLO laptop.example.com", "MAIL FROM:<alice@example.com>", "RCPT TO:<bob@example.org>", "DATA",
				`raw:Subject: Hi\r\n\r\nNothing to see.\n.\r\nMAIL FROM:<ceo@example.com>\r\nRCPT TO:<carol@example.org>\r\nDATA\r\nSubject: Urgent\r\n\r\nPay.\r\n.\r\n`),
				lab.Input{Submit: &lab.Message{From: "alice@example.com", To: []string{"carol@example.org"}, Subject: "lunch", Body: "Lunch?"}}),
			done: []string{"refused", "nothing-smuggled"},
		},
		{
			name: "a short message to Bob in one BDAT LAST, pipelined", lesson: "07-limits-and-protection",
			inputs: typed("EHLO laptop.example.com",
				`raw:MAIL FROM:<alice@example.com>\r\nRCPT TO:<bob@example.org>\r\nBDAT 21 LAST\r\nSubject: s\r\n\r\nshort\r\n`),
			done: []string{"fits"},
		},
		{
			name: "lower case, a recipient mended with RSET inside TLS", lesson: "08-certificates-and-trust",
			inputs: typed("ehlo laptop.example.com", "starttls", "ehlo laptop.example.com", "mail from:<alice@example.com>",
				"rcpt to:<bbo@example.org>", "rset", "mail from:<alice@example.com>", "rcpt to:<bob@example.org>", "data", "Subject: sealed", "", "hi", "."),
			done: []string{"upgrade", "handshake", "ciphertext", "ehlo-again", "delivered"},
		},
		{
			name: "each test line in a message sent in one raw write", lesson: "10-implicit-tls-logins-and-filters",
			inputs: typed("EHLO laptop.example.com", "AUTH PLAIN AGFsaWNlQGV4YW1wbGUuY29tAHdvbmRlcmxhbmQ=",
				"MAIL FROM:<alice@example.com>", "RCPT TO:<bob@example.org>", "DATA", `raw:Subject: spam\r\n\r\n`+mta.GTUBE+`\r\n.\r\n`,
				"MAIL FROM:<alice@example.com>", "RCPT TO:<bob@example.org>", "DATA",
				`raw:Subject: virus\r\n\r\n`+strings.ReplaceAll(mta.EICAR, `\`, `\\`)+`\r\n.\r\n`),
			done: []string{"spam-refused", "virus-refused"},
		},
		{
			// RFC 4954 lets the name come with AUTH LOGIN as its initial
			// response: one 334, for the password.
			name: "AUTH LOGIN with the name on its line", lesson: "10-implicit-tls-logins-and-filters",
			inputs: typed("EHLO laptop.example.com", "AUTH LOGIN YWxpY2VAZXhhbXBsZS5jb20=", "d29uZGVybGFuZA=="),
			done:   []string{"tls-first", "login"},
		},
		{
			name: "the mail client sends the EICAR file beside a harmless one", lesson: "10-implicit-tls-logins-and-filters",
			inputs: []lab.Input{{Submit: &lab.Message{From: "alice@example.com", To: []string{"bob@example.org"}, Subject: "files", Body: "Two files.",
				Attachments: []lab.Attachment{{Name: "notes.txt", Type: "text/plain", Content: []byte("nothing bad\n")},
					{Name: "eicar.com", Type: "application/octet-stream", Content: []byte(mta.EICAR + "\n")}}}}},
			done: []string{"attached-virus"},
		},
		{
			name: "Carol beside Bob, in three chunks, typed a line at a time", lesson: "11-pipelining-chunking-and-dsn",
			inputs: typed("ehlo laptop.example.com", "mail from:<alice@example.com> envid=three", "rcpt to:<bob@example.org>",
				"rcpt to:<carol@example.org> notify=success", "raw:bdat 12\r\nSubject: x\r\n", "raw:bdat 2\r\n\r\n", "raw:bdat 4 last\r\nhi\r\n"),
			done: []string{"chunked", "dsn-asked"},
		},
		{
			name: "SUCCESS second in the NOTIFY list", lesson: "11-pipelining-chunking-and-dsn",
			inputs: typed("EHLO laptop.example.com", "MAIL FROM:<alice@example.com> ENVID=order", "RCPT TO:<bob@example.org> NOTIFY=FAILURE,SUCCESS",
				"DATA", "Subject: report", "", "hi", ".", "advance:10m"),
			done: []string{"dsn-asked", "report"},
		},
		{
			name: "lower case, Carol's sender said again after RSET", lesson: "12-who-really-sent-this",
			inputs: typed("ehlo laptop.example.com", "mail from:<carol@example.net>", "rset", "mail from:<Carol@example.net>",
				"rcpt to:<bob@example.org>", "data", "From: Shop <news@shop.example>", "", "buy now", ".",
				"mail from:<carol@example.net>", "rcpt to:<bob@example.org>", "data", "From: Alice <alice@example.com>", "", "pay me", "."),
			done: []string{"quarantined", "rejected"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.lesson+"/"+tt.name, tt.check)
	}
}

// TestLesson7LetterIsSentAsMeant replays lesson 7's solution and checks
// the bytes of its long letter, a raw step that YAML folds over many
// lines: each line break in the quotes becomes a space, which must fall
// between two words, never at the start of a line of the letter.
func TestLesson7LetterIsSentAsMeant(t *testing.T) {
	l := lessonNamed(t, "07-limits-and-protection")
	w, err := lab.New(l.Scenario, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range l.Solution {
		if step.Lab != "" {
			break
		}
		if _, err := w.Do(step.Input()); err != nil {
			t.Fatal(err)
		}
	}
	want := "From: Alice <alice@example.com>\r\nTo: Bob <bob@example.org>\r\nSubject: A very long letter\r\n\r\n"
	for n := 1; n <= 26; n++ {
		want += fmt.Sprintf("Line %02d of a letter that goes on and on, far past what this small server is willing to take.\r\n", n)
	}
	want += ".\r\n"
	for _, e := range w.Trace() {
		if e.Kind == trace.Bytes && e.Dir == "c2s" && strings.Contains(e.Text, "A very long letter") {
			if e.Text != want {
				t.Errorf("the letter went as\n%q\nwant\n%q", e.Text, want)
			}
			return
		}
	}
	t.Fatal("the letter was never sent")
}
