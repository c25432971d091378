package main

// Browser tests of the sandbox controls and the page's own state: the
// scenario picker, permalinks, saved progress, focus and the phone layout.

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// labInLink decodes the lab= part of a page address (base64url JSON).
func labInLink(tb testing.TB, link string) string {
	tb.Helper()
	i := strings.Index(link, "lab=")
	if i < 0 {
		tb.Fatalf("no lab= in %s", link)
	}
	enc := link[i+len("lab="):]
	if j := strings.IndexByte(enc, '&'); j >= 0 {
		enc = enc[:j]
	}
	b, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil {
		tb.Fatalf("lab= in %s: %v", link, err)
	}
	return string(b)
}

// TestBrowserPermalinkOfFreshWorld: a permalink to a world nothing was
// typed into says "inputs":[] and opens that world's scenario, and so
// does an older link that says null.
func TestBrowserPermalinkOfFreshWorld(t *testing.T) {
	url := serve(t, realSite(t))
	ctx := testTab(t, 90*time.Second)
	openLab(t, ctx, url+"/#lesson=05-queues-and-retries")
	waitFor(t, ctx, "the greylisting world", `document.getElementById('scenario-picker').value === 'greylisting'`)
	do(t, ctx, "permalink", chromedp.Click(chromedp.ID("btn-permalink")))
	waitFor(t, ctx, "the permalink in the address bar", `location.hash.includes('lab=')`)
	link := eval[string](t, ctx, `location.href`)
	if got, want := labInLink(t, link), `{"scenario":"greylisting","seed":1,"inputs":[]}`; got != want {
		t.Errorf("the permalink holds %s, want %s", got, want)
	}
	for _, link := range []string{link,
		permalink(t, url, map[string]any{"scenario": "greylisting", "seed": 1, "inputs": nil}),
		permalink(t, url, map[string]any{"scenario": "greylisting", "seed": 1})} {
		fresh := testTab(t, 60*time.Second)
		openLab(t, fresh, strings.Replace(link, "lesson=05-queues-and-retries&", "", 1))
		if got := eval[string](t, fresh, `document.getElementById('scenario-picker').value`); got != "greylisting" {
			t.Errorf("%s opened %q, want greylisting (status: %s)", labInLink(t, link), got, pageStatus(fresh))
		}
	}
}

// savedInputs returns how many inputs the world saved for a scenario has
// (-1 for none saved, -2 for a save without an input list).
func savedInputs(scenario string) string {
	return `(() => {
		const lab = (JSON.parse(localStorage.getItem('smtplab.progress.v1') || '{}').labs || {})['` + scenario + `'];
		return !lab ? -1 : Array.isArray(lab.inputs) ? lab.inputs.length : -2;
	})()`
}

// hasClientLine says whether the transcript shows a line the client sent
// that holds text.
func hasClientLine(text string) string {
	return `[...document.querySelectorAll('#lab .smtplab-transcript .smtplab-client')].some(l => l.textContent.includes(` + jsString(text) + `))`
}

