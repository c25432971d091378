package main

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// coursePage is a course author's page: head and body as given.
func coursePage(head, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<!doctype html><html><head><meta charset=utf-8><title>Course</title>%s</head><body><h1>Course</h1>%s</body></html>", head, body)
	}
}

// TestBrowserEmbedFromAnotherOrigin: a course page on another site loads
// <smtp-lab> from the lab's server and gets a working lab: the module
// imports, the explanations and the engine are read across origins.
func TestBrowserEmbedFromAnotherOrigin(t *testing.T) {
	labURL := serve(t, realSite(t))
	url := serve(t, coursePage(
		`<link rel="stylesheet" href="`+labURL+`/css/lab.css"><script type="module" src="`+labURL+`/js/smtp-lab.js"></script>`,
		`<smtp-lab scenario="first-session"></smtp-lab>`))
	ctx := testTab(t, 60*time.Second)
	eval[bool](t, ctx, `(location.href = '`+url+`/', true)`)
	waitFor(t, ctx, "the embedded lab's greeting", `[...document.querySelectorAll('smtp-lab .smtplab-transcript .smtplab-reply')].some(r => r.dataset.code === '220')`)
}

// TestBrowserEmbedDataAttributes: a course author who writes the scenario
// and the seed as data- attributes, like the other options, gets that
// scenario and seed, not the first-session lab with no word about it.
func TestBrowserEmbedDataAttributes(t *testing.T) {
	labURL := serve(t, realSite(t))
	url := serve(t, coursePage(
		`<script type="module" src="`+labURL+`/js/smtp-lab.js"></script>`,
		`<smtp-lab id="plain" scenario="null-mx" seed="7"></smtp-lab><smtp-lab id="data" data-scenario="null-mx" data-seed="7"></smtp-lab>`))
	ctx := testTab(t, 60*time.Second)
	eval[bool](t, ctx, `(location.href = '`+url+`/', true)`)
	waitFor(t, ctx, "both labs started", `[...document.querySelectorAll('smtp-lab .smtplab-status')].filter(s => /^Lab:/.test(s.textContent)).length === 2`)
	got := eval[string](t, ctx, `(async () => {
		const out = [];
		for (const id of ['plain', 'data']) {
			const snap = await document.getElementById(id).snapshot();
			out.push(document.querySelector('#' + id + ' .smtplab-status').textContent + ' seed ' + snap.seed);
		}
		return out.join(' | ');
	})()`)
	if want := "Lab: null-mx seed 7 | Lab: null-mx seed 7"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestBrowserEmbedReleasesWorlds: a single-page course site that replaces
// its lab at every visit does not run out of worlds: a lab taken out of the
// page releases its world in the engine, which holds 64 at most.
func TestBrowserEmbedReleasesWorlds(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle("/lab/", http.StripPrefix("/lab", realSite(t)))
	mux.Handle("/course/", coursePage(`<script type="module" src="/lab/js/smtp-lab.js"></script>`, `<div id="content"></div>`))
	url := serve(t, mux)
	ctx := testTab(t, 180*time.Second)
	eval[bool](t, ctx, `(location.href = '`+url+`/course/', true)`)
	waitFor(t, ctx, "the element", `!!customElements.get('smtp-lab')`)
	got := eval[string](t, ctx, `(async () => {
		const content = document.getElementById('content');
		for (let i = 0; i < 70; i++) {
			content.replaceChildren();
			const lab = document.createElement('smtp-lab');
			lab.setAttribute('scenario', 'first-session');
			content.append(lab);
			for (let k = 0; k < 400 && !/^Lab:|could not/.test(lab.querySelector('.smtplab-status').textContent); k++) {
				await new Promise((r) => setTimeout(r, 25));
			}
			const status = lab.querySelector('.smtplab-status').textContent;
			if (!/^Lab:/.test(status)) return 'visit ' + (i + 1) + ': ' + status;
		}
		return 'ok';
	})()`)
	if got != "ok" {
		t.Fatal(got)
	}
}

// TestBrowserEmbedKeepsTheCoursePageLook: lab.css styles the labs a course
// page embeds, and leaves the course page's own body and buttons as its
// author made them.
func TestBrowserEmbedKeepsTheCoursePageLook(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle("/lab/", http.StripPrefix("/lab", realSite(t)))
	mux.Handle("/course/", coursePage(
		`<style>body{margin:40px;font-family:serif;background:rgb(255,250,200)} button{background:rgb(200,0,0)}</style>`+
			`<link rel="stylesheet" href="/lab/css/lab.css"><script type="module" src="/lab/js/smtp-lab.js"></script>`,
		`<button id="own">the course's button</button><smtp-lab scenario="first-session"></smtp-lab>`))
	url := serve(t, mux)
	ctx := testTab(t, 60*time.Second)
	eval[bool](t, ctx, `(location.href = '`+url+`/course/', true)`)
	waitFor(t, ctx, "the embedded lab", `!!document.querySelector('smtp-lab .smtplab-transcript')`)
	got := eval[map[string]string](t, ctx, `(() => {
		const body = getComputedStyle(document.body), own = getComputedStyle(document.getElementById('own'));
		const labButton = document.querySelector('smtp-lab button');
		return { margin: body.marginTop, font: body.fontFamily, background: body.backgroundColor, button: own.backgroundColor,
			labButton: labButton ? getComputedStyle(labButton).backgroundColor : 'none' };
	})()`)
	want := map[string]string{"margin": "40px", "font": "serif", "background": "rgb(255, 250, 200)", "button": "rgb(200, 0, 0)"}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("the course page's %s is %q after linking lab.css, want its own %q", k, got[k], w)
		}
	}
	if got["labButton"] == "rgb(200, 0, 0)" || got["labButton"] == "none" {
		t.Errorf("the lab's own buttons are not styled by lab.css: %q", got["labButton"])
	}
}

