package main

import (
	"encoding/base64"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// replyCount counts the replies with this code in the main transcript.
func replyCount(code string) string {
	return `document.querySelectorAll('#lab .smtplab-transcript .smtplab-reply[data-code="` + code + `"]').length`
}

func TestBrowserPasteIntoData(t *testing.T) {
	url := serve(t, realSite(t))
	ctx := testTab(t, 60*time.Second)
	openLab(t, ctx, url)
	typeLines(t, ctx, "EHLO me.example.com", "MAIL FROM:<alice@example.com>", "RCPT TO:<bob@example.org>", "DATA")
	before := eval[int](t, ctx, replyCount("250"))
	// A paste of several lines sends each as its own line.
	eval[bool](t, ctx, `(() => {
		const dt = new DataTransfer();
		dt.setData('text/plain', 'Subject: pasted\r\n\r\nline one\nline two\n.\n');
		return document.getElementById('terminal-input').dispatchEvent(
			new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
	})()`)
	waitFor(t, ctx, "the message accepted", replyCount("250")+` > `+strconv.Itoa(before))
	text := transcript(t, ctx)
	for _, want := range []string{"-> Subject: pasted", "-> line one", "-> line two", "-> ."} {
		if !strings.Contains(text, want) {
			t.Errorf("transcript lacks %q:\n%s", want, text)
		}
	}
}

func TestBrowserStartTLS(t *testing.T) {
	url := serve(t, realSite(t))
	ctx := testTab(t, 60*time.Second)
	openLab(t, ctx, url)
	typeLines(t, ctx, "EHLO me.example.com", "STARTTLS")
	waitFor(t, ctx, "the handshake", `[...document.querySelectorAll('#lab .smtplab-transcript .smtplab-note')].some(n => n.textContent.includes('TLS finished'))`)
	typeLines(t, ctx, "EHLO me.example.com")
	text := transcript(t, ctx)
	if !strings.Contains(text, "~> EHLO me.example.com") || !strings.Contains(text, "<~ 250") {
		t.Errorf("no ~> / <~ marks after STARTTLS:\n%s", text)
	}
	// The Network panel says in words that the open connection is encrypted:
	// a lock symbol alone showed as an empty box where no emoji font is installed.
	live := eval[string](t, ctx, `document.querySelector('#lab .smtplab-live').textContent`)
	if !strings.Contains(live, "mx.example.org:25, encrypted (TLS)") {
		t.Errorf("live connections after STARTTLS: %q", live)
	}
	do(t, ctx, "TLS tab", chromedp.Click(chromedp.CSS(`[role=tab][id^="smtplab-tab-tls"]`)))
	panel := eval[string](t, ctx, `document.querySelector('.smtplab-panel-tls').innerText`)
	for _, want := range []string{"finished", "Subject", "Issuer", "EHLO me.example.com"} {
		if !strings.Contains(panel, want) {
			t.Errorf("TLS panel lacks %q:\n%s", want, panel)
		}
	}
	// The steps say the version and the cipher once, at the server hello
	// that chose them; the finished step had repeated them, and each step
	// had had them again in brackets.
	steps := eval[string](t, ctx, `document.querySelector('.smtplab-panel-tls .smtplab-tls-steps').innerText`)
	if n := strings.Count(steps, "TLS_CHACHA20_POLY1305_SHA256"); n != 1 || strings.Count(steps, "TLS 1.3 with") != 1 {
		t.Errorf("the handshake steps say the cipher %d times, want once, at the server hello:\n%s", n, steps)
	}
	// The handshake's flights are named as such in both views: the hellos
	// cross in clear, so their hex is not ciphertext, nor text a peer reads.
	if plain := eval[string](t, ctx, `document.querySelector('.smtplab-panel-tls .smtplab-tls-bytes').innerText`); !strings.Contains(plain, "TLS handshake, 256 bytes on the wire: 16030100fb") {
		t.Errorf("the plaintext view does not name the client hello's flight:\n%s", plain)
	}
	if finished := eval[string](t, ctx, `[...document.querySelectorAll('.smtplab-panel-tls .smtplab-tls-steps li')].pop().innerText`); strings.Contains(finished, "TLS 1.3") {
		t.Errorf("the finished step repeats the version: %q", finished)
	}
	do(t, ctx, "ciphertext toggle", chromedp.Click(chromedp.CSS(`.smtplab-panel-tls input[type=checkbox]`)))
	cipher := eval[string](t, ctx, `document.querySelector('.smtplab-panel-tls .smtplab-tls-bytes').innerText`)
	if strings.Contains(cipher, "EHLO") || !strings.Contains(cipher, "bytes on the wire") {
		t.Errorf("ciphertext view shows:\n%s", cipher)
	}
}

// TestBrowserTLSTabKeepsHandshakesApart: the TLS tab shows each handshake
// with the certificate facts of that handshake only. It had merged the
// attributes of every handshake in the world, so after the relay's DANE
// handshake with mx.example.net, the learner's own STARTTLS to
// smtp.example.com showed a TLSA record that handshake never used.
func TestBrowserTLSTabKeepsHandshakesApart(t *testing.T) {
	url := serve(t, realSite(t))
	ctx := testTab(t, 60*time.Second)
	openLab(t, ctx, url)
	link := eval[string](t, ctx, `(async () => {
		const { encodeSnapshot } = await import('/js/session.js');
		return location.origin + '/#lab=' + encodeSnapshot({ scenario: 'starttls-downgrade', seed: 1, inputs: [
			{ submit: { from: 'alice@example.com', to: ['dave@example.net'], subject: 'Secret', body: 'Hi Dave' } },
			{ advance: '40m' }, { type: 'EHLO laptop.example.com' }, { type: 'STARTTLS' }] });
	})()`)
	openLab(t, ctx, link)
	do(t, ctx, "TLS tab", chromedp.Click(chromedp.CSS(`[role=tab][id^="smtplab-tab-tls"]`)))
	const sections = `[...document.querySelectorAll('.smtplab-panel-tls .smtplab-sub')].filter((s) => s.querySelector('.smtplab-tls-steps'))`
	waitFor(t, ctx, "the learner's handshake", sections+`.some((s) => s.querySelector('h3').textContent.startsWith('laptop.example.com to '))`)
	got := eval[[]string](t, ctx, sections+`.map((s) => s.innerText)`)
	var dane, mine string
	for _, s := range got {
		switch {
		case strings.HasPrefix(s, "smtp.example.com to mx.example.net"):
			dane = s
		case strings.HasPrefix(s, "laptop.example.com to smtp.example.com"):
			mine = s
		}
	}
	if !strings.Contains(dane, "DANE record (TLSA)") || !strings.Contains(dane, "CN=mx.example.net") {
		t.Errorf("the relay's DANE handshake shows:\n%s", dane)
	}
	if mine == "" || strings.Contains(mine, "DANE record") || strings.Contains(mine, "mx.example.net") || !strings.Contains(mine, "CN=smtp.example.com") {
		t.Errorf("the learner's handshake shows (no TLSA record, no other host's name):\n%s\nall:\n%s", mine, strings.Join(got, "\n---\n"))
	}
}

// TestBrowserAuthAnswersShownOnce: the lines a learner types in answer to
// the server's 334 challenges show once in the transcript (they reach the
// page both as bytes and as the server's reading of them).
func TestBrowserAuthAnswersShownOnce(t *testing.T) {
	url := serve(t, realSite(t))
	ctx := testTab(t, 60*time.Second)
	openLab(t, ctx, url+"/#lesson=10-implicit-tls-logins-and-filters")
	user := base64.StdEncoding.EncodeToString([]byte("alice@example.com"))
	pass := base64.StdEncoding.EncodeToString([]byte("wonderland"))
	typeLines(t, ctx, "EHLO laptop.example.com", "AUTH LOGIN", user, pass)
	waitFor(t, ctx, "the login accepted", replyCount("235")+` > 0`)
	text := transcript(t, ctx)
	for _, answer := range []string{user, pass} {
		if n := strings.Count(text, "~> "+answer+"\n"); n != 1 {
			t.Errorf("%q shown %d times:\n%s", answer, n, text)
		}
	}
}

// TestBrowserTerminalHintFollowsItsOwnConnection: the hint under the
// terminal speaks of the terminal's connection. The mail client's session
// closing beside it, or the server waiting for its message text, is not the
// terminal's business; the terminal's own DATA and QUIT are.
func TestBrowserTerminalHintFollowsItsOwnConnection(t *testing.T) {
	url := serve(t, realSite(t))
	ctx := testTab(t, 60*time.Second)
	openLab(t, ctx, url)
	hint := func() string {
		return eval[string](t, ctx, `document.querySelector('#lab .smtplab-terminal-hint').textContent`)
	}
	typeLines(t, ctx, "EHLO laptop.example.com")
	const form = `.smtplab-panel-mailbox form.smtplab-compose`
	do(t, ctx, "the mail client", chromedp.Click(chromedp.CSS(`#lab [role=tab][id^="smtplab-tab-mailbox"]`)),
		chromedp.Click(chromedp.CSS(`.smtplab-compose-box summary`)),
		chromedp.SendKeys(chromedp.CSS(form+` input[name=from]`), "alice@example.com"),
		chromedp.SendKeys(chromedp.CSS(form+` input[name=to]`), "bob@example.org"),
		chromedp.SendKeys(chromedp.CSS(form+` textarea`), "From the mail client."),
		chromedp.Click(chromedp.CSS(form+` button[type=submit]`)))
	waitFor(t, ctx, "the mail client's session closed", `[...document.querySelectorAll('#lab .smtplab-transcript .smtplab-note')].some(n => n.textContent.includes('connection closed'))`)
	if got := hint(); !strings.HasPrefix(got, "Enter sends the line.") {
		t.Errorf("after the mail client's session the hint says %q", got)
	}
	typeLines(t, ctx, "MAIL FROM:<alice@example.com>", "RCPT TO:<bob@example.org>", "DATA")
	if got := hint(); !strings.HasPrefix(got, "Message mode") {
		t.Errorf("after 354 the hint says %q", got)
	}
	typeLines(t, ctx, "Subject: hi", "", "Hello.", ".", "QUIT")
	waitFor(t, ctx, "the closed hint", `document.querySelector('#lab .smtplab-terminal-hint').textContent.startsWith('The connection is closed')`)
	do(t, ctx, "raw mode", chromedp.Click(chromedp.CSS(`#lab .smtplab-terminal-box input[type=checkbox]`)))
	typeLines(t, ctx, `EHLO again\r\n`)
	if got := hint(); strings.Contains(got, "Tab") {
		t.Errorf("in raw mode the hint says %q", got)
	}
}

// TestBrowserLostReplyIsMarked: in the lost-connection lab, the MX's 250
// to the relay's message, and its 221, went out but never arrived: the
// transcript shows them apart from the replies the relay got, with words
// that say so on the line and to a screen reader.
func TestBrowserLostReplyIsMarked(t *testing.T) {
	url := serve(t, realSite(t))
	ctx := testTab(t, 60*time.Second)
	openLab(t, ctx, url)
	link := eval[string](t, ctx, `(async () => {
		const { encodeSnapshot } = await import('/js/session.js');
		return location.origin + '/#lab=' + encodeSnapshot({ scenario: 'lost-connection', seed: 1, inputs: [
			{ submit: { from: 'alice@example.com', to: ['bob@example.org'], subject: 'Did this arrive?', body: 'Hi Bob' } },
			{ advance: '11m' }] });
	})()`)
	openLab(t, ctx, link)
	const lostReplies = `[...document.querySelectorAll('#lab .smtplab-transcript .smtplab-reply.smtplab-lost')]`
	waitFor(t, ctx, "the lost replies", lostReplies+`.length > 0`)
	got := eval[string](t, ctx, lostReplies+`.map((r) => r.dataset.code + ': ' + r.querySelector('summary').textContent).join('\n')`)
	want := "250: Server, encrypted, never received: <~ 250 2.0.0 Ok: queued as BF16C00001 (sent by the server, never received)\n" +
		"221: Server, encrypted, never received: <~ 221 2.0.0 Bye (sent by the server, never received)"
	if got != want {
		t.Errorf("the lost replies read:\n%s\nwant:\n%s", got, want)
	}
	if n := eval[int](t, ctx, `[...document.querySelectorAll('#lab .smtplab-transcript .smtplab-reply:not(.smtplab-lost)')].filter((r) => r.textContent.includes('never received')).length`); n != 0 {
		t.Errorf("%d replies that arrived say they never did", n)
	}
	text := transcript(t, ctx)
	if i, j := strings.Index(text, "breaks just as mx.example.org sends its reply"), strings.Index(text, "Ok: queued as BF16C00001"); i < 0 || j < i {
		t.Errorf("the note that the line breaks does not come before the lost 250:\n%s", text)
	}
}

// TestBrowserStoppedHostIsRefusing: in lesson 9's backup-mx lab the
// network map marks mx1.example.org, whose services are stopped, as
// "refusing", which is what the lab does with its connections, where it
// had said "down", which is what an unreachable host looks like.
func TestBrowserStoppedHostIsRefusing(t *testing.T) {
	url := serve(t, realSite(t))
	ctx := testTab(t, 60*time.Second)
	openLab(t, ctx, url+"/#lesson=09-when-dns-or-hosts-fail")
	waitFor(t, ctx, "the backup-mx lab", `document.getElementById('scenario-picker').value === 'backup-mx'`)
	const badge = `[...document.querySelectorAll('.smtplab-hosts li')].find((li) => li.querySelector('strong').textContent === 'mx1.example.org')`
	waitFor(t, ctx, "mx1 on the network map", `!!`+badge)
	got := eval[string](t, ctx, `(() => { const b = `+badge+`.querySelector('.smtplab-down'); return b ? b.textContent + ': ' + b.title : 'no badge'; })()`)
	if want := "refusing: Its services are stopped: every connection to it is refused at once."; got != want {
		t.Errorf("mx1's badge: %q, want %q", got, want)
	}
}

func TestBrowserKeyboardTabsAndTime(t *testing.T) {
	url := serve(t, realSite(t))
	ctx := testTab(t, 60*time.Second)
	openLab(t, ctx, url)
	do(t, ctx, "focus the first tab", chromedp.Focus(chromedp.CSS(`[role=tab][id^="smtplab-tab-network"]`)))
	do(t, ctx, "arrow right", chromedp.SendKeys(chromedp.CSS(`[role=tab][id^="smtplab-tab-network"]`), kb.ArrowRight))
	if got := eval[string](t, ctx, `document.activeElement.textContent + ' ' + document.activeElement.getAttribute('aria-selected')`); got != "Timeline & queue true" {
		t.Fatalf("after → the focus is on %q", got)
	}
	if eval[bool](t, ctx, `document.querySelector('.smtplab-panel-timeline').closest('[role=tabpanel]').hidden`) {
		t.Fatal("timeline panel hidden after selecting its tab")
	}
	do(t, ctx, "+30 min by keyboard", chromedp.Focus(chromedp.CSS(`.smtplab-panel-timeline button[data-seconds="1800"]`)),
		chromedp.SendKeys(chromedp.CSS(`.smtplab-panel-timeline button[data-seconds="1800"]`), kb.Enter))
	waitFor(t, ctx, "the clock at 30 minutes", `document.querySelector('.smtplab-panel-timeline .smtplab-clock').textContent.includes('0:30:00')`)

	// A time the lab cannot use marks the "Let pass" field and is its
	// description; typing again clears the mark, and a good time moves the
	// clock.
	const field = `.smtplab-panel-timeline .smtplab-advance-for`
	state := `(() => { const f = document.querySelector('` + field + `'); const d = f.getAttribute('aria-describedby'); return (f.getAttribute('aria-invalid') || 'valid') + ' | ' + (d ? document.getElementById(d).textContent : ''); })()`
	do(t, ctx, "a time that is not one", chromedp.Focus(chromedp.CSS(field)), chromedp.KeyEvent("soon"), chromedp.KeyEvent(kb.Enter))
	waitFor(t, ctx, "the field marked", state+` === 'true | Write a time like 90s, 10m or 1h30m.'`)
	if !eval[bool](t, ctx, `getComputedStyle(document.querySelector('`+field+`')).borderTopColor === getComputedStyle(document.querySelector('.smtplab-panel-timeline .smtplab-advance-status')).color`) {
		t.Errorf("the marked field's border is not the error's colour")
	}
	eval[string](t, ctx, `document.querySelector('`+field+`').select(), ''`)
	do(t, ctx, "ten minutes", chromedp.KeyEvent("10m"))
	if got := eval[string](t, ctx, state); got != "valid | " {
		t.Errorf("after typing again the field is %q", got)
	}
	do(t, ctx, "Enter", chromedp.KeyEvent(kb.Enter))
	waitFor(t, ctx, "the clock at 40 minutes", `document.querySelector('.smtplab-panel-timeline .smtplab-clock').textContent.includes('0:40:00')`)
	do(t, ctx, "too long a time", chromedp.KeyEvent("9999h"), chromedp.KeyEvent(kb.Enter))
	waitFor(t, ctx, "the engine's refusal on the field", state+`.startsWith('true | ') && `+state+`.length > 'true | '.length`)
}

// TestBrowserConnectByKeyboard: "Connect…" above the terminal opens with
// Enter, its choices are labelled, arrow keys choose the host (its ports
// follow), and Enter on Connect moves the terminal: the status line says
// where to, and the focus is back in the terminal.
func TestBrowserConnectByKeyboard(t *testing.T) {
	url := serve(t, realSite(t))
	ctx := testTab(t, 60*time.Second)
	openLab(t, ctx, url+"/#lesson=03-mx-and-relays")
	waitFor(t, ctx, "the mx-routing lab", `document.getElementById('scenario-picker').value === 'mx-routing'`)
	status := `document.querySelector('#lab .smtplab-conn-status')`
	waitFor(t, ctx, "the status line", status+`.textContent === 'Connected to smtp.example.com:25.' && `+status+`.getAttribute('role') === 'status'`)
	pressEnter(t, ctx, "#lab .smtplab-connect > summary")
	const host, port = `document.querySelector('#lab .smtplab-connect select[name=host]')`, `document.querySelector('#lab .smtplab-connect select[name=port]')`
	waitFor(t, ctx, "the hosts", `document.querySelector('#lab .smtplab-connect').open && `+host+`.value === 'smtp.example.com'`)
	labels := eval[string](t, ctx, `[`+host+`, `+port+`].map((s) => s.labels[0].textContent).join(' ')`)
	if labels != "Host Port" {
		t.Errorf("the choices are labelled %q", labels)
	}
	if got := eval[string](t, ctx, `[...`+host+`.options].map((o) => o.value).join(' ')`); got != "smtp.example.com mx1.example.org mx2.example.org example.net" {
		t.Errorf("the hosts offered: %s", got)
	}
	do(t, ctx, "the next host", chromedp.Focus(chromedp.CSS("#lab .smtplab-connect select[name=host]")), chromedp.KeyEvent(kb.ArrowDown))
	waitFor(t, ctx, "mx1 and its one port", host+`.value === 'mx1.example.org' && [...`+port+`.options].map((o) => o.value).join() === '25'`)
	pressEnter(t, ctx, "#lab .smtplab-connect button[type=submit]")
	waitFor(t, ctx, "connected to the MX", status+`.textContent === 'Connected to mx1.example.org:25.' && !document.querySelector('#lab .smtplab-connect').open`)
	waitFor(t, ctx, "the focus in the terminal", activeIs("#terminal-input"))
	if !strings.Contains(transcript(t, ctx), "laptop.example.com connected to mx1.example.org:25") {
		t.Errorf("the transcript does not show the new connection:\n%s", transcript(t, ctx))
	}
}

func TestBrowserResetAsksFirst(t *testing.T) {
	url := serve(t, realSite(t))
	ctx := testTab(t, 60*time.Second)
	openLab(t, ctx, url)
	typeLines(t, ctx, "NOOP")
	do(t, ctx, "reset", chromedp.Click(chromedp.ID("btn-reset")))
	waitFor(t, ctx, "the question", `document.getElementById('confirm-dialog').open`)
	do(t, ctx, "cancel", chromedp.Click(chromedp.CSS(`#confirm-dialog button[value=cancel]`)))
	waitFor(t, ctx, "the dialog closed", `!document.getElementById('confirm-dialog').open`)
	if !strings.Contains(transcript(t, ctx), "-> NOOP") {
		t.Fatal("cancelled reset lost the session")
	}
	do(t, ctx, "reset", chromedp.Click(chromedp.ID("btn-reset")))
	waitFor(t, ctx, "the question", `document.getElementById('confirm-dialog').open`)
	do(t, ctx, "confirm", chromedp.Click(chromedp.ID("confirm-ok")))
	waitFor(t, ctx, "a fresh session", `!document.querySelector('#lab .smtplab-transcript').textContent.includes('NOOP') && `+replyCount("220")+` === 1`)
}

func TestBrowserHintsThenSolution(t *testing.T) {
	url := serve(t, realSite(t))
	ctx := testTab(t, 60*time.Second)
	openLab(t, ctx, url)
	if !eval[bool](t, ctx, `document.getElementById('solution').hidden`) {
		t.Fatal("solution shown before asking")
	}
	do(t, ctx, "hint", chromedp.Click(chromedp.ID("btn-hint")))
	do(t, ctx, "hint", chromedp.Click(chromedp.ID("btn-hint")))
	if n := eval[int](t, ctx, `document.querySelectorAll('#hint-list li').length`); n != 2 {
		t.Errorf("%d hints after two clicks", n)
	}
	do(t, ctx, "solution", chromedp.Click(chromedp.ID("btn-solution")))
	waitFor(t, ctx, "the question", `document.getElementById('confirm-dialog').open`)
	if !eval[bool](t, ctx, `document.getElementById('solution').hidden`) {
		t.Fatal("solution shown before confirming")
	}
	do(t, ctx, "confirm", chromedp.Click(chromedp.ID("confirm-ok")))
	waitFor(t, ctx, "the solution", `!document.getElementById('solution').hidden && document.querySelectorAll('#solution-list li').length > 3`)
	// Every step shows something: the empty line between a message's
	// header and body says what it is.
	steps := eval[[]string](t, ctx, `[...document.querySelectorAll('#solution-list li')].map(li => li.textContent)`)
	empty := 0
	for _, s := range steps {
		if strings.TrimSpace(s) == "" {
			t.Errorf("a solution step shows nothing: %q", steps)
		}
		if s == "(an empty line)" {
			empty++
		}
	}
	if empty == 0 {
		t.Errorf("lesson 1's solution has no step shown as an empty line: %q", steps)
	}
	// Hints seen survive a reload (progress in localStorage).
	do(t, ctx, "reload", chromedp.Reload())
	waitFor(t, ctx, "hints again", `document.querySelectorAll('#hint-list li').length === 2`)
}

func TestBrowserComposeAndMailbox(t *testing.T) {
	url := serve(t, realSite(t))
	ctx := testTab(t, 60*time.Second)
	openLab(t, ctx, url)
	do(t, ctx, "mailbox tab", chromedp.Click(chromedp.CSS(`[role=tab][id^="smtplab-tab-mailbox"]`)),
		chromedp.Click(chromedp.CSS(`.smtplab-compose-box summary`)),
		chromedp.SendKeys(chromedp.CSS(`.smtplab-compose input[name=from]`), "alice@example.com"),
		chromedp.SendKeys(chromedp.CSS(`.smtplab-compose input[name=to]`), "bob@example.org"),
		chromedp.SendKeys(chromedp.CSS(`.smtplab-compose textarea`), "Sent from the mail client."),
		chromedp.Click(chromedp.CSS(`.smtplab-compose button[type=submit]`)))
	waitFor(t, ctx, "the message in Bob's mailbox", `document.querySelector('.smtplab-panel-mailbox .smtplab-mailboxes').innerText.includes('bob@example.org')`)
	// "1 hop", "2 hops".
	if chain := eval[string](t, ctx, `document.querySelector('.smtplab-panel-mailbox .smtplab-message details summary').textContent`); !regexp.MustCompile(`^Received: chain \((1 hop|([02-9]|\d\d+) hops), newest first\)$`).MatchString(chain) {
		t.Errorf("the Received: chain is summed up as %q", chain)
	}
	raw := eval[string](t, ctx, `document.querySelector('.smtplab-panel-mailbox .smtplab-raw').textContent`)
	if !strings.Contains(raw, "Received: ") || !strings.Contains(raw, "Sent from the mail client.") {
		t.Errorf("raw source:\n%s", raw)
	}
}

func TestBrowserEmbeddedElement(t *testing.T) {
	url := serve(t, realSite(t))
	ctx := testTab(t, 60*time.Second)
	openLab(t, ctx, url)
	// What a course page does: load the module, write the element.
	embedLab(t, ctx, "embedded", "first-session", nil)
	waitFor(t, ctx, "the embedded greeting", `document.querySelectorAll('#embedded .smtplab-transcript .smtplab-reply[data-code="220"]').length === 1`)
	id := eval[string](t, ctx, `document.querySelector('#embedded .smtplab-terminal-input').id`)
	waitFor(t, ctx, "the embedded terminal enabled", `!document.getElementById('`+id+`').disabled`)
	do(t, ctx, "typing in the embedded lab", chromedp.SendKeys(chromedp.ID(id), "EHLO embedded.example\r"))
	waitFor(t, ctx, "the embedded reply", `document.querySelectorAll('#embedded .smtplab-transcript .smtplab-reply[data-code="250"]').length > 0`)
	if strings.Contains(transcript(t, ctx), "embedded.example") {
		t.Error("the embedded lab typed into the page's main lab")
	}
	// What a course page's grader reads: the events as they come, the
	// trace, the snapshot, and goals checked against the lab's world.
	eval[bool](t, ctx, `(window.heard = [], document.addEventListener('smtplab-events', (e) => {
		if (e.target.id === 'embedded') window.heard.push(...e.detail);
	}), true)`)
	do(t, ctx, "typing NOOP in the embedded lab", chromedp.SendKeys(chromedp.ID(id), "NOOP\r"))
	waitFor(t, ctx, "the NOOP's reply heard", `window.heard.some((e) => e.kind === 'smtp.reply' && e.verb === 'NOOP')`)
	got := eval[map[string]string](t, ctx, `(async () => {
		const lab = document.getElementById('embedded');
		const heard = window.heard;
		const done = await lab.check([{ id: 'hello', text: 'EHLO answered', reply: { verb: 'EHLO', code: 250 } },
			{ id: 'quit', text: 'QUIT answered', reply: { verb: 'QUIT', code: 221 } }]);
		const snap = await lab.snapshot();
		return {
			heard: heard.filter((e) => e.kind === 'smtp.command').map((e) => e.text).join('|'),
			trace: String(lab.trace().some((e) => e.kind === 'smtp.command' && e.text === 'EHLO embedded.example')),
			goals: done.map((g) => g.id + '=' + g.done).join(' '),
			inputs: snap.inputs.map((i) => i.type).join('|'),
		};
	})()`)
	want := map[string]string{"heard": "NOOP", "trace": "true", "goals": "hello=true quit=false", "inputs": "EHLO embedded.example|NOOP"}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("the grader's %s = %q, want %q", k, got[k], w)
		}
	}
}

