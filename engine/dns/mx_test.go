package dns

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"smtplab/engine/trace"
)

// mxZone adds to worldZone the domains the MX tests need.
const mxZone = worldZone + `
implicit.example.     A     192.0.2.30
implicit.example.     AAAA  2001:db8::30
v6only.example.       AAAA  2001:db8::31
nomail.example.       TXT   "no MX, no address"
null.example.         MX    0 .
null10.example.       MX    10 .
mixednull.example.    MX    0 .
mixednull.example.    MX    10 mx2.example.org.
cnamemx.example.      MX    10 mxalias.example.
mxalias.example.      CNAME mx2.example.org.
alias.example.        CNAME implicit.example.
skip.example.         MX    10 nohost.example.
skip.example.         MX    20 noaddr.example.
skip.example.         MX    30 mx2.example.org.
noaddr.example.       TXT   "a host without an address"
deadmx.example.       MX    10 nohost.example.
deadmx.example.       MX    20 noaddr.example.
flaky.example.        MX    10 mx1.example.org.
flaky.example.        MX    10 nohost.example.
tie.example.          MX    10 a.tie.example.
tie.example.          MX    10 b.tie.example.
tie.example.          MX    10 c.tie.example.
tie.example.          MX    10 d.tie.example.
tie.example.          MX    5  first.tie.example.
tie.example.          MX    20 last.tie.example.
a.tie.example.        A     192.0.2.1
b.tie.example.        A     192.0.2.2
c.tie.example.        A     192.0.2.3
d.tie.example.        A     192.0.2.4
first.tie.example.    A     192.0.2.5
last.tie.example.     A     192.0.2.6
loopmx.example.       MX    10 loop1.example.org.
loopmx.example.       MX    20 mx2.example.org.
chainmx.example.      MX    10 CNAME1.Example.
cname1.example.       CNAME cname2.example.
cname2.example.       CNAME mx2.example.org.
selftie.example.      MX    10 mx1.example.org.
selftie.example.      MX    10 mx2.example.org.
selftie.example.      MX    5  first.tie.example.
twice.example.        MX    10 mx2.example.org.
twice.example.        MX    20 mx1.example.org.
twice.example.        MX    30 MX2.Example.ORG.
`

// hosts prints a route's targets as "host(pref)=addr,addr ..." and its
// skipped targets as "-host".
func hosts(r Route) string {
	var parts []string
	for _, t := range r.Targets {
		parts = append(parts, fmt.Sprintf("%s(%d)=%s", t.Host, t.Pref, strings.Join(t.Addrs, ",")))
	}
	for _, s := range r.Skipped {
		parts = append(parts, "-"+s.Host)
	}
	return strings.Join(parts, " ")
}

