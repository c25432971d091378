package mta

import (
	"crypto/ed25519"
	"fmt"
	"slices"
	"strings"
	"time"

	"smtplab/engine/dkim"
	"smtplab/engine/dmarc"
	"smtplab/engine/dns"
	"smtplab/engine/mimepart"
	"smtplab/engine/server"
	"smtplab/engine/smtp"
	"smtplab/engine/spf"
	"smtplab/engine/trace"
)

// checkSPF checks, as a receiving MX does at MAIL FROM, whether the domain
// of the envelope sender allows the client's address to send its mail
// (RFC 7208). A fail or a broken record refuses the sender, a DNS failure
// defers it (the codes of RFC 7372 §3.2); any other result lets the mail
// in with a Received-SPF header field saying what was found (§9.1).
//
// The DNS queries and the verdict are recorded with the session's events,
// so the trace shows them between MAIL and its reply: in the order that
// decided.
func (h *Host) checkSPF(c *server.ConnState, env *server.Envelope) smtp.Reply {
	ip, ok := clientAddr(c)
	if !ok {
		return smtp.Reply{}
	}
	// The null sender of a bounce has no domain: SPF then checks the HELO
	// name, as postmaster@ that name (RFC 7208 §2.4).
	from, domain := env.From.Mailbox.String(), env.From.Mailbox.Domain
	if env.From.Null {
		from, domain = "postmaster@"+c.Hello, c.Hello
	}
	n := h.net
	caller := dns.Caller{Host: h.cfg.Name, Record: func(e trace.Event, _ time.Duration) { c.Record(e) }}
	v := spf.Check(ip, domain, n.Resolver.Records(caller))
	record := ""
	if v.Record != "" {
		record = fmt.Sprintf(" (%q)", v.Record)
	}
	c.Record(trace.Event{Kind: trace.Note, Host: h.cfg.Name,
		Text: fmt.Sprintf("SPF check of %s%s for client %s: %s. %s", domain, record, ip, v.Result, upperFirst(v.Why))})
	switch v.Result {
	case spf.Fail:
		return smtp.Reply{Code: 550, Enhanced: "5.7.23", Reason: smtp.ReasonSPFFail,
			Lines: []string{fmt.Sprintf("<%s>: Sender address rejected: SPF validation failed, %s does not allow %s to send its mail", from, domain, ip)}}
	case spf.PermError:
		return smtp.Reply{Code: 550, Enhanced: "5.7.24", Reason: smtp.ReasonSPFError,
			// What is broken is in the note above: a record's text could
			// make the reply line longer than SMTP allows.
			Lines: []string{fmt.Sprintf("<%s>: Sender address rejected: the SPF record of %s is broken", from, domain)}}
	case spf.TempError:
		return smtp.Reply{Code: 451, Enhanced: "4.7.24", Reason: smtp.ReasonSPFTemp,
			Lines: []string{fmt.Sprintf("<%s>: Sender address rejected: SPF record of %s could not be checked, try again later", from, domain)}}
	}
	// Folded after the comment, to keep the line short (RFC 5322 §2.2.3).
	value := strings.Replace(v.HeaderValue(h.cfg.Name, ip, from), ") client-ip=", ")\r\n\tclient-ip=", 1)
	env.PolicyData = &transaction{spf: v, checked: true, headers: []string{"Received-SPF: " + value},
		results: map[string]string{"spf": string(v.Result)}}
	return smtp.Reply{}
}

// transaction is what the policy notes about one mail transaction between
// MAIL and DATA (server.Envelope.PolicyData).
type transaction struct {
	spf     spf.Verdict // the sender's SPF check, when checked is true
	checked bool
	headers []string // trace header fields to put on top at DATA, without CRLF
	// results is what the checks found, for the trace: the result of each
	// method by its name in Authentication-Results (spf, dkim, dmarc), and
	// the DMARC disposition. The delivery events of the message carry it
	// as their attrs, so it is not changed once the message is accepted.
	results map[string]string
}

// transactionOf returns the policy's notes on env, or nil.
func transactionOf(env *server.Envelope) *transaction {
	tx, _ := env.PolicyData.(*transaction)
	return tx
}

// The field a receiver puts on top of a message it quarantines, for the
// recipient's mail program to file it as junk. RFC 7489 leaves the how to
// the receiver (§6.3: "place into spam folder", "flag as suspicious");
// this is SpamAssassin's field, which mail programs and Sieve filters
// commonly sort on, and which the lab's content filter (Scan) refuses.
const junkField = "X-Spam-Flag: YES"

