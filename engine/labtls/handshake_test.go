package labtls

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"math/rand/v2"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"smtplab/engine/trace"
)

// TestCertificateVariants runs every variant with verification on and off:
// with it on, each bad certificate fails the one check it breaks, with a
// bad_certificate alert from the client; with it off the handshake goes on
// and the facts still say what was wrong.
func TestCertificateVariants(t *testing.T) {
	tests := []struct {
		v     Variant
		check Check
	}{
		{Good, CheckOK},
		{Expired, CheckExpired},
		{WrongName, CheckName},
		{SelfSigned, CheckAuthority},
	}
	for _, tt := range tests {
		for _, verify := range []bool{true, false} {
			name := string(tt.v) + map[bool]string{true: "/verify", false: "/opportunistic"}[verify]
			t.Run(name, func(t *testing.T) {
				l := newLab(t, tt.v, verify)
				r, err := Handshake(l.client, l.server)
				if r == nil {
					t.Fatalf("no result, error %v", err)
				}
				if r.Facts.Verify.Check != tt.check || !r.Facts.Verified {
					t.Errorf("facts verify = %+v (ran: %v), want %s", r.Facts.Verify, r.Facts.Verified, tt.check)
				}
				wantFail := verify && tt.check != CheckOK
				if !wantFail {
					if err != nil || r.Client == nil || r.Server == nil || !r.Facts.Complete {
						t.Fatalf("handshake failed: %v", err)
					}
					wantSteps(t, r, StepClientHello, StepServerHello, StepCertificate, StepVerify, StepFinished)
					return
				}
				var he *HandshakeError
				if !errors.As(err, &he) {
					t.Fatalf("error %v (%T), want a *HandshakeError", err, err)
				}
				if he.Check != tt.check || he.Alert != 42 || he.AlertFrom != SideClient {
					t.Errorf("check %s, alert %d from %s; want %s, 42 (bad certificate) from the client", he.Check, he.Alert, he.AlertFrom, tt.check)
				}
				if he.Client == nil || he.Server == nil || he.Detail == "" {
					t.Errorf("error misses what a side saw: %+v", he)
				}
				var ve *VerifyError
				if !errors.As(err, &ve) || ve.Check != tt.check {
					t.Errorf("errors.As(*VerifyError) = %v", ve)
				}
				if r.Client != nil || r.Server != nil || r.Facts.Complete {
					t.Error("a failed handshake returned codecs")
				}
				wantSteps(t, r, StepClientHello, StepServerHello, StepCertificate, StepVerify, StepFailed)
				failed := r.Event(StepFailed, 7, "client.example", "mx.example.org")
				if failed.Attrs["check"] != string(tt.check) || failed.Attrs["alert"] != "bad certificate (42)" || failed.Host != "client.example" {
					t.Errorf("failed event %+v", failed)
				}
			})
		}
	}
}

func wantSteps(t *testing.T, r *Result, want ...string) {
	t.Helper()
	if got := r.Steps(); !slices.Equal(got, want) {
		t.Errorf("steps %v, want %v", got, want)
	}
	// The flights alternate sides and carry the steps in the right places.
	if len(r.Flights) != 3 || r.Flights[0].From != SideClient || r.Flights[1].From != SideServer || r.Flights[2].From != SideClient {
		t.Errorf("flights: %v", r)
	}
}

// TestProtocolFailure: a failure that is not about the certificate, here
// no common application protocol, is reported as the server's alert.
func TestProtocolFailure(t *testing.T) {
	l := newLab(t, Good, true)
	l.client.ALPN, l.server.ALPN = []string{"h2"}, []string{"smtp"}
	r, err := Handshake(l.client, l.server)
	var he *HandshakeError
	if !errors.As(err, &he) {
		t.Fatalf("error %v, want a *HandshakeError", err)
	}
	if he.Check != CheckProtocol || he.Alert != 120 || he.AlertFrom != SideServer {
		t.Errorf("check %s, alert %d from %s; want protocol, 120 (no application protocol) from the server", he.Check, he.Alert, he.AlertFrom)
	}
	if got := r.Steps(); !slices.Equal(got, []string{StepClientHello, StepFailed}) {
		t.Errorf("steps %v", got)
	}
	if r.Facts.Version != "" || r.Facts.Subject != "" || r.Facts.Verified {
		t.Errorf("facts from a hello never sent: %+v", r.Facts)
	}
	failed := r.Event(StepFailed, 1, "client.example", "mx.example.org")
	if failed.Host != "mx.example.org" || failed.Attrs["alert"] != "no application protocol (120)" || failed.Attrs["check"] != "protocol" {
		t.Errorf("failed event %+v", failed)
	}
}

