package trace

import (
	"encoding/binary"
	"math"
	"runtime"
	"slices"
	"unsafe"
)

// Log is an append-only list of events. IDs start at 1 and grow by one, so
// "everything since id N" is a slice, not a search.
//
// A long simulation (ten thousand messages through three hops) appends
// close to a million events, so the Log does not keep them as Events. An
// Event is 288 bytes holding fifteen pointers, and a million of them made
// the garbage collector rescan the whole trace again and again while it
// grew, a large part of the cost of a big world (more so under
// WebAssembly, where the collector has no second core to run on). The
// Log keeps each event as a record instead: every short string field
// (host, verb, reason, ...) becomes the number of that string in a table
// of the distinct strings seen, so records hold no pointers and are never
// scanned. A record is also small (see record), since a world keeps
// every one: under WebAssembly each time the heap grows costs more the
// bigger it is already. The free text is not numbered (that would hash
// every line of every message): each chunk of records appends the texts
// of its events to one buffer of octets, and a record says where its text
// is there.
// That keeps the texts of a million events out of the collector's way
// too, and lets a write's bytes go into the trace without first being
// made a string of their own (AddText). Most texts come round again (an
// EHLO reply, a DNS answer, "Ok"): a text equal to one the chunk holds
// already is found through a small cache and not written twice (see
// putText). Get and Since turn records back into Events; their texts are
// pieces of the chunk's text, so they cost nothing to give back, though
// an Event kept keeps its chunk's texts.
//
// Records live in fixed-size chunks, so growing the Log never copies what
// it already holds.
type Log struct {
	chunks   []*chunk
	last     *chunk   // the newest of chunks, where events are added
	slab     []record // room made for the records of chunks to come (see newChunk)
	n        int      // id of the last event
	dropped  int      // events dropped from the front (see Keep)
	keep     int      // events to keep; 0: keep everything
	keepText int      // octets of free text to keep; 0: no bound
	text     int      // octets of free text held

	strings strTable
	attrs   map[int]span   // by event id: where its attributes are in its chunk's text (see putAttrs); few events have any
	spilled map[int]*Event // by event id: the events no record can hold (see record)
}

// chunkSize is how many events one chunk holds.
const chunkSize = 4096

// maxTextReserve bounds the room for text a new chunk reserves (see add).
const maxTextReserve = 1 << 20

// chunk holds chunkSize events, or fewer for the last one.
type chunk struct {
	records []record
	base    int64           // the time of its first event, which its records' times are counted from
	text    []byte          // the texts of the records, each written once, never written over
	held    int             // octets of text of its records, a shared text counted for each (see Keep)
	recent  [textSlots]span // texts written lately, by a hash of a few of their octets (see putText)
}

// span is where a text is in its chunk's text. A chunk's text stays far
// below 4 GiB: it is the texts of 4096 events, and a bytes event's text
// is cut at 64 KiB (simnet's maxTraceText). putText panics rather than
// let it pass.
type span struct{ start, end uint32 }

// textSlots is how many texts a chunk's cache remembers: enough for the
// thirty-odd texts that come back in every message of a three-hop world.
const (
	textSlotBits = 7
	textSlots    = 1 << textSlotBits
)

// record is an Event as the Log stores it (see Log). Its ID is its place
// in the Log and its Attrs are kept aside.
//
// An event sets few of its fields: besides its kind, host and peer, a
// bytes event has a direction, a reply a verb, an enhanced code and a
// reason, a DNS answer a name and a type. So a record has room for three
// of the ten other string fields, in extra, and mask says which they
// are; its numbers are as narrow as the values they hold in practice.
// Its time is counted in milliseconds from its chunk's first, which
// takes 32 bits where the time itself took 64. Most events have no size,
// and a bytes event's is the length of its text, which a bit of mask
// says (sizeIsText); any other size takes a place in extra, after the
// strings (optSize). That makes it 48 octets where a field for each was
// 96: a world keeps every record, and under WebAssembly every octet the
// heap grows by costs. An event that does not fit (four of those
// strings, a port past 65535, a size past 4 GiB, a time 49 days past its
// chunk's first) is kept whole in the Log's spilled map instead, so
// nothing is ever cut short; its record holds only its text, and n says
// it spilled.
type record struct {
	at               uint32 // milliseconds after its chunk's base
	text             span   // where its text is in the chunk's text
	conn             uint32
	kind, host, peer strID
	extra            [maxExtra]strID
	port, code       uint16
	mask             uint16 // bit f: extra holds optional field f (see optional)
	n                uint8  // how many places of extra are taken
	tls              bool
}

