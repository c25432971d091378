package bridge

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"smtplab/engine/client"
	"smtplab/engine/driver"
)

// UsageError is a mistake in the command line of SendCommand: a flag,
// value or argument that makes no sense. A program exits 2 for it, as the
// flag package does for its own.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

func usageErrorf(format string, args ...any) error {
	return &UsageError{fmt.Errorf(format, args...)}
}

// SendCommand is `smtplab send`: it delivers one message to a real SMTP
// server with the lab's client state machine and prints the session the
// way swaks does (=== for what happens, -> for what we send, <- for what
// the server answers, ~> and <~ once TLS is on). args are the arguments
// after "send". The error is set when the message was not delivered to
// every recipient; it is a *UsageError when the command line is wrong,
// and then nothing was tried.
func SendCommand(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("send", flag.ContinueOnError)
	// A parse error comes back as the error, which the caller prints once;
	// only -h prints the usage, to stdout.
	fs.SetOutput(io.Discard)
	var (
		server   = fs.String("server", "127.0.0.1:2525", "the SMTP server, host:port")
		from     = fs.String("from", "alice@example.com", "the envelope sender (MAIL FROM)")
		to       = fs.String("to", "bob@example.org", "recipients (RCPT TO), separated by commas")
		helo     = fs.String("helo", "localhost", "the name to say in EHLO")
		subject  = fs.String("subject", "Test from SMTP Lab", "the Subject header")
		body     = fs.String("body", "This is a test message sent by smtplab send.", "the message body")
		dataFile = fs.String("data", "", "send this file as the whole message (headers and body) instead of -subject and -body")
		tlsMode  = fs.String("tls", "opportunistic", "TLS: none, opportunistic (STARTTLS when offered, the certificate checked but not required to pass), required (STARTTLS with a certificate that passes, or no mail), implicit (TLS from the start, port 465; the certificate must pass)")
		tlsName  = fs.String("servername", "", "the name the server's certificate must carry (and SNI); the -server host when empty")
		caFile   = fs.String("cafile", "", "trust only this CA (PEM), e.g. the lab's; without it the system roots")
		insecure = fs.Bool("insecure", false, "do not check the server's certificate (its name, dates and issuer), and send -auth-password to it all the same")
		user     = fs.String("auth-user", "", "authenticate as this user: the message goes only after AUTH, and the password only over TLS whose certificate verified (or with -insecure)")
		password = fs.String("auth-password", "", "the password for -auth-user")
		timeout  = fs.Duration("timeout", 30*time.Second, "bound on connecting and on each read, write and handshake")
	)
	fs.Usage = func() {} // printed below for -h only
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stdout, "usage: smtplab send [flags]\n\nDelivers one message to an SMTP server and prints the session.\n\nflags:")
			fs.SetOutput(stdout)
			fs.PrintDefaults()
			return err
		}
		return usageErrorf("send: %w (see smtplab send -h)", err)
	}
	if fs.NArg() > 0 {
		return usageErrorf("send: unexpected argument %q (every setting is a flag; see -h)", fs.Arg(0))
	}
	env, err := client.ParseEnvelope(*from, splitList(*to)...)
	if err != nil {
		return usageErrorf("send: %w", err)
	}
	if len(env.To) == 0 {
		return usageErrorf("send: -to names no recipient")
	}
	host, _, err := net.SplitHostPort(*server)
	if err != nil {
		return usageErrorf("send: -server %q: %w", *server, err)
	}
	if *timeout <= 0 {
		return usageErrorf("send: -timeout %v: want a positive duration, e.g. 30s", *timeout)
	}
	if *tlsName != "" {
		host = *tlsName
	}
	tlsCfg := &tls.Config{ServerName: host, InsecureSkipVerify: *insecure}
	if *caFile != "" {
		pemBytes, err := os.ReadFile(*caFile)
		if err != nil {
			return fmt.Errorf("send: %w", err)
		}
		tlsCfg.RootCAs = x509.NewCertPool()
		if !tlsCfg.RootCAs.AppendCertsFromPEM(pemBytes) {
			return fmt.Errorf("send: %s holds no PEM certificate", *caFile)
		}
	}
	var msg []byte
	if *dataFile != "" {
		if msg, err = os.ReadFile(*dataFile); err != nil {
			return fmt.Errorf("send: %w", err)
		}
	} else {
		msg = composeMessage(*from, splitList(*to), *subject, *body, time.Now())
	}
	opt := driver.SendOptions{
		Client:  client.Config{Hostname: *helo},
		TLS:     tlsCfg,
		Timeout: *timeout,
	}
	if *user != "" {
		// The state machine keeps the password from a server whose
		// certificate did not verify, and the message from one that
		// offers no AUTH: whoever gives a login means to use it.
		opt.Client.Auth = &client.Credentials{Username: *user, Password: *password}
		opt.Client.RequireAuth = true
		opt.Client.AllowUnverifiedAuth = *insecure
	}
	implicit := false
	switch *tlsMode {
	case "none":
		opt.Client.TLS = client.TLSNone
	case "opportunistic":
		opt.Client.TLS = client.TLSOpportunistic
	case "required":
		opt.Client.TLS = client.TLSRequired
	case "implicit":
		// The whole connection is TLS already: the state machine needs no
		// STARTTLS, and credentials are as safe as inside one.
		implicit = true
		opt.Client.TLS, opt.Client.AllowPlaintextAuth = client.TLSNone, true
	default:
		return usageErrorf("send: -tls %q: want none, opportunistic, required or implicit", *tlsMode)
	}
	if err := send(*server, opt, implicit, *insecure, env, msg, printableWriter{stdout}); err != nil {
		return printableError{err}
	}
	return nil
}