// TestBrowserScenarioPickerKeepsWork: choosing another scenario and
// coming back (with the arrow keys on the closed picker, which choose as
// they move) finds what was typed, in the page and in localStorage, and
// the status line says which world opened.
func TestBrowserScenarioPickerKeepsWork(t *testing.T) {
	url := serve(t, realSite(t))
	ctx := testTab(t, 90*time.Second)
	openLab(t, ctx, url)
	typeLines(t, ctx, "EHLO me.example.com", "MAIL FROM:<alice@example.com>")
	waitFor(t, ctx, "both lines saved", savedInputs("first-session")+` === 2`)
	first := eval[string](t, ctx, `document.getElementById('scenario-picker').value`)
	if first != "first-session" {
		t.Fatalf("lesson 1's lab is %q", first)
	}
	do(t, ctx, "↓ on the picker", chromedp.Focus(chromedp.ID("scenario-picker")), chromedp.KeyEvent(kb.ArrowDown))
	waitFor(t, ctx, "another scenario", `document.getElementById('scenario-picker').value !== 'first-session' && !`+hasClientLine("MAIL FROM"))
	other := eval[string](t, ctx, `document.getElementById('scenario-picker').value`)
	// The status line says what opened (a screen reader hears it), rather
	// than go on with what happened in the world before.
	title := eval[string](t, ctx, `document.getElementById('scenario-picker').selectedOptions[0].textContent`)
	waitFor(t, ctx, "the status naming the new world", `document.getElementById('engine-status').textContent === `+jsString("Opened the scenario “"+title+"”."))
	typeLines(t, ctx, "NOOP")
	waitFor(t, ctx, "NOOP saved", savedInputs(other)+` === 1`)
	do(t, ctx, "↑ on the picker", chromedp.Focus(chromedp.ID("scenario-picker")), chromedp.KeyEvent(kb.ArrowUp))
	waitFor(t, ctx, "the first scenario's work back", `document.getElementById('scenario-picker').value === 'first-session' && `+hasClientLine("MAIL FROM:<alice@example.com>"))
	waitFor(t, ctx, "the status saying the work is back", `document.getElementById('engine-status').textContent === 'Opened the scenario “Your first SMTP session”, as you left it.'`)
	if n := eval[int](t, ctx, savedInputs("first-session")); n != 2 {
		t.Errorf("first-session's saved world has %d inputs after going away and back, want 2", n)
	}
	if eval[bool](t, ctx, hasClientLine("NOOP")) {
		t.Error("the other scenario's NOOP is in first-session's transcript")
	}
	do(t, ctx, "↓ on the picker", chromedp.Focus(chromedp.ID("scenario-picker")), chromedp.KeyEvent(kb.ArrowDown))
	waitFor(t, ctx, "the other scenario's work back", `document.getElementById('scenario-picker').value === `+jsString(other)+` && `+hasClientLine("NOOP"))
}

// TestBrowserBadPermalinkSaysWhy: a link that cannot be opened leaves the
// reason in view and the address, and the lab starts anyway.
func TestBrowserBadPermalinkSaysWhy(t *testing.T) {
	url := serve(t, realSite(t))
	for name, link := range map[string]string{
		"unknown scenario": permalink(t, url, map[string]any{"scenario": "no-such-scenario", "seed": 1, "inputs": []any{map[string]string{"type": "EHLO x"}}}),
		"garbage":          url + "/#lesson=01-first-session&lab=garbage!!",
	} {
		t.Run(name, func(t *testing.T) {
			ctx := testTab(t, 60*time.Second)
			openLab(t, ctx, link)
			waitFor(t, ctx, "the fallback world", replyCount("220")+` === 1`)
			time.Sleep(200 * time.Millisecond) // anything that would hide the reason has run
			if got := eval[string](t, ctx, `document.getElementById('engine-status').textContent`); !strings.Contains(got, "The link could not be opened: ") {
				t.Errorf("status %q, want why the link could not be opened", got)
			}
			if !eval[bool](t, ctx, `document.getElementById('engine-status').classList.contains('smtplab-error')`) {
				t.Error("the reason is not shown as an error")
			}
			if got := eval[string](t, ctx, `location.hash`); strings.Contains(got, "lab=") {
				t.Errorf("the bad link stays in the address: %q", got)
			}
		})
	}
}

