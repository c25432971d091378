package mta

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"smtplab/engine/client"
	"smtplab/engine/dns"
	"smtplab/engine/labtls"
	"smtplab/engine/simnet"
	"smtplab/engine/trace"
)

// labHandshaker runs real labtls handshakes for these tests, every host
// with a good certificate from one CA, the way engine/lab's does: the
// flights go on the wire, the steps into the trace.
type labHandshaker struct {
	net *simnet.World
	ca  *labtls.Authority
}

func (h *labHandshaker) CanServe(string) bool { return true }

func (h *labHandshaker) Handshake(client, server *simnet.Conn, serverHost string, check CertCheck) (bool, error) {
	cert, err := h.ca.Issue(serverHost, labtls.Good)
	if err != nil {
		return false, err
	}
	var tlsa []labtls.TLSA
	for _, r := range check.TLSA {
		t, err := labtls.ParseTLSA(r.Usage, r.Selector, r.Matching, r.Cert)
		if err != nil {
			return false, err
		}
		tlsa = append(tlsa, t)
	}
	now := labtls.Clock(h.net.Start(), h.net.Now)
	res, err := labtls.Handshake(
		&labtls.Client{ServerName: serverHost, Roots: h.ca.Pool(), Verify: check.Verify, TLSA: tlsa, Now: now, Rand: labtls.NewRand(1)},
		&labtls.Server{Certificate: cert, Now: now, Rand: labtls.NewRand(2)})
	for _, e := range res.Events(client.ID(), client.Local().Name(), server.Local().Name()) {
		h.net.Emit(e)
	}
	for _, f := range res.Flights {
		from := client
		if f.From == labtls.SideServer {
			from = server
		}
		_ = from.WriteRaw(f.Bytes)
	}
	if err != nil {
		return false, err
	}
	if err := client.Upgrade(res.Client); err != nil {
		return false, err
	}
	return res.Facts.Verify.Check == labtls.CheckOK, server.Upgrade(res.Server)
}

// daneZone is example.org with two MX hosts, each with a TLSA record.
func daneZone(mx1TLSA, mx2TLSA string) string {
	return fmt.Sprintf(`smtp.example.com. A 192.0.2.25
laptop.example.com. A 192.0.2.10
example.org. MX 10 mx1.example.org.
example.org. MX 20 mx2.example.org.
mx1.example.org. A 198.51.100.25
mx2.example.org. A 198.51.100.26
_25._tcp.mx1.example.org. TLSA %s
_25._tcp.mx2.example.org. TLSA %s
`, mx1TLSA, mx2TLSA)
}

// hostTLSA is the 3 1 1 record of host's key, as zone text.
func hostTLSA(t *testing.T, host string) string {
	t.Helper()
	r, err := labtls.HostTLSA(host)
	if err != nil {
		t.Fatal(err)
	}
	return r.String()
}

// daneNet is laptop → smtp.example.com, a relay with the "dane" policy →
// mx1 and mx2.example.org, real TLS everywhere; signed lists the domains
// signed with DNSSEC.
func daneNet(t *testing.T, zone string, signed ...string) *Network {
	t.Helper()
	z, err := dns.ParseZone(zone)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range signed {
		if err := z.Sign(d); err != nil {
			t.Fatal(err)
		}
	}
	sim := simnet.New(1)
	n := NewNetwork(sim, dns.NewResolver(z))
	ca, err := labtls.NewAuthority(sim.Start())
	if err != nil {
		t.Fatal(err)
	}
	n.TLS = &labHandshaker{net: sim, ca: ca}
	for _, c := range []HostConfig{
		{Name: "laptop.example.com", Addrs: []string{"192.0.2.10"}},
		{Name: "smtp.example.com", Addrs: []string{"192.0.2.25"}, Ports: []int{25}, Domains: []string{"example.com"},
			RelayFrom: []string{"192.0.2.0/24"}, OutboundTLS: TLSDANE},
		{Name: "mx1.example.org", Addrs: []string{"198.51.100.25"}, Ports: []int{25}, Domains: []string{"example.org"}, Users: []string{"bob@example.org"}},
		{Name: "mx2.example.org", Addrs: []string{"198.51.100.26"}, Ports: []int{25}, Domains: []string{"example.org"}, Users: []string{"bob@example.org"}},
	} {
		if _, err := n.AddHost(c); err != nil {
			t.Fatal(err)
		}
	}
	return n
}

