package main

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"
)

// These tests attack the page's HTTP server as a program on this machine
// could, over raw TCP, with what a browser never sends.

// startHTTP serves h with the server `go run .` runs (newHTTPServer) on a
// loopback port, until the test ends.
func startHTTP(t *testing.T, h http.Handler) (addr string, srv *http.Server) {
	t.Helper()
	srv = newHTTPServer(h)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(limitConns(ln, maxHTTPConns))
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String(), srv
}

// rawGET sends a request line as written, path and all, and returns the
// response.
func rawGET(t *testing.T, addr, target string) *http.Response {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, "GET "+target+" HTTP/1.1\r\nHost: "+addr+"\r\nConnection: close\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("GET %q: %v", target, err)
	}
	return res
}

// TestOddPathsFindNoOtherFile: the site serves the files it read into
// memory and nothing else, whatever a path's dots, encodings, slashes of
// either way and NUL bytes say: each of these is a 404 with the headers of
// every response, and none reaches a file outside the page (the server's
// own source, the test artifacts beside the page's files).
func TestOddPathsFindNoOtherFile(t *testing.T) {
	s := testSite(t)
	addr, _ := startHTTP(t, s)
	for _, target := range []string{
		"/../serve.go",
		"/%2e%2e/serve.go",
		"/..%2fserve.go",
		"/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
		"/js/..%5c..%5cserve.go",
		`/js\..\..\serve.go`,
		"/js/main.js%00",
		"/index.html%00.js",
		"/%00",
		"//etc/passwd",
		"/testdata/artifacts/shot.png",
		"/%74estdata/artifacts/shot.png",
		"/js/../testdata/artifacts/shot.png",
		"/web/index.html",
		"/dist/",
	} {
		res := rawGET(t, addr, target)
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %s, want 404 (%.60q)", target, res.Status, b)
		}
		if res.Header.Get("Content-Security-Policy") != s.csp || res.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: the security headers are missing: %v", target, res.Header)
		}
	}
}

// TestSlowHeadersAreCut: a few clients that trickle a request's header a
// line at a time, never ending it (slowloris), are cut off once the
// header has taken ReadHeaderTimeout, and the page is served to others
// meanwhile.
func TestSlowHeadersAreCut(t *testing.T) {
	addr, srv := startHTTP(t, testSite(t))
	limit := srv.ReadHeaderTimeout
	if limit <= 0 || limit > 10*time.Second {
		t.Fatalf("ReadHeaderTimeout %v: a header may take as long as its client likes", limit)
	}
	const clients = 3
	cut := make(chan time.Duration, clients)
	var wg sync.WaitGroup
	for range clients {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		wg.Go(func() {
			start := time.Now()
			io.WriteString(c, "GET / HTTP/1.1\r\nHost: "+addr+"\r\n")
			// A header line every 200 ms, each long before any idle
			// timeout, until the server hangs up or the test gives up.
			for time.Since(start) < limit+3*time.Second {
				time.Sleep(200 * time.Millisecond)
				c.SetWriteDeadline(time.Now().Add(time.Second))
				if _, err := io.WriteString(c, "X-Slow: 1\r\n"); err != nil {
					break
				}
			}
			// What the server sent when it gave up (a 408, or nothing),
			// then its end of the connection.
			c.SetReadDeadline(time.Now().Add(time.Second))
			if _, err := io.Copy(io.Discard, c); err == nil {
				cut <- time.Since(start)
			}
		})
	}
	time.Sleep(limit / 2)
	res := rawGET(t, addr, "/css/lab.css")
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("the page's stylesheet, asked for while slow clients wait: %s", res.Status)
	}
	wg.Wait()
	close(cut)
	n := 0
	for d := range cut {
		n++
		if d > limit+2*time.Second {
			t.Errorf("a slow client was cut after %v, the limit is %v", d, limit)
		}
	}
	if n != clients {
		t.Errorf("%d of %d slow clients were cut off; the others kept their connection for %v", n, clients, limit+3*time.Second)
	}
}

// TestConnectionsAreLimited: past its bound of open connections, the
// page's server takes no more until one closes, and then serves the one
// that waited; closing the server ends an Accept that waits for room.
func TestConnectionsAreLimited(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := newHTTPServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hi") }))
	served := make(chan error, 1)
	go func() { served <- srv.Serve(limitConns(ln, 2)) }()
	addr := ln.Addr().String()

	// Two connections that say nothing take both places.
	var idle []net.Conn
	for range 2 {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		idle = append(idle, c)
	}
	// The third is connected by the kernel but not served...
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if n, err := c.Read(make([]byte, 1)); n > 0 || err == nil {
		t.Fatal("a third connection was served while two held both places")
	}
	// ...until one of the two goes.
	idle[0].Close()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("the waiting connection, once a place was free: %v", err)
	}
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d", res.StatusCode)
	}
	res.Body.Close()

	// Both places taken again, and the server closed: Serve returns.
	c2, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	time.Sleep(100 * time.Millisecond) // Accept takes c2 and waits for room
	srv.Close()
	select {
	case err := <-served:
		if err != http.ErrServerClosed {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve still waits for room after the server was closed")
	}
}