// TestExpiryFollowsTheVirtualClock: a good certificate as issued when the
// world starts is valid 30 days before to 60 days after, measured on the
// virtual clock (its host renews it in time; see IssueAt).
func TestExpiryFollowsTheVirtualClock(t *testing.T) {
	tests := []struct {
		at    time.Duration
		check Check
	}{
		{0, CheckOK},
		{59 * day, CheckOK},
		{61 * day, CheckExpired},
		{-31 * day, CheckNotYetValid},
	}
	for _, tt := range tests {
		l := newLab(t, Good, true)
		l.now = tt.at
		r, err := Handshake(l.client, l.server)
		if r.Facts.Verify.Check != tt.check {
			t.Errorf("at %v: check %s, want %s (%v)", tt.at, r.Facts.Verify.Check, tt.check, err)
		}
		if (err == nil) != (tt.check == CheckOK) {
			t.Errorf("at %v: error %v", tt.at, err)
		}
	}
}

func TestFacts(t *testing.T) {
	l := newLab(t, Good, true)
	l.client.ALPN, l.server.ALPN = []string{"smtp"}, []string{"smtp"}
	r, err := Handshake(l.client, l.server)
	if err != nil {
		t.Fatal(err)
	}
	want := Facts{
		Offered: []string{"TLS 1.3", "TLS 1.2"}, Version: "TLS 1.3", Cipher: "TLS_CHACHA20_POLY1305_SHA256",
		SNI: "mx.example.org", ALPN: "smtp", Subject: "CN=mx.example.org", Issuer: "CN=SMTP Lab Root CA,O=SMTP Lab",
		Names: []string{"mx.example.org"}, NotBefore: worldStart.Add(-30 * day), NotAfter: worldStart.Add(60 * day),
		Verify: Verification{Check: CheckOK}, Verified: true, Enforced: true, Complete: true,
	}
	f := r.Facts
	if !slices.Equal(f.Offered, want.Offered) || !slices.Equal(f.Names, want.Names) {
		t.Errorf("offered %v names %v", f.Offered, f.Names)
	}
	f.Offered, f.Names, want.Offered, want.Names = nil, nil, nil, nil
	if !reflect.DeepEqual(f, want) {
		t.Errorf("facts\n got %+v\nwant %+v", f, want)
	}
	cert := r.Event(StepCertificate, 3, "client.example", "mx.example.org")
	wantCert := trace.Event{Kind: trace.TLSStep, Conn: 3, Host: "mx.example.org", Peer: "client.example", Step: StepCertificate,
		Text: "certificate for mx.example.org, issued by CN=SMTP Lab Root CA,O=SMTP Lab, valid 2026-01-30 to 2026-04-30",
		Attrs: map[string]string{"subject": "CN=mx.example.org", "issuer": "CN=SMTP Lab Root CA,O=SMTP Lab", "names": "mx.example.org",
			"not_before": "2026-01-30T12:00:00Z", "not_after": "2026-04-30T12:00:00Z"}}
	if cert.Text != wantCert.Text || cert.Host != wantCert.Host || cert.Peer != wantCert.Peer || cert.Conn != 3 ||
		len(cert.Attrs) != len(wantCert.Attrs) {
		t.Errorf("certificate event\n got %+v\nwant %+v", cert, wantCert)
	}
	for k, v := range wantCert.Attrs {
		if cert.Attrs[k] != v {
			t.Errorf("certificate attr %s = %q, want %q", k, cert.Attrs[k], v)
		}
	}
	hello := r.Event(StepServerHello, 3, "client.example", "mx.example.org")
	if hello.Attrs["version"] != "TLS 1.3" || hello.Attrs["cipher"] != "TLS_CHACHA20_POLY1305_SHA256" || hello.Attrs["alpn"] != "smtp" {
		t.Errorf("server-hello attrs %v", hello.Attrs)
	}
	if evs := r.Events(3, "c", "s"); len(evs) != 5 || evs[4].Step != StepFinished {
		t.Errorf("Events: %+v", evs)
	}
}

