package bridge

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	gosmtp "github.com/emersion/go-smtp"

	"smtplab/engine/lab"
	"smtplab/engine/smtp"
	"smtplab/internal/gosmtptest"
)

// peerTLS is a certificate for mx.example.org from the lab CA, as files
// for a foreign server and as a tls.Config for go-smtp's.
type peerTLS struct {
	cert, key, ca string
	config        *tls.Config
}

func newPeerTLS(t testing.TB) peerTLS {
	t.Helper()
	w, err := lab.New("first-session", 1)
	if err != nil {
		t.Fatal(err)
	}
	cfg, caPEM, err := w.ExternalTLS("mx.example.org", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	c := cfg.Certificates[0]
	keyDER, err := x509.MarshalPKCS8PrivateKey(c.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p := peerTLS{cert: filepath.Join(dir, "cert.pem"), key: filepath.Join(dir, "key.pem"), ca: filepath.Join(dir, "ca.pem"), config: cfg}
	for path, data := range map[string][]byte{
		p.cert: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Certificate[0]}),
		p.key:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
		p.ca:   caPEM,
	} {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

// freePort returns a loopback port nobody listens on right now.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// serveOnce listens on a loopback port until the test ends and hands the
// first connection it accepts to serve, in a goroutine, with ten seconds
// to live: a server written for one test, that stops by itself. It
// returns the port's address.
func serveOnce(t *testing.T, serve func(c net.Conn)) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		serve(c)
	}()
	return l.Addr().String()
}

