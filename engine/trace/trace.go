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
//	conn.open       conn, host (client), peer (server), port, text ("mx.example.org:25"),
//	                attrs (client: "terminal" when the learner's terminal opened it)
//	conn.close      conn, host, peer, text (why: "quit", "refused", "timeout", "dropped", "mx.example.org
//	                hung up after replying 421 4.4.2", ...);
//	                a dial that timed out has no conn, but the port it dialed and the attrs its
//	                conn.open would have had
//	conn.refused    host, peer, port, text, attrs (as conn.open)
//	bytes           conn, host (sender), peer (receiver), dir, size, tls, text (plaintext line or
//	                hex preview of ciphertext)
//	smtp.command    conn, host (client), peer (server), verb, text (the command line, no CRLF),
//	                tls (the line came inside TLS)
//	smtp.reply      conn, host (server), peer (client), code, enhanced, reason, text (all lines
//	                joined by "\n"), verb (the command it answers), tls (the reply went inside TLS),
//	                attrs (lost: "true" when the server sent the reply but it never reached the
//	                client: the connection broke, or was already closed or cut off, before it arrived)
//	dns.query       host (resolver's host), name, rtype
//	dns.answer      host, name, rtype, text (records, one per line) or error (NXDOMAIN, SERVFAIL,
//	                TIMEOUT), attrs (dnssec: "secure" when a validating resolver would set the
//	                AD bit: the name is in a domain the scenario signs with DNSSEC)
//	tls.step        conn, host, peer, step ("client-hello", "server-hello", "certificate",
//	                "verify", "finished", "failed"), text, attrs (version, cipher, sni, subject,
//	                issuer, not_before, not_after, verify, tlsa: the DANE record that
//	                authenticated the certificate)
//	queue.add       host, msg, rcpt, text
//	queue.retry     host, msg, rcpt, text (last error), attrs (next, attempt)
//	queue.giveup    host, msg, rcpt, text
//	queue.done      host, msg, rcpt
//	bounce          host, msg (the original), rcpt (the DSN's recipient), text, attrs (action:
//	                failed, delayed, delivered or relayed, RFC 3464 §2.3.3)
//	delivery        host, msg, rcpt (mailbox), size, text (subject), attrs (on a host that checks
//	                senders: spf, and with DMARC dkim and dmarc, each a result as the message's
//	                Authentication-Results says it, and disposition: "none", or "quarantine"
//	                when the From: domain's DMARC policy had it marked as junk)
//	fault           host, peer, text (which fault fired), port (of a filtered port, when a filter
//	                is set or drops a connection request)
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

// The attribute a conn.open event carries to say which client opened the
// connection, and its value for the learner's terminal: the connection
// whose every line the learner typed. Lesson goals use it to tell what the
// learner did from what a mail client or a relay did for them.
const (
	AttrClient     = "client"
	ClientTerminal = "terminal"
)

// AttrLost marks an smtp.reply the server sent that never reached the
// client (value "true"). The server did what its reply says (took the
// message, say); the client never heard so.
const AttrLost = "lost"

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

// AttrKeys returns the keys of e.Attrs in sorted order, for stable printing.
func (e Event) AttrKeys() []string {
	keys := make([]string, 0, len(e.Attrs))
	for k := range e.Attrs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
