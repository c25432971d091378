package main

// Accessibility checks of the whole page in headless Chromium: contrast
// computed from the styles the browser applies, what live regions say,
// where the keyboard focus goes and how it shows.

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// colorJS defines, for the expressions below, how the page's colours are
// read and compared: rgba parses a computed colour, over lays one on
// another, ratio is WCAG's contrast ratio, and behind is the colour behind
// an element: its background and its ancestors' laid over each other.
const colorJS = `
	const rgba = (c) => { const p = c.match(/[\d.]+/g).map(Number); return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 }; };
	const over = (top, under) => { const m = (k) => top[k] * top.a + under[k] * (1 - top.a); return { r: m('r'), g: m('g'), b: m('b'), a: 1 }; };
	const lum = (c) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; }; return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b); };
	const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
	const behind = (el) => {
		const layers = [];
		for (let e = el; e; e = e.parentElement) {
			const c = rgba(getComputedStyle(e).backgroundColor);
			if (c.a > 0) layers.push(c);
			if (c.a === 1) break;
		}
		return layers.reduceRight((bg, c) => over(c, bg), { r: 255, g: 255, b: 255, a: 1 });
	};`

// lowContrast is a JavaScript expression: the texts the page shows now
// whose contrast with what is behind them is under WCAG 2.2 AA's (4.5:1,
// 3:1 for large text), each as "ratio need: text (element)". The colour
// behind a text is the backgrounds of its element and its ancestors laid
// over each other, opacity included; a placeholder counts as the text of
// its field. Disabled controls are exempt (WCAG 1.4.3), and so is text
// hidden from the eye for screen readers.
const lowContrast = `(() => {` + colorJS + `
	const opacity = (el) => { let o = 1; for (let e = el; e; e = e.parentElement) o *= Number(getComputedStyle(e).opacity); return o; };
	const out = [];
	const check = (el, style, text) => {
		if (el.closest(':disabled, .smtplab-visually-hidden') || !el.checkVisibility({ visibilityProperty: true })) return;
		const r = el.getBoundingClientRect();
		if (r.width <= 1 || r.height <= 1) return;
		const bg = behind(el);
		const fg = rgba(style.color);
		const got = ratio(over({ ...fg, a: fg.a * opacity(el) }, bg), bg);
		const size = parseFloat(style.fontSize);
		const need = size >= 24 || (Number(style.fontWeight) >= 700 && size >= 18.66) ? 3 : 4.5;
		if (got < need) out.push(got.toFixed(2) + ' ' + need + ': ' + text.trim().slice(0, 40) + ' (' + el.tagName.toLowerCase() + '.' + el.className + ')');
	};
	const seen = new Set();
	const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
	for (let n; (n = walk.nextNode());) {
		const el = n.parentElement;
		if (!n.textContent.trim() || seen.has(el) || el.closest('script, style, option')) continue;
		seen.add(el);
		check(el, getComputedStyle(el), n.textContent);
	}
	for (const el of document.querySelectorAll('input[placeholder], textarea[placeholder]')) {
		if (el.value === '' && el.placeholder) check(el, getComputedStyle(el, '::placeholder'), el.placeholder);
	}
	return out;
})()`

// TestBrowserTextContrast checks every text the lab shows, in light and
// dark, in each of its views: a greylisting world (a message waiting in
// the queue, a retry in the timeline), raw mode on, the mail client and
// every reply's explanation open. Light's orange for a retry had been
// 4.40:1 on its badge, and the browser's grey for placeholders 4.30:1
// (light) and 3.93:1 (dark).
func TestBrowserTextContrast(t *testing.T) {
	url := serve(t, realSite(t))
	link := permalink(t, url, map[string]any{"scenario": "greylisting", "seed": 1, "inputs": []any{
		map[string]any{"submit": map[string]any{"from": "alice@example.com", "to": []string{"bob@example.org"}, "subject": "Hello", "body": "Hi."}},
		map[string]any{"advance": "1m"},
		map[string]any{"type": "EHLO laptop.example.com"}}})
	for _, scheme := range []string{"light", "dark"} {
		t.Run(scheme, func(t *testing.T) {
			ctx := testTab(t, 60*time.Second)
			do(t, ctx, "emulating "+scheme, colorScheme(scheme))
			openLab(t, ctx, link)
			waitFor(t, ctx, "the world replayed", `[...document.querySelectorAll('#lab .smtplab-transcript .smtplab-client')].some((l) => l.textContent.includes('EHLO laptop'))`)
			do(t, ctx, "raw mode on", chromedp.Focus(chromedp.ID("terminal-input")), chromedp.KeyEvent("r", chromedp.KeyModifiers(chromedp.ModifierAlt)))
			for _, tab := range []string{"network", "timeline", "tls", "mailbox"} {
				do(t, ctx, tab+" tab", chromedp.Click(chromedp.CSS(`#lab [role=tab][id^="smtplab-tab-`+tab+`"]`)))
				eval[bool](t, ctx, `(() => { document.querySelectorAll('#lab details').forEach((d) => { d.open = true; }); return true; })()`)
				if tab == "timeline" {
					waitFor(t, ctx, "the retry in the timeline", `!!document.querySelector('#lab .smtplab-k-queue-retry')`)
				}
				for _, low := range eval[[]string](t, ctx, lowContrast) {
					t.Errorf("%s, %s tab: contrast %s", scheme, tab, low)
				}
			}
		})
	}
}

