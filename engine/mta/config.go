package mta

import (
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// Duration is a time.Duration written as "5m" or "2h30m" in scenario files.
type Duration time.Duration

// UnmarshalText reads a duration such as "90s".
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("duration %q: %w", b, err)
	}
	*d = Duration(v)
	return nil
}

// MarshalText writes the duration back as text.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// TLS certificate variants a host can present (see package labtls).
const (
	CertGood       = "good"
	CertExpired    = "expired"
	CertWrongName  = "wrong-name"
	CertSelfSigned = "self-signed"
	CertNone       = "none" // no STARTTLS offered at all
)

// Outbound TLS policies of a sending host (the client side).
const (
	TLSNone          = "none"          // never STARTTLS
	TLSOpportunistic = "opportunistic" // STARTTLS when offered, any certificate (what most MTAs do on port 25)
	TLSVerify        = "verify"        // STARTTLS when offered, certificate must verify, else defer
	TLSRequired      = "required"      // STARTTLS must be offered and the certificate verify, else defer
	// TLSDANE applies DANE (RFC 7672) where an MX host publishes
	// DNSSEC-signed TLSA records: TLS is then mandatory and the certificate
	// must match them. Elsewhere it is TLSOpportunistic. Postfix calls it
	// smtp_tls_security_level = dane.
	TLSDANE = "dane"
)

// HostConfig is one mail host of a scenario: which ports it listens on, which
// domains and users it serves, and which policies it applies. Scenarios are
// data, so every field has a JSON name.
type HostConfig struct {
	Name  string   `json:"name"`
	Addrs []string `json:"addrs"`
	// Ports the host's SMTP server listens on: 25 (MX and relay), 587
	// (submission: STARTTLS then AUTH before MAIL), 465 (implicit TLS).
	// A host with no ports is a plain client machine.
	Ports []int `json:"ports,omitempty"`
	// Domains this host is the final destination for.
	Domains []string `json:"domains,omitempty"`
	// Users are the mailboxes that exist here.
	Users []string `json:"users,omitempty"`
	// Passwords for AUTH, by user name.
	Passwords map[string]string `json:"passwords,omitempty"`
	// RelayFrom lists client addresses or prefixes ("192.0.2.0/24") allowed to
	// relay without authenticating, like Postfix's mynetworks.
	RelayFrom []string `json:"relayFrom,omitempty"`
	// Backup makes this host a backup MX for these domains: it accepts mail
	// for them and forwards it to a better MX.
	Backup []string `json:"backup,omitempty"`
	// Cert is the certificate variant the host presents (CertGood ...).
	Cert string `json:"cert,omitempty"`
	// OutboundTLS is the policy when this host delivers to another
	// (TLSOpportunistic by default).
	OutboundTLS string `json:"outboundTLS,omitempty"`
	// MaxSize is the SIZE limit in bytes (0: the engine default).
	MaxSize int64 `json:"maxSize,omitempty"`
	// MaxRecipients per message (0: the RFC minimum, 100).
	MaxRecipients int `json:"maxRecipients,omitempty"`
	// Greylist, when set, defers each new (client, sender, recipient)
	// triplet with 451 4.7.1 for this long.
	Greylist Duration `json:"greylist,omitempty"`
	// RateLimit, when set, allows at most Max messages (MAIL commands, as
	// Postfix counts them) per client per Window, and optionally a number
	// of connections.
	RateLimit *RateConfig `json:"rateLimit,omitempty"`
	// Quota limits mailboxes to this many messages, by address.
	Quota map[string]int `json:"quota,omitempty"`
	// QuotaBytes limits mailboxes to this many octets of mail, by address:
	// a message that would not fit is refused after its data, 552 5.2.2.
	QuotaBytes map[string]int `json:"quotaBytes,omitempty"`
	// ContentFilter rejects EICAR, GTUBE and X-Spam-Flag: YES with 554 5.7.1.
	ContentFilter bool `json:"contentFilter,omitempty"`
	// CheckSPF makes port 25 check the envelope sender's SPF record (RFC
	// 7208) at MAIL FROM for clients that did not authenticate: fail is
	// refused with 550 5.7.23, a broken record with 550 5.7.24, a DNS
	// failure deferred with 451 4.7.24; other results add Received-SPF.
	CheckSPF bool `json:"checkSPF,omitempty"`
	// CheckDMARC makes a host that checks SPF also check the From: domain's
	// DMARC policy (RFC 7489) at the end of the data: a message that fails
	// it is refused with 550 5.7.1 when the policy is p=reject, and taken
	// but marked as junk (X-Spam-Flag: YES) when it is p=quarantine; every
	// message gets Authentication-Results. Needs CheckSPF.
	CheckDMARC bool `json:"checkDMARC,omitempty"`
	// DKIMSelector makes the host sign the mail its own users send with
	// DKIM (RFC 6376), as OpenDKIM does beside Postfix: mail from an
	// authenticated client or a RelayFrom network whose From: domain is one
	// of Domains. Each domain's key is published in the world's DNS at
	// DKIMSelector._domainkey.<domain>, unless the zone already has a TXT
	// record there (a scenario may publish a wrong or revoked key). Hosts
	// that check DMARC verify these signatures.
	DKIMSelector string `json:"dkimSelector,omitempty"`
	// Retry overrides the retry schedule of this host's queue.
	Retry *RetrySchedule `json:"retry,omitempty"`
	// Relayhost sends all outbound mail through this host instead of MX
	// lookups (a smart host).
	Relayhost string `json:"relayhost,omitempty"`
	// NoDSN makes the host's server not offer DSN (RFC 3461), like an
	// older MTA: a relay that hands it mail for a sender who asked
	// NOTIFY=SUCCESS reports "relayed", since no report will come from
	// further on (RFC 3461 §5.2.2).
	NoDSN bool `json:"noDSN,omitempty"`
}

