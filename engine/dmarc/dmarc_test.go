package dmarc

import (
	"testing"

	msgauth "github.com/emersion/go-msgauth/dmarc"

	"smtplab/engine/dns"
	"smtplab/engine/spf"
)

const testZone = `
_dmarc.example.com.   TXT  "v=DMARC1; p=reject; sp=quarantine"
_dmarc.example.net.   TXT  "v=DMARC1; p=none; aspf=s; adkim=s"
_dmarc.shop.example.  TXT  "v=DMARC1; p=quarantine; pct=100; rua=mailto:dmarc@shop.example"
_dmarc.broken.example. TXT "v=DMARC1; p=maybe"
_dmarc.nop.example.   TXT  "v=DMARC1; rua=mailto:x@nop.example"
_dmarc.badrua.example. TXT "v=DMARC1; p=rejected; rua=mailto:d@badrua.example"
_dmarc.badsp.example. TXT  "v=DMARC1; p=reject; sp=rejct; rua=mailto:d@badsp.example"
_dmarc.badsp2.example. TXT "v=DMARC1; p=reject; sp=rejct"
_dmarc.two.example.   TXT  "v=DMARC1; p=none"
_dmarc.two.example.   TXT  "v=DMARC1; p=reject"
_dmarc.flaky.example. TXT  "v=DMARC1; p=reject"
`

// testLookup answers from testZone; flaky.example's policy fails for now.
func testLookup(t *testing.T) spf.Lookup {
	t.Helper()
	z, err := dns.ParseZone(testZone)
	if err != nil {
		t.Fatal(err)
	}
	lookup := dns.NewResolver(z).Records(dns.Caller{})
	return func(name string, typ dns.Type) ([]dns.Record, error) {
		if name == "_dmarc.flaky.example" {
			return nil, &dns.Error{Name: name, Type: typ, Err: dns.ErrServFail}
		}
		return lookup(name, typ)
	}
}

func TestEvaluate(t *testing.T) {
	lookup := testLookup(t)
	pass := func(d string) spf.Verdict { return spf.Verdict{Result: spf.Pass, Domain: d} }
	cases := []struct {
		name   string
		from   string
		sender spf.Verdict
		dkim   []string // domains whose signatures verified
		want   Result
		policy string
		does   Disposition
	}{
		{"an aligned DKIM signature, SPF failed", "example.com", spf.Verdict{Result: spf.Fail, Domain: "example.net"}, []string{"example.com"}, Pass, "reject", NoAction},
		{"relaxed: DKIM by a subdomain", "example.com", pass("example.net"), []string{"example.net", "mail.example.com"}, Pass, "reject", NoAction},
		{"DKIM by another domain only", "example.com", pass("example.net"), []string{"example.net"}, Fail, "reject", Reject},
		{"strict DKIM alignment refuses a subdomain", "example.net", spf.Verdict{Result: spf.None}, []string{"mail.example.net"}, Fail, "none", NoAction},
		{"aligned SPF pass", "example.com", pass("example.com"), nil, Pass, "reject", NoAction},
		{"relaxed: a subdomain of the same organization", "example.com", pass("mail.example.com"), nil, Pass, "reject", NoAction},
		{"SPF passed for another domain", "example.com", pass("example.net"), nil, Fail, "reject", Reject},
		{"SPF failed", "example.com", spf.Verdict{Result: spf.Fail, Domain: "example.com"}, nil, Fail, "reject", Reject},
		{"a subdomain takes sp=", "news.example.com", pass("example.net"), nil, Fail, "quarantine", Quarantine},
		{"p=quarantine, nothing aligned", "shop.example", pass("example.net"), nil, Fail, "quarantine", Quarantine},
		{"p=quarantine, SPF softfail", "shop.example", spf.Verdict{Result: spf.SoftFail, Domain: "shop.example"}, nil, Fail, "quarantine", Quarantine},
		{"p=quarantine, aligned SPF pass", "shop.example", pass("shop.example"), nil, Pass, "quarantine", NoAction},
		{"strict alignment refuses a subdomain", "example.net", pass("mail.example.net"), nil, Fail, "none", NoAction},
		{"strict alignment, same name", "example.net", pass("example.net"), nil, Pass, "none", NoAction},
		{"no policy", "example.org", pass("example.net"), nil, None, "", NoAction},
		{"a bad p=", "broken.example", pass("example.net"), nil, PermError, "", NoAction},
		{"no p=, but rua=: read as p=none (§6.6.3)", "nop.example", pass("example.net"), nil, Fail, "none", NoAction},
		{"a bad p= with rua=: p=none too", "badrua.example", pass("example.net"), nil, Fail, "none", NoAction},
		{"a bad sp= with rua=, for a subdomain", "news.badsp.example", pass("example.net"), nil, Fail, "none", NoAction},
		{"a bad sp= without rua=", "news.badsp2.example", pass("example.net"), nil, PermError, "", NoAction},
		{"two records", "two.example", pass("example.net"), nil, PermError, "", NoAction},
		{"DNS fails for now", "flaky.example", pass("example.net"), nil, TempError, "", NoAction},
		{"no domain", "", pass("example.net"), nil, PermError, "", NoAction},
	}
	for _, c := range cases {
		v := Evaluate(c.from, c.sender, c.dkim, lookup)
		if v.Result != c.want || v.Policy != c.policy || v.Disposition() != c.does || v.Why == "" {
			t.Errorf("%s: %+v, want %s with policy %q (disposition %s)", c.name, v, c.want, c.policy, c.does)
		}
	}
}

