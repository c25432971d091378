// Package spf evaluates Sender Policy Framework records (RFC 7208): may the
// client at this IP address send mail whose envelope sender (MAIL FROM) is
// in this domain?
//
// A domain publishes a TXT record such as
//
//	example.com.  TXT  "v=spf1 ip4:192.0.2.25 mx -all"
//
// and a receiving server checks the connecting client's address against it,
// term by term, left to right (RFC 7208 §4.6). The first mechanism that
// matches decides, through its qualifier: "+" pass (the default), "-" fail,
// "~" softfail, "?" neutral. No match gives neutral, or what the redirect=
// modifier's domain says.
//
// Like the rest of the engine, Check does no I/O: DNS comes through the
// Lookup it is given, so in the lab the queries land in the trace.
//
// What the lab leaves out: macros (%{i} and friends, RFC 7208 §7) in a
// mechanism or redirect= give a permerror saying so, the deprecated ptr
// mechanism never matches, and exp= explanations are not fetched (so
// macros in them are no error: they never change the result).
package spf

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"smtplab/engine/dns"
)

// Result is the outcome of a check (RFC 7208 §2.6).
type Result string

const (
	None      Result = "none"      // the domain publishes no SPF record
	Neutral   Result = "neutral"   // the domain says nothing about this client
	Pass      Result = "pass"      // the client may send for the domain
	Fail      Result = "fail"      // the client may not
	SoftFail  Result = "softfail"  // probably not, but the domain asks for leniency
	TempError Result = "temperror" // DNS failed for now: try again later
	PermError Result = "permerror" // the domain's record is broken
)

// Lookup answers one DNS query: the records of name of type t. A name
// that does not exist is an error wrapping dns.ErrNXDomain; a failure that
// may pass (SERVFAIL, timeout) wraps dns.ErrServFail or dns.ErrTimeout.
type Lookup func(name string, t dns.Type) ([]dns.Record, error)

// Verdict is a Result with what decided it, in words for a learner and
// for the Received-SPF header field.
type Verdict struct {
	Result Result
	Domain string // the domain checked
	Record string // the SPF record that decided, "" when there was none
	Term   string // the mechanism that matched, "" when none did
	Why    string // one sentence
}

// The limits of RFC 7208 §4.6.4: terms that cause DNS lookups, and lookups
// that come back empty ("void").
const (
	maxLookups     = 10
	maxVoidLookups = 2
	maxMXNames     = 10
)

// Check evaluates domain's SPF policy for a client at ip (RFC 7208 §4).
func Check(ip netip.Addr, domain string, lookup Lookup) Verdict {
	c := &checker{ip: ip.Unmap(), lookup: lookup}
	return c.check(strings.TrimSuffix(strings.ToLower(domain), "."))
}

// checker carries what one Check counts across include and redirect.
type checker struct {
	ip      netip.Addr
	lookup  Lookup
	lookups int
	voids   int
}

// errLimit ends an evaluation that went over a limit of §4.6.4.
var errLimit = errors.New("too many DNS lookups")

