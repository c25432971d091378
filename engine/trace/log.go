package trace

import (
	"maps"
	"strings"
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
// scanned. The free text is not numbered (that would hash every line of
// every message): each chunk of records appends the texts of its events
// to one strings.Builder, and a record says where its text ends there.
// That keeps the texts of a million events out of the collector's way
// too, and lets a write's bytes go into the trace without first being
// made a string of their own (AddText). Get and Since turn records back
// into Events; their texts are pieces of the chunk's text, so they cost
// nothing to give back, though an Event kept keeps its chunk's texts.
//
// Records live in fixed-size chunks, so growing the Log never copies what
// it already holds.
type Log struct {
	chunks   []*chunk
	n        int // id of the last event
	dropped  int // events dropped from the front (see Keep)
	keep     int // events to keep; 0: keep everything
	keepText int // octets of free text to keep; 0: no bound
	text     int // octets of free text held

	strings strTable
	attrs   map[int]map[string]string // by event id; few events have attributes
}

// numStrFields is how many string fields a record has (see strFields).
const numStrFields = 13

// chunkSize is how many events one chunk holds.
const chunkSize = 4096

// maxTextReserve bounds the room for text a new chunk reserves (see add).
const maxTextReserve = 1 << 20

// chunk holds chunkSize events, or fewer for the last one.
type chunk struct {
	records []record
	text    strings.Builder // the texts of the records, one after the other
}

// record is an Event as the Log stores it (see Log). Its ID is its place
// in the Log and its Attrs are kept aside.
type record struct {
	at   int64
	conn int
	size int
	port int32
	code int32
	tls  bool
	text int // where its text ends in the chunk's text; it starts where the previous one's ends

	kind, host, peer, dir, verb, enhanced, reason, name, rtype, step, msg, rcpt, err strID
}

// strID is the number of a string in a strTable; 0 is the empty string.
type strID uint32

// strTable gives each distinct string a number.
//
// A Log numbers several strings of every event it adds, and hashing each
// of them into ids, which in a long trace is too big for the processor's
// cache, was a tenth of the cost of a big simulation. But a field mostly
// has one of a few values (the kinds, the hosts, the verbs and reasons of
// a transaction come round again and again), so the table first looks in
// a small cache of the strings it numbered lately, found by a hash of a
// few of their octets, a couple of instructions. Message ids are new more
// often than not, and are not looked up at all (see msgID).
type strTable struct {
	ids  map[string]strID
	strs []string // strs[id-1] is the string numbered id
	sets [cacheSets]cacheSet
	msgs [recentMsgs]strID // the latest message ids, a ring (see msgID)
	msg  int               // where in msgs the next one goes

	// The host and peer of the last event, and their numbers (see
	// hostPeer).
	host, peer     string
	hostID, peerID strID
}

// cacheSets is how many sets the cache of a strTable has: 128 keep the
// forty-odd strings of a three-hop world apart.
const (
	cacheBits = 7
	cacheSets = 1 << cacheBits
)

// cacheSet holds two of the strings whose octets hash to the same set,
// the one numbered last first. A set keeps the strings themselves, not
// their numbers: comparing with one is then a comparison of lengths and,
// as the string mostly comes from the same constant or host name as the
// one cached, of two equal pointers, without first finding the string
// in strs. The cache is a few kilobytes of pointers the collector scans,
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

// lookup is number for a string that is not empty. The two places of its
// set are compared one after the other rather than in a loop, and a hit
// changes nothing: this runs four times for every event.
func (t *strTable) lookup(s string) strID {
	set := &t.sets[setOf(s)]
	if set.s[0] == s {
		return set.id[0]
	}
	if set.s[1] == s {
		return set.id[1]
	}
	id, ok := t.ids[s]
	if !ok {
		if t.ids == nil {
			t.ids = make(map[string]strID)
		}
		id = t.add(s)
		t.ids[s] = id
	}
	// The newcomer goes first and the first moves second, so two strings
	// of one set that take turns both stay.
	set.s[1], set.id[1] = set.s[0], set.id[0]
	set.s[0], set.id[0] = s, id
	return id
}

// hostPeer numbers the host and the peer of an event. The events of a
// connection come in runs (a command and its bytes, a reply and its
// bytes), so most name the two hosts the event before named, one way
// round or the other: comparing with those is cheaper than two looks in
// the cache.
func (t *strTable) hostPeer(host, peer string) (strID, strID) {
	switch {
	case host == t.host && peer == t.peer:
		return t.hostID, t.peerID
	case host == t.peer && peer == t.host:
		return t.peerID, t.hostID
	}
	t.host, t.peer = host, peer
	t.hostID, t.peerID = t.number(host), t.number(peer)
	return t.hostID, t.peerID
}

// setOf returns which set of the cache holds s, which is not empty:
// a hash of its length and its first, third and last octets, enough to
// tell apart "mx1.example.org" and "mx2.example.org".
func setOf(s string) int {
	h := uint32(len(s)) | uint32(s[0])<<8 | uint32(s[len(s)-1])<<16
	if len(s) > 2 {
		h ^= uint32(s[2]) << 24
	}
	return int((h * 0x9e3779b1) >> (32 - cacheBits)) // Fibonacci hashing: the top bits mix all of h
}

// msgID returns a number for the message id s. An id is compared with the
// latest few only: finding out that it is new would miss the processor's
// cache in a map that holds every id of the run. An id that comes back
// after those moved on takes a second number, sixteen bytes.
func (t *strTable) msgID(s string) strID {
	if s == "" {
		return 0
	}
	for _, id := range t.msgs {
		if id != 0 && t.strs[id-1] == s {
			return id
		}
	}
	id := t.add(s)
	t.msgs[t.msg] = id
	t.msg = (t.msg + 1) % recentMsgs
	return id
}

// add gives s a new number, whether or not it has one already.
func (t *strTable) add(s string) strID {
	t.strs = append(t.strs, s)
	return strID(len(t.strs))
}

// str returns the string numbered id.
func (t *strTable) str(id strID) string {
	if id == 0 {
		return ""
	}
	return t.strs[id-1]
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
// nothing of it but its Attrs map, as Add does. An Event is nearly three
// hundred octets and a simulation adds close to a million: a World hands
// its events on by pointer so as not to copy each once more.
func (l *Log) AddEvent(e *Event) int {
	c := l.add(e, len(e.Text))
	c.text.WriteString(e.Text)
	return l.added(c, e)
}

// AddText is Add for an event whose text is the octets text (e.Text is
// not read): what a connection carries is bytes, and they go into the
// trace without being made a string first. Like AddEvent, it reads *e
// and keeps nothing of it but its Attrs map.
func (l *Log) AddText(e *Event, text []byte) int {
	c := l.add(e, len(text))
	c.text.Write(text)
	return l.added(c, e)
}

// add appends the record of e, but not its text, and returns its chunk,
// with room for textLen more octets of text. The caller appends the text,
// then calls added.
func (l *Log) add(e *Event, textLen int) *chunk {
	last := len(l.chunks) - 1
	if last < 0 || len(l.chunks[last].records) == chunkSize {
		l.chunks = append(l.chunks, l.newChunk())
		last = len(l.chunks) - 1
	}
	l.n++
	c := l.chunks[last]
	// Grow doubles the room when it must grow; appending alone would
	// grow a long text by a quarter at a time, copying it again and again.
	// It is only called when it must grow: the call itself, for every
	// event, cost more than the test.
	if c.text.Cap()-c.text.Len() < textLen {
		c.text.Grow(textLen)
	}
	t := &l.strings
	// The record is written in place: building it aside and appending it
	// copied its ninety-six octets once more.
	c.records = append(c.records, record{})
	r := &c.records[len(c.records)-1]
	r.at, r.conn, r.size, r.port, r.code, r.tls = e.At, e.Conn, e.Size, int32(e.Port), int32(e.Code), e.TLS
	r.host, r.peer = t.hostPeer(e.Host, e.Peer)
	r.kind, r.dir = t.number(string(e.Kind)), t.number(e.Dir)
	r.verb, r.enhanced, r.reason, r.name = t.number(e.Verb), t.number(e.Enhanced), t.number(e.Reason), t.number(e.Name)
	r.rtype, r.step, r.msg, r.rcpt, r.err = t.number(e.RType), t.number(e.Step), t.msgID(e.Msg), t.number(e.Rcpt), t.number(e.Error)
	return c
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
	size := chunkSize
	if l.n == 0 {
		size = 64
	}
	c := &chunk{records: make([]record, 0, size)}
	if n := len(l.chunks); n > 0 {
		c.text.Grow(min(l.chunks[n-1].text.Len(), maxTextReserve))
	}
	return c
}

// added finishes adding e, whose text c now ends with, and returns its id.
func (l *Log) added(c *chunk, e *Event) int {
	r := &c.records[len(c.records)-1]
	start := c.textStart(len(c.records) - 1)
	r.text = c.text.Len()
	l.text += r.text - start
	for l.keepText > 0 && l.text > l.keepText && len(l.chunks) > 1 {
		l.dropOldest()
	}
	if len(e.Attrs) > 0 {
		if l.attrs == nil {
			l.attrs = make(map[int]map[string]string)
		}
		l.attrs[l.n] = e.Attrs
	}
	return l.n
}

// textStart returns where the text of record i starts in c's text.
func (c *chunk) textStart(i int) int {
	if i == 0 {
		return 0
	}
	return c.records[i-1].text
}

// dropOldest drops the first chunk (see Keep). The string table would
// otherwise grow for ever in a long-running process, since message ids and
// recipients keep changing, so once it holds far more strings than the
// events still held could use, it is rebuilt from those events.
func (l *Log) dropOldest() {
	for id := l.dropped + 1; id <= l.dropped+chunkSize; id++ {
		delete(l.attrs, id)
	}
	l.text -= l.chunks[0].text.Len()
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
			for _, f := range r.strFields() {
				move(f)
			}
		}
	}
}

