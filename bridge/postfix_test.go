package bridge

import (
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// postfixPath is Debian's postfix command. .ci/run installs the package
// with debconf's "No configuration": no /etc/postfix/main.cf is written and
// no system instance runs. Each test starts a Postfix of its own from a
// private configuration directory, on a loopback port, and stops it.
const postfixPath = "/usr/sbin/postfix"

// postfixServer is one private Postfix instance.
type postfixServer struct {
	plain    string // an SMTP server that does not offer STARTTLS
	starttls string // one that does
	conf     string // the configuration directory
	mail     string // virtual_mailbox_base: one Maildir per recipient under it
	log      string // maillog_file
}

// postfixConfig is what a test asks of its Postfix beyond startPostfix's
// defaults.
type postfixConfig struct {
	// relay, when set, makes Postfix send every message on (see
	// postfixRelay) rather than deliver example.org's itself.
	relay *postfixRelay
	// main holds more main.cf settings, one a line, for parameters the
	// defaults leave unset (Postfix warns about a parameter set twice).
	main string
}

// postfixRelay makes Postfix a relay: it accepts mail for any domain from
// 127.0.0.1 and sends it on with its own SMTP client to the server at
// addr, with STARTTLS required and the certificate checked against ca for
// the name host.
type postfixRelay struct {
	addr, ca, host string
}

// startPostfix runs Postfix from a private directory until the test ends:
// two SMTP servers on free loopback ports, one with STARTTLS (the lab's
// certificate p) and one without, that accept mail from 127.0.0.1. Mail
// for bob@ and carol@example.org goes to their Maildirs, or, with
// cfg.relay, every message goes on to the relay's server.
//
// Postfix's master process must start as root (it binds the ports and then
// runs its daemons as the postfix user), as CI does.
func startPostfix(t *testing.T, p peerTLS, cfg postfixConfig) *postfixServer {
	t.Helper()
	need(t, postfixPath, "postfix")
	if os.Geteuid() != 0 {
		t.Skip("Postfix's master process must start as root; CI runs this test as root")
	}
	owner, err := user.Lookup("postfix")
	if err != nil {
		t.Fatalf("the Debian package postfix creates the user postfix: %v", err)
	}
	postfixUID, _ := strconv.Atoi(owner.Uid)
	const nobody = 65534 // the owner of the Maildirs
	// The daemons run as postfix and the delivery agent as nobody: every
	// directory on the way must be theirs to enter, which t.TempDir's
	// private folders are not.
	dir, err := os.MkdirTemp("", "smtplab-postfix-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	plain, starttls := freePort(t), freePort(t)
	for starttls == plain { // the kernel may hand out the same free port twice
		starttls = freePort(t)
	}
	s := &postfixServer{
		plain:    net.JoinHostPort("127.0.0.1", strconv.Itoa(plain)),
		starttls: net.JoinHostPort("127.0.0.1", strconv.Itoa(starttls)),
		conf:     filepath.Join(dir, "conf"),
		mail:     filepath.Join(dir, "mail"),
		log:      filepath.Join(dir, "maillog"),
	}
	for _, d := range []struct {
		path string
		uid  int
	}{{dir, 0}, {s.conf, 0}, {filepath.Join(dir, "queue"), 0}, {filepath.Join(dir, "data"), postfixUID}, {s.mail, nobody}} {
		if err := os.MkdirAll(d.path, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(d.path, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(d.path, d.uid, -1); err != nil {
			t.Fatal(err)
		}
	}
	mainCF := fmt.Sprintf(`compatibility_level = 3.6
queue_directory = %[1]s/queue
data_directory = %[1]s/data
maillog_file = %[2]s
maillog_file_prefixes = %[1]s
mail_owner = postfix
setgid_group = postdrop
myhostname = postfix.lab.test
mydomain = lab.test
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_peername_lookup = no
local_header_rewrite_clients =
alias_maps =
alias_database =
local_recipient_maps =
virtual_mailbox_base = %[3]s
virtual_mailbox_maps = inline:{ bob@example.org=bob/, carol@example.org=carol/ }
virtual_uid_maps = static:%[4]d
virtual_gid_maps = static:%[4]d
smtpd_tls_cert_file = %[5]s
smtpd_tls_key_file = %[6]s
smtp_dns_support_level = disabled
biff = no
`, dir, s.log, s.mail, nobody, p.cert, p.key)
	if relay := cfg.relay; relay == nil {
		mainCF += "virtual_mailbox_domains = example.org\n"
	} else {
		host, port, _ := net.SplitHostPort(relay.addr)
		mainCF += fmt.Sprintf("relayhost = [%s]:%s\nsmtp_tls_security_level = secure\nsmtp_tls_loglevel = 1\n"+
			"smtp_tls_secure_cert_match = %s\nsmtp_tls_CAfile = %s\n", host, port, relay.host, relay.ca)
	}
	mainCF += cfg.main
	// Only the services these tests need, none chrooted (the default
	// master.cf's chroot needs a prepared jail).
	masterCF := s.plain + ` inet n - n - - smtpd -o smtpd_tls_security_level=none
` + s.starttls + ` inet n - n - - smtpd -o smtpd_tls_security_level=may
cleanup   unix n - n - 0 cleanup
qmgr      unix n - n 300 1 qmgr
rewrite   unix - - n - - trivial-rewrite
bounce    unix - - n - 0 bounce
defer     unix - - n - 0 bounce
trace     unix - - n - 0 bounce
verify    unix - - n - 1 verify
proxymap  unix - - n - - proxymap
error     unix - - n - - error
retry     unix - - n - - error
discard   unix - - n - - discard
virtual   unix - n n - - virtual
smtp      unix - - n - - smtp
relay     unix - - n - - smtp
anvil     unix - - n - 1 anvil
scache    unix - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
tlsmgr    unix - - n 1000? 1 tlsmgr
`
	for name, text := range map[string]string{"main.cf": mainCF, "master.cf": masterCF} {
		if err := os.WriteFile(filepath.Join(s.conf, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := run(t, postfixPath, "-c", s.conf, "start"); err != nil {
		t.Fatalf("postfix start: %v\n%s\n%s", err, out, s.maillog())
	}
	t.Cleanup(func() { s.stop(t, filepath.Join(dir, "queue", "pid", "master.pid")) })
	for _, addr := range []string{s.plain, s.starttls} {
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err == nil {
				c.Close()
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("Postfix does not listen on %s: %v\n%s", addr, err, s.maillog())
			}
		}
	}
	return s
}

// stop stops Postfix and waits until its master process (named in
// pidFile) is gone, so that nothing still writes in the directory about to
// be removed.
func (s *postfixServer) stop(t *testing.T, pidFile string) {
	b, _ := os.ReadFile(pidFile)
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if out, err := run(t, postfixPath, "-c", s.conf, "stop"); err != nil {
		t.Errorf("postfix stop: %v\n%s", err, out)
	}
	if pid <= 0 {
		t.Errorf("no master process id in %s", pidFile)
		return
	}
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if syscall.Kill(pid, 0) == syscall.ESRCH {
			return
		}
	}
	out, _ := run(t, postfixPath, "-c", s.conf, "abort")
	t.Errorf("Postfix did not stop within 15 s; aborted it: %s", out)
}

func (s *postfixServer) maillog() string {
	b, _ := os.ReadFile(s.log)
	return "maillog:\n" + string(b)
}

// delivered waits for the one message in rcpt's Maildir (rcpt is bob or
// carol), takes it out and returns it.
func (s *postfixServer) delivered(t *testing.T, rcpt string) string {
	t.Helper()
	dir := filepath.Join(s.mail, rcpt, "new")
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		files, _ := os.ReadDir(dir)
		if len(files) > 1 {
			t.Fatalf("%s has %d messages, want 1", dir, len(files))
		}
		if len(files) == 1 {
			name := filepath.Join(dir, files[0].Name())
			b, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Remove(name); err != nil {
				t.Fatal(err)
			}
			return string(b)
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing delivered to %s within 20 s\n%s", dir, s.maillog())
		}
	}
}

// postfixTrace matches what Postfix's delivery puts in front of the
// message: the envelope as Return-Path and Delivered-To, and its
// Received header, which names the protocol (ESMTPS once STARTTLS ran) and,
// as the message had two recipients, none of them.
var postfixTrace = regexp.MustCompile(`^Return-Path: <alice@example\.com>
X-Original-To: (\S+)
Delivered-To: (\S+)
Received: from localhost \(unknown \[127\.0\.0\.1\]\)
	by postfix\.lab\.test \(Postfix\) with (ESMTPS?) id [0-9A-F]+;
	[^\n]+
`)

func TestOurClientToPostfix(t *testing.T) {
	p := newPeerTLS(t)
	s := startPostfix(t, p, postfixConfig{})
	// Postfix stores messages with LF line ends; the rest must be exactly
	// what was sent, the line that starts with a dot included.
	want := strings.ReplaceAll(clientMessage, "\r\n", "\n")
	data := messageFile(t, clientMessage)
	cases := []struct {
		name    string
		server  string
		args    []string
		wantTLS bool
	}{
		{name: "plaintext", server: s.starttls, args: []string{"-tls", "none"}},
		{name: "opportunistic, not offered", server: s.plain, args: []string{"-tls", "opportunistic"}},
		{name: "STARTTLS required and verified", server: s.starttls, wantTLS: true,
			args: []string{"-tls", "required", "-cafile", p.ca, "-servername", "mx.example.org"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := sendWith(t, append([]string{"-server", c.server, "-from", "alice@example.com",
				"-to", "bob@example.org,carol@example.org", "-data", data, "-timeout", "10s"}, c.args...)...)
			if err != nil {
				t.Fatalf("send: %v\n%s", err, out)
			}
			if c.wantTLS != strings.Contains(out, " ~> MAIL FROM:<alice@example.com>") {
				t.Errorf("TLS %v, transcript:\n%s", c.wantTLS, out)
			}
			// Postfix offers CHUNKING, so the content goes as BDAT, with
			// QUIT in the same write (PIPELINING).
			if !regexp.MustCompile(`(?m)^ [-~]> BDAT \d+ LAST\n [-~]> \(\d+ bytes of message text\)\n [-~]> QUIT$`).MatchString(out) {
				t.Errorf("the transcript does not show BDAT LAST then QUIT:\n%s", out)
			}
			for _, rcpt := range []string{"bob", "carol"} {
				got := s.delivered(t, rcpt)
				m := postfixTrace.FindStringSubmatch(got)
				if m == nil {
					t.Fatalf("%s's message does not start with Postfix's trace headers:\n%s", rcpt, got)
				}
				if addr := rcpt + "@example.org"; m[1] != addr || m[2] != addr {
					t.Errorf("%s's message is addressed to %q and %q", rcpt, m[1], m[2])
				}
				if proto := map[bool]string{false: "ESMTP", true: "ESMTPS"}[c.wantTLS]; m[3] != proto {
					t.Errorf("%s's message came by %s, want %s:\n%s", rcpt, m[3], proto, got)
				}
				if rest := got[len(m[0]):]; rest != want {
					t.Errorf("%s got\n%q\nwant\n%q", rcpt, rest, want)
				}
			}
		})
	}
}

// TestPostfixRelaysToBridge has Postfix's own SMTP client deliver to the
// bridge: our client hands a message to Postfix, which relays it to the
// bridge's port 25 with STARTTLS, checking the lab's certificate for
// mx.example.org, as a real MTA on the way to a lab server would.
func TestPostfixRelaysToBridge(t *testing.T) {
	b := startBridge(t, Options{})
	relay := &postfixRelay{addr: addr(b, 25), ca: caFile(t, b), host: "mx.example.org"}
	s := startPostfix(t, newPeerTLS(t), postfixConfig{relay: relay})
	before := mailCounts(b, "mx.example.org", []string{"bob@example.org", "carol@example.org"})
	out, err := sendWith(t, "-server", s.plain, "-tls", "none", "-from", "alice@example.com",
		"-to", "bob@example.org,carol@example.org", "-data", messageFile(t, clientMessage), "-timeout", "10s")
	if err != nil {
		t.Fatalf("send to Postfix: %v\n%s", err, out)
	}
	// Postfix delivers from its queue, on its own time.
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		got := mailCounts(b, "mx.example.org", []string{"bob@example.org", "carol@example.org"})
		if got["bob@example.org"] > before["bob@example.org"] && got["carol@example.org"] > before["carol@example.org"] {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the bridge did not get the message within 20 s\n%s", s.maillog())
		}
	}
	checkDelivered(t, b, "mx.example.org", before, clientMessage, s.maillog())
	for _, owner := range []string{"bob@example.org", "carol@example.org"} {
		box := mailbox(b, "mx.example.org", owner)
		raw := box[len(box)-1]
		// The bridge's Received names Postfix and STARTTLS; Postfix's own
		// comes below it.
		if !strings.HasPrefix(raw, "Return-Path: <alice@example.com>\r\nReceived: from postfix.lab.test (") ||
			!strings.Contains(raw, "by mx.example.org with ESMTPS id ") ||
			!strings.Contains(raw, "by postfix.lab.test (Postfix) with ESMTP id ") {
			t.Errorf("%s's message does not show both hops:\n%s", owner, raw)
		}
	}
	if log := s.maillog(); !strings.Contains(log, "Verified TLS connection established to 127.0.0.1") ||
		!strings.Contains(log, "status=sent (250 ") {
		t.Errorf("Postfix's log does not show a verified TLS delivery:\n%s", log)
	}
}
