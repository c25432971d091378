package dns

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"smtplab/engine/trace"
)

// Costs the Resolver charges for a lookup, in virtual time.
const (
	DefaultLatency  = 5 * time.Millisecond // one answered query
	DefaultTimeout  = 5 * time.Second      // a query nobody answers (the resolv.conf default)
	DefaultMaxCNAME = 8                    // aliases followed before giving up
)

// Failure is a way a query can fail, injected into a Resolver with a Fault.
// The strings are the ones dns.answer events carry in their error field.
type Failure string

// The failures a query can meet.
const (
	NXDomain Failure = "NXDOMAIN" // the name does not exist (RCODE 3): permanent
	ServFail Failure = "SERVFAIL" // the server could not answer (RCODE 2): temporary
	TimedOut Failure = "TIMEOUT"  // no answer at all: temporary
)

// The errors a lookup or an MX selection returns, wrapped in an *Error or
// with fmt.Errorf; test them with errors.Is and IsTemporary.
var (
	ErrNXDomain   error = &failure{"NXDOMAIN: the name does not exist", false}
	ErrServFail   error = &failure{"SERVFAIL: the name server failed to answer", true}
	ErrTimeout    error = &failure{"TIMEOUT: no answer from the name server", true}
	ErrCNAMELoop  error = &failure{"CNAME chain too long, probably a loop", true}
	ErrNullMX     error = &failure{"null MX: the domain accepts no mail (RFC 7505)", false}
	ErrNoAddress  error = &failure{"no A or AAAA record", false}
	ErrNoUsableMX error = &failure{"no usable mail exchanger (RFC 5321 §5.1)", false}
	ErrLoopsBack  error = &failure{"mail loops back to this host: it is the best mail exchanger (RFC 5321 §5.1)", false}
)

// failure is the type of the sentinel errors. Whether a failure is
// temporary decides whether an MTA keeps the message queued and retries
// (4xx) or bounces it (5xx). A CNAME loop counts as temporary because real
// recursive resolvers report it as SERVFAIL.
type failure struct {
	msg       string
	temporary bool
}

func (f *failure) Error() string   { return f.msg }
func (f *failure) Temporary() bool { return f.temporary }

func (f Failure) err() error {
	return map[Failure]error{NXDomain: ErrNXDomain, ServFail: ErrServFail, TimedOut: ErrTimeout}[f]
}

// Error is a failed lookup: which name and type, and which failure.
type Error struct {
	Name string // the name that failed, normalised
	Type Type
	Err  error // one of the Err... sentinels
}

func (e *Error) Error() string   { return fmt.Sprintf("dns: %s %s: %v", e.Name, e.Type, e.Err) }
func (e *Error) Unwrap() error   { return e.Err }
func (e *Error) Temporary() bool { return IsTemporary(e.Err) }

// IsTemporary reports whether err is a DNS failure worth retrying later
// (SERVFAIL, TIMEOUT) rather than a permanent one (NXDOMAIN, null MX, ...).
func IsTemporary(err error) bool {
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}

// Fault makes queries for Name fail, for every type or only for Type.
type Fault struct {
	Name    string  `json:"name" yaml:"name"`
	Type    Type    `json:"type,omitempty" yaml:"type,omitempty"`
	Failure Failure `json:"failure" yaml:"failure"`
}

type faultKey struct {
	name string
	t    Type
}

// Resolver answers queries from a Zone the way a recursive resolver would,
// except where a Fault says otherwise. It never reads a clock: each answer
// has a cost in virtual time that the caller adds to its own clock.
type Resolver struct {
	Latency  time.Duration // cost of an answer, NXDOMAIN or SERVFAIL
	Timeout  time.Duration // cost of a TIMEOUT
	MaxCNAME int           // CNAMEs followed in one lookup

	zone   *Zone
	faults map[faultKey]Failure
}

// NewResolver returns a resolver over z with the default costs.
func NewResolver(z *Zone) *Resolver {
	return &Resolver{
		Latency: DefaultLatency, Timeout: DefaultTimeout, MaxCNAME: DefaultMaxCNAME,
		zone: z, faults: make(map[faultKey]Failure),
	}
}

// Zone returns the zone the resolver answers from.
func (r *Resolver) Zone() *Zone { return r.zone }

// Inject makes queries matching f fail until Heal removes the fault. A fault
// for one type wins over a fault for all types of the same name.
func (r *Resolver) Inject(f Fault) error {
	if f.Failure.err() == nil {
		return fmt.Errorf("dns: unknown failure %q (want NXDOMAIN, SERVFAIL or TIMEOUT)", f.Failure)
	}
	t := Type(strings.ToUpper(string(f.Type)))
	if t != "" && !t.known() {
		return fmt.Errorf("dns: fault for unknown record type %q", f.Type)
	}
	r.faults[faultKey{Normalize(f.Name), t}] = f.Failure
	return nil
}

// Heal removes the fault for name and type t (empty t: the all-types one).
func (r *Resolver) Heal(name string, t Type) {
	// As Inject does: "mx" and "MX" name one fault.
	delete(r.faults, faultKey{Normalize(name), Type(strings.ToUpper(string(t)))})
}

// Faults lists the injected faults sorted by name and type.
func (r *Resolver) Faults() []Fault {
	var out []Fault
	for k, f := range r.faults {
		out = append(out, Fault{Name: k.name, Type: k.t, Failure: f})
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		return a.Name < b.Name || a.Name == b.Name && a.Type < b.Type
	})
	return out
}