// check evaluates domain's record for c.ip: check_host() of RFC 7208 §4.
// include and redirect call it again for their domains.
func (c *checker) check(domain string) Verdict {
	v := Verdict{Domain: domain}
	if domain == "" || !strings.Contains(domain, ".") {
		v.Result, v.Why = None, fmt.Sprintf("%q is not a domain SPF can be checked for", domain)
		return v
	}
	record, res, why := c.record(domain)
	if res != "" {
		v.Result, v.Why = res, why
		return v
	}
	v.Record = record
	terms := strings.Fields(record)[1:]
	redirect, exps := "", 0
	// A syntax error anywhere makes the whole record a permerror before
	// any of it is evaluated (§4.6).
	for _, t := range terms {
		if name, value, ok := modifier(t); ok {
			switch {
			case name == "redirect" && redirect != "":
				return c.perm(v, "the record has two redirect= modifiers")
			case name == "redirect" && strings.Contains(value, "%"):
				return c.perm(v, fmt.Sprintf("%q uses macros (%%{...}), which this lab does not evaluate", t))
			case name == "redirect":
				if err := validDomain(value); err != nil {
					return c.perm(v, fmt.Sprintf("%q: %v", t, err))
				}
				redirect = value
			case name == "exp":
				// Its explanation matters only to a fail's reply, which the
				// lab does not fetch, so its macros are no error here.
				if exps++; exps > 1 {
					return c.perm(v, "the record has two exp= modifiers")
				}
			}
			continue // exp= and unknown modifiers are ignored (§6)
		}
		_, mech := qualifier(t)
		if strings.Contains(mech, "%") {
			return c.perm(v, fmt.Sprintf("%q uses macros (%%{...}), which this lab does not evaluate", t))
		}
		if err := validate(mech, domain); err != nil {
			return c.perm(v, fmt.Sprintf("%q: %v", t, err))
		}
	}
	for _, t := range terms {
		if _, _, ok := modifier(t); ok {
			continue
		}
		q, mech := qualifier(t)
		match, err := c.match(mech, domain)
		switch {
		case errors.Is(err, errLimit):
			return c.perm(v, fmt.Sprintf("evaluating %q needs more than %d DNS lookups", t, maxLookups))
		case err != nil:
			var r *resultError
			if errors.As(err, &r) {
				v.Result, v.Term, v.Why = r.result, t, r.why
				return v
			}
			return c.perm(v, fmt.Sprintf("%q: %v", t, err))
		case match:
			v.Result, v.Term = q, t
			v.Why = fmt.Sprintf("%s matched %s, so the result is %s", c.ip, t, q)
			return v
		}
	}
	if redirect != "" {
		if err := c.count(); err != nil {
			return c.perm(v, fmt.Sprintf("following redirect=%s needs more than %d DNS lookups", redirect, maxLookups))
		}
		r := c.check(strings.ToLower(redirect))
		if r.Result == None {
			r.Result, r.Why = PermError, fmt.Sprintf("redirect=%s names a domain without an SPF record", redirect)
		}
		return r
	}
	v.Result, v.Why = Neutral, fmt.Sprintf("no mechanism of %s's record matched %s", domain, c.ip)
	return v
}

// perm turns v into a permerror for the reason why.
func (c *checker) perm(v Verdict, why string) Verdict {
	v.Result, v.Why = PermError, why
	return v
}

// record finds domain's one SPF record (§4.5). A result other than "" ends
// the check.
func (c *checker) record(domain string) (string, Result, string) {
	txts, err := c.lookup(domain, dns.TXT)
	switch {
	case errors.Is(err, dns.ErrNXDomain):
		return "", None, domain + " does not exist, so it has no SPF record"
	case err != nil:
		return "", TempError, fmt.Sprintf("looking up %s's TXT records failed (%v): try again later", domain, err)
	}
	var found []string
	for _, r := range txts {
		if r.Type != dns.TXT {
			continue
		}
		if t := strings.ToLower(r.Text); t == "v=spf1" || strings.HasPrefix(t, "v=spf1 ") {
			found = append(found, r.Text)
		}
	}
	switch len(found) {
	case 0:
		return "", None, domain + " publishes no SPF record (no TXT record starting with v=spf1)"
	case 1:
		return found[0], "", ""
	}
	return "", PermError, domain + " publishes more than one SPF record"
}

// qualifier splits a mechanism's qualifier from it (§4.6.2).
func qualifier(term string) (Result, string) {
	switch term[0] {
	case '+':
		return Pass, term[1:]
	case '-':
		return Fail, term[1:]
	case '~':
		return SoftFail, term[1:]
	case '?':
		return Neutral, term[1:]
	}
	return Pass, term
}

