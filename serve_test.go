package main

import (
	"bytes"
	"net"
	"strings"
	"testing"

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
