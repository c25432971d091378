package main

// Tests of the whole page in real headless Chromium (Debian's
// /usr/bin/chromium, driven by chromedp). They need the engine built
// (`make wasm`); a missing browser or engine fails them, never skips them.

import (
	"context"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

const chromiumPath = "/usr/bin/chromium"

// artifactsDir receives screenshots; git ignores it.
const artifactsDir = "testdata/artifacts"

// shared is what every browser test of this binary shares: one browser and
// one built site. Browser start costs about a second, the site's brotli
// about half of one.
var shared struct {
	browserOnce sync.Once
	browser     context.Context
	browserErr  error
	cancel      []context.CancelFunc

	siteOnce sync.Once
	site     *site
	siteErr  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	for i := len(shared.cancel) - 1; i >= 0; i-- {
		shared.cancel[i]()
	}
	os.Exit(code)
}

// browserContext returns the shared browser, starting it on first use.
func browserContext(tb testing.TB) context.Context {
	tb.Helper()
	shared.browserOnce.Do(func() {
		if _, err := os.Stat(chromiumPath); err != nil {
			shared.browserErr = fmt.Errorf("no browser at %s (apt-get install chromium): %w", chromiumPath, err)
			return
		}
		alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
			chromedp.ExecPath(chromiumPath),
			chromedp.Flag("headless", true),
			chromedp.Flag("no-sandbox", true),
			chromedp.Flag("disable-gpu", true),
			chromedp.Flag("disable-background-networking", true),
			chromedp.Flag("disable-sync", true),
			chromedp.Flag("no-first-run", true),
			chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-dev-shm-usage", true),
			chromedp.WindowSize(1280, 900),
		)
		ctx, cancel := chromedp.NewContext(alloc)
		shared.cancel = append(shared.cancel, cancelAlloc, cancel)
		if err := chromedp.Do(ctx); err != nil { // starts the browser
			shared.browserErr = fmt.Errorf("starting %s: %w", chromiumPath, err)
			return
		}
		shared.browser = ctx
	})
	if shared.browserErr != nil {
		tb.Fatal(shared.browserErr)
	}
	return shared.browser
}

// testTab opens a tab in a fresh browser context (its own cache, cookies
// and localStorage, like a new private window) and closes it at the end.
func testTab(tb testing.TB, timeout time.Duration) context.Context {
	tb.Helper()
	ctx, cancel := chromedp.NewContext(browserContext(tb), chromedp.WithNewBrowserContext())
	tb.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		tb.Fatal(err)
	}
	tctx, tcancel := context.WithTimeout(ctx, timeout)
	tb.Cleanup(tcancel)
	return tctx
}

// realSite builds the site the way `go run .` does: the embedded files and
// the lessons.
func realSite(tb testing.TB) *site {
	tb.Helper()
	shared.siteOnce.Do(func() {
		web, err := fs.Sub(webFiles, "web")
		if err != nil {
			shared.siteErr = err
			return
		}
		lessons, err := loadLessons()
		if err != nil {
			shared.siteErr = err
			return
		}
		shared.site, shared.siteErr = newSite(web, lessons, siteOptions{})
		if shared.siteErr == nil && !shared.site.hasEngine() {
			shared.siteErr = fmt.Errorf("web/dist/lab.wasm is not embedded: run `make wasm` before these tests")
		}
	})
	if shared.siteErr != nil {
		tb.Fatal(shared.siteErr)
	}
	return shared.site
}

// serve starts a server for h for the test's lifetime. (Chromium asks
// for brotli on http://127.0.0.1 too, so plain HTTP measures what a
// deployment sends.)
func serve(tb testing.TB, h http.Handler) string {
	tb.Helper()
	srv := httptest.NewServer(h)
	tb.Cleanup(srv.Close)
	return srv.URL
}