// maxExtra is how many optional string fields a record holds, and a
// record's n is inSpilled when its event is in the Log's spilled map.
const (
	maxExtra  = 3
	inSpilled = math.MaxUint8
)

// The optional string fields of an Event, by their bit in a record's mask
// and their place in extra, in this order.
const (
	optDir = iota
	optVerb
	optEnhanced
	optReason
	optName
	optRType
	optStep
	optMsg
	optRcpt
	optErr
	numOptional
)

// Bits of a record's mask past the optional strings, for its size: in
// extra after the strings (optSize), or the length of its text
// (sizeIsText).
const (
	optSize = numOptional + iota
	sizeIsText
)

// strID is the number of a string in a strTable; 0 is the empty string.
type strID uint32

// strTable gives each distinct string a number.
//
// A Log numbers several strings of every event it adds, and hashing each
// of them into ids, which in a long trace is too big for the processor's
// cache, was a tenth of the cost of a big simulation. But a field mostly
// has one of a few values (the kinds, the hosts, the verbs and reasons of
// a transaction come round again and again, mostly as the very same
// strings: constants, host names), so the table first looks in a small
// cache of the strings it numbered lately, found by where they are in
// memory, a few instructions (see setOf). Message ids are new more often
// than not, and are not looked up at all (see msgID).
//
// The table keeps the octets of every string it numbered in text, and
// strs says where, rather than keep the strings: a world's trace numbers
// every message id of every host, tens of thousands of strings, and a
// list of them is as many pointers for the garbage collector to follow
// at every cycle (more so under WebAssembly, where it has no second core
// to run on). Their octets are a few large blocks with no pointers.
type strTable struct {
	ids  map[string]strID
	strs []textRef // strs[id-1] is where the string numbered id is
	text [][]byte  // the octets of the strings, each block only appended to (see add)
	sets [cacheSets]cacheSet
	msgs [recentMsgs]recentMsg // the latest message ids, a ring (see msgID)
	msg  int                   // where in msgs the next one goes
}

// textRef is where a string of a strTable is: in block, from start to end.
type textRef struct{ block, start, end uint32 }

// recentMsg is a message id msgID gave a number lately, as it was given.
type recentMsg struct {
	s  string
	id strID
}

// textBlock is how many octets a strTable's block of text holds: those of
// some five hundred message ids.
const textBlock = 8 << 10

// cacheSets is how many sets the cache of a strTable has. The forty-odd
// strings of a three-hop world go to sets by where they are in memory,
// which each build of the program changes (see setOf): with two places in
// each of 512 sets, three of them rarely share one, where with 128 they
// often did, and took turns missing.
const (
	cacheBits = 9
	cacheSets = 1 << cacheBits
)

// cacheSet holds two of the strings whose places in memory hash to the
// same set, the one the cache took last first. A set keeps the strings
// themselves, not their numbers: comparing with one is then a comparison
// of lengths and of two pointers, without first finding the string in
// strs. The cache is twenty kilobytes of pointers the collector scans,
// where a million records would be a million.
type cacheSet struct {
	s  [2]string
	id [2]strID
}

// recentMsgs is how many of the latest message ids msgID compares with: a
// message's id comes back in the few events that follow its queue.add.
const recentMsgs = 4

// number returns the number of s, giving it one if it is new. It is
// small enough to be inlined: most fields of most events are empty.
func (t *strTable) number(s string) strID {
	if s == "" {
		return 0
	}
	return t.lookup(s)
}

