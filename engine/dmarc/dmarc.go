// Package dmarc evaluates a domain's DMARC policy (RFC 7489) for a message:
// does an authentication that passed belong to the domain in the message's
// From: line, the address people read?
//
// SPF (package spf) checks the envelope sender, which the reader never
// sees. DMARC asks for "alignment": the SPF-checked domain (or a DKIM
// signing domain) must be the From: domain, or share its organizational
// domain in relaxed mode. A domain publishes what receivers should do with
// messages that fail, at _dmarc.domain:
//
//	_dmarc.example.com.  TXT  "v=DMARC1; p=reject"
//
// A message passes when SPF passed for an aligned domain or a DKIM
// signature (package dkim) by an aligned domain verified. A message that
// fails gets the disposition the policy asks for (Verdict.Disposition):
// none, quarantine (accepted, but treated as suspicious) or reject.
//
// What the lab leaves out: organizational domains are the last two labels
// of a name, as the lab has no public suffix list and its names need none;
// pct= is not read, so a policy applies to every failing message, as with
// pct=100, the default; rua= and ruf= are accepted but no report is sent.
package dmarc

import (
	"errors"
	"strings"

	"smtplab/engine/dns"
	"smtplab/engine/spf"
)

// Result is the outcome of an evaluation (RFC 7489 §11.2).
type Result string

const (
	None      Result = "none"      // the From: domain publishes no policy
	Pass      Result = "pass"      // an aligned authentication passed
	Fail      Result = "fail"      // none did: the policy says what to do
	TempError Result = "temperror" // the policy could not be looked up for now
	PermError Result = "permerror" // the From: domain or its policy is unusable
)

// Verdict is a Result, the policy that decided and why, in one sentence.
type Verdict struct {
	Result Result
	Domain string // the From: domain
	Record string // the DMARC record found, "" when none
	Policy string // p= (or sp= for a subdomain): none, quarantine or reject
	Why    string
}

// Disposition is what a receiver does with a message once DMARC has
// checked it. The values are those of RFC 7489's aggregate reports
// (Appendix C, DispositionType).
type Disposition string

const (
	NoAction   Disposition = "none"       // the message is handled like any other
	Quarantine Disposition = "quarantine" // accepted, but treated as suspicious: the junk folder
	Reject     Disposition = "reject"     // refused during the SMTP transaction
)

// Disposition returns what the domain asks receivers to do with this
// message (RFC 7489 §6.6.4): a message that fails is quarantined or
// rejected when p= (or sp=) says so; any other result asks for nothing.
func (v Verdict) Disposition() Disposition {
	if v.Result != Fail {
		return NoAction
	}
	switch v.Policy {
	case "quarantine":
		return Quarantine
	case "reject":
		return Reject
	}
	return NoAction
}

// Evaluate checks the message whose From: domain is from, given the SPF
// verdict of its envelope sender and the domains whose DKIM signatures on
// it verified, against from's DMARC policy (§6.6).
func Evaluate(from string, sender spf.Verdict, dkimPassed []string, lookup spf.Lookup) Verdict {
	from = strings.TrimSuffix(strings.ToLower(from), ".")
	v := Verdict{Domain: from}
	if from == "" || !strings.Contains(from, ".") {
		v.Result, v.Why = PermError, "the From: line names no domain"
		return v
	}
	record, policy, res, why := find(from, lookup)
	if res != "" {
		v.Result, v.Why = res, why
		return v
	}
	v.Record, v.Policy = record, policy.p
	if from != OrgDomain(from) && policy.sp != "" && policy.fromOrg {
		v.Policy = policy.sp // a subdomain under its organization's record (§6.3)
	}
	v.Result, v.Why = aligned(from, sender, dkimPassed, policy)
	if policy.repaired != "" {
		v.Why += " (the DMARC record: " + policy.repaired + ", RFC 7489 §6.6.3)"
	}
	return v
}

// aligned decides whether an authentication that passed is aligned with
// the From: domain from (§4.2): a DKIM signature first, then SPF.
func aligned(from string, sender spf.Verdict, dkimPassed []string, policy policy) (Result, string) {
	for _, d := range dkimPassed {
		if Aligned(d, from, policy.strictDKIM) {
			return Pass, "a DKIM signature by " + d + " verified, and " + d + " is aligned with From: " + from
		}
	}
	switch {
	case sender.Result == spf.Pass && Aligned(sender.Domain, from, policy.strictSPF):
		return Pass, "SPF passed for " + sender.Domain + ", which is aligned with From: " + from
	case sender.Result == spf.Pass:
		return Fail, "SPF passed for " + sender.Domain + ", but that is not aligned with From: " + from + ", and no verified DKIM signature is"
	}
	return Fail, "SPF did not pass (it was " + string(sender.Result) + ") and no verified DKIM signature is aligned with From: " + from
}

