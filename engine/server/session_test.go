package server

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"smtplab/engine/smtp"
)

// step feeds one input to s and checks what it wrote.
func step(t *testing.T, s *Session, in string, want ...string) {
	t.Helper()
	s.Feed([]byte(in))
	if got := string(s.Output()); got != lines(want...) {
		t.Fatalf("after %q:\ngot  %q\nwant %q", in, got, lines(want...))
	}
}

// lastReason checks the reason of the last reply s gave: the page
// explains a reply by it.
func lastReason(t *testing.T, s *Session, want smtp.Reason) {
	t.Helper()
	for _, e := range slices.Backward(s.Events()) {
		if e.Kind == EventReply {
			if e.Reply.Reason != want {
				t.Fatalf("the last reply %v has reason %q, want %q", e.Reply, e.Reply.Reason, want)
			}
			return
		}
	}
	t.Fatal("no reply")
}

func TestStartTLS(t *testing.T) {
	p := &labPolicy{}
	srv := New(Config{Hostname: "mx.example.org", Role: RoleSubmission, Policy: p})
	s := srv.NewSession(SessionOptions{TLSAvailable: true})
	step(t, s, "EHLO a.example\r\n", ehlo("250-STARTTLS")...)
	// HELP lists what a client may use now, as EHLO does.
	help := func(commands string) []string {
		return []string{"214-2.0.0 Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY EXPN HELP" + commands,
			"214-2.0.0 A mail transaction is MAIL FROM:<sender>, RCPT TO:<recipient> (once per recipient), DATA",
			"214 2.0.0 See RFC 5321 section 4.1 for what each command does"}
	}
	step(t, s, "HELP\r\n", help(" STARTTLS")...)

	// The client (or a man in the middle) pipelines commands behind
	// STARTTLS; they arrived in plaintext and must be discarded.
	injected := "MAIL FROM:<evil@example.com>\r\nRCPT TO:<bob@example.org>\r\n"
	step(t, s, "STARTTLS\r\n"+injected, "220 2.0.0 Ready to start TLS")
	evs := s.Events()
	last := evs[len(evs)-1]
	if last.Kind != EventStartTLS || last.Discarded != len(injected) {
		t.Fatalf("last event = %+v, want StartTLS discarding %d bytes", last, len(injected))
	}
	if s.Deadline() != 5*time.Minute {
		t.Fatalf("deadline during the handshake = %v", s.Deadline())
	}
	step(t, s, "NOOP\r\n") // nothing is read before the handshake ends
	s.TLSStarted()
	if c := s.Conn(); !c.TLS || c.Hello != "" || c.ESMTP {
		t.Fatalf("after TLS the state must be reset: %+v", c)
	}
	// Everything learnt before TLS is forgotten: the client must say EHLO again.
	step(t, s, "MAIL FROM:<alice@example.org>\r\n", "503 5.5.1 Error: send HELO/EHLO first")
	step(t, s, "EHLO a.example\r\n", ehlo("250-AUTH PLAIN LOGIN")...)
	step(t, s, "STARTTLS\r\n", "554 5.5.1 Error: TLS already active")
	lastReason(t, s, smtp.ReasonTLSActive)
	step(t, s, "HELP\r\n", help(" AUTH")...)
	step(t, s, "AUTH PLAIN "+b64("\x00alice\x00secret")+"\r\n", "235 2.7.0 Authentication successful")
	step(t, s, "AUTH PLAIN "+b64("\x00alice\x00secret")+"\r\n", "503 5.5.1 Error: already authenticated")
	lastReason(t, s, smtp.ReasonAuthDone)
	step(t, s, "MAIL FROM:<alice@example.org>\r\nRCPT TO:<x@elsewhere.example>\r\nDATA\r\nhi\r\n.\r\n",
		"250 2.1.0 Ok", "250 2.1.5 Ok", nullMsg, "250 2.0.0 Ok: queued as Q1")
	if p.queued != 1 {
		t.Fatalf("queued %d", p.queued)
	}
}