// do runs actions and fails the test with what it was doing.
func do(tb testing.TB, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	tb.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		tb.Fatalf("%s: %v", what, err)
	}
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](tb testing.TB, ctx context.Context, expr string) T {
	tb.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		tb.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// waitFor polls a JavaScript condition until it holds.
func waitFor(tb testing.TB, ctx context.Context, what, cond string) {
	tb.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](cond, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		tb.Fatalf("waiting until %s (%s): %v\npage status: %s", what, cond, err, pageStatus(ctx))
	}
}

// pageStatus tells what the page said, for failure messages.
func pageStatus(ctx context.Context) string {
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](
		`(document.getElementById('engine-status')||{}).textContent + ' | ' + [...document.querySelectorAll('.smtplab-error:not([hidden])')].map(e => e.textContent).join(' ')`))
	if err != nil {
		return err.Error()
	}
	return s
}

// openLab loads the page and waits until the engine is ready.
func openLab(tb testing.TB, ctx context.Context, url string) {
	tb.Helper()
	do(tb, ctx, "loading the page", chromedp.Navigate(url))
	waitFor(tb, ctx, "the engine is ready", `document.documentElement.dataset.engine === 'ready'`)
}

// typeLines types each line into the terminal and presses Enter, waiting
// for the engine to answer before the next.
func typeLines(tb testing.TB, ctx context.Context, lines ...string) {
	tb.Helper()
	for _, line := range lines {
		before := eval[int](tb, ctx, `document.querySelectorAll('#lab .smtplab-transcript li').length`)
		do(tb, ctx, "typing "+line, chromedp.SendKeys(chromedp.ID("terminal-input"), line+"\r"))
		waitFor(tb, ctx, "the transcript shows "+line,
			fmt.Sprintf(`document.querySelectorAll('#lab .smtplab-transcript li').length > %d && document.getElementById('terminal-input').value === ''`, before))
	}
}

// transcript returns the transcript's lines as text.
func transcript(tb testing.TB, ctx context.Context) string {
	tb.Helper()
	return eval[string](tb, ctx, `[...document.querySelectorAll('#lab .smtplab-transcript .smtplab-line')].map(l => l.querySelector('summary') ? [...l.querySelectorAll('summary .smtplab-rl')].map(r => r.textContent).join('\n') : l.textContent).join('\n')`)
}

// slowEngine holds back the engine's download until release is called, so
// a test can look at the page before the engine runs.
type slowEngine struct {
	next    http.Handler
	release chan struct{}
}

func (s slowEngine) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasSuffix(r.URL.Path, ".wasm") {
		select {
		case <-s.release:
		case <-r.Context().Done():
			return
		}
	}
	s.next.ServeHTTP(w, r)
}

func TestBrowserLessonBeforeEngine(t *testing.T) {
	s := realSite(t)
	hold := slowEngine{next: s, release: make(chan struct{})}
	url := serve(t, hold)
	ctx := testTab(t, 60*time.Second)
	defer func() {
		select {
		case <-hold.release:
		default:
			close(hold.release)
		}
	}()

	do(t, ctx, "loading the page", chromedp.Navigate(url))
	do(t, ctx, "lesson visible", chromedp.WaitVisible(chromedp.CSS("article.smtplab-lesson h2")))
	text := eval[string](t, ctx, `document.querySelector('article.smtplab-lesson:not([hidden])').innerText`)
	if !strings.Contains(text, "SMTP") {
		t.Errorf("lesson text before the engine: %q", text)
	}
	if got := eval[string](t, ctx, `document.documentElement.dataset.engine || ''`); got != "" {
		t.Fatalf("engine state %q while its download is held back", got)
	}
	if got := eval[string](t, ctx, `document.getElementById('engine-status').textContent`); !strings.Contains(got, "Loading") {
		t.Errorf("status while loading: %q", got)
	}
	// Nothing to send with yet: a click on Send would be lost.
	waitFor(t, ctx, "the terminal built", `!!document.querySelector('#lab .smtplab-terminal .smtplab-send')`)
	if !eval[bool](t, ctx, `document.querySelector('#lab .smtplab-terminal .smtplab-send').disabled`) {
		t.Error("Send is enabled while the engine loads")
	}
	close(hold.release)
	waitFor(t, ctx, "the engine is ready", `document.documentElement.dataset.engine === 'ready'`)
	if eval[bool](t, ctx, `document.querySelector('#lab .smtplab-terminal .smtplab-send').disabled`) {
		t.Error("Send is disabled once the engine is ready")
	}
	waitFor(t, ctx, "the greeting", `[...document.querySelectorAll('#lab .smtplab-transcript .smtplab-reply')].some(r => r.dataset.code === '220')`)
}