// clashingCourse is a course page whose own markup and rules use the
// common class names, ids and roles a lab might use too: its tabs and
// panels hidden until its own script shows them, red raw text and errors,
// a tab panel, a confirm dialog, a goal list.
const clashingCourse = `<style>
.tabs, .tablist, .panel, .hidden, .terminal, .transcript, .lines, .line, .lab-main, .lab-view, .status { display: none; }
.raw, .reply, .client, .note, .mark, .text, .r2, .r3, .r5, .explain, .error { color: rgb(255, 0, 0); }
</style>
<link rel="stylesheet" href="/lab/css/lab.css"><script type="module" src="/lab/js/smtp-lab.js"></script>`

const clashingCourseBody = `<header class="top"><p class="raw error">Week 1: <code>EHLO</code> and the course's own red text.</p></header>
<nav class="tabs tablist" role="tablist"><button role="tab" aria-selected="true">Week 1</button></nav>
<div class="panel hidden" role="tabpanel">hidden by the course</div>
<main class="layout"><article class="lesson"><pre class="raw">course raw text</pre>
<ul id="goal-list" class="goals"><li class="goal done"><span class="tick">✓</span> a course goal</li></ul>
<label class="button">Upload <input type="file" class="visually-hidden"></label> <a class="skip" href="#x">a course link</a></article>
<smtp-lab scenario="first-session" data-tab="mailbox" data-height="8"></smtp-lab>
<p class="help">After the lab: <button>the course's button</button></p></main>
<dialog id="confirm-dialog"><menu><button>OK</button></menu></dialog>`