// TestBrowserPermalinkInOpenTab: a permalink opened in a tab that already
// shows the lab (a link clicked in a lesson, pasted into the address bar)
// opens its world.
func TestBrowserPermalinkInOpenTab(t *testing.T) {
	url := serve(t, realSite(t))
	ctx := testTab(t, 60*time.Second)
	openLab(t, ctx, url)
	typeLines(t, ctx, "NOOP")
	link := permalink(t, "", map[string]any{"scenario": "greylisting", "seed": 1, "inputs": []any{map[string]string{"type": "EHLO linked.example"}}})
	eval[any](t, ctx, `location.hash = `+jsString(strings.TrimPrefix(link, "/")))
	waitFor(t, ctx, "the link's world", `document.getElementById('scenario-picker').value === 'greylisting' && `+hasClientLine("EHLO linked.example"))
	if got := eval[string](t, ctx, `location.hash`); strings.Contains(got, "lab=") {
		t.Errorf("the link stays in the address once opened: %q", got)
	}
	// With a lesson whose scenario is another: the link's world wins.
	eval[any](t, ctx, `location.hash = 'lesson=02-reply-codes&' + `+jsString(strings.TrimPrefix(link, "/#")))
	waitFor(t, ctx, "lesson 2 shown", `!document.getElementById('lesson-02-reply-codes').hidden`)
	time.Sleep(300 * time.Millisecond)
	waitFor(t, ctx, "the link's world", `document.getElementById('scenario-picker').value === 'greylisting' && `+hasClientLine("EHLO linked.example"))
}

// importFile hands the page's Import progress control a file holding text.
func importFile(tb testing.TB, ctx context.Context, text string) {
	tb.Helper()
	eval[bool](tb, ctx, `(() => {
		const dt = new DataTransfer();
		dt.items.add(new File([`+jsString(text)+`], 'progress.json', {type: 'application/json'}));
		const input = document.getElementById('import-file');
		input.files = dt.files;
		return input.dispatchEvent(new Event('change'));
	})()`)
}

// TestBrowserBadProgress: progress in a shape the page does not use, from
// a file or left in localStorage, never stops the page from starting.
func TestBrowserBadProgress(t *testing.T) {
	url := serve(t, realSite(t))
	ctx := testTab(t, 90*time.Second)
	openLab(t, ctx, url)
	// Passes a look at its top level; its goals are not a list.
	importFile(t, ctx, `{"version":1,"lesson":"01-first-session","lessons":{"01-first-session":{"done":{},"hints":"2"},"x":7},"labs":{"first-session":{"scenario":"greylisting","inputs":[]},"greylisting":{"scenario":"greylisting","seed":1,"inputs":5}}}`)
	waitFor(t, ctx, "the import", `document.getElementById('engine-status').textContent.includes('imported')`)
	// What is saved is mended: the goals a list, the bad hint count and the
	// worlds kept under another scenario's name or without a list of inputs
	// left out (the lab's own world is saved as it opens).
	saved := eval[string](t, ctx, `(() => {
		const p = JSON.parse(localStorage.getItem('smtplab.progress.v1'));
		return JSON.stringify([p.lesson, p.lessons, Object.keys(p.labs), p.labs['first-session'].scenario]);
	})()`)
	if want := `["01-first-session",{"01-first-session":{"done":[],"hints":0,"solution":false}},["first-session"],"first-session"]`; saved != want {
		t.Errorf("saved after the import:\n%s\nwant\n%s", saved, want)
	}
	do(t, ctx, "reload", chromedp.Reload())
	waitFor(t, ctx, "the engine is ready after a reload", `document.documentElement.dataset.engine === 'ready'`)
	waitFor(t, ctx, "the greeting", replyCount("220")+` === 1`)
	typeLines(t, ctx, "EHLO me.example.com")
	waitFor(t, ctx, "a goal done and saved", `JSON.parse(localStorage.getItem('smtplab.progress.v1')).lessons['01-first-session'].done.length > 0`)

	// Whatever is left in localStorage, the page starts (and says why the
	// progress is gone when it cannot be read).
	for _, bad := range []string{`{"version":1,"lesson":5,"lessons":{"01-first-session":{"done":"no","hints":-1}},"labs":{"first-session":null}}`,
		`{"version":1,"lessons":[],"labs":{}}`, `{not json`, `null`} {
		eval[any](t, ctx, `localStorage.setItem('smtplab.progress.v1', `+jsString(bad)+`)`)
		do(t, ctx, "reload", chromedp.Reload())
		waitFor(t, ctx, "the engine is ready with "+bad, `document.documentElement.dataset.engine === 'ready'`)
		waitFor(t, ctx, "the greeting", replyCount("220")+` === 1`)
		status := eval[string](t, ctx, `document.getElementById('engine-status').textContent`)
		if strings.Contains(status, "went wrong") {
			t.Errorf("with %s saved: %s", bad, status)
		}
		if unreadable := !strings.Contains(bad, `"lessons":{"`); unreadable != strings.Contains(status, "could not be read") {
			t.Errorf("with %s saved the status says %q", bad, status)
		}
	}
	// The import still works after all that.
	importFile(t, ctx, `{"version":1,"lessons":{},"labs":{}`)
	waitFor(t, ctx, "the refusal", `document.getElementById('engine-status').textContent === 'Import failed: this file is not valid JSON'`)
}

