package dmarc

import (
	"testing"

	"smtplab/engine/dns"
	"smtplab/engine/spf"
)

const testZone = `
_dmarc.example.com.   TXT  "v=DMARC1; p=reject; sp=quarantine"
_dmarc.example.net.   TXT  "v=DMARC1; p=none; aspf=s; adkim=s"
_dmarc.shop.example.  TXT  "v=DMARC1; p=quarantine; pct=100; rua=mailto:dmarc@shop.example"
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
		{"no p=", "nop.example", pass("example.net"), nil, PermError, "", NoAction},
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
