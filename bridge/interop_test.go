package bridge

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Debian's programs the interop tests run. A missing one fails the test
// with the package to install: CI installs them, and a skipped interop
// test would hide a broken server.
const (
	swaksPath  = "/usr/bin/swaks"   // apt-get install swaks
	pythonPath = "/usr/bin/python3" // Debian's python3 (not a pyenv one), with python3-aiosmtpd
)

// need fails the test when a program is missing.
func need(t testing.TB, path, pkg string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("%s is missing: install the Debian package %s (apt-get install -y %s)", path, pkg, pkg)
	}
}

// run runs a program for at most 30 seconds and returns its output.
func run(t testing.TB, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	return string(out), err
}

// messageFile writes msg to a file, for swaks --data.
func messageFile(t testing.TB, msg string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "message.eml")
	if err := os.WriteFile(p, []byte(msg), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSwaksToBridge(t *testing.T) {
	need(t, swaksPath, "swaks")
	b := startBridge(t, Options{})
	ca := caFile(t, b)
	msg := "From: <swaks@swaks.test>\r\nSubject: from swaks\r\n\r\nHello from swaks.\r\nCaf\xc3\xa9 in 8 bits.\r\n"
	cases := []struct {
		name       string
		args       []string
		host       string
		delivered  []string // recipients that must get msg
		wantExit   bool     // swaks must report a failure
		transcript []string // lines the transcript must show
	}{
		{name: "plain, two recipients",
			args: []string{"--server", addr(b, 25), "--to", "bob@example.org,carol@example.org"},
			host: "mx.example.org", delivered: []string{"bob@example.org", "carol@example.org"}},
		{name: "PIPELINING",
			args: []string{"--server", addr(b, 25), "--to", "bob@example.org", "--pipeline"},
			host: "mx.example.org", delivered: []string{"bob@example.org"},
			transcript: []string{"250-PIPELINING"}},
		{name: "a rejected recipient",
			args:     []string{"--server", addr(b, 25), "--to", "nobody@example.org"},
			wantExit: true, transcript: []string{"<** 550 5.1.1"}},
		{name: "STARTTLS, verified, and AUTH PLAIN",
			args: []string{"--server", addr(b, 587), "--to", "bob@example.org", "--tls", "--tls-verify", "--tls-ca-path", ca,
				"--tls-sni", "smtp.example.com", "--auth", "PLAIN", "--auth-user", "alice@example.com", "--auth-password", "wonderland"},
			host: "mx.example.org", delivered: []string{"bob@example.org"},
			transcript: []string{"<-  220 2.0.0", "~> AUTH PLAIN", "<~  235 2.7.0"}},
		{name: "STARTTLS and AUTH LOGIN",
			args: []string{"--server", addr(b, 587), "--to", "alice@example.com", "--tls",
				"--auth", "LOGIN", "--auth-user", "alice@example.com", "--auth-password", "wonderland"},
			host: "smtp.example.com", delivered: []string{"alice@example.com"},
			transcript: []string{"~> AUTH LOGIN", "<~  235 2.7.0"}},
		{name: "implicit TLS",
			args: []string{"--server", addr(b, 465), "--to", "carol@example.org", "--tlsc",
				"--auth", "PLAIN", "--auth-user", "alice@example.com", "--auth-password", "wonderland"},
			host: "mx.example.org", delivered: []string{"carol@example.org"}},
		{name: "a wrong password",
			args: []string{"--server", addr(b, 587), "--to", "bob@example.org", "--tls",
				"--auth", "PLAIN", "--auth-user", "alice@example.com", "--auth-password", "guess"},
			wantExit: true, transcript: []string{"<~* 535 5.7.8"}},
	}
	// With --no-data-fixup swaks sends the file as it is, end of data
	// included.
	data := "@" + messageFile(t, msg+".\r\n")
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := mailCounts(b, c.host, c.delivered)
			args := append([]string{"--from", "swaks@swaks.test", "--helo", "swaks.test", "--data", data, "--no-data-fixup", "--timeout", "20"}, c.args...)
			out, err := run(t, swaksPath, args...)
			if (err != nil) != c.wantExit {
				t.Fatalf("swaks: %v\n%s", err, out)
			}
			for _, want := range c.transcript {
				if !strings.Contains(out, want) {
					t.Errorf("the transcript has no %q:\n%s", want, out)
				}
			}
			checkDelivered(t, b, c.host, before, msg, out)
		})
	}
}

func TestSwaksOversizeMessage(t *testing.T) {
	need(t, swaksPath, "swaks")
	b := startBridge(t, Options{Scenario: "size-limit", SMTP: "127.0.0.1:0"})
	big := "Subject: big\r\n\r\n" + strings.Repeat("swaks sends more than the 2048 bytes mx.example.org takes.\r\n", 50)
	out, err := run(t, swaksPath, "--server", addr(b, 25), "--from", "swaks@swaks.test", "--to", "bob@example.org",
		"--data", "@"+messageFile(t, big+".\r\n"), "--no-data-fixup", "--timeout", "20")
	if err == nil || !strings.Contains(out, "<** 552 5.3.4") {
		t.Fatalf("an oversize message: %v\n%s", err, out)
	}
	wantMailbox(t, b, "mx.example.org", "bob@example.org")
}