// modifier reports whether term is a modifier (name=value, §6), whose
// name starts with a letter and goes on with letters, digits, "-", "_" and
// "." (§12). Any other term is a mechanism, which validate then checks.
func modifier(term string) (name, value string, ok bool) {
	name, value, ok = strings.Cut(term, "=")
	if !ok || name == "" || !isLetter(name[0]) {
		return "", "", false
	}
	for i := range len(name) {
		if c := name[i]; !isLetter(c) && !(c >= '0' && c <= '9') && c != '-' && c != '_' && c != '.' {
			return "", "", false
		}
	}
	return strings.ToLower(name), value, true
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// resultError ends the evaluation with a result other than permerror: an
// include whose domain failed temporarily, say.
type resultError struct {
	result Result
	why    string
}

func (e *resultError) Error() string { return e.why }

// match reports whether the mechanism (without its qualifier) matches the
// client (§5). The record's syntax was checked first (validate), so the
// errors here are those of evaluating it.
func (c *checker) match(mech, domain string) (bool, error) {
	name, rest, arg := split(mech)
	switch name {
	case "all":
		return true, nil
	case "ip4", "ip6":
		pfx, err := parseNetwork(arg, name == "ip6")
		if err != nil {
			return false, err
		}
		return pfx.Contains(c.ip), nil
	case "a", "mx":
		target, v4, v6, err := targetAndLengths(rest, domain)
		if err != nil {
			return false, err
		}
		if err := c.count(); err != nil {
			return false, err
		}
		hosts := []string{target}
		if name == "mx" {
			mxs, err := c.query(target, dns.MX)
			if err != nil {
				return false, err
			}
			hosts = hosts[:0]
			for _, r := range mxs {
				if r.Type == dns.MX && r.Target != "." && r.Target != "" {
					hosts = append(hosts, r.Target)
				}
			}
			if len(hosts) > maxMXNames {
				return false, fmt.Errorf("%s has more than %d MX records", target, maxMXNames)
			}
		}
		for _, h := range hosts {
			ok, err := c.addressMatches(h, v4, v6)
			if ok || err != nil {
				return ok, err
			}
		}
		return false, nil
	case "include":
		if err := c.count(); err != nil {
			return false, err
		}
		r := c.check(strings.ToLower(arg))
		switch r.Result {
		case Pass:
			return true, nil
		case Fail, SoftFail, Neutral:
			return false, nil
		case TempError:
			return false, &resultError{TempError, "include:" + arg + ": " + r.Why}
		case None:
			return false, fmt.Errorf("include:%s names a domain without an SPF record", arg)
		}
		return false, fmt.Errorf("include:%s: %s", arg, r.Why)
	case "exists":
		if err := c.count(); err != nil {
			return false, err
		}
		as, err := c.query(arg, dns.A)
		return len(as) > 0, err
	case "ptr":
		// Deprecated (§5.5) and slow: the lab treats it as never matching,
		// as many receivers do.
		return false, c.count()
	}
	return false, fmt.Errorf("unknown mechanism %q", name)
}

// split cuts a mechanism into its lower-case name and what follows: ":"
// and an argument or, for a and mx, prefix lengths starting with "/". arg
// is rest without the colon.
func split(mech string) (name, rest, arg string) {
	end := strings.IndexAny(mech, ":/")
	if end < 0 {
		end = len(mech)
	}
	name, rest = strings.ToLower(mech[:end]), mech[end:]
	return name, rest, strings.TrimPrefix(rest, ":")
}

// validate checks a mechanism's syntax without evaluating it.
func validate(mech, domain string) error {
	name, rest, arg := split(mech)
	switch name {
	case "all":
		if rest != "" {
			return errors.New("all takes no argument")
		}
	case "ip4", "ip6":
		_, err := parseNetwork(arg, name == "ip6")
		return err
	case "a", "mx":
		_, _, _, err := targetAndLengths(rest, domain)
		return err
	case "include", "exists":
		if arg == "" || !strings.HasPrefix(rest, ":") {
			return fmt.Errorf("%s needs a domain", name)
		}
		return validDomain(arg)
	case "ptr":
		if rest != "" {
			if !strings.HasPrefix(rest, ":") {
				return errors.New("ptr takes no prefix length")
			}
			return validDomain(arg)
		}
	default:
		return fmt.Errorf("unknown mechanism %q", name)
	}
	return nil
}

// count counts a term that causes DNS lookups.
func (c *checker) count() error {
	if c.lookups++; c.lookups > maxLookups {
		return errLimit
	}
	return nil
}

// query looks up name and turns failures into the results they cause:
// a name that does not exist is an empty answer (a "void lookup", of which
// only two are allowed), a DNS failure a temperror.
func (c *checker) query(name string, t dns.Type) ([]dns.Record, error) {
	rs, err := c.lookup(strings.ToLower(name), t)
	switch {
	case errors.Is(err, dns.ErrNXDomain):
		rs, err = nil, nil
	case err != nil:
		return nil, &resultError{TempError, fmt.Sprintf("looking up %s %s failed (%v): try again later", name, t, err)}
	}
	if len(rs) == 0 {
		if c.voids++; c.voids > maxVoidLookups {
			return nil, fmt.Errorf("more than %d lookups found nothing", maxVoidLookups)
		}
	}
	return rs, nil
}

// addressMatches reports whether one of host's addresses, widened to the
// given prefix lengths, holds the client.
func (c *checker) addressMatches(host string, v4, v6 int) (bool, error) {
	t, bits := dns.A, v4
	if c.ip.Is6() {
		t, bits = dns.AAAA, v6
	}
	rs, err := c.query(host, t)
	if err != nil {
		return false, err
	}
	for _, r := range rs {
		a, err := netip.ParseAddr(r.Addr)
		if err != nil || a.Is4() != c.ip.Is4() {
			continue
		}
		if p, err := a.Prefix(bits); err == nil && p.Contains(c.ip) {
			return true, nil
		}
	}
	return false, nil
}

// targetAndLengths reads what follows a and mx: an optional ":domain",
// then an optional IPv4 prefix length "/n" and IPv6 one "//n" (§5.6).
func targetAndLengths(rest, domain string) (target string, v4, v6 int, err error) {
	v4, v6 = 32, 128
	cidr := ""
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		rest, cidr = rest[:i], rest[i:]
	}
	target = domain
	if rest != "" {
		// "a:" with nothing after the colon is no shorthand for "a".
		target = strings.TrimPrefix(rest, ":")
		if err := validDomain(target); err != nil {
			return "", 0, 0, err
		}
	}
	ip4, ip6 := "", ""
	if strings.HasPrefix(cidr, "//") {
		ip6 = cidr[2:]
	} else if cidr != "" {
		ip4, ip6, _ = strings.Cut(cidr[1:], "//")
	}
	if ip4 != "" {
		if v4, err = strconv.Atoi(ip4); err != nil || v4 < 0 || v4 > 32 {
			return "", 0, 0, fmt.Errorf("bad IPv4 prefix length %q", ip4)
		}
	}
	if ip6 != "" {
		if v6, err = strconv.Atoi(ip6); err != nil || v6 < 0 || v6 > 128 {
			return "", 0, 0, fmt.Errorf("bad IPv6 prefix length %q", ip6)
		}
	}
	if (strings.HasPrefix(cidr, "/") && ip4 == "" && !strings.HasPrefix(cidr, "//")) || strings.HasSuffix(cidr, "//") {
		return "", 0, 0, fmt.Errorf("bad prefix length %q", cidr)
	}
	return target, v4, v6, nil
}