// startAiosmtpd runs testdata/aiosmtpd_server.py on a loopback port, with
// STARTTLS when p is set, until the test ends. Messages land in the
// returned directory.
func startAiosmtpd(t *testing.T, p *peerTLS) (addr, outdir string) {
	t.Helper()
	need(t, pythonPath, "python3")
	if out, err := run(t, pythonPath, "-c", "import aiosmtpd"); err != nil {
		t.Fatalf("%s cannot import aiosmtpd: install the Debian package python3-aiosmtpd\n%s", pythonPath, out)
	}
	port := freePort(t)
	outdir = t.TempDir()
	args := []string{"testdata/aiosmtpd_server.py", itoa(port), outdir}
	if p != nil {
		args = append(args, p.cert, p.key)
	}
	cmd := exec.Command(pythonPath, args...)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close() // the server stops when its stdin closes
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	ready := make(chan bool, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		ready <- strings.TrimSpace(line) == "ready"
		io.Copy(io.Discard, stdout)
	}()
	select {
	case ok := <-ready:
		if !ok {
			t.Fatalf("aiosmtpd did not start:\n%s", stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("aiosmtpd did not start within 20 s:\n%s", stderr.String())
	}
	return "127.0.0.1:" + itoa(port), outdir
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// sendWith runs SendCommand and returns its transcript.
func sendWith(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := SendCommand(args, &out)
	return out.String(), err
}

const clientMessage = "From: <alice@example.com>\r\nTo: <bob@example.org>\r\nSubject: from the lab's client\r\n\r\nHello.\r\n.a line that starts with a dot\r\n"

func TestOurClientToAiosmtpd(t *testing.T) {
	p := newPeerTLS(t)
	data := messageFile(t, clientMessage)
	cases := []struct {
		name    string
		tls     *peerTLS // the server offers STARTTLS
		args    []string
		wantTLS bool
	}{
		{name: "plaintext", args: []string{"-tls", "none"}},
		{name: "opportunistic, not offered", args: []string{"-tls", "opportunistic"}},
		{name: "STARTTLS required and verified", tls: &p, wantTLS: true,
			args: []string{"-tls", "required", "-cafile", p.ca, "-servername", "mx.example.org"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			addr, outdir := startAiosmtpd(t, c.tls)
			out, err := sendWith(t, append([]string{"-server", addr, "-from", "alice@example.com",
				"-to", "bob@example.org,carol@example.org", "-data", data, "-timeout", "10s"}, c.args...)...)
			if err != nil {
				t.Fatalf("send: %v\n%s", err, out)
			}
			if c.wantTLS != strings.Contains(out, " ~> MAIL FROM:<alice@example.com>") {
				t.Errorf("TLS %v, transcript:\n%s", c.wantTLS, out)
			}
			got, err := os.ReadFile(filepath.Join(outdir, "1.eml"))
			if err != nil {
				t.Fatalf("aiosmtpd kept nothing: %v\n%s", err, out)
			}
			if string(got) != clientMessage {
				t.Errorf("aiosmtpd got\n%q\nwant\n%q", got, clientMessage)
			}
			var env struct {
				From string   `json:"from"`
				To   []string `json:"to"`
				TLS  bool     `json:"tls"`
			}
			b, _ := os.ReadFile(filepath.Join(outdir, "1.json"))
			if err := json.Unmarshal(b, &env); err != nil || env.From != "alice@example.com" ||
				strings.Join(env.To, ",") != "bob@example.org,carol@example.org" || env.TLS != c.wantTLS {
				t.Errorf("envelope %s (%v)", b, err)
			}
		})
	}
}

// startGoSMTP serves a go-smtp server on loopback until the test ends.
func startGoSMTP(t testing.TB, tlsConfig *tls.Config) (*gosmtptest.Backend, string) {
	t.Helper()
	be := &gosmtptest.Backend{Reject: "nobody@example.org"}
	return be, serveGoSMTP(t, be, tlsConfig)
}

// serveGoSMTP serves be with go-smtp on loopback until the test ends and
// returns its address.
func serveGoSMTP(t testing.TB, be *gosmtptest.Backend, tlsConfig *tls.Config) string {
	t.Helper()
	s := gosmtp.NewServer(be)
	s.Domain = "mx.example.org"
	s.TLSConfig = tlsConfig
	s.ReadTimeout, s.WriteTimeout = 10*time.Second, 10*time.Second
	s.ErrorLog = nopLogger{}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(l)
	t.Cleanup(func() { s.Close() })
	return l.Addr().String()
}

type nopLogger struct{}

func (nopLogger) Printf(string, ...any) {}
func (nopLogger) Println(...any)        {}

func TestOurClientToGoSMTPServer(t *testing.T) {
	p := newPeerTLS(t)
	data := messageFile(t, clientMessage)
	for _, c := range []struct {
		name    string
		tls     *tls.Config
		args    []string
		wantTLS bool
		// noTLS: the transcript says the message went in clear because
		// the server offered no STARTTLS, as when a man in the middle
		// struck it out: the arrows alone would not say why.
		noTLS bool
	}{
		{name: "plaintext", args: []string{"-tls", "none"}},
		{name: "opportunistic, not offered", args: []string{"-tls", "opportunistic"}, noTLS: true},
		{name: "STARTTLS required and verified", tls: p.config, wantTLS: true,
			args: []string{"-tls", "required", "-cafile", p.ca, "-servername", "mx.example.org"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			be, addr := startGoSMTP(t, c.tls)
			out, err := sendWith(t, append([]string{"-server", addr, "-to", "bob@example.org,nobody@example.org",
				"-data", data, "-timeout", "10s"}, c.args...)...)
			// One recipient of two refused: the command says so.
			if err == nil || !strings.Contains(out, "nobody@example.org: refused (550 5.1.1") {
				t.Fatalf("send: %v\n%s", err, out)
			}
			got := be.Messages()
			if len(got) != 1 || string(got[0].Data) != clientMessage || got[0].TLS != c.wantTLS ||
				strings.Join(got[0].To, ",") != "bob@example.org" {
				t.Fatalf("go-smtp received %+v\n%s", got, out)
			}
			if note := "=== No TLS: the server does not offer STARTTLS"; strings.Contains(out, note) != c.noTLS {
				t.Errorf("%q in the transcript: %v, want %v\n%s", note, !c.noTLS, c.noTLS, out)
			}
		})
	}
}

func TestSendCommandToBridge(t *testing.T) {
	b := startBridge(t, Options{})
	ca := caFile(t, b)
	out, err := sendWith(t, "-server", addr(b, 587), "-servername", "smtp.example.com", "-cafile", ca, "-tls", "required",
		"-auth-user", "alice@example.com", "-auth-password", "wonderland", "-from", "alice@example.com",
		"-to", "bob@example.org", "-subject", "via send", "-body", "hello")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{"=== Connected to", " -> STARTTLS", "<-  220 2.0.0", " ~> AUTH CRAM-MD5", " ~> ********",
		"<~  235 2.7.0", "=== bob@example.org: delivered"} {
		if !strings.Contains(out, want) {
			t.Errorf("transcript has no %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "wonderland") {
		t.Error("the transcript shows the password")
	}
	msgs := mailbox(b, "mx.example.org", "bob@example.org")
	if len(msgs) != 1 || !strings.Contains(msgs[0], "Subject: via send\r\n") || !strings.HasSuffix(msgs[0], "\r\n\r\nhello\r\n") {
		t.Fatalf("bob's mailbox: %q", msgs)
	}
	// Implicit TLS on the 465 listener.
	out, err = sendWith(t, "-server", addr(b, 465), "-servername", "smtp.example.com", "-cafile", ca, "-tls", "implicit",
		"-auth-user", "alice@example.com", "-auth-password", "wonderland", "-from", "alice@example.com", "-to", "alice@example.com")
	if err != nil || !strings.Contains(out, "=== TLS started with cipher TLS 1.3") {
		t.Fatalf("implicit TLS: %v\n%s", err, out)
	}
	// Errors a user can make.
	for _, args := range [][]string{
		{"-tls", "sometimes"}, {"-to", "not an address"}, {"-server", "no-port"}, {"stray"},
		{"-server", addr(b, 25), "-to", "nobody@example.org"},
	} {
		if out, err := sendWith(t, args...); err == nil {
			t.Errorf("send %v succeeded:\n%s", args, out)
		}
	}
}

// TestSendCommandDefaultsReachTheBridge: with no TLS flags, send gets its
// message through the lab's own bridge: opportunistic TLS encrypts and
// reports that the certificate (the lab's CA, for 127.0.0.1) did not
// verify, rather than giving up. Asking for a verified certificate fails
// with a hint, and so does a mistake made before any connection.
func TestSendCommandDefaultsReachTheBridge(t *testing.T) {
	b := startBridge(t, Options{SMTP: "127.0.0.1:0"})
	out, err := sendWith(t, "-server", addr(b, 25))
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{"=== TLS started", "=== The certificate did not verify (", "opportunistic TLS, RFC 7435", "=== bob@example.org: delivered"} {
		if !strings.Contains(out, want) {
			t.Errorf("transcript has no %q:\n%s", want, out)
		}
	}
	out, err = sendWith(t, "-server", addr(b, 25), "-tls", "required")
	if err == nil || !strings.Contains(out, "/api/lab-ca.pem") {
		t.Errorf("-tls required to the lab's certificate: %v, and no hint:\n%s", err, out)
	}
	out, err = sendWith(t, "-server", addr(b, 25), "-to", "")
	if err == nil || out != "" {
		t.Errorf("no recipient: %v, transcript %q (nothing may be tried)", err, out)
	}
	out, err = sendWith(t, "-sever", "x")
	if err == nil || out != "" || !strings.Contains(err.Error(), "-sever") {
		t.Errorf("a misspelt flag: %v, transcript %q (the error alone, once)", err, out)
	}
}

// TestSendKeepsThePasswordFromUnverifiedServers: with -auth-user, send
// gives the password only to a server whose certificate verified. Here
// go-smtp offers STARTTLS with a certificate for mx.example.org from the
// lab's CA, which neither the system roots nor the name 127.0.0.1 make
// good, and AUTH PLAIN after it: without -cafile and -servername nothing
// may reach it but the refusal, with -insecure the password goes as asked.
// A server that offers no AUTH gets no message either: the user asked to
// log in.
func TestSendKeepsThePasswordFromUnverifiedServers(t *testing.T) {
	p := newPeerTLS(t)
	login := []string{"-auth-user", "alice", "-auth-password", "s3cret", "-timeout", "10s"}
	for _, c := range []struct {
		name    string
		args    []string
		noAuth  bool   // the server offers no AUTH
		want    string // in the error; "" for delivered
		logins  int
		message bool
	}{
		{name: "opportunistic, certificate not verified",
			want: "not sending the password: the certificate of 127.0.0.1 did not verify: "},
		{name: "-tls required, certificate not verified", args: []string{"-tls", "required"},
			want: "TLS handshake"},
		{name: "-insecure sends it anyway", args: []string{"-insecure"}, logins: 1, message: true},
		{name: "verified with -cafile and -servername", args: []string{"-cafile", p.ca, "-servername", "mx.example.org"},
			logins: 1, message: true},
		{name: "verified, but no AUTH offered", args: []string{"-cafile", p.ca, "-servername", "mx.example.org"}, noAuth: true,
			want: "offers no AUTH"},
		{name: "no TLS, no AUTH offered", args: []string{"-tls", "none"}, noAuth: true, want: "offers no AUTH"},
	} {
		t.Run(c.name, func(t *testing.T) {
			be := &gosmtptest.Backend{User: "alice", Password: "s3cret"}
			if c.noAuth {
				be.User = ""
			}
			addr := serveGoSMTP(t, be, p.config)
			out, err := sendWith(t, append(append([]string{"-server", addr}, login...), c.args...)...)
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("send: %v\n%s", err, out)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Fatalf("send: %v, want an error with %q\n%s", err, c.want, out)
			}
			if c.want != "" && strings.Contains(c.want, "password") && !strings.Contains(err.Error(), "-insecure") {
				t.Errorf("the error names no way out: %v", err)
			}
			if got := be.Logins(); len(got) != c.logins {
				t.Errorf("the server got %d logins %q, want %d\n%s", len(got), got, c.logins, out)
			}
			if got := len(be.Messages()); got > 0 != c.message {
				t.Errorf("the server got %d messages\n%s", got, out)
			}
		})
	}
}

// TestSendHintsAtASilentServer: a server that says nothing, as an
// implicit-TLS port does to a client that waits for its greeting, gets
// the hint to use -tls implicit once, early rather than after -timeout,
// and the error once: the caller prints it, not the transcript. On port
// 465 the hint comes before connecting. The hint waits a tenth of the
// timeout: 100 ms here.
func TestSendHintsAtASilentServer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close() // silent until the test ends
		}
	}()
	start := time.Now()
	out, err := sendWith(t, "-server", l.Addr().String(), "-timeout", "1s")
	if err == nil || !strings.Contains(err.Error(), "i/o timeout") || time.Since(start) > 5*time.Second {
		t.Fatalf("send to a silent server: %v after %v\n%s", err, time.Since(start), out)
	}
	if strings.Count(out, "-tls implicit") != 1 || !strings.Contains(out, "*** No greeting after 100ms.") ||
		strings.Contains(out, "i/o timeout") {
		t.Errorf("want the hint once, early, and no error in the transcript:\n%s", out)
	}

	out, err = sendWith(t, "-server", "127.0.0.1:465", "-timeout", "1s")
	if err == nil || !strings.HasPrefix(out, implicitTLSHint+"\n=== Trying") || strings.Count(out, "-tls implicit") != 1 {
		t.Errorf("port 465 without -tls implicit: %v\n%s", err, out)
	}
}

// TestSendConvertsFor7BitServers: to a server that offers no 8BITMIME,
// send's 8-bit body goes in quoted-printable, 7 bits on the wire, and the
// transcript says so, where the message was returned unsent.
func TestSendConvertsFor7BitServers(t *testing.T) {
	received := make(chan string, 1)
	addr := serveOnce(t, func(c net.Conn) {
		r := bufio.NewReader(c)
		var text strings.Builder
		inData := false
		io.WriteString(c, "220 old.example ESMTP\r\n")
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			switch verb := strings.ToUpper(line[:min(4, len(line))]); {
			case inData && line == ".\r\n":
				inData = false
				received <- text.String()
				io.WriteString(c, "250 queued\r\n")
			case inData:
				text.WriteString(line)
			case verb == "DATA":
				inData = true
				io.WriteString(c, "354 go ahead\r\n")
			case verb == "QUIT":
				io.WriteString(c, "221 bye\r\n")
				return
			default: // EHLO gets one line: no extension at all
				io.WriteString(c, "250 ok\r\n")
			}
		}
	})
	out, err := sendWith(t, "-server", addr, "-from", "alice@example.com", "-to", "bob@example.org",
		"-body", "Au caf\u00e9 ?", "-timeout", "5s")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(out, "went converted to 7 bits") || !strings.Contains(out, "=== bob@example.org: delivered") {
		t.Errorf("the transcript:\n%s", out)
	}
	text := <-received
	if !smtp.IsASCII(text) || !strings.Contains(text, "Content-Transfer-Encoding: quoted-printable\r\n") || !strings.Contains(text, "Au caf=C3=A9 ?") {
		t.Errorf("the server received:\n%s", text)
	}
}