// listen has the page record what each live region the selector finds
// says from now on: its text after each change, the way a screen reader
// hears it. heard returns what was recorded.
func listen(tb testing.TB, ctx context.Context, selector string) {
	tb.Helper()
	eval[bool](tb, ctx, `(() => {
		const el = document.querySelector(`+jsString(selector)+`);
		window.heard = [];
		new MutationObserver(() => window.heard.push(el.textContent)).observe(el, { childList: true, characterData: true, subtree: true });
		return true;
	})()`)
}

func heard(tb testing.TB, ctx context.Context) []string {
	tb.Helper()
	return eval[[]string](tb, ctx, `window.heard`)
}

// TestBrowserClockSpeaksWhenTimeMoves: the timeline's clock is a live
// region, so it must change only when the time does. Redrawn with the same
// words after every line typed, it had a screen reader repeat "Virtual
// time: 0:00:00 since the start" after each reply.
func TestBrowserClockSpeaksWhenTimeMoves(t *testing.T) {
	url := serve(t, realSite(t))
	ctx := testTab(t, 60*time.Second)
	openLab(t, ctx, url)
	do(t, ctx, "timeline tab", chromedp.Click(chromedp.CSS(`#lab [role=tab][id^="smtplab-tab-timeline"]`)))
	const clock = "#lab .smtplab-panel-timeline .smtplab-clock"
	waitFor(t, ctx, "the clock", `document.querySelector(`+jsString(clock)+`).textContent.includes('0:00:00')`)
	listen(t, ctx, clock)
	typeLines(t, ctx, "EHLO me.example.com", "NOOP")
	if got := heard(t, ctx); len(got) != 0 {
		t.Errorf("the clock spoke while time stood still: %q", got)
	}
	pressEnter(t, ctx, `#lab .smtplab-panel-timeline button[data-seconds="60"]`)
	waitFor(t, ctx, "a minute later", `document.querySelector(`+jsString(clock)+`).textContent.includes('0:01:00')`)
	if got := heard(t, ctx); len(got) != 1 {
		t.Errorf("the clock said %q when a minute passed, want it once", got)
	}
}

// TestBrowserLiveRegionSaysWhoReplied: the transcript's live region reads
// out the reply to a line the learner typed, with its meaning, and after
// an action that brings other hosts' sessions at once (the mail client's,
// a relay's retry) it counts their replies and says the last one and who
// sent it. It had said "Server replied 221 2.0.0 Bye. The server says
// goodbye ..." after a message sent with the mail client, as if the
// terminal's server had hung up.
func TestBrowserLiveRegionSaysWhoReplied(t *testing.T) {
	url := serve(t, realSite(t))
	ctx := testTab(t, 60*time.Second)
	openLab(t, ctx, url)
	const live = "#lab .smtplab-lab-main > [aria-live]"
	said := func() string { return eval[string](t, ctx, `document.querySelector(`+jsString(live)+`).textContent`) }

	typeLines(t, ctx, "EHLO me.example.com")
	if got := said(); !strings.HasPrefix(got, "Server replied 250-mx.example.org ") {
		t.Errorf("after EHLO the live region says %q", got)
	}
	do(t, ctx, "mailbox tab", chromedp.Click(chromedp.CSS(`#lab [role=tab][id^="smtplab-tab-mailbox"]`)),
		chromedp.Click(chromedp.CSS(`#lab .smtplab-compose-box summary`)),
		chromedp.SendKeys(chromedp.CSS(`#lab .smtplab-compose input[name=from]`), "alice@example.com"),
		chromedp.SendKeys(chromedp.CSS(`#lab .smtplab-compose input[name=to]`), "bob@example.org"))
	listen(t, ctx, live)
	pressEnter(t, ctx, `#lab .smtplab-compose button[type=submit]`)
	waitFor(t, ctx, "the mail client's session", `window.heard.length > 0`)
	got := heard(t, ctx)
	if len(got) != 1 || !regexp.MustCompile(`^\d+ replies in the transcript; the last from \S+ to \S+: 221 `).MatchString(got[0]) {
		t.Errorf("after the mail client's session the live region said %q", got)
	}
	// The terminal's own connection is still the one it speaks of first.
	typeLines(t, ctx, "QUIT")
	if got := said(); !strings.HasPrefix(got, "Server replied 221 ") {
		t.Errorf("after QUIT the live region says %q", got)
	}
}

