package bridge

import (
	"bufio"
	"context"
	"encoding/json"
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
