package lessons

import (
	"cmp"
	"slices"
	"strings"
	"testing"

	"smtplab/engine/lab"
	"smtplab/engine/mta"
	"smtplab/engine/trace"
	"smtplab/lessons/goal"
)

// TestGoalsNotTickedByAccident does what a learner might do instead of
// what a lesson asks, and checks that the goals about it stay open: the
// Mailbox tab's mail client sending for them, a step done on the wrong
// connection, a line that only looks like the one asked for.
func TestGoalsNotTickedByAccident(t *testing.T) {
	client := lab.Input{Submit: &lab.Message{From: "alice@example.com", To: []string{"bob@example.org"},
		Subject: "sent by the mail client", Body: "Hi Bob"}}
	// After the lines first: a RCPT for Bob refused (no MAIL yet), a
	// message for Carol with the line body, and the mail client's message
	// to Bob.
	bobRefusedThenCarol := func(body string, first ...string) []lab.Input {
		return append(typed(slices.Concat(first, []string{"RCPT TO:<bob@example.org>", "MAIL FROM:<alice@example.com>",
			"RCPT TO:<carol@example.org>", "DATA", "Subject: for Carol", "", body, "."})...), client)
	}
	tests := []walk{
		{
			name: "the mail client sends for the learner", lesson: "01-first-session",
			inputs: []lab.Input{client, {Advance: "5m"}},
			open:   []string{"greeted", "sender", "recipient", "go-ahead", "delivered", "goodbye", "attachment"},
		},
		{
			// The 555 comes after an EHLO that followed the HELO: an
			// unknown parameter, not one HELO switched off.
			name: "HELO, then EHLO, then a parameter the server does not know", lesson: "01-first-session",
			inputs: typed("HELO laptop.example.com", "EHLO laptop.example.com", "MAIL FROM:<alice@example.com> FOO=BAR"),
			open:   []string{"helo-no-extensions"}, done: []string{"helo", "greeted"},
		},
		{
			name: "another recipient accepted, not Bob", lesson: "01-first-session",
			inputs: typed("EHLO laptop.example.com", "MAIL FROM:<alice@example.com>", "RCPT TO:<postmaster@example.org>"),
			open:   []string{"recipient"}, done: []string{"greeted", "sender"},
		},
		{
			// A RCPT for Bob came before a 250 to a RCPT, but the 250
			// was not Bob's.
			name: "Bob refused before MAIL, then another recipient accepted", lesson: "01-first-session",
			inputs: typed("EHLO laptop.example.com", "RCPT TO:<bob@example.org>", "MAIL FROM:<alice@example.com>",
				"RCPT TO:<postmaster@example.org>"),
			open: []string{"recipient"}, done: []string{"greeted", "sender"},
		},
		{
			name: "503 to MAIL before EHLO, 501 to a bare EHLO", lesson: "02-reply-codes",
			inputs: typed("MAIL FROM:<alice@example.com>", "EHLO"),
			open:   []string{"bad-sequence", "syntax"},
		},
		{
			// VRFY with no address is a syntax error (501), not the 252
			// the goal asks for; a mail client never says VRFY or EXPN.
			name: "VRFY without an address, then the mail client sends", lesson: "02-reply-codes",
			inputs: append(typed("EHLO laptop.example.com", "VRFY"), client),
			open:   []string{"vrfy", "expn"},
		},
		{
			// mx.example.org's 550 5.1.1 is for a typo, and the RCPT for
			// nobody was refused before MAIL.
			name: "nobody before MAIL, then a typo refused by the MX", lesson: "02-reply-codes",
			inputs: typed("EHLO laptop.example.com", "RCPT TO:<nobody@example.org>", "MAIL FROM:<alice@example.com>",
				"RCPT TO:<nobodyy@example.org>", "RCPT TO:<bob@example.org>", "DATA", "Subject: typo", "", "hi", ".", "advance:5m"),
			open: []string{"unknown-user"}, done: []string{"bad-sequence", "delivered", "bounced"},
		},
		{
			// Bob gets it, but no recipient was refused beside him.
			name: "a message typed to Bob alone", lesson: "02-reply-codes",
			inputs: typed("EHLO laptop.example.com", "MAIL FROM:<alice@example.com>", "RCPT TO:<bob@example.org>", "DATA",
				"Subject: only Bob", "", "hi", ".", "advance:5m"),
			open: []string{"unknown-user", "delivered", "bounced"},
		},
		{
			name: "the mail client sends to both", lesson: "02-reply-codes",
			inputs: []lab.Input{{Submit: &lab.Message{From: "alice@example.com", To: []string{"bob@example.org", "nobody@example.org"},
				Subject: "two", Body: "hi"}}, {Advance: "5m"}},
			open: []string{"unknown-user", "delivered"}, done: []string{"bounced"},
		},
		{
			name: "the mail client sends", lesson: "03-mx-and-relays",
			inputs: []lab.Input{client, {Advance: "5m"}},
			open:   []string{"queued", "delivered"},
		},
		{
			// Delivered by hand to Bob's MX, as the lesson shows with
			// Connect…: no relay handed it on.
			name: "a message typed straight to mx1 for Bob", lesson: "03-mx-and-relays",
			inputs: append([]lab.Input{{Connect: "mx1.example.org:25"}}, typed("EHLO laptop.example.com",
				"MAIL FROM:<alice@example.com>", "RCPT TO:<bob@example.org>", "DATA", "Subject: by hand", "", "hi", ".", "QUIT")...),
			open: []string{"queued", "delivered", "mx-lookup", "best-mx"},
		},
		{
			// It submits on 587 with STARTTLS and AUTH, on its own
			// connection; the provider delivers from outside the filter.
			name: "the mail client sends from home", lesson: "03-mx-and-relays", lab: "home-network",
			inputs: []lab.Input{client, {Advance: "5m"}},
			open:   []string{"port-25-blocked", "submitted-from-home"},
		},
		{
			// A refusal is no timeout, and the provider's port 25 is not
			// Bob's MX.
			name: "the MX on 587, refused; the provider's port 25, timed out", lesson: "03-mx-and-relays", lab: "home-network",
			inputs: []lab.Input{{Connect: "mx.example.org:587"}, {Connect: "smtp.example.com:25"}},
			open:   []string{"port-25-blocked"},
		},
		{
			name: "a message typed on 587 without logging in", lesson: "03-mx-and-relays", lab: "home-network",
			inputs: typed("EHLO laptop.home.example", "STARTTLS", "EHLO laptop.home.example", "MAIL FROM:<alice@example.com>",
				"RCPT TO:<bob@example.org>", "DATA", "Subject: no login", "", "hi", "."),
			open: []string{"submitted-from-home"},
		},
		{
			// 465 is a submission port too, with implicit TLS.
			name: "a message submitted on 465", lesson: "03-mx-and-relays", lab: "home-network",
			inputs: append([]lab.Input{{Connect: "smtp.example.com:465"}}, typed("EHLO laptop.home.example",
				"AUTH PLAIN AGFsaWNlQGV4YW1wbGUuY29tAHdvbmRlcmxhbmQ=", "MAIL FROM:<alice@example.com>",
				"RCPT TO:<bob@example.org>", "DATA", "Subject: on 465", "", "hi", ".")...),
			open: []string{"port-25-blocked"}, done: []string{"submitted-from-home"},
		},
		{
			name: "a message typed on 465 without logging in", lesson: "03-mx-and-relays", lab: "home-network",
			inputs: append([]lab.Input{{Connect: "smtp.example.com:465"}}, typed("EHLO laptop.home.example",
				"MAIL FROM:<alice@example.com>", "RCPT TO:<bob@example.org>", "DATA", "Subject: no login", "", "hi", ".")...),
			open: []string{"submitted-from-home"},
		},
		{
			// The mail client runs on the terminal's host, uses STARTTLS
			// and AUTH CRAM-MD5: none of it is the learner's.
			name: "the mail client submits", lesson: "04-starttls-and-auth",
			inputs: []lab.Input{client, {Advance: "5m"}},
			open:   []string{"encrypted", "ehlo-again", "login-required", "logged-in", "submitted"},
		},
		{
			// The 530 before STARTTLS asks for TLS, not for a login.
			name: "MAIL FROM before STARTTLS, then after the login", lesson: "04-starttls-and-auth",
			inputs: typed("EHLO laptop.example.com", "MAIL FROM:<alice@example.com>", "STARTTLS", "EHLO laptop.example.com",
				"AUTH PLAIN AGFsaWNlQGV4YW1wbGUuY29tAHdvbmRlcmxhbmQ=", "MAIL FROM:<alice@example.com>"),
			open: []string{"login-required"}, done: []string{"encrypted", "ehlo-again", "logged-in"},
		},
		{
			name: "STARTTLS, QUIT, then EHLO and AUTH on a new plain connection", lesson: "04-starttls-and-auth",
			inputs: typed("EHLO laptop.example.com", "STARTTLS", "QUIT", "EHLO laptop.example.com",
				"AUTH PLAIN AGFsaWNlQGV4YW1wbGUuY29tAHdvbmRlcmxhbmQ=", "MAIL FROM:<alice@example.com>", "RCPT TO:<bob@example.org>", "DATA"),
			open: []string{"ehlo-again", "logged-in", "submitted"}, done: []string{"encrypted"},
		},
		{
			name: "logged in with AUTH LOGIN instead of PLAIN", lesson: "04-starttls-and-auth",
			inputs: typed("EHLO laptop.example.com", "STARTTLS", "EHLO laptop.example.com",
				"AUTH LOGIN", "YWxpY2VAZXhhbXBsZS5jb20=", "d29uZGVybGFuZA=="),
			open: []string{"logged-in"}, done: []string{"encrypted", "ehlo-again"},
		},
		{
			// The 235 answers AUTH LOGIN's password; AUTH PLAIN got 535.
			name: "AUTH PLAIN refused, then AUTH LOGIN accepted", lesson: "04-starttls-and-auth",
			inputs: typed("EHLO laptop.example.com", "STARTTLS", "EHLO laptop.example.com",
				"AUTH PLAIN AGFsaWNlQGV4YW1wbGUuY29tAHdyb25n", "AUTH LOGIN", "YWxpY2VAZXhhbXBsZS5jb20=", "d29uZGVybGFuZA=="),
			open: []string{"logged-in"}, done: []string{"encrypted", "ehlo-again"},
		},
		{
			// AUTH PLAIN without its argument asks for it with 334.
			name: "AUTH PLAIN with the credentials on a line of their own", lesson: "04-starttls-and-auth",
			inputs: typed("EHLO laptop.example.com", "STARTTLS", "EHLO laptop.example.com",
				"AUTH PLAIN", "AGFsaWNlQGV4YW1wbGUuY29tAHdvbmRlcmxhbmQ="),
			done: []string{"encrypted", "ehlo-again", "logged-in"},
		},
		{
			name: "two dots inside a header line, not at the start", lesson: "06-line-endings-and-smuggling",
			inputs: typed("EHLO laptop.example.com", "MAIL FROM:<alice@example.com>", "RCPT TO:<bob@example.org>", "DATA",
				"Subject: wait..", "", "hmm... a.. b", "."),
			open: []string{"dot-stuffed"},
		},
		{
			name: "a bare LF with nothing hidden behind it", lesson: "06-line-endings-and-smuggling",
			inputs: typed("EHLO laptop.example.com", "MAIL FROM:<alice@example.com>", "RCPT TO:<bob@example.org>", "DATA",
				`raw:Subject: x\r\n\r\nline one\nline two\r\n.\r\n`),
			open: []string{"nothing-smuggled"}, done: []string{"refused"},
		},
		{
			// mx.example.org greylists Carol as it would Bob.
			name: "the mail client sends to Carol, not Bob", lesson: "05-queues-and-retries",
			inputs: []lab.Input{{Submit: &lab.Message{From: "alice@example.com", To: []string{"carol@example.org"},
				Subject: "not Bob", Body: "Hi Carol"}}, {Advance: "10m"}},
			open: []string{"greylisted", "kept", "delivered"},
		},
		{
			// The limit itself is allowed.
			name: "SIZE=2048 announced", lesson: "07-limits-and-protection",
			inputs: typed("EHLO laptop.example.com", "MAIL FROM:<alice@example.com> SIZE=2048"),
			open:   []string{"declared"},
		},
		{
			name: "the mail client sends", lesson: "07-limits-and-protection",
			inputs: []lab.Input{client, {Advance: "5m"}},
			open:   []string{"fits", "base64-too-big"},
		},
		{
			// Too large for SIZE, but no file made it so.
			name: "the mail client sends a long text without a file", lesson: "07-limits-and-protection",
			inputs: []lab.Input{{Submit: &lab.Message{From: "alice@example.com", To: []string{"bob@example.org"},
				Subject: "long", Body: strings.Repeat("A line of text that makes the message too long.\n", 50)}}},
			open: []string{"base64-too-big"},
		},
		{
			// A file that fits even in base64 is delivered.
			name: "the mail client sends a file that fits", lesson: "07-limits-and-protection",
			inputs: []lab.Input{{Submit: &lab.Message{From: "alice@example.com", To: []string{"bob@example.org"},
				Subject: "small", Body: "A small file.", Attachments: []lab.Attachment{{Name: "small.txt", Type: "text/plain", Content: []byte("short\n")}}}}},
			open: []string{"base64-too-big"},
		},
		{
			name: "the mail client delivers, over TLS", lesson: "08-certificates-and-trust",
			inputs: []lab.Input{client, {Advance: "5m"}},
			open:   []string{"upgrade", "handshake", "ciphertext", "ehlo-again", "delivered"},
		},
		{
			name: "the mail client submits", lesson: "10-implicit-tls-logins-and-filters",
			inputs: []lab.Input{{Submit: &lab.Message{From: "alice@example.com", To: []string{"bob@example.org"},
				Subject: "test", Body: "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"}}, {Advance: "5m"}},
			open: []string{"tls-first", "help", "noop", "cram-challenge", "login", "spam-refused", "virus-refused"},
		},
		{
			name: "the test strings in the header, not refused", lesson: "10-implicit-tls-logins-and-filters",
			inputs: typed("EHLO laptop.example.com", "AUTH CRAM-MD5", "bm9wZQ==", "AUTH LOGIN", "YWxpY2VAZXhhbXBsZS5jb20=", "d29uZGVybGFuZA==",
				"MAIL FROM:<alice@example.com>", "RCPT TO:<bob@example.org>", "DATA", "Subject: about GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL", "", "hi", "."),
			open: []string{"cram-challenge", "spam-refused"}, done: []string{"tls-first", "login"},
		},
		{
			// CRAM-MD5 with an argument is refused at once: no challenge.
			// The 334 and the cancelled exchange are AUTH LOGIN's.
			name: "AUTH CRAM-MD5 refused, then AUTH LOGIN called off", lesson: "10-implicit-tls-logins-and-filters",
			inputs: typed("EHLO laptop.example.com", "AUTH CRAM-MD5 bm9wZQ==", "AUTH LOGIN", "*"),
			open:   []string{"cram-challenge"}, done: []string{"tls-first"},
		},
		{
			// The challenge came, but the * called off AUTH LOGIN.
			name: "a wrong answer to the CRAM-MD5 challenge, then AUTH LOGIN called off", lesson: "10-implicit-tls-logins-and-filters",
			inputs: typed("EHLO laptop.example.com", "AUTH CRAM-MD5", "bm9wZQ==", "AUTH LOGIN", "*"),
			open:   []string{"cram-challenge"}, done: []string{"tls-first"},
		},
		{
			// The name on the AUTH LOGIN line, a wrong password; the 235
			// answers AUTH PLAIN.
			name: "AUTH LOGIN with the name on its line and a wrong password, then AUTH PLAIN accepted", lesson: "10-implicit-tls-logins-and-filters",
			inputs: typed("EHLO laptop.example.com", "AUTH LOGIN YWxpY2VAZXhhbXBsZS5jb20=", "d3Jvbmc=",
				"AUTH PLAIN AGFsaWNlQGV4YW1wbGUuY29tAHdvbmRlcmxhbmQ="),
			open: []string{"login"}, done: []string{"tls-first"},
		},
		{
			// The 235 answers AUTH PLAIN; AUTH LOGIN's password was wrong.
			name: "a wrong password to AUTH LOGIN, then AUTH PLAIN accepted", lesson: "10-implicit-tls-logins-and-filters",
			inputs: typed("EHLO laptop.example.com", "AUTH LOGIN", "YWxpY2VAZXhhbXBsZS5jb20=", "d3Jvbmc=",
				"AUTH PLAIN AGFsaWNlQGV4YW1wbGUuY29tAHdvbmRlcmxhbmQ="),
			open: []string{"login"}, done: []string{"tls-first"},
		},
		{
			// The mail client pipelines and sends its content with BDAT,
			// but on its own connection, and asks for no report.
			name: "the mail client sends", lesson: "11-pipelining-chunking-and-dsn",
			inputs: []lab.Input{client, {Advance: "5m"}},
			open:   []string{"pipelined", "one-refused", "chunked", "dsn-asked", "report"},
		},
		{
			name: "one command at a time, a receipt asked for", lesson: "11-pipelining-chunking-and-dsn",
			inputs: typed("EHLO laptop.example.com", "MAIL FROM:<alice@example.com> ENVID=one-by-one",
				"RCPT TO:<bob@example.org> NOTIFY=SUCCESS", "RCPT TO:<bob@example.com>", "DATA", "Subject: slow", "", "hi", "."),
			open: []string{"pipelined", "one-refused"}, done: []string{"dsn-asked", "report"},
		},
		{
			// The receipt is asked for on the typo, which is refused:
			// no report will come.
			name: "NOTIFY=SUCCESS on the refused recipient of a batch", lesson: "11-pipelining-chunking-and-dsn",
			inputs: typed("EHLO laptop.example.com",
				`raw:MAIL FROM:<alice@example.com> ENVID=typo\r\nRCPT TO:<bob@example.com> NOTIFY=SUCCESS\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n`,
				"Subject: which one?", "", "hi", ".", "advance:5m"),
			open: []string{"dsn-asked", "report"}, done: []string{"pipelined", "one-refused"},
		},
		{
			name: "a batch where every recipient is accepted", lesson: "11-pipelining-chunking-and-dsn",
			inputs: typed("EHLO laptop.example.com",
				`raw:MAIL FROM:<alice@example.com>\r\nRCPT TO:<bob@example.org>\r\nRCPT TO:<carol@example.org>\r\nDATA\r\n`,
				"Subject: both", "", "hi", "."),
			open: []string{"one-refused", "dsn-asked", "report"}, done: []string{"pipelined"},
		},
		{
			// The refused RCPT and the 354 came one line at a time,
			// after a batch where all went well.
			name: "a batch where every recipient is accepted, then a refused one typed", lesson: "11-pipelining-chunking-and-dsn",
			inputs: typed("EHLO laptop.example.com",
				`raw:MAIL FROM:<alice@example.com>\r\nRCPT TO:<bob@example.org>\r\nRCPT TO:<carol@example.org>\r\nDATA\r\n`,
				"Subject: both", "", "hi", ".", "MAIL FROM:<alice@example.com>", "RCPT TO:<bob@example.com>",
				"RCPT TO:<bob@example.org>", "DATA"),
			open: []string{"one-refused"}, done: []string{"pipelined"},
		},
		{
			// The batch's RCPT is refused and its DATA gets 554; the 250
			// and the 354 answer lines typed one at a time.
			name: "a batch refused at RCPT, then RCPT and DATA typed", lesson: "11-pipelining-chunking-and-dsn",
			inputs: typed("EHLO laptop.example.com",
				`raw:MAIL FROM:<alice@example.com>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\n`,
				"RCPT TO:<bob@example.org>", "DATA"),
			open: []string{"pipelined", "one-refused"},
		},
		{
			name: "a message in a single BDAT LAST chunk", lesson: "11-pipelining-chunking-and-dsn",
			inputs: typed("EHLO laptop.example.com", "MAIL FROM:<alice@example.com>", "RCPT TO:<carol@example.org>",
				`raw:BDAT 8 LAST\r\nCarol.\r\n`, "MAIL FROM:<alice@example.com>", "RCPT TO:<carol@example.org>",
				`raw:BDAT 8 LAST\r\nAgain.\r\n`),
			open: []string{"chunked"},
		},
		{
			// smtp.example.com does not sign for shop.example, and
			// mx.example.org refuses it at MAIL FROM: on the relay's
			// connection, not the learner's.
			name: "the mail client sends as news@shop.example", lesson: "12-who-really-sent-this",
			inputs: []lab.Input{{Submit: &lab.Message{From: "news@shop.example", To: []string{"bob@example.org"},
				Subject: "a bargain", Body: "Buy now."}}, {Advance: "5m"}},
			open: []string{"spf-refused", "signed", "quarantined", "rejected"},
		},
		{
			// 5.7.24 is a broken record, not a fail; the softfail sender
			// is abandoned with RSET, and the message that does arrive is
			// Carol's.
			name: "a broken record, a softfail sender abandoned, then an honest message", lesson: "12-who-really-sent-this",
			inputs: typed("EHLO laptop.example.com", "MAIL FROM:<dave@broken.example>", "MAIL FROM:<eve@lenient.example>", "RSET",
				"MAIL FROM:<carol@example.net>", "RCPT TO:<bob@example.org>", "DATA", "From: carol@example.net", "", "hi", "."),
			open: []string{"spf-refused", "softfail", "quarantined"}, done: []string{"aligned"},
		},
		{
			name: "a forged From: of example.com is rejected, not quarantined", lesson: "12-who-really-sent-this",
			inputs: typed("EHLO laptop.example.com", "MAIL FROM:<carol@example.net>", "RCPT TO:<bob@example.org>", "DATA",
				"From: Alice <alice@example.com>", "", "pay me", "."),
			open: []string{"quarantined", "aligned"}, done: []string{"rejected"},
		},
		{
			name: "a forged From: of shop.example is quarantined, not rejected", lesson: "12-who-really-sent-this",
			inputs: typed("EHLO laptop.example.com", "MAIL FROM:<carol@example.net>", "RCPT TO:<bob@example.org>", "DATA",
				"From: Shop <news@shop.example>", "", "buy now", "."),
			open: []string{"rejected", "aligned"}, done: []string{"quarantined"},
		},
		{
			// Alice's signed message passes DMARC through DKIM as well:
			// not the unsigned, SPF-aligned pass the goal asks for.
			name: "the mail client sends a signed message", lesson: "12-who-really-sent-this",
			inputs: []lab.Input{client, {Advance: "5m"}},
			open:   []string{"aligned", "spf-refused", "softfail"}, done: []string{"signed"},
		},
		{
			name: "STARTTLS, QUIT, then a plain session", lesson: "08-certificates-and-trust",
			inputs: typed("EHLO laptop.example.com", "STARTTLS", "QUIT", "EHLO laptop.example.com",
				"MAIL FROM:<alice@example.com>", "RCPT TO:<bob@example.org>", "DATA", "Subject: plain", "", "y", "."),
			open: []string{"ehlo-again", "delivered"}, done: []string{"upgrade", "handshake", "ciphertext"},
		},
		{
			// The goals of another lab are not the home lab's.
			name: "a message to Dave, who is not behind the busy MX", lesson: "09-when-dns-or-hosts-fail", lab: "busy-mx",
			inputs: []lab.Input{{Submit: &lab.Message{From: "alice@example.com", To: []string{"dave@example.net"},
				Subject: "hi", Body: "Hi Dave"}}, {Advance: "5m"}},
			open: []string{"busy-skipped"},
		},
		{
			name: "a harmless attachment, then GTUBE in the body", lesson: "10-implicit-tls-logins-and-filters",
			inputs: []lab.Input{
				{Submit: &lab.Message{From: "alice@example.com", To: []string{"bob@example.org"}, Subject: "notes", Body: "Hi",
					Attachments: []lab.Attachment{{Name: "notes.txt", Type: "text/plain", Content: []byte("nothing bad")}}}},
				{Submit: &lab.Message{From: "alice@example.com", To: []string{"bob@example.org"}, Subject: "spam", Body: mta.GTUBE}},
			},
			open: []string{"attached-virus"},
		},
		{
			name: "two messages in a minute, within the limit", lesson: "07-limits-and-protection", lab: "rate-limit",
			inputs: typed("EHLO laptop.example.com", "MAIL FROM:<alice@example.com>", "RSET", "advance:1m",
				"MAIL FROM:<alice@example.com>", "RSET", "MAIL FROM:<alice@example.com>"),
			open: []string{"slowed"},
		},
		{
			name: "not long enough for the second cut", lesson: "05-queues-and-retries", lab: "lost-connection",
			inputs: []lab.Input{client, {Advance: "2m"}},
			open:   []string{"twice"}, done: []string{"cut-kept"},
		},
		{
			name: "only Bob, whose domain has no DANE", lesson: "08-certificates-and-trust", lab: "starttls-downgrade",
			inputs: []lab.Input{client, {Advance: "1h"}},
			open:   []string{"dane-held", "dane-delivered"}, done: []string{"downgraded"},
		},
		// A reply step need not answer the command step before it: a RCPT
		// for Bob refused (or dropped with RSET), another recipient's
		// message accepted, and a delivery to Bob made by the mail client
		// fit "a RCPT for Bob, then a 250 to DATA, and Bob got mail".
		{
			name: "Bob refused before MAIL, Carol's message accepted, the mail client delivers to Bob", lesson: "01-first-session",
			inputs: bobRefusedThenCarol("hi", "EHLO laptop.example.com"),
			open:   []string{"delivered", "recipient"}, done: []string{"greeted", "sender", "go-ahead"},
		},
		{
			name: "Bob accepted, then RSET and a message for Carol, the mail client delivers to Bob", lesson: "01-first-session",
			inputs: append(typed("EHLO laptop.example.com", "MAIL FROM:<alice@example.com>", "RCPT TO:<bob@example.org>", "RSET",
				"MAIL FROM:<alice@example.com>", "RCPT TO:<carol@example.org>", "DATA", "Subject: for Carol", "", "hi", "."), client),
			open: []string{"delivered"}, done: []string{"recipient", "go-ahead"},
		},
		{
			// The note says a file went, but to Carol.
			name: "the mail client sends Carol a file, Bob a message without one", lesson: "01-first-session",
			inputs: []lab.Input{client, {Submit: &lab.Message{From: "alice@example.com", To: []string{"carol@example.org"},
				Subject: "a file", Body: "Hi Carol", Attachments: []lab.Attachment{{Name: "notes.txt", Type: "text/plain", Content: []byte("notes\n")}}}}},
			open: []string{"attachment"},
		},
		{
			// Nobody's RCPT was accepted, but no message of the
			// learner's went with it: the relay's 550 is for the mail
			// client's.
			name: "nobody accepted then dropped with RSET, the mail client sends to nobody", lesson: "02-reply-codes",
			inputs: append(typed("EHLO laptop.example.com", "MAIL FROM:<alice@example.com>", "RCPT TO:<nobody@example.org>", "RSET"),
				lab.Input{Submit: &lab.Message{From: "alice@example.com", To: []string{"nobody@example.org"}, Subject: "hi", Body: "hi"}}),
			open: []string{"unknown-user", "delivered"}, done: []string{"bounced"},
		},
		{
			name: "Bob refused before MAIL, a message to nobody, the mail client delivers to Bob", lesson: "02-reply-codes",
			inputs: append(typed("EHLO laptop.example.com", "RCPT TO:<bob@example.org>", "MAIL FROM:<alice@example.com>",
				"RCPT TO:<nobody@example.org>", "DATA", "Subject: only nobody", "", "hi", "."), client),
			open: []string{"unknown-user", "delivered"}, done: []string{"bad-sequence", "bounced"},
		},
		{
			// Two messages, not one to both.
			name: "one message to nobody, another to Bob", lesson: "02-reply-codes",
			inputs: typed("EHLO laptop.example.com", "MAIL FROM:<alice@example.com>", "RCPT TO:<nobody@example.org>", "DATA",
				"Subject: one", "", "hi", ".", "MAIL FROM:<alice@example.com>", "RCPT TO:<bob@example.org>", "DATA", "Subject: two", "", "hi", "."),
			open: []string{"unknown-user", "delivered"}, done: []string{"bounced"},
		},
		{
			name: "Bob refused before MAIL, Carol's message queued, the mail client sends to Bob", lesson: "03-mx-and-relays",
			inputs: bobRefusedThenCarol("hi", "EHLO laptop.example.com"),
			open:   []string{"queued"},
		},
		{
			// Bob's message went straight to his MX, not to the relay.
			name: "a message typed to mx1 for Bob, the mail client hands one to the relay", lesson: "03-mx-and-relays",
			inputs: append([]lab.Input{{Connect: "mx1.example.org:25"}}, append(typed("EHLO laptop.example.com",
				"MAIL FROM:<alice@example.com>", "RCPT TO:<bob@example.org>", "DATA", "Subject: direct", "", "hi", "."), client)...),
			open: []string{"queued", "delivered"},
		},
		{
			name: "on 587, Bob refused before MAIL, Carol's message taken, the mail client sends to Bob", lesson: "03-mx-and-relays", lab: "home-network",
			inputs: bobRefusedThenCarol("hi", "EHLO laptop.home.example", "STARTTLS", "EHLO laptop.home.example",
				"AUTH PLAIN AGFsaWNlQGV4YW1wbGUuY29tAHdvbmRlcmxhbmQ="),
			open: []string{"submitted-from-home"},
		},
		{
			// Port 465 is encrypted from the start: no STARTTLS, and no
			// EHLO said again once encrypted.
			name: "encrypted on 465 instead of with STARTTLS", lesson: "04-starttls-and-auth",
			inputs: append([]lab.Input{{Connect: "smtp.example.com:465"}}, typed("EHLO laptop.example.com",
				"AUTH PLAIN AGFsaWNlQGV4YW1wbGUuY29tAHdvbmRlcmxhbmQ=")...),
			open: []string{"encrypted", "ehlo-again"}, done: []string{"logged-in"},
		},
		{
			name: "Bob refused before MAIL, Carol's message taken, the mail client submits to Bob", lesson: "04-starttls-and-auth",
			inputs: bobRefusedThenCarol("hi", "EHLO laptop.example.com", "STARTTLS", "EHLO laptop.example.com",
				"AUTH PLAIN AGFsaWNlQGV4YW1wbGUuY29tAHdvbmRlcmxhbmQ="),
			open: []string{"submitted"}, done: []string{"encrypted", "ehlo-again", "logged-in"},
		},
		{
			name: "two messages, one to Bob, one to nobody", lesson: "05-queues-and-retries",
			inputs: []lab.Input{client, {Submit: &lab.Message{From: "alice@example.com", To: []string{"nobody@example.org"}, Subject: "hi", Body: "hi"}},
				{Advance: "10m"}},
			open: []string{"accepted"}, done: []string{"greylisted", "kept", "delivered"},
		},
		{
			// The 550 and the bounce are for a typo, not nobody.
			name: "one message to Bob and to a typo", lesson: "05-queues-and-retries",
			inputs: []lab.Input{{Submit: &lab.Message{From: "alice@example.com", To: []string{"bob@example.org", "nobdy@example.org"},
				Subject: "hi", Body: "hi"}}, {Advance: "10m"}},
			open: []string{"accepted", "bounced"}, done: []string{"greylisted", "kept", "delivered"},
		},
		{
			name: "Bob refused before MAIL, a stuffed dot to Carol, the mail client delivers to Bob", lesson: "06-line-endings-and-smuggling",
			inputs: bobRefusedThenCarol("..a dot", "EHLO laptop.example.com"),
			open:   []string{"dot-stuffed"},
		},
		{
			// The doubled dot went in a message the content filter
			// refused; the message then delivered has none.
			name: "a stuffed dot in a refused message, then a plain one", lesson: "06-line-endings-and-smuggling",
			inputs: typed("EHLO laptop.example.com", "MAIL FROM:<alice@example.com>", "RCPT TO:<bob@example.org>", "DATA",
				"Subject: dots", "", "..a dot", mta.GTUBE, ".",
				"MAIL FROM:<alice@example.com>", "RCPT TO:<bob@example.org>", "DATA", "Subject: plain", "", "no dots", "."),
			open: []string{"dot-stuffed"},
		},
		{
			// MAIL FROM and RCPT TO:<carol> follow a proper CR LF end:
			// nothing is hidden, they are commands. The 550 5.5.2 is for
			// a later message.
			name: "MAIL FROM and RCPT TO for Carol after a proper end, then a bare LF", lesson: "06-line-endings-and-smuggling",
			inputs: typed("EHLO laptop.example.com", "MAIL FROM:<alice@example.com>", "RCPT TO:<bob@example.org>", "DATA",
				`raw:Subject: x\r\n\r\nhi\r\n.\r\nMAIL FROM:<ceo@example.com>\r\nRCPT TO:<carol@example.org>\r\n`,
				"DATA", `raw:Subject: y\r\n\r\nbare\nLF\r\n.\r\n`),
			open: []string{"nothing-smuggled"}, done: []string{"refused"},
		},
		{
			name: "Bob refused before MAIL, a short message to Carol, the mail client delivers to Bob", lesson: "07-limits-and-protection",
			inputs: bobRefusedThenCarol("hi", "EHLO laptop.example.com"),
			open:   []string{"fits"},
		},
		{
			// The relay takes a message mx.example.org will refuse for
			// its size; Bob's delivery is the mail client's.
			name: "a long message to Bob taken by the relay, the mail client delivers a short one", lesson: "07-limits-and-protection",
			inputs: append([]lab.Input{{Connect: "smtp.example.com:25"}}, append(typed("EHLO laptop.example.com",
				"MAIL FROM:<alice@example.com>", "RCPT TO:<bob@example.org>", "DATA", "Subject: long", "",
				strings.Repeat("A line of text that makes the message too long. ", 60), ".", "advance:1m"), client)...),
			open: []string{"fits"},
		},
		{
			// The relay's port 465 is encrypted too, but it is not
			// mx.example.org.
			name: "ciphertext to the relay on 465", lesson: "08-certificates-and-trust",
			inputs: append([]lab.Input{{Connect: "smtp.example.com:465"}}, typed("EHLO laptop.example.com")...),
			open:   []string{"upgrade", "handshake", "ciphertext", "ehlo-again"},
		},
		{
			name: "with TLS, Bob refused before MAIL, Carol's message accepted, the mail client delivers to Bob", lesson: "08-certificates-and-trust",
			inputs: bobRefusedThenCarol("hi", "EHLO laptop.example.com", "STARTTLS", "EHLO laptop.example.com"),
			open:   []string{"delivered"}, done: []string{"upgrade", "handshake", "ciphertext", "ehlo-again"},
		},
		{
			// Encrypted, but to the relay, which delivers to Bob itself.
			name: "a message for Bob typed to the relay with STARTTLS", lesson: "08-certificates-and-trust",
			inputs: append([]lab.Input{{Connect: "smtp.example.com:25"}}, typed("EHLO laptop.example.com", "STARTTLS", "EHLO laptop.example.com",
				"MAIL FROM:<alice@example.com>", "RCPT TO:<bob@example.org>", "DATA", "Subject: via the relay", "", "hi", ".", "advance:1m")...),
			open: []string{"delivered", "ciphertext", "ehlo-again"},
		},
		{
			// Refused for EICAR; the GTUBE words without the whole line
			// are not spam.
			name: "EICAR in the body, with the GTUBE words but not the line", lesson: "10-implicit-tls-logins-and-filters",
			inputs: typed("EHLO laptop.example.com", "AUTH PLAIN AGFsaWNlQGV4YW1wbGUuY29tAHdvbmRlcmxhbmQ=",
				"MAIL FROM:<alice@example.com>", "RCPT TO:<bob@example.org>", "DATA", "Subject: GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL", "", mta.EICAR, "."),
			open: []string{"spam-refused"}, done: []string{"virus-refused"},
		},
		{
			// The GTUBE words went in a message that was taken; the 554
			// answers the next one.
			name: "the GTUBE words in a message taken, then the GTUBE line refused", lesson: "10-implicit-tls-logins-and-filters",
			inputs: typed("EHLO laptop.example.com", "AUTH PLAIN AGFsaWNlQGV4YW1wbGUuY29tAHdvbmRlcmxhbmQ=",
				"MAIL FROM:<alice@example.com>", "RCPT TO:<bob@example.org>", "DATA", "Subject: about EICAR-STANDARD-ANTIVIRUS-TEST-FILE", "", "hi", ".",
				"MAIL FROM:<alice@example.com>", "RCPT TO:<bob@example.org>", "DATA", "Subject: spam", "", mta.GTUBE, "."),
			open: []string{"virus-refused"}, done: []string{"spam-refused"},
		},
		{
			// The filter finds EICAR in the body, before it opens any
			// part; the file attached is harmless.
			name: "the mail client sends EICAR in the body, with a harmless file", lesson: "10-implicit-tls-logins-and-filters",
			inputs: []lab.Input{{Submit: &lab.Message{From: "alice@example.com", To: []string{"bob@example.org"}, Subject: "notes", Body: mta.EICAR,
				Attachments: []lab.Attachment{{Name: "notes.txt", Type: "text/plain", Content: []byte("nothing bad")}}}}},
			open: []string{"attached-virus"},
		},
		{
			name: "the mail client attaches a file holding GTUBE", lesson: "10-implicit-tls-logins-and-filters",
			inputs: []lab.Input{{Submit: &lab.Message{From: "alice@example.com", To: []string{"bob@example.org"}, Subject: "spam", Body: "Hi",
				Attachments: []lab.Attachment{{Name: "spam.txt", Type: "application/octet-stream", Content: []byte(mta.GTUBE)}}}}},
			open: []string{"attached-virus"},
		},
		{
			// The chunk went in a transaction dropped with RSET; the
			// message was one BDAT LAST.
			name: "a chunk dropped with RSET, then the message in one BDAT LAST", lesson: "11-pipelining-chunking-and-dsn",
			inputs: typed("EHLO laptop.example.com", "MAIL FROM:<alice@example.com>", "RCPT TO:<carol@example.org>",
				`raw:BDAT 7\r\nHello, `, "RSET", "MAIL FROM:<alice@example.com>", "RCPT TO:<carol@example.org>", `raw:BDAT 8 LAST\r\nCarol.\r\n`),
			open: []string{"chunked"},
		},
		{
			name: "two chunks to Bob, not Carol", lesson: "11-pipelining-chunking-and-dsn",
			inputs: typed("EHLO laptop.example.com", "MAIL FROM:<alice@example.com>", "RCPT TO:<bob@example.org>",
				`raw:BDAT 7\r\nHello, `, `raw:BDAT 6 LAST\r\nBob.\r\n`),
			open: []string{"chunked"},
		},
		{
			// ENVID labels one transaction, NOTIFY=SUCCESS asks in
			// another.
			name: "ENVID on a transaction dropped with RSET, NOTIFY=SUCCESS in the next", lesson: "11-pipelining-chunking-and-dsn",
			inputs: typed("EHLO laptop.example.com", "MAIL FROM:<alice@example.com> ENVID=first", "RSET",
				"MAIL FROM:<alice@example.com>", "RCPT TO:<bob@example.org> NOTIFY=SUCCESS"),
			open: []string{"dsn-asked"},
		},
		{
			// The envelope sender is eve@lenient.example, not Carol.
			name: "the From: lines of shop.example and example.com behind eve@lenient.example", lesson: "12-who-really-sent-this",
			inputs: typed("EHLO laptop.example.com", "MAIL FROM:<eve@lenient.example>", "RCPT TO:<bob@example.org>", "DATA",
				"From: Shop <news@shop.example>", "", "buy now", ".", "MAIL FROM:<eve@lenient.example>", "RCPT TO:<bob@example.org>", "DATA",
				"From: Alice <alice@example.com>", "", "pay me", "."),
			open: []string{"quarantined", "rejected"}, done: []string{"softfail"},
		},
		{
			// Carol's MAIL FROM came first, but the transaction that
			// was judged is Eve's.
			name: "Carol's sender dropped with RSET, then Eve's with forged From: lines", lesson: "12-who-really-sent-this",
			inputs: typed("EHLO laptop.example.com", "MAIL FROM:<carol@example.net>", "RSET", "MAIL FROM:<eve@lenient.example>",
				"RCPT TO:<bob@example.org>", "DATA", "From: Shop <news@shop.example>", "", "buy now", ".",
				"MAIL FROM:<carol@example.net>", "RSET", "MAIL FROM:<eve@lenient.example>", "RCPT TO:<bob@example.org>", "DATA",
				"From: Alice <alice@example.com>", "", "pay me", "."),
			open: []string{"quarantined", "rejected"}, done: []string{"softfail"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.lesson+"/"+tt.name, tt.check)
	}
}

// walk is what a learner does in one lab of a lesson, and the goals that
// must then be open and done.
type walk struct {
	name   string
	lesson string
	lab    string // the lab the walk happens in, when not the lesson's own
	inputs []lab.Input
	open   []string // goals that must stay open
	done   []string // goals that must be done
}

// check walks the inputs and checks the goals named in open and done.
func (tt walk) check(t *testing.T) {
	done := goalsAfter(t, tt.lesson, tt.lab, tt.inputs)
	for _, id := range slices.Concat(tt.open, tt.done) {
		if _, ok := done[id]; !ok {
			t.Errorf("the lesson has no goal %q in the %s lab", id, cmp.Or(tt.lab, "lesson's own"))
		}
	}
	for _, id := range tt.open {
		if done[id] {
			t.Errorf("goal %q is done, but the learner did not do it", id)
		}
	}
	for _, id := range tt.done {
		if !done[id] {
			t.Errorf("goal %q is not done, though the walk did it", id)
		}
	}
}

// typed turns lines into the inputs of a walk: each one typed in the
// terminal, except "raw:..." (bytes with escapes, nothing added) and
// "advance:..." (time let pass).
func typed(lines ...string) []lab.Input {
	var in []lab.Input
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "raw:"):
			in = append(in, lab.Input{Raw: l[4:]})
		case strings.HasPrefix(l, "advance:"):
			in = append(in, lab.Input{Advance: l[8:]})
		default:
			in = append(in, lab.Input{Type: l})
		}
	}
	return in
}