// TestTLS12 is the profile whose bytes are the same on every CPU.
func TestTLS12(t *testing.T) {
	l := newLab(t, Good, true)
	l.server.MaxVersion = tls.VersionTLS12
	r, err := Handshake(l.client, l.server)
	if err != nil {
		t.Fatal(err)
	}
	if r.Facts.Version != "TLS 1.2" || r.Facts.Cipher != "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256" {
		t.Errorf("facts %+v", r.Facts)
	}
	// TLS 1.2 takes two round trips; the server's Finished comes last.
	if len(r.Flights) != 4 {
		t.Errorf("%d flights, want 4: %v", len(r.Flights), r)
	}
	roundTrip(t, r, rand.New(rand.NewPCG(1, 2)))
}

// TestNoGoroutinesLeft: once Handshake returns, nothing runs behind the
// simulated network's back.
func TestNoGoroutinesLeft(t *testing.T) {
	before := runtime.NumGoroutine()
	for _, v := range []Variant{Good, Expired} {
		l := newLab(t, v, true)
		_, _ = Handshake(l.client, l.server)
	}
	// The server's goroutine has handed over its result, but may still be
	// on its way out when Handshake returns: give it a moment to exit.
	after := runtime.NumGoroutine()
	for i := 0; i < 1000 && after > before; i++ {
		runtime.Gosched()
		after = runtime.NumGoroutine()
	}
	if after != before {
		t.Errorf("%d goroutines before, %d after", before, after)
	}
}

func TestHandshakeNeedsTheVirtualClock(t *testing.T) {
	l := newLab(t, Good, true)
	l.client.Now = nil
	if _, err := Handshake(l.client, l.server); err == nil {
		t.Error("Handshake without a clock succeeded")
	}
}

// TestRoundTrip sends data both ways through Seal and Open, delivering the
// records in random chunks, as a network might.
func TestRoundTrip(t *testing.T) {
	l := newLab(t, Good, true)
	r, err := Handshake(l.client, l.server)
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, r, rand.New(rand.NewPCG(3, 4)))
}

func roundTrip(t *testing.T, r *Result, rng *rand.Rand) {
	t.Helper()
	ends := []struct {
		name     string
		from, to *Codec
	}{{"client→server", r.Client, r.Server}, {"server→client", r.Server, r.Client}}
	for round := range 20 {
		for _, e := range ends {
			var sent, wire []byte
			for range 1 + rng.IntN(4) {
				msg := make([]byte, rng.IntN(40000))
				for i := range msg {
					msg[i] = byte(rng.Uint32())
				}
				sent = append(sent, msg...)
				wire = append(wire, e.from.Seal(msg)...)
			}
			if len(sent) > 0 && bytes.Contains(wire, sent[:min(len(sent), 64)]) {
				t.Fatalf("%s: plaintext visible on the wire", e.name)
			}
			var got []byte
			for len(wire) > 0 {
				n := min(len(wire), 1+rng.IntN(3000))
				if rng.IntN(4) == 0 {
					n = min(len(wire), 1+rng.IntN(6)) // tiny chunks split record headers
				}
				p, err := e.to.Open(wire[:n])
				if err != nil {
					t.Fatalf("%s round %d: %v", e.name, round, err)
				}
				got = append(got, p...)
				wire = wire[n:]
			}
			if !bytes.Equal(got, sent) {
				t.Fatalf("%s round %d: got %d bytes, sent %d, or they differ", e.name, round, len(got), len(sent))
			}
		}
	}
}

