package bridge

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"smtplab/engine/lab"
	"smtplab/engine/trace"
)

// sse reads server-sent events from a response.
type sse struct {
	t  *testing.T
	rd *bufio.Reader
}

type sseEvent struct {
	name, data string
	id         int    // the trace id the event ends with
	instance   string // the run of the bridge that sent it
}

// next returns the next event, skipping comments.
func (s *sse) next() sseEvent {
	s.t.Helper()
	var e sseEvent
	for {
		line, err := s.rd.ReadString('\n')
		if err != nil {
			s.t.Fatalf("reading the live feed: %v", err)
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "" && e.name != "":
			return e
		case strings.HasPrefix(line, "event: "):
			e.name = line[7:]
		case strings.HasPrefix(line, "data: "):
			e.data = line[6:]
		case strings.HasPrefix(line, "id: "):
			n, instance, _ := strings.Cut(line[4:], "-")
			e.id, _ = strconv.Atoi(n)
			e.instance = instance
		}
	}
}

func openLive(t *testing.T, url string, header http.Header) (*sse, func()) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || ct != "text/event-stream" {
		t.Fatalf("live feed: %s, %s", resp.Status, ct)
	}
	return &sse{t: t, rd: bufio.NewReader(resp.Body)}, func() { resp.Body.Close() }
}

func TestLiveFeedShowsRealSessions(t *testing.T) {
	b := startBridge(t, Options{})
	srv := httptest.NewServer(b.LiveHandler())
	defer srv.Close()
	feed, stop := openLive(t, srv.URL, nil)
	defer stop()

	hello := feed.next()
	var h Hello
	if err := json.Unmarshal([]byte(hello.data), &h); err != nil || hello.name != "hello" {
		t.Fatalf("first event %+v (%v)", hello, err)
	}
	if h.Scenario != "first-session" || len(h.Servers) != 3 || h.Servers[0].Host != "mx.example.org" ||
		h.Servers[0].Addr != addr(b, 25) || !strings.Contains(h.CA, "BEGIN CERTIFICATE") {
		t.Fatalf("hello %+v", h)
	}

	// A real session, while the page watches.
	c := dialRaw(t, addr(b, 25))
	c.toData()
	c.send("Subject: watched\r\n\r\nlive\r\n.\r\nQUIT\r\n")
	c.expect("250 ")
	c.expect("221 ")

	var events []trace.Event
	var state *lab.State
	lastID, instance := 0, ""
	deadline := time.Now().Add(10 * time.Second)
	for (state == nil || !delivered(events)) && time.Now().Before(deadline) {
		e := feed.next()
		switch e.name {
		case "trace":
			var batch []trace.Event
			if err := json.Unmarshal([]byte(e.data), &batch); err != nil {
				t.Fatal(err)
			}
			if e.id != batch[len(batch)-1].ID || batch[0].ID != lastID+1 {
				t.Fatalf("batch %d..%d with id %d after %d", batch[0].ID, batch[len(batch)-1].ID, e.id, lastID)
			}
			lastID, instance = e.id, e.instance
			events = append(events, batch...)
		case "state":
			var st lab.State
			if err := json.Unmarshal([]byte(e.data), &st); err != nil {
				t.Fatal(err)
			}
			if len(st.Mailboxes) > 0 {
				state = &st
			}
		}
	}
	if !delivered(events) || state == nil {
		t.Fatalf("the feed did not show the delivery and the mailbox: %d events, state %v", len(events), state)
	}
	if m := state.Mailboxes[0].Messages[0]; m.Subject != "watched" {
		t.Fatalf("mailbox %+v", state.Mailboxes[0])
	}
	var commands []string
	for _, e := range events {
		if e.Kind == trace.Command && e.Conn > lab.ExternalConnBase {
			commands = append(commands, e.Verb)
		}
	}
	if got := strings.Join(commands, " "); got != "EHLO MAIL RCPT DATA QUIT" {
		t.Fatalf("commands in the feed: %s", got)
	}

	// A page that reconnects gets only what it missed.
	again, stop2 := openLive(t, srv.URL, http.Header{"Last-Event-ID": {strconv.Itoa(lastID-2) + "-" + instance}})
	defer stop2()
	if h := again.next(); h.name != "hello" || !strings.Contains(h.data, `"since":`+strconv.Itoa(lastID-2)+`,`) {
		t.Fatalf("hello after reconnecting: %+v", h)
	}
	if e := again.next(); e.name != "trace" || e.id != lastID || !strings.HasPrefix(e.data, `[{"id":`+strconv.Itoa(lastID-1)) {
		t.Fatalf("after reconnecting: %+v", e)
	}

	// An id from an earlier run of the bridge (the page outlived a
	// restart) means nothing in this world: the feed starts over.
	fresh, stop3 := openLive(t, srv.URL, http.Header{"Last-Event-ID": {strconv.Itoa(lastID) + "-earlier"}})
	defer stop3()
	if h := fresh.next(); h.name != "hello" || !strings.Contains(h.data, `"since":0,`) {
		t.Fatalf("hello after a restart: %+v", h)
	}
	if e := fresh.next(); e.name != "trace" || !strings.HasPrefix(e.data, `[{"id":1,`) {
		t.Fatalf("after a restart the feed does not start over: %+v", e)
	}

	// Closing the bridge ends the streams.
	b.Close()
	done := make(chan struct{})
	go func() {
		for {
			if _, err := again.rd.ReadString('\n'); err != nil {
				close(done)
				return
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the live feed outlived the bridge")
	}

	resp, err := http.Post(srv.URL, "text/plain", nil)
	if err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("POST: %v %v", resp.Status, err)
	}
}

func delivered(events []trace.Event) bool {
	for _, e := range events {
		if e.Kind == trace.Delivery && e.Rcpt == "bob@example.org" {
			return true
		}
	}
	return false
}

func TestStartRefusesBadOptions(t *testing.T) {
	for _, o := range []Options{
		{},
		{SMTP: "0.0.0.0:0"},
		{SMTP: ":0"},     // every interface, as Go reads an empty host
		{SMTP: "[::]:0"}, // every IPv6 interface
		{SMTP: "127.0.0.1:0", Submission: ":0"},
		{SMTP: "127.1:0"}, // 127.0.0.1 to inet_aton, not an address to netip: refused, not guessed
		{SMTP: "192.0.2.1:2525"},
		{SMTP: "no-port"},
		{SMTP: "127.0.0.1:0", Scenario: "no-such-scenario"},
		{SMTP: "127.0.0.1:0", TimeoutScale: -1},
	} {
		if b, err := Start(t.Context(), o); err == nil {
			b.Close()
			t.Errorf("Start(%+v) succeeded", o)
		}
	}
	// Loopback names and addresses are fine; ctx ending closes the bridge.
	ctx, cancel := context.WithCancel(t.Context())
	b, err := Start(ctx, Options{SMTP: "localhost:0", Submission: "[::1]:0"})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case <-b.stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("the bridge did not close when its context ended")
	}
}

