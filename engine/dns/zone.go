package dns

import (
	"fmt"
	"slices"
	"strings"
)

// Zone is everything the simulated DNS knows: one set of records for the
// whole world, looked up by name and type. The world has no delegation and
// no caches, so one Zone stands for all the authoritative servers at once.
//
// A name exists when it owns records or when a name below it does (an
// "empty non-terminal", RFC 8020): with only mx1.example.org in the zone,
// example.org exists but has no records, so asking for it gives an empty
// answer, not NXDOMAIN.
//
// Some domains may be marked as signed with DNSSEC (see Sign). The lab
// computes no signatures: a signed domain stands for one whose chain of
// trust a validating resolver could check, so that it sets the AD
// ("authentic data") bit on every answer for a name in it (RFC 4035 §3.2.3).
// That bit is what DANE (RFC 7672) needs before it trusts a TLSA record.
type Zone struct {
	records []Record            // in the order they were added
	byName  map[string][]Record // owner name → its records
	exists  map[string]bool     // owners and all their ancestors
	signed  map[string]bool     // apexes of the domains signed with DNSSEC

	// sets holds the records of each name and type, with the answer's
	// text. Each answer is traced as text, and a busy world asks the same
	// few questions thousands of times, so each record set is gathered
	// and formatted once, when a record is added.
	sets map[setKey]rrset
	// aliased reports whether any name has a CNAME: most zones have none,
	// and their queries need not look for one.
	aliased bool

	// recent holds the answers of the last few lookups: a relay asks the
	// same few questions for every message (its next hop's MX, and the
	// addresses of the targets), and comparing a name, mostly of another
	// length or the zone's own string, costs less than hashing it and its
	// type into sets. Adding or removing records empties it (see index).
	recent     [8]zoneAnswer
	nextRecent int // the entry of recent the next new answer replaces
}

// zoneAnswer is an entry of Zone.recent: what lookup returned for a name
// and type.
type zoneAnswer struct {
	name   string
	t      Type
	set    rrset
	exists bool
}

// setKey names a record set: an owner name and a type.
type setKey struct {
	name string
	t    Type
}

// rrset is the records of one name and type, in the order they were
// added, and their zone-file lines joined by newlines, as a dns.answer
// event shows them. Its records are shared by every answer: no one may
// change them (see Resolver.Lookup, which hands out copies).
type rrset struct {
	records []Record
	text    string
}

// NewZone returns a zone holding records. It fails on the first record
// that is invalid or conflicts with an earlier one.
func NewZone(records ...Record) (*Zone, error) {
	z := &Zone{}
	z.reindex()
	for _, r := range records {
		if err := z.Add(r); err != nil {
			return nil, err
		}
	}
	return z, nil
}

// ParseZone is Parse followed by NewZone.
func ParseZone(text string) (*Zone, error) {
	records, err := Parse(text)
	if err != nil {
		return nil, err
	}
	return NewZone(records...)
}

// Add checks r, normalises it and adds it to the zone. Adding a record that
// is already there does nothing, since DNS record sets are sets. A CNAME
// cannot share its name with any other record (RFC 1034 §3.6.2, RFC 2181
// §10.1), so Add refuses both orders of that mistake.
func (z *Zone) Add(r Record) error {
	r, err := r.normalize()
	if err != nil {
		return err
	}
	for _, old := range z.byName[r.Name] {
		if old.sameData(r) {
			return nil
		}
		if old.Type == CNAME || r.Type == CNAME {
			return fmt.Errorf("%s: a CNAME cannot share its name with another record (RFC 2181 §10.1): have %q, adding %q",
				r.Name, old.String(), r.String())
		}
	}
	z.records = append(z.records, r)
	z.index(r)
	return nil
}

// Remove deletes every record of name with type t and reports how many
// there were. An empty t removes every record of name.
func (z *Zone) Remove(name string, t Type) int {
	name = Normalize(name)
	var kept []Record
	for _, r := range z.records {
		if r.Name != name || (t != "" && r.Type != t) {
			kept = append(kept, r)
		}
	}
	n := len(z.records) - len(kept)
	z.records = kept
	z.reindex()
	return n
}

// Records returns every record in the order it was added, for display and
// for saving a world. The caller must not modify the slice.
func (z *Zone) Records() []Record { return z.records }

// Sign marks domain, and every name below it, as signed with DNSSEC: a
// validating resolver's answers for those names, records or their absence,
// are authenticated (see Zone). The domain need not own records itself.
func (z *Zone) Sign(domain string) error {
	domain = Normalize(domain)
	if err := checkName(domain); err != nil {
		return fmt.Errorf("signed domain: %w", err)
	}
	if z.signed == nil {
		z.signed = make(map[string]bool)
	}
	z.signed[domain] = true
	return nil
}

// Signed reports whether name lies in a domain marked with Sign: the name
// itself or one of its ancestors.
func (z *Zone) Signed(name string) bool {
	if z == nil || len(z.signed) == 0 {
		return false
	}
	for name = Normalize(name); ; {
		if z.signed[name] {
			return true
		}
		i := strings.IndexByte(name, '.')
		if i < 0 {
			return false
		}
		name = name[i+1:]
	}
}

// lookup returns name's records of type t, or its CNAME when it has one and
// t is not CNAME (a CNAME is alone at its name: see Add). exists is false
// when name is not in the zone at all.
func (z *Zone) lookup(name string, t Type) (set rrset, exists bool) {
	if z == nil {
		return rrset{}, false
	}
	for i := range z.recent {
		if a := &z.recent[i]; a.name == name && a.t == t && name != "" {
			return a.set, a.exists
		}
	}
	set, exists = z.find(name, t)
	z.recent[z.nextRecent] = zoneAnswer{name, t, set, exists}
	z.nextRecent = (z.nextRecent + 1) % len(z.recent)
	return set, exists
}

// find is lookup without the answers kept in recent.
func (z *Zone) find(name string, t Type) (set rrset, exists bool) {
	if t != CNAME && z.aliased {
		if alias, ok := z.sets[setKey{name, CNAME}]; ok {
			return alias, true
		}
	}
	if set, ok := z.sets[setKey{name, t}]; ok {
		return set, true // a name with records exists
	}
	return rrset{}, z.exists[name]
}

// sameData reports whether r and o are the same record, ignoring the TTL.
func (r Record) sameData(o Record) bool {
	o.TTL = r.TTL
	return r == o
}

func (z *Zone) reindex() {
	z.recent = [len(z.recent)]zoneAnswer{} // answers may change
	z.byName = make(map[string][]Record)
	z.exists = make(map[string]bool)
	z.sets = make(map[setKey]rrset)
	z.aliased = false
	for _, r := range z.records {
		z.index(r)
	}
}

func (z *Zone) index(r Record) {
	z.recent = [len(z.recent)]zoneAnswer{} // answers may change
	z.byName[r.Name] = append(z.byName[r.Name], r)
	z.aliased = z.aliased || r.Type == CNAME
	key := setKey{r.Name, r.Type}
	set := z.sets[key]
	if set.text != "" {
		set.text += "\n"
	}
	// Clipped, so that an append to an answer's records copies them.
	set.records = slices.Clip(append(set.records, r))
	set.text += r.String()
	z.sets[key] = set
	for name := r.Name; !z.exists[name]; {
		z.exists[name] = true
		i := strings.IndexByte(name, '.')
		if i < 0 {
			break
		}
		name = name[i+1:]
	}
}