// activeIs says whether the focus is on the element a selector finds (or
// inside it).
func activeIs(selector string) string {
	return `(() => { const el = document.querySelector(` + jsString(selector) + `); return !!el && el.contains(document.activeElement); })()`
}

// pressEnter focuses an element and presses Enter on it, as a keyboard
// user does.
func pressEnter(tb testing.TB, ctx context.Context, selector string) {
	tb.Helper()
	do(tb, ctx, "Enter on "+selector, chromedp.Focus(chromedp.CSS(selector)), chromedp.KeyEvent(kb.Enter))
}

// TestBrowserFocusStays: a control that disables or rebuilds itself hands
// the keyboard focus somewhere useful instead of dropping it on <body>.
func TestBrowserFocusStays(t *testing.T) {
	url := serve(t, realSite(t))
	ctx := testTab(t, 90*time.Second)
	openLab(t, ctx, url)

	typeLines(t, ctx, "NOOP")
	waitFor(t, ctx, "undo possible", `!document.getElementById('btn-undo').disabled`)
	pressEnter(t, ctx, "#btn-undo")
	waitFor(t, ctx, "the NOOP undone", `!`+hasClientLine("NOOP")+` && document.getElementById('btn-undo').disabled`)
	waitFor(t, ctx, "the focus in the terminal", activeIs("#terminal-input"))

	for i := 0; eval[bool](t, ctx, `!document.getElementById('btn-hint').disabled`); i++ {
		if i > 20 {
			t.Fatal("the hint button never disables")
		}
		pressEnter(t, ctx, "#btn-hint")
	}
	waitFor(t, ctx, "the focus on the last hint", activeIs("#hint-list li:last-child"))

	pressEnter(t, ctx, "#btn-solution")
	waitFor(t, ctx, "the question", `document.getElementById('confirm-dialog').open`)
	pressEnter(t, ctx, "#confirm-ok")
	waitFor(t, ctx, "the focus on the solution", `!document.getElementById('solution').hidden && `+activeIs("#solution"))

	typeLines(t, ctx, "EHLO me.example.com", "STARTTLS")
	waitFor(t, ctx, "the handshake", `[...document.querySelectorAll('#lab .smtplab-transcript .smtplab-note')].some(n => n.textContent.includes('TLS finished'))`)
	typeLines(t, ctx, "EHLO me.example.com")
	do(t, ctx, "TLS tab", chromedp.Click(chromedp.CSS(`[role=tab][id^="smtplab-tab-tls"]`)))
	do(t, ctx, "space on the ciphertext toggle", chromedp.Focus(chromedp.CSS(`.smtplab-panel-tls input[type=checkbox]`)), chromedp.KeyEvent(" "))
	waitFor(t, ctx, "the ciphertext", `document.querySelector('.smtplab-panel-tls .smtplab-tls-bytes').innerText.includes('bytes on the wire')`)
	if !eval[bool](t, ctx, activeIs(".smtplab-panel-tls input[type=checkbox]")) {
		t.Errorf("the focus left the ciphertext toggle for %s", eval[string](t, ctx, `document.activeElement.outerHTML.slice(0, 80)`))
	}
}