// TestAuthResponseFaults: an AUTH response that is not base64 gets 501
// 5.5.2 (RFC 4954 §4), and one that decodes but not into what the
// mechanism takes fails the login with 535 5.7.8, saying what it takes;
// each has its own reason, so the page explains base64 or the parts
// instead of a MAIL FROM syntax error. A PLAIN text without its leading
// NUL (printf 'alice\0secret') is the mistake lesson 4's learners make.
func TestAuthResponseFaults(t *testing.T) {
	srv := New(Config{Hostname: "mx.example.org", Role: RoleSubmission, Policy: &labPolicy{}})
	s := srv.NewSession(SessionOptions{TLS: true, Nonce: "1"})
	step(t, s, "EHLO a.example\r\n", ehlo("250-AUTH PLAIN LOGIN CRAM-MD5")...)
	const plainParts = "535 5.7.8 Authentication failed: PLAIN takes an authorization identity, a user name and a password, separated by NUL bytes (RFC 4616 section 2)"
	tests := []struct {
		in     string
		want   []string
		reason smtp.Reason
	}{
		{"AUTH PLAIN AGFsaWNl!\r\n", []string{"501 5.5.2 Cannot decode response"}, smtp.ReasonAuthDecode},
		{"AUTH PLAIN " + b64("alice\x00secret") + "\r\n", []string{plainParts}, smtp.ReasonAuthMalformed},
		{"AUTH PLAIN\r\n" + b64("\x00\x00secret") + "\r\n", []string{"334 ", plainParts}, smtp.ReasonAuthMalformed},
		{"AUTH LOGIN\r\n=\r\n", []string{"334 VXNlcm5hbWU6", "535 5.7.8 Authentication failed: the user name is empty"}, smtp.ReasonAuthMalformed},
		{"AUTH CRAM-MD5\r\n" + b64("alice") + "\r\n", []string{"334 " + b64("<1@mx.example.org>"), "535 5.7.8 Authentication failed: CRAM-MD5 takes the user name, a space and the digest (RFC 2195 section 2)"}, smtp.ReasonAuthMalformed},
		// RFC 4954 §4 asks a server to take 12288 octets of AUTH; past
		// them, §6 names the failure 500 5.5.6, for an initial response
		// as for a line after a 334.
		{"AUTH PLAIN " + strings.Repeat("A", 13000) + "\r\n", []string{"500 5.5.6 Authentication exchange line is too long"}, smtp.ReasonLineTooLong},
		{"AUTH PLAIN\r\n" + strings.Repeat("A", 13000) + "\r\n", []string{"334 ", "500 5.5.6 Authentication exchange line is too long"}, smtp.ReasonLineTooLong},
		{"NOOP " + strings.Repeat("A", 13000) + "\r\n", []string{"500 5.5.2 Error: line too long"}, smtp.ReasonLineTooLong},
	}
	for _, tt := range tests {
		step(t, s, tt.in, tt.want...)
		lastReason(t, s, tt.reason)
	}
}

func TestTimeouts(t *testing.T) {
	srv := New(Config{Hostname: "mx.example.org", Policy: &labPolicy{}})
	s := srv.NewSession(SessionOptions{})
	if d := s.Deadline(); d != 5*time.Minute {
		t.Fatalf("command deadline = %v", d)
	}
	step(t, s, startData, cat(okEnvelope(), one(nullMsg))...)
	if d := s.Deadline(); d != 3*time.Minute {
		t.Fatalf("data block deadline = %v", d)
	}
	step(t, s, "Subject: half a mess")
	s.Timeout()
	if got := string(s.Output()); got != "421 4.4.2 mx.example.org Error: timeout exceeded\r\n" {
		t.Fatalf("timeout reply %q", got)
	}
	evs := s.Events()
	if len(evs) != 2 || evs[1].Kind != EventClose || evs[1].Reply.Reason != smtp.ReasonTimeout {
		t.Fatalf("timeout events %+v", evs)
	}
	// The rest of the message arrives late: it is never read as commands
	// (go-smtp issue #196).
	step(t, s, "age\r\n.\r\nMAIL FROM:<evil@example.com>\r\nQUIT\r\n")
	if !s.Closed() || s.Deadline() != 0 {
		t.Fatal("the session must be closed")
	}
	s.Timeout()
	if len(s.Output()) != 0 {
		t.Fatal("a closed session does not time out twice")
	}

	// BDAT chunks have the data block deadline too, and configured values win.
	srv = New(Config{Timeouts: Timeouts{Command: time.Minute, DataBlock: time.Second}})
	s = srv.NewSession(SessionOptions{})
	if d := s.Deadline(); d != time.Minute {
		t.Fatalf("configured command deadline = %v", d)
	}
	s.Feed([]byte(envelope + "BDAT 10\r\nabc"))
	if d := s.Deadline(); d != time.Second {
		t.Fatalf("configured data block deadline = %v", d)
	}
	s.Timeout()
	if got := string(s.Output()); got != "421 4.4.2 localhost Error: timeout exceeded\r\n" {
		t.Fatalf("timeout reply %q", got)
	}
}