func TestOrgDomainAndAlignment(t *testing.T) {
	for in, want := range map[string]string{"example.com": "example.com", "a.b.example.com.": "example.com", "localhost": "localhost"} {
		if got := OrgDomain(in); got != want {
			t.Errorf("OrgDomain(%q) = %q, want %q", in, got, want)
		}
	}
	if !Aligned("Mail.Example.COM", "example.com", false) || Aligned("mail.example.com", "example.com", true) || Aligned("", "example.com", false) {
		t.Error("alignment is wrong")
	}
}

// TestParseWithGoMsgauth reads records with ours and go-msgauth's parser
// and compares what both act on: p, sp and the two alignment modes. The
// records where the two differ on purpose are listed apart, with why.
func TestParseWithGoMsgauth(t *testing.T) {
	agree := []string{
		"v=DMARC1; p=reject",
		"v=DMARC1;p=quarantine;sp=none;adkim=s;aspf=r;pct=50",
		"v=DMARC1; p=none; rua=mailto:a@example.com,mailto:b@example.net; ruf=mailto:c@example.com; fo=1; ri=3600",
		"v=DMARC1 ; p = reject ; sp = quarantine ; aspf = s ;",
		"v=DMARC1; p=none; future=tag",
		"v=DMARC1",
		"v=DMARC1; p=maybe",
		"v=DMARC1; p=none; sp=never",
		"v=DMARC1; sp=reject",
	}
	for _, record := range agree {
		ours, err := parse(record)
		ref, refErr := msgauth.Parse(record)
		if (err != nil) != (refErr != nil) {
			t.Errorf("%q: ours %v, go-msgauth %v", record, err, refErr)
			continue
		}
		if err != nil {
			continue
		}
		refSP := string(ref.SubdomainPolicy)
		if ours.p != string(ref.Policy) || ours.sp != refSP ||
			ours.strictSPF != (ref.SPFAlignment == msgauth.AlignmentStrict) || ours.strictDKIM != (ref.DKIMAlignment == msgauth.AlignmentStrict) {
			t.Errorf("%q: ours %+v, go-msgauth %+v", record, ours, ref)
		}
	}
	// Where we differ from go-msgauth, and why we are right to.
	for record, want := range map[string]policy{
		// RFC 7489's grammar writes none/quarantine/reject as ABNF strings,
		// which are case-insensitive; go-msgauth refuses capitals.
		"v=DMARC1; p=REJECT": {p: "reject"},
		// A bad pct= or alignment mode: the lab acts on neither and keeps
		// the default (relaxed), where go-msgauth throws the record away.
		"v=DMARC1; p=reject; pct=150": {p: "reject"},
		"v=DMARC1; p=reject; adkim=x": {p: "reject"},
	} {
		if got, err := parse(record); err != nil || got != want {
			t.Errorf("%q: %+v, %v, want %+v", record, got, err, want)
		}
	}
	// v= must come first (RFC 7489 §6.4), which go-msgauth does not check.
	if _, err := parse("p=reject; v=DMARC1"); err == nil {
		t.Error("a record whose v= is not first was accepted")
	}
}

