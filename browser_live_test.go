package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io/fs"
	"net/http"
	"net/smtp"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"smtplab/bridge"
)

// liveSite starts a TCP bridge on a free loopback port and serves the page
// with its live feed, as `go run . -smtp 127.0.0.1:2525` does.
func liveSite(t *testing.T) (*bridge.Bridge, string) {
	t.Helper()
	live := &swappable{}
	url := liveSiteWith(t, live)
	br := startBridge(t) // after the site, so it is closed before it
	live.set(br.LiveHandler())
	return br, url
}

// startBridge starts a TCP bridge on a free loopback port. It is closed
// when the test ends, before any HTTP server started earlier waits for its
// live feeds: cleanups run last first.
func startBridge(t *testing.T) *bridge.Bridge {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	br, err := bridge.Start(ctx, bridge.Options{SMTP: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { br.Close() })
	return br
}

// liveSiteWith serves the page with live as its live feed.
func liveSiteWith(t *testing.T, live http.Handler) string {
	t.Helper()
	web, err := fs.Sub(webFiles, "web")
	if err != nil {
		t.Fatal(err)
	}
	lessons, err := loadLessons()
	if err != nil {
		t.Fatal(err)
	}
	s, err := newSite(web, lessons, siteOptions{Live: livePath})
	if err != nil {
		t.Fatal(err)
	}
	if !s.hasEngine() {
		t.Fatal("web/dist/lab.wasm is not embedded: run `make wasm` before these tests")
	}
	mux := http.NewServeMux()
	mux.Handle(livePath, live)
	mux.Handle("/", s)
	return serve(t, mux)
}

// swappable is an http.Handler that can be replaced while it serves, as
// a restarted bridge replaces the live feed behind the same URL.
type swappable struct{ h atomic.Pointer[http.Handler] }

func (s *swappable) set(h http.Handler) { s.h.Store(&h) }

func (s *swappable) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h := s.h.Load(); h != nil {
		(*h).ServeHTTP(w, r)
		return
	}
	http.Error(w, "no bridge yet", http.StatusServiceUnavailable)
}

// sendPlain sends one message over a plain SMTP session with net/smtp.
func sendPlain(t *testing.T, addr, from, to, msg string, startTLS *tls.Config) {
	t.Helper()
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	steps := []func() error{func() error { return c.Hello("app.example.net") }}
	if startTLS != nil {
		steps = append(steps, func() error { return c.StartTLS(startTLS) })
	}
	steps = append(steps,
		func() error { return c.Mail(from) },
		func() error { return c.Rcpt(to) },
		func() error {
			w, err := c.Data()
			if err != nil {
				return err
			}
			if _, err := w.Write([]byte(msg)); err != nil {
				return err
			}
			return w.Close()
		},
		c.Quit)
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("SMTP step %d: %v", i+1, err)
		}
	}
}

// openLive opens the page of a live site (liveSite) in a new tab, in its
// live view, once the feed has said hello.
func openLive(t *testing.T) (br *bridge.Bridge, ctx context.Context, addr string) {
	t.Helper()
	br, url := liveSite(t)
	addr = br.Addr(25).String()
	ctx = testTab(t, 90*time.Second)
	openLab(t, ctx, url)
	do(t, ctx, "the live view", chromedp.Click(chromedp.ID("btn-view-live")))
	waitFor(t, ctx, "the live feed's hello", `document.querySelector('#live .smtplab-live-servers').textContent.includes('`+addr+`')`)
	return br, ctx, addr
}

