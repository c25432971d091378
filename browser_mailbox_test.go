package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/accessibility"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// exposedAs says whether the accessibility tree exposes, within the
// element a selector finds, a node whose computed name is name: what a
// screen reader can read out.
func exposedAs(tb testing.TB, ctx context.Context, selector, name string) bool {
	tb.Helper()
	found := false
	do(tb, ctx, "the accessibility tree of "+selector, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		el, err := cdp.Call(ctx, tg, runtime.Evaluate, runtime.EvaluateParams{Expression: `document.querySelector(` + jsString(selector) + `)`})
		if err != nil {
			return err
		}
		res, err := cdp.Call(ctx, tg, accessibility.QueryAXTree, accessibility.QueryAXTreeParams{ObjectID: el.Result.ObjectID, AccessibleName: name})
		if err != nil {
			return err
		}
		for _, n := range res.Nodes {
			found = found || !n.Ignored
		}
		return nil
	}))
	return found
}

// TestBrowserMailboxShowsJunk: in lesson 12's world, a message whose From:
// domain fails DMARC with p=quarantine reaches Bob's mailbox marked
// X-Spam-Flag: YES. The mailbox shows it with a Junk badge, in words a
// screen reader reads too, and says why in one line; an honest message
// has neither. In light and dark, and on a phone.
func TestBrowserMailboxShowsJunk(t *testing.T) {
	url := serve(t, realSite(t))
	var inputs []any
	for _, line := range []string{"EHLO laptop.example.com",
		"MAIL FROM:<carol@example.net>", "RCPT TO:<bob@example.org>", "DATA",
		"From: Carol <carol@example.net>", "Subject: Honest mail", "", "SPF passes for example.net.", ".",
		"MAIL FROM:<carol@example.net>", "RCPT TO:<bob@example.org>", "DATA",
		"From: Shop <news@shop.example>", "Subject: Half price, today only", "", "This shop never sent me.", "."} {
		inputs = append(inputs, map[string]string{"type": line})
	}
	link := permalink(t, url, map[string]any{"scenario": "spf-check", "seed": 1, "inputs": inputs})
	for _, look := range []struct {
		name  string
		dark  bool
		width int64
	}{{"light", false, 1280}, {"dark", true, 1280}, {"phone-390", false, 390}} {
		t.Run(look.name, func(t *testing.T) {
			ctx := testTab(t, 60*time.Second)
			scheme := "light"
			if look.dark {
				scheme = "dark"
			}
			do(t, ctx, "emulating", colorScheme(scheme), chromedp.EmulateViewport(look.width, 900))
			openLab(t, ctx, link)
			do(t, ctx, "the mailbox tab", chromedp.Click(chromedp.CSS(`#lab [role=tab][id^="smtplab-tab-mailbox"]`)))
			waitFor(t, ctx, "both messages", `document.querySelectorAll('#lab .smtplab-message').length === 2`)

			got := eval[map[string]string](t, ctx, `(() => {
				const [honest, junk] = document.querySelectorAll('#lab .smtplab-message');
				const badge = junk.querySelector('.smtplab-junk-badge');
				const why = junk.querySelector('.smtplab-junk-why');
				if (!badge || !why) return { missing: junk.innerText };
				badge.scrollIntoView({ block: 'center' });
				const s = getComputedStyle(badge);
				return {
					honest: String(!!honest.querySelector('.smtplab-junk-badge, .smtplab-junk-why')),
					subject: junk.querySelector('p').innerText,
					badge: badge.textContent,
					shown: String(badge.getClientRects().length > 0 && s.visibility === 'visible'),
					colours: s.color + ' on ' + s.backgroundColor,
					why: why.textContent,
				};
			})()`)
			if got["missing"] != "" {
				t.Fatalf("the quarantined message shows no Junk badge and reason:\n%s", got["missing"])
			}
			if got["honest"] != "false" {
				t.Error("the honest message is marked as junk")
			}
			if got["badge"] != "Junk" || got["shown"] != "true" || !strings.HasPrefix(got["subject"], "Junk") {
				t.Errorf("the badge says %q (shown: %s) in %q", got["badge"], got["shown"], got["subject"])
			}
			if fg, bg, _ := strings.Cut(got["colours"], " on "); fg == bg {
				t.Errorf("the badge's text is the colour of its background: %s", got["colours"])
			}
			for _, want := range []string{"mx.example.org", "DMARC", "shop.example", "quarantine", "RFC 7489"} {
				if !strings.Contains(got["why"], want) {
					t.Errorf("the reason %q does not say %q", got["why"], want)
				}
			}
			if strings.Count(got["why"], "\n") > 0 {
				t.Errorf("the reason is more than one line: %q", got["why"])
			}
			if w := eval[int64](t, ctx, `document.documentElement.scrollWidth`); w > look.width {
				t.Errorf("the page is %d px wide on a %d px screen", w, look.width)
			}
			if !exposedAs(t, ctx, "#lab .smtplab-message:nth-child(2)", "Junk") {
				t.Error("a screen reader does not hear the Junk badge")
			}
			save(t, ctx, chromedp.CaptureScreenshot(), "mailbox-junk-"+look.name+".png")
		})
	}
}

