package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"smtplab/bridge"
)

// TestRunKeepsTheLiveFeedLocal: with SMTP ports on, the page's live feed
// shows every session and message they take, so the page may listen beyond
// loopback only when -allow-remote says so.
func TestRunKeepsTheLiveFeedLocal(t *testing.T) {
	err := run("0.0.0.0:0", bridge.Options{SMTP: "127.0.0.1:0"})
	if err == nil || !strings.Contains(err.Error(), "-allow-remote") {
		t.Fatalf("run on 0.0.0.0 with the bridge: %v, want a refusal naming -allow-remote", err)
	}
}

// TestRunKeepsThePageLocal: without SMTP ports too, the page listens
// beyond loopback only when -allow-remote says so, in the words the SMTP
// addresses get.
func TestRunKeepsThePageLocal(t *testing.T) {
	done := make(chan error, 1)
	go func() { done <- run("0.0.0.0:0", bridge.Options{}) }()
	select {
	case err := <-done:
		want := bridge.CheckLoopback("-addr", "0.0.0.0:0", false).Error()
		if err == nil || err.Error() != want {
			t.Fatalf("run on 0.0.0.0: %v, want %q", err, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run on 0.0.0.0 without -allow-remote is serving")
	}
}

// TestRunSaysWhenThePortIsTaken: a page address another program holds
// (another SMTP Lab, most often) is refused in words that say how to pick
// another port. It had been Go's "bind: address already in use" alone.
func TestRunSaysWhenThePortIsTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().String()
	done := make(chan error, 1)
	go func() { done <- run(addr, bridge.Options{}) }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), addr+" is already in use") || !strings.Contains(err.Error(), "make serve ADDR=") {
			t.Fatalf("run on a taken port: %v, want it to say the port is in use and how to choose another", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("run on a taken port is serving")
	}
}

// TestPageURL: the log names a URL a browser here can open, 127.0.0.1
// for a listener on every interface.
func TestPageURL(t *testing.T) {
	for _, c := range []struct {
		addr       net.Addr
		url        string
		everywhere bool
	}{
		{&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080}, "http://127.0.0.1:8080", false},
		{&net.TCPAddr{IP: net.IPv6unspecified, Port: 8091}, "http://127.0.0.1:8091", true},
		{&net.TCPAddr{IP: net.IPv4zero, Port: 8091}, "http://127.0.0.1:8091", true},
		{&net.TCPAddr{IP: net.IPv6loopback, Port: 8081}, "http://[::1]:8081", false},
		{&net.TCPAddr{IP: net.IPv4(192, 0, 2, 7), Port: 80}, "http://192.0.2.7:80", false},
	} {
		if url, everywhere := pageURL(c.addr); url != c.url || everywhere != c.everywhere {
			t.Errorf("pageURL(%v) = %q, %v; want %q, %v", c.addr, url, everywhere, c.url, c.everywhere)
		}
	}
}

// TestMainExitCodes: a mistake in the command line, the server's or
// send's, exits 2 with the reason on stderr before anything is served or
// sent; a delivery that fails exits 1.
func TestMainExitCodes(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close() // nobody listens there now: connecting is refused at once
	for _, c := range []struct {
		args []string
		code int
		want string // on stderr
	}{
		{[]string{"-addr", "0.0.0.0:8091"}, 2, `-addr: "0.0.0.0:8091" is not a loopback address; use 127.0.0.1 or [::1], or allow remote clients explicitly with -allow-remote`},
		{[]string{"-addr", "127.0.0.1:0", "-smtp", "0.0.0.0:2525"}, 2, `-smtp: "0.0.0.0:2525" is not a loopback address`},
		{[]string{"-max-conns", "0"}, 2, "-max-conns: at least 1 is expected"},
		{[]string{"-max-conns", "-1"}, 2, "-max-conns: at least 1 is expected"},
		{[]string{"-max-conns-per-ip", "0"}, 2, "-max-conns-per-ip: at least 1 is expected"},
		{[]string{"-timeout-scale", "0"}, 2, "-timeout-scale: more than 0"},
		{[]string{"-scenario", "nope"}, 2, `no scenario called "nope" (try one of: `},
		{[]string{"stray"}, 2, `unexpected argument "stray"`},
		{[]string{"-h"}, 0, "usage:"},
		{[]string{"send", "-timeout", "0"}, 2, "send: -timeout 0s: want a positive duration"},
		{[]string{"send", "-timeout", "-1s"}, 2, "send: -timeout -1s"},
		{[]string{"send", "-tls", "sometimes"}, 2, `-tls "sometimes"`},
		{[]string{"send", "-sever", "x"}, 2, "-sever"},
		{[]string{"send", "-to", ""}, 2, "-to names no recipient"},
		{[]string{"send", "-server", closed, "-timeout", "5s"}, 1, "connection refused"},
	} {
		var stdout, stderr bytes.Buffer
		code := realMain(c.args, &stdout, &stderr)
		if code != c.code || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("smtplab %s: exit %d, stderr %q; want exit %d and %q", strings.Join(c.args, " "), code, stderr.String(), c.code, c.want)
		}
	}
}