// TestBrowserImportFocusShows: tabbing to Import progress shows the focus
// ring on the button-like label (the file input itself is hidden).
func TestBrowserImportFocusShows(t *testing.T) {
	url := serve(t, realSite(t))
	ctx := testTab(t, 60*time.Second)
	openLab(t, ctx, url)
	do(t, ctx, "Tab from Export progress", chromedp.Focus(chromedp.ID("btn-export")), chromedp.KeyEvent(kb.Tab))
	if got := eval[string](t, ctx, `document.activeElement.id`); got != "import-file" {
		t.Fatalf("Tab from Export progress went to %q", got)
	}
	ring := eval[string](t, ctx, `(() => { const s = getComputedStyle(document.querySelector('label.smtplab-button')); return s.outlineStyle + ' ' + s.outlineWidth; })()`)
	if ring != "solid 3px" {
		t.Errorf("the Import progress label's outline is %q while its input has the focus", ring)
	}
	if label := eval[string](t, ctx, `document.getElementById('import-file').labels[0].textContent.trim()`); label != "Import progress" {
		t.Errorf("the file input is labelled %q", label)
	}
}

// TestBrowserTranscriptSaysWho: a screen reader hears who said each line
// (the -> and <- marks are hidden from it).
func TestBrowserTranscriptSaysWho(t *testing.T) {
	url := serve(t, realSite(t))
	ctx := testTab(t, 60*time.Second)
	openLab(t, ctx, url)
	typeLines(t, ctx, "EHLO me.example.com", "STARTTLS")
	waitFor(t, ctx, "the handshake", `[...document.querySelectorAll('#lab .smtplab-transcript .smtplab-note')].some(n => n.textContent.includes('TLS finished'))`)
	typeLines(t, ctx, "NOOP")
	// What is left for assistive technology: the text without what is
	// aria-hidden, spaces squeezed.
	heard := eval[[]string](t, ctx, `[...document.querySelectorAll('#lab .smtplab-transcript .smtplab-line')].map((l) => {
		const c = (l.querySelector('summary') || l).cloneNode(true);
		c.querySelectorAll('[aria-hidden=true]').forEach((x) => x.remove());
		return c.textContent.replace(/\s+/g, ' ').trim();
	})`)
	all := strings.Join(heard, "\n")
	for _, want := range []string{"Client: EHLO me.example.com", "Server: 220 ", "Server: 250-", "Client: STARTTLS",
		"Client, encrypted: NOOP", "Server, encrypted: 250 ", "Note: TLS finished"} {
		if !strings.Contains(all, want) {
			t.Errorf("a screen reader hears no %q in:\n%s", want, all)
		}
	}
}

// secondTab opens another tab in the browser context of ctx (another tab
// of the same private window: the same localStorage) and closes it at the
// end.
func secondTab(tb testing.TB, ctx context.Context) context.Context {
	tb.Helper()
	tab, cancel := chromedp.NewContext(ctx)
	tb.Cleanup(cancel)
	if err := chromedp.Do(tab); err != nil {
		tb.Fatal(err)
	}
	return tab
}

// twoLabTabs serves the lab's page and opens it in two tabs of one
// browser context, a on lessonA and b on lessonB.
func twoLabTabs(t *testing.T, lessonA, lessonB string) (a, b context.Context) {
	t.Helper()
	url := serve(t, realSite(t))
	a = testTab(t, 120*time.Second)
	b = secondTab(t, a)
	openLab(t, a, url+"/#lesson="+lessonA)
	openLab(t, b, url+"/#lesson="+lessonB)
	return a, b
}

// stored reads a part of the lab page's progress in localStorage, as JSON
// (or says why it cannot).
func stored(tb testing.TB, ctx context.Context, part string) string {
	tb.Helper()
	return eval[string](tb, ctx, `(() => {
		try {
			return String(JSON.stringify(JSON.parse(localStorage.getItem('smtplab.progress.v1')).`+part+`));
		} catch (err) {
			return err.message;
		}
	})()`)
}

