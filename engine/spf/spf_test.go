package spf

import (
	"net/netip"
	"strings"
	"testing"

	"smtplab/engine/dns"
)

const testZone = `
example.com.        TXT  "v=spf1 ip4:192.0.2.25 mx -all"
example.com.        MX   10 mx.example.com.
mx.example.com.     A    192.0.2.30
example.net.        TXT  "v=spf1 a:out.example.net/28 ~all"
out.example.net.    A    198.51.100.17
example.org.        TXT  "v=spf1 include:example.com include:_spf.example.org ?all"
_spf.example.org.   TXT  "v=spf1 ip6:2001:db8::/32 -all"
shop.example.       TXT  "v=spf1 redirect=example.com"
plain.example.      TXT  "just a text record"
two.example.        TXT  "v=spf1 -all"
two.example.        TXT  "v=spf1 +all"
typo.example.       TXT  "v=spf1 ip4:192.0.2.25 mz -all"
macro.example.      TXT  "v=spf1 exists:%{i}.spf.example -all"
broken.example.     TXT  "v=spf1 include:flaky.example -all"
flaky.example.      TXT  "v=spf1 +all"
nosuch.example.     TXT  "v=spf1 include:gone.example -all"
loop.example.       TXT  "v=spf1 include:loop.example -all"
voids.example.      TXT  "v=spf1 a:n1.example a:n2.example a:n3.example -all"
dual.example.       TXT  "v=spf1 a/24//64 -all"
dual.example.       A    203.0.113.1
dual.example.       AAAA 2001:db8:1::1
exists.example.     TXT  "v=spf1 exists:ok.exists.example -all"
ok.exists.example.  A    127.0.0.2
noexists.example.   TXT  "v=spf1 exists:no.exists.example ptr -all"
nowhere.example.    TXT  "v=spf1 redirect=plain.example"
explained.example.  TXT  "v=spf1 ip4:192.0.2.25 -all exp=explain._spf.%{d}"
twoexp.example.     TXT  "v=spf1 -all exp=a.example exp=b.example"
addr.example.       TXT  "v=spf1 a:192.0.2.25 -all"
emptya.example.     TXT  "v=spf1 a: -all"
emptya.example.     A    192.0.2.25
single.example.     TXT  "v=spf1 include:localhost -all"
redirall.example.   TXT  "v=spf1 -all redirect=flaky.example"
macroredir.example. TXT  "v=spf1 redirect=%{d}.spf.example"
upper.example.      TXT  "V=SPF1 IP4:192.0.2.25 Redirect=EXAMPLE.COM"
spaces.example.     TXT  "v=spf1 ip4:192.0.2.25   -all   "
spf10.example.      TXT  "v=spf10 +all"
incbroken.example.  TXT  "v=spf1 include:typo.example +all"
incfail.example.    TXT  "v=spf1 include:example.com ~all"
ten.example.        TXT  "v=spf1 a:h.ten.example a:h.ten.example a:h.ten.example a:h.ten.example a:h.ten.example mx:ten.example exists:nx.ten.example include:ok.ten.example ptr a -all"
eleven.example.     TXT  "v=spf1 a:h.ten.example a:h.ten.example a:h.ten.example a:h.ten.example a:h.ten.example mx:ten.example exists:nx.ten.example include:ok.ten.example ptr a a -all"
eleven.example.     A    192.0.2.99
ten.example.        A    192.0.2.99
ten.example.        MX   10 h.ten.example.
h.ten.example.      A    192.0.2.99
ok.ten.example.     TXT  "v=spf1 ip4:192.0.2.99 -all"
twovoids.example.   TXT  "v=spf1 a:n1.example a:n2.example -all"
v6.example.         TXT  "v=spf1 ip6:2001:db8:aa::/48 -all"
mxcidr.example.     TXT  "v=spf1 mx:example.com/24 -all"
badmod.example.     TXT  "v=spf1 1x=y -all"
unknownmod.example. TXT  "v=spf1 -all x-future.mod=anything"
redir11.example.    TXT  "v=spf1 a:h.ten.example a:h.ten.example a:h.ten.example a:h.ten.example a:h.ten.example a:h.ten.example a:h.ten.example a:h.ten.example a:h.ten.example a:h.ten.example redirect=example.com"
manymx.example.     TXT  "v=spf1 mx -all"
manymx.example.     MX   1 m1.example.
manymx.example.     MX   2 m2.example.
manymx.example.     MX   3 m3.example.
manymx.example.     MX   4 m4.example.
manymx.example.     MX   5 m5.example.
manymx.example.     MX   6 m6.example.
manymx.example.     MX   7 m7.example.
manymx.example.     MX   8 m8.example.
manymx.example.     MX   9 m9.example.
manymx.example.     MX   10 m10.example.
manymx.example.     MX   11 m11.example.
`