type connectPolicy struct {
	DefaultPolicy
	reply smtp.Reply
}

func (p connectPolicy) Connect(*ConnState) smtp.Reply { return p.reply }

func TestConnectRefused(t *testing.T) {
	srv := New(Config{Hostname: "mx.example.org", Policy: connectPolicy{reply: smtp.Reply{Code: 554, Enhanced: "5.7.1", Lines: []string{"No SMTP service here"}}}})
	s := srv.NewSession(SessionOptions{Remote: "192.0.2.9"})
	if got := string(s.Output()); got != "554 No SMTP service here\r\n" || s.Events()[0].Reply.Reason != smtp.ReasonPolicy {
		t.Fatalf("greeting %q %+v", got, s.Events())
	}
	step(t, s, "EHLO a.example\r\nMAIL FROM:<a@example.com>\r\nQUIT\r\n",
		"503 5.5.1 Error: no SMTP service here, send QUIT", "503 5.5.1 Error: no SMTP service here, send QUIT", "221 2.0.0 Bye")
	// A web request is hung up on at once, refused or not: its other
	// lines get no 503 each.
	s = srv.NewSession(SessionOptions{Remote: "192.0.2.9"})
	step(t, s, "POST / HTTP/1.1\r\nHost: mx.example.org\r\n", "221 2.7.0 Error: this is a mail server, not a web server. Goodbye")
	if !s.Closed() {
		t.Fatal("the session goes on after a web request")
	}
	lastReason(t, s, smtp.ReasonNotSMTP)

	srv = New(Config{Hostname: "mx.example.org", Policy: connectPolicy{reply: smtp.Reply{Code: 421, Enhanced: "4.7.0", Lines: []string{"Too many connections"}, Reason: smtp.ReasonTooManyConns}}})
	s = srv.NewSession(SessionOptions{})
	if got := string(s.Output()); got != "421 Too many connections\r\n" || !s.Closed() {
		t.Fatalf("greeting %q closed %v", got, s.Closed())
	}
}

func TestShutdown(t *testing.T) {
	s := New(Config{Hostname: "mx.example.org"}).NewSession(SessionOptions{})
	s.Feed([]byte("EHLO a.example\r\n"))
	s.Shutdown()
	if got := string(s.Output()); got != "421 4.3.2 mx.example.org Service shutting down\r\n" || !s.Closed() {
		t.Fatalf("shutdown %q", got)
	}
}