func TestSelectMX(t *testing.T) {
	tests := []struct {
		name      string
		domain    string
		self      string // the asking host
		faults    []Fault
		want      string // hosts(route)
		err       error  // nil for success
		temporary bool
		implicit  bool
		note      string // a target note must contain this
	}{
		{name: "by preference", domain: "Example.ORG.",
			want: "mx1.example.org(10)=192.0.2.10,2001:db8::10 mx2.example.org(20)=192.0.2.20"},
		{name: "implicit MX", domain: "implicit.example", implicit: true,
			want: "implicit.example(0)=192.0.2.30,2001:db8::30"},
		{name: "implicit MX, IPv6 only", domain: "v6only.example", implicit: true,
			want: "v6only.example(0)=2001:db8::31"},
		{name: "implicit MX through a CNAME", domain: "alias.example", implicit: true,
			want: "implicit.example(0)=192.0.2.30,2001:db8::30"},
		{name: "no MX and no address", domain: "nomail.example", implicit: true,
			want: "-nomail.example", err: ErrNoUsableMX},
		{name: "null MX", domain: "null.example", err: ErrNullMX},
		{name: "root target with preference 10 is no null MX", domain: "null10.example",
			want: "-.", err: ErrNoUsableMX},
		{name: "null MX beside another MX is skipped", domain: "mixednull.example",
			want: "mx2.example.org(10)=192.0.2.20 -."},
		{name: "MX target is a CNAME", domain: "cnamemx.example",
			want: "mxalias.example(10)=192.0.2.20", note: "RFC 2181 §10.3"},
		{name: "targets without address are skipped", domain: "skip.example",
			want: "mx2.example.org(30)=192.0.2.20 -nohost.example -noaddr.example"},
		{name: "no target has an address", domain: "deadmx.example",
			want: "-nohost.example -noaddr.example", err: ErrNoUsableMX},
		{name: "domain does not exist", domain: "nope.example", err: ErrNXDomain},
		{name: "MX lookup SERVFAIL", domain: "example.org", err: ErrServFail, temporary: true,
			faults: []Fault{{Name: "example.org", Type: MX, Failure: ServFail}}},
		{name: "MX lookup TIMEOUT", domain: "example.org", err: ErrTimeout, temporary: true,
			faults: []Fault{{Name: "example.org", Failure: TimedOut}}},
		{name: "injected NXDOMAIN", domain: "example.org", err: ErrNXDomain,
			faults: []Fault{{Name: "example.org", Failure: NXDomain}}},
		{name: "only target that may work times out", domain: "flaky.example",
			want: "-mx1.example.org -nohost.example", err: ErrTimeout, temporary: true,
			faults: []Fault{{Name: "mx1.example.org", Failure: TimedOut}}},
		{name: "A fails, AAAA answers", domain: "example.org",
			want: "mx1.example.org(10)=2001:db8::10 mx2.example.org(20)=192.0.2.20", note: "SERVFAIL",
			faults: []Fault{{Name: "mx1.example.org", Type: A, Failure: ServFail}}},
		{name: "backup MX relays only to better ones", domain: "example.org", self: "MX2.example.org.",
			want: "mx1.example.org(10)=192.0.2.10,2001:db8::10"},
		{name: "best MX loops back", domain: "example.org", self: "mx1.example.org", err: ErrLoopsBack},
		{name: "an exchanger tied with this host goes too", domain: "selftie.example", self: "mx2.example.org",
			want: "first.tie.example(5)=192.0.2.5"},
		{name: "the domain is a CNAME loop: temporary, as a resolver's SERVFAIL", domain: "loop1.example.org",
			err: ErrCNAMELoop, temporary: true},
		{name: "a target in a CNAME loop is skipped, the next one used", domain: "loopmx.example",
			want: "mx2.example.org(20)=192.0.2.20 -loop1.example.org"},
		{name: "an exchanger named twice is tried once, at its better preference", domain: "twice.example",
			want: "mx2.example.org(10)=192.0.2.20 mx1.example.org(20)=192.0.2.10,2001:db8::10"},
		{name: "a target behind two CNAMEs, named in capitals", domain: "CHAINMX.example.",
			want: "cname1.example(10)=192.0.2.20", note: "cname1.example is an alias of mx2.example.org"},
	}
	for _, tt := range tests {
		res := newResolver(t, mxZone)
		for _, f := range tt.faults {
			if err := res.Inject(f); err != nil {
				t.Fatal(err)
			}
		}
		route, err := res.SelectMX(Caller{Host: tt.self}, tt.domain, nil)
		if got := hosts(route); got != tt.want {
			t.Errorf("%s: route %q, want %q", tt.name, got, tt.want)
		}
		if tt.err == nil && err != nil || tt.err != nil && !errors.Is(err, tt.err) {
			t.Errorf("%s: error %v, want %v", tt.name, err, tt.err)
		}
		if err != nil && IsTemporary(err) != tt.temporary {
			t.Errorf("%s: IsTemporary(%v) = %v, want %v", tt.name, err, IsTemporary(err), tt.temporary)
		}
		if route.Implicit != tt.implicit {
			t.Errorf("%s: implicit = %v, want %v", tt.name, route.Implicit, tt.implicit)
		}
		if tt.note != "" && !slices.ContainsFunc(route.Targets, func(t Target) bool { return strings.Contains(t.Note, tt.note) }) {
			t.Errorf("%s: no target note contains %q: %+v", tt.name, tt.note, route.Targets)
		}
		for _, s := range route.Skipped {
			if s.Reason == "" {
				t.Errorf("%s: %s skipped without a reason", tt.name, s.Host)
			}
		}
	}
}

// tieOrder returns the hosts of a tie.example route, without the domain.
func tieOrder(t testing.TB, res *Resolver, rng *rand.Rand) []string {
	route, err := res.SelectMX(Caller{}, "tie.example", rng)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, t := range route.Targets {
		got = append(got, strings.TrimSuffix(t.Host, ".tie.example"))
	}
	return got
}

func TestSelectMXShuffle(t *testing.T) {
	res := newResolver(t, mxZone)
	if got, want := tieOrder(t, res, nil), []string{"first", "a", "b", "c", "d", "last"}; !slices.Equal(got, want) {
		t.Errorf("without a PRNG: %v, want zone order %v", got, want)
	}
	orders := make(map[string]bool)
	for seed := range uint64(20) {
		got := tieOrder(t, res, rand.New(rand.NewPCG(seed, 0)))
		again := tieOrder(t, res, rand.New(rand.NewPCG(seed, 0)))
		if !slices.Equal(got, again) {
			t.Errorf("seed %d: %v, then %v: not deterministic", seed, got, again)
		}
		if got[0] != "first" || got[5] != "last" {
			t.Errorf("seed %d: %v: preference order broken", seed, got)
		}
		middle := slices.Clone(got[1:5])
		slices.Sort(middle)
		if !slices.Equal(middle, []string{"a", "b", "c", "d"}) {
			t.Errorf("seed %d: %v: equal-preference hosts lost or duplicated", seed, got)
		}
		orders[strings.Join(got, " ")] = true
	}
	if len(orders) < 5 {
		t.Errorf("20 seeds gave only %d orders of 4 equal-preference hosts: %v", len(orders), orders)
	}
}