// requestLog records the requests a handler serves: path and the
// browser's Sec-Fetch-Dest, which says whether a page or a worker asked.
type requestLog struct {
	next   http.Handler
	mu     sync.Mutex
	seen   []string // "dest path"
	failed []string // "status path" of every answer 400 or above
}

func (l *requestLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	l.mu.Lock()
	l.seen = append(l.seen, r.Header.Get("Sec-Fetch-Dest")+" "+r.URL.Path)
	l.mu.Unlock()
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	l.next.ServeHTTP(sw, r)
	if sw.status >= 400 {
		l.mu.Lock()
		l.failed = append(l.failed, fmt.Sprint(sw.status, " ", r.URL.Path))
		l.mu.Unlock()
	}
}

// statusWriter remembers the status a handler answered with.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// asked reports whether a request's path contained part.
func (l *requestLog) asked(part string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.ContainsFunc(l.seen, func(e string) bool { return strings.Contains(e, part) })
}

// errors returns the requests that were answered with an error.
func (l *requestLog) errors() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.failed)
}

func (l *requestLog) count(entry string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, e := range l.seen {
		if e == entry {
			n++
		}
	}
	return n
}

// TestBrowserEngineCompiledInWorker checks how the engine arrives: the
// page's inline script starts a worker that downloads and compiles it,
// the engine is downloaded once, and the Content-Security-Policy let all of
// it run (a blocked inline script would only have slowed the page down,
// since js/engine.js would compile the engine itself).
func TestBrowserEngineCompiledInWorker(t *testing.T) {
	log := &requestLog{next: realSite(t)}
	url := serve(t, log)
	ctx := testTab(t, 60*time.Second)
	do(t, ctx, "watching for CSP violations", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
			Source: `window.cspViolations = []; document.addEventListener('securitypolicyviolation', (e) => window.cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));`,
		})
		return err
	}))
	openLab(t, ctx, url)
	if got := eval[string](t, ctx, `window.cspViolations.join('; ')`); got != "" {
		t.Errorf("CSP violations: %s", got)
	}
	if got := eval[string](t, ctx, `String(performance.getEntriesByName('smtplab-wasm-fetch')[0]?.detail)`); got != "worker" {
		t.Errorf("the engine was compiled by the %s, want the worker", got)
	}
	if got := eval[int](t, ctx, `performance.getEntriesByName('smtplab-wasm-from-worker').length`); got != 1 {
		t.Error("the page did not get the compiled engine from the worker")
	}
	if n := log.count("empty /dist/lab.wasm"); n != 1 {
		t.Errorf("the engine was downloaded %d times, want once", n)
	}
	// Nothing the page asks for is missing: a 404 (the browser's default
	// /favicon.ico, say) is an error in every visitor's console.
	for end := time.Now().Add(5 * time.Second); !log.asked("icon") && time.Now().Before(end); {
		time.Sleep(20 * time.Millisecond)
	}
	if !log.asked("icon") {
		t.Error("the browser asked for no icon")
	}
	if failed := log.errors(); len(failed) > 0 {
		t.Errorf("requests answered with an error: %v", failed)
	}
}