// TestOrganizationalDomains shows the lab's simplification (see the
// package doc): the organizational domain is the last two labels, which
// is right for the lab's names and wrong under a multi-label public suffix
// such as co.uk, where a real receiver, with the Public Suffix List,
// takes three. In the lab, mail.bank.co.uk looks for its policy at
// _dmarc.co.uk, not _dmarc.bank.co.uk, and evil.co.uk is aligned with
// bank.co.uk. No lab world uses such names.
func TestOrganizationalDomains(t *testing.T) {
	for in, want := range map[string]string{
		"mail.bank.co.uk": "co.uk", // a real receiver: bank.co.uk
		"bank.co.uk":      "co.uk", // a real receiver: bank.co.uk
		"a.b.c.example":   "c.example",
		"EXAMPLE.com":     "example.com",
	} {
		if got := OrgDomain(in); got != want {
			t.Errorf("OrgDomain(%q) = %q, want %q", in, got, want)
		}
	}
	if !Aligned("evil.co.uk", "bank.co.uk", false) {
		t.Error("the two-label rule no longer aligns evil.co.uk with bank.co.uk: update this test and the package doc")
	}
}

// TestPolicyDiscovery: where the policy comes from (RFC 7489 §6.6.3): the
// From: domain's own record first, else its organizational domain's, whose
// sp= (or p= without it) then applies; never a record in between.
func TestPolicyDiscovery(t *testing.T) {
	z, err := dns.ParseZone(`
_dmarc.example.com.       TXT "v=DMARC1; p=reject; sp=none"
_dmarc.own.example.com.   TXT "v=DMARC1; p=quarantine; sp=reject"
_dmarc.b.example.com.     TXT "v=DMARC1; p=quarantine"
_dmarc.example.net.       TXT "v=DMARC1; p=quarantine"
_dmarc.example.org.       TXT "spf-like text, not a policy"
_dmarc.lower.example.     TXT "v=dmarc1; p=reject"
`)
	if err != nil {
		t.Fatal(err)
	}
	lookup := dns.NewResolver(z).Records(dns.Caller{})
	fail := spf.Verdict{Result: spf.Fail, Domain: "elsewhere.example"}
	for _, c := range []struct {
		from   string
		want   Result
		policy string
	}{
		{"example.com", Fail, "reject"},          // p=
		{"news.example.com", Fail, "none"},       // sp= of the organization's record
		{"own.example.com", Fail, "quarantine"},  // its own record: its p=, not its sp=
		{"a.b.example.com", Fail, "none"},        // _dmarc.b.example.com is not looked at
		{"shop.example.net", Fail, "quarantine"}, // no sp=: p= applies to subdomains
		{"example.org", None, ""},                // a TXT record that is no policy
		{"lower.example", None, ""},              // v=DMARC1 is case-sensitive (§6.4: %x44 ...)
	} {
		v := Evaluate(c.from, fail, nil, lookup)
		if v.Result != c.want || v.Policy != c.policy {
			t.Errorf("%s: %+v, want %s under %q", c.from, v, c.want, c.policy)
		}
	}
}