// lookup is number for a string that is not empty.
func (t *strTable) lookup(s string) strID {
	if id, ok := t.cached(s); ok {
		return id
	}
	return t.lookupMiss(s)
}

// cached returns the number of s, which is not empty, and true when the
// cache holds s itself, the string at the same place in memory, as it
// mostly does (see setOf): then no octet need be compared. A hit changes
// nothing. It is small enough to be inlined: fill looks for several
// strings of every event.
func (t *strTable) cached(s string) (strID, bool) {
	set := &t.sets[setOf(s)]
	if identical(set.s[0], s) {
		return set.id[0], true
	}
	return set.id[1], identical(set.s[1], s)
}

// lookupMiss is lookup for a string the cache does not hold: the map
// numbers it, and it goes first in its set while the first moves second,
// so that two strings of one set that take turns both stay.
func (t *strTable) lookupMiss(s string) strID {
	id, ok := t.ids[s]
	if !ok {
		if t.ids == nil {
			t.ids = make(map[string]strID)
		}
		id = t.add(s)
		t.ids[t.str(id)] = id // the table's copy: s itself may be a piece of a bigger text
	}
	set := &t.sets[setOf(s)]
	set.s[1], set.id[1] = set.s[0], set.id[0]
	set.s[0], set.id[0] = s, id
	return id
}

// identical reports whether a and b are the same octets in memory.
func identical(a, b string) bool {
	return len(a) == len(b) && unsafe.StringData(a) == unsafe.StringData(b)
}

// setOf returns which set of the cache holds s, which is not empty: a
// hash of where its octets are, as the strings of events are mostly the
// very constants and host names met before. A string equal to one cached
// but elsewhere in memory (a name parsed from a command, say) is looked
// for in another set, and found in the map: the cache is only a shortcut,
// and which set a string goes to changes no number.
func setOf(s string) int {
	p := uint64(uintptr(unsafe.Pointer(unsafe.StringData(s))))
	return int((p * 0x9e3779b97f4a7c15) >> (64 - cacheBits)) // Fibonacci hashing: the top bits mix all of p
}

// msgID returns a number for the message id s. An id is compared with the
// latest few only: finding out that it is new would miss the processor's
// cache in a map that holds every id of the run. An id that comes back
// after those moved on takes a second number, sixteen bytes.
//
// The ids of a host are its prefix and a count, all of one length: two
// of them differ in their last octets, which are compared first, so that
// telling them apart does not read the whole prefix of each.
func (t *strTable) msgID(s string) strID {
	if s == "" {
		return 0
	}
	last := s[len(s)-1]
	for _, r := range t.msgs {
		if m := r.s; r.id != 0 && (identical(m, s) || len(m) == len(s) && m[len(m)-1] == last && m == s) {
			return r.id
		}
	}
	id := t.add(s)
	t.msgs[t.msg] = recentMsg{s, id}
	t.msg = (t.msg + 1) % recentMsgs
	return id
}

// add gives s, which is not empty, a new number, whether or not it has
// one already, and copies it to the last block of text, or to a new one
// when the last has no room left. A block's octets are never written
// over: the strings str gives out are pieces of them.
func (t *strTable) add(s string) strID {
	k := len(t.text) - 1
	if k < 0 || cap(t.text[k])-len(t.text[k]) < len(s) {
		t.text = append(t.text, make([]byte, 0, max(textBlock, len(s))))
		k++
	}
	start := len(t.text[k])
	t.text[k] = append(t.text[k], s...)
	t.strs = append(t.strs, textRef{uint32(k), uint32(start), uint32(len(t.text[k]))})
	return strID(len(t.strs))
}