// TestBrowserEngineWithoutWorker serves the page from a server that does
// not let the compile worker read the engine (its data: URL gives it an
// opaque origin, and this server sends no Access-Control-Allow-Origin, as
// another server might not): the worker reports its failure and the page
// downloads and compiles the engine itself, so the learner still gets a
// working lab.
func TestBrowserEngineWithoutWorker(t *testing.T) {
	site := realSite(t)
	log := &requestLog{next: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		site.ServeHTTP(noCORS{w}, r)
	})}
	ctx := testTab(t, 60*time.Second)
	openLab(t, ctx, serve(t, log))
	waitFor(t, ctx, "the greeting", `[...document.querySelectorAll('#lab .smtplab-transcript .smtplab-reply')].some(r => r.dataset.code === '220')`)
	if got := eval[int](t, ctx, `performance.getEntriesByName('smtplab-wasm-from-worker').length`); got != 0 {
		t.Error("the worker got the engine although the server did not allow it")
	}
	if n := log.count("empty /dist/lab.wasm"); n != 2 {
		t.Errorf("the engine was downloaded %d times, want twice (the worker, then the page)", n)
	}
}

// noCORS drops Access-Control-Allow-Origin from what it writes.
type noCORS struct{ http.ResponseWriter }

func (w noCORS) WriteHeader(code int) {
	w.Header().Del("Access-Control-Allow-Origin")
	w.ResponseWriter.WriteHeader(code)
}

func (w noCORS) Write(p []byte) (int, error) {
	w.Header().Del("Access-Control-Allow-Origin")
	return w.ResponseWriter.Write(p)
}

// pageBudget is the most a first visit may download (issue: "whole page
// ≤ 2.0 MB brotli"), counted in bytes.
const pageBudget = 2_000_000

// TestBrowserPageWithinBudget loads the page as `go run .` serves it once
// its background compression is done, and counts every byte it sends
// until the greeting shows. The page is only a few kilobytes under its
// budget, and the engine's compressed size moves by kilobytes either way
// with small changes to its code: this says so the day it goes over.
func TestBrowserPageWithinBudget(t *testing.T) {
	s := realSite(t)
	s.improveCompression(t.Context(), compressionCacheDir())
	f := measureLoad(t, serveCounting(t, s))
	t.Logf("the page sent %d bytes (the engine %d), %d under the budget", f.Encoded, f.Wasm, pageBudget-f.Encoded)
	if f.Encoded > pageBudget {
		t.Errorf("the page sent %d bytes, over its budget of %d", f.Encoded, pageBudget)
	}
	if f.Wasm == 0 || f.Wasm > f.Encoded {
		t.Errorf("the engine's share, %d bytes, is not part of the %d sent", f.Wasm, f.Encoded)
	}
}

