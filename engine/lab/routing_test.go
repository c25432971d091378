package lab

import (
	"strings"
	"testing"
	"time"

	"smtplab/engine/trace"
)

// mxRoutingWith is the mx-routing world with its zone edited by replacing
// old with new.
func mxRoutingWith(t *testing.T, old, new string) *World {
	t.Helper()
	sc, err := LoadScenario("mx-routing")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(sc.Zone, old) {
		t.Fatalf("the mx-routing zone has no %q", old)
	}
	sc.Zone = strings.Replace(sc.Zone, old, new, 1)
	w, err := build(sc, 1)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// TestRelayConnectsToTheAddressesDNSGives: the relay connects where the MX
// target's A record points, not to whatever host has the target's name, so
// a wrong A record sends the mail to the wrong host, as it would.
func TestRelayConnectsToTheAddressesDNSGives(t *testing.T) {
	w := mxRoutingWith(t, "mx1.example.org.    A  198.51.100.25", "mx1.example.org.    A  203.0.113.80")
	session(t, w, "alice@example.com", "bob@example.org")
	advance(t, w, time.Minute)
	for _, e := range w.Trace() {
		if e.Kind == trace.ConnOpen && e.Host == "smtp.example.com" {
			if e.Peer != "example.net" || e.Text != "203.0.113.80:25" {
				t.Errorf("DNS says mx1.example.org is 203.0.113.80 (example.net); the relay connected to %s (%s)", e.Peer, e.Text)
			}
			return
		}
	}
	t.Fatal("the relay opened no connection")
}

// TestMXTargetAliasIsFollowedAndNoted: an MX target that is a CNAME is
// followed, as common MTAs do, and the trace says that RFC 2181 §10.3
// forbids it.
func TestMXTargetAliasIsFollowedAndNoted(t *testing.T) {
	w := mxRoutingWith(t, "example.org.        MX 10 mx1.example.org.",
		"example.org.        MX 10 mail.example.org.\nmail.example.org. CNAME mx1.example.org.")
	session(t, w, "alice@example.com", "bob@example.org")
	advance(t, w, time.Minute)
	if len(mailbox(w, "mx1.example.org", "bob@example.org")) != 1 {
		t.Fatalf("not delivered through the alias:\n%s", dumpEvents(w.Trace()))
	}
	if !traceSays(w, "RFC 2181") {
		t.Error("nothing in the trace says that the MX target is a CNAME, which RFC 2181 §10.3 forbids")
	}
}

// TestImplicitMXIsNoted: a domain without MX records gets its mail at its
// own address, and the trace says why.
func TestImplicitMXIsNoted(t *testing.T) {
	w := newWorld(t, "mx-routing")
	session(t, w, "alice@example.com", "dave@example.net")
	advance(t, w, time.Minute)
	if !traceSays(w, "implicit MX") {
		t.Errorf("no note about the implicit MX of example.net:\n%s", dumpEvents(w.Trace()))
	}
}

// TestAddressLiteralSkipsDNS: mail for bob@[198.51.100.25] goes straight to
// that address (RFC 5321 §5.1); there is no name to look up. (What that
// server makes of the literal is its own business: mx1 refuses to relay.)
func TestAddressLiteralSkipsDNS(t *testing.T) {
	w := newWorld(t, "mx-routing")
	session(t, w, "alice@example.com", "bob@[198.51.100.25]")
	advance(t, w, time.Minute)
	for _, e := range w.Trace() {
		if e.Kind == trace.DNSQuery && strings.HasPrefix(e.Name, "[") {
			t.Errorf("DNS query for an address literal: %s %s", e.Name, e.RType)
		}
	}
	if traceSays(w, "Host or domain name not found") {
		t.Errorf("the literal was taken for a name:\n%s", dumpEvents(w.Trace()))
	}
	opened := false
	for _, e := range w.Trace() {
		opened = opened || (e.Kind == trace.ConnOpen && e.Host == "smtp.example.com" && e.Text == "198.51.100.25:25")
	}
	if !opened || !traceSays(w, "address literal") {
		t.Errorf("the relay did not go straight to 198.51.100.25 with a note saying why:\n%s", dumpEvents(w.Trace()))
	}
}

// traceSays reports whether some event's text contains s.
func traceSays(w *World, s string) bool {
	for _, e := range w.Trace() {
		if strings.Contains(e.Text, s) {
			return true
		}
	}
	return false
}
