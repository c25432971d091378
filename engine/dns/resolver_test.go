package dns

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"smtplab/engine/trace"
)

// worldZone is the zone most resolver and MX tests share.
const worldZone = `
example.org.              3600 IN MX 10 mx1.example.org.
example.org.              3600 IN MX 20 mx2.example.org.
example.org.              TXT  "v=spf1 mx -all"
mx1.example.org.          A    192.0.2.10
mx1.example.org.          AAAA 2001:db8::10
mx2.example.org.          A    192.0.2.20
_25._tcp.mx1.example.org. TLSA 3 1 1 ` + sha256Hex + `
www.example.org.          CNAME example.org.
alias.example.org.        CNAME www.example.org.
loop1.example.org.        CNAME loop2.example.org.
loop2.example.org.        CNAME loop1.example.org.
dangling.example.org.     CNAME gone.example.net.
`

func newResolver(t testing.TB, zone string) *Resolver {
	t.Helper()
	z, err := ParseZone(zone)
	if err != nil {
		t.Fatal(err)
	}
	return NewResolver(z)
}

// recorder keeps each event with the elapsed time it came with, in a
// compact form tests can compare.
type recorder struct{ steps []string }

func (r *recorder) caller(host string) Caller {
	return Caller{Host: host, Record: func(e trace.Event, elapsed time.Duration) {
		s := fmt.Sprintf("%v %s %s %s %s", elapsed, e.Kind, e.Host, e.Name, e.RType)
		if e.Kind == trace.DNSAnswer {
			s += " [" + strings.ReplaceAll(e.Text, "\n", " | ") + "]"
			if e.Error != "" {
				s += " " + e.Error
			}
		}
		r.steps = append(r.steps, s)
	}}
}

func TestLookupTypes(t *testing.T) {
	res := newResolver(t, worldZone)
	tests := []struct {
		name      string
		t         Type
		want      []string // records, as zone lines
		canonical string
	}{
		{"example.org", MX, []string{"example.org. 3600 IN MX 10 mx1.example.org.", "example.org. 3600 IN MX 20 mx2.example.org."}, "example.org"},
		{"MX1.Example.Org.", A, []string{"mx1.example.org. IN A 192.0.2.10"}, "mx1.example.org"},
		{"mx1.example.org", AAAA, []string{"mx1.example.org. IN AAAA 2001:db8::10"}, "mx1.example.org"},
		{"example.org", TXT, []string{`example.org. IN TXT "v=spf1 mx -all"`}, "example.org"},
		{"_25._tcp.mx1.example.org", TLSA, []string{"_25._tcp.mx1.example.org. IN TLSA 3 1 1 " + sha256Hex}, "_25._tcp.mx1.example.org"},
		{"www.example.org", CNAME, []string{"www.example.org. IN CNAME example.org."}, "www.example.org"},
		{"www.example.org", TXT, []string{`example.org. IN TXT "v=spf1 mx -all"`}, "example.org"},
		{"alias.example.org", "mx", []string{"example.org. 3600 IN MX 10 mx1.example.org.", "example.org. 3600 IN MX 20 mx2.example.org."}, "example.org"},
		{"mx2.example.org", AAAA, nil, "mx2.example.org"}, // NODATA is not an error
	}
	for _, tt := range tests {
		ans, err := res.Lookup(Caller{}, tt.name, tt.t)
		if err != nil {
			t.Errorf("Lookup(%s, %s): %v", tt.name, tt.t, err)
			continue
		}
		var got []string
		for _, r := range ans.Records {
			got = append(got, r.String())
		}
		if !slices.Equal(got, tt.want) || ans.Canonical != tt.canonical {
			t.Errorf("Lookup(%s, %s) = %q at %s, want %q at %s", tt.name, tt.t, got, ans.Canonical, tt.want, tt.canonical)
		}
		hops := time.Duration(len(ans.Chain) + 1)
		if ans.Cost != hops*DefaultLatency {
			t.Errorf("Lookup(%s, %s) cost %v, want %v", tt.name, tt.t, ans.Cost, hops*DefaultLatency)
		}
	}
}

