package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// The course author's side of README's "Writing lessons": a course page on
// another site that embeds labs as README says, and a grader that reads
// them.

// TestBrowserEmbedUnderTheCSPREADMEGives: a course page whose
// Content-Security-Policy allows the lab's origin in script-src,
// connect-src and style-src, and 'wasm-unsafe-eval', as README says, runs
// two labs, each in its own world, and its grader hears each lab's events
// from that lab alone.
func TestBrowserEmbedUnderTheCSPREADMEGives(t *testing.T) {
	labURL := serve(t, realSite(t))
	csp := `default-src 'self'; script-src 'self' ` + labURL + ` 'wasm-unsafe-eval'; connect-src 'self' ` + labURL + `; style-src 'self' ` + labURL
	url := serve(t, coursePage(
		`<meta http-equiv="Content-Security-Policy" content="`+csp+`">`+
			`<link rel="stylesheet" href="`+labURL+`/css/lab.css"><script type="module" src="`+labURL+`/js/smtp-lab.js"></script>`,
		`<smtp-lab name="one" scenario="greylisting" panels></smtp-lab><smtp-lab name="two" scenario="starttls" tab="tls" height="12"></smtp-lab>`))
	ctx := testTab(t, 90*time.Second)
	// The grader is set up before the page's own scripts run, as a
	// course page's script in its head would be; the CSP forbids inline
	// scripts in the page itself.
	do(t, ctx, "loading the course page", chromedp.Navigate("about:blank"))
	addScript(t, ctx, `window.violations = []; window.heard = [];
		document.addEventListener('securitypolicyviolation', (e) => window.violations.push(e.violatedDirective + ' ' + e.blockedURI));
		document.addEventListener('smtplab-events', (e) => {
			for (const ev of e.detail) if (ev.kind === 'smtp.command') window.heard.push(e.target.getAttribute('name') + ': ' + ev.text);
		});`)
	do(t, ctx, "loading the course page", chromedp.Navigate(url+"/"))
	waitFor(t, ctx, "both labs started", `[...document.querySelectorAll('smtp-lab .smtplab-status')].filter(s => /^Lab:/.test(s.textContent)).length === 2`)
	for _, lab := range []struct{ name, line string }{{"one", "EHLO one.example"}, {"two", "EHLO two.example"}} {
		id := eval[string](t, ctx, `document.querySelector('smtp-lab[name=`+lab.name+`] .smtplab-terminal-input').id`)
		waitFor(t, ctx, "the terminal of "+lab.name+" enabled", `!document.getElementById('`+id+`').disabled`)
		do(t, ctx, "typing in "+lab.name, chromedp.SendKeys(chromedp.ID(id), lab.line+"\r"))
		waitFor(t, ctx, "the grader hears "+lab.name, `window.heard.includes('`+lab.name+`: `+lab.line+`')`)
	}
	got := eval[map[string]string](t, ctx, `(async () => {
		const commands = async (name) => (await document.querySelector('smtp-lab[name=' + name + ']').snapshot()).inputs.map((i) => i.type).join('|');
		return {
			heard: window.heard.join(' / '),
			violations: window.violations.join(' / '),
			one: await commands('one'),
			two: await commands('two'),
			tab: document.querySelector('smtp-lab[name=two] [role=tab][aria-selected=true]').textContent,
		};
	})()`)
	want := map[string]string{
		"heard":      "one: EHLO one.example / two: EHLO two.example",
		"violations": "",
		"one":        "EHLO one.example",
		"two":        "EHLO two.example",
		"tab":        "TLS",
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s = %q, want %q", k, got[k], w)
		}
	}
}