func TestEvents(t *testing.T) {
	srv := New(Config{Hostname: "mx.example.org", Policy: &labPolicy{}})
	s := srv.NewSession(SessionOptions{})
	if evs := s.Events(); len(evs) != 1 || evs[0].Kind != EventReply || evs[0].Reply.Reason != smtp.ReasonGreeting || evs[0].Verb != "" {
		t.Fatalf("greeting events %+v", evs)
	}
	// Two whole transactions in one batch: each message event keeps its own
	// data and recipients although the buffers are reused between calls.
	s.Feed([]byte(startData + "first\r\n.\r\nMAIL FROM:<b@example.com>\r\nRCPT TO:<carol@example.org>\r\nDATA\r\nsecond\r\n.\r\nQUIT\r\n"))
	var got []string
	for _, ev := range s.Events() {
		got = append(got, summarize(ev))
	}
	want := []string{
		`command EHLO "EHLO client.example.com"`, "reply EHLO 250  hello",
		`command MAIL "MAIL FROM:<alice@example.com>"`, "reply MAIL 250 2.1.0 sender-ok",
		`command RCPT "RCPT TO:<bob@example.org>"`, "reply RCPT 250 2.1.5 recipient-ok",
		`command DATA "DATA"`, "reply DATA 354  start-data",
		`message Q1 from <alice@example.com> to [<bob@example.org>/0/] size=0 body= ret= envid= data="first\r\n"`,
		"reply DATA 250 2.0.0 message-accepted",
		`command MAIL "MAIL FROM:<b@example.com>"`, "reply MAIL 250 2.1.0 sender-ok",
		`command RCPT "RCPT TO:<carol@example.org>"`, "reply RCPT 250 2.1.5 recipient-ok",
		`command DATA "DATA"`, "reply DATA 354  start-data",
		`message Q2 from <b@example.com> to [<carol@example.org>/0/] size=0 body= ret= envid= data="second\r\n"`,
		"reply DATA 250 2.0.0 message-accepted",
		`command QUIT "QUIT"`, "reply QUIT 221 2.0.0 closing", "close QUIT 221 2.0.0 closing",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestEnvelopeParameters(t *testing.T) {
	_, events, _ := run(testConfig(&labPolicy{}), SessionOptions{},
		"EHLO a.example\r\nMAIL FROM:<a@example.com> SIZE=4 BODY=8bitmime RET=HDRS ENVID=id+2B1\r\nRCPT TO:<bob@example.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;bob+40example.org\r\nRCPT TO:<carol@example.org> NOTIFY=NEVER\r\nDATA\r\nx\r\n.\r\n", 0)
	want := `message Q1 from <a@example.com> to [<bob@example.org>/6/rfc822;bob@example.org <carol@example.org>/1/] size=4 body=8BITMIME ret=HDRS envid=id+1 data="x\r\n"`
	for _, e := range events {
		if strings.HasPrefix(e, "message") {
			if e != want {
				t.Fatalf("got  %s\nwant %s", e, want)
			}
			return
		}
	}
	t.Fatal("no message event")
}

func TestCredentialsCheck(t *testing.T) {
	tests := []struct {
		cred Credentials
		ok   bool
	}{
		{Credentials{Mechanism: "PLAIN", Username: "alice", Password: "secret"}, true},
		{Credentials{Mechanism: "LOGIN", Username: "alice", Password: "Secret"}, false},
		// RFC 2195 §2's example: tim, "tanstaaftanstaaf".
		{Credentials{Mechanism: "CRAM-MD5", Username: "tim", Challenge: "<1896.697170952@postoffice.reston.mci.net>", Digest: "b913a602c7eda7a495b4e6e7334d3890"}, true},
		{Credentials{Mechanism: "CRAM-MD5", Username: "tim", Challenge: "<1896.697170953@postoffice.reston.mci.net>", Digest: "b913a602c7eda7a495b4e6e7334d3890"}, false},
	}
	for _, tt := range tests {
		pw := "secret"
		if tt.cred.Username == "tim" {
			pw = "tanstaaftanstaaf"
		}
		if got := tt.cred.Check(pw); got != tt.ok {
			t.Errorf("%+v: Check = %v", tt.cred, got)
		}
	}
}

func TestRoleString(t *testing.T) {
	for r, want := range map[Role]string{RoleMX: "mx", RoleSubmission: "submission", RoleSubmissions: "submissions", Role(9): "role(9)"} {
		if r.String() != want {
			t.Errorf("%d: %q", r, r.String())
		}
	}
}

func TestReset(t *testing.T) {
	// A reset session behaves exactly like a new one, whatever state the
	// old one was left in.
	p := &labPolicy{}
	srv := New(testConfig(p))
	s := srv.NewSession(SessionOptions{TLSAvailable: true})
	s.Feed([]byte(startData + "half a message"))
	s.Reset(srv, SessionOptions{})
	if got := string(s.Output()); got != greeting+"\r\n" {
		t.Fatalf("greeting after Reset: %q", got)
	}
	step(t, s, "MAIL FROM:<a@example.com>\r\n", "503 5.5.1 Error: send HELO/EHLO first")
	step(t, s, startData+"hi\r\n.\r\n", cat(okEnvelope(), one(nullMsg, "250 2.0.0 Ok: queued as Q1"))...)
	if c := s.Conn(); c.TLS || c.Hello != "client.example.com" {
		t.Fatalf("conn after Reset: %+v", c)
	}
}

// TestReplyEventAsOnTheWire: the greeting, even a refusal, has no
// enhanced status code on the wire (RFC 2034 §3 (4)), and the reply event,
// which the trace shows, must not claim one either; every later reply has
// its code, also without EHLO (RFC 2034 §4).
func TestReplyEventAsOnTheWire(t *testing.T) {
	srv := New(Config{Hostname: "mx.example.org", Policy: connectPolicy{reply: smtp.Reply{Code: 421, Enhanced: "4.3.2", Lines: []string{"mx.example.org busy"}, Reason: smtp.ReasonTooManyConns}}})
	s := srv.NewSession(SessionOptions{})
	if got := string(s.Output()); got != "421 mx.example.org busy\r\n" {
		t.Fatalf("greeting %q", got)
	}
	for _, e := range s.Events() { // the reply, and the close after it
		if e.Reply.Enhanced != "" || e.Reply.Reason != smtp.ReasonTooManyConns {
			t.Fatalf("%v event %+v, want no enhanced code as on the wire", e.Kind, e.Reply)
		}
	}
	if evs := s.Events(); len(evs) != 2 || evs[1].Kind != EventClose {
		t.Fatalf("events of a refusing greeting: %+v, want its reply and the close", evs)
	}
	// After HELO too the enhanced code is on the wire (RFC 2034 §4), and
	// so in the event.
	s = New(Config{Hostname: "mx.example.org"}).NewSession(SessionOptions{})
	s.Feed([]byte("HELO a.example\r\nNOOP\r\n"))
	if got := string(s.Output()); got != "250 mx.example.org\r\n250 2.0.0 Ok\r\n" {
		t.Fatalf("after HELO: %q", got)
	}
	if e := s.Events()[len(s.Events())-1]; e.Reply.Enhanced != "2.0.0" {
		t.Errorf("after HELO: reply event %+v, want the enhanced code the wire shows", e.Reply)
	}
}

// TestUTF8HeaderWithoutSMTPUTF8IsTaken: a message whose header has raw
// UTF-8, sent without SMTPUTF8 and without BODY=8BITMIME, is taken as it
// is, over DATA and BDAT. RFC 6532 §3 allows such a header only in an
// SMTPUTF8 transaction, but mail with 8-bit headers long predates it, and
// Postfix takes it so as not to break it (see the package doc); the
// envelope records that the client did not say SMTPUTF8, for whoever
// passes it on (Envelope.UTF8).
func TestUTF8HeaderWithoutSMTPUTF8IsTaken(t *testing.T) {
	msg := "Subject: caf\xc3\xa9\r\n\r\nhi\r\n"
	for _, tt := range []struct{ name, content string }{
		{"DATA", "DATA\r\n" + msg + ".\r\n"},
		{"BDAT", fmt.Sprintf("BDAT %d LAST\r\n%s", len(msg), msg)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			input := "EHLO a.example\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<bob@example.org>\r\n" + tt.content
			out, events, _ := run(testConfig(&labPolicy{}), SessionOptions{}, input, 0)
			if !strings.HasSuffix(out, "250 2.0.0 Ok: queued as Q1\r\n") {
				t.Fatalf("the message was not taken:\n%s", out)
			}
			if got := events[len(events)-2]; !strings.HasPrefix(got, "message Q1 ") || !strings.Contains(got, " body= ") {
				t.Errorf("event %s, want the message, with no BODY given", got)
			}
		})
	}
}

// TestORcptLength: an ORCPT value, "addr-type;address" as written, may
// have at most 500 characters (RFC 3461 §4.2); a longer one gets 501 5.5.4
// like any bad parameter, though the RCPT line is within its limit (512
// octets and 500 more for NOTIFY and ORCPT, RFC 3461 §5). A unitext
// address of type utf-8 counts its octets: 250 ö and "utf-8;" are 506.
func TestORcptLength(t *testing.T) {
	long := func(typ string, n int) string { // a value of n characters
		return typ + ";" + strings.Repeat("a", n-len(typ)-1-len("@x.example")) + "@x.example"
	}
	tooLong := func(n int) string {
		return fmt.Sprintf("501 5.5.4 Bad ORCPT value: %d characters, at most 500 are allowed (RFC 3461 section 4.2)", n)
	}
	rcpts := []struct{ orcpt, reply string }{
		{long("rfc822", 500), "250 2.1.5 Ok"},
		{long("rfc822", 501), tooLong(501)},
		{long("utf-8", 500), "250 2.1.5 Ok"},
		{long("utf-8", 900), tooLong(900)},
		{"utf-8;" + strings.Repeat("ö", 246) + "@x", "250 2.1.5 Ok"},
		{"utf-8;" + strings.Repeat("ö", 250), tooLong(506)},
	}
	input := "EHLO a.example\r\nMAIL FROM:<a@example.com> SMTPUTF8\r\n"
	want := cat(ehlo(), one("250 2.1.0 Ok"))
	for _, r := range rcpts {
		input += "RCPT TO:<bob@example.org> ORCPT=" + r.orcpt + "\r\n"
		want = append(want, r.reply)
	}
	cfg := testConfig(&labPolicy{})
	cfg.Limits.MaxErrors = 100
	out, _, _ := run(cfg, SessionOptions{}, input, 0)
	if got, want := out, lines(append([]string{greeting}, want...)...); got != want {
		t.Fatalf("got:\n%s\nwant:\n%s", got, want)
	}
}

// TestORcptUTF8: the address of an ORCPT of type utf-8 is written as RFC
// 6533 §3 has it, not as RFC 3461's xtext: \x{HEX} for a character that is
// not printable ASCII or is '+', '=' or '\' (utf-8-addr-xtext), and, with
// SMTPUTF8, UTF-8 itself (utf-8-addr-unitext); "+C3+B6" is no ö there, and
// a '+' or '=' as itself is refused. Other types are xtext of printable
// ASCII, so "+C3+B6" is refused there too (RFC 3461 §4.2).
func TestORcptUTF8(t *testing.T) {
	const badUTF8 = `501 5.5.4 Bad ORCPT value: in a utf-8 address, '+', '=', '\' and (without SMTPUTF8) non-ASCII characters are written \x{HEX}, like utf-8;j\x{F6}rg@example.org (RFC 6533 section 3)`
	const badXtext = "501 5.5.4 Bad ORCPT value: addr-type;xtext expected, like rfc822;bob@example.org"
	const badASCII = `501 5.5.4 Bad ORCPT value: an address of type rfc822 is ASCII; write one beyond ASCII as utf-8;j\x{F6}rg@example.org (RFC 3461 section 4.2, RFC 6533 section 3)`
	rcpts := []struct{ orcpt, reply string }{
		{"utf-8;böb@example.org", "250 2.1.5 Ok"},
		{"rfc822;cäröl@example.org", badXtext},
		{"UTF-8;cär+40l@example.org", badUTF8},
		{"utf-8;car+C3+B6l@example.org", badUTF8},
		{"utf-8;car\\x{F6}l@example.org", "250 2.1.5 Ok"},
		{"UTF-8;d\\x{e4}n\\x{2B}tag\\x{3D}1@example.org", "250 2.1.5 Ok"},
		{"utf-8;\\x{1F600}@example.org", "250 2.1.5 Ok"},
		{"utf-8;a=b@example.org", "501 5.5.4 Bad parameter ORCPT=utf-8;a=b@example.org: byte 0x3d is not allowed in a parameter value"},
		{"utf-8;a\\b@example.org", badUTF8},
		{"utf-8;a\\x{41}@example.org", badUTF8},   // 'A' stands for itself
		{"utf-8;a\\x{0F6}@example.org", badUTF8},  // no leading zero
		{"utf-8;a\\x{D800}@example.org", badUTF8}, // a surrogate
		{"utf-8;a\\x{F6@example.org", badUTF8},
		{"utf-8;a\\x{0A}@example.org", badXtext}, // a control, however written
		{"rfc822;b+C3+B6b@example.org", badASCII},
		// A type that is no name is bad syntax, whatever its address,
		// and is not echoed as if it were one.
		{"rfc822+;b+C3+B6b@example.org", badXtext},
		{"\xc3\xb6;b+C3+B6b@example.org", badXtext},
	}
	input := "EHLO a.example\r\nMAIL FROM:<a@example.com> SMTPUTF8\r\n"
	want := cat(ehlo(), one("250 2.1.0 Ok"))
	for _, r := range rcpts {
		input += "RCPT TO:<bob@example.org> ORCPT=" + r.orcpt + "\r\n"
		want = append(want, r.reply)
	}
	// Without SMTPUTF8 only the 7-bit form is taken.
	input += "DATA\r\nx\r\n.\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<bob@example.org> ORCPT=utf-8;böb@example.org\r\n" +
		"RCPT TO:<bob@example.org> ORCPT=utf-8;b\\x{F6}b@example.org\r\nRCPT TO:<bob@example.org> ORCPT=utf-8;b+C3+B6b@example.org\r\n"
	want = append(want, nullMsg, "250 2.0.0 Ok: queued as Q1", "250 2.1.0 Ok",
		"501 5.5.4 Bad parameter ORCPT=utf-8;b??b@example.org: byte 0xc3 is not allowed in a parameter value",
		"250 2.1.5 Ok", badUTF8)
	cfg := testConfig(&labPolicy{})
	cfg.Limits.MaxErrors = 100
	out, events, _ := run(cfg, SessionOptions{}, input, 0)
	if got, want := out, lines(append([]string{greeting}, want...)...); got != want {
		t.Fatalf("got:\n%s\nwant:\n%s", got, want)
	}
	for _, e := range events {
		if strings.HasPrefix(e, "message") {
			if !strings.Contains(e, "[<bob@example.org>/0/utf-8;böb@example.org <bob@example.org>/0/utf-8;caröl@example.org "+
				"<bob@example.org>/0/UTF-8;dän+tag=1@example.org <bob@example.org>/0/utf-8;😀@example.org]") {
				t.Errorf("message event %s", e)
			}
			return
		}
	}
	t.Fatal("no message event")
}

// TestSessionAllocations: a Session Reset for the next connection of the
// same client, which sends the same EHLO name, sender and recipient, makes
// none of their strings again (recentArgs), nor a list for the parameters
// of MAIL (sessionBuffers); what it allocates is the text of the 250 with the
// queue id.
func TestSessionAllocations(t *testing.T) {
	srv := New(Config{Hostname: "mx.example.org", Policy: &countingPolicy{}})
	msg := "Subject: hi\r\n\r\nHello.\r\n"
	input := []byte("EHLO client.example.com\r\nMAIL FROM:<alice@example.com> SIZE=23\r\nRCPT TO:<bob@example.org>\r\n" +
		"BDAT 23 LAST\r\n" + msg + "QUIT\r\n")
	s := srv.NewSession(SessionOptions{})
	session := func() {
		s.Reset(srv, SessionOptions{})
		s.Feed(input)
		if !s.Closed() || !bytes.Contains(s.Output(), []byte("250 2.0.0 Ok: queued as 4A2B\r\n")) {
			t.Fatalf("the session did not end as expected: %q", s.Output())
		}
	}
	session()
	if got := testing.AllocsPerRun(100, session); got > 1 {
		t.Errorf("a repeated session allocates %v times, want at most 1", got)
	}
}

// TestHostnameHeldToTheWire: the replies a Server prepares with its
// hostname (the greeting, EHLO's, HELO's) go out as printable ASCII in
// lines that fit, whatever the configuration holds, as every reply does.
func TestHostnameHeldToTheWire(t *testing.T) {
	name := "m\u00f6\r\nx." + strings.Repeat("a", 600)
	srv := New(Config{Hostname: name})
	s := srv.NewSession(SessionOptions{})
	wire := string(s.Output())
	for _, cmd := range []string{"EHLO client.example.com\r\n", "HELO client.example.com\r\n"} {
		s.Feed([]byte(cmd))
		wire += string(s.Output())
	}
	lines := strings.Split(strings.TrimSuffix(wire, "\r\n"), "\r\n")
	if len(lines) != 10 || !strings.HasPrefix(lines[0], "220 m????x.aaa") || !strings.HasPrefix(lines[1], "250-m????x.aaa") {
		t.Fatalf("replies: %q", lines)
	}
	for _, line := range lines {
		if len(line)+2 > 512 {
			t.Errorf("a line of %d octets with CRLF: %q", len(line)+2, line)
		}
		for _, c := range []byte(line) {
			if c < ' ' || c > '~' {
				t.Fatalf("byte 0x%02x on the wire: %q", c, line)
			}
		}
	}
}

// TestParsedArgs: a Session reused for session after session takes a MAIL
// or RCPT argument it parsed before from parsedArg, and an EHLO name it
// found valid from checkHello, and must answer as a new session does, under other limits, and for a recipient that needs
// the SMTPUTF8 of one transaction and lacks it in the next.
func TestParsedArgs(t *testing.T) {
	script := "EHLO a.example\r\n" +
		"MAIL FROM:<a@example.com> SIZE=100\r\nRCPT TO:<bob@example.org> NOTIFY=SUCCESS\r\nRSET\r\n" +
		"MAIL FROM:<a@example.com> SIZE=100\r\nRCPT TO:<bob@example.org> NOTIFY=SUCCESS\r\nRCPT TO:<jörg@example.org>\r\nRSET\r\n" +
		"MAIL FROM:<a@example.com> SMTPUTF8\r\nRCPT TO:<jörg@example.org>\r\nRSET\r\n" +
		"MAIL FROM:<a@example.com>\r\nRCPT TO:<jörg@example.org>\r\nRCPT TO:<bob@example.org> NOTIFY=SUCCESS\r\n" +
		"DATA\r\nx\r\n.\r\nQUIT\r\n"
	config := func(i int) Config { // each its own policy, which counts the messages
		cfg := testConfig(&labPolicy{})
		switch i {
		case 1:
			cfg.Limits.LocalPart = 2 // "a" passes, "bob" does not
		case 2:
			cfg.Limits.Domain = 5 // nor does the EHLO name a.example (checkHello)
		}
		return cfg
	}
	var reused *Session
	for i := range 5 {
		wantOut, wantEvents, _ := run(config(i), SessionOptions{}, script, 0)
		srv := New(config(i))
		if reused == nil {
			reused = srv.NewSession(SessionOptions{})
		} else {
			reused.Reset(srv, SessionOptions{})
		}
		out := string(reused.Output())
		var events []string
		for _, ev := range reused.Events() {
			events = append(events, summarize(ev))
		}
		reused.Feed([]byte(script))
		out += string(reused.Output())
		for _, ev := range reused.Events() {
			events = append(events, summarize(ev))
		}
		if out != wantOut || strings.Join(events, "\n") != strings.Join(wantEvents, "\n") {
			t.Fatalf("session %d:\ngot  %q\n%s\nwant %q\n%s", i, out, strings.Join(events, "\n"), wantOut, strings.Join(wantEvents, "\n"))
		}
	}
}

// TestPreparedFixed: a fixed reply send finds prepared goes out, and into
// its event, as send writes any other reply, also under a reply line limit
// that cuts it; a reply with the same lines and another reason is not
// taken for it.
func TestPreparedFixed(t *testing.T) {
	for _, limit := range []int{0, 12} {
		cfg := testConfig(&labPolicy{})
		cfg.Limits.ReplyLine = limit
		srv := New(cfg)
		for _, p := range srv.fixed {
			r := p.reply.WireSafe(srv.cfg.Limits.ReplyLine)
			if want := r.AppendTo(nil, true); string(p.wire) != string(want) || fmt.Sprint(p.Reply) != fmt.Sprint(r) {
				t.Errorf("limit %d: prepared %q %+v, want %q %+v", limit, p.wire, p.Reply, want, r)
			}
		}
	}
	other := replyOK
	other.Reason = smtp.ReasonReset
	srv := New(testConfig(&labPolicy{}))
	for _, p := range srv.fixed {
		if p.is(other) && p.reply.Reason != smtp.ReasonReset {
			t.Errorf("%+v taken for %+v", other, p.reply)
		}
	}
}

// TestQueuedAs: the reply to an accepted message with a queue id goes out,
// and into its event, as send writes it, before and after EHLO, for ids
// that fit the reply line as they are and for those send must mend (too
// long, not printable ASCII).
func TestQueuedAs(t *testing.T) {
	for _, limit := range []int{0, 30, 40, 12} {
		cfg := testConfig(&labPolicy{})
		cfg.Limits.ReplyLine = limit
		srv := New(cfg)
		ids := []string{"Q1", "4A2B9C", "Q\x01", "Qé", "Q\tR", strings.Repeat("Q", 600)}
		for n := 1; n < 20; n++ { // about as long as the line allows under the limits above
			ids = append(ids, strings.Repeat("Q", n))
		}
		for _, id := range ids {
			for _, esmtp := range []bool{false, true} {
				r := replyQueued
				r.Lines = []string{queuedAsText + id}
				var out [2]string
				var events [2]string
				for i, send := range []func(s *Session){
					func(s *Session) { s.send(r) },
					func(s *Session) { s.sendQueuedAs(r, id) },
				} {
					s := srv.NewSession(SessionOptions{Remote: "192.0.2.1:1025"})
					s.out, s.events, s.conn.ESMTP = s.out[:0], s.events[:0], esmtp
					send(s)
					out[i], events[i] = string(s.Output()), fmt.Sprintf("%+v", s.Events())
				}
				if out[1] != out[0] || events[1] != events[0] {
					t.Errorf("limit %d, esmtp %v, id %q: sendQueuedAs wrote %q %s, send %q %s", limit, esmtp, id, out[1], events[1], out[0], events[0])
				}
			}
		}
	}
}

// A declared SIZE is the client's word: it reserves at most
// maxDeclaredBody before the text comes, however large, so that sessions
// idle after the 354 hold little memory; a message larger than that still
// arrives whole.
func TestDeclaredSizeReservesLittle(t *testing.T) {
	p := &labPolicy{}
	srv := New(Config{Hostname: "mx.example.org", Policy: p})
	s := srv.NewSession(SessionOptions{})
	s.Feed([]byte("EHLO a.example\r\nMAIL FROM:<a@example.com> SIZE=10485760\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n"))
	if c := cap(s.body); c > maxDeclaredBody {
		t.Fatalf("after DATA with SIZE=10485760 the message buffer holds %d octets, want at most %d", c, maxDeclaredBody)
	}
	text := strings.Repeat(strings.Repeat("x", 98)+"\r\n", 3000) // 300000 octets
	step(t, s, text+".\r\n", "250 2.0.0 Ok: queued as Q1")
	if len(p.msgs) != 1 || p.msgs[0] != text {
		t.Fatalf("the message arrived with %d octets, want %d", len(p.msgs[0]), len(text))
	}
}