// TestBrowserEmbedClassNamesDoNotClash: a course page whose own elements
// and rules use common class names (.tabs, .raw, .panel, .terminal …)
// embeds a lab. The lab works and shows every part of itself, styled by
// lab.css rather than by the course's rules; and the course's own elements
// look exactly as they do without lab.css. Every selector of the lab's
// stylesheets must start inside the lab (an <smtp-lab> or the lab's own
// page) or name a smtplab- class.
func TestBrowserEmbedClassNamesDoNotClash(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle("/lab/", http.StripPrefix("/lab", realSite(t)))
	mux.Handle("/course/", coursePage(clashingCourse, clashingCourseBody))
	url := serve(t, mux)
	ctx := testTab(t, 90*time.Second)
	eval[bool](t, ctx, `(location.href = '`+url+`/course/', true)`)
	// Found by role and id, not by class: the test must not depend on
	// the names it is about.
	waitFor(t, ctx, "the embedded lab's greeting", `!!document.querySelector('smtp-lab [role=region] li[data-code="220"]')`)

	// A whole message, typed in the lab's terminal, for the mailbox's raw source.
	eval[bool](t, ctx, `(() => {
		const input = document.querySelector('smtp-lab input[id^="smtplab-terminal-input"]');
		for (const line of ['EHLO course.example', 'MAIL FROM:<alice@example.com>', 'RCPT TO:<bob@example.org>', 'DATA',
			'Subject: clash', '', 'Hello from a course page.', '.']) {
			input.value = line;
			input.form.requestSubmit();
		}
		return true;
	})()`)
	waitFor(t, ctx, "the message in the mailbox", `[...document.querySelectorAll('smtp-lab [role=tabpanel] details pre')].some(p => p.textContent.includes('Hello from a course page.'))`)

	// The lab shows its parts, in its own colours.
	hidden := eval[[]string](t, ctx, `(() => {
		const lab = document.querySelector('smtp-lab');
		const parts = {
			'the transcript': lab.querySelector('[role=region][aria-label=Transcript]'),
			'a reply': lab.querySelector('li[data-code="250"]'),
			'the terminal': lab.querySelector('input[id^="smtplab-terminal-input"]'),
			'the status line': lab.querySelector('[role=status]'),
			'the tab list': lab.querySelector('[role=tablist]'),
			'the open tab': lab.querySelector('[role=tabpanel]:not([hidden])'),
			'the raw source': lab.querySelector('[role=tabpanel] details pre'),
		};
		const out = [];
		for (const [name, el] of Object.entries(parts)) {
			if (!el) { out.push(name + ' is missing'); continue; }
			if (el.matches('pre')) el.closest('details').open = true;
			const s = getComputedStyle(el);
			if (el.getClientRects().length === 0 || s.visibility !== 'visible') out.push(name + ' is not shown');
			if (s.color === 'rgb(255, 0, 0)') out.push(name + ' has the course page\'s red');
		}
		return out;
	})()`)
	for _, h := range hidden {
		t.Error(h)
	}
	save(t, ctx, chromedp.CaptureScreenshot(), "embed-clashing-course.png")

	// Every element of the course page outside the lab computes the same
	// style with lab.css as without it (sizes aside: the lab's own height
	// moves what follows it).
	changed := eval[[]string](t, ctx, `(() => {
		const sheets = [...document.styleSheets].filter((s) => s.href && new URL(s.href).pathname.startsWith('/lab/'));
		const props = new Set();
		const walk = (rules) => { for (const r of rules) {
			if (r.style) for (const p of r.style) props.add(p);
			if (r.cssRules) walk(r.cssRules);
		} };
		for (const s of sheets) walk(s.cssRules);
		const layout = new Set(['width', 'height', 'inline-size', 'block-size', 'perspective-origin', 'transform-origin']);
		const outside = [...document.querySelectorAll('*')].filter((el) => !el.closest('smtp-lab'));
		const look = () => outside.map((el) => {
			const s = getComputedStyle(el);
			const o = {};
			for (const p of [...s, ...props]) if (!layout.has(p)) o[p] = s.getPropertyValue(p);
			return o;
		});
		const withLab = look();
		for (const s of sheets) s.disabled = true;
		const without = look();
		for (const s of sheets) s.disabled = false;
		const out = [];
		outside.forEach((el, i) => {
			const name = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\s+/).join('.') : '');
			const diff = Object.keys(withLab[i]).filter((p) => withLab[i][p] !== without[i][p]);
			if (diff.length) out.push(name + ': ' + diff.map((p) => p + ' ' + JSON.stringify(withLab[i][p]) + ' (' + JSON.stringify(without[i][p]) + ' without)').join(', '));
		});
		return [sheets.length ? '' : 'no lab stylesheet found', ...out].filter(Boolean);
	})()`)
	for _, c := range changed {
		t.Error("lab.css styles the course page: " + c)
	}

	// What makes that hold for any course page: each selector starts in
	// the lab. A selector list splits at its commas outside parentheses;
	// a selector's first compound ends at its first combinator.
	outsiders := eval[[]string](t, ctx, `(() => {
		const split = (text, at) => {
			const parts = [];
			let depth = 0, from = 0;
			for (let i = 0; i < text.length; i++) {
				const c = text[i];
				if (c === '(' || c === '[') depth++;
				else if (c === ')' || c === ']') depth--;
				else if (depth === 0 && at.test(c)) { parts.push(text.slice(from, i)); from = i + 1; }
			}
			parts.push(text.slice(from));
			return parts.map((p) => p.trim()).filter(Boolean);
		};
		const inLab = (selector) => {
			const first = split(selector, /[\s>+~]/)[0];
			return /^smtp-lab(?![\w-])/.test(first) || /^:where\(\.smtplab-page,\s*smtp-lab\)/.test(first) || /\.smtplab-[\w-]/.test(first);
		};
		const out = [];
		const walk = (rules) => { for (const r of rules) {
			if (r.selectorText !== undefined) for (const sel of split(r.selectorText, /,/)) if (!inLab(sel)) out.push(sel);
			if (r.cssRules) walk(r.cssRules);
		} };
		for (const s of document.styleSheets) if (s.href && new URL(s.href).pathname.startsWith('/lab/')) walk(s.cssRules);
		return out;
	})()`)
	for _, s := range outsiders {
		t.Errorf("a lab.css selector may match outside the lab: %s", s)
	}
}