func testLookup(t *testing.T) Lookup {
	t.Helper()
	z, err := dns.ParseZone(testZone)
	if err != nil {
		t.Fatal(err)
	}
	r := dns.NewResolver(z)
	if err := r.Inject(dns.Fault{Name: "flaky.example", Type: dns.TXT, Failure: dns.ServFail}); err != nil {
		t.Fatal(err)
	}
	return r.Records(dns.Caller{})
}

func TestCheck(t *testing.T) {
	lookup := testLookup(t)
	cases := []struct {
		ip, domain string
		want       Result
		term       string // the mechanism that decided, when one did
	}{
		{"192.0.2.25", "example.com", Pass, "ip4:192.0.2.25"},
		{"192.0.2.30", "example.com", Pass, "mx"},    // the domain's own MX host
		{"192.0.2.10", "example.com", Fail, "-all"},  // the learner's laptop
		{"192.0.2.10", "EXAMPLE.COM.", Fail, "-all"}, // names are case-insensitive
		{"198.51.100.20", "example.net", Pass, "a:out.example.net/28"},
		{"198.51.100.40", "example.net", SoftFail, "~all"},
		{"192.0.2.25", "example.org", Pass, "include:example.com"},
		{"2001:db8::5", "example.org", Pass, "include:_spf.example.org"},
		{"203.0.113.9", "example.org", Neutral, "?all"}, // neither include passed
		{"192.0.2.25", "shop.example", Pass, "ip4:192.0.2.25"},
		{"203.0.113.9", "shop.example", Fail, "-all"},
		{"192.0.2.25", "plain.example", None, ""},
		{"192.0.2.25", "unknown.example", None, ""},
		{"192.0.2.25", "two.example", PermError, ""},
		{"192.0.2.25", "typo.example", PermError, ""}, // a syntax error anywhere, even after a match
		{"192.0.2.25", "macro.example", PermError, ""},
		{"192.0.2.25", "broken.example", TempError, "include:flaky.example"},
		{"192.0.2.25", "flaky.example", TempError, ""},
		{"192.0.2.25", "nosuch.example", PermError, ""},
		{"192.0.2.25", "loop.example", PermError, ""},  // over the ten-lookup limit
		{"192.0.2.25", "voids.example", PermError, ""}, // a third lookup finding nothing
		{"203.0.113.200", "dual.example", Pass, "a/24//64"},
		{"2001:db8:1::ffff", "dual.example", Pass, "a/24//64"},
		{"2001:db8:2::1", "dual.example", Fail, "-all"},
		{"::ffff:192.0.2.25", "example.com", Pass, "ip4:192.0.2.25"},         // a v4-mapped client is a v4 one
		{"198.51.100.1", "exists.example", Pass, "exists:ok.exists.example"}, // any A record will do
		{"192.0.2.25", "noexists.example", Fail, "-all"},                     // ptr never matches here
		{"192.0.2.25", "nowhere.example", PermError, ""},                     // redirect= to a domain without a record
		{"192.0.2.25", "explained.example", Pass, "ip4:192.0.2.25"},          // exp= is not fetched, so its macros do not matter
		{"192.0.2.10", "explained.example", Fail, "-all"},
		{"192.0.2.25", "twoexp.example", PermError, ""},     // exp= at most once (§6)
		{"192.0.2.25", "addr.example", PermError, ""},       // a:<address> is a syntax error, not a name to look up
		{"192.0.2.25", "emptya.example", PermError, ""},     // "a:" needs a domain after its colon
		{"192.0.2.25", "single.example", PermError, ""},     // a one-label name is no domain-spec
		{"192.0.2.25", "redirall.example", Fail, "-all"},    // with all, redirect= is never followed (§6.1)
		{"192.0.2.25", "macroredir.example", PermError, ""}, // macros in redirect= are not evaluated
		{"192.0.2.25", "upper.example", Pass, "IP4:192.0.2.25"},
		{"192.0.2.30", "upper.example", Pass, "mx"}, // Redirect= followed to example.com's mx
		{"192.0.2.10", "upper.example", Fail, "-all"},
		{"192.0.2.25", "spaces.example", Pass, "ip4:192.0.2.25"}, // spaces between and after terms
		{"192.0.2.10", "spaces.example", Fail, "-all"},
		{"192.0.2.25", "spf10.example", None, ""},                 // v=spf10 is no SPF record
		{"192.0.2.25", "incbroken.example", PermError, ""},        // include of a broken record: permerror, not a match (§5.2)
		{"192.0.2.10", "incfail.example", SoftFail, "~all"},       // an include that fails is only no match
		{"192.0.2.10", "ten.example", Fail, "-all"},               // exactly ten lookups
		{"192.0.2.10", "eleven.example", PermError, ""},           // the eleventh
		{"192.0.2.99", "eleven.example", Pass, "a:h.ten.example"}, // a match before the limit decides
		{"192.0.2.10", "twovoids.example", Fail, "-all"},          // two void lookups are allowed
		{"2001:db8:aa:ffff::1", "v6.example", Pass, "ip6:2001:db8:aa::/48"},
		{"2001:db8:ab::1", "v6.example", Fail, "-all"},
		{"192.0.2.25", "v6.example", Fail, "-all"},                  // an IPv4 client never matches ip6:
		{"192.0.2.77", "mxcidr.example", Pass, "mx:example.com/24"}, // mx.example.com's /24
		{"192.0.3.1", "mxcidr.example", Fail, "-all"},
		{"192.0.2.25", "badmod.example", PermError, ""},    // a modifier's name starts with a letter
		{"192.0.2.25", "unknownmod.example", Fail, "-all"}, // an unknown modifier is ignored
		{"192.0.2.10", "redir11.example", PermError, ""},   // redirect= is the eleventh lookup
		{"192.0.2.25", "redir11.example", PermError, ""},
		{"192.0.2.10", "manymx.example", PermError, ""}, // eleven MX names to look up (§4.6.4)
	}
	for _, c := range cases {
		v := Check(netip.MustParseAddr(c.ip), c.domain, lookup)
		if v.Result != c.want || v.Term != c.term {
			t.Errorf("Check(%s, %s) = %s by %q (%s), want %s by %q", c.ip, c.domain, v.Result, v.Term, v.Why, c.want, c.term)
		}
		if v.Why == "" {
			t.Errorf("Check(%s, %s): no reason given", c.ip, c.domain)
		}
	}
}