// checkDMARC verifies the message's DKIM signatures (RFC 6376) and
// evaluates the From: domain's DMARC policy (RFC 7489) for a message whose
// sender was checked with SPF, records the lookups and the verdicts like
// checkSPF, notes the outcomes for the Authentication-Results header
// field (RFC 8601) and the trace, and applies the disposition the domain
// asks for a message that fails: p=reject refuses it; p=quarantine lets it
// in with junkField on top, as real receivers file such mail as spam.
func (h *Host) checkDMARC(c *server.ConnState, tx *transaction, msg []byte) smtp.Reply {
	// Every From: field counts: RFC 5322 allows one, and mail programs
	// differ on which of two they show.
	var froms []string
	hdr, _ := mimepart.Headers(msg)
	for _, value := range hdr["From"] {
		for _, d := range fromDomains(value) {
			if !slices.Contains(froms, d) {
				froms = append(froms, d)
			}
		}
	}
	if len(froms) == 0 {
		c.Record(trace.Event{Kind: trace.Note, Host: h.cfg.Name,
			Text: "DMARC check: the message has no From: address, so there is no domain to check"})
		return smtp.Reply{}
	}
	caller := dns.Caller{Host: h.cfg.Name, Record: func(e trace.Event, _ time.Duration) { c.Record(e) }}
	lookup := h.net.Resolver.Records(caller)
	// DMARC counts DKIM signatures as well as SPF: verify them first.
	ar := "Authentication-Results: " + h.cfg.Name + "; spf=" + string(tx.spf.Result) + " smtp.mailfrom=" + tx.spf.Domain + ";"
	var passed []string
	signatures := dkim.Verify(msg, lookup, h.net.Net.Date())
	for _, r := range signatures {
		c.Record(trace.Event{Kind: trace.Note, Host: h.cfg.Name,
			Text: "DKIM signature by " + r.Domain + " (s=" + r.Selector + "): " + string(r.Status) + ". " + upperFirst(r.Why)})
		ar += "\r\n\tdkim=" + string(r.Status) + " header.d=" + r.Domain + " header.s=" + r.Selector + ";"
		if r.Status == dkim.Pass {
			passed = append(passed, r.Domain)
		}
	}
	if len(signatures) == 0 {
		ar += "\r\n\tdkim=none;"
	}
	tx.results["dkim"] = dkimResult(signatures)
	// Each author's domain is checked, and the strictest disposition among
	// those that fail decides (RFC 7489 §6.6.1): a second address must not
	// carry the first past its domain's policy.
	verdicts := make([]dmarc.Verdict, len(froms))
	chosen := 0
	for i, from := range froms {
		verdicts[i] = dmarc.Evaluate(from, tx.spf, passed, lookup)
		if strictness(verdicts[i]) > strictness(verdicts[chosen]) {
			chosen = i
		}
	}
	v := verdicts[chosen]
	disposition := v.Disposition()
	for i, vi := range verdicts {
		note := "DMARC check of From: " + vi.Domain + ": " + string(vi.Result) + policyComment(vi) + ". " + upperFirst(vi.Why)
		if i == chosen && disposition == dmarc.Quarantine {
			note += ". Quarantined: the message is accepted, with " + junkField + " on top, so that the recipient's mail program files it as junk"
		}
		c.Record(trace.Event{Kind: trace.Note, Host: h.cfg.Name, Text: note})
	}
	policy := policyComment(v)
	tx.results["dmarc"] = string(v.Result)
	tx.results["disposition"] = string(disposition)
	// A failure's comment also says what this receiver did about it, as
	// large receivers write it ("dis="): the policy is a request, and the
	// disposition is the receiver's own decision (RFC 7489 §6.7).
	comment := policy
	if v.Result == dmarc.Fail {
		comment = " (p=" + v.Policy + " dis=" + string(disposition) + ")"
	}
	// On top of Received-SPF: each trace field goes above the older ones.
	ar += "\r\n\tdmarc=" + string(v.Result) + comment + " header.from=" + v.Domain
	tx.headers = append([]string{ar}, tx.headers...)
	switch disposition {
	case dmarc.Reject:
		return smtp.Reply{Code: 550, Enhanced: "5.7.1", Reason: smtp.ReasonDMARCReject,
			Lines: []string{"Message rejected: the DMARC policy of " + v.Domain + " (the From: domain) says to reject mail that fails it"}}
	case dmarc.Quarantine:
		tx.headers = append([]string{junkField}, tx.headers...)
	}
	return smtp.Reply{}
}

// policyComment is " (p=reject)" for a verdict under a policy, else "".
func policyComment(v dmarc.Verdict) string {
	if v.Policy == "" {
		return ""
	}
	return " (p=" + v.Policy + ")"
}

// strictness ranks a verdict for a From: field with several domains: a
// failure over anything else, then by what its policy asks.
func strictness(v dmarc.Verdict) int {
	rank := 0
	switch v.Disposition() {
	case dmarc.Quarantine:
		rank = 1
	case dmarc.Reject:
		rank = 2
	}
	if v.Result == dmarc.Fail {
		rank += 10
	}
	return rank
}

// dkimResult sums up the message's signatures in one result, the way
// DMARC reads them: pass when one of them verified, else the first one's
// result, or none for a message that is not signed.
func dkimResult(signatures []dkim.Result) string {
	if len(signatures) == 0 {
		return "none"
	}
	for _, r := range signatures {
		if r.Status == dkim.Pass {
			return string(dkim.Pass)
		}
	}
	return string(signatures[0].Status)
}