func TestBrowserLiveBridge(t *testing.T) {
	br, ctx, addr := openLive(t)
	if !eval[bool](t, ctx, `document.getElementById('lab').hidden && !document.getElementById('live').hidden`) {
		t.Fatal("the live view does not take the lab's place")
	}

	// A real client on a real socket: plain, then with STARTTLS verified
	// against the lab CA the feed hands out.
	sendPlain(t, addr, "alice@example.com", "bob@example.org",
		"From: alice@example.com\r\nTo: bob@example.org\r\nSubject: caught live\r\n\r\nHello from net/smtp.\r\n", nil)
	waitFor(t, ctx, "the session in the live transcript", `document.querySelector('#live .smtplab-transcript').textContent.includes('MAIL FROM:<alice@example.com>')`)
	waitFor(t, ctx, "the message accepted", `[...document.querySelectorAll('#live .smtplab-transcript .smtplab-reply')].some(r => r.dataset.reason === 'message-accepted')`)
	text := eval[string](t, ctx, `[...document.querySelectorAll('#live .smtplab-transcript .smtplab-line')].map(l => l.querySelector('summary') ? [...l.querySelectorAll('summary .smtplab-rl')].map(r => r.textContent).join('\n') : l.textContent).join('\n')`)
	for _, want := range []string{"over real TCP", "-> EHLO app.example.net", "-> RCPT TO:<bob@example.org>", "<- 354", "<- 250 2.0.0", "-> QUIT", "<- 221"} {
		if !strings.Contains(text, want) {
			t.Errorf("the live transcript lacks %q:\n%s", want, text)
		}
	}
	do(t, ctx, "opening the acceptance", chromedp.Click(chromedp.CSS(`#live .smtplab-transcript .smtplab-reply[data-reason="message-accepted"] summary`)))
	explained := eval[string](t, ctx, `document.querySelector('#live .smtplab-transcript .smtplab-reply[data-reason="message-accepted"] .smtplab-explain').innerText`)
	for _, want := range []string{"What it means", "What to do next", "RFC 5321"} {
		if !strings.Contains(explained, want) {
			t.Errorf("the live 250's explanation lacks %q: %q", want, explained)
		}
	}
	waitFor(t, ctx, "the message in the live mailbox", `document.querySelector('#live .smtplab-panel-mailbox').innerText.includes('caught live')`)
	if n := eval[int](t, ctx, `document.querySelectorAll('#live .smtplab-panel-mailbox form').length`); n != 0 {
		t.Errorf("the live mailbox has %d forms: there is no world of its own to submit to", n)
	}

	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(br.CACertificate()) {
		t.Fatal("the bridge's CA is not PEM")
	}
	host := br.Host(25)
	sendPlain(t, addr, "carol@example.org", "bob@example.org",
		"Subject: encrypted and caught\r\n\r\nOver STARTTLS.\r\n", &tls.Config{ServerName: host, RootCAs: pool})
	waitFor(t, ctx, "the TLS session", `document.querySelector('#live .smtplab-transcript').textContent.includes('~> MAIL FROM:<carol@example.org>')`)
	waitFor(t, ctx, "the second message", `document.querySelector('#live .smtplab-panel-mailbox').innerText.includes('encrypted and caught')`)
	if got := eval[string](t, ctx, `document.getElementById('btn-view-live').textContent`); !strings.Contains(got, "(2)") {
		t.Errorf("the live switch says %q, want a count of 2 sessions", got)
	}

	save(t, ctx, chromedp.CaptureScreenshot(), "live-desktop.png")

	// The sandbox is still there, untouched.
	do(t, ctx, "back to the sandbox", chromedp.Click(chromedp.ID("btn-view-sandbox")))
	if eval[bool](t, ctx, `document.getElementById('lab').hidden`) || strings.Contains(transcript(t, ctx), "alice@example.com") {
		t.Error("the sandbox is hidden or shows the live sessions")
	}
}