// str returns the string numbered id.
func (t *strTable) str(id strID) string {
	if id == 0 {
		return ""
	}
	r := t.strs[id-1]
	b := t.text[r.block][r.start:r.end]
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// Keep bounds the log for a process that runs for long, such as the TCP
// bridge: once more than about events events, or more than textOctets
// octets of their free text, are held, the oldest are dropped, a chunk at
// a time (the newest chunk always stays). Both bounds are needed: a client
// that sends ten-kilobyte lines fills memory long before it reaches any
// sensible count of events. Zero means no bound. Ids go on growing; Since
// and Get simply no longer find the dropped ones. A simulated world never
// calls it: its trace is whole.
func (l *Log) Keep(events, textOctets int) {
	l.keep, l.keepText = events, textOctets
}

// Add appends e, giving it the next id, and returns that id.
func (l *Log) Add(e Event) int { return l.AddEvent(&e) }

// AddEvent is Add for an event given by pointer. It reads *e and keeps
// nothing of it, as Add does, unless it spills (see record). An Event is nearly three
// hundred octets and a simulation adds close to a million: a World hands
// its events on by pointer so as not to copy each once more.
func (l *Log) AddEvent(e *Event) int { return l.addEvent(e, e.Text) }

// AddText is Add for an event whose text is the octets text (e.Text is
// not read): what a connection carries is bytes, and they go into the
// trace without being made a string first. Like AddEvent, it reads *e
// and keeps nothing of it unless it spills.
func (l *Log) AddText(e *Event, text []byte) int {
	// Seen as a string, not copied: putText only reads it, to compare it
	// and to copy it into the chunk's text.
	return l.addEvent(e, unsafe.String(unsafe.SliceData(text), len(text)))
}

// addEvent appends the record of e, whose text is text, and returns its
// id. A simulation adds close to a million events, so the steps every
// one takes are written out here, or inlined (added), or called from here
// (fill, putText) rather than from one another: each call cost an event
// about twenty instructions. (It is not generic over the text's type: the
// compiler then let every caller's Event escape to the heap.)
func (l *Log) addEvent(e *Event, text string) int {
	c := l.last
	if c == nil || len(c.records) == chunkSize || len(c.records) == cap(c.records) {
		c = l.grow()
	}
	l.n++
	// The record is written in place: building it aside copied it once
	// more. Its room was made zero, and no record is written twice, so it
	// is taken as it is.
	n := len(c.records)
	c.records = c.records[:n+1]
	r := &c.records[n]
	if n == 0 {
		c.base = e.At
	}
	at := e.At - c.base
	r.at = uint32(at)
	if uint64(at) > math.MaxUint32 || !l.fill(r, e, len(text)) {
		l.spill(r, e)
	}
	r.text = putText(c, text)
	l.added(r.text, e)
	return l.n
}

// grow returns the chunk the next event goes in when the last one has no
// room left: a new chunk, or the first one grown.
func (l *Log) grow() *chunk {
	c := l.last
	if c == nil || len(c.records) == chunkSize {
		c = l.newChunk()
		l.chunks = append(l.chunks, c)
		l.last = c
		return c
	}
	c.records = slices.Grow(c.records, 1)
	return c
}

// spill keeps e whole in the Log's spilled map, as its record r cannot
// hold it (see record), and leaves in r only that it did.
func (l *Log) spill(r *record, e *Event) {
	*r = record{n: inSpilled}
	kept := *e
	kept.Text, kept.Attrs = "", nil
	if l.spilled == nil {
		l.spilled = make(map[int]*Event)
	}
	l.spilled[l.n] = &kept
}

// fill writes e, whose text is textLen octets, but for its time and
// text, into r, which is empty, and reports whether it fits (see record).
func (l *Log) fill(r *record, e *Event, textLen int) bool {
	if uint(e.Conn) > math.MaxUint32 || uint(e.Size) > math.MaxUint32 ||
		uint(e.Port) > math.MaxUint16 || uint(e.Code) > math.MaxUint16 {
		return false
	}
	t := &l.strings
	r.conn, r.port, r.code, r.tls = uint32(e.Conn), uint16(e.Port), uint16(e.Code), e.TLS
	// The strings of an event are mostly found in the cache at once, and
	// this runs for every event: it is written out, with cached and place
	// inlined, so that an empty field costs a comparison and a string
	// found costs no call. Should a string not be there, or the fields
	// not fit, fillRest does it all again the slower way.
	ok := true
	var id strID
	var hit bool
	if e.Host != "" {
		r.host, hit = t.cached(e.Host)
		ok = hit
	}
	if e.Peer != "" {
		r.peer, hit = t.cached(e.Peer)
		ok = ok && hit
	}
	if e.Kind != "" {
		r.kind, hit = t.cached(string(e.Kind))
		ok = ok && hit
	}
	if e.Dir != "" {
		id, hit = t.cached(e.Dir)
		ok = ok && hit && r.place(optDir, id)
	}
	if e.Verb != "" {
		id, hit = t.cached(e.Verb)
		ok = ok && hit && r.place(optVerb, id)
	}
	if e.Enhanced != "" {
		id, hit = t.cached(e.Enhanced)
		ok = ok && hit && r.place(optEnhanced, id)
	}
	if e.Reason != "" {
		id, hit = t.cached(e.Reason)
		ok = ok && hit && r.place(optReason, id)
	}
	// The fields of DNS and queue events, which most events leave empty,
	// are looked at one by one only when one of them is set.
	if len(e.Name)|len(e.RType)|len(e.Step)|len(e.Msg)|len(e.Rcpt)|len(e.Error) != 0 {
		if e.Name != "" {
			id, hit = t.cached(e.Name)
			ok = ok && hit && r.place(optName, id)
		}
		if e.RType != "" {
			id, hit = t.cached(e.RType)
			ok = ok && hit && r.place(optRType, id)
		}
		if e.Step != "" {
			id, hit = t.cached(e.Step)
			ok = ok && hit && r.place(optStep, id)
		}
		if e.Msg != "" {
			ok = ok && r.place(optMsg, t.msgID(e.Msg))
		}
		if e.Rcpt != "" {
			id, hit = t.cached(e.Rcpt)
			ok = ok && hit && r.place(optRcpt, id)
		}
		if e.Error != "" {
			id, hit = t.cached(e.Error)
			ok = ok && hit && r.place(optErr, id)
		}
	}
	if !ok {
		r.mask, r.n = 0, 0
		return l.fillRest(r, e, textLen)
	}
	return e.Size == 0 || r.placeSize(e.Size, textLen)
}

// fillRest is fill, but for its numbers, for an event whose strings are
// not all in the cache, or that holds too many: it numbers its strings
// into r, whose optional fields are empty, and reports whether they fit.
func (l *Log) fillRest(r *record, e *Event, textLen int) bool {
	t := &l.strings
	r.host, r.peer, r.kind = t.number(e.Host), t.number(e.Peer), t.number(string(e.Kind))
	return (e.Dir == "" || r.place(optDir, t.lookup(e.Dir))) &&
		(e.Verb == "" || r.place(optVerb, t.lookup(e.Verb))) &&
		(e.Enhanced == "" || r.place(optEnhanced, t.lookup(e.Enhanced))) &&
		(e.Reason == "" || r.place(optReason, t.lookup(e.Reason))) &&
		(e.Name == "" || r.place(optName, t.lookup(e.Name))) &&
		(e.RType == "" || r.place(optRType, t.lookup(e.RType))) &&
		(e.Step == "" || r.place(optStep, t.lookup(e.Step))) &&
		(e.Msg == "" || r.place(optMsg, t.msgID(e.Msg))) &&
		(e.Rcpt == "" || r.place(optRcpt, t.lookup(e.Rcpt))) &&
		(e.Error == "" || r.place(optErr, t.lookup(e.Error))) &&
		(e.Size == 0 || r.placeSize(e.Size, textLen))
}

// place puts id, the number of the optional field f, into the next place
// of r.extra, and reports false when there is no room left.
func (r *record) place(f uint, id strID) bool {
	if r.n >= maxExtra {
		return false
	}
	r.extra[r.n], r.mask = id, r.mask|1<<f
	r.n++
	return true
}

// placeSize puts size, which is not zero and fits 32 bits, into r, whose
// text is textLen octets, after its strings, and reports false when there
// is no room left.
func (r *record) placeSize(size, textLen int) bool {
	if size == textLen {
		r.mask |= 1 << sizeIsText
		return true
	}
	return r.place(optSize, strID(size))
}

// strings returns how many places of r's extra hold strings.
func (r *record) strings() int {
	n := int(min(r.n, maxExtra))
	if r.mask&(1<<optSize) != 0 {
		n--
	}
	return n
}

// optional returns the optional string fields of r, by their number, and
// its size.
func (r *record) optional(t *strTable) (fields [numOptional]string, size int) {
	n := 0
	for f := range numOptional {
		if r.mask&(1<<f) != 0 {
			fields[f] = t.str(r.extra[n])
			n++
		}
	}
	switch {
	case r.mask&(1<<optSize) != 0:
		size = int(r.extra[n])
	case r.mask&(1<<sizeIsText) != 0:
		size = int(r.text.end - r.text.start)
	}
	return fields, size
}

// putText returns where text is in c's text, writing it there unless the
// cache finds it was written already. Comparing with the one text the
// cache holds for its octets costs about what writing it would; what it
// saves is memory: two texts in three of a simulation come round again,
// and under WebAssembly every octet the heap grows by costs.
func putText(c *chunk, text string) span {
	n := len(text)
	c.held += n
	if n == 0 {
		return span{}
	}
	slot := &c.recent[textSlot(n, text[0], text[n/2], text[n-1])]
	if int(slot.end-slot.start) == n && sameText(c.textAt(*slot), text) {
		return *slot
	}
	// growText is only called when the text must grow: the call itself,
	// for every event, cost more than the test.
	if cap(c.text)-len(c.text) < n {
		c.growText(n)
	}
	start := len(c.text)
	if uint64(start)+uint64(n) > math.MaxUint32 {
		panic("trace: the texts of a chunk of events passed 4 GiB")
	}
	c.text = append(c.text, text...)
	*slot = span{uint32(start), uint32(start + n)}
	return *slot
}

// growText makes room for n more octets of text in c, twice what it
// holds: appending alone would grow a long text by a quarter at a time,
// copying it again and again. What c's text held stays where it was, for
// the events given back already (see textAt).
func (c *chunk) growText(n int) {
	grown := make([]byte, len(c.text), 2*len(c.text)+n)
	copy(grown, c.text)
	c.text = grown
}

// textAt returns the text of c at s. It shares c's octets, which are
// never written over, rather than copy them: an event given back costs
// nothing for its text.
func (c *chunk) textAt(s span) string {
	if s.start == s.end {
		return ""
	}
	return unsafe.String(&c.text[s.start], s.end-s.start)
}

// sameText reports whether a and b, of one length, hold the same octets.
// Under WebAssembly, where the runtime compares two strings an octet at a
// time, it compares eight at a time (sameWords): a text met again is
// compared whole, and texts are the lines and replies of a session, tens
// of octets each.
func sameText[T string | []byte](a string, b T) bool {
	if wordsAtATime {
		return sameWords(a, b)
	}
	return a == string(b) // no copy: the compiler compares b as it is
}

// sameWords is sameText eight octets at a time, read as words (the
// compiler makes one load of each). The octets past the last whole word
// are compared as the words that end a and b, when they are that long,
// rather than one at a time: under WebAssembly each turn of a loop costs
// far more than its comparison.
func sameWords[T string | []byte](a string, b T) bool {
	i := 0
	for ; i+8 <= len(a); i += 8 {
		if word(a[i:]) != word(b[i:]) {
			return false
		}
	}
	if i < len(a) && len(a) >= 8 {
		last := len(a) - 8
		return word(a[last:]) == word(b[last:])
	}
	for ; i < len(a); i++ {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// wordsAtATime: sameText compares words rather than leave it to the
// runtime.
const wordsAtATime = runtime.GOARCH == "wasm"

// word returns the first eight octets of s as a little-endian word.
func word[T string | []byte](s T) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// textSlot returns which slot of a chunk's cache holds a text of n octets
// whose first, middle and last octets are given: enough to tell apart
// "SIZE=392" from "SIZE=560", or "message 996" from "message 997".
func textSlot(n int, first, middle, last byte) int {
	h := uint32(n) ^ uint32(first)<<8 ^ uint32(middle)<<16 ^ uint32(last)<<24
	return int((h * 0x9e3779b1) >> (32 - textSlotBits)) // Fibonacci hashing: the top bits mix all of h
}

// newChunk returns an empty chunk to follow the last, once the oldest
// were dropped if Keep says so.
func (l *Log) newChunk() *chunk {
	if l.keep > 0 && l.n-l.dropped >= l.keep+chunkSize {
		l.dropOldest()
	}
	// The first chunk grows as needed, so a small world (a learner typing)
	// does not pay for thousands of empty events; later ones are made full
	// size at once, with room for as much text as the chunk before held,
	// up to a limit: a burst of long lines need not make every later chunk
	// reserve as much.
	c := &chunk{}
	n := len(l.chunks)
	if n == 0 {
		c.records = make([]record, 0, 64)
		return c
	}
	// The records and texts of a log that grows are made room for
	// several chunks at a time, as many as it holds already, up to
	// maxSlabChunks: under WebAssembly the runtime grows its memory half
	// a megabyte at a time for small objects, and each growth of a
	// WebAssembly memory costs Node a garbage collection of its own,
	// where one big object grows it at once. A chunk's text takes what
	// room the chunk before left, as long as it is room enough. A log
	// that drops its oldest chunks (see Keep) makes room for one at a
	// time, so that a dropped chunk's records and texts are freed.
	chunks := min(n, maxSlabChunks)
	if l.keep > 0 || l.keepText > 0 {
		chunks = 1
	}
	if len(l.slab) == 0 {
		l.slab = make([]record, chunks*chunkSize)
	}
	c.records, l.slab = l.slab[:0:chunkSize], l.slab[chunkSize:]
	prev := l.chunks[n-1]
	room := min(len(prev.text), maxTextReserve)
	c.text = prev.text[len(prev.text):]
	prev.text = prev.text[:len(prev.text):len(prev.text)] // its room is c's now
	if chunks == 1 || cap(c.text) < room {
		c.text = make([]byte, 0, chunks*room)
	}
	return c
}

// maxSlabChunks is how many chunks' records newChunk makes room for at
// most at once: three megabytes.
const maxSlabChunks = 16

// added finishes adding e, its text put at text. It is small enough to be
// inlined: most logs keep every event, and most events have no
// attributes, so most need nothing more.
func (l *Log) added(text span, e *Event) {
	l.text += int(text.end - text.start)
	if l.keepText|len(e.Attrs) != 0 { // a bound (see Keep) or attributes
		l.addedRest(e)
	}
}

// addedRest is the rest of added, for a log that bounds its text or an
// event with attributes.
func (l *Log) addedRest(e *Event) {
	for l.keepText > 0 && l.text > l.keepText && len(l.chunks) > 1 {
		l.dropOldest()
	}
	if len(e.Attrs) > 0 {
		if l.attrs == nil {
			l.attrs = make(map[int]span)
		}
		l.attrs[l.n] = l.last.putAttrs(e.Attrs)
	}
}

// putAttrs writes attrs, the attributes of an event of c, in c's text and
// returns where: each key and value its length (binary.AppendUvarint)
// and its octets. The Log keeps them so, not as the event's map, so that
// the thousands of events with attributes in a long trace (each retry of
// a queue, say) are not as many maps for the garbage collector to follow
// at every cycle: Get and Since make each event a map of its own anyway.
// They are not counted as free text (see Keep), nor shared (see putText).
func (c *chunk) putAttrs(attrs map[string]string) span {
	n := 0
	for k, v := range attrs {
		n += 2*binary.MaxVarintLen64 + len(k) + len(v)
	}
	if cap(c.text)-len(c.text) < n {
		c.growText(n)
	}
	start := len(c.text)
	for k, v := range attrs {
		c.text = append(binary.AppendUvarint(c.text, uint64(len(k))), k...)
		c.text = append(binary.AppendUvarint(c.text, uint64(len(v))), v...)
	}
	if uint64(len(c.text)) > math.MaxUint32 {
		panic("trace: the texts of a chunk of events passed 4 GiB")
	}
	return span{uint32(start), uint32(len(c.text))}
}

// attrsAt returns the attributes putAttrs wrote at s, in a new map. Its
// keys and values are pieces of c's text, as an event's text is.
func (c *chunk) attrsAt(s span) map[string]string {
	b := c.text[s.start:s.end]
	attrs := make(map[string]string)
	for len(b) > 0 {
		var kv [2]string
		for i := range kv {
			n, w := binary.Uvarint(b)
			kv[i] = unsafe.String(unsafe.SliceData(b[w:]), int(n))
			b = b[w+int(n):]
		}
		attrs[kv[0]] = kv[1]
	}
	return attrs
}

// dropOldest drops the first chunk (see Keep). The string table would
// otherwise grow for ever in a long-running process, since message ids and
// recipients keep changing, so once it holds far more strings than the
// events still held could use, it is rebuilt from those events.
func (l *Log) dropOldest() {
	for id := l.dropped + 1; id <= l.dropped+chunkSize; id++ {
		delete(l.attrs, id)
		delete(l.spilled, id)
	}
	l.text -= l.chunks[0].held
	l.chunks[0] = nil
	l.chunks = append(l.chunks[:0], l.chunks[1:]...)
	l.dropped += chunkSize
	if held := l.n - l.dropped; len(l.strings.strs) > 4*held+1024 {
		l.rebuildStrings()
	}
}

// rebuildStrings renumbers the strings of the held records in a new table.
func (l *Log) rebuildStrings() {
	old := l.strings
	l.strings = strTable{}
	move := func(id *strID) { *id = l.strings.number(old.str(*id)) }
	for _, c := range l.chunks {
		for i := range c.records {
			r := &c.records[i]
			move(&r.kind)
			move(&r.host)
			move(&r.peer)
			for j := range r.strings() {
				move(&r.extra[j])
			}
		}
	}
}

// event turns the record at place i of chunk c, whose id is id, back into
// an Event.
func (l *Log) event(c *chunk, i, id int) Event {
	r := &c.records[i]
	text := c.textAt(r.text)
	var attrs map[string]string // the caller's to change
	if s, ok := l.attrs[id]; ok {
		attrs = c.attrsAt(s)
	}
	if r.n == inSpilled {
		e := *l.spilled[id]
		e.ID, e.Text, e.Attrs = id, text, attrs
		return e
	}
	t := &l.strings
	o, size := r.optional(t)
	return Event{
		ID: id, At: c.base + int64(r.at), Kind: Kind(t.str(r.kind)), Conn: int(r.conn),
		Host: t.str(r.host), Peer: t.str(r.peer), Port: int(r.port), Dir: o[optDir], TLS: r.tls,
		Size: size, Verb: o[optVerb], Code: int(r.code), Enhanced: o[optEnhanced],
		Reason: o[optReason], Name: o[optName], RType: o[optRType], Step: o[optStep],
		Msg: o[optMsg], Rcpt: o[optRcpt], Error: o[optErr], Text: text, Attrs: attrs,
	}
}

// Since returns the events held with an id greater than id, in a new slice.
func (l *Log) Since(id int) []Event {
	id = max(id, l.dropped)
	if id >= l.n {
		return nil
	}
	out := make([]Event, 0, l.n-id)
	for next := id + 1; next <= l.n; next++ {
		rel := next - 1 - l.dropped
		out = append(out, l.event(l.chunks[rel/chunkSize], rel%chunkSize, next))
	}
	return out
}

// All returns every event held, in a new slice.
func (l *Log) All() []Event { return l.Since(0) }

// Get returns the event with the given id.
func (l *Log) Get(id int) (Event, bool) {
	if id <= l.dropped || id > l.n {
		return Event{}, false
	}
	rel := id - 1 - l.dropped
	return l.event(l.chunks[rel/chunkSize], rel%chunkSize, id), true
}

// Len returns the id of the last event: how many were ever added.
func (l *Log) Len() int { return l.n }