// validDomain checks a domain named in a term (a domain-spec without
// macros, §7.1): labels that are not empty, and a last one that could be a
// top-level domain, which rules out "a:192.0.2.1", an address where the
// record needed ip4:. Such a term is a syntax error, not a name to look up.
func validDomain(name string) error {
	trimmed := strings.TrimSuffix(name, ".")
	if trimmed == "" || len(trimmed) > 253 {
		return fmt.Errorf("%q is not a domain", name)
	}
	labels := strings.Split(trimmed, ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 {
			return fmt.Errorf("%q is not a domain: it has an empty or overlong label", name)
		}
	}
	top := labels[len(labels)-1]
	digits := true
	for i, r := range top {
		switch {
		case r >= '0' && r <= '9':
		case r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z':
			digits = false
		case r == '-' && i > 0 && i < len(top)-1:
			digits = false
		default:
			return fmt.Errorf("%q is not a domain: %q cannot end a domain name", name, top)
		}
	}
	if len(labels) < 2 || digits {
		return fmt.Errorf("%q is not a domain: %q cannot end a domain name", name, top)
	}
	return nil
}

// parseNetwork reads the argument of ip4 or ip6: an address, with an
// optional prefix length.
func parseNetwork(arg string, v6 bool) (netip.Prefix, error) {
	if !strings.Contains(arg, "/") {
		a, err := netip.ParseAddr(arg)
		if err != nil || a.Is6() != v6 {
			return netip.Prefix{}, fmt.Errorf("bad address %q", arg)
		}
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(arg)
	if err != nil || p.Addr().Is6() != v6 {
		return netip.Prefix{}, fmt.Errorf("bad network %q", arg)
	}
	return p.Masked(), nil
}

// HeaderValue is the value of a Received-SPF header field (RFC 7208 §9.1)
// for this verdict, written by receiver about a client at ip whose envelope
// sender was from.
func (v Verdict) HeaderValue(receiver string, ip netip.Addr, from string) string {
	comment := ""
	switch v.Result {
	case Pass:
		comment = fmt.Sprintf("%s: domain of %s designates %s as permitted sender", receiver, from, ip)
	case Fail:
		comment = fmt.Sprintf("%s: domain of %s does not designate %s as permitted sender", receiver, from, ip)
	case SoftFail:
		comment = fmt.Sprintf("%s: domain of transitioning %s does not designate %s as permitted sender", receiver, from, ip)
	case Neutral:
		comment = fmt.Sprintf("%s: %s is neither permitted nor denied by domain of %s", receiver, ip, from)
	case None:
		comment = fmt.Sprintf("%s: domain of %s does not designate permitted sender hosts", receiver, from)
	default:
		comment = fmt.Sprintf("%s: %s", receiver, v.Why)
	}
	return fmt.Sprintf("%s (%s) client-ip=%s; envelope-from=%s;", v.Result, comment, ip, from)
}
