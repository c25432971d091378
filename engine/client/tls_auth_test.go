package client

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"smtplab/engine/smtp"
)

func TestStartTLS(t *testing.T) {
	one := env(t, "a@example.com", "b@example.org")
	with := func(p TLSPolicy) Config { return Config{Hostname: "c.example", TLS: p} }
	// The server's "220" arrives with a forged "250" behind it: a man in the
	// middle hopes the client reads it as the first reply over TLS.
	injected := "220 2.0.0 ready\r\n250-forged\r\n250 AUTH PLAIN\r\n"
	afterTLS := []step{
		{handshake: true, client: "EHLO c.example\r\n"},
		{server: ehloBare, client: "MAIL FROM:<a@example.com>\r\n"},
		{server: okMail, client: "RCPT TO:<b@example.org>\r\n"},
		{server: okRcpt, client: "DATA\r\n"},
		{server: goAhead, client: "x\r\n.\r\n"},
		{server: queued, client: "QUIT\r\n"},
		{server: bye},
	}
	plainRest := []step{
		{server: okMail, client: "RCPT TO:<b@example.org>\r\n"},
		{server: okRcpt, client: "DATA\r\n"},
		{server: goAhead, client: "x\r\n.\r\n"},
		{server: queued, client: "QUIT\r\n"},
		{server: bye},
	}
	runScripts(t, []script{{
		name: "none: STARTTLS offered but not used",
		cfg:  with(TLSNone), env: one, msg: "x\r\n",
		steps: append([]step{
			{server: greeting, client: "EHLO c.example\r\n"},
			{server: ehlo("STARTTLS"), client: "MAIL FROM:<a@example.com>\r\n"},
		}, plainRest...),
		status: Delivered,
	}, {
		name: "opportunistic: STARTTLS, injected replies discarded, EHLO again",
		cfg:  with(TLSOpportunistic), env: one, msg: "x\r\n",
		steps: append([]step{
			{server: greeting, client: "EHLO c.example\r\n"},
			{server: ehlo("STARTTLS"), client: "STARTTLS\r\n"},
			{server: injected, client: ""},
		}, afterTLS...),
		status: Delivered,
	}, {
		name: "opportunistic: not offered, plaintext",
		cfg:  with(TLSOpportunistic), env: one, msg: "x\r\n",
		steps: append([]step{
			{server: greeting, client: "EHLO c.example\r\n"},
			{server: ehloBare, client: "MAIL FROM:<a@example.com>\r\n"},
		}, plainRest...),
		status: Delivered,
	}, {
		name: "opportunistic: refused, plaintext",
		cfg:  with(TLSOpportunistic), env: one, msg: "x\r\n",
		steps: append([]step{
			{server: greeting, client: "EHLO c.example\r\n"},
			{server: ehlo("STARTTLS"), client: "STARTTLS\r\n"},
			{server: "454 4.7.0 TLS not available\r\n", client: "MAIL FROM:<a@example.com>\r\n"},
		}, plainRest...),
		status: Delivered,
	}, {
		name: "required: STARTTLS and on",
		cfg:  with(TLSRequired), env: one, msg: "x\r\n",
		steps: append([]step{
			{server: greeting, client: "EHLO c.example\r\n"},
			{server: ehlo("STARTTLS", "PIPELINING"), client: "STARTTLS\r\n"},
			{server: injected, client: ""},
		}, afterTLS...),
		status: Delivered,
	}, {
		name: "required: not offered, message kept (deferred)",
		cfg:  with(TLSRequired), env: one, msg: "x\r\n",
		steps: []step{
			{server: greeting, client: "EHLO c.example\r\n"},
			{server: ehlo("PIPELINING"), client: "QUIT\r\n"},
			{server: bye},
		},
		status: Deferred, reason: ReasonTLSUnavailable, enhanced: "4.7.4",
	}, {
		name: "required: HELO server cannot do TLS",
		cfg:  with(TLSRequired), env: one, msg: "x\r\n",
		steps: []step{
			{server: greeting, client: "EHLO c.example\r\n"},
			{server: "502 no\r\n", client: "HELO c.example\r\n"},
			{server: "250 hi\r\n", client: "QUIT\r\n"},
			{server: bye},
		},
		status: Deferred, reason: ReasonTLSUnavailable, enhanced: "4.7.4",
	}, {
		name: "required: refused with 5xx is still deferred",
		cfg:  with(TLSRequired), env: one, msg: "x\r\n",
		steps: []step{
			{server: greeting, client: "EHLO c.example\r\n"},
			{server: ehlo("STARTTLS"), client: "STARTTLS\r\n"},
			{server: "502 5.5.1 no TLS today\r\n", client: "QUIT\r\n"},
			{server: bye},
		},
		status: Deferred, reason: ReasonTLSRefused, code: 502,
	}})
}

