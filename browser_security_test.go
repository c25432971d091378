package main

import (
	"encoding/base64"
	"html/template"
	"io/fs"
	"net"
	neturl "net/url"
	"strings"
	"testing"
	"time"

	"smtplab/engine/lab"
	"smtplab/engine/smtp"
	"smtplab/engine/trace"
	"smtplab/lessons"
)

// These tests attack the page as a stranger would: another site's page in
// the same browser, or a program on this machine that talks SMTP to the
// bridge. Each says what a real browser does, which unit tests of the
// server cannot: which headers it sends, and what ends up in the page.

// TestBrowserLiveFeedRefusesOtherSitesPages: a page of another site that
// has the browser load the live feed as an image, a script, a frame or a
// no-cors fetch sends no Origin, only Sec-Fetch-Site. Each such request
// had been served the stream, for as long as that page stayed open, and
// held one of the few feeds the learner's own page needs. Every one is
// refused now.
func TestBrowserLiveFeedRefusesOtherSitesPages(t *testing.T) {
	br := startBridge(t)
	log := &requestLog{next: br.LiveHandler()}
	labURL := liveSiteWith(t, log)
	feed := labURL + livePath
	// localhost and 127.0.0.1 are two sites to a browser.
	course := strings.Replace(serve(t, coursePage("",
		`<img src="`+feed+`?as=img"><iframe src="`+feed+`?as=frame"></iframe>`+
			`<script async src="`+feed+`?as=script"></script>`)), "127.0.0.1", "localhost", 1)
	ctx := testTab(t, 60*time.Second)
	// Not chromedp.Navigate, which would wait for a load that a stream
	// served to the page never lets happen.
	eval[bool](t, ctx, `(location.href = '`+course+`/', true)`)
	waitFor(t, ctx, "the other site's page", `location.hostname === 'localhost' && document.readyState !== 'loading'`)
	eval[bool](t, ctx, `(fetch('`+feed+`?as=fetch', { mode: 'no-cors' }).catch(() => {}), true)`)

	deadline := time.Now().Add(5 * time.Second)
	for len(log.errors()) < 4 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	log.mu.Lock()
	defer log.mu.Unlock()
	if len(log.seen) != 4 || len(log.failed) != 4 {
		t.Errorf("of the other site's %d requests for the feed (%q), %d were refused (%q): want all 4 refused",
			len(log.seen), log.seen, len(log.failed), log.failed)
	}
}