func TestSelectMXTrace(t *testing.T) {
	res := newResolver(t, mxZone)
	if err := res.Inject(Fault{Name: "mx2.example.org", Type: AAAA, Failure: TimedOut}); err != nil {
		t.Fatal(err)
	}
	var rec recorder
	route, err := res.SelectMX(rec.caller("relay"), "example.org", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"0s dns.query relay example.org MX",
		"5ms dns.answer relay example.org MX [example.org. 3600 IN MX 10 mx1.example.org. | example.org. 3600 IN MX 20 mx2.example.org.]",
		"5ms dns.query relay mx1.example.org A",
		"10ms dns.answer relay mx1.example.org A [mx1.example.org. IN A 192.0.2.10]",
		"10ms dns.query relay mx1.example.org AAAA",
		"15ms dns.answer relay mx1.example.org AAAA [mx1.example.org. IN AAAA 2001:db8::10]",
		"15ms dns.query relay mx2.example.org A",
		"20ms dns.answer relay mx2.example.org A [mx2.example.org. IN A 192.0.2.20]",
		"20ms dns.query relay mx2.example.org AAAA",
		"5.02s dns.answer relay mx2.example.org AAAA [] TIMEOUT",
	}
	if !slices.Equal(rec.steps, want) {
		t.Errorf("trace:\n%s\nwant:\n%s", strings.Join(rec.steps, "\n"), strings.Join(want, "\n"))
	}
	if route.Cost != 4*DefaultLatency+DefaultTimeout {
		t.Errorf("cost %v, want %v", route.Cost, 4*DefaultLatency+DefaultTimeout)
	}

	// A nil recorder is allowed and changes nothing but the trace.
	quiet, err := res.SelectMX(Caller{}, "example.org", nil)
	if err != nil || hosts(quiet) != hosts(route) || quiet.Cost != route.Cost {
		t.Errorf("without a recorder: %+v, %v", quiet, err)
	}
	var kinds []trace.Kind
	res.SelectMX(Caller{Record: func(e trace.Event, _ time.Duration) { kinds = append(kinds, e.Kind) }}, "null.example", nil)
	if !slices.Equal(kinds, []trace.Kind{trace.DNSQuery, trace.DNSAnswer}) {
		t.Errorf("null MX trace kinds %v, want one query and one answer", kinds)
	}
}

func BenchmarkSelectMX(b *testing.B) {
	res := newResolver(b, mxZone)
	rng := rand.New(rand.NewPCG(1, 2))
	for b.Loop() {
		if _, err := res.SelectMX(Caller{Host: "relay.example.com"}, "tie.example", rng); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzSelectMX checks SelectMX on any zone the parser accepts: it never
// panics, a route without error has targets in preference order, each with
// an address, the same seed gives the same route, and every query in the
// trace gets its answer.
func FuzzSelectMX(f *testing.F) {
	f.Add(mxZone, "tie.example", uint64(1))
	f.Add(mxZone, "skip.example", uint64(2))
	f.Add("a. MX 0 .\na. MX 0 b.\nb. CNAME a.\na. A 192.0.2.1", "a", uint64(3))
	f.Fuzz(func(t *testing.T, zone, domain string, seed uint64) {
		z, err := ParseZone(zone)
		if err != nil {
			return
		}
		res := NewResolver(z)
		var events []trace.Kind
		caller := Caller{Host: "relay", Record: func(e trace.Event, _ time.Duration) { events = append(events, e.Kind) }}
		route, err := res.SelectMX(caller, domain, rand.New(rand.NewPCG(seed, 0)))
		again, _ := res.SelectMX(Caller{Host: "relay"}, domain, rand.New(rand.NewPCG(seed, 0)))
		if hosts(route) != hosts(again) {
			t.Fatalf("same seed, two routes: %q and %q", hosts(route), hosts(again))
		}
		if (err == nil) != (len(route.Targets) > 0) {
			t.Fatalf("error %v with %d targets", err, len(route.Targets))
		}
		for i, target := range route.Targets {
			if len(target.Addrs) == 0 || i > 0 && target.Pref < route.Targets[i-1].Pref {
				t.Fatalf("bad route %q", hosts(route))
			}
		}
		for i := 0; i < len(events); i += 2 {
			if events[i] != trace.DNSQuery || i+1 == len(events) || events[i+1] != trace.DNSAnswer {
				t.Fatalf("trace kinds %v do not pair queries with answers", events)
			}
		}
	})
}

// TestSelectMXTargetsOwnTheirAddresses holds the targets of a route, whose
// addresses share one list (shareAddrs), to lists of their own: appending
// to one target's addresses changes no other's.
func TestSelectMXTargetsOwnTheirAddresses(t *testing.T) {
	r := newResolver(t, mxZone)
	route, err := r.SelectMX(Caller{Host: "client.example"}, "example.org", nil)
	if err != nil || len(route.Targets) != 2 {
		t.Fatalf("route %+v, err %v; want two targets", route, err)
	}
	before := hosts(route)
	route.Targets[0].Addrs = append(route.Targets[0].Addrs, "192.0.2.99")
	route.Targets[0].Addrs = route.Targets[0].Addrs[:len(route.Targets[0].Addrs)-1]
	if got := hosts(route); got != before {
		t.Errorf("appending to the first target's addresses made the route %s, was %s", got, before)
	}
}