// received returns the Received headers of bob's messages on host, one
// string per message.
func received(n *Network, host string) []string {
	h, _ := n.Host(host)
	var out []string
	for _, m := range h.Mailboxes.Messages("bob@example.org") {
		out = append(out, string(m.Raw[:strings.Index(string(m.Raw), "\r\n\r\n")]))
	}
	return out
}

// relayCommands counts the SMTP commands the relay sent to host with verb.
func relayCommands(log *trace.Log, host, verb string) int {
	count := 0
	for _, e := range kinds(log, trace.Command) {
		if e.Host == "smtp.example.com" && e.Peer == host && e.Verb == verb {
			count++
		}
	}
	return count
}

func notes(log *trace.Log, text string) int {
	count := 0
	for _, e := range kinds(log, trace.Note) {
		if strings.Contains(e.Text, text) {
			count++
		}
	}
	return count
}

// TestDANEMatch: the TLSA records of mx1 are signed and match its key, so
// the relay delivers over TLS, the certificate authenticated by the record
// and not by the CA, and the trace says why DANE applied.
func TestDANEMatch(t *testing.T) {
	n := daneNet(t, daneZone(hostTLSA(t, "mx1.example.org"), hostTLSA(t, "mx2.example.org")), "example.org")
	submit(t, n, "bob@example.org")
	n.Net.Advance(time.Minute)
	got := received(n, "mx1.example.org")
	if len(got) != 1 || !strings.Contains(got[0], "with ESMTPS") {
		t.Fatalf("bob's message at mx1: %q; trace:\n%s", got, dump(n.Net.Log()))
	}
	var query, secure, verified bool
	for _, e := range n.Net.Log().All() {
		switch {
		case e.Kind == trace.DNSQuery && e.Name == "_25._tcp.mx1.example.org" && e.RType == "TLSA":
			query = true
		case e.Kind == trace.DNSAnswer && e.Name == "_25._tcp.mx1.example.org":
			secure = e.Attrs[dns.AttrDNSSEC] == dns.DNSSECSecure
		case e.Kind == trace.TLSStep && e.Step == labtls.StepVerify:
			verified = e.Attrs["verify"] == "ok" && strings.HasPrefix(e.Attrs["tlsa"], "3 1 1 ") && strings.Contains(e.Text, "DANE-EE")
		}
	}
	if !query || !secure || !verified || notes(n.Net.Log(), "DANE applies to mx1.example.org") != 1 {
		t.Fatalf("TLSA query %v, secure answer %v, verified by DANE %v; trace:\n%s", query, secure, verified, dump(n.Net.Log()))
	}
}

// TestDANEMismatch: a signed record that matches neither MX host's key
// ends each handshake with a bad_certificate alert; the relay sends no
// command about the message, tries the next MX at once, then keeps the
// message with 4.7.5 for a later attempt.
func TestDANEMismatch(t *testing.T) {
	wrong := hostTLSA(t, "mx.example.net") // another key's
	n := daneNet(t, daneZone(wrong, wrong), "example.org")
	submit(t, n, "bob@example.org")
	n.Net.Advance(time.Minute)
	if got := len(received(n, "mx1.example.org")) + len(received(n, "mx2.example.org")); got != 0 {
		t.Fatalf("%d messages delivered over a certificate no TLSA record matches", got)
	}
	mismatches := 0
	for _, e := range kinds(n.Net.Log(), trace.TLSStep) {
		if e.Step == labtls.StepFailed && e.Attrs["check"] == "tlsa-mismatch" {
			mismatches++
		}
	}
	if mismatches != 2 || relayCommands(n.Net.Log(), "mx1.example.org", "MAIL")+relayCommands(n.Net.Log(), "mx2.example.org", "MAIL") != 0 {
		t.Fatalf("%d failed handshakes, want 2 and no MAIL; trace:\n%s", mismatches, dump(n.Net.Log()))
	}
	retries := kinds(n.Net.Log(), trace.QueueRetry)
	if len(retries) != 1 || !strings.Contains(retries[0].Text, "the certificate of mx2.example.org matches none of its TLSA records") || notes(n.Net.Log(), "DANE: mx2.example.org[198.51.100.26] failed the TLS handshake") != 1 {
		t.Fatalf("want one retry after the mismatch; trace:\n%s", dump(n.Net.Log()))
	}
	relay, _ := n.Host("smtp.example.com")
	q := relay.queue.msgs[0]
	if r := q.rcpts[0]; r.enh != "4.7.5" {
		t.Fatalf("the deferred recipient has status %s, want 4.7.5 (%s)", r.enh, r.reply)
	}
}