// TestBrowserTwoTabsShareProgress: two tabs of the lab's page save into
// one progress. What one tab saves (a world of another scenario, the
// lesson it moved to, goals, hints) is not written over by the other's
// next save, and a tab learns of it at once: the goals and hints of the
// lesson it shows tick and open, and a scenario it moves to opens the
// world the other tab saved.
func TestBrowserTwoTabsShareProgress(t *testing.T) {
	a, b := twoLabTabs(t, "01-first-session", "05-queues-and-retries")
	waitFor(t, b, "the greylisting lab", `document.getElementById('scenario-picker').value === 'greylisting'`)
	typeLines(t, b, "EHLO b.example")
	waitFor(t, b, "b's world saved", `(JSON.parse(localStorage.getItem('smtplab.progress.v1')).labs.greylisting?.inputs || []).length === 1`)

	// Tab a, which read the progress before b saved, saves in its turn.
	typeLines(t, a, "EHLO a.example")
	waitFor(t, a, "a's world saved", `(JSON.parse(localStorage.getItem('smtplab.progress.v1')).labs['first-session']?.inputs || []).length === 1`)
	if got := stored(t, a, "labs.greylisting.inputs"); got != `[{"type":"EHLO b.example"}]` {
		t.Errorf("the greylisting world b saved is now %s", got)
	}
	if got := stored(t, a, "lesson"); got != `"05-queues-and-retries"` {
		t.Errorf("the lesson is %s, want the one b moved to last", got)
	}
	if got := stored(t, a, "lessons['01-first-session'].done"); got != `["greeted"]` {
		t.Errorf("lesson 1's goals done: %s", got)
	}

	// b moves to lesson 1: the world a saved opens there.
	eval[bool](t, b, `(location.hash = 'lesson=01-first-session', true)`)
	waitFor(t, b, "a's world in b", `document.getElementById('scenario-picker').value === 'first-session' && `+hasClientLine("EHLO a.example"))

	// a goes on; b, showing the same lesson, ticks a's goal and shows a's
	// hint without doing anything.
	typeLines(t, a, "MAIL FROM:<alice@example.com>")
	do(t, a, "a hint", chromedp.Click(chromedp.ID("btn-hint")))
	waitFor(t, b, "a's goal ticked in b", `!!document.querySelector('#goal-list li.smtplab-done[data-goal="sender"]')`)
	waitFor(t, b, "a's hint in b", `document.querySelectorAll('#hint-list li').length === 1`)

	// b's next save keeps them.
	typeLines(t, b, "NOOP")
	waitFor(t, b, "b's world saved", hasClientLine("NOOP")+` && (JSON.parse(localStorage.getItem('smtplab.progress.v1')).labs['first-session']?.inputs || []).length === 2`)
	if got := stored(t, b, "lessons['01-first-session']"); got != `{"done":["greeted","sender"],"hints":1,"solution":false}` {
		t.Errorf("lesson 1's progress after b saved: %s", got)
	}
}

// TestBrowserHintFocusAcrossTabs: progress from another tab redraws the
// hints, and the keyboard focus stays: from the hint button that the
// other tab's last hint disables to that hint, and on a hint while the
// other tab reaches a goal.
func TestBrowserHintFocusAcrossTabs(t *testing.T) {
	a, b := twoLabTabs(t, "01-first-session", "01-first-session")
	for range 3 {
		pressEnter(t, b, "#btn-hint")
	}
	waitFor(t, b, "three hints in b", `document.querySelectorAll('#hint-list li').length === 3 && `+activeIs("#btn-hint"))

	do(t, a, "the last hint in a", chromedp.Click(chromedp.ID("btn-hint")))
	waitFor(t, b, "the last hint in b", `document.querySelectorAll('#hint-list li').length === 4 && document.getElementById('btn-hint').disabled`)
	waitFor(t, b, "b's focus on the last hint", activeIs("#hint-list li:last-child"))

	typeLines(t, a, "EHLO a.example")
	waitFor(t, b, "a's goal ticked in b", `!!document.querySelector('#goal-list li.smtplab-done[data-goal="greeted"]')`)
	if !eval[bool](t, b, activeIs("#hint-list li:last-child")) {
		t.Errorf("b's focus left the last hint for %s", eval[string](t, b, `document.activeElement.outerHTML.slice(0, 80)`))
	}
}
