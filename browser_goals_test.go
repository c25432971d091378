package main

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// phoneView is the phone of the newcomer audit: 390 by 844 CSS pixels.
var phoneView = chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulateTouch)

// TestBrowserGoalsInSightOnAPhone: on a phone the lesson and its goals are
// under the whole lab, two screens down. Under the terminal a button says
// the goals in brief ("Goals 0 of 6 · next: …") and follows them as they
// are reached; pressing it takes the focus to the goals. A goal reached is
// said once, in one live region, naming it. Tab goes from the header to
// the lab (terminal, the goals button) and only then into the lesson, the
// order the page shows them in.
func TestBrowserGoalsInSightOnAPhone(t *testing.T) {
	url := serve(t, realSite(t))
	ctx := testTab(t, 90*time.Second)
	do(t, ctx, "a phone", phoneView)
	openLab(t, ctx, url)
	first := eval[string](t, ctx, `JSON.parse(document.getElementById('lesson-data').textContent)[0].goals[0].text`)
	n := eval[int](t, ctx, `JSON.parse(document.getElementById('lesson-data').textContent)[0].goals.length`)
	const bar = `#goal-progress`
	waitFor(t, ctx, "the goals in brief", `document.querySelector('`+bar+`').textContent !== ''`)
	want := "Goals 0 of " + strconv.Itoa(n) + " · next: " + first
	if got := eval[string](t, ctx, `document.querySelector('`+bar+`').textContent`); got != want {
		t.Errorf("the goals in brief say %q, want %q", got, want)
	}
	// In the first screen, right under the terminal.
	pos := eval[map[string]float64](t, ctx, `(() => {
		const b = document.querySelector('`+bar+`').getBoundingClientRect();
		const main = document.querySelector('#lab .smtplab-lab-main').getBoundingClientRect();
		return { top: b.top, bottom: b.bottom, height: b.height, mainBottom: main.bottom, view: innerHeight };
	})()`)
	if pos["height"] == 0 || pos["bottom"] > pos["view"] {
		t.Errorf("the goals in brief are not in the first screen: %v", pos)
	}
	if gap := pos["top"] - pos["mainBottom"]; gap < 0 || gap > 24 {
		t.Errorf("the goals in brief are %.0f px from the terminal's box: %v", gap, pos)
	}

	// Tab from the top of the page: the terminal, then the goals button,
	// come before anything of the lesson pane.
	eval[any](t, ctx, `document.activeElement.blur(), window.scrollTo(0, 0)`)
	var order []string
	for i := 0; i < 40; i++ {
		do(t, ctx, "Tab", chromedp.KeyEvent(kb.Tab))
		where := eval[string](t, ctx, `(() => { const a = document.activeElement;
			return a.closest('.smtplab-lessons') ? 'lesson' : a.id === 'goal-progress' ? 'goals' : a.id === 'terminal-input' ? 'terminal' : 'other'; })()`)
		if len(order) == 0 || order[len(order)-1] != where || where != "other" {
			order = append(order, where)
		}
		if where == "lesson" {
			break
		}
	}
	seq := strings.Join(order, " ")
	if ti, gi, li := strings.Index(seq, "terminal"), strings.Index(seq, "goals"), strings.Index(seq, "lesson"); ti < 0 || gi < ti || li < gi {
		t.Errorf("Tab on a phone goes %s; want the terminal, the goals button, then the lesson", seq)
	}

	// A goal reached: the brief follows, and the one live region names it.
	typeLines(t, ctx, "EHLO me.example.com")
	waitFor(t, ctx, "one goal done in brief", `document.querySelector('`+bar+`').textContent.startsWith('Goals 1 of ')`)
	waitFor(t, ctx, "the goal said", `document.getElementById('goal-news').textContent !== ''`)
	if got := eval[string](t, ctx, `document.getElementById('goal-news').textContent`); !strings.HasPrefix(got, "Goal reached: "+strings.TrimRight(first, ".")+". 1 of ") {
		t.Errorf("the live region says %q", got)
	}
	live := eval[[]string](t, ctx, `[...document.querySelectorAll('[aria-live], [role=status], [role=alert]')]
		.filter((e) => /goal/i.test(e.textContent)).map((e) => e.id || e.className)`)
	if len(live) != 1 || live[0] != "goal-news" {
		t.Errorf("live regions speaking of goals: %q; want goal-news alone", live)
	}
	if got := eval[string](t, ctx, `(document.querySelector('`+bar+`').closest('[aria-live], [role=status]') || {}).id || 'none'`); got != "none" {
		t.Errorf("the goals in brief are inside live region %q: a goal would be said twice", got)
	}

	// Enter on it: the focus on the goals, in view.
	pressEnter(t, ctx, bar)
	waitFor(t, ctx, "the focus on the goals", activeIs("#goals"))
	waitFor(t, ctx, "the goals in view", `(() => { const r = document.getElementById('goals').getBoundingClientRect(); return r.top >= 0 && r.top < innerHeight; })()`)
	save(t, ctx, chromedp.CaptureScreenshot(), "phone-390-goals-focused.png")
	do(t, ctx, "Tab", chromedp.KeyEvent(kb.Tab))
	if !eval[bool](t, ctx, `!!document.activeElement.closest('.smtplab-lessons')`) {
		t.Errorf("Tab from the goals went to %s", eval[string](t, ctx, `document.activeElement.outerHTML.slice(0, 80)`))
	}
	eval[any](t, ctx, `document.activeElement.blur(), window.scrollTo(0, 0)`)
	save(t, ctx, chromedp.CaptureScreenshot(), "phone-390-goals-in-brief.png")
}

// TestBrowserGoalsInBriefNotOnADesktop: on a wide screen the goals are in
// the column beside the lab: no brief under the terminal, and the lesson
// pane comes first in Tab order as it does on the screen.
func TestBrowserGoalsInBriefNotOnADesktop(t *testing.T) {
	url := serve(t, realSite(t))
	ctx := testTab(t, 60*time.Second)
	do(t, ctx, "a desktop", chromedp.EmulateViewport(1280, 900))
	openLab(t, ctx, url)
	waitFor(t, ctx, "the goals in brief written", `document.getElementById('goal-progress').textContent !== ''`)
	if got := eval[string](t, ctx, `getComputedStyle(document.getElementById('goal-progress')).display`); got != "none" {
		t.Errorf("the goals in brief show on a desktop (display %s)", got)
	}
	if !eval[bool](t, ctx, `!!(document.querySelector('.smtplab-lessons').compareDocumentPosition(document.getElementById('lab')) & Node.DOCUMENT_POSITION_FOLLOWING)`) {
		t.Error("on a desktop the lesson pane is not before the lab in the page")
	}
	// Narrowed to a phone's width (a window made small, a tablet turned),
	// the pane moves after the lab, and back again.
	do(t, ctx, "narrow", chromedp.EmulateViewport(600, 900))
	waitFor(t, ctx, "the pane after the lab", `!!(document.getElementById('lab').compareDocumentPosition(document.querySelector('.smtplab-lessons')) & Node.DOCUMENT_POSITION_FOLLOWING)`)
	do(t, ctx, "wide", chromedp.EmulateViewport(1280, 900))
	waitFor(t, ctx, "the pane before the lab", `!!(document.querySelector('.smtplab-lessons').compareDocumentPosition(document.getElementById('lab')) & Node.DOCUMENT_POSITION_FOLLOWING)`)
}