// printable returns s with each control character, byte that is not
// UTF-8 and invisible format character (a bidi override, a line separator)
// written as its Go escape (\x1b, \u202e): text a terminal shows rather
// than obeys. What a server sends is printed to a terminal, and a server
// may send anything: escape sequences that recolour, clear or rewrite the
// lines above (a "refused" turned into "delivered"), set the window title
// or the clipboard (OSC 52); a carriage return that writes over its own
// line; a right-to-left override. Its replies, and its certificate's names
// in the error that says why it did not verify, go through printable, so
// they show the way the lab shows a bare CR or a NUL. Line feeds and tabs
// stay: the line feeds are the transcript's own, and a tab only moves
// the cursor right.
func printable(s string) string {
	clean := true
	for i := 0; i < len(s) && clean; i++ {
		clean = s[i] >= ' ' && s[i] < 0x7f || s[i] == '\n' || s[i] == '\t'
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n' || r == '\t' || unicode.IsGraphic(r):
			b.WriteString(s[i : i+size])
		case r < 0x80:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r <= 0xffff:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			fmt.Fprintf(&b, `\U%08x`, r)
		}
		i += size
	}
	return b.String()
}

// printableWriter writes through printable. Each Write is a whole line or
// more (one fmt call), so no character is split between two.
type printableWriter struct{ w io.Writer }

func (p printableWriter) Write(b []byte) (int, error) {
	if _, err := io.WriteString(p.w, printable(string(b))); err != nil {
		return 0, err
	}
	return len(b), nil
}

// printableError is an error whose text goes through printable: the
// caller prints it, and it may quote the server (a certificate's names).
type printableError struct{ err error }

func (e printableError) Error() string { return printable(e.err.Error()) }
func (e printableError) Unwrap() error { return e.err }

