package mta

import (
	"errors"
	"fmt"
	"time"

	"smtplab/engine/client"
	"smtplab/engine/dns"
	"smtplab/engine/trace"
)

// DANE for SMTP (RFC 7672). Opportunistic TLS cannot stop a man in the
// middle who deletes STARTTLS from the EHLO reply: the sender sees a server
// that cannot encrypt and sends in clear. A domain that signs its zone with
// DNSSEC can say, in TLSA records at _25._tcp.<MX host>, that its server
// speaks TLS and which key or trust anchor it uses. A relay whose outbound
// policy is TLSDANE looks those records up before it connects to an MX
// host and, when a validating resolver vouches for them (the AD bit, which
// the lab's DNS gives to the domains a scenario signs, see dns.Zone.Sign),
// never sends that host anything in clear: no STARTTLS, a failed handshake
// or a certificate that matches no record all mean "not this host, not
// now", and the message waits in the queue. Without signed records nothing
// changes: TLS stays opportunistic.

// tlsaName is where the TLSA records of host's SMTP service are: port 25,
// TCP (RFC 6698 §3). The lab looks them up under the MX host's name, the
// TLSA base domain of RFC 7672 §2.2.3, and does not try the name a CNAME
// at the host would lead to.
func tlsaName(host string) string { return "_25._tcp." + dns.Normalize(host) }

// hopTLS is how one delivery uses TLS: when the client starts it, how it
// checks the server's certificate, and whether DANE is why.
type hopTLS struct {
	mode  client.TLSPolicy
	check CertCheck
	dane  bool // signed TLSA records made TLS mandatory (RFC 7672 §2.2)
}

// outboundTLS is the host's configured policy, for hops DANE does not
// apply to. A DANE relay is opportunistic there, as Postfix's "dane"
// security level is.
func (h *Host) outboundTLS() hopTLS {
	switch h.cfg.OutboundTLS {
	case TLSNone:
		return hopTLS{mode: client.TLSNone}
	case TLSVerify:
		return hopTLS{mode: client.TLSOpportunistic, check: CertCheck{Verify: true}}
	case TLSRequired:
		return hopTLS{mode: client.TLSRequired, check: CertCheck{Verify: true}}
	}
	return hopTLS{mode: client.TLSOpportunistic}
}

// usesDANE reports whether a delivery to p looks for TLSA records first:
// the host's policy asks for DANE and p is an MX host found in DNS. A
// relayhost or an address literal has no MX host name to look up.
func (h *Host) usesDANE(p hop) bool { return h.cfg.OutboundTLS == TLSDANE && p.mx }

// lookupTLSA asks DNS for the TLSA records of p's host, traces the answer
// and what it means for the delivery, and calls next with the TLS to use,
// or with an error when the host must not be used now.
func (h *Host) lookupTLSA(q *queued, p hop, next func(hopTLS, error)) {
	n := h.net
	name := tlsaName(p.host)
	ans, err := n.Resolver.Lookup(h.dns, name, dns.TLSA)
	n.Net.After(ans.Cost+time.Millisecond, func() {
		tls, why, err := daneVerdict(p.host, ans, err, n.Resolver.Signed(name), h.outboundTLS())
		n.emit(&trace.Event{Kind: trace.Note, Host: h.cfg.Name, Msg: q.id, Text: why})
		next(tls, err)
	})
}

// daneVerdict decides what an MX host's TLSA lookup asks of a delivery to
// it, following RFC 7672 §2.2, and says why in plain words. base is the
// TLS to use when DANE does not apply; signed reports whether the TLSA
// name lies in a signed zone.
//
//   - No records, or records without the AD bit: DANE does not apply.
//     Unsigned records must be ignored (§2.2): whoever can forge them could
//     as well have deleted them, so they prove nothing.
//   - Signed records of the usages SMTP uses, DANE-TA(2) and DANE-EE(3):
//     TLS is mandatory and the certificate must match one of them.
//   - Signed records, none of them usable (PKIX-TA(0) and PKIX-EE(1) are
//     not used for SMTP, §3.1.3): TLS is still mandatory, since the domain
//     said its server has it, but nothing can authenticate the server.
//   - A lookup that fails in a signed zone: the records may exist, so the
//     host is not used until the lookup works (§2.1.1); err says so.
func daneVerdict(host string, ans dns.Answer, err error, signed bool, base hopTLS) (hopTLS, string, error) {
	name := tlsaName(host)
	switch {
	case errors.Is(err, dns.ErrNXDomain) || err == nil && len(ans.Records) == 0:
		return base, fmt.Sprintf("DANE does not apply to %s: no TLSA records at %s, so TLS stays opportunistic", host, name), nil
	case err != nil && signed:
		return hopTLS{}, fmt.Sprintf("DANE: the TLSA lookup for %s failed (%v) in a DNSSEC-signed zone, so the relay cannot tell whether %s must be reached over TLS; it does not use it now (RFC 7672 §2.1.1)", name, err, host),
			fmt.Errorf("TLSA lookup error for %s:25: %w", host, err)
	case err != nil:
		return base, fmt.Sprintf("DANE does not apply to %s: the TLSA lookup failed (%v), but its zone is not signed, so no record could count anyway; TLS stays opportunistic", host, err), nil
	case !ans.Secure:
		return base, fmt.Sprintf("DANE does not apply to %s: it publishes TLSA records, but its zone is not DNSSEC-signed (no AD bit), so they are ignored (RFC 7672 §2.2): whoever could forge them could as well delete them; TLS stays opportunistic", host), nil
	}
	var usable []dns.Record
	for _, r := range ans.Records {
		if r.Type == dns.TLSA && (r.Usage == 2 || r.Usage == 3) && r.Selector <= 1 && r.Matching <= 2 {
			usable = append(usable, r)
		}
	}
	if len(usable) == 0 {
		return hopTLS{mode: client.TLSRequired, dane: true},
			fmt.Sprintf("DANE applies to %s: its TLSA records are DNSSEC-signed, so TLS is mandatory, but none has a usage SMTP uses (2 or 3, RFC 7672 §3.1.3) with a defined selector and matching type (RFC 6698 §2.1), so the certificate cannot be authenticated (RFC 7672 §2.2)", host), nil
	}
	return hopTLS{mode: client.TLSRequired, check: CertCheck{Verify: true, TLSA: usable}, dane: true},
		fmt.Sprintf("DANE applies to %s: its TLSA records are DNSSEC-signed (AD bit), so the relay must use TLS, the certificate must match one of %d record(s), and nothing goes in clear (RFC 7672 §2.2)", host, len(usable)), nil
}

// daneRefusal is the note for a session DANE stopped from sending in
// clear: the recipients' error is TLS missing, refused or failed, on a hop
// where signed TLSA records made it mandatory. It returns "" otherwise.
func daneRefusal(t hopTLS, target hop, out client.Outcome) string {
	if !t.dane {
		return ""
	}
	for _, res := range out.Recipients {
		var what string
		switch {
		case errors.Is(res.Err, &client.Error{Reason: client.ReasonTLSUnavailable}):
			what = "did not offer STARTTLS (perhaps someone on the way removed it)"
		case errors.Is(res.Err, &client.Error{Reason: client.ReasonTLSRefused}):
			what = "refused STARTTLS"
		case errors.Is(res.Err, &client.Error{Reason: client.ReasonTLSFailed}):
			what = "failed the TLS handshake"
		default:
			continue
		}
		return fmt.Sprintf("DANE: %s %s, but its signed TLSA records say it has TLS, so the relay sends it nothing in clear (RFC 7672 §2.2)", target, what)
	}
	return ""
}
