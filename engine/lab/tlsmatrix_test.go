package lab

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"smtplab/engine/mta"
	"smtplab/engine/trace"
)

// TestOutboundTLSPolicies sends through the relay to an MX presenting each
// certificate variant, under each outbound policy of the relay, and checks
// what a real MTA would do: an opportunistic sender delivers whatever the
// certificate (noting that it did not verify), a verifying one defers on a
// bad certificate, and a sender that requires TLS defers when STARTTLS is
// not offered.
func TestOutboundTLSPolicies(t *testing.T) {
	tests := []struct {
		cert, policy string
		delivered    bool
		tls          bool   // the delivery ran over TLS
		check        string // the verify attr of the handshake, if one ran
	}{
		{mta.CertGood, mta.TLSVerify, true, true, "ok"},
		{mta.CertExpired, mta.TLSOpportunistic, true, true, "expired"},
		{mta.CertExpired, mta.TLSVerify, false, false, "expired"},
		{mta.CertWrongName, mta.TLSOpportunistic, true, true, "wrong-name"},
		{mta.CertWrongName, mta.TLSRequired, false, false, "wrong-name"},
		{mta.CertSelfSigned, mta.TLSOpportunistic, true, true, "unknown-authority"},
		{mta.CertSelfSigned, mta.TLSVerify, false, false, "unknown-authority"},
		{mta.CertNone, mta.TLSOpportunistic, true, false, ""},
		{mta.CertNone, mta.TLSRequired, false, false, ""},
		{mta.CertGood, mta.TLSNone, true, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.cert+"/"+tt.policy, func(t *testing.T) {
			sc, err := LoadScenario("bad-certificate")
			if err != nil {
				t.Fatal(err)
			}
			sc.Hosts[1].OutboundTLS, sc.Hosts[2].Cert = tt.policy, tt.cert
			w, err := build(sc, 1)
			if err != nil {
				t.Fatal(err)
			}
			session(t, w, "alice@example.com", "bob@example.org")
			advance(t, w, time.Minute)
			box := mailbox(w, "mx.example.org", "bob@example.org")
			if got := len(box) == 1; got != tt.delivered {
				t.Fatalf("delivered = %v, want %v; trace:\n%s", got, tt.delivered, dumpEvents(w.Trace()))
			}
			if tt.delivered && strings.Contains(box[0].Received[0], "ESMTPS") != tt.tls {
				t.Errorf("Received %q: TLS should be %v", box[0].Received[0], tt.tls)
			}
			if !tt.delivered && len(w.State().Queue) != 1 {
				t.Error("the undelivered message is not waiting in the queue")
			}
			var check string
			for _, e := range w.Trace() {
				if e.Kind == trace.TLSStep && e.Attrs["verify"] != "" && e.Peer == "mx.example.org" {
					check = e.Attrs["verify"]
				}
			}
			if check != tt.check {
				t.Errorf("handshake verify = %q, want %q", check, tt.check)
			}
		})
	}
}

// TestMailClientKeepsThePasswordFromBadCertificates: the learner's mail
// client logs in to the submission server only when its certificate
// verified; one that did not gets no AUTH, and the message waits with the
// client, as a mail program that will not log in to an impostor would.
func TestMailClientKeepsThePasswordFromBadCertificates(t *testing.T) {
	for _, cert := range []string{mta.CertGood, mta.CertSelfSigned, mta.CertWrongName, mta.CertExpired} {
		t.Run(cert, func(t *testing.T) {
			sc, err := LoadScenario("submission-with-auth")
			if err != nil {
				t.Fatal(err)
			}
			var found bool
			for i := range sc.Hosts {
				if sc.Hosts[i].Name == "smtp.example.com" {
					sc.Hosts[i].Cert, found = cert, true
				}
			}
			if !found {
				t.Fatal("submission-with-auth has no smtp.example.com")
			}
			w, err := build(sc, 1)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Submit(Message{From: "alice@example.com", To: []string{"bob@example.org"}, Subject: "s", Body: "b"}); err != nil {
				t.Fatal(err)
			}
			advance(t, w, time.Minute)
			auth := false
			for _, e := range w.Trace() {
				if e.Kind == trace.Command && strings.HasPrefix(strings.ToUpper(e.Text), "AUTH") {
					auth = true
				}
			}
			delivered := len(mailbox(w, "mx.example.org", "bob@example.org")) == 1
			if want := cert == mta.CertGood; auth != want || delivered != want {
				t.Fatalf("AUTH sent %v, delivered %v, want %v; trace:\n%s", auth, delivered, want, dumpEvents(w.Trace()))
			}
		})
	}
}

// TestCertificatesOutliveTheLongestWorld: a world's clock can move on by
// MaxAdvance for each of MaxInputs inputs, until it reaches the end of a
// time.Duration, 292 years after the start. However far it has gone, each certificate variant still fails only the check it is
// made to fail: a good one verifies (its host renews it, as an ACME client
// does), a wrong name stays a wrong name, a self-signed one stays
// unknown, and only the expired one is expired, still on the day before
// the world started. Nothing here depends on the machine's clock.
func TestCertificatesOutliveTheLongestWorld(t *testing.T) {
	longest := time.Duration(math.MaxInt64) - MaxAdvance // leaves room for Connect, EHLO and STARTTLS
	for _, cert := range []string{mta.CertGood, mta.CertExpired, mta.CertWrongName, mta.CertSelfSigned} {
		want := map[string]string{mta.CertGood: "ok", mta.CertExpired: "expired", mta.CertWrongName: "wrong-name", mta.CertSelfSigned: "unknown-authority"}[cert]
		for _, after := range []time.Duration{59 * 24 * time.Hour, 61 * 24 * time.Hour, 91 * 24 * time.Hour, 400 * 24 * time.Hour, 11 * 365 * 24 * time.Hour, longest} {
			t.Run(fmt.Sprintf("%s/%dd", cert, after/(24*time.Hour)), func(t *testing.T) {
				sc, err := LoadScenario("bad-certificate")
				if err != nil {
					t.Fatal(err)
				}
				sc.Hosts[2].Cert = cert
				w, err := build(sc, 1)
				if err != nil {
					t.Fatal(err)
				}
				// Move the clock without an input per step, as a replay
				// of that many advances would.
				w.net.Advance(after)
				if _, err := w.Connect("mx.example.org:25"); err != nil {
					t.Fatal(err)
				}
				var verify []trace.Event
				for _, e := range typeAll(t, w, "EHLO laptop.example.com", "STARTTLS") {
					if e.Kind == trace.TLSStep && e.Step == "verify" {
						verify = append(verify, e)
					}
				}
				if len(verify) != 1 || verify[0].Attrs["verify"] != want {
					t.Fatalf("verify steps %+v, want one saying %s", verify, want)
				}
				if cert == mta.CertExpired && !strings.Contains(verify[0].Text, "expired on 2026-01-04") {
					t.Errorf("the expired certificate's step says %q", verify[0].Text)
				}
			})
		}
	}
}