// TestBrowserTabLeavesTheTerminal: Tab on a verb that could be several
// lists them in the hint, and the next Tab moves the focus on, as Tab does
// everywhere else. It had kept the focus in the terminal for as long as
// the line held "HE", one Tab after another.
func TestBrowserTabLeavesTheTerminal(t *testing.T) {
	url := serve(t, realSite(t))
	ctx := testTab(t, 60*time.Second)
	openLab(t, ctx, url)
	do(t, ctx, "HE and Tab", chromedp.SendKeys(chromedp.ID("terminal-input"), "HE\t"))
	if got := eval[string](t, ctx, `document.activeElement.id + ' ' + document.getElementById('terminal-input').value`); got != "terminal-input HE" {
		t.Errorf("after the first Tab: %q", got)
	}
	if got := eval[string](t, ctx, `document.querySelector('#lab .smtplab-terminal-hint').textContent`); got != "Could be: HELO, HELP" {
		t.Errorf("the hint says %q", got)
	}
	do(t, ctx, "Tab again", chromedp.KeyEvent(kb.Tab))
	waitFor(t, ctx, "the focus on the raw bytes switch", activeIs("#lab .smtplab-raw-toggle"))
	// "HE" typed again is a new line: its first Tab lists the verbs again.
	eval[bool](t, ctx, `(() => { document.getElementById('terminal-input').value = ''; return true; })()`)
	do(t, ctx, "HE again", chromedp.Focus(chromedp.ID("terminal-input")), chromedp.SendKeys(chromedp.ID("terminal-input"), "HE\t"))
	if got := eval[string](t, ctx, `document.activeElement.id + ' ' + document.getElementById('terminal-input').value`); got != "terminal-input HE" {
		t.Errorf("the first Tab after HE typed again: %q", got)
	}
	// Where Tab completes, it still does.
	do(t, ctx, "back and EHL", chromedp.Focus(chromedp.ID("terminal-input")), chromedp.SendKeys(chromedp.ID("terminal-input"), kb.Backspace+kb.Backspace+"EHL\t"))
	if got := eval[string](t, ctx, `document.activeElement.id + ' ' + document.getElementById('terminal-input').value`); got != "terminal-input EHLO " {
		t.Errorf("Tab after EHL: %q", got)
	}
}

// TestBrowserTerminalHintIsSpoken: the hint under the terminal is read out
// when it changes (the verbs Tab could complete to, message mode after
// 354, a closed connection), and only then. As a description of the line
// only, a screen reader user heard none of it while typing.
func TestBrowserTerminalHintIsSpoken(t *testing.T) {
	url := serve(t, realSite(t))
	ctx := testTab(t, 60*time.Second)
	openLab(t, ctx, url)
	const hint = "#lab .smtplab-terminal-hint"
	if got := eval[string](t, ctx, `document.querySelector(`+jsString(hint)+`).closest('[aria-live]')?.getAttribute('aria-live') || 'none'`); got != "polite" {
		t.Fatalf("the hint's live region: %s", got)
	}
	listen(t, ctx, hint)
	typeLines(t, ctx, "EHLO me.example.com", "MAIL FROM:<alice@example.com>", "RCPT TO:<bob@example.org>")
	if got := heard(t, ctx); len(got) != 0 {
		t.Errorf("the hint spoke while it stayed the same: %q", got)
	}
	do(t, ctx, "HE and Tab", chromedp.SendKeys(chromedp.ID("terminal-input"), "HE\t"))
	eval[string](t, ctx, `document.getElementById('terminal-input').value = ''`)
	typeLines(t, ctx, "DATA", ".", "QUIT")
	want := []string{
		"Could be: HELO, HELP",
		`Message mode: type or paste the message; a line with only "." ends it.`,
		"Enter sends the line. ↑/↓: history. Tab: complete a command.",
		"The connection is closed: the next line you type opens a new one.",
	}
	if got := heard(t, ctx); !slices.Equal(got, want) {
		t.Errorf("the hint said %q, want %q", got, want)
	}
}