// TestBrowserEmbedLabsKeepTheirOwnWork: three labs on one course page (two
// of the same scenario, one named) each keep what the learner did in them
// across a reload, and Start again starts one afresh without touching the
// others.
func TestBrowserEmbedLabsKeepTheirOwnWork(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle("/lab/", http.StripPrefix("/lab", realSite(t)))
	mux.Handle("/course/", coursePage(`<link rel="stylesheet" href="/lab/css/lab.css"><script type="module" src="/lab/js/smtp-lab.js"></script>`,
		`<smtp-lab scenario="first-session"></smtp-lab><smtp-lab scenario="first-session"></smtp-lab><smtp-lab scenario="greylisting" name="retries"></smtp-lab>`))
	url := serve(t, mux)
	ctx := testTab(t, 120*time.Second)
	eval[bool](t, ctx, `(location.href = '`+url+`/course/', true)`)
	started := `[...document.querySelectorAll('smtp-lab')].every((lab) => lab.querySelector('[role=region] li[data-code="220"]') && !lab.querySelector('input[id^="smtplab-terminal-input"]').disabled)`
	waitFor(t, ctx, "the three labs' greetings", started)

	lines := []string{"EHLO first.example", "EHLO second.example", "EHLO third.example"}
	eval[bool](t, ctx, `(() => {
		const lines = `+jsString(strings.Join(lines, "\n"))+`.split('\n');
		document.querySelectorAll('smtp-lab').forEach((lab, i) => {
			const input = lab.querySelector('input[id^="smtplab-terminal-input"]');
			input.value = lines[i];
			input.form.requestSubmit();
		});
		return true;
	})()`)
	// Saved somewhere in localStorage, under whatever keys.
	waitFor(t, ctx, "each lab's work saved", `(() => {
		const saved = Object.keys(localStorage).map((k) => localStorage.getItem(k)).join('\n');
		return `+jsString(strings.Join(lines, "\n"))+`.split('\n').every((line) => saved.includes(line));
	})()`)

	// labTexts returns what each lab's transcript shows.
	labTexts := func() []string {
		return eval[[]string](t, ctx, `[...document.querySelectorAll('smtp-lab')].map((lab) => lab.querySelector('[role=region]').textContent)`)
	}
	expect := func(when string, want [][]string) {
		t.Helper()
		got := labTexts()
		for i, lab := range got {
			for _, line := range lines {
				if has := strings.Contains(lab, line); has != slices.Contains(want[i], line) {
					t.Errorf("%s: lab %d shows %q: %v", when, i+1, line, has)
				}
			}
		}
	}
	do(t, ctx, "reloading", chromedp.Reload())
	waitFor(t, ctx, "the labs again", started)
	expect("after a reload", [][]string{{lines[0]}, {lines[1]}, {lines[2]}})

	// Start again, in the second lab: a question in the lab itself, then a
	// fresh world, kept as such.
	eval[bool](t, ctx, `(document.querySelectorAll('smtp-lab')[1].querySelector('.smtplab-again').click(), true)`)
	waitFor(t, ctx, "the question", `!!document.querySelector('smtp-lab:nth-of-type(2) dialog[open]')`)
	eval[bool](t, ctx, `(document.querySelector('smtp-lab:nth-of-type(2) dialog[open] button[value=ok]').click(), true)`)
	waitFor(t, ctx, "the second lab afresh", `!document.querySelectorAll('smtp-lab')[1].querySelector('[role=region]').textContent.includes('second.example')`)
	waitFor(t, ctx, "the fresh world saved", `!Object.keys(localStorage).some((k) => localStorage.getItem(k).includes('second.example'))`)
	do(t, ctx, "reloading", chromedp.Reload())
	waitFor(t, ctx, "the labs again", started)
	expect("after starting the second again", [][]string{{lines[0]}, {}, {lines[2]}})
}