func TestSyntax(t *testing.T) {
	good := []string{"all", "ip4:192.0.2.0/24", "ip6:2001:db8::1", "a", "a:mail.example", "a/24", "a:x.example/24//64",
		"mx//64", "include:example.com", "exists:x.example", "ptr", "ptr:example.com", "include:_spf.example.com.",
		"a:mail.example.co-op", "a:x.example.a1"}
	bad := []string{"all:x", "ip4:2001:db8::1", "ip6:192.0.2.1", "ip4:192.0.2.0/33", "a/33", "mx//129", "a/", "a//",
		"include", "include:", "exists", "mz", "ip4", "a:", "mx:/24", "a:192.0.2.1", "include:localhost", "exists:a..example",
		"ptr/24", "a:example.-com", "mx:example.123"}
	for _, m := range good {
		if err := validate(m, "example.com"); err != nil {
			t.Errorf("validate(%q) = %v", m, err)
		}
	}
	for _, m := range bad {
		if err := validate(m, "example.com"); err == nil {
			t.Errorf("validate(%q) accepted it", m)
		}
	}
}

func TestHeaderValue(t *testing.T) {
	ip := netip.MustParseAddr("192.0.2.25")
	v := Check(ip, "example.com", testLookup(t))
	got := v.HeaderValue("mx.example.org", ip, "alice@example.com")
	want := "pass (mx.example.org: domain of alice@example.com designates 192.0.2.25 as permitted sender) client-ip=192.0.2.25; envelope-from=alice@example.com;"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	v = Check(netip.MustParseAddr("192.0.2.10"), "example.com", testLookup(t))
	if got := v.HeaderValue("mx.example.org", netip.MustParseAddr("192.0.2.10"), "alice@example.com"); !strings.HasPrefix(got, "fail (") {
		t.Errorf("got %s", got)
	}
}