func TestBrowserProgressImport(t *testing.T) {
	url := serve(t, realSite(t))
	ctx := testTab(t, 60*time.Second)
	openLab(t, ctx, url)
	second := eval[string](t, ctx, `JSON.parse(document.getElementById('lesson-data').textContent)[1].slug`)
	eval[bool](t, ctx, `(() => {
		const progress = {version: 1, lesson: '`+second+`', lessons: {'`+second+`': {done: [], hints: 1, solution: false}}, labs: {}};
		const dt = new DataTransfer();
		dt.items.add(new File([JSON.stringify(progress)], 'progress.json', {type: 'application/json'}));
		const input = document.getElementById('import-file');
		input.files = dt.files;
		return input.dispatchEvent(new Event('change'));
	})()`)
	waitFor(t, ctx, "the imported lesson shown", `!document.getElementById('lesson-`+second+`').hidden && document.querySelectorAll('#hint-list li').length === 1`)
	// A file that is not progress is refused with words, not a crash.
	eval[bool](t, ctx, `(() => {
		const dt = new DataTransfer();
		dt.items.add(new File(['{"hello": 1}'], 'x.json'));
		const input = document.getElementById('import-file');
		input.files = dt.files;
		return input.dispatchEvent(new Event('change'));
	})()`)
	waitFor(t, ctx, "the refusal", `document.getElementById('engine-status').textContent.includes('Import failed')`)
}

