package main

// The page checked by axe-core, the accessibility engine of the npm package
// axe-core, in the states a learner sees. Its version is pinned in
// testdata/a11y/package.json (and package-lock.json); `make axe`, which
// `make test` and .ci/run run, installs it. A missing axe-core fails the
// test, as a missing Chromium does: it is never skipped.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// axePath is where `make axe` (npm ci --prefix testdata/a11y) puts axe-core.
const axePath = "testdata/a11y/node_modules/axe-core/axe.min.js"

var axeScript struct {
	once sync.Once
	src  string
	err  error
}

// axeSource returns axe-core's script, read once.
func axeSource(tb testing.TB) string {
	tb.Helper()
	axeScript.once.Do(func() {
		b, err := os.ReadFile(filepath.FromSlash(axePath))
		if err != nil {
			axeScript.err = fmt.Errorf("no axe-core at %s: run `make axe` (or `npm ci --prefix testdata/a11y`) first: %w", axePath, err)
			return
		}
		axeScript.src = string(b)
	})
	if axeScript.err != nil {
		tb.Fatal(axeScript.err)
	}
	return axeScript.src
}

// axeTags are the rules the page is held to: WCAG 2.0 and 2.1, levels A
// and AA.
var axeTags = []string{"wcag2a", "wcag2aa", "wcag21a", "wcag21aa"}

type axeNode struct {
	Target  []string `json:"target"`
	HTML    string   `json:"html"`
	Summary string   `json:"failureSummary"`
}

type axeViolation struct {
	ID     string    `json:"id"`
	Impact string    `json:"impact"`
	Help   string    `json:"help"`
	Nodes  []axeNode `json:"nodes"`
}

// checkAxe injects axe-core into the page (once per document: DevTools'
// evaluation is not bound by the page's Content-Security-Policy, which
// stays as it is) and fails the test with every violation of axeTags in
// the page as it is now, each with the elements it found it on.
func checkAxe(tb testing.TB, ctx context.Context, state string) {
	tb.Helper()
	// What a change of size has set going (a lesson's code block made a
	// tab stop when it overflows, by a ResizeObserver) is done by the
	// second frame.
	eval[bool](tb, ctx, `new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(() => done(true))))`)
	if !eval[bool](tb, ctx, `typeof window.axe === 'object'`) {
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](axeSource(tb))); err != nil {
			tb.Fatalf("%s: injecting axe-core: %v", state, err)
		}
	}
	tags := make([]string, len(axeTags))
	for i, tag := range axeTags {
		tags[i] = jsString(tag)
	}
	violations := eval[[]axeViolation](tb, ctx, `axe.run(document, {
		runOnly: { type: 'tag', values: [`+strings.Join(tags, ", ")+`] },
		resultTypes: ['violations'],
	}).then((r) => r.violations.map((v) => ({
		id: v.id, impact: v.impact, help: v.help,
		nodes: v.nodes.map((n) => ({ target: n.target.map(String), html: n.html, failureSummary: n.failureSummary })),
	})))`)
	for _, v := range violations {
		var b strings.Builder
		fmt.Fprintf(&b, "%s: %s (%s): %s, %d element(s):", state, v.ID, v.Impact, v.Help, len(v.Nodes))
		for _, n := range v.Nodes {
			html := n.HTML
			if len(html) > 200 {
				html = html[:200] + "…"
			}
			fmt.Fprintf(&b, "\n    %s\n      %s\n      %s", strings.Join(n.Target, " "), html, strings.ReplaceAll(n.Summary, "\n", "\n      "))
		}
		tb.Error(b.String())
	}
}