// hiddenFocus is a JavaScript expression: the controls of the page whose
// keyboard focus ring does not show whole, each with why. A ring must
// stand out from what is behind it by 3:1 (WCAG 1.4.11), and a box that
// clips its overflow (a scrolling transcript, the lab's column) must not
// cut off its sides. Call it after a key press: the ring is the
// :focus-visible one.
const hiddenFocus = `(() => {` + colorJS + `
	const out = [];
	const controls = document.querySelectorAll('a[href], button, input, select, summary, textarea, [tabindex]');
	for (const el of controls) {
		if (el.disabled || el.tabIndex < 0 || el.matches('.smtplab-visually-hidden') || !el.checkVisibility()) continue;
		el.focus();
		const name = el.tagName.toLowerCase() + '.' + el.className + ' "' + (el.getAttribute('aria-label') || el.textContent).trim().slice(0, 30) + '"';
		const s = getComputedStyle(el);
		if (!el.matches(':focus-visible') || s.outlineStyle === 'none') { out.push(name + ': no ring'); continue; }
		const got = ratio(rgba(s.outlineColor), behind(el.parentElement));
		if (got < 3) out.push(name + ': ring contrast ' + got.toFixed(2));
		const reach = Math.max(0, parseFloat(s.outlineOffset) + parseFloat(s.outlineWidth)); // how far the ring reaches out of the box
		const r = el.getBoundingClientRect();
		for (let a = el.parentElement; a; a = a.parentElement) {
			if (getComputedStyle(a).overflowX === 'visible' || a === document.documentElement || a === document.body) continue;
			const box = a.getBoundingClientRect();
			const left = box.left + a.clientLeft, right = left + a.clientWidth;
			if (r.left - reach < left - 0.5 || r.right + reach > right + 0.5) {
				out.push(name + ': ring cut off by ' + a.tagName.toLowerCase() + '.' + a.className);
				break;
			}
		}
	}
	return out;
})()`

// TestBrowserFocusRingsShowWhole tabs into the page and checks every
// control's focus ring, in light and dark, with a reply's explanation and
// the mail client open.
func TestBrowserFocusRingsShowWhole(t *testing.T) {
	url := serve(t, realSite(t))
	for _, scheme := range []string{"light", "dark"} {
		t.Run(scheme, func(t *testing.T) {
			ctx := testTab(t, 60*time.Second)
			do(t, ctx, "emulating "+scheme, colorScheme(scheme))
			openLab(t, ctx, url)
			typeLines(t, ctx, "EHLO me.example.com", "NOOP")
			pressEnter(t, ctx, "#lab .smtplab-transcript .smtplab-reply:last-child summary")
			// The first tab, at the lab's left edge, and then the last
			// tab's panel with the mail client open.
			for _, hidden := range eval[[]string](t, ctx, hiddenFocus) {
				t.Errorf("%s: %s", scheme, hidden)
			}
			do(t, ctx, "mailbox tab", chromedp.Focus(chromedp.CSS(`#lab [role=tab][id^="smtplab-tab-network"]`)), chromedp.KeyEvent(kb.End))
			pressEnter(t, ctx, "#lab .smtplab-compose-box summary")
			for _, hidden := range eval[[]string](t, ctx, hiddenFocus) {
				t.Errorf("%s, mailbox tab: %s", scheme, hidden)
			}
		})
	}
}

