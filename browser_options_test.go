package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserLabOptions embeds a lab the way a lesson's block with every
// option renders (tab, panels, height, prompt as data- attributes) and
// checks that each one shows: only the named tabs, the named one open, a
// transcript of the given height, the prompt in the terminal and sent as
// it is by Enter.
func TestBrowserLabOptions(t *testing.T) {
	url := serve(t, realSite(t))
	ctx := testTab(t, 60*time.Second)
	openLab(t, ctx, url)
	embedLab(t, ctx, "embedded", "first-session",
		map[string]string{"tab": "timeline", "panels": "network, timeline", "height": "8", "prompt": "EHLO options.example"})
	waitFor(t, ctx, "the embedded greeting", `document.querySelectorAll('#embedded .smtplab-transcript .smtplab-reply[data-code="220"]').length === 1`)

	tabs := eval[[]string](t, ctx, `[...document.querySelectorAll('#embedded [role=tab]')].map(b => b.textContent + (b.getAttribute('aria-selected') === 'true' ? '*' : ''))`)
	if strings.Join(tabs, "|") != "Network|Timeline & queue*" {
		t.Errorf("tabs %q, want Network and Timeline & queue, the second open", tabs)
	}
	if !eval[bool](t, ctx, `!document.querySelector('#embedded .smtplab-panel-timeline').closest('[role=tabpanel]').hidden`) {
		t.Error("the timeline panel is hidden")
	}
	lines := eval[float64](t, ctx, `(() => {
		const tr = document.querySelector('#embedded .smtplab-transcript');
		return tr.clientHeight / parseFloat(getComputedStyle(tr).lineHeight);
	})()`)
	if lines < 7.5 || lines > 8.5 {
		t.Errorf("the transcript is %.1f lines high, want 8", lines)
	}
	id := eval[string](t, ctx, `document.querySelector('#embedded .smtplab-terminal-input').id`)
	if got := eval[string](t, ctx, `document.getElementById('`+id+`').value`); got != "EHLO options.example" {
		t.Errorf("terminal holds %q, want the prompt", got)
	}
	waitFor(t, ctx, "the embedded terminal enabled", `!document.getElementById('`+id+`').disabled`)
	do(t, ctx, "sending the prompt", chromedp.SendKeys(chromedp.ID(id), "\r"))
	waitFor(t, ctx, "the reply to the prompt", `document.querySelectorAll('#embedded .smtplab-transcript .smtplab-reply[data-code="250"]').length > 0`)

	// A lab without options keeps the element's old look: no tabs.
	embedLab(t, ctx, "plain", "first-session", nil)
	waitFor(t, ctx, "the plain greeting", `document.querySelectorAll('#plain .smtplab-transcript .smtplab-reply[data-code="220"]').length === 1`)
	if n := eval[int](t, ctx, `document.querySelectorAll('#plain [role=tab]').length`); n != 0 {
		t.Errorf("a lab without options shows %d tabs", n)
	}
}

// TestBrowserLessonLabTab presses the lab button of a lesson whose block
// names a tab (05: tab: timeline) and checks the lab beside the lesson
// opens it.
func TestBrowserLessonLabTab(t *testing.T) {
	url := serve(t, realSite(t))
	ctx := testTab(t, 60*time.Second)
	openLab(t, ctx, url+"/#lesson=05-queues-and-retries")
	selected := `document.querySelector('#lab [role=tab][aria-selected=true]').textContent`
	if got := eval[string](t, ctx, selected); got != "Network" {
		t.Fatalf("open tab before the button: %q", got)
	}
	do(t, ctx, "pressing the lab button", chromedp.Click(chromedp.CSS(`#lesson-05-queues-and-retries smtp-lab button.smtplab-open-lab`)))
	waitFor(t, ctx, "the timeline tab open", selected+` === 'Timeline & queue'`)
	waitFor(t, ctx, "the timeline panel shown", `!document.querySelector('#lab .smtplab-panel-timeline').closest('[role=tabpanel]').hidden && document.querySelector('#lab .smtplab-panel-timeline .smtplab-clock').textContent.includes('Virtual time')`)
	if got := eval[string](t, ctx, `document.activeElement.id`); got != "terminal-input" {
		t.Errorf("focus on %q after the button, want the terminal", got)
	}
}

// embedLab does what a course page does: load /js/smtp-lab.js and write an
// <smtp-lab> element with the given id, scenario and data- options at the
// end of the page.
func embedLab(tb testing.TB, ctx context.Context, id, scenario string, data map[string]string) {
	tb.Helper()
	args, err := json.Marshal(map[string]any{"id": id, "scenario": scenario, "data": data})
	if err != nil {
		tb.Fatal(err)
	}
	eval[bool](tb, ctx, `import('/js/smtp-lab.js').then(() => {
		const args = `+string(args)+`;
		const el = document.createElement('smtp-lab');
		el.id = args.id;
		el.setAttribute('scenario', args.scenario);
		Object.assign(el.dataset, args.data || {});
		document.body.append(el);
		return true;
	})`)
}