// TestBrowserLiveShowsWhatClientsSendAsText: a real client's lines, the
// headers, HTML part and attachments of its message are the client's to
// choose; in the live view every one of them is text, whatever markup
// it holds, and a right-to-left override in a Subject does not turn the
// sender shown after it around.
func TestBrowserLiveShowsWhatClientsSendAsText(t *testing.T) {
	_, ctx, addr := openLive(t)
	dialogs := recordDialogs(t, ctx)

	const (
		evilHelo = `<img src=x onerror=alert(1)>`
		evilFrom = `<svg/onload=alert(2)>@example.com`
		subject  = "Invoice \u202E<b>fdp.exe</b>"
	)
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	message := strings.Join([]string{
		"From: <script>alert(3)</script> <alice@example.com>",
		"Subject: =?utf-8?b?" + base64.StdEncoding.EncodeToString([]byte(subject)) + "?=",
		`Content-Type: multipart/mixed; boundary="b"`,
		"",
		"--b",
		"Content-Type: text/html",
		"",
		`<img src=y onerror=alert(4)><script>alert(5)</script><a href="javascript:alert(6)">click</a>`,
		"--b",
		`Content-Type: text/x-<svg onload=alert(7)>; name="<img src=z onerror=alert(8)>.exe"`,
		`Content-Disposition: attachment; filename="<img src=z onerror=alert(8)>.exe"`,
		"Content-Transfer-Encoding: base64",
		"",
		"aGk=",
		"--b--",
		".",
		"",
	}, "\r\n")
	if _, err := c.Write([]byte("EHLO " + evilHelo + "\r\nEHLO app.example.net\r\nMAIL FROM:<" + evilFrom + ">\r\n" +
		"MAIL FROM:<alice@example.com>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n" + message + "QUIT\r\n")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the session's end in the live transcript", `[...document.querySelectorAll('#live .smtplab-transcript .smtplab-reply')].some(r => r.dataset.code === '221')`)
	waitFor(t, ctx, "the message in the live mailbox", `document.querySelector('#live .smtplab-panel-mailbox').textContent.includes('fdp.exe')`)
	// Open every view of the message, so its text and raw source are in
	// the page as they would be for a learner reading them.
	eval[bool](t, ctx, `(document.querySelectorAll('#live details').forEach((d) => { d.open = true; }), true)`)
	time.Sleep(300 * time.Millisecond) // an error handler, were there one, has run

	live := eval[string](t, ctx, `document.getElementById('live').textContent`)
	for _, want := range []string{"EHLO " + evilHelo, "MAIL FROM:<" + evilFrom + ">", "<script>alert(5)</script>", "<img src=z onerror=alert(8)>.exe", "<b>fdp.exe</b>"} {
		if !strings.Contains(live, want) {
			t.Errorf("the live view does not show %q as text", want)
		}
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('#live img, #live svg, #live script, #live b, #live a[href^="javascript"], #live iframe').length`); n != 0 {
		t.Errorf("what the client sent became %d elements in the live view", n)
	}
	// The Subject's override stays inside the Subject: the sender and the
	// attachment's type after it read left to right, as sent. Each text
	// the client chose is in an element that isolates it.
	if got := eval[[]string](t, ctx, `(() => {
		const m = [...document.querySelectorAll('#live .smtplab-message')].find((e) => e.textContent.includes('fdp.exe'));
		if (!m) return ['no message'];
		const walk = document.createTreeWalker(m.querySelector('p'), NodeFilter.SHOW_TEXT);
		const lines = [...m.querySelectorAll('.smtplab-message-attachments li')];
		const nodes = [];
		for (let n = walk.nextNode(); n; n = walk.nextNode()) nodes.push(n);
		for (const li of lines) for (const n of li.childNodes) nodes.push(n.nodeType === Node.TEXT_NODE ? n : n.firstChild);
		// An inline element between the text and its line's block that
		// isolates it (the block itself isolates the whole line only).
		const isolated = (n) => {
			for (let e = n.parentElement; e && getComputedStyle(e).display === 'inline'; e = e.parentElement) {
				if (getComputedStyle(e).unicodeBidi === 'isolate') return true;
			}
			return false;
		};
		return nodes.filter((n) => /fdp|alice|x-|onerror/.test(n.textContent) && !isolated(n)).map((n) => n.textContent);
	})()`); len(got) > 0 {
		t.Errorf("the client's %q are not isolated: a right-to-left override in one turns the text after it around", got)
	}
	// So is the text of every line of the transcript, the marks and notes
	// around it the lab's.
	if n := eval[int](t, ctx, `[...document.querySelectorAll('#live .smtplab-transcript .smtplab-text')].filter((e) => getComputedStyle(e).unicodeBidi !== 'isolate').length`); n != 0 {
		t.Errorf("%d lines of the live transcript do not isolate their text", n)
	}
	if d := dialogs(); len(d) > 0 {
		t.Errorf("what the client sent opened dialogs: %q", d)
	}
}

// TestBrowserHostileLinksAreText: a permalink is anyone's to write and
// send. One whose lesson, scenario and inputs hold markup opens nothing
// of it as markup: the reason it could not open is text, and a link to a
// real scenario replays its markup inputs into the transcript as text.
func TestBrowserHostileLinksAreText(t *testing.T) {
	url := serve(t, realSite(t))
	const (
		evilScenario = `<img src=x onerror="window.__pwned=1">`
		evilLine     = `EHLO <svg onload="window.__pwned=2"></svg>`
		evilRaw      = "MAIL FROM:<a@b>\u202e<img src=y onerror=\"window.__pwned=3\">\r\n"
	)
	for name, link := range map[string]string{
		"unknown scenario": strings.Replace(permalink(t, url, map[string]any{"scenario": evilScenario, "seed": 1,
			"inputs": []any{map[string]string{"type": evilLine}}}), "/#", "/#lesson="+neturl.QueryEscape(evilScenario)+"&", 1),
		"real scenario": permalink(t, url, map[string]any{"scenario": "first-session", "seed": 1,
			"inputs": []any{map[string]string{"type": evilLine}, map[string]string{"raw": evilRaw}}}),
	} {
		t.Run(name, func(t *testing.T) {
			ctx := testTab(t, 60*time.Second)
			openLab(t, ctx, link)
			waitFor(t, ctx, "a world", replyCount("220")+` >= 1`)
			time.Sleep(300 * time.Millisecond) // an error handler, were there one, has run
			if n := eval[int](t, ctx, `document.querySelectorAll('main img, main svg, header img, header svg').length`); n != 0 {
				t.Errorf("the link's markup became %d elements", n)
			}
			if eval[bool](t, ctx, `window.__pwned !== undefined`) {
				t.Error("the link's markup ran a script")
			}
			status := eval[string](t, ctx, `document.getElementById('engine-status').textContent`)
			text := transcript(t, ctx)
			if name == "real scenario" {
				if !strings.Contains(text, evilLine) || !strings.Contains(text, `<img src=y onerror="window.__pwned=3">`) {
					t.Errorf("the link's inputs are not in the transcript as text:\n%s", text)
				}
			} else if !strings.Contains(status, "The link could not be opened") {
				t.Errorf("status %q, want why the link could not be opened", status)
			}
		})
	}
}

// hostileLesson is a lesson whose author tries every way Markdown has of
// getting markup, script URLs or attributes into the page: raw HTML,
// script URLs behind entities, control characters and tabs (which a
// browser's URL parser drops where a string check sees them), autolinks,
// images, heading attributes and a lab block's options.
const hostileLesson = `---
title: Hostile <img src=x onerror="window.__pwned='title'">
order: 1
scenario: first-session
summary: s
---

## Heading {#x onclick="window.__pwned='heading'"}

<script>window.__pwned = 'script'</script>
<img src=x onerror="window.__pwned='img'"> <svg onload="window.__pwned='svg'"></svg>
<iframe src="javascript:window.__pwned='frame'"></iframe>

[a](javascript:window.__pwned='a') [b](JaVaScRiPt:x) [c](&#106;avascript:x) [d](<` + "\x01" + `javascript:x>)
[e](&#1;javascript:x) [f](<` + "\t" + `javascript:x>) [g](<java` + "\t" + `script:x>) [h](java&#x0A;script:x)
[i](&Tab;javascript:x) [j](javascript&colon;x) [k](data:text/html,<script>x</script>) [l](vbscript:x)
<javascript:x> <https://example.org/"onmouseover="window.__pwned='auto'>
![m](javascript:x) ![n](data:image/svg+xml,<svg onload=x>) ![o](https://tracker.example/p.png)
[p](x "t\"onclick=\"window.__pwned='title-attr'")

| <b onclick=x>cell</b> | [q](javascript:x) |
|---|---|
| ` + "`<i>`" + ` | y |

` + "```smtp-lab\nscenario: first-session\nprompt: \"><img src=x onerror=\"window.__pwned='lab'\">\n```\n"

// TestBrowserHostileLessonIsInert: whatever a lesson's Markdown says, the
// page that shows it, whether in the page itself (the first lesson) or
// fetched when opened (the others), has no element that runs script, no
// event handler attribute and no link or image whose URL, as the browser
// reads it, is a script or a document.
func TestBrowserHostileLessonIsInert(t *testing.T) {
	var views []lessonView
	for _, slug := range []string{"01-hostile", "02-hostile"} {
		l, err := lessons.Parse(slug, []byte(hostileLesson))
		if err != nil {
			t.Fatal(err)
		}
		views = append(views, lessonView{Slug: l.Slug, Title: l.Title, HTML: template.HTML(l.HTML),
			Data: lessonData{Slug: l.Slug, Title: l.Title, Scenario: l.Scenario, Summary: l.Summary}})
	}
	web, err := fs.Sub(webFiles, "web")
	if err != nil {
		t.Fatal(err)
	}
	s, err := newSite(web, views, siteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	url := serve(t, s)
	ctx := testTab(t, 60*time.Second)
	for _, slug := range []string{"01-hostile", "02-hostile"} {
		eval[bool](t, ctx, `(location.href = `+jsString(url+"/#lesson="+slug)+`, true)`)
		waitFor(t, ctx, "the lesson "+slug, `(() => { const a = document.getElementById('lesson-`+slug+`'); return a && !a.hidden && !!a.querySelector('h2'); })()`)
		time.Sleep(300 * time.Millisecond) // an error handler, were there one, has run
		got := eval[[]string](t, ctx, `(() => {
			const bad = [];
			const a = document.getElementById('lesson-`+slug+`');
			for (const e of a.querySelectorAll('script, iframe, object, embed, svg, style, link, form, base, meta')) bad.push('element ' + e.tagName);
			for (const e of a.querySelectorAll('*')) {
				for (const at of e.attributes) if (/^on/i.test(at.name)) bad.push(e.tagName + ' ' + at.name);
			}
			for (const e of a.querySelectorAll('a[href]')) if (!/^(https?|mailto):$/.test(e.protocol)) bad.push('link ' + e.protocol + ' ' + e.getAttribute('href'));
			for (const e of a.querySelectorAll('img[src]')) {
				const u = new URL(e.getAttribute('src'), location.href);
				if (!/^https?:$/.test(u.protocol) && !/^data:image\/(png|gif|jpeg|webp)/.test(u.href)) bad.push('image ' + u.href);
			}
			if (window.__pwned !== undefined) bad.push('script ran: ' + window.__pwned);
			return bad;
		})()`)
		if len(got) > 0 {
			t.Errorf("lesson %s: %q", slug, got)
		}
	}
	if title := eval[string](t, ctx, `document.querySelector('#lesson-list a').textContent`); !strings.Contains(title, `<img src=x`) {
		t.Errorf("the lesson's title is not shown as text: %q", title)
	}
}

// TestBrowserOtherSitesCannotMailThroughTheBridge: a browser refuses to
// send HTTP to ports 25, 465 and 587, but not to the bridge's 2525, 2587
// and 2465. A page of another site can have it POST SMTP commands there
// as a form's or a fetch's body (a cross-protocol request). The request's
// line comes first, and the server hangs up on it at once (221 2.7.0, as
// Postfix's smtpd_forbidden_commands does): no line after it, header or
// body, is read as a command, and nothing is delivered.
func TestBrowserOtherSitesCannotMailThroughTheBridge(t *testing.T) {
	br := startBridge(t)
	smtpURL := "http://" + br.Addr(25).String() + "/"
	commands := "\r\nEHLO x\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\nSubject: via the browser\r\n\r\nhi\r\n.\r\nQUIT\r\n"
	page := strings.Replace(serve(t, coursePage("",
		`<form id="f" method="post" enctype="text/plain" action="`+smtpURL+`"><input name="x" value="`+
			strings.ReplaceAll(commands, "\r\n", "&#13;&#10;")+`"></form>`)), "127.0.0.1", "localhost", 1)
	ctx := testTab(t, 60*time.Second)
	eval[bool](t, ctx, `(location.href = `+jsString(page+"/")+`, true)`)
	waitFor(t, ctx, "the other site's page", `location.hostname === 'localhost' && document.readyState !== 'loading'`)
	eval[bool](t, ctx, `(fetch(`+jsString(smtpURL)+`, { method: 'POST', mode: 'no-cors', body: `+jsString(commands)+` }).catch(() => {}), true)`)
	eval[bool](t, ctx, `(document.getElementById('f').submit(), true)`)

	// Both requests reach the bridge and are shown the door at their
	// first line.
	var closed, lines, mail int
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && closed < 2; time.Sleep(50 * time.Millisecond) {
		closed, lines, mail = 0, 0, 0
		br.World(func(w *lab.World) {
			for _, e := range w.Since(0) {
				switch {
				case e.Kind == trace.Reply && e.Code == 221 && e.Reason == string(smtp.ReasonNotSMTP):
					closed++
				case e.Kind == trace.Delivery:
					mail++
				case e.Kind == trace.Command:
					lines++
					if e.Verb == "MAIL" {
						mail++
					}
				}
			}
		})
	}
	if closed != 2 || lines != 2 || mail != 0 {
		t.Errorf("the browser's two requests to the SMTP port: %d hung up on as web requests, %d command lines read, %d MAIL commands or deliveries (want 2, 2 and 0)", closed, lines, mail)
	}
}

// TestBrowserEmbedAttributesAreText: a course platform may let its users
// write <smtp-lab> in their pages, so every attribute of the element is a
// stranger's: none becomes markup in the lab, whether the lab starts with
// it or says why it cannot.
func TestBrowserEmbedAttributesAreText(t *testing.T) {
	labURL := serve(t, realSite(t))
	const evil = `<img src=x onerror="window.__pwned=1">`
	url := serve(t, coursePage(
		`<script>console.warn = () => {};</script>`+
			`<link rel="stylesheet" href="`+labURL+`/css/lab.css"><script type="module" src="`+labURL+`/js/smtp-lab.js"></script>`,
		`<smtp-lab id="bad" scenario='`+evil+`' seed='`+evil+`'></smtp-lab>`+
			`<smtp-lab id="good" scenario="first-session" tab='`+evil+`' panels='`+evil+`' height='`+evil+`' prompt='`+evil+`'></smtp-lab>`))
	ctx := testTab(t, 60*time.Second)
	eval[bool](t, ctx, `(location.href = `+jsString(url+"/")+`, true)`)
	waitFor(t, ctx, "the good lab started", `/^Lab:/.test(document.querySelector('#good .smtplab-status')?.textContent)`)
	waitFor(t, ctx, "the bad lab refused", `!!document.querySelector('#bad .smtplab-status')?.textContent.startsWith('The lab could not start: ')`)
	time.Sleep(300 * time.Millisecond) // an error handler, were there one, has run
	if n := eval[int](t, ctx, `document.querySelectorAll('smtp-lab img, smtp-lab svg').length`); n != 0 {
		t.Errorf("the attributes became %d elements", n)
	}
	if eval[bool](t, ctx, `window.__pwned !== undefined`) {
		t.Error("an attribute ran a script")
	}
	if got := eval[string](t, ctx, `document.querySelector('#good input[type=text], #good textarea, #good input:not([type])')?.value ?? ''`); got != evil {
		t.Errorf("the prompt is %q in the terminal, want the attribute as text", got)
	}
}