func TestBrowserSession(t *testing.T) {
	url := serve(t, realSite(t))
	ctx := testTab(t, 90*time.Second)
	openLab(t, ctx, url)
	waitFor(t, ctx, "the greeting", `[...document.querySelectorAll('#lab .smtplab-transcript .smtplab-reply')].some(r => r.dataset.code === '220')`)

	// Tab completes a verb; the rest is typed.
	do(t, ctx, "completing EH", chromedp.SendKeys(chromedp.ID("terminal-input"), "eh\t"))
	if got := eval[string](t, ctx, `document.getElementById('terminal-input').value`); got != "EHLO " {
		t.Errorf("Tab completed %q, want %q", got, "EHLO ")
	}
	typeLines(t, ctx, "me.example.com",
		"MAIL FROM:<alice@example.com>",
		"RCPT TO:<bob@example.org>",
		"DATA")
	// In the message Tab completes nothing: "Da" is the learner's text.
	do(t, ctx, "Tab after Da", chromedp.SendKeys(chromedp.ID("terminal-input"), "Da\t"))
	if got := eval[string](t, ctx, `document.getElementById('terminal-input').value`); got != "Da" {
		t.Errorf("Tab in the message made %q of %q", got, "Da")
	}
	eval[string](t, ctx, `document.getElementById('terminal-input').value = ''`)
	typeLines(t, ctx,
		"From: alice@example.com",
		"Subject: typed in a browser",
		"",
		"Hello Bob.",
		".",
	)
	// ↑ brings back the last line typed, and ↓ past it the line being
	// typed.
	do(t, ctx, "history", chromedp.SendKeys(chromedp.ID("terminal-input"), "QU"+kb.ArrowUp))
	if got := eval[string](t, ctx, `document.getElementById('terminal-input').value`); got != "." {
		t.Errorf("ArrowUp gave %q, want %q", got, ".")
	}
	do(t, ctx, "history", chromedp.SendKeys(chromedp.ID("terminal-input"), kb.ArrowDown))
	if got := eval[string](t, ctx, `document.getElementById('terminal-input').value`); got != "QU" {
		t.Errorf("ArrowDown past the history gave %q, want the line being typed, %q", got, "QU")
	}
	typeLines(t, ctx, "IT")

	text := transcript(t, ctx)
	for _, want := range []string{"-> EHLO me.example.com", "<- 250", "-> RCPT TO:<bob@example.org>",
		"<- 354", "-> Subject: typed in a browser", "-> Hello Bob.", "<- 221"} {
		if !strings.Contains(text, want) {
			t.Errorf("transcript lacks %q:\n%s", want, text)
		}
	}
	// Each reply opens to its explanation, from the table keyed by reason.
	do(t, ctx, "opening the 354 reply", chromedp.Click(chromedp.CSS(`#lab .smtplab-transcript .smtplab-reply[data-code="354"] summary`)))
	explained := eval[string](t, ctx, `document.querySelector('#lab .smtplab-transcript .smtplab-reply[data-code="354"] .smtplab-explain').innerText`)
	for _, want := range []string{"What it means", "What to do next", "RFC 5321"} {
		if !strings.Contains(explained, want) {
			t.Errorf("354 explanation lacks %q: %q", want, explained)
		}
	}
	// The live region announced the last reply.
	if got := eval[string](t, ctx, `document.querySelector('#lab [aria-live=polite][role=status]').textContent`); !strings.Contains(got, "221") {
		t.Errorf("live region says %q, want the 221 reply", got)
	}
	// The message is in Bob's mailbox.
	do(t, ctx, "mailbox tab", chromedp.Click(chromedp.CSS(`[role=tab][id^="smtplab-tab-mailbox"]`)))
	waitFor(t, ctx, "the message in the mailbox", `document.querySelector('.smtplab-panel-mailbox').innerText.includes('typed in a browser')`)
}

func TestBrowserLessonOneGoals(t *testing.T) {
	s := realSite(t)
	url := serve(t, s)
	ctx := testTab(t, 90*time.Second)
	openLab(t, ctx, url)
	waitFor(t, ctx, "the goals", `document.querySelectorAll('#goal-list li').length > 0`)
	if n := eval[int](t, ctx, `document.querySelectorAll('#goal-list li.smtplab-done').length`); n != 0 {
		t.Fatalf("%d goals done before typing anything", n)
	}
	// Do lesson 1's solution as a learner would: lines in the terminal,
	// then a file sent with the mail client.
	steps := eval[[]solutionStep](t, ctx, `JSON.parse(document.getElementById('lesson-data').textContent)[0].solution`)
	if len(steps) == 0 {
		t.Fatal("lesson 1 has no solution")
	}
	for i, st := range steps {
		if st.Advance != "" || st.Lab != "" {
			t.Fatalf("lesson 1's solution lets time pass or opens another lab (step %d); the test does not", i+1)
		}
		doStep(t, ctx, i, st)
	}
	waitFor(t, ctx, "every goal of lesson 1 done",
		`document.querySelectorAll('#goal-list li').length === document.querySelectorAll('#goal-list li.smtplab-done').length`)
	if got := eval[string](t, ctx, `document.getElementById('goal-summary').textContent`); !strings.Contains(got, "All") {
		t.Errorf("goal summary %q", got)
	}
}

