package mta

import (
	"encoding/base64"
	"strings"
	"testing"

	"smtplab/engine/server"
	"smtplab/engine/smtp"
)

// TestPlainAuthorizationIdentity: AUTH PLAIN carries whom the client
// wants to act as before the user name and password. RFC 4616 §2 has the
// server fail the exchange unless the user may act as that identity, and
// a user of the lab may act only as himself: alice's own password does
// not let her act as bob. An empty identity, or alice's own name, logs
// her in.
func TestPlainAuthorizationIdentity(t *testing.T) {
	n := testNet(t, nil, nil)
	relay, _ := n.Host("smtp.example.com")
	for _, c := range []struct {
		identity, password, want string
	}{
		{"", "wonderland", "235 2.7.0 Authentication successful"},
		{"alice@example.com", "wonderland", "235 2.7.0 Authentication successful"},
		{"Alice@Example.COM", "wonderland", "235 2.7.0 Authentication successful"},
		{"bob@example.org", "wonderland", "535 5.7.8 Authentication failed: alice@example.com may not act as bob@example.org (the authorization identity, RFC 4616 section 2)"},
		{"bob@example.org\r\n250 injected", "wonderland", "535 5.7.8 Authentication failed: alice@example.com may not act as that identity (the authorization identity, RFC 4616 section 2)"},
		{"bob@example.org", "wrong", "535 5.7.8 Authentication credentials invalid"},
	} {
		// Port 465 is encrypted from the start, as AUTH needs.
		sess := relay.ExternalSession(465, "192.0.2.10:40000", true)
		sess.Feed([]byte("EHLO laptop.example.com\r\n"))
		plain := base64.StdEncoding.EncodeToString([]byte(c.identity + "\x00alice@example.com\x00" + c.password))
		sess.Feed([]byte("AUTH PLAIN " + plain + "\r\n"))
		got := strings.TrimSuffix(string(sess.Output()), "\r\n")
		if got != c.want {
			t.Errorf("AUTH PLAIN with identity %q and password %q: got %q, want %q", c.identity, c.password, got, c.want)
		}
		if strings.HasPrefix(c.want, "535") && sess.Conn().AuthUser != "" {
			t.Errorf("identity %q: the session acts as %q after a 535", c.identity, sess.Conn().AuthUser)
		}
	}
}

// TestAuthorizationRefusalIsExplainedAsSuch: the 535 for an identity the
// user may not act as has its own reason, whose explanation says so,
// rather than the wrong-password one.
func TestAuthorizationRefusalIsExplainedAsSuch(t *testing.T) {
	n := testNet(t, nil, nil)
	relay, _ := n.Host("smtp.example.com")
	p := policy{h: relay}
	for _, c := range []struct {
		identity, password string
		want               smtp.Reason
	}{
		{"bob@example.org", "wonderland", smtp.ReasonAuthzDenied},
		{"", "wrong", ""}, // the server fills in its own 535, auth-failed
	} {
		r := p.Authenticate(&server.ConnState{}, server.Credentials{Mechanism: "PLAIN", Identity: c.identity, Username: "alice@example.com", Password: c.password})
		if r.Reason != c.want {
			t.Errorf("identity %q, password %q: reason %q, want %q", c.identity, c.password, r.Reason, c.want)
		}
	}
}