// TestBrowserMailboxDecodesSubject: the mail client sends a Subject
// beyond ASCII as RFC 2047 encoded-words and a text with a line over 998
// octets as quoted-printable. The mailbox shows the Subject and, in its
// Text view (opened with the keyboard), the text as the learner wrote
// them, as text (markup in them stays letters), and its raw source shows
// what went over the wire.
func TestBrowserMailboxDecodesSubject(t *testing.T) {
	url := serve(t, realSite(t))
	ctx := testTab(t, 60*time.Second)
	openLab(t, ctx, url)
	const subject = `Grüße aus Köln <b>bold?</b> 日本語`
	long := strings.Repeat("0123456789", 120)
	text := "Grüße, <i>Alice</i>.\n" + long + "\n"
	do(t, ctx, "writing a message", chromedp.Click(chromedp.CSS(`[role=tab][id^="smtplab-tab-mailbox"]`)),
		chromedp.Click(chromedp.CSS(`.smtplab-compose-box summary`)),
		chromedp.SetValue(chromedp.CSS(`.smtplab-compose input[name=from]`), "alice@example.com"),
		chromedp.SetValue(chromedp.CSS(`.smtplab-compose input[name=to]`), "bob@example.org"),
		chromedp.SetValue(chromedp.CSS(`.smtplab-compose input[name=subject]`), subject),
		chromedp.SetValue(chromedp.CSS(`.smtplab-compose textarea`), text),
		chromedp.Click(chromedp.CSS(`.smtplab-compose button[type=submit]`)))
	waitFor(t, ctx, "the message in Bob's mailbox", `document.querySelectorAll('.smtplab-panel-mailbox .smtplab-message').length === 1`)
	pressEnter(t, ctx, `.smtplab-panel-mailbox .smtplab-message details:has(.smtplab-message-text) summary`)
	got := eval[map[string]string](t, ctx, `(() => {
		const m = document.querySelector('.smtplab-panel-mailbox .smtplab-message');
		const text = m.querySelector('.smtplab-message-text');
		const strong = m.querySelector('strong');
		return { shown: strong.textContent, markup: String(strong.children.length), raw: m.querySelector('.smtplab-raw').textContent,
			text: text.textContent, textShown: String(text.getClientRects().length > 0), textMarkup: String(text.children.length) };
	})()`)
	if want := strings.ReplaceAll(text, "\n", "\r\n"); got["text"] != want || got["textShown"] != "true" || got["textMarkup"] != "0" {
		t.Errorf("the Text view shows %q (shown: %s, %s elements in it), want %q as text", got["text"], got["textShown"], got["textMarkup"], want)
	}
	if got["shown"] != subject || got["markup"] != "0" {
		t.Errorf("the mailbox shows the Subject as %q (%s elements in it), want %q as text", got["shown"], got["markup"], subject)
	}
	raw := got["raw"]
	if !strings.Contains(raw, "Subject: =?utf-8?b?") || strings.Contains(raw, "Grüße") ||
		!strings.Contains(raw, "Content-Transfer-Encoding: quoted-printable") || strings.Contains(raw, long) {
		t.Errorf("the raw source does not show the Subject's encoded-words and the quoted-printable text:\n%s", raw)
	}
	for i, line := range strings.Split(raw, "\n") {
		if len(strings.TrimSuffix(line, "\r")) > 998 {
			t.Errorf("raw line %d is %d octets long", i+1, len(line))
		}
	}
}

// TestBrowserMailboxKeepsOpenViews: a delivery that comes while the
// learner reads a message's Text view rebuilds the mailbox list, and the
// view stays open, with the keyboard focus where it was.
func TestBrowserMailboxKeepsOpenViews(t *testing.T) {
	url := serve(t, realSite(t))
	ctx := testTab(t, 60*time.Second)
	openLab(t, ctx, url)
	const form = `.smtplab-panel-mailbox form.smtplab-compose`
	do(t, ctx, "writing a message", chromedp.Click(chromedp.CSS(`[role=tab][id^="smtplab-tab-mailbox"]`)),
		chromedp.Click(chromedp.CSS(`.smtplab-compose-box summary`)),
		chromedp.SetValue(chromedp.CSS(form+` input[name=from]`), "alice@example.com"),
		chromedp.SetValue(chromedp.CSS(form+` input[name=to]`), "bob@example.org"),
		chromedp.SetValue(chromedp.CSS(form+` input[name=subject]`), "first"),
		chromedp.SetValue(chromedp.CSS(form+` textarea`), "the first one"),
		chromedp.Click(chromedp.CSS(form+` button[type=submit]`)))
	const messages = `document.querySelectorAll('.smtplab-panel-mailbox .smtplab-message')`
	waitFor(t, ctx, "the first message delivered", messages+`.length === 1`)
	pressEnter(t, ctx, `.smtplab-panel-mailbox .smtplab-message details:has(.smtplab-message-text) summary`)
	// The second message goes without touching the page's focus.
	eval[bool](t, ctx, `(() => {
		const f = document.querySelector('`+form+`');
		f.querySelector('input[name=subject]').value = 'second';
		f.requestSubmit();
		return true;
	})()`)
	waitFor(t, ctx, "the second message delivered", messages+`.length === 2`)
	got := eval[map[string]bool](t, ctx, `(() => {
		const first = [...`+messages+`].find((m) => m.querySelector('strong').textContent === 'first');
		const text = first.querySelector('details:has(.smtplab-message-text)');
		return { open: text.open, focused: document.activeElement === text.querySelector('summary'),
			othersClosed: [...document.querySelectorAll('.smtplab-panel-mailbox .smtplab-message details[open]')].length === 1 };
	})()`)
	if !got["open"] || !got["focused"] || !got["othersClosed"] {
		t.Errorf("after a new delivery: Text view open %v, its summary focused %v, no other view opened %v; want all true", got["open"], got["focused"], got["othersClosed"])
	}
}
