package main

import (
	"strings"
	"testing"
	"time"
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
