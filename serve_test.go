package main

import (
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