// TestEveryResponseHasTheSecurityHeaders: every response of the server
// `go run . -smtp ...` runs carries the headers the page's own files do:
// the live feed (streaming, refused for a foreign Host, or for a POST)
// and the lab CA as much as every file, the page, a 404 and a 405.
func TestEveryResponseHasTheSecurityHeaders(t *testing.T) {
	s, err := newSite(testWeb(t), nil, siteOptions{Live: livePath})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	br, err := bridge.Start(ctx, bridge.Options{SMTP: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer br.Close()
	addBridge(s, br)
	srv := httptest.NewServer(s)
	defer srv.Close()

	type request struct{ method, path, host string }
	reqs := []request{
		{"GET", livePath, ""}, {"HEAD", livePath, ""}, {"POST", livePath, ""}, {"GET", livePath, "lab.example.com"},
		{"GET", caPath, ""}, {"GET", "/", ""}, {"GET", "/index.html", ""}, {"POST", "/", ""}, {"GET", "/no-such-file", ""},
	}
	for name := range s.assets {
		reqs = append(reqs, request{"GET", "/" + name, ""})
	}
	for _, r := range reqs {
		rctx, rcancel := context.WithTimeout(ctx, 5*time.Second)
		req, err := http.NewRequestWithContext(rctx, r.method, srv.URL+r.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if r.host != "" {
			req.Host = r.host
		}
		res, err := srv.Client().Do(req) // the live feed's headers come before its stream
		if err != nil {
			rcancel()
			t.Fatalf("%s %s: %v", r.method, r.path, err)
		}
		h := res.Header
		res.Body.Close()
		rcancel()
		if h.Get("Content-Security-Policy") != s.csp || h.Get("X-Content-Type-Options") != "nosniff" ||
			h.Get("Referrer-Policy") != "no-referrer" || h.Get("Cross-Origin-Opener-Policy") != "same-origin" {
			t.Errorf("%s %s (host %q, %s): headers %v", r.method, r.path, r.host, res.Status, h)
		}
	}
}

// TestLabCAIsReadOnly: the lab CA answers GET and HEAD, as every other
// path of the site does; a POST or a DELETE had got the certificate too.
func TestLabCAIsReadOnly(t *testing.T) {
	h := caHandler([]byte("-----BEGIN CERTIFICATE-----\n"))
	for method, want := range map[string]int{"GET": 200, "HEAD": 200, "POST": 405, "DELETE": 405, "PUT": 405} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(method, caPath, nil))
		if rec.Code != want {
			t.Errorf("%s %s: %d, want %d", method, caPath, rec.Code, want)
		}
		if want == 405 && (rec.Header().Get("Allow") != "GET, HEAD" || strings.Contains(rec.Body.String(), "CERTIFICATE")) {
			t.Errorf("%s %s: Allow %q, body %q", method, caPath, rec.Header().Get("Allow"), rec.Body)
		}
	}
}

// TestServerBoundsHeaders: a request's header is read whole into memory
// before any handler sees it, so its size is bounded far below net/http's
// default megabyte, and far above what a browser sends.
func TestServerBoundsHeaders(t *testing.T) {
	srv := newHTTPServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()
	for size, want := range map[int]int{8 << 10: 200, 256 << 10: http.StatusRequestHeaderFieldsTooLarge} {
		req, _ := http.NewRequest("GET", "http://"+ln.Addr().String()+"/", nil)
		req.Header.Set("Cookie", "other-app="+strings.Repeat("x", size))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != want {
			t.Errorf("a header of %d KiB: %s, want %d", size>>10, res.Status, want)
		}
	}
}