func TestTLSFailed(t *testing.T) {
	c, _ := New(Config{TLS: TLSRequired}, env(t, "a@example.com", "b@example.org"), []byte("x"))
	c.Feed([]byte(greeting))
	c.Feed([]byte(ehlo("STARTTLS")))
	c.Output()
	c.Feed([]byte("220 go\r\n"))
	if c.Action() != ActionStartTLS {
		t.Fatalf("action %v", c.Action())
	}
	c.Feed([]byte("250 more plaintext after the 220\r\n")) // ignored: never read
	if c.Action() != ActionStartTLS || len(c.Output()) != 0 {
		t.Fatal("plaintext after 220 was read")
	}
	c.TLSFailed(errors.New("bad certificate"))
	o := c.Outcome()
	if c.Action() != ActionClose || o.Status != Deferred || !errors.Is(o.Err, &Error{Reason: ReasonTLSFailed}) {
		t.Fatalf("%v %+v", c.Action(), o)
	}
	if o.TLS {
		t.Fatal("TLS reported after a failed handshake")
	}
}

// authSession runs greeting, EHLO (offering mechs) and STARTTLS, then
// the AUTH exchange given, then a pipelined transaction.
func TestAuth(t *testing.T) {
	creds := &Credentials{Username: "tim", Password: "tanstaaftanstaaf"}
	one := env(t, "a@example.com", "b@example.org")
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	tlsThen := func(offer string, rest ...step) []step {
		return append([]step{
			{server: greeting, client: "EHLO c.example\r\n"},
			{server: ehlo("STARTTLS"), client: "STARTTLS\r\n"},
			{server: "220 go\r\n", client: ""},
			{handshake: true, client: "EHLO c.example\r\n"},
			{server: ehlo("PIPELINING", offer), client: rest[0].client},
		}, rest[1:]...)
	}
	// unverifiedThen is tlsThen with a certificate that did not verify.
	unverifiedThen := func(offer string, rest ...step) []step {
		steps := tlsThen(offer, rest...)
		steps[3].unverified = "x509: certificate signed by unknown authority"
		return steps
	}
	tx := []step{
		{server: okMail + okRcpt + goAhead, client: "x\r\n.\r\nQUIT\r\n"},
		{server: queued + bye},
	}
	batch := "MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n"
	cfg := func(m Mechanism) Config {
		return Config{Hostname: "c.example", TLS: TLSRequired, Auth: creds, Mechanisms: m}
	}
	runScripts(t, []script{{
		name: "PLAIN with an initial response",
		cfg:  cfg(0), env: one, msg: "x\r\n",
		steps: tlsThen("AUTH PLAIN LOGIN", append([]step{
			{client: "AUTH PLAIN " + b64("\x00tim\x00tanstaaftanstaaf") + "\r\n"},
			{server: "235 2.7.0 ok\r\n", client: batch},
		}, tx...)...),
		status: Delivered,
	}, {
		name: "LOGIN in two steps",
		cfg:  cfg(0), env: one, msg: "x\r\n",
		steps: tlsThen("AUTH LOGIN", append([]step{
			{client: "AUTH LOGIN\r\n"},
			{server: "334 VXNlcm5hbWU6\r\n", client: b64("tim") + "\r\n"},
			{server: "334 UGFzc3dvcmQ6\r\n", client: b64("tanstaaftanstaaf") + "\r\n"},
			{server: "235 2.7.0 ok\r\n", client: batch},
		}, tx...)...),
		status: Delivered,
	}, {
		// The example of RFC 2195 §2.
		name: "CRAM-MD5 preferred, HMAC-MD5 of the challenge",
		cfg:  cfg(0), env: one, msg: "x\r\n",
		steps: tlsThen("AUTH LOGIN PLAIN CRAM-MD5", append([]step{
			{client: "AUTH CRAM-MD5\r\n"},
			{server: "334 " + b64("<1896.697170952@postoffice.reston.mci.net>") + "\r\n",
				client: "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw\r\n"},
			{server: "235 2.7.0 ok\r\n", client: batch},
		}, tx...)...),
		status: Delivered,
	}, {
		name: "CRAM-MD5 with a challenge that is not base64: cancelled",
		cfg:  cfg(CRAMMD5), env: one, msg: "x\r\n",
		steps: tlsThen("AUTH CRAM-MD5", []step{
			{client: "AUTH CRAM-MD5\r\n"},
			{server: "334 !!!\r\n", client: "*\r\n"},
			{server: "501 5.7.0 cancelled\r\n", client: "QUIT\r\n"},
			{server: bye},
		}...),
		status: Bounced, code: 501,
	}, {
		// RFC 4954 §4: the server MUST answer "*" with 501. One that
		// challenges again would have the client answer "*" for as long
		// as it liked.
		name: "a challenge after the client cancelled: the session ends",
		cfg:  cfg(LOGIN), env: one, msg: "x\r\n",
		steps: tlsThen("AUTH LOGIN", []step{
			{client: "AUTH LOGIN\r\n"},
			{server: "334 VXNlcm5hbWU6\r\n", client: b64("tim") + "\r\n"},
			{server: "334 UGFzc3dvcmQ6\r\n", client: b64("tanstaaftanstaaf") + "\r\n"},
			{server: "334 TW9yZTo=\r\n", client: "*\r\n"},
			{server: "334 TW9yZTo=\r\n"},
		}...),
		status: Deferred, reason: ReasonMalformedReply, session: []bool{true},
	}, {
		name: "credentials refused",
		cfg:  cfg(PLAIN), env: one, msg: "x\r\n",
		steps: tlsThen("AUTH PLAIN CRAM-MD5", []step{
			{client: "AUTH PLAIN " + b64("\x00tim\x00tanstaaftanstaaf") + "\r\n"},
			{server: "535 5.7.8 bad credentials\r\n", client: "QUIT\r\n"},
			{server: bye},
		}...),
		status: Bounced, code: 535,
	}, {
		name: "no common mechanism",
		cfg:  cfg(0), env: one, msg: "x\r\n",
		steps: tlsThen("AUTH XOAUTH2 GSSAPI", []step{
			{client: "QUIT\r\n"},
			{server: bye},
		}...),
		status: Deferred, reason: ReasonNoAuthMechanism,
	}, {
		name: "AUTH not offered: mail goes without it",
		cfg:  cfg(0), env: one, msg: "x\r\n",
		steps:  tlsThen("8BITMIME", append([]step{{client: batch}}, tx...)...),
		status: Delivered,
	}, {
		name: "AUTH not offered, but required: no mail",
		cfg:  Config{Hostname: "c.example", TLS: TLSRequired, Auth: creds, RequireAuth: true}, env: one, msg: "x\r\n",
		steps: tlsThen("8BITMIME", []step{
			{client: "QUIT\r\n"},
			{server: bye},
		}...),
		status: Deferred, reason: ReasonAuthUnavailable, enhanced: "4.7.4",
	}, {
		name: "AUTH not offered without TLS, but required: no mail",
		cfg:  Config{Hostname: "c.example", Auth: creds, RequireAuth: true}, env: one, msg: "x\r\n",
		steps: []step{
			{server: greeting, client: "EHLO c.example\r\n"},
			{server: ehlo("STARTTLS"), client: "QUIT\r\n"},
			{server: bye},
		},
		status: Deferred, reason: ReasonAuthUnavailable,
	}, {
		name: "never credentials to a certificate that did not verify",
		cfg:  Config{Hostname: "c.example", TLS: TLSOpportunistic, Auth: creds}, env: one, msg: "x\r\n",
		steps: unverifiedThen("AUTH PLAIN LOGIN", []step{
			{client: "QUIT\r\n"},
			{server: bye},
		}...),
		status: Deferred, reason: ReasonAuthUnverifiedTLS, enhanced: "4.7.5",
	}, {
		name: "credentials to a certificate that did not verify when the policy allows it",
		cfg: Config{Hostname: "c.example", TLS: TLSOpportunistic, Auth: creds, Mechanisms: PLAIN,
			AllowUnverifiedAuth: true}, env: one, msg: "x\r\n",
		steps: unverifiedThen("AUTH PLAIN LOGIN", append([]step{
			{client: "AUTH PLAIN " + b64("\x00tim\x00tanstaaftanstaaf") + "\r\n"},
			{server: "235 2.7.0 ok\r\n", client: batch},
		}, tx...)...),
		status: Delivered,
	}, {
		name: "a certificate that did not verify, no credentials: mail goes (RFC 7435)",
		cfg:  Config{Hostname: "c.example", TLS: TLSOpportunistic}, env: one, msg: "x\r\n",
		steps: unverifiedThen("AUTH PLAIN", append([]step{
			{client: batch},
		}, tx...)...),
		status: Delivered,
	}, {
		name: "never credentials before TLS",
		cfg:  Config{Hostname: "c.example", TLS: TLSOpportunistic, Auth: creds}, env: one, msg: "x\r\n",
		steps: []step{
			{server: greeting, client: "EHLO c.example\r\n"},
			{server: ehlo("AUTH PLAIN LOGIN"), client: "QUIT\r\n"},
			{server: bye},
		},
		status: Deferred, reason: smtp.ReasonAuthNeedsTLS,
	}, {
		name: "plaintext AUTH when the policy allows it, for teaching",
		cfg:  Config{Hostname: "c.example", Auth: creds, AllowPlaintextAuth: true, Mechanisms: PLAIN}, env: one, msg: "x\r\n",
		steps: []step{
			{server: greeting, client: "EHLO c.example\r\n"},
			{server: ehlo("AUTH PLAIN LOGIN"), client: "AUTH PLAIN " + b64("\x00tim\x00tanstaaftanstaaf") + "\r\n"},
			{server: "235 ok\r\n", client: "MAIL FROM:<a@example.com>\r\n"},
			{server: "530 no\r\n", client: "QUIT\r\n"},
			{server: bye},
		},
		status: Bounced,
	}})
}

