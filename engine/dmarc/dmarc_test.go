package dmarc

import (
	"testing"

	"smtplab/engine/dns"
	"smtplab/engine/spf"
)

const testZone = `
_dmarc.example.com.   TXT  "v=DMARC1; p=reject; sp=quarantine"
_dmarc.example.net.   TXT  "v=DMARC1; p=none; aspf=s; adkim=s"
_dmarc.broken.example. TXT "v=DMARC1; p=maybe"
_dmarc.nop.example.   TXT  "v=DMARC1; rua=mailto:x@nop.example"
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
		reject bool
	}{
		{"an aligned DKIM signature, SPF failed", "example.com", spf.Verdict{Result: spf.Fail, Domain: "example.net"}, []string{"example.com"}, Pass, "reject", false},
		{"relaxed: DKIM by a subdomain", "example.com", pass("example.net"), []string{"example.net", "mail.example.com"}, Pass, "reject", false},
		{"DKIM by another domain only", "example.com", pass("example.net"), []string{"example.net"}, Fail, "reject", true},
		{"strict DKIM alignment refuses a subdomain", "example.net", spf.Verdict{Result: spf.None}, []string{"mail.example.net"}, Fail, "none", false},
		{"aligned SPF pass", "example.com", pass("example.com"), nil, Pass, "reject", false},
		{"relaxed: a subdomain of the same organization", "example.com", pass("mail.example.com"), nil, Pass, "reject", false},
		{"SPF passed for another domain", "example.com", pass("example.net"), nil, Fail, "reject", true},
		{"SPF failed", "example.com", spf.Verdict{Result: spf.Fail, Domain: "example.com"}, nil, Fail, "reject", true},
		{"a subdomain takes sp=", "news.example.com", pass("example.net"), nil, Fail, "quarantine", false},
		{"strict alignment refuses a subdomain", "example.net", pass("mail.example.net"), nil, Fail, "none", false},
		{"strict alignment, same name", "example.net", pass("example.net"), nil, Pass, "none", false},
		{"no policy", "example.org", pass("example.net"), nil, None, "", false},
		{"a bad p=", "broken.example", pass("example.net"), nil, PermError, "", false},
		{"no p=", "nop.example", pass("example.net"), nil, PermError, "", false},
		{"two records", "two.example", pass("example.net"), nil, PermError, "", false},
		{"DNS fails for now", "flaky.example", pass("example.net"), nil, TempError, "", false},
		{"no domain", "", pass("example.net"), nil, PermError, "", false},
	}
	for _, c := range cases {
		v := Evaluate(c.from, c.sender, c.dkim, lookup)
		if v.Result != c.want || v.Policy != c.policy || v.Reject() != c.reject || v.Why == "" {
			t.Errorf("%s: %+v, want %s with policy %q (reject %v)", c.name, v, c.want, c.policy, c.reject)
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
