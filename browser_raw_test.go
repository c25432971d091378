package main

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// smugglingPayload ends a message with a bare LF and starts a second one
// inside it (the 2023 SMTP smuggling attack), written with raw mode's
// escapes.
const smugglingPayload = `Subject: one\r\n\r\nhi\n.\nMAIL FROM:<evil@example.com>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\nSubject: two\r\n\r\nsmuggled\r\n.\r\n`

// permalink returns the page's link to a world, as the Permalink button
// writes it.
func permalink(tb testing.TB, base string, snap any) string {
	tb.Helper()
	b, err := json.Marshal(snap)
	if err != nil {
		tb.Fatal(err)
	}
	return base + "/#lab=" + base64.RawURLEncoding.EncodeToString(b)
}

func TestBrowserRawSmuggling(t *testing.T) {
	url := serve(t, realSite(t))
	ctx := testTab(t, 90*time.Second)
	openLab(t, ctx, permalink(t, url, map[string]any{"scenario": "smuggling-attempt", "seed": 1, "inputs": []any{}}))
	typeLines(t, ctx, "EHLO laptop.example.com", "MAIL FROM:<alice@example.com>", "RCPT TO:<bob@example.org>", "DATA")

	// Alt+R turns raw mode on, and its explanation shows beside it.
	if !eval[bool](t, ctx, `document.querySelector('#lab .smtplab-raw-help').hidden`) {
		t.Fatal("raw mode's explanation shown before raw mode is on")
	}
	do(t, ctx, "Alt+R", chromedp.Focus(chromedp.ID("terminal-input")), chromedp.KeyEvent("r", chromedp.KeyModifiers(chromedp.ModifierAlt)))
	waitFor(t, ctx, "raw mode on", `document.querySelector('#lab .smtplab-raw-toggle').checked && !document.querySelector('#lab .smtplab-raw-help').hidden`)
	if v := eval[string](t, ctx, `document.getElementById('terminal-input').value`); v != "" {
		t.Fatalf("Alt+R typed %q", v)
	}
	help := eval[string](t, ctx, `document.querySelector('#lab .smtplab-raw-help').innerText`)
	for _, want := range []string{`\r\n`, "bare LF", "smuggling", "RFC 5321"} {
		if !strings.Contains(help, want) {
			t.Errorf("raw mode's explanation lacks %q: %q", want, help)
		}
	}

	// A paste in raw mode goes into the line as escapes, to check before sending.
	pasted := eval[string](t, ctx, `(() => {
		const input = document.getElementById('terminal-input');
		const dt = new DataTransfer();
		dt.setData('text/plain', 'Subject: x\r\n\r\nbody\n');
		input.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
		const v = input.value;
		input.value = '';
		return v;
	})()`)
	if pasted != `Subject: x\r\n\r\nbody\r\n` {
		t.Errorf("a paste in raw mode gave %q", pasted)
	}

	do(t, ctx, "sending the smuggling payload", chromedp.SendKeys(chromedp.ID("terminal-input"), smugglingPayload+"\r"))
	waitFor(t, ctx, "the 550 reply", replyCount("550")+` === 1`)
	if last := eval[string](t, ctx, `[...document.querySelectorAll('#lab .smtplab-transcript .smtplab-reply')].at(-1).dataset.code`); last != "550" {
		t.Errorf("the last reply is %s, not the 550: the smuggled commands were answered", last)
	}
	reply := eval[string](t, ctx, `document.querySelector('#lab .smtplab-transcript .smtplab-reply[data-code="550"]').dataset.reason + ' ' + document.querySelector('#lab .smtplab-transcript .smtplab-reply[data-code="550"] summary').textContent`)
	if !strings.Contains(reply, "bare-lf") || !strings.Contains(reply, "550 5.5.2") {
		t.Errorf("the refusal: %q", reply)
	}
	do(t, ctx, "opening the 550", chromedp.Click(chromedp.CSS(`#lab .smtplab-transcript .smtplab-reply[data-code="550"] summary`)))
	explained := eval[string](t, ctx, `document.querySelector('#lab .smtplab-transcript .smtplab-reply[data-code="550"] .smtplab-explain').innerText`)
	for _, want := range []string{"LF", "smuggling", "RFC 5321 §2.3.8"} {
		if !strings.Contains(explained, want) {
			t.Errorf("the 550's explanation lacks %q: %q", want, explained)
		}
	}
	// The line with the bare LFs shows them, highlighted.
	bare := eval[string](t, ctx, `[...document.querySelectorAll('#lab .smtplab-transcript .smtplab-client.smtplab-bare')].map(l => l.textContent).join('|')`)
	if !strings.Contains(bare, `hi\n.\nMAIL FROM:<evil@example.com>`) {
		t.Errorf("the bare-LF line shows as %q", bare)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('#lab .smtplab-transcript .smtplab-client.smtplab-bare .smtplab-esc.smtplab-bare').length`); n != 2 {
		t.Errorf("%d bare LFs highlighted, want 2", n)
	}
	do(t, ctx, "mailbox tab", chromedp.Click(chromedp.CSS(`[role=tab][id^="smtplab-tab-mailbox"]`)))
	if got := eval[string](t, ctx, `document.querySelector('.smtplab-panel-mailbox .smtplab-mailboxes').innerText`); !strings.Contains(got, "No message delivered") {
		t.Errorf("the mailbox after the smuggling attempt: %q", got)
	}

	// A permalink carries the raw input: a fresh tab replays it.
	do(t, ctx, "permalink", chromedp.Click(chromedp.ID("btn-permalink")))
	waitFor(t, ctx, "the permalink in the address bar", `location.hash.includes('lab=')`)
	link := eval[string](t, ctx, `location.href`)
	fresh := testTab(t, 60*time.Second)
	openLab(t, fresh, link)
	waitFor(t, fresh, "the 550 replayed", replyCount("550")+` === 1`)

	// Undo takes the raw bytes back: the server waits for the message again.
	do(t, ctx, "undo", chromedp.Click(chromedp.ID("btn-undo")))
	waitFor(t, ctx, "the raw input undone", replyCount("550")+` === 0 && `+replyCount("354")+` === 1`)
	// Undo keeps raw mode on, for the next try of the same experiment.
	if !eval[bool](t, ctx, `document.querySelector('#lab .smtplab-raw-toggle').checked`) {
		t.Error("undo turned raw mode off")
	}

	// Another scenario (the next lesson's lab) starts with lines again: in
	// raw mode its EHLO would go without CR LF, and the server would wait.
	eval[bool](t, ctx, `(() => { const p = document.getElementById('scenario-picker'); p.value = 'first-session'; p.dispatchEvent(new Event('change')); return true; })()`)
	waitFor(t, ctx, "raw mode off in another scenario", `document.querySelector('#lab .smtplab-terminal-hint').textContent.startsWith('Enter sends the line') && !document.querySelector('#lab .smtplab-raw-toggle').checked && document.querySelector('#lab .smtplab-raw-help').hidden`)
}

// TestBrowserRawHelpers checks the pure helpers of raw mode, solution
// steps and the timeline's duration field where they run.
func TestBrowserRawHelpers(t *testing.T) {
	url := serve(t, realSite(t))
	ctx := testTab(t, 30*time.Second)
	do(t, ctx, "loading the page", chromedp.Navigate(url))
	got := eval[map[string]string](t, ctx, `(async () => {
		const { escapeBreaks } = await import('/js/terminal.js');
		const { crlfLines, isCleanLines, visible } = await import('/js/transcript.js');
		const { describeStep } = await import('/js/lessons.js');
		const { parseDuration } = await import('/js/panels.js');
		const text = (nodes) => [nodes].flat(3).map((n) => n instanceof Node ? n.textContent : String(n ?? '')).join('');
		return {
			pasted: escapeBreaks('a\r\nb\nc\rd\te\0'),
			lines: JSON.stringify(crlfLines('one\r\nhi\n.\ntwo\r\nhalf')),
			clean: [isCleanLines('EHLO x\r\nMAIL FROM:<>\r\n'), isCleanLines('NOOP\n'), isCleanLines('NO'), isCleanLines('A\0\r\n')].join(','),
			visible: text(visible('a\r\nb\nc\0')),
			bareCount: String(visible('a\r\nb\nc\0').filter((n) => n instanceof Node && n.classList.contains('smtplab-bare')).length),
			hidden: text(visible('EHLO \x1b[31mx\u202eexe.txt\t\u00e9\u200b')),
			hiddenCount: String(visible('EHLO \x1b[31mx\u202eexe.txt\t\u00e9\u200b').filter((n) => n instanceof Node && n.matches('.smtplab-esc:not(.smtplab-bare)')).length),
			raw: text(describeStep({ raw: 'hi\\n.\\n' })),
			submit: text(describeStep({ submit: { from: 'alice@example.com', to: ['bob@example.org'], subject: 'Hi', body: 'text' } })),
			advance: text(describeStep({ advance: '30m' })),
			type: text(describeStep({ type: 'EHLO x' })),
			durations: ['10m', '1h30m', '90s', '2d', ' 4 h ', 'soon', '', '10', '-5m'].map(parseDuration).join(','),
		};
	})()`)
	want := map[string]string{
		"pasted":    `a\r\nb\r\nc\r\nd\te\0`,
		"lines":     `[{"text":"one","bare":false,"open":false},{"text":"hi\n.\ntwo","bare":true,"open":false},{"text":"half","bare":false,"open":true}]`,
		"clean":     "true,false,false,false",
		"visible":   `a\r\nb\nc\0`,
		"bareCount": "2",
		// ESC, a right-to-left override and a zero-width space show as
		// escapes; a tab and a letter beyond ASCII stay as they are.
		"hidden":      "EHLO \\x1b[31mx\\u202eexe.txt\té\\u200b",
		"hiddenCount": "3",
		"raw":         `Raw bytes (tick “Raw bytes” next to the line you type in): hi\n.\n`,
		"submit":      "Send with the mail client (Mailbox tab): from alice@example.com to bob@example.org, subject “Hi”text",
		"advance":     "Let 30m pass (Timeline & queue tab)",
		"type":        "EHLO x",
		"durations":   "600,5400,90,172800,14400,0,0,0,0",
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s = %q, want %q", k, got[k], w)
		}
	}
}

// TestBrowserRawBytesLineLooksLikeTheTerminal: bytes sent where the server
// reads commands, which are not clean CRLF lines, show in the transcript as
// a line of the terminal like any other, not in the mailbox's box for a
// message's raw source (a pale box with pale text in the dark terminal).
func TestBrowserRawBytesLineLooksLikeTheTerminal(t *testing.T) {
	url := serve(t, realSite(t))
	ctx := testTab(t, 60*time.Second)
	openLab(t, ctx, permalink(t, url, map[string]any{"scenario": "first-session", "seed": 1, "inputs": []any{
		map[string]any{"raw": `EHLO x\nNOOP\r\n`}}}))
	waitFor(t, ctx, "the bytes in the transcript", `[...document.querySelectorAll('#lab [role=region] li')].some(l => l.textContent.includes('bytes: EHLO x'))`)
	got := eval[[]string](t, ctx, `(() => {
		const lines = [...document.querySelectorAll('#lab [role=region] li')];
		const bytes = lines.find(l => l.textContent.includes('bytes: EHLO x'));
		const typed = lines.find(l => l !== bytes && l.textContent.includes('EHLO x'));
		return [bytes, typed].map(l => getComputedStyle(l).backgroundColor + ' ' + getComputedStyle(l).color);
	})()`)
	if got[0] != got[1] {
		t.Errorf("the line of raw bytes looks like %q, the line the server read like %q", got[0], got[1])
	}
}

// TestBrowserBDATChunksShown: the octets of a BDAT chunk show under their
// BDAT, as a message's lines show under DATA's 354, whether they came in
// the BDAT's write (lesson 11's two chunks), in a write of their own, or
// as clean lines, which the transcript had shown nowhere: the learner saw
// "BDAT 8 LAST" and its 250, but not "Carol.".
func TestBrowserBDATChunksShown(t *testing.T) {
	url := serve(t, realSite(t))
	ctx := testTab(t, 60*time.Second)
	openLab(t, ctx, permalink(t, url, map[string]any{"scenario": "mx-routing", "seed": 1, "inputs": []any{
		map[string]any{"type": "EHLO laptop.example.com"},
		map[string]any{"raw": `MAIL FROM:<alice@example.com>\r\nRCPT TO:<carol@example.org>\r\n`},
		map[string]any{"raw": `BDAT 30\r\nSubject: Two pieces\r\n\r\nHello, `},
		map[string]any{"raw": `BDAT 8 LAST\r\nCarol.\r\n`},
		map[string]any{"raw": `MAIL FROM:<alice@example.com>\r\nRCPT TO:<carol@example.org>\r\nBDAT 8 LAST\r\n`},
		map[string]any{"raw": `Hi, é\r\n`}, // 8 octets: é is two in UTF-8
		// A word other than LAST gets 501, but the count could be read:
		// the server skips the chunk, which shows under its BDAT.
		map[string]any{"raw": `MAIL FROM:<alice@example.com>\r\nRCPT TO:<carol@example.org>\r\nBDAT 3 FIRST\r\nabc`},
		map[string]any{"type": "QUIT"},
	}}))
	waitFor(t, ctx, "the goodbye", replyCount("221")+` >= 1`)
	got := eval[string](t, ctx, `(() => {
		const lines = [...document.querySelectorAll('#lab .smtplab-transcript .smtplab-line')];
		const first = lines.findIndex(l => l.textContent.includes('BDAT 30'));
		return lines.slice(first).filter(l => l.classList.contains('smtplab-client'))
			.map(l => l.querySelector('.smtplab-text').textContent + (l.classList.contains('smtplab-open') ? '[open]' : '')).join('|');
	})()`)
	// The relay's own sessions come in between: each chunk is checked
	// under its BDAT.
	for _, want := range []string{"|BDAT 30|Subject: Two pieces||Hello, [open]|BDAT 8 LAST|Carol.|", "|BDAT 8 LAST|Hi, é|", "|BDAT 3 FIRST|abc[open]|"} {
		if !strings.Contains("|"+got+"|", want) {
			t.Errorf("the client's lines lack %q:\n%s", want, got)
		}
	}
	title := eval[string](t, ctx, `document.querySelector('#lab .smtplab-transcript .smtplab-open').title`)
	if !strings.Contains(title, "chunk") {
		t.Errorf("the line a chunk ends inside says %q", title)
	}
}