// policy is what a DMARC record asks.
type policy struct {
	p, sp      string
	strictSPF  bool   // aspf=s
	strictDKIM bool   // adkim=s
	fromOrg    bool   // the record is the organizational domain's
	repaired   string // why a broken record counts as p=none, "" for a sound one
}

// find looks up the policy of from, then of its organizational domain
// (§6.6.3). A result other than "" ends the evaluation.
func find(from string, lookup spf.Lookup) (string, policy, Result, string) {
	names := []string{from}
	if org := OrgDomain(from); org != from {
		names = append(names, org)
	}
	for i, name := range names {
		txts, err := lookup("_dmarc."+name, dns.TXT)
		switch {
		case errors.Is(err, dns.ErrNXDomain):
			continue
		case err != nil:
			return "", policy{}, TempError, "looking up _dmarc." + name + " failed for now"
		}
		var records []string
		for _, r := range txts {
			if r.Type == dns.TXT && strings.HasPrefix(r.Text, "v=DMARC1") {
				records = append(records, r.Text)
			}
		}
		switch {
		case len(records) > 1:
			return "", policy{}, PermError, "_dmarc." + name + " has more than one DMARC record"
		case len(records) == 1:
			p, err := parse(records[0])
			if err != nil {
				return "", policy{}, PermError, "the DMARC record of " + name + " is broken: " + err.Error()
			}
			p.fromOrg = i > 0
			return records[0], p, "", ""
		}
	}
	return "", policy{}, None, from + " publishes no DMARC policy"
}

// parse reads the tags of a record (§6.3) that the lab acts on: p, sp,
// aspf and adkim. Other tags are skipped: pct, rua and ruf, which the lab
// does not act on (see the package doc), and unknown ones, as the RFC asks.
// A record whose p= is missing or whose p= or sp= is not valid is an
// error, unless it asks for reports (rua=): it then counts as p=none, so
// that its owner hears about the mail sent in its name (§6.6.3).
func parse(record string) (policy, error) {
	var p policy
	var broken error
	reports := false
	for i, part := range strings.Split(record, ";") {
		tag, value, ok := strings.Cut(strings.TrimSpace(part), "=")
		tag, value = strings.TrimSpace(tag), strings.ToLower(strings.TrimSpace(value))
		switch {
		case i == 0 && (!ok || tag != "v" || value != "dmarc1"):
			return p, errors.New("it must start with v=DMARC1")
		case tag == "p" || tag == "sp":
			if value != "none" && value != "quarantine" && value != "reject" {
				broken = errors.New(tag + "=" + value + " is not none, quarantine or reject")
			} else if tag == "p" {
				p.p = value
			} else {
				p.sp = value
			}
		case tag == "aspf":
			p.strictSPF = value == "s"
		case tag == "adkim":
			p.strictDKIM = value == "s"
		case tag == "rua":
			reports = strings.Contains(value, ":") // a URI, with its scheme
		}
	}
	if broken == nil && p.p == "" {
		broken = errors.New("it has no p= tag")
	}
	switch {
	case broken != nil && reports:
		return policy{p: "none", repaired: broken.Error() + ", but it asks for reports (rua=), so it counts as p=none"}, nil
	case broken != nil:
		return p, broken
	}
	return p, nil
}

// OrgDomain is the organizational domain of name: its last two labels.
func OrgDomain(name string) string {
	labels := strings.Split(strings.TrimSuffix(strings.ToLower(name), "."), ".")
	if len(labels) <= 2 {
		return strings.Join(labels, ".")
	}
	return strings.Join(labels[len(labels)-2:], ".")
}

// Aligned reports whether an authenticated domain is aligned with the
// From: domain: the same name in strict mode, the same organizational
// domain in relaxed mode (§3.1).
func Aligned(authenticated, from string, strict bool) bool {
	a, f := strings.ToLower(authenticated), strings.ToLower(from)
	if a == "" {
		return false
	}
	if strict {
		return a == f
	}
	return OrgDomain(a) == OrgDomain(f)
}
