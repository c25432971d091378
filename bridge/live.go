package bridge

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"smtplab/engine/lab"
	"smtplab/engine/trace"
)

// Live feed limits: events per message of the stream, how often the state
// (mailboxes and queues, which can be large) is sent at most, how often a
// quiet stream says it is alive, and how soon a page reconnects when the
// stream is cut.
const (
	liveBatch     = 500
	liveStateGap  = time.Second
	liveKeepalive = 15 * time.Second
	liveRetry     = time.Second
	// liveWriteTime bounds each write of the stream: a page that stops
	// reading is dropped after it, instead of holding a goroutine and the
	// server's shutdown for good.
	liveWriteTime = 10 * time.Second
	// liveFeeds is how many feeds are served at once. Each holds a
	// goroutine and a connection and, every second the world changes,
	// builds the mailboxes' state (up to liveMessages of liveRawBytes per
	// mailbox: megabytes) under the world's lock, which the SMTP sessions
	// wait for: without a bound, a program on this machine opening feeds
	// by the thousand would have every session wait and gigabytes built
	// each second. A learner has a tab or a few open.
	liveFeeds = 32
)

// Hello is the first message of the live feed: what is being served.
type Hello struct {
	// Since is the id of the event the feed resumes after: 0 when it
	// starts from the beginning of the world, as on a first connection or
	// when the page reconnects to a bridge that was restarted meanwhile
	// (the page then forgets what it had).
	Since    int          `json:"since"`
	Scenario string       `json:"scenario"`
	Servers  []ServerInfo `json:"servers"`
	CA       string       `json:"ca,omitempty"` // PEM of the lab CA, for clients that verify
}

// ServerInfo is one listening port.
type ServerInfo struct {
	Port int    `json:"port"` // the scenario port it stands for: 25, 587, 465
	Host string `json:"host"` // the scenario host that answers
	Addr string `json:"addr"` // the real address, "127.0.0.1:2525"
}

// LiveHandler streams the world's trace as server-sent events, so the page
// can show sessions from real clients as they happen:
//
//	event: hello   data: Hello (once, first)
//	event: trace   data: [trace.Event, ...] in order, id: the last event's id
//	event: state   data: lab.State, after events that change mailboxes or
//	               queues, at most once a second, and once after hello
//
// A client that reconnects with Last-Event-ID (browsers do this by
// themselves), or asks with ?since=N, gets only the events after that id.
// The stream ends when the bridge closes.
func (b *Bridge) LiveHandler() http.Handler {
	return http.HandlerFunc(b.serveLive)
}

func (b *Bridge) serveLive(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "the live feed is read with GET", http.StatusMethodNotAllowed)
		return
	}
	if !b.opt.AllowRemote && !loopbackHost(r.Host) {
		http.Error(w, "the live feed answers requests for localhost or a loopback address only", http.StatusForbidden)
		return
	}
	if !sameOrigin(r) {
		http.Error(w, "the live feed is read by the lab's own page only", http.StatusForbidden)
		return
	}
	since := 0
	// An event id is "N-instance" (see Bridge.instance): one from another
	// run of the bridge means nothing in this world.
	if id, instance, _ := strings.Cut(r.Header.Get("Last-Event-ID"), "-"); instance == b.instance {
		if n, err := strconv.Atoi(id); err == nil && n > 0 {
			since = n
		}
	}
	if n, err := strconv.Atoi(r.URL.Query().Get("since")); err == nil && n > 0 {
		since = n
	}
	// The stream outlives any write timeout the HTTP server has; each
	// write gets its own instead (see liveWriteTime).
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Now().Add(b.liveWrite))
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	if r.Method != http.MethodHead {
		if n := b.watchers.Add(1); int(n) > b.liveMax {
			b.watchers.Add(-1)
			h.Set("Retry-After", "10")
			http.Error(w, fmt.Sprintf("the live feed is open %d times already, its limit: close a page that shows it", b.liveMax), http.StatusServiceUnavailable)
			return
		}
		defer b.watchers.Add(-1)
	}
	h.Set("Content-Type", "text/event-stream")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}

	// A short retry: a page should find a restarted bridge quickly.
	if _, err := fmt.Fprintf(w, "retry: %d\n\n", liveRetry.Milliseconds()); err != nil {
		return
	}
	hello := b.hello()
	hello.Since = since
	if err := sendEvent(w, "hello", "", hello); err != nil {
		return
	}
	wantState, lastState := true, time.Time{}
	keepalive := time.NewTicker(liveKeepalive)
	defer keepalive.Stop()
	for {
		var (
			events  []trace.Event
			state   *lab.State
			changed <-chan struct{}
		)
		b.World(func(world *lab.World) {
			events = append(events, firstN(world.Since(since), liveBatch)...)
			for _, e := range events {
				wantState = wantState || changesState(e.Kind)
			}
			if wantState && time.Since(lastState) >= liveStateGap && len(events) < liveBatch {
				st := world.LiveState(liveMessages, liveRawBytes)
				state = &st
			}
			changed = b.changed
		})
		_ = rc.SetWriteDeadline(time.Now().Add(b.liveWrite))
		if len(events) > 0 {
			since = events[len(events)-1].ID
			if sendEvent(w, "trace", strconv.Itoa(since)+"-"+b.instance, events) != nil {
				return
			}
		}
		if state != nil {
			wantState, lastState = false, time.Now()
			if sendEvent(w, "state", "", state) != nil {
				return
			}
		}
		if err := rc.Flush(); err != nil {
			return
		}
		if len(events) == liveBatch {
			continue // more are waiting
		}
		var retry <-chan time.Time
		if wantState { // a state is due once the gap has passed
			retry = time.After(liveStateGap - time.Since(lastState))
		}
		select {
		case <-changed:
		case <-retry:
		case <-keepalive.C:
			_ = rc.SetWriteDeadline(time.Now().Add(b.liveWrite))
			if _, err := fmt.Fprint(w, ": still here\n\n"); err != nil {
				return
			}
		case <-r.Context().Done():
			return
		case <-b.stopped:
			return
		}
	}
}