// TestBrowserEmbedGraderReadsTheWorldOnReset: a grader that reads a lab's
// trace() or snapshot() when it hears smtplab-reset reads the lab's world:
// the fresh world's greeting when the lab starts, and what the learner
// did when a reload brings the saved world back. It used to read an empty
// trace and be told "the lab has not started", and so never learnt of
// the work the reload restored.
func TestBrowserEmbedGraderReadsTheWorldOnReset(t *testing.T) {
	labURL := serve(t, realSite(t))
	url := serve(t, coursePage(
		`<script type="module" src="`+labURL+`/js/smtp-lab.js"></script>`,
		`<smtp-lab name="graded" scenario="first-session"></smtp-lab>`))
	ctx := testTab(t, 90*time.Second)
	do(t, ctx, "opening a tab", chromedp.Navigate("about:blank"))
	addScript(t, ctx, `window.onReset = [];
		document.addEventListener('smtplab-reset', (e) => {
			const seen = { trace: e.target.trace().length, inputs: 'pending' };
			window.onReset.push(seen);
			e.target.snapshot().then((s) => { seen.inputs = s.inputs.length; }, (err) => { seen.inputs = err.message; });
		});`)
	started := `/^Lab:/.test((document.querySelector('smtp-lab .smtplab-status') || {}).textContent)`
	do(t, ctx, "loading the course page", chromedp.Navigate(url+"/"))
	waitFor(t, ctx, "the lab started", started)
	waitFor(t, ctx, "the reset's snapshot", `window.onReset.length === 1 && window.onReset[0].inputs !== 'pending'`)
	if !eval[bool](t, ctx, `window.onReset[0].trace > 0 && window.onReset[0].inputs === 0`) {
		got := eval[string](t, ctx, `JSON.stringify(window.onReset)`)
		t.Errorf("on the new world's smtplab-reset the grader read %s, want the greeting's events and no inputs", got)
	}
	id := eval[string](t, ctx, `document.querySelector('smtp-lab .smtplab-terminal-input').id`)
	waitFor(t, ctx, "the terminal enabled", `!document.getElementById('`+id+`').disabled`)
	do(t, ctx, "typing EHLO", chromedp.SendKeys(chromedp.ID(id), "EHLO me.example\r"))
	waitFor(t, ctx, "the EHLO kept", `Object.keys(localStorage).some((k) => k.startsWith('smtplab.world.v1') && localStorage[k].includes('EHLO me.example'))`)
	do(t, ctx, "reloading the course page", chromedp.Reload())
	waitFor(t, ctx, "the lab started again", started)
	waitFor(t, ctx, "the reset's snapshot", `window.onReset.length === 1 && window.onReset[0].inputs !== 'pending'`)
	got := eval[map[string]any](t, ctx, `({ seen: window.onReset[0], trace: document.querySelector('smtp-lab').trace().length })`)
	seen, _ := got["seen"].(map[string]any)
	if seen["inputs"] != 1.0 || seen["trace"] != got["trace"] {
		t.Errorf("on the restored world's smtplab-reset the grader read %v, want 1 input and the whole trace (%v events)", seen, got["trace"])
	}
}

// addScript has every page the tab loads from now on run script before
// its own scripts, as a script at the top of a course page's head does.
func addScript(tb testing.TB, ctx context.Context, script string) {
	tb.Helper()
	do(tb, ctx, "adding the course page's script", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: script})
		return err
	}))
}