// strFields lists the string fields of r, for rebuildStrings.
func (r *record) strFields() [numStrFields]*strID {
	return [numStrFields]*strID{&r.kind, &r.host, &r.peer, &r.dir, &r.verb, &r.enhanced, &r.reason,
		&r.name, &r.rtype, &r.step, &r.msg, &r.rcpt, &r.err}
}

// event turns the record at place i of chunk c, whose id is id, back into
// an Event.
func (l *Log) event(c *chunk, i, id int) Event {
	r := &c.records[i]
	t := &l.strings
	return Event{
		ID: id, At: r.at, Kind: Kind(t.str(r.kind)), Conn: r.conn,
		Host: t.str(r.host), Peer: t.str(r.peer), Port: int(r.port), Dir: t.str(r.dir), TLS: r.tls,
		Size: r.size, Verb: t.str(r.verb), Code: int(r.code), Enhanced: t.str(r.enhanced),
		Reason: t.str(r.reason), Name: t.str(r.name), RType: t.str(r.rtype), Step: t.str(r.step),
		Msg: t.str(r.msg), Rcpt: t.str(r.rcpt), Error: t.str(r.err), Text: c.text.String()[c.textStart(i):r.text],
		Attrs: maps.Clone(l.attrs[id]), // the caller's to change
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
