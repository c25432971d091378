package bridge

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"smtplab/engine/lab"
	"smtplab/engine/trace"
)

// sendMessage delivers one message of about size octets to bob over a raw
// session.
func sendMessage(t *testing.T, b *Bridge, subject string, size int) {
	t.Helper()
	c := dialRaw(t, addr(b, 25))
	c.toData()
	body := strings.Repeat(strings.Repeat("x", 70)+"\r\n", size/72+1)
	c.send("Subject: " + subject + "\r\n\r\n" + body + ".\r\nQUIT\r\n")
	c.expect("250 ")
	c.expect("221 ")
}

// TestBridgeKeepsNewestMail: a bridge runs for as long as its process, so
// each mailbox keeps only its newest KeepMail octets, and the trace says
// when older mail goes.
func TestBridgeKeepsNewestMail(t *testing.T) {
	b := startBridge(t, Options{SMTP: "127.0.0.1:0", KeepMail: 5000})
	for i := 1; i <= 4; i++ {
		sendMessage(t, b, fmt.Sprint("number ", i), 2000)
	}
	got := mailbox(b, "mx.example.org", "bob@example.org")
	if len(got) != 2 || !strings.Contains(got[0], "Subject: number 3") || !strings.Contains(got[1], "Subject: number 4") {
		t.Fatalf("mailbox holds %d messages, want the newest two (3 and 4)", len(got))
	}
	notes := 0
	b.World(func(w *lab.World) {
		for _, e := range w.Since(0) {
			if e.Kind == trace.Note && strings.Contains(e.Text, "were removed") {
				notes++
			}
		}
	})
	if notes != 2 {
		t.Fatalf("%d trace notes about removed mail, want 2", notes)
	}
}

// TestLiveStateStaysSmall: a state event shows a large message cut, so a
// page is not sent megabytes every second.
func TestLiveStateStaysSmall(t *testing.T) {
	b := startBridge(t, Options{SMTP: "127.0.0.1:0"})
	sendMessage(t, b, "large", 1<<20)
	srv := httptest.NewServer(b.LiveHandler())
	defer srv.Close()
	feed, stop := openLive(t, srv.URL, nil)
	defer stop()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		e := feed.next()
		if e.name != "state" {
			continue
		}
		var st lab.State
		if err := json.Unmarshal([]byte(e.data), &st); err != nil {
			t.Fatal(err)
		}
		if len(st.Mailboxes) == 0 {
			continue
		}
		if len(e.data) > 2*liveRawBytes {
			t.Fatalf("state event of %d octets for one 1 MiB message", len(e.data))
		}
		raw := st.Mailboxes[0].Messages[0].Raw
		if !strings.Contains(raw, "Subject: large") || !strings.Contains(raw, "[SMTP Lab: only the first 65536 of this message's") {
			t.Fatalf("the message is not shown cut: %d octets, ends %q", len(raw), raw[max(len(raw)-120, 0):])
		}
		return
	}
	t.Fatal("no state event with the mailbox")
}

// TestLiveFeedDropsAStalledReader: a page that stops reading is dropped
// once a write has waited liveWrite, so it holds neither a goroutine nor
// the server's shutdown.
func TestLiveFeedDropsAStalledReader(t *testing.T) {
	b := startBridge(t, Options{SMTP: "127.0.0.1:0"})
	b.liveWrite = 300 * time.Millisecond
	srv := httptest.NewServer(b.LiveHandler())
	defer srv.Close()
	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.(*net.TCPConn).SetReadBuffer(4096)
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", srv.Listener.Addr())
	waitFor(t, func() bool { return b.watchers.Load() == 1 })
	// Mail until the feed has had to send far more than socket buffers
	// hold (a state event a second, each up to 50 messages of 64 KiB), all
	// of it unread.
	for end := time.Now().Add(20 * time.Second); b.watchers.Load() == 1; {
		if time.Now().After(end) {
			t.Fatal("the feed still writes to a reader that stopped reading")
		}
		sendMessage(t, b, "flood", 60<<10)
	}
}