func TestOutcomeReportsTLSAndAuth(t *testing.T) {
	c, _ := New(Config{TLS: TLSRequired, Auth: &Credentials{"u", "p"}}, env(t, "a@example.com", "b@example.org"), []byte("x"))
	for _, in := range []string{greeting, ehlo("STARTTLS"), "220 go\r\n"} {
		c.Feed([]byte(in))
	}
	c.TLSStarted(nil)
	for _, in := range []string{ehlo("AUTH LOGIN"), "334 x\r\n", "334 y\r\n", "235 ok\r\n", okMail, okRcpt, goAhead, queued, bye} {
		c.Feed([]byte(in))
	}
	o := c.Outcome()
	if !o.TLS || o.Auth != LOGIN || o.Status != Delivered || c.Action() != ActionClose {
		t.Fatalf("%+v", o)
	}
}

func TestEvents(t *testing.T) {
	var events []Event
	cfg := Config{Hostname: "c.example", TLS: TLSRequired, Auth: &Credentials{"u", "p"}, Trace: func(e Event) { events = append(events, e) }}
	c, _ := New(cfg, env(t, "a@example.com", "b@example.org"), []byte("x\r\n"))
	c.Feed([]byte(greeting + ehlo("STARTTLS")))
	c.Feed([]byte("220 2.0.0 go\r\n250 forged\r\n"))
	c.TLSStarted(nil)
	c.Feed([]byte(ehlo("AUTH PLAIN", "PIPELINING", "ENHANCEDSTATUSCODES")))
	c.Feed([]byte("235 2.7.0 ok\r\n" + okMail + okRcpt + goAhead + queued + bye))
	var got []string
	for _, e := range events {
		s := e.Kind.String() + " " + string(e.Verb)
		switch e.Kind {
		case CommandSent:
			if e.Secret {
				s += " (secret)"
			} else {
				s += " " + e.Text
			}
		case ReplyReceived:
			s += " " + e.Reply.String()
		case TLSRequested, ContentSent:
			s += " " + strings.Repeat("#", e.Size)
		}
		got = append(got, s)
	}
	want := []string{
		"reply  220 mx.example.org ESMTP",
		"command EHLO EHLO c.example",
		"reply EHLO 250-mx.example.org\r\n250 STARTTLS",
		"command STARTTLS STARTTLS",
		"reply STARTTLS 220 2.0.0 go",
		"tls-requested STARTTLS " + strings.Repeat("#", len("250 forged\r\n")),
		"tls-started ",
		"command EHLO EHLO c.example",
		"reply EHLO 250-mx.example.org\r\n250-AUTH PLAIN\r\n250-PIPELINING\r\n250 ENHANCEDSTATUSCODES",
		"command AUTH (secret)",
		"reply AUTH 235 2.7.0 ok",
		"command MAIL MAIL FROM:<a@example.com>",
		"command RCPT RCPT TO:<b@example.org>",
		"command DATA DATA",
		"reply MAIL 250 2.1.0 OK",
		"reply RCPT 250 2.1.5 OK",
		"reply DATA 354 go ahead",
		"content DATA " + strings.Repeat("#", len("x\r\n.\r\n")),
		"command QUIT QUIT",
		"reply DATA 250 2.0.0 queued as 1",
		"reply QUIT 221 2.0.0 bye",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if e := events[len(events)-2]; e.Reply.Enhanced != "2.0.0" || e.Reply.Code != 250 {
		t.Fatalf("reply event %+v", e.Reply)
	}
}

// TestTLSSkippedIsTraced: under the opportunistic policy a session that
// goes on in plaintext says so in the trace, once, whether the server did
// not offer STARTTLS (as when a man in the middle struck it out of the
// EHLO reply) or refused it; the wire alone would not show it. The other
// policies never say it: TLSNone did not want TLS, TLSRequired defers.
func TestTLSSkippedIsTraced(t *testing.T) {
	for _, tt := range []struct {
		name   string
		policy TLSPolicy
		in     []string
		want   string // the TLSSkipped event's text, "" for none
	}{
		{"not offered", TLSOpportunistic, []string{greeting, ehlo("PIPELINING")}, "does not offer STARTTLS"},
		{"HELO server", TLSOpportunistic, []string{greeting, "502 no\r\n", "250 hi\r\n"}, "does not offer STARTTLS"},
		{"refused", TLSOpportunistic, []string{greeting, ehlo("STARTTLS"), "454 4.7.0 not now\r\n"}, "answered 454 to STARTTLS"},
		{"policy none", TLSNone, []string{greeting, ehlo("STARTTLS")}, ""},
		{"policy required", TLSRequired, []string{greeting, ehlo("PIPELINING")}, ""},
		{"TLS on", TLSOpportunistic, []string{greeting, ehlo("STARTTLS"), "220 go\r\n", "TLS", ehlo("PIPELINING")}, ""},
	} {
		var skipped []Event
		cfg := Config{TLS: tt.policy, Trace: func(e Event) {
			if e.Kind == TLSSkipped {
				skipped = append(skipped, e)
			}
		}}
		c, err := New(cfg, env(t, "a@example.com", "b@example.org"), []byte("x\r\n"))
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range tt.in {
			if in == "TLS" {
				c.TLSStarted(nil)
			} else {
				c.Feed([]byte(in))
			}
			c.Output()
		}
		// TLSSkipped says it too, for a driver that keeps no Trace, and
		// once: asked again, it has nothing more to say.
		why := c.TLSSkipped()
		if why != "" && (len(skipped) != 1 || why != skipped[0].Text) || c.TLSSkipped() != "" {
			t.Errorf("%s: TLSSkipped said %q, then %q; the events: %+v", tt.name, why, c.TLSSkipped(), skipped)
		}
		if tt.want != "" && why == "" {
			t.Errorf("%s: TLSSkipped said nothing", tt.name)
		}
		c.Feed([]byte(okMail + okRcpt + goAhead + queued + bye))
		switch {
		case tt.want == "" && len(skipped) > 0:
			t.Errorf("%s: %+v, want no tls-skipped event", tt.name, skipped)
		case tt.want != "" && (len(skipped) != 1 || !strings.Contains(skipped[0].Text, tt.want)):
			t.Errorf("%s: %+v, want one tls-skipped event saying %q", tt.name, skipped, tt.want)
		}
	}
}