// TestBrowserFramedLabsKeepTheirOwnWork: a course page frames the lab's
// page three times, two of them on lessons with the same scenario, one
// named. Each frame keeps its own world across a reload, and each starts
// from what the learner had saved before frames kept their work apart.
func TestBrowserFramedLabsKeepTheirOwnWork(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle("/", realSite(t))
	// Lessons 3 and 11 both run mx-routing.
	mux.Handle("/course/", coursePage(`<style>iframe { width: 900px; height: 500px; }</style>`,
		`<iframe src="/#lesson=03-mx-and-relays"></iframe><iframe src="/#lesson=11-pipelining-chunking-and-dsn"></iframe>`+
			`<iframe name="intro" src="/#lesson=01-first-session"></iframe>`))
	mux.Handle("/before/", coursePage("", "Before the course embedded any lab."))
	url := serve(t, mux)
	ctx := testTab(t, 180*time.Second)
	// What an earlier version saved, for every frame of the lab alike.
	old := `{"version":1,"lesson":"01-first-session","lessons":{"02-reply-codes":{"done":[],"hints":1,"solution":false}},` +
		`"labs":{"first-session":{"scenario":"first-session","seed":1,"inputs":[{"type":"EHLO old.example"}]}}}`
	do(t, ctx, "opening a page of the lab's origin", chromedp.Navigate(url+"/before/"))
	eval[bool](t, ctx, `(localStorage.setItem('smtplab.progress.v1', `+jsString(old)+`), true)`)
	do(t, ctx, "opening the course page", chromedp.Navigate(url+"/course/"))
	ready := `[...document.querySelectorAll('iframe')].every((f) => f.contentDocument && f.contentDocument.documentElement.dataset.engine === 'ready')`
	waitFor(t, ctx, "the three labs ready", ready)

	lines := []string{"EHLO first.example", "EHLO second.example", "EHLO third.example"}
	eval[bool](t, ctx, `(() => {
		const lines = `+jsString(strings.Join(lines, "\n"))+`.split('\n');
		document.querySelectorAll('iframe').forEach((f, i) => {
			const input = f.contentDocument.getElementById('terminal-input');
			input.value = lines[i];
			input.form.requestSubmit();
		});
		return true;
	})()`)
	waitFor(t, ctx, "each frame's work saved", `(() => {
		const saved = Object.keys(localStorage).map((k) => localStorage.getItem(k)).join('\n');
		return `+jsString(strings.Join(lines, "\n"))+`.split('\n').every((line) => saved.includes(line));
	})()`)

	do(t, ctx, "reloading", chromedp.Reload())
	waitFor(t, ctx, "the three labs ready again", ready)
	waitFor(t, ctx, "their worlds back", `[...document.querySelectorAll('iframe')].every((f) => f.contentDocument.querySelector('#lab [role=region] li[data-code="250"]'))`)
	got := eval[[]string](t, ctx, `[...document.querySelectorAll('iframe')].map((f) => f.contentDocument.querySelector('#lab [role=region]').textContent)`)
	want := [][]string{{lines[0]}, {lines[1]}, {"EHLO old.example", lines[2]}}
	for i, text := range got {
		for _, line := range append(lines, "EHLO old.example") {
			if has := strings.Contains(text, line); has != slices.Contains(want[i], line) {
				t.Errorf("after a reload, frame %d shows %q: %v", i+1, line, has)
			}
		}
	}
	// The lab's own page, opened by itself, still finds its progress.
	if got := eval[string](t, ctx, `localStorage.getItem('smtplab.progress.v1')`); got != old {
		t.Errorf("the progress saved before frames kept their own changed: %s", got)
	}
}

