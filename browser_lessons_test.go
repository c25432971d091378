package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// solutionStep is a lesson's solution step as the page gets it (the
// lesson-data JSON): exactly one field is set, or none for an empty line.
type solutionStep struct {
	Type    string          `json:"type"`
	Raw     string          `json:"raw"`
	Submit  json.RawMessage `json:"submit"`
	Advance string          `json:"advance"`
	Connect string          `json:"connect"`
	Lab     string          `json:"lab"`
}

// TestBrowserLessonSolutions does every lesson's solution by hand in the
// page, the way its solution list tells a learner to: lines in the
// terminal, raw bytes in raw mode, messages with the mail client form,
// time with the timeline's "Let pass" field, another host and port with
// "Connect…" above the terminal. Every goal must tick.
func TestBrowserLessonSolutions(t *testing.T) {
	url := serve(t, realSite(t))
	probe := testTab(t, 30*time.Second)
	do(t, probe, "loading the page", chromedp.Navigate(url))
	lessons := eval[[]struct {
		Slug     string         `json:"slug"`
		Solution []solutionStep `json:"solution"`
	}](t, probe, `(async () => {
		// The page carries the first lesson's solution; the others' come
		// from the URL in help.
		const lessons = JSON.parse(document.getElementById('lesson-data').textContent);
		for (const l of lessons) if (l.help) Object.assign(l, await (await fetch(l.help)).json());
		return lessons;
	})()`)
	if len(lessons) < 6 {
		t.Fatalf("only %d lessons in the page", len(lessons))
	}
	for _, l := range lessons {
		t.Run(l.Slug, func(t *testing.T) {
			ctx := testTab(t, 120*time.Second)
			openLab(t, ctx, url+"/#lesson="+l.Slug)
			waitFor(t, ctx, "the goals", `document.querySelectorAll('#goal-list li').length > 0`)
			for i, st := range l.Solution {
				doStep(t, ctx, i, st)
			}
			waitFor(t, ctx, "every goal done",
				`document.querySelectorAll('#goal-list li').length === document.querySelectorAll('#goal-list li.smtplab-done').length`)

			// The solution list says how to do each step.
			do(t, ctx, "solution", chromedp.Click(chromedp.ID("btn-solution")))
			waitFor(t, ctx, "the question", `document.getElementById('confirm-dialog').open`)
			do(t, ctx, "confirm", chromedp.Click(chromedp.ID("confirm-ok")))
			waitFor(t, ctx, "the solution", `!document.getElementById('solution').hidden`)
			shown := eval[[]string](t, ctx, `[...document.querySelectorAll('#solution-list li')].map(li => li.textContent)`)
			if len(shown) != len(l.Solution) {
				t.Fatalf("the solution list has %d steps, the lesson %d", len(shown), len(l.Solution))
			}
			for i, st := range l.Solution {
				switch {
				case st.Raw != "" && !(strings.HasPrefix(shown[i], "Raw bytes") && strings.Contains(shown[i], st.Raw)):
					t.Errorf("step %d (raw) shows as %q", i+1, shown[i])
				case st.Submit != nil && !strings.Contains(shown[i], "mail client"):
					t.Errorf("step %d (submit) shows as %q", i+1, shown[i])
				case st.Advance != "" && !strings.Contains(shown[i], st.Advance):
					t.Errorf("step %d (advance) shows as %q", i+1, shown[i])
				case st.Connect != "" && !(strings.Contains(shown[i], "Connect…") && strings.Contains(shown[i], st.Connect)):
					t.Errorf("step %d (connect) shows as %q", i+1, shown[i])
				case st.Lab != "" && !strings.Contains(shown[i], "Open another lab: "+st.Lab):
					t.Errorf("step %d (lab) shows as %q", i+1, shown[i])
				}
			}
		})
	}
}