// TestSendShowsWhatServersSendAsText: a server's replies reach the
// terminal that runs send, and a server may put escape sequences in them
// that clear or rewrite the lines above, set the clipboard or the window
// title, or a carriage return that writes over its own line. Each shows
// as its escape, and the transcript's own lines stay as they are.
func TestSendShowsWhatServersSendAsText(t *testing.T) {
	addr := serveOnce(t, func(c net.Conn) {
		io.WriteString(c, "220 evil.example \x1b]0;title\x07\x1b[2J\r\n")
		rd := bufio.NewReader(c)
		for {
			line, err := rd.ReadString('\n')
			if err != nil {
				return
			}
			switch verb := strings.ToUpper(strings.Fields(line + " x")[0]); verb {
			case "EHLO":
				io.WriteString(c, "250-evil.example \u202edelivered\r\n250 8BITMIME\r\n")
			case "DATA":
				io.WriteString(c, "354 go on\r\n")
				for line != ".\r\n" && err == nil {
					line, err = rd.ReadString('\n')
				}
				io.WriteString(c, "250 queued\rrefused \x1b]52;c;ZXZpbA==\x07 \xff\u0085\r\n")
			case "QUIT":
				io.WriteString(c, "221 bye\r\n")
				return
			default:
				io.WriteString(c, "250 ok \x08\x08\x1b[1A\r\n")
			}
		}
	})
	out, err := sendWith(t, "-server", addr, "-tls", "none", "-timeout", "5s")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{
		`<-  220 evil.example \x1b]0;title\x07\x1b[2J`,
		`<-  250-evil.example \u202edelivered`,
		`<-  250 ok \x08\x08\x1b[1A`,
		`<-  250 queued\x0drefused \x1b]52;c;ZXZpbA==\x07 \xff\u0085`,
		"=== bob@example.org: delivered (250 queued\\x0drefused",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the transcript has no %q", want)
		}
	}
	for i, r := range out {
		if r == utf8.RuneError || (r < ' ' && r != '\n') || (r >= 0x7f && r <= 0x9f) || r == '\u202e' {
			t.Fatalf("the transcript holds %U at %d, which a terminal obeys:\n%s", r, i, out)
		}
	}
}