// TestLiveFeedGuardsCredentialsAndHost: the feed masks what AUTH carries,
// and answers only requests made for this machine (DNS rebinding).
func TestLiveFeedGuardsCredentialsAndHost(t *testing.T) {
	b := startBridge(t, Options{})
	srv := httptest.NewServer(b.LiveHandler())
	defer srv.Close()

	req, _ := http.NewRequest("GET", srv.URL, nil)
	req.Host = "rebound.example:8080"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a request for rebound.example got %s, want 403", resp.Status)
	}

	h := b.hello()
	host := ""
	for _, s := range h.Servers {
		if s.Port == 465 {
			host = s.Host
		}
	}
	tc, err := tls.Dial("tcp", addr(b, 465), clientTLS(t, b, host))
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	c := &rawConn{t: t, c: tc, rd: newReader(tc)}
	secret := "AGFsaWNlQGV4YW1wbGUuY29tAHdvbmRlcmxhbmQ=" // alice@example.com / wonderland
	c.expect("220 ")
	c.send("EHLO raw.test\r\n")
	c.expect("250 ")
	c.send("AUTH PLAIN " + secret + "\r\n")
	c.expect("235 ")
	c.send("AUTH LOGIN\r\n")
	c.expect("503 ")

	feed, stop := openLive(t, srv.URL, nil)
	defer stop()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		e := feed.next()
		if strings.Contains(e.data, "wonderland") || strings.Contains(e.data, secret) {
			t.Fatal("the live feed carries the credentials")
		}
		if e.name == "trace" && strings.Contains(e.data, `"AUTH PLAIN ********"`) {
			return
		}
	}
	t.Fatal("no masked AUTH command in the feed")
}

// TestImplicitTLSPortRefusesInsideTLS: over a limit, a client of the
// implicit-TLS port reads its 421 inside TLS, the only way it can.
func TestImplicitTLSPortRefusesInsideTLS(t *testing.T) {
	b := startBridge(t, Options{SMTPS: "127.0.0.1:0", MaxConnsPerIP: 1})
	host := b.hello().Servers[0].Host
	var open []*tls.Conn
	for i := 0; i < 2; i++ {
		tc, err := tls.Dial("tcp", addr(b, 465), clientTLS(t, b, host))
		if err != nil {
			t.Fatalf("connection %d: %v", i+1, err)
		}
		defer tc.Close()
		open = append(open, tc)
	}
	c := &rawConn{t: t, c: open[0], rd: newReader(open[0])}
	c.expect("220 ")
	c = &rawConn{t: t, c: open[1], rd: newReader(open[1])}
	c.expect("421 4.7.0 ")
}

// TestPlaceFreedBeforeGoodbye: a client that reconnects the moment it has
// read 221 finds its place under the per-address limit free.
func TestPlaceFreedBeforeGoodbye(t *testing.T) {
	b := startBridge(t, Options{SMTP: "127.0.0.1:0", MaxConnsPerIP: 1})
	for i := 0; i < 50; i++ {
		c := dialRaw(t, addr(b, 25))
		c.expect("220 ")
		c.send("QUIT\r\n")
		c.expect("221 ")
	}
	if s := b.Stats(); s.Refused != 0 {
		t.Fatalf("%d connections refused", s.Refused)
	}
}

// TestTimeoutScaleBounded: a scale that would overflow a time.Duration
// is refused, not turned into instant timeouts.
func TestTimeoutScaleBounded(t *testing.T) {
	for _, scale := range []float64{1e9, math.Inf(1), math.NaN(), -0.5} {
		if b, err := Start(t.Context(), Options{SMTP: "127.0.0.1:0", TimeoutScale: scale}); err == nil {
			b.Close()
			t.Errorf("timeout scale %v accepted", scale)
		}
	}
}