// TestBrowserEmbedTakenAwayWhileStarting: a course page that moves a lab
// out and back in while it starts (a single-page site re-rendering) gets
// one working lab, not two halves of it; and labs taken away while they
// start give their worlds back, so the page never runs out of them.
func TestBrowserEmbedTakenAwayWhileStarting(t *testing.T) {
	labURL := serve(t, realSite(t))
	url := serve(t, coursePage(`<script type="module" src="`+labURL+`/js/smtp-lab.js"></script>`, `<div id="content"></div>`))
	ctx := testTab(t, 120*time.Second)
	do(t, ctx, "loading the course page", chromedp.Navigate(url+"/"))
	waitFor(t, ctx, "the element", `!!customElements.get('smtp-lab')`)
	got := eval[string](t, ctx, `(async () => {
		const content = document.getElementById('content');
		const settled = async (lab) => {
			for (let k = 0; k < 400 && !/^Lab:|could not/.test((lab.querySelector('.smtplab-status') || {}).textContent); k++) {
				await new Promise((r) => setTimeout(r, 25));
			}
			await new Promise((r) => setTimeout(r, 200));
		};
		// Out and back in, a task later, while the engine loads.
		const lab = document.createElement('smtp-lab');
		lab.setAttribute('scenario', 'first-session');
		content.append(lab);
		await new Promise((r) => setTimeout(r, 0));
		lab.remove();
		await new Promise((r) => setTimeout(r, 0));
		content.append(lab);
		await settled(lab);
		const once = lab.querySelectorAll('.smtplab-status').length + ' status, ' + lab.querySelectorAll('.smtplab-transcript').length + ' transcript';
		lab.remove();
		// Seventy labs taken away while they start: the engine holds 64.
		for (let i = 0; i < 70; i++) {
			const gone = document.createElement('smtp-lab');
			content.append(gone);
			await new Promise((r) => setTimeout(r, 0));
			gone.remove();
			await new Promise((r) => setTimeout(r, 20));
		}
		const last = document.createElement('smtp-lab');
		content.append(last);
		await settled(last);
		return once + ' | ' + last.querySelector('.smtplab-status').textContent;
	})()`)
	if want := "1 status, 1 transcript | Lab: first-session"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestBrowserEmbedSeedTooLargeSaysSo: a seed past what a JavaScript
// number holds exactly is refused with the range a seed may take: "not a
// whole number" left the author looking at a whole number. A seed that is
// not written in digits is refused too, as make lint-lessons refuses it,
// rather than read as JavaScript reads a number ("1e3" as 1000, "0x10" as
// 16).
func TestBrowserEmbedSeedTooLargeSaysSo(t *testing.T) {
	labURL := serve(t, realSite(t))
	seeds := []string{"9007199254740993", "1e3", "0x10", "2.5", "-7"}
	labs := ""
	for i, seed := range seeds {
		labs += fmt.Sprintf(`<smtp-lab id="lab%d" scenario="greylisting" seed="%s"></smtp-lab>`, i, seed)
	}
	url := serve(t, coursePage(`<script type="module" src="`+labURL+`/js/smtp-lab.js"></script>`, labs))
	ctx := testTab(t, 60*time.Second)
	do(t, ctx, "loading the course page", chromedp.Navigate(url+"/"))
	waitFor(t, ctx, "every lab started or refused", `[...document.querySelectorAll('smtp-lab .smtplab-status')].every(s => s.classList.contains('smtplab-error') || /^Lab:/.test(s.textContent)) && document.querySelectorAll('smtp-lab .smtplab-status').length === `+fmt.Sprint(len(seeds)))
	for i, seed := range seeds {
		got := eval[string](t, ctx, fmt.Sprintf(`document.querySelector('#lab%d .smtplab-status').textContent`, i))
		want := `The lab could not start: the seed "` + seed + `" is not a whole number from -9007199254740991 to 9007199254740991`
		if seed == "-7" {
			want = "Lab: greylisting"
		}
		if !strings.HasPrefix(got, want) {
			t.Errorf("seed %q: got %q, want %q", seed, got, want)
		}
	}
}

// TestBrowserEmbedCheckKeepsGoalsToTheirLab: a grader that hands a lab
// the goals of a lesson with more labs (as lesson 9's) hears a goal of
// another lab's scenario as not done, however this lab's trace looks: it
// was checked against this lab's trace, and a greeting in the greylisting
// lab counted as one in the starttls lab.
func TestBrowserEmbedCheckKeepsGoalsToTheirLab(t *testing.T) {
	labURL := serve(t, realSite(t))
	url := serve(t, coursePage(`<script type="module" src="`+labURL+`/js/smtp-lab.js"></script>`,
		`<smtp-lab scenario="greylisting"></smtp-lab>`))
	ctx := testTab(t, 60*time.Second)
	do(t, ctx, "loading the course page", chromedp.Navigate(url+"/"))
	waitFor(t, ctx, "the lab started", `/^Lab:/.test((document.querySelector('smtp-lab .smtplab-status') || {}).textContent)`)
	got := eval[string](t, ctx, `(async () => {
		const results = await document.querySelector('smtp-lab').check([
			{ id: 'here', text: 'Be greeted', reply: { code: 220 } },
			{ id: 'named', text: 'Be greeted here', scenario: 'greylisting', reply: { code: 220 } },
			{ id: 'there', text: 'Be greeted in the starttls lab', scenario: 'starttls', reply: { code: 220 } },
		]);
		return results.map((r) => r.id + '=' + r.done).join(' ');
	})()`)
	if want := "here=true named=true there=false"; got != want {
		t.Errorf("check says %q, want %q", got, want)
	}
}

// TestBrowserEmbedWarnsOfMisspeltOptions: a course page that writes an
// option of <smtp-lab> by hand with a typo (heigth, sead) hears about it
// in the console, as make lint-lessons tells a lesson's author, rather
// than getting a lab that silently ignores it; attributes any element
// may have, and the page's own data- attributes, pass without a word.
func TestBrowserEmbedWarnsOfMisspeltOptions(t *testing.T) {
	labURL := serve(t, realSite(t))
	url := serve(t, coursePage(
		`<script>window.warned = []; console.warn = (...a) => window.warned.push(a.join(' '));</script>`+
			`<script type="module" src="`+labURL+`/js/smtp-lab.js"></script>`,
		`<smtp-lab name="typos" scenario="starttls" heigth="12" sead="3" tab="tls"></smtp-lab>`+
			`<smtp-lab id="fine" name="fine" class="wide" title="A lab" aria-label="A lab" lang="en" data-week="1" scenario="starttls" seed="2" height="12" panels="tls" data-prompt="EHLO x"></smtp-lab>`))
	ctx := testTab(t, 60*time.Second)
	do(t, ctx, "loading the course page", chromedp.Navigate(url+"/"))
	waitFor(t, ctx, "both labs started", `[...document.querySelectorAll('smtp-lab .smtplab-status')].filter(s => /^Lab:/.test(s.textContent)).length === 2`)
	got := eval[[]string](t, ctx, `window.warned`)
	want := []string{
		`<smtp-lab name="typos" scenario="starttls">: heigth="12" is not an option (scenario, seed, name, tab, panels, height, prompt): it is left out`,
		`<smtp-lab name="typos" scenario="starttls">: sead="3" is not an option (scenario, seed, name, tab, panels, height, prompt): it is left out`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("the console says\n%q\nwant\n%q", got, want)
	}
}

// TestBrowserEmbedCountsThePromptAsTheLinterDoes: a prompt written by hand
// is held to the rule make lint-lessons holds a lesson's to, one SMTP line:
// at most 998 octets of UTF-8, as it goes on the wire (500 "é" are 1000,
// though JavaScript counts 500), and no control character, C1 included.
func TestBrowserEmbedCountsThePromptAsTheLinterDoes(t *testing.T) {
	labURL := serve(t, realSite(t))
	url := serve(t, coursePage(
		`<script>window.warned = []; console.warn = (...a) => window.warned.push(a.join(' '));</script>`+
			`<script type="module" src="`+labURL+`/js/smtp-lab.js"></script>`,
		`<smtp-lab id="wide" scenario="starttls" prompt="`+strings.Repeat("é", 500)+`"></smtp-lab>`+
			`<smtp-lab id="c1" scenario="starttls" prompt="EHLO a`+"\u0085"+`b"></smtp-lab>`+
			`<smtp-lab id="full" scenario="starttls" prompt="`+strings.Repeat("x", 998)+`"></smtp-lab>`))
	ctx := testTab(t, 60*time.Second)
	do(t, ctx, "loading the course page", chromedp.Navigate(url+"/"))
	waitFor(t, ctx, "the labs started", `[...document.querySelectorAll('smtp-lab .smtplab-status')].filter(s => /^Lab:/.test(s.textContent)).length === 3`)
	got := eval[[]string](t, ctx, `window.warned`)
	want := []string{
		`<smtp-lab id="wide" scenario="starttls">: prompt is not one line of at most 998 bytes: it is left out`,
		`<smtp-lab id="c1" scenario="starttls">: prompt is not one line of at most 998 bytes: it is left out`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("the console says\n%q\nwant\n%q", got, want)
	}
	if n := eval[int](t, ctx, `document.querySelector('#full input[type=text], #full textarea, #full input:not([type])').value.length`); n != 998 {
		t.Errorf("a prompt of 998 octets is %d characters in the terminal, want all 998", n)
	}
}