// TestBrowserAxe checks the page with axe-core in light and dark: as it
// loads (lesson 1 open, a hint shown); after a few commands, STARTTLS
// among them, with a reply's explanation open, raw mode on and the Connect
// form open; in each view tab with everything in it unfolded (a minute
// let pass in the timeline, the ciphertext shown in the TLS tab); with the
// mail client open, and with a long message sent and opened in the
// mailbox; with the dialog that asks before the solution shows, and with
// the solution shown. Then on a phone (390x844): loaded, after a few commands, and
// with each other lesson open. Last the live view of real clients'
// sessions, in each of its tabs.
func TestBrowserAxe(t *testing.T) {
	axeSource(t)
	url := serve(t, realSite(t))
	const unfold = `(() => { document.querySelectorAll('#lab details').forEach((d) => { d.open = true; }); return true; })()`
	for _, scheme := range []string{"light", "dark"} {
		t.Run(scheme, func(t *testing.T) {
			ctx := testTab(t, 60*time.Second)
			do(t, ctx, "emulating "+scheme, colorScheme(scheme))
			openLab(t, ctx, url)
			waitFor(t, ctx, "lesson 1's help", `!document.getElementById('btn-hint').disabled`)
			do(t, ctx, "a hint", chromedp.Click(chromedp.ID("btn-hint")))
			checkAxe(t, ctx, scheme+", loaded")

			typeLines(t, ctx, "EHLO me.example.com", "STARTTLS")
			waitFor(t, ctx, "the handshake", `[...document.querySelectorAll('#lab .smtplab-transcript .smtplab-note')].some(n => n.textContent.includes('TLS finished'))`)
			typeLines(t, ctx, "EHLO me.example.com", "MAIL FROM:<alice@example.com>", "RCPT TO:<nobody@example.org>")
			pressEnter(t, ctx, "#lab .smtplab-transcript .smtplab-reply:last-child summary")
			do(t, ctx, "raw mode on", chromedp.Focus(chromedp.ID("terminal-input")), chromedp.KeyEvent("r", chromedp.KeyModifiers(chromedp.ModifierAlt)))
			pressEnter(t, ctx, "#lab .smtplab-connect > summary")
			checkAxe(t, ctx, scheme+", commands typed")

			tabs := eval[[]string](t, ctx, `[...document.querySelectorAll('#lab [role=tab]')].map((b) => b.id)`)
			if len(tabs) < 4 {
				t.Errorf("the lab has %d view tabs: %q", len(tabs), tabs)
			}
			for _, id := range tabs {
				do(t, ctx, id, chromedp.Click(chromedp.ID(id)))
				switch {
				case strings.HasPrefix(id, "smtplab-tab-timeline"):
					do(t, ctx, "a minute", chromedp.Click(chromedp.CSS(`#lab .smtplab-panel-timeline button[data-seconds="60"]`)))
					waitFor(t, ctx, "a minute later", `document.querySelector('#lab .smtplab-panel-timeline .smtplab-clock').textContent.includes('0:01:00')`)
				case strings.HasPrefix(id, "smtplab-tab-tls"):
					do(t, ctx, "the ciphertext", chromedp.Click(chromedp.CSS(`#lab .smtplab-panel-tls input[type=checkbox]`)))
				}
				eval[bool](t, ctx, unfold)
				checkAxe(t, ctx, scheme+", "+id)
			}

			// The mailbox tab, the last, is open with its mail client.
			if !eval[bool](t, ctx, `document.querySelector('#lab .smtplab-compose-box').open && !document.querySelector('#lab .smtplab-compose').closest('[hidden]')`) {
				t.Fatal("the mail client was not in sight")
			}
			// A message longer than its boxes in the mailbox, which scroll.
			do(t, ctx, "a message", chromedp.SendKeys(chromedp.CSS(`#lab .smtplab-compose input[name=from]`), "alice@example.com"),
				chromedp.SendKeys(chromedp.CSS(`#lab .smtplab-compose input[name=to]`), "bob@example.org"),
				chromedp.SetValue(chromedp.CSS(`#lab .smtplab-compose textarea`), strings.Repeat("A line of a long message.\n", 60)),
				chromedp.Click(chromedp.CSS(`#lab .smtplab-compose button[type=submit]`)))
			waitFor(t, ctx, "the message in the mailbox", `document.querySelectorAll('#lab .smtplab-message').length > 0`)
			eval[bool](t, ctx, unfold)
			checkAxe(t, ctx, scheme+", a message in the mailbox")

			do(t, ctx, "Show the solution…", chromedp.Click(chromedp.ID("btn-solution")))
			waitFor(t, ctx, "the dialog", `document.getElementById('confirm-dialog').open`)
			checkAxe(t, ctx, scheme+", the dialog")
			do(t, ctx, "OK", chromedp.Click(chromedp.ID("confirm-ok")))
			waitFor(t, ctx, "the solution", `!document.getElementById('solution').hidden`)
			checkAxe(t, ctx, scheme+", the solution shown")
		})
	}
	t.Run("phone", func(t *testing.T) {
		ctx := testTab(t, 60*time.Second)
		do(t, ctx, "a phone", phoneView)
		openLab(t, ctx, url)
		checkAxe(t, ctx, "phone, loaded")
		typeLines(t, ctx, "EHLO me.example.com", "NOOP")
		pressEnter(t, ctx, "#lab .smtplab-transcript .smtplab-reply:last-child summary")
		checkAxe(t, ctx, "phone, commands typed")
		// Every lesson: on a phone their code blocks and tables scroll
		// sideways.
		for _, slug := range eval[[]string](t, ctx, `JSON.parse(document.getElementById('lesson-data').textContent).map((l) => l.slug)`)[1:] {
			eval[bool](t, ctx, `(location.hash = 'lesson=`+slug+`', true)`)
			waitFor(t, ctx, slug+" shown", `document.querySelector('article.smtplab-lesson[data-slug="`+slug+`"]:not([hidden])')?.dataset.loaded === 'yes'`)
			checkAxe(t, ctx, "phone, "+slug)
		}
	})
	// The live view of real clients' sessions (make serve FLAGS=-smtp ...),
	// after a session, in each of its tabs.
	t.Run("live", func(t *testing.T) {
		_, ctx, addr := openLive(t)
		sendPlain(t, addr, "alice@example.com", "bob@example.org", "Subject: hi\r\n\r\nHello Bob.\r\n", nil)
		waitFor(t, ctx, "the session in the live view", `document.querySelectorAll('#live .smtplab-transcript .smtplab-reply[data-code="221"]').length === 1`)
		checkAxe(t, ctx, "live view")
		for _, id := range eval[[]string](t, ctx, `[...document.querySelectorAll('#live [role=tab]')].map((b) => b.id)`) {
			do(t, ctx, id, chromedp.Click(chromedp.ID(id)))
			eval[bool](t, ctx, `(() => { document.querySelectorAll('#live details').forEach((d) => { d.open = true; }); return true; })()`)
			checkAxe(t, ctx, "live view, "+id)
		}
	})
}