func TestLookupFailures(t *testing.T) {
	tests := []struct {
		name      string
		faults    []Fault
		qname     string
		qtype     Type
		err       error
		temporary bool
		cost      time.Duration
	}{
		{"nonexistent name", nil, "nope.example.org", A, ErrNXDomain, false, DefaultLatency},
		{"dangling alias", nil, "dangling.example.org", A, ErrNXDomain, false, 2 * DefaultLatency},
		{"cname loop", nil, "loop1.example.org", A, ErrCNAMELoop, true, (DefaultMaxCNAME + 1) * DefaultLatency},
		{"injected servfail", []Fault{{Name: "example.org", Failure: ServFail}}, "example.org", MX, ErrServFail, true, DefaultLatency},
		{"injected timeout", []Fault{{Name: "EXAMPLE.ORG.", Type: "mx", Failure: TimedOut}}, "example.org", MX, ErrTimeout, true, DefaultTimeout},
		{"injected nxdomain", []Fault{{Name: "mx1.example.org", Type: A, Failure: NXDomain}}, "mx1.example.org", A, ErrNXDomain, false, DefaultLatency},
		{"fault on the alias target", []Fault{{Name: "example.org", Failure: TimedOut}}, "www.example.org", MX, ErrTimeout, true, DefaultLatency + DefaultTimeout},
		{"type fault wins over name fault", []Fault{{Name: "example.org", Failure: ServFail}, {Name: "example.org", Type: TXT, Failure: NXDomain}}, "example.org", TXT, ErrNXDomain, false, DefaultLatency},
	}
	for _, tt := range tests {
		res := newResolver(t, worldZone)
		for _, f := range tt.faults {
			if err := res.Inject(f); err != nil {
				t.Fatal(err)
			}
		}
		ans, err := res.Lookup(Caller{}, tt.qname, tt.qtype)
		var dnsErr *Error
		if !errors.Is(err, tt.err) || !errors.As(err, &dnsErr) {
			t.Errorf("%s: error %v, want an *Error wrapping %v", tt.name, err, tt.err)
			continue
		}
		if IsTemporary(err) != tt.temporary || dnsErr.Temporary() != tt.temporary {
			t.Errorf("%s: temporary = %v, want %v", tt.name, IsTemporary(err), tt.temporary)
		}
		if ans.Cost != tt.cost {
			t.Errorf("%s: cost %v, want %v", tt.name, ans.Cost, tt.cost)
		}
	}
}

func TestFaultsInjectHeal(t *testing.T) {
	res := newResolver(t, worldZone)
	if err := res.Inject(Fault{Name: "x", Failure: "REFUSED"}); err == nil {
		t.Error("Inject accepted an unknown failure")
	}
	if err := res.Inject(Fault{Name: "x", Type: "SRV", Failure: ServFail}); err == nil {
		t.Error("Inject accepted an unknown type")
	}
	for _, f := range []Fault{{Name: "mx1.example.org", Type: A, Failure: TimedOut}, {Name: "example.org", Failure: ServFail}} {
		if err := res.Inject(f); err != nil {
			t.Fatal(err)
		}
	}
	want := []Fault{{Name: "example.org", Failure: ServFail}, {Name: "mx1.example.org", Type: A, Failure: TimedOut}}
	if got := res.Faults(); !slices.Equal(got, want) {
		t.Errorf("Faults() = %v, want %v", got, want)
	}
	res.Heal("Example.Org.", "")
	res.Heal("mx1.example.org", A)
	if got := res.Faults(); len(got) != 0 {
		t.Errorf("Faults() after Heal = %v", got)
	}
	if _, err := res.Lookup(Caller{}, "example.org", MX); err != nil {
		t.Errorf("healed name still fails: %v", err)
	}
}

func TestLookupTrace(t *testing.T) {
	res := newResolver(t, worldZone)
	res.Latency = 2 * time.Millisecond
	res.Timeout = 3 * time.Second
	if err := res.Inject(Fault{Name: "gone.example.net", Failure: TimedOut}); err != nil {
		t.Fatal(err)
	}
	var rec recorder
	res.Lookup(rec.caller("relay.example.com"), "Alias.Example.Org", TXT)
	res.Lookup(rec.caller("relay.example.com"), "dangling.example.org", A)
	want := []string{
		"0s dns.query relay.example.com alias.example.org TXT",
		"2ms dns.answer relay.example.com alias.example.org TXT [alias.example.org. IN CNAME www.example.org.]",
		"2ms dns.query relay.example.com www.example.org TXT",
		"4ms dns.answer relay.example.com www.example.org TXT [www.example.org. IN CNAME example.org.]",
		"4ms dns.query relay.example.com example.org TXT",
		`6ms dns.answer relay.example.com example.org TXT [example.org. IN TXT "v=spf1 mx -all"]`,
		"0s dns.query relay.example.com dangling.example.org A",
		"2ms dns.answer relay.example.com dangling.example.org A [dangling.example.org. IN CNAME gone.example.net.]",
		"2ms dns.query relay.example.com gone.example.net A",
		"3.002s dns.answer relay.example.com gone.example.net A [] TIMEOUT",
	}
	if !slices.Equal(rec.steps, want) {
		t.Errorf("trace:\n%s\nwant:\n%s", strings.Join(rec.steps, "\n"), strings.Join(want, "\n"))
	}
}