// TestLiveFeedRefusesOtherSites: the feed shows every real session,
// messages included, so only the lab's own page may read it. A site that
// points its own name at 127.0.0.1 (DNS rebinding) sends that name as
// Host; a page of another site that has the browser open the feed sends
// its Origin, or, for an <img>, <script>, <iframe> or no-cors fetch that
// sends no Origin, its Sec-Fetch-Site. All are refused before a byte of
// the world is sent.
func TestLiveFeedRefusesOtherSites(t *testing.T) {
	b := startBridge(t, Options{})
	srv := httptest.NewServer(b.LiveHandler())
	t.Cleanup(srv.Close) // after the streams getOnce leaves open are cut
	self := srv.URL      // http://127.0.0.1:port, what the page's origin is
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	for _, c := range []struct {
		name       string
		host       string // "" leaves the URL's
		origin     string
		fetchSite  string // Sec-Fetch-Site, "" for none
		wantStatus int
	}{
		{"no Origin, as curl", "", "", "", 200},
		{"the page's own EventSource", "", "", "same-origin", 200},
		{"the page's own origin", "", self, "same-origin", 200},
		{"the address typed by hand", "", "", "none", 200},
		{"localhost", "localhost:" + port, "http://localhost:" + port, "", 200},
		{"a rebound name", "rebind.example:80", "", "", 403},
		{"a rebound name with its own origin", "rebind.example", "http://rebind.example", "", 403},
		{"another site's page", "", "https://course.example", "cross-site", 403},
		{"another site's <img> or <iframe>, no Origin", "", "", "cross-site", 403},
		{"another port of this machine, no Origin", "", "", "same-site", 403},
		{"another port of this machine", "", "http://127.0.0.1:1", "", 403},
		{"an opaque origin", "", "null", "", 403},
	} {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", srv.URL, nil)
			if c.host != "" {
				req.Host = c.host
			}
			if c.origin != "" {
				req.Header.Set("Origin", c.origin)
			}
			if c.fetchSite != "" {
				req.Header.Set("Sec-Fetch-Site", c.fetchSite)
			}
			resp := getOnce(t, req)
			if resp.StatusCode != c.wantStatus {
				t.Fatalf("status %s, want %d", resp.Status, c.wantStatus)
			}
			if c.wantStatus != 200 && resp.Header.Get("Content-Type") == "text/event-stream" {
				t.Fatal("a refused request got the stream")
			}
		})
	}
}

// TestLiveFeedsAreBounded: every feed costs a goroutine, a connection and
// the state built under the world's lock every second; past liveMax a
// request gets 503 and a Retry-After, and a place is free again once a
// feed closes.
func TestLiveFeedsAreBounded(t *testing.T) {
	b := startBridge(t, Options{})
	b.liveMax = 2
	srv := httptest.NewServer(b.LiveHandler())
	t.Cleanup(srv.Close) // after the streams getOnce leaves open are cut
	first, stop1 := openLive(t, srv.URL, nil)
	defer stop1() // closed again: once is what the test does, this is for a failure
	first.next()
	second, stop2 := openLive(t, srv.URL, nil)
	defer stop2()
	second.next()

	req, _ := http.NewRequest("GET", srv.URL, nil)
	resp := getOnce(t, req)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("a third feed: %s, Retry-After %q", resp.Status, resp.Header.Get("Retry-After"))
	}
	// HEAD holds no place: it gets the headers and no stream.
	if resp, err := http.Head(srv.URL); err != nil || resp.StatusCode != 200 {
		t.Fatalf("HEAD: %v %v", resp, err)
	}

	stop1()
	deadline := time.Now().Add(5 * time.Second)
	for b.watchers.Load() >= 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	third, stop3 := openLive(t, srv.URL, nil)
	defer stop3()
	if e := third.next(); e.name != "hello" {
		t.Fatalf("after a feed closed: %+v", e)
	}
}

// getOnce sends req and returns the response, whose body (a stream, when
// the feed answers) is cut when the test ends.
func getOnce(t *testing.T, req *http.Request) *http.Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	return resp
}
