package dns

import (
	"cmp"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// Route is where mail for a domain goes: the mail exchangers to try, in
// order, each with its addresses. The lab's MTA tries Targets[0] first and
// moves on to the next when no connection can be made or when the server
// fails the session as a whole (a 421 or 5xx greeting, a lost connection);
// what a server answers about a recipient or the message, even 4xx,
// decides the attempt (engine/mta).
type Route struct {
	Domain   string        `json:"domain"`             // the domain asked for, normalised
	Implicit bool          `json:"implicit,omitempty"` // no MX records: the domain is its own mail host
	Targets  []Target      `json:"targets"`
	Skipped  []Skipped     `json:"skipped,omitempty"` // MX targets that cannot be used, and why
	Cost     time.Duration `json:"cost"`              // virtual time all the lookups took
}

// Target is one mail exchanger to try.
type Target struct {
	Host  string   `json:"host"`
	Pref  uint16   `json:"pref"`
	Addrs []string `json:"addrs"`          // A addresses, then AAAA, in the order DNS gave them
	Note  string   `json:"note,omitempty"` // something odd but survivable, e.g. an alias
}

// Skipped is an MX target left out of the route.
type Skipped struct {
	Host      string `json:"host"`
	Pref      uint16 `json:"pref"`
	Reason    string `json:"reason"`
	Temporary bool   `json:"temporary,omitempty"` // it may work on a later try
}

// SelectMX finds where to deliver mail for domain, following RFC 5321 §5.1:
//
//   - Look up MX (following a CNAME at the domain). NXDOMAIN is a permanent
//     error; SERVFAIL and TIMEOUT are temporary, and the MTA retries later.
//   - A single MX with preference 0 and target "." is a null MX (RFC 7505):
//     the domain takes no mail, ErrNullMX (an MTA answers 556 5.1.10).
//   - No MX records at all: the domain itself is the mail host with
//     preference 0 (the "implicit MX"), if it has an address.
//   - Sort by preference, lowest first; shuffle each group of equal
//     preference with rng to spread the load, as the RFC requires. A nil rng
//     keeps zone order, for tests and lessons that want a fixed path.
//   - If the asking host (c.Host) is itself one of the exchangers, drop it
//     and everything at its preference or worse; nothing left is ErrLoopsBack.
//   - Resolve each target's A and AAAA records. A target without an address
//     is skipped and noted. A target that is a CNAME is followed, as common
//     MTAs do, with a note: RFC 5321 puts it outside the standard and RFC
//     2181 §10.3 forbids it.
//   - No usable target: ErrNoUsableMX, or the first temporary error when
//     some target might work later.
//
// The Route is returned with what was found even when err is not nil.
func (r *Resolver) SelectMX(c Caller, domain string, rng *rand.Rand) (Route, error) {
	s := &session{r: r, c: c}
	route, err := s.selectMX(domain, rng)
	route.Cost = s.elapsed
	return route, err
}

func (s *session) selectMX(domain string, rng *rand.Rand) (Route, error) {
	route := Route{Domain: Normalize(domain)}
	ans, err := s.lookup(route.Domain, MX)
	if err != nil {
		return route, err
	}
	// A copy to sort and prune (the answer's records are the zone's own),
	// on the stack when there are only a few, as there mostly are.
	var room [4]Record
	mxs := append(room[:0], ans.Records...)
	if len(mxs) == 0 {
		// RFC 5321 §5.1: "an empty list of MXs" means an implicit MX.
		route.Implicit = true
		mxs = []Record{{Name: ans.Canonical, Type: MX, Pref: 0, Target: ans.Canonical}}
	}
	if len(mxs) == 1 && mxs[0].Pref == 0 && mxs[0].Target == Root {
		return route, &Error{Name: route.Domain, Type: MX, Err: ErrNullMX}
	}
	order(mxs, rng)
	mxs = dropRepeats(mxs)
	if mxs, err = dropSelf(mxs, Normalize(s.c.Host)); err != nil {
		return route, &Error{Name: route.Domain, Type: MX, Err: err}
	}
	var firstTemp error
	// The targets' addresses are gathered on the stack, then copied into
	// one list they share, each its own part of it (see shareAddrs): a
	// route to two exchangers made a list for each.
	var addrRoom [8]string
	var endRoom [4]int
	addrs, ends := addrRoom[:0], endRoom[:0] // ends[i]: where the addresses of route.Targets[i] end
	for _, mx := range mxs {
		var t Target
		t, addrs, err = s.target(mx, addrs)
		if err != nil {
			route.Skipped = append(route.Skipped, Skipped{Host: mx.Target, Pref: mx.Pref, Reason: err.Error(), Temporary: IsTemporary(err)})
			if firstTemp == nil && IsTemporary(err) {
				firstTemp = err
			}
			continue
		}
		if route.Targets == nil {
			route.Targets = make([]Target, 0, len(mxs)) // room for every one, in one allocation
		}
		route.Targets = append(route.Targets, t)
		ends = append(ends, len(addrs))
	}
	shareAddrs(route.Targets, addrs, ends)
	switch {
	case len(route.Targets) > 0:
		return route, nil
	case firstTemp != nil:
		return route, fmt.Errorf("no mail exchanger of %s is usable for now: %w", route.Domain, firstTemp)
	default:
		return route, &Error{Name: route.Domain, Type: MX, Err: ErrNoUsableMX}
	}
}

// order sorts MX records by preference and shuffles each run of equal
// preference with rng.
func order(mxs []Record, rng *rand.Rand) {
	// An insertion sort: stable, and an MX list is a handful of records.
	for i := 1; i < len(mxs); i++ {
		for j := i; j > 0 && mxs[j].Pref < mxs[j-1].Pref; j-- {
			mxs[j], mxs[j-1] = mxs[j-1], mxs[j]
		}
	}
	if rng == nil {
		return
	}
	for i := 0; i < len(mxs); {
		j := i + 1
		for j < len(mxs) && mxs[j].Pref == mxs[i].Pref {
			j++
		}
		run := mxs[i:j]
		rng.Shuffle(len(run), func(a, b int) { run[a], run[b] = run[b], run[a] })
		i = j
	}
}

// dropRepeats keeps, of the records in mxs (in order of preference) that
// name one exchanger, the first: a zone may list a host at two
// preferences, and trying it again after it failed would fail again, a
// connection and a timeout spent for nothing.
func dropRepeats(mxs []Record) []Record {
	kept := mxs[:0]
	for _, mx := range mxs {
		seen := false
		for _, k := range kept {
			seen = seen || k.Target == mx.Target
		}
		if !seen {
			kept = append(kept, mx)
		}
	}
	return kept
}

// dropSelf applies the relay rule of RFC 5321 §5.1: when the sending host
// is one of the exchangers, only the more preferred ones may be tried, or
// the mail would go round in circles.
func dropSelf(mxs []Record, self string) ([]Record, error) {
	i := slices.IndexFunc(mxs, func(mx Record) bool { return mx.Target == self })
	if i < 0 || self == Root {
		return mxs, nil
	}
	own := mxs[i].Pref
	kept := slices.DeleteFunc(mxs, func(mx Record) bool { return mx.Pref >= own })
	if len(kept) == 0 {
		return nil, ErrLoopsBack
	}
	return kept, nil
}

// shareAddrs gives each target its addresses, addrs[ends[i-1]:ends[i]],
// from one copy of addrs: a single allocation for the route. Each target's
// list is capped at its end, so that appending to it makes a new list
// rather than writing over the next target's addresses.
func shareAddrs(targets []Target, addrs []string, ends []int) {
	if len(addrs) == 0 {
		return
	}
	all := slices.Clone(addrs)
	start := 0
	for i, end := range ends {
		targets[i].Addrs = all[start:end:end]
		start = end
	}
}

// target resolves one exchanger's addresses: A, then AAAA unless the A
// lookup already showed that the name does not exist. It appends them to
// addrs, where selectMX gathers those of every target (see shareAddrs),
// and leaves the Target's Addrs to it; a target it returns an error for
// has none.
func (s *session) target(mx Record, addrs []string) (Target, []string, error) {
	t := Target{Host: mx.Target, Pref: mx.Pref}
	if mx.Target == Root {
		return t, addrs, errors.New(`target "." is a null MX, which must be a domain's only MX (RFC 7505 §3)`)
	}
	var notes []string
	var firstErr error
	aliased := false
	start := len(addrs)
	for _, rtype := range []Type{A, AAAA} {
		ans, err := s.lookup(mx.Target, rtype)
		if err != nil {
			firstErr = cmp.Or(firstErr, err)
			if errors.Is(err, ErrNXDomain) {
				break
			}
			notes = append(notes, err.Error())
			continue
		}
		if len(ans.Chain) > 0 && !aliased {
			aliased = true
			notes = append(notes, fmt.Sprintf("%s is an alias of %s: MX targets must not be CNAMEs (RFC 2181 §10.3)", mx.Target, ans.Canonical))
		}
		for _, rec := range ans.Records {
			addrs = append(addrs, rec.Addr)
		}
	}
	if len(addrs) == start {
		if firstErr != nil {
			return t, addrs, firstErr
		}
		return t, addrs, &Error{Name: mx.Target, Type: A, Err: ErrNoAddress}
	}
	t.Note = strings.Join(notes, "; ")
	return t, addrs, nil
}