// TestBrowserLessonSPF presses lesson 12's lab button for the spf-check
// scenario, sends the line it types (a sender whose domain does not allow
// the laptop) and reads the refusal, its SPF verdict and its explanation;
// then a message whose From: line DMARC refuses, and one it quarantines;
// then a message from the mail client, signed on its way and checked with
// DKIM.
func TestBrowserLessonSPF(t *testing.T) {
	url := serve(t, realSite(t))
	ctx := testTab(t, 60*time.Second)
	openLab(t, ctx, url+"/#lesson=12-who-really-sent-this")
	do(t, ctx, "pressing the lab button", chromedp.Click(chromedp.CSS(`#lesson-12-who-really-sent-this smtp-lab[scenario="spf-check"] button.smtplab-open-lab`)))
	waitFor(t, ctx, "the spf-check scenario", `document.getElementById('scenario-picker').value === 'spf-check' && document.getElementById('terminal-input').value === 'MAIL FROM:<alice@example.com>'`)
	// The server wants EHLO first: put the prompt aside and say it.
	eval[string](t, ctx, `document.getElementById('terminal-input').value = ''`)
	typeLines(t, ctx, "EHLO laptop.example.com", "MAIL FROM:<alice@example.com>")
	waitFor(t, ctx, "the refusal", `document.querySelector('#lab .smtplab-transcript').textContent.includes('550 5.7.23')`)
	got := transcript(t, ctx)
	verdict := strings.Index(got, `SPF check of example.com ("v=spf1 mx -all") for client 192.0.2.10: fail`)
	command := strings.Index(got, "MAIL FROM:<alice@example.com>")
	refusal := strings.Index(got, "550 5.7.23")
	if command < 0 || verdict < command || refusal < verdict {
		t.Errorf("want the command, the verdict, then the refusal; transcript:\n%s", got)
	}
	lastReply := `[...document.querySelectorAll('#lab .smtplab-transcript .smtplab-reply')].pop().textContent`
	if explained := eval[string](t, ctx, lastReply); !strings.Contains(explained, "RFC 7208") || !strings.Contains(explained, "-all") {
		t.Errorf("the refusal's explanation: %q", explained)
	}
	// DMARC: SPF passes for example.net, the From: line says example.com.
	typeLines(t, ctx, "MAIL FROM:<carol@example.net>", "RCPT TO:<bob@example.org>", "DATA",
		"From: Alice <alice@example.com>", "", "Trust me.", ".")
	waitFor(t, ctx, "the DMARC refusal", `document.querySelector('#lab .smtplab-transcript').textContent.includes('550 5.7.1 Message rejected: the DMARC policy of example.com')`)
	if explained := eval[string](t, ctx, lastReply); !strings.Contains(explained, "RFC 7489") {
		t.Errorf("the DMARC refusal's explanation: %q", explained)
	}
	// shop.example asks for quarantine: the same failure is let in, marked.
	typeLines(t, ctx, "MAIL FROM:<carol@example.net>", "RCPT TO:<bob@example.org>", "DATA",
		"From: Shop <news@shop.example>", "", "Buy now.", ".")
	waitFor(t, ctx, "the quarantine", `document.querySelector('#lab .smtplab-transcript').textContent.includes('Quarantined: the message is accepted')`)
	// DKIM: Alice's mail client goes through smtp.example.com, which
	// signs; mx.example.org checks the signature and lets it in.
	do(t, ctx, "mailbox tab", chromedp.Click(chromedp.CSS(`#lab [role=tab][id^="smtplab-tab-mailbox"]`)))
	eval[bool](t, ctx, `(() => {
		const f = document.querySelector('.smtplab-panel-mailbox form.smtplab-compose');
		f.elements.from.value = 'alice@example.com';
		f.elements.to.value = 'bob@example.org';
		f.elements.subject.value = 'Signed';
		f.elements.body.value = 'Hello Bob.';
		f.requestSubmit();
		return true;
	})()`)
	waitFor(t, ctx, "the signed message in Bob's mailbox", `document.querySelector('.smtplab-panel-mailbox').textContent.includes('dkim=pass header.d=example.com header.s=lab')`)
	if box := eval[string](t, ctx, `document.querySelector('.smtplab-panel-mailbox').textContent`); !strings.Contains(box, "X-Spam-Flag: YES") {
		t.Errorf("the quarantined message is not marked in Bob's mailbox:\n%s", box)
	}
	got = transcript(t, ctx)
	for _, want := range []string{"DKIM: signed for example.com", "DKIM signature by example.com (s=lab): pass"} {
		if !strings.Contains(got, want) {
			t.Errorf("the transcript lacks %q:\n%s", want, got)
		}
	}
}