func TestBrowserUndoAndPermalink(t *testing.T) {
	url := serve(t, realSite(t))
	ctx := testTab(t, 90*time.Second)
	openLab(t, ctx, url)
	typeLines(t, ctx, "EHLO me.example.com", "MAIL FROM:<alice@example.com>", "NOOP")
	if !strings.Contains(transcript(t, ctx), "-> NOOP") {
		t.Fatal("NOOP not in the transcript")
	}
	do(t, ctx, "undo", chromedp.Click(chromedp.ID("btn-undo")))
	waitFor(t, ctx, "NOOP undone", `![...document.querySelectorAll('#lab .smtplab-transcript .smtplab-client')].some(l => l.textContent.includes('NOOP'))`)
	if !strings.Contains(transcript(t, ctx), "-> MAIL FROM:<alice@example.com>") {
		t.Fatal("undo removed more than the last line")
	}

	do(t, ctx, "permalink", chromedp.Click(chromedp.ID("btn-permalink")))
	waitFor(t, ctx, "the permalink in the address bar", `location.hash.includes('lab=')`)
	link := eval[string](t, ctx, `location.href`)

	// A fresh tab in a fresh browser context: no localStorage to help.
	fresh := testTab(t, 60*time.Second)
	openLab(t, fresh, link)
	waitFor(t, fresh, "the restored session", `[...document.querySelectorAll('#lab .smtplab-transcript .smtplab-client')].some(l => l.textContent.includes('MAIL FROM:<alice@example.com>'))`)
	if strings.Contains(transcript(t, fresh), "NOOP") {
		t.Error("the permalink restored the undone line")
	}
}

// recordDialogs records what the JavaScript dialogs (alert, confirm,
// prompt) of the page in ctx say from now on, and returns a function that
// gives them: markup that ran a script would most likely open one.
func recordDialogs(t *testing.T, ctx context.Context) func() []string {
	t.Helper()
	var mu sync.Mutex
	var dialogs []string
	if err := chromedp.Listen(ctx, func(ev any) {
		if d, ok := ev.(*page.EventJavascriptDialogOpening); ok {
			mu.Lock()
			dialogs = append(dialogs, d.Message)
			mu.Unlock()
		}
	}); err != nil {
		t.Fatal(err)
	}
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(dialogs)
	}
}