// TestBrowserEmbedIdsArePrefixed: two labs with all their views on one
// course page, which has ids of its own that a lab might pick too. Every
// id a lab makes starts with smtplab-, none is used twice in the page, and
// every label and aria-* reference of a lab finds its element within that
// same lab, so each form control keeps its name.
func TestBrowserEmbedIdsArePrefixed(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle("/lab/", http.StripPrefix("/lab", realSite(t)))
	mux.Handle("/course/", coursePage(`<link rel="stylesheet" href="/lab/css/lab.css"><script type="module" src="/lab/js/smtp-lab.js"></script>`,
		`<p id="terminal-input-1">the course's own</p><p id="tab-network-1">ids</p>`+
			`<smtp-lab scenario="first-session" panels></smtp-lab><smtp-lab scenario="first-session" panels></smtp-lab>`))
	url := serve(t, mux)
	ctx := testTab(t, 90*time.Second)
	eval[bool](t, ctx, `(location.href = '`+url+`/course/', true)`)
	waitFor(t, ctx, "both labs started", `[...document.querySelectorAll('smtp-lab')].every((lab) => lab.querySelector('[role=region] li[data-code="220"]'))`)
	// Start again asks in a dialog of the lab's own: open it, to check
	// its ids too, and leave it.
	eval[bool](t, ctx, `(document.querySelectorAll('smtp-lab').forEach((lab) => lab.querySelector('.smtplab-again').click()), true)`)
	waitFor(t, ctx, "the questions", `document.querySelectorAll('smtp-lab dialog[open]').length === 2`)
	eval[bool](t, ctx, `(document.querySelectorAll('smtp-lab dialog[open]').forEach((d) => d.close()), true)`)

	problems := eval[[]string](t, ctx, `(() => {
		const out = [];
		const count = new Map();
		for (const el of document.querySelectorAll('[id]')) count.set(el.id, (count.get(el.id) || 0) + 1);
		for (const [id, n] of count) if (n > 1) out.push('the id ' + id + ' is used ' + n + ' times');
		document.querySelectorAll('smtp-lab').forEach((lab, i) => {
			const name = 'lab ' + (i + 1) + ': ';
			const own = [...lab.querySelectorAll('[id]')];
			if (own.length < 10) out.push(name + 'only ' + own.length + ' ids: the views are missing');
			for (const el of own) if (!el.id.startsWith('smtplab-')) out.push(name + 'the id ' + el.id + ' has no smtplab- prefix');
			for (const attr of ['for', 'aria-labelledby', 'aria-describedby', 'aria-controls']) {
				for (const el of lab.querySelectorAll('[' + attr + ']')) {
					for (const ref of el.getAttribute(attr).split(/\s+/).filter(Boolean)) {
						const target = document.getElementById(ref);
						if (!target || !lab.contains(target)) out.push(name + attr + '="' + ref + '" does not name an element of this lab');
					}
				}
			}
			for (const el of lab.querySelectorAll('input, select, textarea')) {
				if (el.labels.length === 0 && !el.hasAttribute('aria-label')) out.push(name + 'an unlabelled ' + el.outerHTML.slice(0, 80));
			}
		});
		return out;
	})()`)
	for _, p := range problems {
		t.Error(p)
	}
}

// TestBrowserEmbedPlainAttributes: a course author who follows README's
// <smtp-lab scenario="greylisting" seed="1" panels> and writes the other
// options the same way (panels="network, mailbox", tab, height) gets
// them, as data-scenario gets the scenario; a bare panels beside
// data-panels does not hide the list.
func TestBrowserEmbedPlainAttributes(t *testing.T) {
	labURL := serve(t, realSite(t))
	url := serve(t, coursePage(
		`<link rel="stylesheet" href="`+labURL+`/css/lab.css"><script type="module" src="`+labURL+`/js/smtp-lab.js"></script>`,
		`<smtp-lab id="plain" scenario="greylisting" panels="network, mailbox" tab="mailbox" height="8"></smtp-lab>`+
			`<smtp-lab id="both" scenario="greylisting" panels data-panels="tls"></smtp-lab>`+
			`<smtp-lab id="bare" scenario="greylisting" panels></smtp-lab>`))
	ctx := testTab(t, 60*time.Second)
	eval[bool](t, ctx, `(location.href = '`+url+`/', true)`)
	waitFor(t, ctx, "the labs started", `[...document.querySelectorAll('smtp-lab .smtplab-status')].filter(s => /^Lab:/.test(s.textContent)).length === 3`)
	got := eval[map[string]string](t, ctx, `Object.fromEntries(['plain', 'both', 'bare'].map(id => [id,
		[...document.querySelectorAll('#' + id + ' [role=tab]')].map(b => b.textContent + (b.getAttribute('aria-selected') === 'true' ? '*' : '')).join('|')]))`)
	want := map[string]string{"plain": "Network|Mailbox*", "both": "TLS*", "bare": "Network*|Timeline & queue|TLS|Mailbox"}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("lab %s shows the tabs %q, want %q", id, got[id], w)
		}
	}
	lines := eval[float64](t, ctx, `(() => {
		const tr = document.querySelector('#plain .smtplab-transcript');
		return tr.clientHeight / parseFloat(getComputedStyle(tr).lineHeight);
	})()`)
	if lines < 7.5 || lines > 8.5 {
		t.Errorf("the transcript is %.1f lines high, want 8 (height=\"8\")", lines)
	}
}