// RateConfig is a rate limit as scenario data.
type RateConfig struct {
	Max    int      `json:"max"`
	Window Duration `json:"window"`
	// Connections, when set, is how many connections one client may open
	// per Window; past it the greeting is 421 4.7.0 and the connection
	// closes, as Postfix's smtpd_client_connection_rate_limit does.
	Connections int `json:"connections,omitempty"`
}

// Serves reports whether domain is a final destination of this host: one
// of its Domains, or an address literal of one of its own addresses,
// which a host must recognise as itself (RFC 5321 §4.1.3).
func (c *HostConfig) Serves(domain string) bool {
	return containsFold(c.Domains, domain) || c.ownLiteral(domain)
}

// ownLiteral reports whether domain is an address literal, such as
// [198.51.100.25], of one of this host's addresses.
func (c *HostConfig) ownLiteral(domain string) bool {
	lit, ok := addressLiteral(domain)
	if !ok {
		return false
	}
	for _, a := range c.Addrs {
		if p, err := netip.ParseAddr(a); err == nil && p.String() == lit {
			return true
		}
	}
	return false
}

// Mailbox returns the mailbox that addr, a recipient this host serves,
// names here. It is addr itself, except for an address literal of the
// host's own: like a Unix host that delivers user@[its address] to the
// account user, the lab takes local@[address] for local at the first of
// the host's domains that has that user (or that domain's postmaster).
//
// A local part in quotes that it does not need, such as "bob", names the
// same mailbox as bob, and the mailbox is named without them (see
// plainLocal).
func (c *HostConfig) Mailbox(addr string) string {
	local, domain, ok := splitAddress(addr)
	if !ok {
		return addr
	}
	if plain := plainLocal(local); plain != local {
		local, addr = plain, plain+"@"+domain
	}
	if !c.ownLiteral(domain) {
		return addr
	}
	for _, d := range c.Domains {
		if a := local + "@" + d; containsFold(c.Users, a) {
			return a
		}
	}
	if strings.EqualFold(local, "postmaster") && len(c.Domains) > 0 {
		return local + "@" + c.Domains[0]
	}
	return addr
}

// splitAddress splits addr, local@domain, at its last '@': a quoted local
// part may hold one too ("a@b"@example.org).
func splitAddress(addr string) (local, domain string, ok bool) {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return addr, "", false
	}
	return addr[:at], addr[at+1:], true
}

// plainLocal returns the local part local without quotes it does not
// need: a quoted local part whose content is a dot-atom, such as "bob",
// "b\ob" or "bob.smith", is the same as that dot-atom, bob or bob.smith
// (RFC 5321 §4.1.2, RFC 5322 §3.4.1), and Postfix too strips such quotes
// before it looks the address up. A local part the quotes are needed for,
// such as "bob smith", stays as it is, and so does any unquoted one.
func plainLocal(local string) string {
	if len(local) < 2 || local[0] != '"' || local[len(local)-1] != '"' {
		return local
	}
	content := make([]byte, 0, len(local)-2)
	for i := 1; i < len(local)-1; i++ {
		if local[i] == '\\' && i+1 < len(local)-1 {
			i++ // a quoted pair stands for the character after the backslash
		}
		content = append(content, local[i])
	}
	if !dotAtom(content) {
		return local
	}
	return string(content)
}