func TestOpenRejectsTamperedRecords(t *testing.T) {
	l := newLab(t, Good, true)
	r, err := Handshake(l.client, l.server)
	if err != nil {
		t.Fatal(err)
	}
	rec := r.Client.Seal([]byte("MAIL FROM:<alice@example.com>\r\n"))
	rec[len(rec)-1] ^= 1
	if _, err := r.Server.Open(rec); err == nil {
		t.Fatal("a tampered record opened")
	}
	// The server owes the client an alert, and its conn stays broken.
	alert := r.Server.Seal([]byte("250 OK\r\n"))
	if _, err := r.Client.Open(alert); err == nil {
		t.Error("the client did not see the server's alert")
	}
	if _, err := r.Server.Open(r.Client.Seal([]byte("QUIT\r\n"))); err == nil {
		t.Error("the server opened records after a fatal error")
	}
}

func TestCloseNotify(t *testing.T) {
	l := newLab(t, Good, true)
	r, err := Handshake(l.client, l.server)
	if err != nil {
		t.Fatal(err)
	}
	wire := append(r.Client.Seal([]byte("QUIT\r\n")), r.Client.Close()...)
	p, err := r.Server.Open(wire)
	if string(p) != "QUIT\r\n" || !errors.Is(err, io.EOF) {
		t.Errorf("Open = %q, %v; want QUIT and io.EOF", p, err)
	}
}

// TestHandshakeErrorSaysWhy: a failed handshake's error says in plain
// words what the client found, naming the server, because it reaches
// people (a relay's queue, a bounce); the x509 and crypto/tls errors stay
// in its fields. It had been "labtls: handshake failed: certificate
// expired: client sent alert bad certificate (42); client saw: labtls:
// certificate check failed: expired: x509: ...; server saw: remote error:
// tls: bad certificate".
func TestHandshakeErrorSaysWhy(t *testing.T) {
	for v, want := range map[Variant]string{
		Expired:    "the certificate of mx.example.org expired on ",
		WrongName:  "the certificate of mx.example.org is for another name: ",
		SelfSigned: "the certificate of mx.example.org is signed by an unknown authority (CN=",
	} {
		l := newLab(t, v, true)
		_, err := Handshake(l.client, l.server)
		var he *HandshakeError
		if !errors.As(err, &he) {
			t.Fatalf("%s: error %v", v, err)
		}
		if got := err.Error(); !strings.HasPrefix(got, want) || strings.Contains(got, "x509") || strings.Contains(got, "tls:") {
			t.Errorf("%s: the error says %q, want it to start %q, without the Go error chain", v, got, want)
		}
		if he.Client == nil || he.Server == nil || !strings.Contains(he.Detail, "x509") {
			t.Errorf("%s: the Go errors are gone from the fields: %+v", v, he)
		}
	}
}

// TestProtocolFailureSaysItOnce: a handshake that fails for want of a
// common protocol says what it can without repeating "the TLS handshake
// failed", which every caller writes before it.
func TestProtocolFailureSaysItOnce(t *testing.T) {
	var r Result
	for _, he := range []*HandshakeError{
		{Check: CheckProtocol, Client: errors.New("EOF")},
		{Check: CheckProtocol},
	} {
		got := r.reason(he, "mx.example.org")
		if strings.Contains(got, "handshake") || !strings.HasPrefix(got, "talking to mx.example.org") {
			t.Errorf("reason %q, want it to name the server without saying the handshake failed again", got)
		}
	}
}

// TestVersionAndCipherSaidOnce: the server hello's text says the version
// and cipher it chose; the finished step's text does not repeat them (its
// attributes keep them, for the goals and the panels).
func TestVersionAndCipherSaidOnce(t *testing.T) {
	l := newLab(t, Good, true)
	r, err := Handshake(l.client, l.server)
	if err != nil {
		t.Fatal(err)
	}
	hello, finished := r.Event(StepServerHello, 1, "c", "s"), r.Event(StepFinished, 1, "c", "s")
	v, c := r.Facts.Version, r.Facts.Cipher
	if !strings.Contains(hello.Text, v) || !strings.Contains(hello.Text, c) {
		t.Errorf("the server hello says %q, without %s and %s", hello.Text, v, c)
	}
	if strings.Contains(finished.Text, v) || strings.Contains(finished.Text, c) {
		t.Errorf("the finished step says them again: %q", finished.Text)
	}
	if finished.Attrs["version"] != v || finished.Attrs["cipher"] != c {
		t.Errorf("the finished step's attributes lost them: %v", finished.Attrs)
	}
}