// pyResult is what testdata/smtplib_client.py prints.
type pyResult struct {
	Refused map[string][2]any `json:"refused"`
	Error   []any             `json:"error"`
}

// pySend runs testdata/smtplib_client.py with spec.
func pySend(t *testing.T, spec map[string]any) pyResult {
	t.Helper()
	need(t, pythonPath, "python3")
	js, _ := json.Marshal(spec)
	out, err := run(t, pythonPath, "testdata/smtplib_client.py", string(js))
	if err != nil {
		t.Fatalf("smtplib: %v\n%s", err, out)
	}
	var r pyResult
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("smtplib printed %q: %v", out, err)
	}
	return r
}

func TestPythonSmtplibToBridge(t *testing.T) {
	b := startBridge(t, Options{})
	ca := caFile(t, b)
	msg := "From: <py@python.test>\r\nSubject: from smtplib\r\n\r\nHello from Python.\r\n"
	utf8 := "From: <jörg@python.test>\r\nSubject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nÄpfel in 8 bits.\r\n"
	cases := []struct {
		name      string
		spec      map[string]any
		host      string
		delivered []string
		refused   map[string]float64
		msg       string
	}{
		{name: "plain, two recipients, one rejected",
			spec: map[string]any{"port": 25, "to": []string{"bob@example.org", "nobody@example.org", "carol@example.org"}},
			host: "mx.example.org", delivered: []string{"bob@example.org", "carol@example.org"},
			refused: map[string]float64{"nobody@example.org": 550}},
		{name: "8BITMIME and SMTPUTF8",
			spec: map[string]any{"port": 25, "from": "jörg@python.test", "to": []string{"bob@example.org"},
				"mail_options": []string{"BODY=8BITMIME", "SMTPUTF8"}},
			host: "mx.example.org", delivered: []string{"bob@example.org"}, msg: utf8},
		{name: "STARTTLS, verified, and AUTH PLAIN",
			spec: map[string]any{"port": 587, "starttls": true, "auth": []string{"PLAIN", "alice@example.com", "wonderland"},
				"from": "alice@example.com", "to": []string{"carol@example.org"}},
			host: "mx.example.org", delivered: []string{"carol@example.org"}},
		{name: "STARTTLS and AUTH LOGIN",
			spec: map[string]any{"port": 587, "starttls": true, "auth": []string{"LOGIN", "alice@example.com", "wonderland"},
				"from": "alice@example.com", "to": []string{"alice@example.com"}},
			host: "smtp.example.com", delivered: []string{"alice@example.com"}},
		{name: "STARTTLS and smtplib's own choice (CRAM-MD5)",
			spec: map[string]any{"port": 587, "starttls": true, "auth": []string{"", "alice@example.com", "wonderland"},
				"from": "alice@example.com", "to": []string{"bob@example.org"}},
			host: "mx.example.org", delivered: []string{"bob@example.org"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want := c.msg
			if want == "" {
				want = msg
			}
			spec := map[string]any{"host": "127.0.0.1", "from": "py@python.test", "msg": want, "cafile": ca}
			for k, v := range c.spec {
				spec[k] = v
			}
			spec["server_name"] = b.Host(c.spec["port"].(int))
			spec["port"] = tcpPort(t, b, c.spec["port"].(int))
			before := mailCounts(b, c.host, c.delivered)
			res := pySend(t, spec)
			if res.Error != nil {
				t.Fatalf("smtplib: %v", res.Error)
			}
			for r, code := range c.refused {
				if got := res.Refused[r]; got[0] != code {
					t.Errorf("%s refused with %v, want %v", r, got, code)
				}
			}
			if len(res.Refused) != len(c.refused) {
				t.Errorf("refused %v, want %v", res.Refused, c.refused)
			}
			checkDelivered(t, b, c.host, before, want, "")
		})
	}

	t.Run("oversize", func(t *testing.T) {
		small := startBridge(t, Options{Scenario: "size-limit", SMTP: "127.0.0.1:0"})
		big := "Subject: big\r\n\r\n" + strings.Repeat("x", 4096) + "\r\n"
		res := pySend(t, map[string]any{"host": "127.0.0.1", "port": tcpPort(t, small, 25), "from": "py@python.test",
			"to": []string{"bob@example.org"}, "msg": big})
		// smtplib declares SIZE, so the refusal comes at MAIL (RFC 1870).
		if len(res.Error) != 2 || res.Error[0] != float64(552) {
			t.Fatalf("an oversize message: %+v", res)
		}
		wantMailbox(t, small, "mx.example.org", "bob@example.org")
	})
}

// tcpPort returns the real port of the bridge's listener for port.
func tcpPort(t testing.TB, b *Bridge, port int) int {
	t.Helper()
	a, ok := b.Addr(port).(*net.TCPAddr)
	if !ok {
		t.Fatalf("no TCP listener for port %d", port)
	}
	return a.Port
}