func TestPrintable(t *testing.T) {
	for in, want := range map[string]string{
		"250 plain\n":                "250 plain\n",
		"tab\there":                  "tab\there",
		"bare\rCR and NUL\x00":       `bare\x0dCR and NUL\x00`,
		"\x1b[31mred\x7f":            `\x1b[31mred\x7f`,
		"C1 CSI \u009b2J":            `C1 CSI \u009b2J`,
		"not UTF-8 \xc3":             `not UTF-8 \xc3`,
		"bidi \u202e\u2066 \u2028":   `bidi \u202e\u2066 \u2028`,
		"déjà vu, 日本, 📬, nbsp\u00a0": "déjà vu, 日本, 📬, nbsp\u00a0",
	} {
		if got := printable(in); got != want {
			t.Errorf("printable(%q) = %q, want %q", in, got, want)
		}
	}
	err := printableError{fmt.Errorf("send: x509: certificate is valid for \x1b]52;c;eA==\x07.example: %w", io.EOF)}
	if got := err.Error(); strings.ContainsRune(got, 0x1b) || !errors.Is(err, io.EOF) {
		t.Errorf("printableError: %q, Is(io.EOF) %v", got, errors.Is(err, io.EOF))
	}
}

// TestSendDiscardsWhatCameBehindTheSTARTTLSReply: a server (or a man in
// the middle) that puts forged replies behind its "220" to STARTTLS, in
// the same write, hopes the client takes them for the first replies over
// TLS (CVE-2011-0411 and its kin, RFC 3207 §6). Over a real socket, send
// must throw them away unread: the session goes on with the EHLO reply
// that comes over TLS, and the forged text shows nowhere. Should the
// bytes come apart on the way, the handshake reads them and fails, which
// is safe too; either way they are never a reply.
func TestSendDiscardsWhatCameBehindTheSTARTTLSReply(t *testing.T) {
	p := newPeerTLS(t)
	addr := serveOnce(t, func(raw net.Conn) {
		var c net.Conn = raw
		rd := bufio.NewReader(c)
		io.WriteString(c, "220 mx.example.org ESMTP\r\n")
		for {
			line, err := rd.ReadString('\n')
			if err != nil {
				return
			}
			switch verb := strings.ToUpper(strings.Fields(line + " x")[0]); verb {
			case "EHLO":
				if c == raw {
					io.WriteString(c, "250-mx.example.org\r\n250 STARTTLS\r\n")
				} else {
					io.WriteString(c, "250-mx.example.org\r\n250 8BITMIME\r\n")
				}
			case "STARTTLS":
				io.WriteString(c, "220 2.0.0 ready\r\n250-forged.example\r\n250 FORGED-EXTENSION\r\n")
				tc := tls.Server(raw, p.config)
				if tc.Handshake() != nil {
					return
				}
				c, rd = tc, bufio.NewReader(tc)
			case "DATA":
				io.WriteString(c, "354 go on\r\n")
				for line != ".\r\n" && err == nil {
					line, err = rd.ReadString('\n')
				}
				io.WriteString(c, "250 2.0.0 queued\r\n")
			case "QUIT":
				io.WriteString(c, "221 2.0.0 bye\r\n")
				return
			default:
				io.WriteString(c, "250 2.0.0 ok\r\n")
			}
		}
	})
	out, err := sendWith(t, "-server", addr, "-tls", "required", "-cafile", p.ca,
		"-servername", "mx.example.org", "-timeout", "5s")
	if strings.Contains(strings.ToLower(out), "forged") {
		t.Fatalf("the forged replies were read:\n%s", out)
	}
	if err == nil && !strings.Contains(out, "<~  250 8BITMIME") {
		t.Fatalf("delivered without the EHLO reply that came over TLS:\n%s", out)
	}
	forged := len("250-forged.example\r\n250 FORGED-EXTENSION\r\n")
	if note := fmt.Sprintf("=== %d bytes that came behind the 220", forged); err == nil && !strings.Contains(out, note) {
		t.Errorf("the transcript does not say %q:\n%s", note, out)
	}
	if err != nil && !strings.Contains(out, "TLS") {
		t.Fatalf("failed, and not in the handshake: %v\n%s", err, out)
	}
}