// dotAtom reports whether s is a dot-atom: atoms of atext joined by single
// dots (RFC 5322 §3.2.3). Octets beyond ASCII count as atext, as they do
// in an address of a message sent with SMTPUTF8 (RFC 6531 §3.3); only a
// server that took the address with SMTPUTF8 lets them in.
func dotAtom(s []byte) bool {
	if len(s) == 0 || s[0] == '.' || s[len(s)-1] == '.' {
		return false
	}
	for i, c := range s {
		switch {
		case c == '.':
			if s[i-1] == '.' {
				return false
			}
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c >= 0x80:
		case strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// BacksUp reports whether this host is a backup MX for domain.
func (c *HostConfig) BacksUp(domain string) bool { return containsFold(c.Backup, domain) }

// HasUser reports whether addr is a mailbox here.
func (c *HostConfig) HasUser(addr string) bool { return c.hasMailbox(c.Mailbox(addr)) }

// hasMailbox is HasUser for addr's mailbox (see Mailbox).
func (c *HostConfig) hasMailbox(addr string) bool {
	if containsFold(c.Users, addr) {
		return true
	}
	// postmaster must exist at every domain (RFC 5321 §4.5.1).
	local, domain, _ := splitAddress(addr)
	return strings.EqualFold(local, "postmaster") && (domain == "" || c.Serves(domain))
}

// Validate reports the first thing wrong with the configuration.
func (c *HostConfig) Validate() error {
	if c.Name == "" || len(c.Addrs) == 0 {
		return fmt.Errorf("host %q: a host needs a name and at least one address", c.Name)
	}
	for _, p := range c.Ports {
		if p != 25 && p != 587 && p != 465 {
			return fmt.Errorf("host %s: port %d is not an SMTP port (25, 587, 465)", c.Name, p)
		}
	}
	switch c.Cert {
	case "", CertGood, CertExpired, CertWrongName, CertSelfSigned, CertNone:
	default:
		return fmt.Errorf("host %s: unknown certificate variant %q", c.Name, c.Cert)
	}
	switch c.OutboundTLS {
	case "", TLSNone, TLSOpportunistic, TLSVerify, TLSRequired, TLSDANE:
	default:
		return fmt.Errorf("host %s: unknown outbound TLS policy %q", c.Name, c.OutboundTLS)
	}
	for _, u := range c.Users {
		_, domain, ok := strings.Cut(u, "@")
		if !ok || !c.Serves(domain) {
			return fmt.Errorf("host %s: user %q is not in one of its domains %v", c.Name, u, c.Domains)
		}
	}
	if r := c.Retry; r != nil && (r.First <= 0 || r.Max < r.First || r.GiveUp <= 0) {
		// Without them the queue would retry back to back, for ever.
		return fmt.Errorf("host %s: a retry schedule needs first > 0, max ≥ first and giveUp > 0", c.Name)
	}
	if c.RateLimit != nil && (c.RateLimit.Max < 1 || c.RateLimit.Window <= 0 || c.RateLimit.Connections < 0) {
		return fmt.Errorf("host %s: a rate limit needs max ≥ 1 and a window", c.Name)
	}
	if c.DKIMSelector != "" && (len(c.Domains) == 0 || !isLabel(c.DKIMSelector)) {
		return fmt.Errorf("host %s: dkimSelector %q needs to be one DNS label, on a host with domains to sign for", c.Name, c.DKIMSelector)
	}
	if c.CheckDMARC && !c.CheckSPF {
		return fmt.Errorf("host %s: checkDMARC needs checkSPF (DMARC builds on the SPF result)", c.Name)
	}
	return nil
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if x == s || strings.EqualFold(x, s) { // mostly written alike: compared at once
			return true
		}
	}
	return false
}

// isLabel reports whether s can be one label of a host name: letters,
// digits and hyphens, 1 to 63 of them (RFC 1035 §2.3.1).
func isLabel(s string) bool {
	if s == "" || len(s) > 63 {
		return false
	}
	for _, r := range s {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}