// TestBrowserLessonHelpFitsAPhone: every lesson, with all its hints and
// its solution shown, fits a 390-px phone: a long base64 line or raw step
// wraps instead of pushing the page sideways.
func TestBrowserLessonHelpFitsAPhone(t *testing.T) {
	url := serve(t, realSite(t))
	ctx := testTab(t, 120*time.Second)
	do(t, ctx, "a phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulateTouch))
	openLab(t, ctx, url)
	slugs := eval[[]string](t, ctx, `JSON.parse(document.getElementById('lesson-data').textContent).map(l => l.slug)`)
	for _, slug := range slugs {
		eval[bool](t, ctx, `(location.hash = 'lesson=`+slug+`', true)`)
		waitFor(t, ctx, slug+" shown", `!!document.querySelector('article.smtplab-lesson[data-slug="`+slug+`"]:not([hidden])') && document.querySelectorAll('#goal-list li').length > 0`)
		// Every lesson has a solution: its button is enabled once the
		// lesson's help has come.
		waitFor(t, ctx, slug+"'s help", `!document.getElementById('btn-solution').disabled`)
		waitFor(t, ctx, slug+"'s hints all shown", `(() => { const b = document.getElementById('btn-hint'); if (!b.disabled) b.click(); return b.disabled; })()`)
		do(t, ctx, "solution", chromedp.Click(chromedp.ID("btn-solution")))
		waitFor(t, ctx, "the question", `document.getElementById('confirm-dialog').open`)
		do(t, ctx, "confirm", chromedp.Click(chromedp.ID("confirm-ok")))
		waitFor(t, ctx, slug+"'s solution", `!document.getElementById('solution').hidden`)
		if w := eval[int](t, ctx, `document.documentElement.scrollWidth`); w > 390 {
			wide := eval[string](t, ctx, `[...document.querySelectorAll('#hint-list *, #solution-list *')].filter(e => e.getBoundingClientRect().right > 390).map(e => e.tagName + ': ' + e.textContent.slice(0, 60)).slice(0, 3).join(' | ')`)
			t.Errorf("%s with its help shown is %d px wide on a 390 px phone: %s", slug, w, wide)
		}
	}
}

// transcriptGrew is a condition: the main transcript has more lines than n.
func transcriptGrew(n int) string {
	return fmt.Sprintf(`document.querySelectorAll('#lab .smtplab-transcript li').length > %d`, n)
}

// doStep does one solution step through the page's controls.
func doStep(t *testing.T, ctx context.Context, i int, st solutionStep) {
	t.Helper()
	what := fmt.Sprintf("step %d", i+1)
	setRaw := func(on bool) {
		if eval[bool](t, ctx, `document.querySelector('#lab .smtplab-raw-toggle').checked`) != on {
			do(t, ctx, what+": raw mode", chromedp.Click(chromedp.CSS("#lab .smtplab-raw-toggle")))
		}
	}
	switch {
	case st.Lab != "":
		// The lesson's button for that lab, as the solution list says.
		ok := eval[bool](t, ctx, fmt.Sprintf(`(() => {
			const b = [...document.querySelectorAll('article.smtplab-lesson:not([hidden]) button.smtplab-open-lab')]
				.find((b) => b.textContent.includes('(' + %s + ')'));
			if (b) b.click();
			return !!b;
		})()`, jsString(st.Lab)))
		if !ok {
			t.Fatalf("%s: the lesson has no button for the %s lab", what, st.Lab)
		}
		waitFor(t, ctx, what+": the "+st.Lab+" lab", fmt.Sprintf(`document.getElementById('scenario-picker').value === %s && !document.getElementById('terminal-input').disabled`, jsString(st.Lab)))
	case st.Advance != "":
		// "Let pass" is on the timeline tab, as for a learner.
		do(t, ctx, what+": timeline tab", chromedp.Click(chromedp.CSS(`#lab [role=tab][id^="smtplab-tab-timeline"]`)))
		clock := eval[string](t, ctx, `document.querySelector('.smtplab-panel-timeline .smtplab-clock').textContent`)
		eval[bool](t, ctx, fmt.Sprintf(`(() => { const f = document.querySelector('.smtplab-panel-timeline .smtplab-advance-custom'); f.querySelector('input').value = %s; f.requestSubmit(); return true; })()`, jsString(st.Advance)))
		waitFor(t, ctx, what+": time passed", fmt.Sprintf(`document.querySelector('.smtplab-panel-timeline .smtplab-clock').textContent !== %s && document.querySelector('.smtplab-panel-timeline .smtplab-advance-for').value === ''`, jsString(clock)))
	case st.Connect != "":
		// "Connect…" above the terminal: open it, choose the host, then
		// the port (the ports follow the host), and connect.
		host, port, _ := strings.Cut(st.Connect, ":")
		do(t, ctx, what+": Connect…", chromedp.Click(chromedp.CSS(`#lab .smtplab-connect > summary`)))
		waitFor(t, ctx, what+": the hosts", `document.querySelector('#lab .smtplab-connect select[name=host]').options.length > 0`)
		if !eval[bool](t, ctx, fmt.Sprintf(`(() => {
			const f = document.querySelector('#lab .smtplab-connect form');
			f.elements.host.value = %s;
			f.elements.host.dispatchEvent(new Event('change'));
			f.elements.port.value = %s;
			if (f.elements.host.value !== %[1]s || f.elements.port.value !== %[2]s) return false;
			f.requestSubmit();
			return true;
		})()`, jsString(host), jsString(port))) {
			t.Fatalf("%s: the Connect… form does not offer %s", what, st.Connect)
		}
		// Connected, or the terminal's word that it could not.
		waitFor(t, ctx, what+": the terminal's status", fmt.Sprintf(`!document.querySelector('#lab .smtplab-connect').open &&
			document.querySelector('#lab .smtplab-conn-status').textContent.includes(%s)`, jsString(st.Connect)))
	case st.Submit != nil:
		eval[bool](t, ctx, fmt.Sprintf(`(() => {
			const m = %s;
			const f = document.querySelector('.smtplab-panel-mailbox form.smtplab-compose');
			f.elements.from.value = m.from;
			f.elements.to.value = (m.to || []).join(', ');
			f.elements.subject.value = m.subject || '';
			f.elements.body.value = m.body || '';
			// The files of an earlier step go; this step's are chosen as
			// a learner's would be (their content comes in base64).
			for (let b; (b = f.querySelector('.smtplab-attach-remove')); ) b.click();
			const files = new DataTransfer();
			for (const a of m.attachments || []) {
				files.items.add(new File([Uint8Array.from(atob(a.content || ''), (c) => c.charCodeAt(0))], a.name, { type: a.type || '' }));
			}
			if (files.files.length) {
				f.elements.files.files = files.files;
				f.elements.files.dispatchEvent(new Event('change'));
			}
			f.querySelector('.smtplab-compose-status').textContent = '';
			f.requestSubmit();
			return true;
		})()`, st.Submit))
		waitFor(t, ctx, what+": the mail client's answer", `document.querySelector('.smtplab-panel-mailbox .smtplab-compose-status').textContent !== ''`)
		if got := eval[string](t, ctx, `document.querySelector('.smtplab-panel-mailbox .smtplab-compose-status').textContent`); !strings.Contains(got, "Handed to the mail client") {
			t.Fatalf("%s: the mail client said %q", what, got)
		}
	case st.Raw != "":
		setRaw(true)
		n := eval[int](t, ctx, `document.querySelectorAll('#lab .smtplab-transcript li').length`)
		if len(st.Raw) <= 500 {
			do(t, ctx, what+": typing raw bytes", chromedp.SendKeys(chromedp.ID("terminal-input"), st.Raw+"\r"))
		} else {
			// Long text is put in at once: typing it key by key only makes the test slow.
			eval[bool](t, ctx, fmt.Sprintf(`(document.getElementById('terminal-input').value = %s, true)`, jsString(st.Raw)))
			do(t, ctx, what+": sending raw bytes", chromedp.SendKeys(chromedp.ID("terminal-input"), "\r"))
		}
		waitFor(t, ctx, what+": the raw bytes in the transcript", transcriptGrew(n))
		setRaw(false)
	default:
		typeLines(t, ctx, st.Type)
	}
}

// jsString writes s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s) // a string always encodes
	return string(b)
}