func TestBrowserTypedMarkupIsText(t *testing.T) {
	url := serve(t, realSite(t))
	ctx := testTab(t, 60*time.Second)
	dialogs := recordDialogs(t, ctx)
	openLab(t, ctx, url)
	const evil = `<img src=x onerror=alert(1)>`
	const evil2 = `<svg onload="window.__pwned=1"></svg><b>bold</b>`
	typeLines(t, ctx, "EHLO "+evil, evil2)
	time.Sleep(300 * time.Millisecond) // give an image error handler time to run, were there one
	text := transcript(t, ctx)
	if !strings.Contains(text, evil) || !strings.Contains(text, evil2) {
		t.Errorf("typed markup is not shown as text:\n%s", text)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('#lab img, #lab svg, #lab .smtplab-transcript b').length`); n != 0 {
		t.Errorf("typed markup became %d elements", n)
	}
	if eval[bool](t, ctx, `window.__pwned === 1`) {
		t.Error("typed markup ran a script")
	}
	if d := dialogs(); len(d) > 0 {
		t.Errorf("typed markup opened dialogs: %q", d)
	}
}

// save writes a screenshot into the artifacts folder.
func save(t *testing.T, ctx context.Context, shoot chromedp.Action[[]byte], name string) {
	t.Helper()
	img, err := chromedp.Run(ctx, shoot)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(artifactsDir, 0o755); err != nil {
		t.Fatal(err)
	}
	name = filepath.Join(artifactsDir, name)
	if err := os.WriteFile(name, img, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("saved %s", name)
}

// colorScheme has the page see the system's colours as scheme, "light"
// or "dark" (prefers-color-scheme).
func colorScheme(scheme string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}},
		})
		return err
	})
}

// TestBrowserScreenshots saves the page in three looks for a human to
// check, and checks what a machine can: nothing wider than a phone.
func TestBrowserScreenshots(t *testing.T) {
	url := serve(t, realSite(t))
	shots := []struct {
		name   string
		dark   bool
		phone  bool
		width  int64
		height int64
	}{
		{"desktop-light", false, false, 1280, 900},
		{"desktop-dark", true, false, 1280, 900},
		{"phone-390", false, true, 390, 844},
	}
	for _, sh := range shots {
		t.Run(sh.name, func(t *testing.T) {
			ctx := testTab(t, 60*time.Second)
			scheme := "light"
			if sh.dark {
				scheme = "dark"
			}
			setup := colorScheme(scheme)
			view := chromedp.EmulateViewport(sh.width, sh.height)
			if sh.phone {
				view = chromedp.EmulateViewport(sh.width, sh.height, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulateTouch)
			}
			do(t, ctx, "emulating", setup, view)
			openLab(t, ctx, url)
			typeLines(t, ctx, "EHLO me.example.com", "MAIL FROM:<alice@example.com>", "RCPT TO:<nobody@example.org>")
			do(t, ctx, "opening a reply", chromedp.Click(chromedp.CSS(`#lab .smtplab-transcript .smtplab-reply:last-child summary`)))
			waitFor(t, ctx, "the explanation in view", `(() => {
				const x = document.querySelector('#lab .smtplab-transcript .smtplab-reply:last-child .smtplab-explain').getBoundingClientRect();
				const box = document.querySelector('#lab .smtplab-transcript').getBoundingClientRect();
				return x.height > 0 && x.bottom <= box.bottom + 1;
			})()`)
			if sh.phone {
				if w := eval[int](t, ctx, `document.documentElement.scrollWidth`); w > int(sh.width) {
					t.Errorf("page is %d px wide on a %d px phone", w, sh.width)
				}
			}
			// The line the learner types in is most of the terminal's
			// width: on a phone "Raw bytes" and Send go under it rather
			// than leave it some 20 characters (it had been 176 px of
			// 340); where there is room they stay beside it.
			row := eval[map[string]float64](t, ctx, `(() => {
				const r = (sel) => document.querySelector('#lab ' + sel).getBoundingClientRect();
				return { input: r('.smtplab-terminal-input').width, row: r('.smtplab-prompt-row').width, inputTop: r('.smtplab-terminal-input').top, sendTop: r('.smtplab-send').top };
			})()`)
			if row["input"] < 0.7*row["row"] {
				t.Errorf("the terminal's line is %.0f px of its %.0f px row", row["input"], row["row"])
			}
			if beside := row["sendTop"] < row["inputTop"]+5; beside == sh.phone {
				where := map[bool]string{true: "beside", false: "under"}[beside]
				t.Errorf("Send is %s the terminal's line in a %d px wide window", where, sh.width)
			}
			// What the screen shows (a full-page capture stretches the
			// viewport, and the lab's heights follow the viewport).
			shoot := chromedp.CaptureScreenshot()
			save(t, ctx, shoot, sh.name+".png")
			if sh.phone {
				eval[any](t, ctx, `document.querySelector('article.smtplab-lesson:not([hidden])').scrollIntoView()`)
				save(t, ctx, shoot, sh.name+"-lesson.png")
				// A message waiting in the queue: its table is the widest
				// thing the lab shows.
				openLab(t, ctx, permalink(t, url, map[string]any{"scenario": "greylisting", "seed": 1, "inputs": []any{
					map[string]any{"submit": map[string]any{"from": "alice@example.com", "to": []string{"bob@example.org", "nobody@example.org"}, "subject": "Hello", "body": "Hi."}}}}))
				do(t, ctx, "timeline tab", chromedp.Click(chromedp.CSS(`[role=tab][id^="smtplab-tab-timeline"]`)))
				waitFor(t, ctx, "the queued message", `document.querySelectorAll('.smtplab-panel-timeline table.smtplab-queue tbody tr').length > 0`)
				eval[any](t, ctx, `document.querySelector('.smtplab-panel-timeline table.smtplab-queue').scrollIntoView({ block: 'center' })`)
				if w := eval[int](t, ctx, `document.documentElement.scrollWidth`); w > int(sh.width) {
					t.Errorf("with a message in the queue the page is %d px wide on a %d px phone", w, sh.width)
				}
				save(t, ctx, shoot, sh.name+"-queue.png")
			}
		})
	}
}