// TestDANEStripped: a man in the middle hides STARTTLS from mx1. With its
// signed TLSA records the relay sends it nothing in clear and goes on to
// mx2 at once; with both stripped the message waits, and once the man in
// the middle is gone it leaves over authenticated TLS.
func TestDANEStripped(t *testing.T) {
	zone := daneZone(hostTLSA(t, "mx1.example.org"), hostTLSA(t, "mx2.example.org"))
	n := daneNet(t, zone, "example.org")
	n.StripSTARTTLS("smtp.example.com", "mx1.example.org", true)
	submit(t, n, "bob@example.org")
	n.Net.Advance(time.Minute)
	if got := received(n, "mx2.example.org"); len(got) != 1 || !strings.Contains(got[0], "with ESMTPS") || relayCommands(n.Net.Log(), "mx1.example.org", "MAIL") != 0 {
		t.Fatalf("mx2 has %q; MAIL to mx1: %d; trace:\n%s", got, relayCommands(n.Net.Log(), "mx1.example.org", "MAIL"), dump(n.Net.Log()))
	}
	if notes(n.Net.Log(), "DANE: mx1.example.org[198.51.100.25] did not offer STARTTLS") != 1 || notes(n.Net.Log(), "so the next MX is tried at once: mx2.example.org") != 1 {
		t.Fatalf("the trace does not say why mx1 was left; trace:\n%s", dump(n.Net.Log()))
	}

	n = daneNet(t, zone, "example.org")
	n.StripSTARTTLS("smtp.example.com", "mx1.example.org", true)
	n.StripSTARTTLS("smtp.example.com", "mx2.example.org", true)
	submit(t, n, "bob@example.org")
	n.Net.Advance(time.Minute)
	if len(received(n, "mx1.example.org"))+len(received(n, "mx2.example.org")) != 0 || len(kinds(n.Net.Log(), trace.QueueRetry)) != 1 {
		t.Fatalf("with STARTTLS stripped everywhere the message did not wait; trace:\n%s", dump(n.Net.Log()))
	}
	relay, _ := n.Host("smtp.example.com")
	if r := relay.queue.msgs[0].rcpts[0]; r.enh != "4.7.4" {
		t.Fatalf("the deferred recipient has status %s, want 4.7.4 (%s)", r.enh, r.reply)
	}
	n.StripSTARTTLS("smtp.example.com", "mx1.example.org", false)
	n.StripSTARTTLS("smtp.example.com", "mx2.example.org", false)
	n.Net.Advance(10 * time.Minute)
	if got := received(n, "mx1.example.org"); len(got) != 1 || !strings.Contains(got[0], "with ESMTPS") {
		t.Fatalf("not delivered over TLS once the man in the middle left: %q; trace:\n%s", got, dump(n.Net.Log()))
	}
}