// TestBrowserHeadingsOutlineThePage: a screen reader user moves through a
// page by its headings. The page's outline skips no level, and a heading
// leads to the lab: the lab had none, and its views' headings (Hosts,
// Queue...) were h4s under the lesson's last h2.
func TestBrowserHeadingsOutlineThePage(t *testing.T) {
	url := serve(t, realSite(t))
	ctx := testTab(t, 60*time.Second)
	openLab(t, ctx, url)
	type heading struct {
		Level int
		Text  string
		InLab bool
	}
	outline := eval[[]heading](t, ctx, `[...document.querySelectorAll('h1, h2, h3, h4, h5, h6')]
		.filter((h) => !h.closest('[hidden]'))
		.map((h) => ({ level: Number(h.tagName[1]), text: h.textContent.trim(), inLab: !!h.closest('#lab') }))`)
	if len(outline) == 0 || outline[0].Level != 1 {
		t.Fatalf("the page's outline does not start with an h1: %+v", outline)
	}
	lab := false
	for i, h := range outline[1:] {
		if h.Level > outline[i].Level+1 {
			t.Errorf("h%d %q follows h%d %q", h.Level, h.Text, outline[i].Level, outline[i].Text)
		}
		lab = lab || h.InLab
	}
	if !lab {
		t.Error("no heading in the lab")
	}
	if got := eval[string](t, ctx, `(() => { const h = document.querySelector('#lab h2'); return h ? h.tagName + ' ' + h.textContent + ' ' + document.getElementById('lab').getAttribute('aria-labelledby') + '=' + h.id : 'none'; })()`); got != "H2 Lab lab-title=lab-title" {
		t.Errorf("the lab's heading: %s", got)
	}
}

// TestBrowserUndoAndResetSaySo: Undo and Reset rebuild the transcript
// without a reply to read out, and Undo keeps the focus while lines remain:
// the page's status line, a live region, says what they did. A screen
// reader user pressing Undo had heard nothing at all.
func TestBrowserUndoAndResetSaySo(t *testing.T) {
	url := serve(t, realSite(t))
	ctx := testTab(t, 60*time.Second)
	openLab(t, ctx, url)
	const status = `document.getElementById('engine-status')`
	if got := eval[string](t, ctx, status+`.getAttribute('role')`); got != "status" {
		t.Fatalf("the status line's role is %q", got)
	}
	typeLines(t, ctx, "EHLO me.example.com", "NOOP")
	pressEnter(t, ctx, "#btn-undo")
	waitFor(t, ctx, "the NOOP undone", `!`+hasClientLine("NOOP"))
	waitFor(t, ctx, "the status saying so", status+`.textContent === 'Undone: the lab replayed your inputs but the last (NOOP).'`)
	if !eval[bool](t, ctx, activeIs("#btn-undo")) {
		t.Error("the focus left Undo while there is more to undo")
	}
	pressEnter(t, ctx, "#btn-reset")
	waitFor(t, ctx, "the question", `document.getElementById('confirm-dialog').open`)
	pressEnter(t, ctx, "#confirm-ok")
	waitFor(t, ctx, "the status saying so", status+`.textContent === 'Started first-session again.'`)
}

// TestBrowserSkipLinkSendsNothing: Enter on "Skip to the terminal" puts
// the focus in the terminal and sends nothing. The link moves the focus on
// the keydown of that Enter, and the keystroke's keypress, landing in the
// line, had submitted it: an empty line to the server, whose 500 reply
// was the first thing a keyboard user saw.
func TestBrowserSkipLinkSendsNothing(t *testing.T) {
	url := serve(t, realSite(t))
	ctx := testTab(t, 60*time.Second)
	openLab(t, ctx, url)
	do(t, ctx, "Tab to the skip link", chromedp.KeyEvent(kb.Tab))
	waitFor(t, ctx, "the focus on the skip link", activeIs(".smtplab-skip"))
	lines := eval[int](t, ctx, `document.querySelectorAll('#lab .smtplab-transcript li').length`)
	do(t, ctx, "Enter on it", chromedp.KeyEvent(kb.Enter))
	waitFor(t, ctx, "the focus in the terminal", activeIs("#terminal-input"))
	time.Sleep(300 * time.Millisecond) // what a line sent would take to show
	if got := eval[int](t, ctx, `document.querySelectorAll('#lab .smtplab-transcript li').length`); got != lines {
		t.Errorf("the transcript went from %d lines to %d: %s", lines, got, transcript(t, ctx))
	}
	if !eval[bool](t, ctx, `document.getElementById('btn-undo').disabled`) {
		t.Error("there is an input to undo")
	}
	// Enter typed in the line still sends it, an empty one too.
	do(t, ctx, "NOOP and Enter", chromedp.KeyEvent("NOOP"), chromedp.KeyEvent(kb.Enter))
	waitFor(t, ctx, "the NOOP answered", hasClientLine("NOOP")+` && [...document.querySelectorAll('#lab .smtplab-transcript .smtplab-reply')].some(r => r.dataset.code === '250')`)
	before := eval[int](t, ctx, `document.querySelectorAll('#lab .smtplab-transcript li').length`)
	do(t, ctx, "Enter on an empty line", chromedp.KeyEvent(kb.Enter))
	waitFor(t, ctx, "the empty line answered", transcriptGrew(before+1))
}