// send connects, runs the session and prints it.
func send(server string, opt driver.SendOptions, implicit, insecure bool, env client.Envelope, msg []byte, out io.Writer) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*opt.Timeout)
	defer cancel()
	p := &transcript{w: out, insecure: insecure}
	opt.Client.Trace = p.event
	if _, port, _ := net.SplitHostPort(server); !implicit && (port == "465" || port == "smtps") {
		// An implicit-TLS server waits for the client's handshake and
		// says nothing: the session would wait out -timeout for a
		// greeting that never comes.
		fmt.Fprintln(out, implicitTLSHint)
		p.hinted = true
	}
	fmt.Fprintf(out, "=== Trying %s...\n", server)
	d := net.Dialer{Timeout: opt.Timeout}
	conn, err := d.DialContext(ctx, "tcp", server)
	if err != nil {
		// The caller prints the error, once.
		return fmt.Errorf("send: %w", err)
	}
	fmt.Fprintf(out, "=== Connected to %s.\n", conn.RemoteAddr())
	if implicit {
		tc := tls.Client(conn, opt.TLS)
		tc.SetDeadline(time.Now().Add(opt.Timeout))
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			printCertHint(out, err)
			return fmt.Errorf("send: TLS handshake: %w", err)
		}
		tc.SetDeadline(time.Time{})
		p.tlsStarted(tc.ConnectionState())
		conn = tc
	} else if !p.hinted {
		// On any other port, say so as soon as the silence is long.
		stop := p.hintIfSilent(silenceHintAfter(opt.Timeout))
		defer stop()
	}
	outcome, err := driver.Send(ctx, conn, opt, env, msg)
	p.mu.Lock() // a silence hint being written is done, and none follows
	p.closed = true
	p.mu.Unlock()
	fmt.Fprintln(out, "=== Connection closed with remote host.")
	if outcome.SevenBit {
		// Outcome.SevenBit: no 8BITMIME, or no SMTPUTF8 for a message
		// whose only UTF-8 header is inside message/global (a -data file).
		fmt.Fprintln(out, "=== The server could not take the message as it was (it offers no 8BITMIME, or no SMTPUTF8 for a UTF-8 header inside message/global): it went converted to 7 bits, its 8-bit parts quoted-printable (RFC 6152 §3, RFC 6533 §6)")
	}
	for _, r := range outcome.Recipients {
		fmt.Fprintf(out, "=== %s: %s", r.Mailbox, sessionWord(r.Status))
		switch {
		case r.Reply.Code != 0:
			fmt.Fprintf(out, " (%s)", strings.ReplaceAll(r.Reply.String(), "\r\n", " "))
		case r.Err != nil && err == nil:
			fmt.Fprintf(out, " (%v)", r.Err)
		}
		// With err, the connection failed: the error, printed once by
		// the caller, says how.
		fmt.Fprintln(out)
	}
	if err != nil {
		printCertHint(out, err)
		if errors.Is(err, os.ErrDeadlineExceeded) && p.replies == 0 && !implicit && !p.hinted {
			fmt.Fprintln(out, implicitTLSHint)
		}
		return fmt.Errorf("send: %w", err)
	}
	switch {
	case errors.Is(outcome.Err, &client.Error{Reason: client.ReasonAuthUnverifiedTLS}):
		return fmt.Errorf("send: not sending the password: the certificate of %s did not verify: %s; use -cafile/-servername, or -insecure to send anyway",
			opt.TLS.ServerName, p.unverified)
	case errors.Is(outcome.Err, &client.Error{Reason: client.ReasonAuthUnavailable}):
		return fmt.Errorf("send: -auth-user: %w", outcome.Err)
	}
	if outcome.Status != client.Delivered {
		return fmt.Errorf("send: the message was %s", sessionWord(outcome.Status))
	}
	for _, r := range outcome.Recipients {
		if r.Status != client.Delivered {
			return fmt.Errorf("send: %s was %s", r.Mailbox, sessionWord(r.Status))
		}
	}
	return nil
}

// sessionWord names what became of a message or recipient in the
// session itself. A server that answers 5xx refuses it there and then: no
// bounce is mailed (that is a delivery status notification, sent later by
// a server that took the message), so "refused" rather than the client's
// "bounced".
func sessionWord(s client.Status) string {
	switch s {
	case client.Bounced:
		return "refused"
	case client.Deferred:
		return "refused for now"
	}
	return s.String()
}

// implicitTLSHint explains a server that says nothing.
const implicitTLSHint = "*** An implicit-TLS port (465, RFC 8314) waits for the client's TLS handshake and says nothing: if this is one, use -tls implicit."

// silenceHintAfter is how long send waits for a greeting before it says
// what a silent server may be: a tenth of the timeout, at most three
// seconds. A greeting usually comes at once; some servers hold it back a
// few seconds on purpose (Postfix's postscreen), which is why this is a
// hint, and the session still waits up to the whole timeout.
func silenceHintAfter(timeout time.Duration) time.Duration {
	return min(3*time.Second, timeout/10)
}

// hintIfSilent prints implicitTLSHint if no reply has come after d. The
// returned function stops the timer.
func (p *transcript) hintIfSilent(d time.Duration) (stop func()) {
	t := time.AfterFunc(d, func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.replies == 0 && !p.hinted && !p.closed {
			fmt.Fprintf(p.w, "*** No greeting after %v. %s\n", d, strings.TrimPrefix(implicitTLSHint, "*** "))
			p.hinted = true
		}
	})
	return func() { t.Stop() }
}

// printCertHint says what to do when err is a certificate that did not
// verify: the usual case with the lab's own servers, whose CA is the lab's.
func printCertHint(out io.Writer, err error) {
	var unknown x509.UnknownAuthorityError
	var host x509.HostnameError
	var invalid x509.CertificateInvalidError
	if errors.As(err, &unknown) || errors.As(err, &host) || errors.As(err, &invalid) {
		fmt.Fprintln(out, "*** The certificate did not verify. For the lab's own servers, trust the lab's CA: -cafile with the PEM the lab serves at /api/lab-ca.pem, and -servername with the host name the server gives in its greeting; or skip the check with -insecure.")
	}
}