// fromDomains returns the domains of the addresses in a From: field's
// value, each once, in their order: of the address in angle brackets when
// a mailbox has one, else of the bare address. Comments and quoted
// display names are skipped first, so neither "(ceo@bank.example)" nor
// "\"ceo@bank.example\" <eve@evil.example>" lends its domain, and a
// comment after an address ("alice@example.com (Alice)") is not taken for
// part of its domain. A field may name several authors ("a@x, b@y",
// RFC 5322 §3.6.2), and DMARC then checks each (RFC 7489 §6.6.1). The
// lab's messages need no more of RFC 5322's address grammar.
func fromDomains(value string) []string {
	var plain strings.Builder // value without its comments and quoted strings
	depth, quoted := 0, false
	for i := 0; i < len(value); i++ {
		switch b := value[i]; {
		case b == '\\' && (quoted || depth > 0):
			i++ // an escaped character, whatever it is
		case quoted:
			quoted = b != '"'
		case b == '(':
			depth++
		case b == ')' && depth > 0:
			depth--
		case depth > 0:
		case b == '"':
			quoted = true
			plain.WriteByte(' ')
		default:
			plain.WriteByte(b)
		}
	}
	var domains []string
	for mailbox := range strings.FieldsFuncSeq(plain.String(), func(r rune) bool { return r == ',' || r == ';' }) {
		if i := strings.LastIndexByte(mailbox, ':'); i >= 0 && !strings.Contains(mailbox[i:], "<") {
			mailbox = mailbox[i+1:] // after a group's name (RFC 5322 §3.4)
		}
		if i := strings.LastIndexByte(mailbox, '<'); i >= 0 {
			mailbox = mailbox[i+1:]
			if j := strings.IndexByte(mailbox, '>'); j >= 0 {
				mailbox = mailbox[:j]
			}
		}
		at := strings.LastIndexByte(mailbox, '@')
		if at < 0 {
			continue
		}
		if d := strings.ToLower(strings.TrimSpace(mailbox[at+1:])); d != "" && !slices.Contains(domains, d) {
			domains = append(domains, d)
		}
	}
	return domains
}

// upperFirst starts a sentence with a capital letter, unless its first
// word is a name that must keep its case: a host or domain name
// ("laptop.example.com publishes no SPF record"), an address, an IP
// address, a quoted text or a term like redirect=.
func upperFirst(s string) string {
	word, _, _ := strings.Cut(s, " ")
	if word == "" {
		return s
	}
	for _, r := range word {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '\'' || r == '-' || r == ',') {
			return s
		}
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// setUpDKIM makes the host's signers (see HostConfig.DKIMSelector) and
// publishes each one's key, as the domain's administrator would.
func (h *Host) setUpDKIM() error {
	selector := h.cfg.DKIMSelector
	if selector == "" {
		return nil
	}
	if h.net.DKIMKeys == nil {
		return fmt.Errorf("host %s: dkimSelector is set, but this world has no DKIM keys", h.cfg.Name)
	}
	h.signers = map[string]dkim.Signer{}
	zone := h.net.Resolver.Zone()
	for _, domain := range h.cfg.Domains {
		key, err := h.net.DKIMKeys(domain)
		if err != nil {
			return fmt.Errorf("host %s: DKIM key of %s: %w", h.cfg.Name, domain, err)
		}
		h.signers[lower(domain)] = dkim.Signer{Domain: domain, Selector: selector, Key: key}
		name := dkim.KeyName(selector, domain)
		if hasTXT(zone, name) {
			continue // the scenario publishes its own record
		}
		record := dns.Record{Name: name, Type: dns.TXT, Text: dkim.KeyRecord(key.Public().(ed25519.PublicKey))}
		if err := zone.Add(record); err != nil {
			return fmt.Errorf("host %s: publishing the DKIM key of %s: %w", h.cfg.Name, domain, err)
		}
	}
	return nil
}

// sign returns the DKIM-Signature field (without CRLF) this host puts on
// top of msg when it signs for the domain of its From: line and the client
// is one of its own: an authenticated user or a trusted network (see
// HostConfig.DKIMSelector); otherwise "". The signature's note goes in the
// trace beside the DATA reply.
func (h *Host) sign(c *server.ConnState, msg []byte) string {
	if h.signers == nil || (c.AuthUser == "" && !h.relayAllowed(c)) {
		return ""
	}
	froms := fromDomains(headerValue(msg, "From"))
	if len(froms) == 0 {
		return ""
	}
	s, ok := h.signers[froms[0]]
	if !ok {
		return ""
	}
	field, err := s.Sign(msg, h.net.Net.Date())
	if err != nil {
		c.Record(trace.Event{Kind: trace.Note, Host: h.cfg.Name, Text: "DKIM: the message was not signed: " + err.Error()})
		return ""
	}
	c.Record(trace.Event{Kind: trace.Note, Host: h.cfg.Name,
		Text: "DKIM: signed for " + s.Domain + " with the key published at " + dkim.KeyName(s.Selector, s.Domain) + " (ed25519-sha256)"})
	return field
}

// hasTXT reports whether zone has a TXT record called name.
func hasTXT(zone *dns.Zone, name string) bool {
	name = dns.Normalize(name)
	for _, r := range zone.Records() {
		if r.Type == dns.TXT && r.Name == name {
			return true
		}
	}
	return false
}