// hello describes what the bridge serves.
func (b *Bridge) hello() Hello {
	return Hello{Scenario: b.opt.Scenario, CA: string(b.caPEM), Servers: b.Servers()}
}

// Servers lists the listening ports and the scenario host behind each.
func (b *Bridge) Servers() []ServerInfo {
	var out []ServerInfo
	for _, l := range b.listeners {
		out = append(out, ServerInfo{Port: l.port, Host: l.host, Addr: l.Addr().String()})
	}
	return out
}

// changesState reports whether an event of kind changes what State shows.
func changesState(k trace.Kind) bool {
	switch k {
	case trace.Delivery, trace.QueueAdd, trace.QueueRetry, trace.QueueGiveUp, trace.QueueDone, trace.Bounce:
		return true
	}
	return false
}

// firstN returns a copy of at most n events: the world's slice must not be
// read once the lock is released. Credentials are masked in the copy: real
// clients send real passwords, and the feed is readable by any page on this
// machine that knows the port.
func firstN(events []trace.Event, n int) []trace.Event {
	out := append([]trace.Event(nil), events[:min(len(events), n)]...)
	for i := range out {
		if out[i].Kind == trace.Command && out[i].Verb == "AUTH" {
			out[i].Text = maskSecret(out[i].Text)
		}
	}
	return out
}

// loopbackHost reports whether the Host header of a request names this
// machine: localhost or a loopback address. A page on another site that
// points its own domain name at 127.0.0.1 (DNS rebinding) sends its own
// name, and is not let in.
func loopbackHost(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(strings.Trim(host, "[]"))
	return err == nil && ip.IsLoopback()
}

// sameOrigin reports whether a request comes from a page of the origin it
// asks (or from no page at all: a browser sends no Origin with a
// same-origin EventSource, nor does curl). A page on another site may make
// a browser open the feed; CORS keeps it from reading what comes, but the
// feed would still be built and sent to it, every second, for as long as
// that page stays open, and each such request holds one of the liveMax
// places the learner's own page needs. It is refused before anything is
// sent.
//
// Origin alone does not tell: an <img>, a <script>, an <iframe> or a
// no-cors fetch of another site's page sends none. Browsers say where
// every request comes from in Sec-Fetch-Site: the lab's own page sends
// same-origin, an address typed by hand none; anything else (same-site
// is another port of this machine) is another page's.
func sameOrigin(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
	default:
		return false
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && strings.EqualFold(u.Host, r.Host)
}

// sendEvent writes one server-sent event. JSON never holds a raw line
// break, so data is one line.
func sendEvent(w http.ResponseWriter, name string, id string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if id != "" {
		if _, err := fmt.Fprintf(w, "id: %s\n", id); err != nil {
			return err
		}
	}
	_, err = fmt.Fprintf(w, "event: %s\ndata: %s\n\n", name, data)
	return err
}

// What a state event shows of the mailboxes: the newest liveMessages of
// each, each cut after liveRawBytes. A bridge under load fills mailboxes
// faster than a page can show them, messages may be megabytes, and the
// state is sent again every second.
const (
	liveMessages = 50
	liveRawBytes = 64 << 10
)