// transcript prints the client's events swaks-style.
type transcript struct {
	// mu is held while an event is printed, and by the silence hint,
	// which runs on a timer.
	mu         sync.Mutex
	hinted     bool // implicitTLSHint was printed
	closed     bool // the session is over: no more silence hint
	w          io.Writer
	tls        bool
	insecure   bool   // -insecure: the certificate is not checked
	unverified string // why the certificate did not verify
	replies    int
}

func (p *transcript) arrows() (send, recv string) {
	if p.tls {
		return " ~> ", "<~  "
	}
	return " -> ", "<-  "
}

func (p *transcript) event(e client.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	send, recv := p.arrows()
	switch e.Kind {
	case client.CommandSent:
		text := e.Text
		if e.Secret {
			text = maskSecret(text)
		}
		fmt.Fprintf(p.w, "%s%s\n", send, text)
	case client.ContentSent:
		fmt.Fprintf(p.w, "%s(%d bytes of message text)\n", send, e.Size)
	case client.ReplyReceived:
		p.replies++
		lines := e.Reply.Lines
		if len(lines) == 0 {
			lines = []string{""}
		}
		for i, l := range lines {
			sep := "-"
			if i == len(lines)-1 {
				sep = " "
			}
			code := fmt.Sprint(e.Reply.Code)
			if e.Reply.Enhanced != "" {
				l = e.Reply.Enhanced + " " + l
			}
			fmt.Fprintf(p.w, "%s%s%s%s\n", recv, code, sep, l)
		}
	case client.TLSRequested:
		fmt.Fprintln(p.w, "=== STARTTLS accepted: TLS handshake")
		if e.Size > 0 {
			// Plaintext behind the 220 is what a STARTTLS injection
			// looks like (CVE-2011-0411): say it was not read.
			fmt.Fprintf(p.w, "=== %d bytes that came behind the 220, in plaintext, were thrown away unread (RFC 3207 §6)\n", e.Size)
		}
	case client.TLSSkipped:
		// Nothing on the wire shows a STARTTLS struck from the EHLO
		// reply on the way: say that the message goes in clear.
		fmt.Fprintf(p.w, "=== No TLS: %s (-tls opportunistic; with -tls required nothing would be sent)\n", e.Text)
	case client.TLSStarted:
		p.tls = true
		fmt.Fprintln(p.w, "=== TLS started; the client says EHLO again (RFC 3207 §4.2)")
		switch {
		case e.Text == "":
			fmt.Fprintln(p.w, "=== The certificate verified")
		case p.insecure:
			fmt.Fprintln(p.w, "=== The certificate was not checked (-insecure): encrypted, not authenticated")
		default:
			p.unverified = e.Text
			fmt.Fprintf(p.w, "=== The certificate did not verify (%s): encrypted, not authenticated (opportunistic TLS, RFC 7435)\n", e.Text)
		}
	}
}

// tlsStarted prints what an implicit-TLS handshake agreed on.
func (p *transcript) tlsStarted(cs tls.ConnectionState) {
	p.tls = true
	fmt.Fprintf(p.w, "=== TLS started with cipher %s, %s\n", tls.VersionName(cs.Version), tls.CipherSuiteName(cs.CipherSuite))
	if len(cs.PeerCertificates) > 0 {
		c := cs.PeerCertificates[0]
		fmt.Fprintf(p.w, "=== TLS peer subject DN=\"%s\", issued by \"%s\"\n", c.Subject, c.Issuer)
	}
	if p.insecure {
		fmt.Fprintln(p.w, "=== The certificate was not checked (-insecure): encrypted, not authenticated")
	}
}

// maskSecret hides the credentials of an AUTH line, as swaks does not but
// a transcript pasted into a bug report should.
func maskSecret(line string) string {
	f := strings.Fields(line)
	switch {
	case len(f) >= 3 && strings.EqualFold(f[0], "AUTH"):
		return f[0] + " " + f[1] + " ********"
	case len(f) == 2 && strings.EqualFold(f[0], "AUTH"):
		return line
	}
	return "********"
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// composeMessage writes a small RFC 5322 message.
func composeMessage(from string, to []string, subject, body string, now time.Time) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "From: <%s>\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%d.smtplab-send@localhost>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n",
		from, "<"+strings.Join(to, ">, <")+">", subject, now.Format(time.RFC1123Z), now.UnixNano())
	b.WriteString(strings.ReplaceAll(strings.ReplaceAll(body, "\r\n", "\n"), "\n", "\r\n"))
	if !strings.HasSuffix(body, "\n") {
		b.WriteString("\r\n")
	}
	return []byte(b.String())
}