// TestBrowserEmbedWarnsOfUnusableOptions: a course page's <smtp-lab> with
// an option the lab cannot use still gets a working lab without it, and
// the console tells the page's author which option was left out and why
// (a page written by hand has no linter). The lab had ignored tab="tsl"
// and height="200" without a word.
func TestBrowserEmbedWarnsOfUnusableOptions(t *testing.T) {
	labURL := serve(t, realSite(t))
	url := serve(t, coursePage(
		`<script>window.warned = []; console.warn = (...a) => window.warned.push(a.join(' '));</script>`+
			`<link rel="stylesheet" href="`+labURL+`/css/lab.css"><script type="module" src="`+labURL+`/js/smtp-lab.js"></script>`,
		`<smtp-lab id="bad" scenario="starttls" tab="tsl" height="200" panels="network, mailbx" prompt=""></smtp-lab>`+
			`<smtp-lab id="good" scenario="starttls" tab="tls" height="8" panels="tls" data-prompt="EHLO x"></smtp-lab>`))
	ctx := testTab(t, 60*time.Second)
	eval[bool](t, ctx, `(location.href = '`+url+`/', true)`)
	waitFor(t, ctx, "both labs started", `[...document.querySelectorAll('smtp-lab .smtplab-status')].filter(s => /^Lab:/.test(s.textContent)).length === 2`)
	got := eval[[]string](t, ctx, `window.warned`)
	want := []string{
		`<smtp-lab id="bad" scenario="starttls">: tab="tsl" is not a view (network, timeline, tls, mailbox): it is left out`,
		`<smtp-lab id="bad" scenario="starttls">: panels="network, mailbx" names "mailbx", not a view (network, timeline, tls, mailbox, or none): it is left out`,
		`<smtp-lab id="bad" scenario="starttls">: height="200" is not a whole number of lines from 4 to 60: it is left out`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("the console says\n%q\nwant\n%q", got, want)
	}
	if tabs := eval[string](t, ctx, `[...document.querySelectorAll('#bad [role=tab]')].map(b => b.textContent).join('|')`); tabs != "Network" {
		t.Errorf("the lab with unusable options shows the tabs %q, want the one it could use", tabs)
	}
}

// TestBrowserEmbedSaysWhyItDidNotStart: a lab whose scenario or seed the
// engine cannot use says why, in the error's colour and with enough
// contrast (it had been the grey of "Loading the lab…"), and the page's
// other labs start all the same.
func TestBrowserEmbedSaysWhyItDidNotStart(t *testing.T) {
	labURL := serve(t, realSite(t))
	url := serve(t, coursePage(
		`<link rel="stylesheet" href="`+labURL+`/css/lab.css"><script type="module" src="`+labURL+`/js/smtp-lab.js"></script>`,
		`<smtp-lab id="typo" scenario="greylistng"></smtp-lab><smtp-lab id="seed" scenario="greylisting" seed="one"></smtp-lab><smtp-lab id="good" scenario="greylisting"></smtp-lab>`))
	ctx := testTab(t, 60*time.Second)
	eval[bool](t, ctx, `(location.href = '`+url+`/', true)`)
	waitFor(t, ctx, "the good lab started", `/^Lab:/.test(document.querySelector('#good .smtplab-status')?.textContent)`)
	for _, id := range []string{"typo", "seed"} {
		waitFor(t, ctx, id+" refused", `!!document.querySelector('#`+id+` .smtplab-status')?.textContent.startsWith('The lab could not start: ')`)
		got := eval[string](t, ctx, `(() => { const s = document.querySelector('#`+id+` .smtplab-status'); return s.classList.contains('smtplab-error') + ' ' + (getComputedStyle(s).color === getComputedStyle(document.querySelector('#good .smtplab-status')).color ? 'grey' : 'coloured'); })()`)
		if got != "true coloured" {
			t.Errorf("lab %s's refusal: error class and colour %q, want \"true coloured\"", id, got)
		}
	}
	if low := eval[[]string](t, ctx, lowContrast); len(low) > 0 {
		t.Errorf("texts under the contrast needed: %q", low)
	}
}