// TestBrowserLiveBridgeRestart checks that the live view follows a bridge
// restarted behind the same page: the feed reconnects by itself, the old
// world's sessions go, and the new bridge's sessions show.
func TestBrowserLiveBridgeRestart(t *testing.T) {
	live := &swappable{}
	url := liveSiteWith(t, live)
	first := startBridge(t)
	live.set(first.LiveHandler())
	ctx := testTab(t, 90*time.Second)
	openLab(t, ctx, url)
	do(t, ctx, "the live view", chromedp.Click(chromedp.ID("btn-view-live")))
	sendPlain(t, first.Addr(25).String(), "alice@example.com", "bob@example.org", "Subject: before the restart\r\n\r\nold\r\n", nil)
	waitFor(t, ctx, "the first bridge's message", `document.querySelector('#live .smtplab-panel-mailbox').innerText.includes('before the restart')`)

	second := startBridge(t)
	live.set(second.LiveHandler())
	first.Close() // ends the page's feed, which reconnects to the second
	addr := second.Addr(25).String()
	waitFor(t, ctx, "the second bridge's hello", `document.querySelector('#live .smtplab-live-servers').textContent.includes('`+addr+`')`)
	sendPlain(t, addr, "carol@example.org", "bob@example.org", "Subject: after the restart\r\n\r\nnew\r\n", nil)
	waitFor(t, ctx, "the second bridge's message", `document.querySelector('#live .smtplab-panel-mailbox').innerText.includes('after the restart')`)
	waitFor(t, ctx, "the second session in the transcript", `document.querySelector('#live .smtplab-transcript').textContent.includes('MAIL FROM:<carol@example.org>')`)
	if eval[bool](t, ctx, `document.querySelector('#live .smtplab-transcript').textContent.includes('MAIL FROM:<alice@example.com>') || document.querySelector('#live .smtplab-panel-mailbox').innerText.includes('before the restart')`) {
		t.Error("the live view still shows the first bridge's world after the restart")
	}
	if got := eval[string](t, ctx, `document.getElementById('btn-view-live').textContent`); !strings.Contains(got, "(1)") {
		t.Errorf("the live switch says %q, want a count of 1 session since the restart", got)
	}
}

// TestBrowserNoBridgeNoLive checks that a page served without a bridge
// neither shows a live view nor asks for the feed.
func TestBrowserNoBridgeNoLive(t *testing.T) {
	url := serve(t, realSite(t))
	ctx := testTab(t, 60*time.Second)
	openLab(t, ctx, url)
	waitFor(t, ctx, "the scenario list", `document.querySelectorAll('#scenario-picker option').length > 0`)
	got := eval[map[string]bool](t, ctx, `({
		meta: !!document.querySelector('meta[name="smtplab-live"]'),
		switch: !!document.getElementById('btn-view-live'),
		asked: performance.getEntriesByType('resource').some((e) => e.name.includes('/api/live')),
	})`)
	for k, v := range got {
		if v {
			t.Errorf("without a bridge the page has %s", k)
		}
	}
}

// TestBrowserLiveViewSpeaksSparingly: twenty sessions from real clients in
// a burst have the live view's live region speak a few times, each time
// counting the replies since the last, not once for every batch the feed
// brings, which would keep a screen reader reading for minutes.
func TestBrowserLiveViewSpeaksSparingly(t *testing.T) {
	_, ctx, addr := openLive(t)
	const live = "#live .smtplab-lab-main > [aria-live]"
	listen(t, ctx, live)
	start := time.Now()
	const sessions = 20
	for i := 0; i < sessions; i++ {
		sendPlain(t, addr, "alice@example.com", "bob@example.org", fmt.Sprintf("Subject: burst %d\r\n\r\nhi\r\n", i), nil)
	}
	waitFor(t, ctx, "every session in the live transcript", fmt.Sprintf(`document.querySelectorAll('#live .smtplab-transcript .smtplab-reply[data-code="221"]').length === %d`, sessions))
	waitFor(t, ctx, "the last replies said", `window.heard.length > 0 && / 221 /.test(window.heard.at(-1))`)
	got := heard(t, ctx)
	// One at once, then at most one every 3 s.
	if most := 2 + int(time.Since(start)/(3*time.Second)); len(got) > most {
		t.Errorf("the live region spoke %d times in %v, at most %d expected: %q", len(got), time.Since(start).Round(time.Millisecond), most, got)
	}
	if !regexp.MustCompile(`^\d+ replies in the transcript; the last from \S+ to \S+: 221 `).MatchString(got[len(got)-1]) {
		t.Errorf("the last thing said: %q", got[len(got)-1])
	}
}
