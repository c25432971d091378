// Package trace is the spine of SMTP Lab: one ordered, timestamped list of
// everything observable in a simulated mail world.
//
// Every part of the engine reports what it does as an Event appended to one
// Log: bytes crossing a connection, SMTP commands and replies, DNS queries
// and answers, TLS handshake steps, queue changes, bounces and deliveries.
// The browser views, lesson goals, exports, the grader API and the tests all
// read the Log; none of them reaches into engine internals. Because the world
// is deterministic, the same scenario and input always produce the same Log,
// byte for byte once encoded as JSON.
//
// # Event schema
//
// An Event is a flat record; which fields are set depends on its Kind:
//
//	kind            fields set (besides id, at, kind)
//	conn.open       conn, host (client), peer (server), port, text ("mx.example.org:25")
//	conn.close      conn, host, peer, text (why: "quit", "refused", "timeout", "dropped", ...)
//	conn.refused    host, peer, port, text
//	bytes           conn, host (sender), peer (receiver), dir, size, tls, text (plaintext line or
//	                hex preview of ciphertext)
//	smtp.command    conn, host (client), peer (server), verb, text (the command line, no CRLF)
//	smtp.reply      conn, host (server), peer (client), code, enhanced, reason, text (all lines
//	                joined by "\n"), verb (the command it answers)
//	dns.query       host (resolver's host), name, rtype
//	dns.answer      host, name, rtype, text (records, one per line) or error (NXDOMAIN, SERVFAIL,
//	                TIMEOUT)
//	tls.step        conn, host, peer, step ("client-hello", "server-hello", "certificate",
//	                "verify", "finished", "failed"), text, attrs (version, cipher, sni, subject,
//	                issuer, not_before, not_after, verify)
//	queue.add       host, msg, rcpt, text
//	queue.retry     host, msg, rcpt, text (last error), attrs (next, attempt)
//	queue.giveup    host, msg, rcpt, text
//	queue.done      host, msg, rcpt
//	bounce          host, msg (the original), rcpt (the DSN's recipient), text
//	delivery        host, msg, rcpt (mailbox), size, text (subject)
//	fault           host, peer, text (which fault fired)
//	clock           text (how far time was advanced), at is the new time
//	note            text (anything a driver wants to tell the learner)
//
// Times are virtual milliseconds since the world started.
package trace

import "sort"

// Kind says what an Event records.
type Kind string

// The kinds of event. The strings are part of the JSON schema: lessons name
// them in their goals, so they never change meaning.
const (
	ConnOpen    Kind = "conn.open"
	ConnClose   Kind = "conn.close"
	ConnRefused Kind = "conn.refused"
	Bytes       Kind = "bytes"
	Command     Kind = "smtp.command"
	Reply       Kind = "smtp.reply"
	DNSQuery    Kind = "dns.query"
	DNSAnswer   Kind = "dns.answer"
	TLSStep     Kind = "tls.step"
	QueueAdd    Kind = "queue.add"
	QueueRetry  Kind = "queue.retry"
	QueueGiveUp Kind = "queue.giveup"
	QueueDone   Kind = "queue.done"
	Bounce      Kind = "bounce"
	Delivery    Kind = "delivery"
	Fault       Kind = "fault"
	Clock       Kind = "clock"
	Note        Kind = "note"
)

// Direction of bytes on a connection, seen from the connection's client.
const (
	ToServer = "c2s" // client → server
	ToClient = "s2c" // server → client
)

// Event is one observable thing that happened in a world.
type Event struct {
	ID       int               `json:"id"`
	At       int64             `json:"at"`
	Kind     Kind              `json:"kind"`
	Conn     int               `json:"conn,omitempty"`
	Host     string            `json:"host,omitempty"`
	Peer     string            `json:"peer,omitempty"`
	Port     int               `json:"port,omitempty"`
	Dir      string            `json:"dir,omitempty"`
	TLS      bool              `json:"tls,omitempty"`
	Size     int               `json:"size,omitempty"`
	Verb     string            `json:"verb,omitempty"`
	Code     int               `json:"code,omitempty"`
	Enhanced string            `json:"enhanced,omitempty"`
	Reason   string            `json:"reason,omitempty"`
	Name     string            `json:"name,omitempty"`
	RType    string            `json:"rtype,omitempty"`
	Step     string            `json:"step,omitempty"`
	Msg      string            `json:"msg,omitempty"`
	Rcpt     string            `json:"rcpt,omitempty"`
	Error    string            `json:"error,omitempty"`
	Text     string            `json:"text,omitempty"`
	Attrs    map[string]string `json:"attrs,omitempty"`
}

// Log is an append-only list of events. IDs start at 1 and grow by one, so
// "everything since id N" is a slice, not a search.
//
// Events are stored in fixed-size chunks: a long simulation (thousands of
// messages) appends millions of events, and one growing slice would copy
// them all again each time it doubles.
type Log struct {
	chunks  [][]Event
	n       int // id of the last event
	dropped int // events dropped from the front (see Keep)
	keep    int // 0: keep everything
}

// chunkSize is how many events one chunk holds.
const chunkSize = 4096

// Keep bounds the log for a process that runs for long, such as the TCP
// bridge: once more than about n events are held, the oldest are dropped,
// a chunk at a time. Ids go on growing; Since and Get simply no longer find
// the dropped ones. A simulated world never calls it: its trace is whole.
func (l *Log) Keep(n int) { l.keep = n }

// Add appends e, giving it the next id, and returns that id.
func (l *Log) Add(e Event) int {
	last := len(l.chunks) - 1
	if last < 0 || len(l.chunks[last]) == chunkSize {
		// The first chunk grows as needed, so a small world (a learner
		// typing) does not pay for thousands of empty events; later ones
		// are made full size at once.
		size := chunkSize
		if last < 0 && l.n == 0 {
			size = 64
		}
		if l.keep > 0 && l.n-l.dropped >= l.keep+chunkSize {
			l.chunks = append(l.chunks[:0], l.chunks[1:]...)
			l.dropped += chunkSize
			last--
		}
		l.chunks = append(l.chunks, make([]Event, 0, size))
		last++
	}
	l.n++
	e.ID = l.n
	l.chunks[last] = append(l.chunks[last], e)
	return e.ID
}

// Since returns the events held with an id greater than id, in a new slice.
func (l *Log) Since(id int) []Event {
	id = max(id, l.dropped)
	if id >= l.n {
		return nil
	}
	out := make([]Event, 0, l.n-id)
	rel := id - l.dropped
	for c := rel / chunkSize; c < len(l.chunks); c++ {
		chunk := l.chunks[c]
		if c == rel/chunkSize {
			chunk = chunk[rel%chunkSize:]
		}
		out = append(out, chunk...)
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
	return l.chunks[rel/chunkSize][rel%chunkSize], true
}

// Len returns the id of the last event: how many were ever added.
func (l *Log) Len() int { return l.n }

// AttrKeys returns the keys of e.Attrs in sorted order, for stable printing.
func (e Event) AttrKeys() []string {
	keys := make([]string, 0, len(e.Attrs))
	for k := range e.Attrs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