// TestBrowserModuleFunctions checks the page's pure helpers where they
// run: completion, reply lines, header unfolding and permalink encoding.
func TestBrowserModuleFunctions(t *testing.T) {
	url := serve(t, realSite(t))
	ctx := testTab(t, 30*time.Second)
	do(t, ctx, "loading the page", chromedp.Navigate(url))
	got := eval[map[string]string](t, ctx, `(async () => {
		const { complete } = await import('/js/terminal.js');
		const { replyLines } = await import('/js/transcript.js');
		const { headers } = await import('/js/panels.js');
		const { encodeSnapshot, decodeSnapshot } = await import('/js/session.js');
		const { untilStopped } = await import('/js/engine.js');
		// An engine that stops with a call in flight: that call and the
		// next are rejected, and a call that answered is untouched.
		let stop;
		const stopped = new Promise((_, reject) => { stop = reject; });
		const api = untilStopped({ hang: () => new Promise(() => {}), answer: async () => 'fine', version: 'v1' }, stopped);
		const before = await api.answer();
		const hanging = api.hang().then(() => 'settled', (e) => e.message);
		stop(new Error('the engine stopped'));
		const stopCalls = [await hanging, await api.answer().then(() => 'answered', (e) => e.message), api.version, before].join('|');
		const snap = { scenario: 'first-session', seed: 7, inputs: [{ type: 'Subject: héllo ✉ <b>' }, { advance: '30m' }] };
		let bad = '';
		try { decodeSnapshot(encodeSnapshot({ hello: 1 })); } catch (e) { bad = e.message; }
		return {
			rc: complete('rc').text,
			m: complete('M').text,
			starts: complete('S').options.join('|'),
			he: complete('he').text + ' ' + complete('he').options.join('|'),
			none: String(complete('EHLO x')),
			bare: replyLines({ code: 250, text: 'mx.example.org\nPIPELINING\nSTARTTLS' }).join('|'),
			coded: replyLines({ code: 221, text: '221 Bye' }).join('|'),
			folded: JSON.stringify(headers('Received: from a\r\n\tby b\r\nSubject: x\r\n\r\nbody: no')),
			round: JSON.stringify(decodeSnapshot(encodeSnapshot(snap))) === JSON.stringify(snap) ? 'same' : 'changed',
			urlsafe: /^[A-Za-z0-9_-]+$/.test(encodeSnapshot(snap)) ? 'yes' : 'no',
			bad,
			stopCalls,
		};
	})()`)
	want := map[string]string{
		"rc":        "RCPT TO:<",
		"m":         "MAIL FROM:<",
		"starts":    "STARTTLS",
		"he":        "he HELO |HELP",
		"none":      "null",
		"bare":      "250-mx.example.org|250-PIPELINING|250 STARTTLS",
		"coded":     "221 Bye",
		"folded":    `[["received","from a by b"],["subject","x"]]`,
		"round":     "same",
		"urlsafe":   "yes",
		"bad":       "this link does not hold a lab",
		"stopCalls": "the engine stopped|the engine stopped|v1|fine",
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s = %q, want %q", k, got[k], w)
		}
	}
}