// TestDANEIgnoresUnsignedTLSA: the same records in a zone that is not
// signed prove nothing (RFC 7672 §2.2), even one that does not match: the
// relay stays opportunistic, so a stripped STARTTLS means plain text, and
// the trace says the records were ignored and why.
func TestDANEIgnoresUnsignedTLSA(t *testing.T) {
	n := daneNet(t, daneZone("3 1 1 "+strings.Repeat("00", 32), hostTLSA(t, "mx2.example.org")))
	n.StripSTARTTLS("smtp.example.com", "mx1.example.org", true)
	submit(t, n, "bob@example.org")
	n.Net.Advance(time.Minute)
	got := received(n, "mx1.example.org")
	if len(got) != 1 || strings.Contains(got[0], "ESMTPS") || !strings.Contains(got[0], "with ESMTP") {
		t.Fatalf("want bob's message at mx1 in plain text: %q; trace:\n%s", got, dump(n.Net.Log()))
	}
	if notes(n.Net.Log(), "DANE does not apply to mx1.example.org: it publishes TLSA records, but its zone is not DNSSEC-signed") != 1 {
		t.Fatalf("the trace does not say the unsigned records were ignored; trace:\n%s", dump(n.Net.Log()))
	}
	for _, e := range kinds(n.Net.Log(), trace.DNSAnswer) {
		if e.Attrs[dns.AttrDNSSEC] != "" {
			t.Fatalf("an answer from an unsigned zone carries dnssec=%s", e.Attrs[dns.AttrDNSSEC])
		}
	}
}

// TestDANEVerdicts covers the rest of RFC 7672 §2.2 through daneVerdict:
// no records, records of usages SMTP does not use (TLS still mandatory,
// nothing to authenticate with), a lookup that fails in a signed zone (the
// host is not used) and one that fails in an unsigned zone (ignored).
func TestDANEVerdicts(t *testing.T) {
	base := hopTLS{mode: client.TLSOpportunistic}
	pkix := dns.Record{Name: "_25._tcp.mx.example.org", Type: dns.TLSA, Usage: 1, Selector: 1, Matching: 1, Cert: strings.Repeat("ab", 32)}
	ee := pkix
	ee.Usage = 3
	badMatch, badSel := ee, ee
	badMatch.Matching, badSel.Selector = 3, 2
	servfail := &dns.Error{Name: "_25._tcp.mx.example.org", Type: dns.TLSA, Err: dns.ErrServFail}
	nxdomain := &dns.Error{Name: "_25._tcp.mx.example.org", Type: dns.TLSA, Err: dns.ErrNXDomain}
	tests := []struct {
		name   string
		ans    dns.Answer
		err    error
		signed bool
		want   hopTLS
		fails  bool
		note   string
	}{
		{"none, signed", dns.Answer{Secure: true}, nil, true, base, false, "no TLSA records at _25._tcp.mx.example.org"},
		{"NXDOMAIN", dns.Answer{}, nxdomain, true, base, false, "no TLSA records"},
		{"PKIX only", dns.Answer{Secure: true, Records: []dns.Record{pkix}}, nil, true, hopTLS{mode: client.TLSRequired, dane: true}, false, "none has a usage SMTP uses"},
		{"DANE-EE among PKIX", dns.Answer{Secure: true, Records: []dns.Record{pkix, ee}}, nil, true,
			hopTLS{mode: client.TLSRequired, check: CertCheck{Verify: true, TLSA: []dns.Record{ee}}, dane: true}, false, "must match one of 1 record(s)"},
		{"unsigned", dns.Answer{Records: []dns.Record{ee}}, nil, false, base, false, "ignored (RFC 7672 §2.2)"},
		// A record with a selector or matching type not defined (RFC 6698
		// §2.1.2, §2.1.3) is unusable like a PKIX one (RFC 7672 §2.2).
		{"DANE-EE with undefined matching type and selector", dns.Answer{Secure: true, Records: []dns.Record{badMatch, badSel}}, nil, true,
			hopTLS{mode: client.TLSRequired, dane: true}, false, "none has a usage SMTP uses"},
		{"SERVFAIL, signed", dns.Answer{}, servfail, true, hopTLS{}, true, "it does not use it now (RFC 7672 §2.1.1)"},
		{"SERVFAIL, unsigned", dns.Answer{}, servfail, false, base, false, "its zone is not signed"},
	}
	for _, tt := range tests {
		got, note, err := daneVerdict("mx.example.org", tt.ans, tt.err, tt.signed, base)
		if fmt.Sprint(got) != fmt.Sprint(tt.want) || (err != nil) != tt.fails || !strings.Contains(note, tt.note) {
			t.Errorf("%s: %+v, %q, %v; want %+v, failing %v, a note with %q", tt.name, got, note, err, tt.want, tt.fails, tt.note)
		}
	}
}