// TestHealMatchesInject: a fault is named the same way when it is healed as
// when it was injected, whatever the case of its type and name.
func TestHealMatchesInject(t *testing.T) {
	res := newResolver(t, worldZone)
	if err := res.Inject(Fault{Name: "EXAMPLE.ORG.", Type: "mx", Failure: ServFail}); err != nil {
		t.Fatal(err)
	}
	res.Heal("example.org", "mx")
	if f := res.Faults(); len(f) != 0 {
		t.Fatalf("faults left after healing: %v", f)
	}
}

// TestSignedDomains: answers for names in a signed domain carry the AD bit
// (Answer.Secure, and dnssec=secure on the dns.answer event); so does the
// event of an NXDOMAIN there, an authenticated denial, though the lookup
// fails and its Answer is not Secure. Names elsewhere, or reached through
// a CNAME that leaves the signed domain, are not secure; a SERVFAIL never.
func TestSignedDomains(t *testing.T) {
	res := newResolver(t, worldZone+"example.net. MX 10 mx.example.net.\nmx.example.net. A 203.0.113.25\nout.example.org. CNAME mx.example.net.\n")
	if err := res.Zone().Sign("Example.ORG."); err != nil {
		t.Fatal(err)
	}
	if err := res.Zone().Sign("not a name"); err == nil {
		t.Error("Sign accepted a name with spaces")
	}
	if err := res.Inject(Fault{Name: "mx2.example.org", Type: A, Failure: ServFail}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		t         Type
		secure    bool
		attrs     []string // the dnssec attribute of each answer event
		signedFor bool     // Resolver.Signed(name)
	}{
		{"_25._tcp.mx1.example.org", TLSA, true, []string{"secure"}, true},
		{"example.org", MX, true, []string{"secure"}, true},
		{"www.example.org", A, true, []string{"secure", "secure"}, true},    // CNAME inside the signed domain
		{"out.example.org", A, false, []string{"secure", ""}, true},         // CNAME to an unsigned one
		{"_25._tcp.mx2.example.org", TLSA, false, []string{"secure"}, true}, // NXDOMAIN: denial is authenticated, no answer
		{"mx2.example.org", A, false, []string{""}, true},                   // SERVFAIL: never secure
		{"mx.example.net", A, false, []string{""}, false},
	}
	for _, tt := range tests {
		var attrs []string
		c := Caller{Host: "relay", Record: func(e trace.Event, _ time.Duration) {
			if e.Kind == trace.DNSAnswer {
				attrs = append(attrs, e.Attrs[AttrDNSSEC])
			}
		}}
		ans, _ := res.Lookup(c, tt.name, tt.t)
		if ans.Secure != tt.secure || !slices.Equal(attrs, tt.attrs) || res.Signed(tt.name) != tt.signedFor {
			t.Errorf("%s %s: secure %v, attrs %q, signed %v; want %v, %q, %v",
				tt.name, tt.t, ans.Secure, attrs, res.Signed(tt.name), tt.secure, tt.attrs, tt.signedFor)
		}
	}
}

// The zone shares its record sets with every answer it gives (see rrset):
// an answer a caller of Lookup changes must not change the next one.
func TestLookupGivesACopy(t *testing.T) {
	res := newResolver(t, worldZone)
	ans, err := res.Lookup(Caller{}, "example.org", MX)
	if err != nil || len(ans.Records) != 2 {
		t.Fatalf("Lookup = %v, %v; want the two MX records", ans.Records, err)
	}
	ans.Records[0].Target = "changed.example.org"
	again, _ := res.Lookup(Caller{}, "example.org", MX)
	if again.Records[0].Target != "mx1.example.org" {
		t.Errorf("a caller's change reached the zone: %v", again.Records)
	}
	route, err := res.SelectMX(Caller{}, "example.org", nil)
	if err != nil || route.Targets[0].Host != "mx1.example.org" {
		t.Errorf("SelectMX after the change = %v, %v", route.Targets, err)
	}
}