// goalsAfter walks the inputs in a fresh world of the lesson's lab named
// labName (the lesson's own when empty), and says which of the goals
// reached in that lab are done, by id.
func goalsAfter(t *testing.T, slug, labName string, inputs []lab.Input) map[string]bool {
	t.Helper()
	l := lessonNamed(t, slug)
	scenario := cmp.Or(labName, l.Scenario)
	w, err := lab.New(scenario, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range inputs {
		if _, err := w.Do(in); err != nil {
			t.Fatalf("%+v: %v", in, err)
		}
	}
	done := map[string]bool{}
	for _, r := range goal.Check(goal.In(l.Goals, scenario, l.Scenario), w.Trace()) {
		done[r.ID] = r.Done
	}
	return done
}

// lessonNamed returns the lesson with the slug.
func lessonNamed(t *testing.T, slug string) Lesson {
	t.Helper()
	all, err := All()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range all {
		if l.Slug == slug {
			return l
		}
	}
	t.Fatalf("no lesson %q", slug)
	return Lesson{}
}

// TestNothingSmuggledSeesCarolsDeliveryFromTheAttempt checks that lesson
// 6's nothing-smuggled looks at Carol's mailbox while the attempt's
// connection lasts: the lab's server never takes the hidden message, so
// the trace of a real attempt gets, just before its connection closes,
// the delivery to Carol that a server open to smuggling would have made.
func TestNothingSmuggledSeesCarolsDeliveryFromTheAttempt(t *testing.T) {
	l := lessonNamed(t, "06-line-endings-and-smuggling")
	w, err := lab.New(l.Scenario, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range typed("EHLO laptop.example.com", "MAIL FROM:<alice@example.com>", "RCPT TO:<bob@example.org>", "DATA",
		`raw:Subject: Hi\r\n\r\nNothing to see.\n.\r\nMAIL FROM:<ceo@example.com>\r\nRCPT TO:<carol@example.org>\r\nDATA\r\nSubject: Urgent\r\n\r\nPay.\r\n.\r\n`) {
		if _, err := w.Do(in); err != nil {
			t.Fatal(err)
		}
	}
	var g goal.Goal
	for _, g = range l.Goals {
		if g.ID == "nothing-smuggled" {
			break
		}
	}
	events := w.Trace()
	if !goal.Check([]goal.Goal{g}, events)[0].Done {
		t.Fatal("nothing-smuggled is not done after the attempt")
	}
	last := slices.IndexFunc(events, func(e trace.Event) bool { return e.Kind == trace.ConnClose })
	if last < 0 {
		t.Fatal("the server did not close the connection after its 550")
	}
	smuggled := trace.Event{Kind: trace.Delivery, Host: "mx.example.org", Rcpt: "carol@example.org", At: events[last].At}
	if goal.Check([]goal.Goal{g}, slices.Insert(slices.Clone(events), last, smuggled))[0].Done {
		t.Error("nothing-smuggled is done though Carol got a message before the attempt's connection closed")
	}
}