// The attribute of a dns.answer event that says a validating resolver
// vouches for it (the AD bit, RFC 4035 §3.2.3), and its value. Answers
// from unsigned domains and failed answers do not carry it.
const (
	AttrDNSSEC   = "dnssec"
	DNSSECSecure = "secure"
)

// Recorder receives the trace events of a lookup in order: a dns.query and
// a dns.answer for every query the resolver sends. elapsed is the virtual
// time since the lookup began, so a caller can stamp the event at its own
// clock's start time plus elapsed (or simply now). The resolver leaves the
// event's ID and At to the caller.
type Recorder func(e trace.Event, elapsed time.Duration)

// Caller says who is asking: Host is the asking host's name, written into
// every event (and, for SelectMX, the name the RFC 5321 §5.1 loop check
// compares MX targets with); Record may be nil.
type Caller struct {
	Host   string
	Record Recorder
}

// Answer is the result of a lookup.
type Answer struct {
	Name      string        `json:"name"`            // the name asked for, normalised
	Type      Type          `json:"type"`            // the type asked for
	Canonical string        `json:"canonical"`       // the name the records belong to, after CNAMEs
	Chain     []Record      `json:"chain,omitempty"` // the CNAMEs followed, in order
	Records   []Record      `json:"records"`         // empty: the name exists but has no such records
	Cost      time.Duration `json:"cost"`            // virtual time the lookup took
	// Secure is the AD bit of a validating resolver (RFC 4035 §3.2.3):
	// every name the lookup asked about, the CNAMEs on the way included,
	// lies in a signed domain (see Zone.Sign), so the records, or the fact
	// that there are none, can be trusted. False on failure.
	Secure bool `json:"secure,omitempty"`
}

// Lookup asks for name's records of type t, following CNAMEs (RFC 1034
// §3.6.2) unless t is CNAME. It fails with an *Error wrapping ErrNXDomain,
// ErrServFail, ErrTimeout or ErrCNAMELoop; an empty answer is not an error.
// Answer.Cost is set on failure too.
func (r *Resolver) Lookup(c Caller, name string, t Type) (Answer, error) {
	s := &session{r: r, c: c}
	ans, err := s.lookup(Normalize(name), Type(strings.ToUpper(string(t))))
	ans.Cost = s.elapsed
	// The records are the zone's own (see rrset): the caller gets its copy.
	ans.Records = slices.Clone(ans.Records)
	return ans, err
}

// Signed reports whether name lies in a domain signed with DNSSEC (see
// Zone.Sign). A validating resolver knows it from the chain of DS records
// above the name, even when the name's own query fails; a failure there is
// then not a missing answer but one that could not be validated, which a
// DANE client must not ignore (RFC 7672 §2.1.1).
func (r *Resolver) Signed(name string) bool { return r.zone.Signed(name) }

// Records returns a function that looks names up for c like Lookup and
// keeps only the records of each answer: what the sender checks (SPF,
// DMARC) ask of DNS.
func (r *Resolver) Records(c Caller) func(name string, t Type) ([]Record, error) {
	return func(name string, t Type) ([]Record, error) {
		ans, err := r.Lookup(c, name, t)
		return ans.Records, err
	}
}

// session is one top-level request (a Lookup or a SelectMX): it adds up the
// virtual time spent so the recorder can place each event.
type session struct {
	r       *Resolver
	c       Caller
	elapsed time.Duration
}

// lookup looks name up, which is normalised (see Normalize): a name the
// caller normalised, or one from the zone, whose records are.
func (s *session) lookup(name string, t Type) (Answer, error) {
	ans := Answer{Name: name, Type: t, Secure: true}
	qname := ans.Name
	for hops := 0; ; hops++ {
		records, err := s.query(qname, t)
		if err != nil {
			ans.Secure = false
			return ans, err
		}
		ans.Secure = ans.Secure && s.r.zone.Signed(qname)
		if t == CNAME || len(records) == 0 || records[0].Type != CNAME {
			ans.Canonical, ans.Records = qname, records
			return ans, nil
		}
		if hops == s.r.MaxCNAME {
			return ans, &Error{Name: ans.Name, Type: t, Err: ErrCNAMELoop}
		}
		ans.Chain = append(ans.Chain, records[0])
		qname = records[0].Target
	}
}

// query sends one query and traces it and its answer.
func (s *session) query(name string, t Type) ([]Record, error) {
	s.record(trace.Event{Kind: trace.DNSQuery, Host: s.c.Host, Name: name, RType: string(t)})
	var fail Failure
	if len(s.r.faults) > 0 {
		var ok bool
		if fail, ok = s.r.faults[faultKey{name, t}]; !ok {
			fail = s.r.faults[faultKey{name, ""}]
		}
	}
	var set rrset
	if fail == "" {
		var exists bool
		if set, exists = s.r.zone.lookup(name, t); !exists {
			fail = NXDomain
		}
	}
	if fail == TimedOut {
		s.elapsed += s.r.Timeout
	} else {
		s.elapsed += s.r.Latency
	}
	answer := trace.Event{Kind: trace.DNSAnswer, Host: s.c.Host, Name: name, RType: string(t), Error: string(fail)}
	if (fail == "" || fail == NXDomain) && s.r.zone.Signed(name) {
		// Records or their absence, validated: the AD bit is set.
		answer.Attrs = map[string]string{AttrDNSSEC: DNSSECSecure}
	}
	answer.Text = set.text
	s.record(answer)
	if fail != "" {
		return nil, &Error{Name: name, Type: t, Err: fail.err()}
	}
	return set.records, nil
}

func (s *session) record(e trace.Event) {
	if s.c.Record != nil {
		s.c.Record(e, s.elapsed)
	}
}
