// Package goal is the small language lessons use to say what a learner
// should make happen, and the checker that reads the trace to see whether
// it did.
//
// A goal is never a check of engine internals: it is a predicate over the
// trace (package engine/trace), so it holds for a world exactly when the
// events that world recorded say so. The same goals are written in lesson
// front matter (YAML) and sent by the web page as JSON; both spellings
// decode to the same Goal.
//
// This package is compiled into the browser's WebAssembly, so it depends on
// nothing but the standard library and the trace schema.
//
// # The language
//
// A goal is a mapping with an id, a text for the learner and exactly one
// condition:
//
//	id: greeted
//	text: Say hello with EHLO and get a 250 back
//	reply: {verb: EHLO, code: 250}
//
// A goal is checked against the world of the lesson's own scenario. A
// lesson with more than one lab may give a goal a scenario: key naming
// another of its labs; that goal is checked in that lab's world instead:
//
//	id: moved-on
//	text: See the relay leave the busy primary for the backup at once
//	scenario: busy-mx
//	event: {kind: note, text: next MX is tried at once}
//
// Event matchers hold when at least one event in the trace matches. Each
// names some fields of an event (by their JSON names in the trace); every
// field given must match, fields left out match anything:
//
//	reply:     {verb, code, enhanced, reason, tls, terminal, host, peer}
//	                                                            an smtp.reply event
//	command:   {verb, text, starts, tls, terminal, host, peer}   an smtp.command event
//	dns:       {name, rtype, host}                              a dns.query event
//	tls:       {step, attrs, terminal, host, peer}              a tls.step event
//	queued:    {rcpt, host}                                     a queue.add event
//	delivered: {rcpt, host}                                     a delivery event
//	bounce:    {rcpt, host}                                     a bounce event
//	event:     {kind, ...}                                      any kind (required), any field below
//
// The fields of the general event matcher are kind, host, peer, port, dir,
// tls, terminal, verb, code, enhanced, reason, name, rtype, step, msg, rcpt,
// error, text, starts and attrs. They compare like this:
//
//	code      a reply code pattern: 250, "250", "2xx", "55x" (x is any digit)
//	enhanced  an enhanced status code pattern: "5.1.1", "5.x.x", "4.7.x"
//	reason    a reply's reason, the name the engine gives what the reply
//	          means, equal ignoring case: "chunk-accepted" (250 to a BDAT
//	          that is not the last), "message-accepted". Unlike a reply's
//	          text, which may be reworded, a reason is part of the trace's
//	          schema (package engine/smtp lists them)
//	text      the event's text contains it, ignoring case; or a list of
//	          texts it contains in that order: ["\n.\r\n", "RCPT TO:<carol"]
//	starts    a line of the event's text starts with it, ignoring case (a
//	          typed line is one line; raw bytes may hold several)
//	attrs     a mapping; each key given must have that value
//	port      a number, equal
//	tls       true or false, equal (for commands and replies: whether they
//	          went inside TLS)
//	terminal  true: the event belongs to a connection the learner's terminal
//	          opened (its conn.open says client: terminal); false: to any
//	          other connection, such as the mail client's or a relay's.
//	          Events of no connection (DNS, queue, delivery) match neither
//	rcpt, msg equal ignoring case and surrounding angle brackets
//	others    equal ignoring case
//
// Conditions combine matchers:
//
//	before: [s1, s2, ...]       steps s1, s2, ... happened in this order;
//	                            a step is one event matcher, or answered or
//	                            none (see "Steps" below)
//	session: [s1, s2, ...]      like before, and all on one connection: the
//	                            same SMTP session, from connect to close
//	answered: {command: {...}, reply: {...}}
//	                            a command matching command: (the fields of
//	                            the command matcher) got as its answer a
//	                            reply matching reply: (the fields of the
//	                            reply matcher); both are required
//	count: {<matcher>, min: N, max: M}
//	                            between N and M events match (min defaults
//	                            to 1; max 0 or left out means no limit)
//	all: [c1, c2, ...]          every condition holds
//	any: [c1, c2, ...]          at least one condition holds
//	not: c                      the condition does not hold
//
// For example, "on the connection you typed, STARTTLS finished and then
// AUTH was accepted":
//
//	session:
//	  - tls: {step: finished, terminal: true}
//	  - reply: {verb: AUTH, code: 235, tls: true}
//
// # Steps
//
// A step of before or session is a mapping with one key:
//
//	{<matcher>: {...}}          an event the matcher matches (reply,
//	                            command, dns, tls, queued, delivered,
//	                            bounce or event)
//	{answered: {command: {...}, reply: {...}}}
//	                            a command and the reply that answers it
//	                            (see "What answers a command"); the step
//	                            begins at the command and ends at the
//	                            reply, so the next step comes after both
//	{none: {<matcher>: {...}}}  no event the matcher matches between the
//	                            step before and the step after; first in
//	                            the list: before the first step; last:
//	                            after the last step. In a session, only
//	                            the events of that connection count
//
// A list needs at least two steps, one of them not none.
//
// A reply step's verb is already that of the command it answers, so an
// answered step says more only through the command's other fields, such
// as its text. none says that nothing of a kind came between two steps,
// such as no other command: one followed the other at once. After a 334
// challenge the server takes the client's next line as the answer to it,
// so this is "the CRAM-MD5 challenge was called off", and not some other
// login started later:
//
//	session:
//	  - answered: {command: {starts: AUTH CRAM-MD5, terminal: true}, reply: {code: 334}}
//	  - none: {command: {}}
//	  - answered: {command: {verb: AUTH, text: "*"}, reply: {code: 501}}
//
// A pipelined batch is one write of the client, one bytes event, and its
// commands are traced after it and before the client's next write. So
// "this batch's RCPT for Carol was refused and its DATA got 354" reads:
//
//	session:
//	  - event: {kind: bytes, dir: c2s, terminal: true, text: ["RCPT TO:", "\r\nDATA\r\n"]}
//	  - none: {event: {kind: bytes, dir: c2s}}
//	  - answered: {command: {verb: RCPT, text: carol@example.org}, reply: {code: 5xx}}
//	  - none: {event: {kind: bytes, dir: c2s}}
//	  - reply: {verb: DATA, code: 354}
//
// # What answers a command
//
// session can say that a RCPT for Bob came before a 250 to some RCPT, but
// not that the 250 was Bob's: a refused Bob followed by an accepted Carol
// fits it too. answered ties the two together:
//
//	answered: {command: {verb: RCPT, text: bob@example.org}, reply: {code: 250}}
//
// The answer to a command is the first smtp.reply after it on the same
// connection. That is the reply the server gave it, because a server
// session handles one command at a time and the trace records each reply
// before the next command, even when PIPELINING brings a batch of them in
// one write: a batch's replies pair with its commands in order. answered
// is no event matcher: it is a condition of its own or a step of before
// or session, but it cannot be counted. A few answers are worth knowing:
//
//   - DATA is answered by its 354, the go-ahead (or by a refusal, such as
//     554 when no recipient was accepted). A reply to the message itself,
//     after its final dot or to a bare LF inside it, answers no command,
//     so answered never sees it; match it with reply: {verb: DATA,
//     reason: message-accepted} or as a step of a session.
//   - BDAT is answered once all its octets have arrived: 250 with reason
//     chunk-accepted, or for BDAT ... LAST the message's own reply
//     (message-accepted, or a refusal).
//   - Each line answering a 334 AUTH challenge is traced as a command with
//     verb AUTH, and is answered in turn. After "AUTH LOGIN" the 235 (or
//     535) answers the password line, and "AUTH LOGIN" itself is answered
//     by the first 334; "AUTH PLAIN <credentials>" on one line is answered
//     by 235 or 535 directly.
//   - A reply the server sends unasked answers a command still waiting for
//     one: the 421 of a timeout answers a BDAT whose octets never came.
//   - A command nothing follows, because the connection closed first, has
//     no answer, and no answered condition holds for it. Lines a client
//     pipelines behind STARTTLS are thrown away unread and are not
//     commands at all.
//   - The terminal's raw mode writes bytes, traced as one bytes event per
//     write; each command line inside is still its own smtp.command, so
//     the commands of a raw batch pair with their replies one by one.
//     Bytes events are never commands.
package goal

import (
	"slices"
	"strings"

	"smtplab/engine/trace"
)

// Goal is one thing a learner should make happen.
type Goal struct {
	ID   string // short and unique within a lesson: "greeted"
	Text string // what to do, in plain words, shown to the learner
	// Scenario names the lab world the goal is reached in, when it is not
	// the lesson's own: the scenario of one of the lesson's other labs.
	// Empty means the lesson's scenario. Check does not look at it: the
	// caller checks each goal against the world it belongs to (see In).
	Scenario string
	Cond     Cond // when the goal is done
}

// In returns the goals reached in a world of scenario: those that name
// it, and, when it is home, the lesson's own scenario, those that name
// none.
func In(goals []Goal, scenario, home string) []Goal {
	var out []Goal
	for _, g := range goals {
		if g.Scenario == scenario || (g.Scenario == "" && scenario == home) {
			out = append(out, g)
		}
	}
	return out
}

// Result says whether one goal is done. It is what the web page shows
// next to the goal's text.
type Result struct {
	ID   string `json:"id"`
	Text string `json:"text"`
	Done bool   `json:"done"`
}

// Check evaluates every goal against the events of one world, in order.
func Check(goals []Goal, events []trace.Event) []Result {
	t := newTrace(events)
	results := make([]Result, len(goals))
	for i, g := range goals {
		results[i] = Result{ID: g.ID, Text: g.Text, Done: g.Cond.holds(t)}
	}
	return results
}

// tr is a trace as conditions read it: its events and what they need to
// know about its connections.
type tr struct {
	events   []trace.Event
	terminal map[int]bool // the connections the learner's terminal opened
}

func newTrace(events []trace.Event) *tr {
	t := &tr{events: events}
	for _, e := range events {
		if e.Kind == trace.ConnOpen && e.Conn != 0 && strings.EqualFold(e.Attrs[trace.AttrClient], trace.ClientTerminal) {
			if t.terminal == nil {
				t.terminal = map[int]bool{}
			}
			t.terminal[e.Conn] = true
		}
	}
	return t
}

// fromTerminal reports whether e belongs to a connection the terminal
// opened, or is the failed dial of one. ok is false for an event of no
// connection at all.
func (t *tr) fromTerminal(e trace.Event) (terminal, ok bool) {
	if e.Conn != 0 {
		return t.terminal[e.Conn], true
	}
	if e.Kind == trace.ConnRefused || e.Kind == trace.ConnClose {
		return strings.EqualFold(e.Attrs[trace.AttrClient], trace.ClientTerminal), true
	}
	return false, false
}

// Cond is a condition over a whole trace. Exactly one of its fields is
// set; that field says which kind of condition it is.
type Cond struct {
	Event    *Match    // some event matches
	Answered *Answered // some command got the reply described
	Before   []Step    // these steps happened in this order
	Session  []Step    // as Before, all on one connection
	Count    *Count    // a number of events match
	All      []Cond    // every condition holds
	Any      []Cond    // at least one condition holds
	Not      *Cond     // the condition does not hold
}

// Step is one step of Before or Session. Exactly one of its fields is
// set, as in Cond.
type Step struct {
	Event    *Match    // an event matching it
	Answered *Answered // a command, then the reply that answers it
	None     *Match    // no event matching it between the steps around
}

// Answered holds when an event matching Command is answered by a reply
// matching Reply: the first smtp.reply after it on its connection (see
// "What answers a command" above). As written in the language, Command
// has kind smtp.command and only the fields command: knows, Reply kind
// smtp.reply and the fields of reply:; Validate reports anything else.
type Answered struct {
	Command Match
	Reply   Match
}

// Count holds when the number of events matching Of is at least Min and,
// if Max is not zero, at most Max.
type Count struct {
	Of  Match
	Min int
	Max int
}

// Holds reports whether the condition is true of the events.
func (c Cond) Holds(events []trace.Event) bool { return c.holds(newTrace(events)) }

func (c Cond) holds(t *tr) bool {
	switch {
	case c.Event != nil:
		return t.indexFrom(0, 0, *c.Event) >= 0
	case c.Answered != nil:
		return t.inOrder(0, []Step{{Answered: c.Answered}})
	case c.Before != nil:
		return t.inOrder(0, c.Before)
	case c.Session != nil:
		// Try each connection in turn, in the order they appear.
		seen := map[int]bool{}
		for _, e := range t.events {
			if e.Conn == 0 || seen[e.Conn] {
				continue
			}
			seen[e.Conn] = true
			if t.inOrder(e.Conn, c.Session) {
				return true
			}
		}
		return false
	case c.Count != nil:
		n := 0
		for _, e := range t.events {
			if t.matches(c.Count.Of, e) {
				n++
			}
		}
		return n >= c.Count.Min && (c.Count.Max == 0 || n <= c.Count.Max)
	case c.All != nil:
		for _, sub := range c.All {
			if !sub.holds(t) {
				return false
			}
		}
		return true
	case c.Any != nil:
		for _, sub := range c.Any {
			if sub.holds(t) {
				return true
			}
		}
		return false
	case c.Not != nil:
		return !c.Not.holds(t)
	}
	return false // an empty condition is never done; Validate reports it
}

// inOrder reports whether the steps happened in this order, on connection
// conn if it is not 0; the events of other connections are then not
// looked at, by none steps either.
//
// It finds each step in turn after the places where the step before can
// have ended. Usually only the earliest of those places matters: a step
// that may come any time after the one before is best looked for as early
// as possible, and the walk takes the first match of each step. But when
// none steps stand between two steps, a later match of the first may be
// the one with nothing forbidden after it, so every place it can end is
// kept.
func (t *tr) inOrder(conn int, steps []Step) bool {
	ends := []int{-1} // where the step before can have ended; -1: before the first event
	var forbid []Match
	for i, s := range steps {
		if s.None != nil {
			forbid = append(forbid, *s.None)
			continue
		}
		everyEnd := i+1 < len(steps) && steps[i+1].None != nil
		ends = t.stepEnds(conn, s, ends, forbid, everyEnd)
		if len(ends) == 0 {
			return false
		}
		forbid = nil
	}
	if forbid == nil {
		return true
	}
	// none steps after the last step: nothing they forbid may follow the
	// latest place it ended.
	return t.indexFrom(ends[len(ends)-1]+1, conn, forbid...) < 0
}

// stepEnds returns where step s can end, in increasing order, when it
// begins after one of ends (in increasing order, none below -1) with no
// event matching forbid in between. Unless every is true it returns only
// the earliest.
func (t *tr) stepEnds(conn int, s Step, ends []int, forbid []Match, every bool) []int {
	var found []int
	passed := 0   // ends[:passed] lie before i
	open := false // one of them has nothing forbidden between it and i
	for i := ends[0] + 1; i < len(t.events); i++ {
		for passed < len(ends) && ends[passed] < i {
			open = true
			passed++
		}
		if !open && passed == len(ends) {
			break // forbidden events shut out every place to begin from
		}
		if !every && len(found) > 0 && i > found[0] {
			break // whatever begins here ends later than found[0]
		}
		e := t.events[i]
		if conn != 0 && e.Conn != conn {
			continue
		}
		if open {
			if end, ok := t.endOf(s, i); ok {
				if every || len(found) == 0 {
					found = append(found, end)
				} else {
					found[0] = min(found[0], end)
				}
			}
		}
		if t.matchesAny(forbid, e) {
			open = false
		}
	}
	// The answers of commands on different connections need not come in
	// the order of their commands, and two commands may share one.
	slices.Sort(found)
	return slices.Compact(found)
}

// endOf reports whether step s begins with the event at index i, and the
// index of the event it ends with: the same event, or for an answered
// step the reply that answers the command.
func (t *tr) endOf(s Step, i int) (int, bool) {
	switch {
	case s.Event != nil:
		return i, t.matches(*s.Event, t.events[i])
	case s.Answered != nil:
		if !t.matches(s.Answered.Command, t.events[i]) {
			return 0, false
		}
		j := t.answer(i)
		return j, j >= 0 && t.matches(s.Answered.Reply, t.events[j])
	}
	return 0, false // an empty step never happens; Validate reports it
}

// answer returns the index of the reply that answers the command at index
// i, the first smtp.reply after it on its connection, or -1 when none
// follows. An event of no connection is answered by nothing.
func (t *tr) answer(i int) int {
	conn := t.events[i].Conn
	if conn == 0 {
		return -1
	}
	return t.indexFrom(i+1, conn, Match{Kind: trace.Reply})
}

// indexFrom returns the index of the first event at or after from that
// one of ms matches, on connection conn if it is not 0, or -1.
func (t *tr) indexFrom(from, conn int, ms ...Match) int {
	for i := from; i < len(t.events); i++ {
		if (conn == 0 || t.events[i].Conn == conn) && t.matchesAny(ms, t.events[i]) {
			return i
		}
	}
	return -1
}

// matchesAny reports whether one of ms matches e.
func (t *tr) matchesAny(ms []Match, e trace.Event) bool {
	for _, m := range ms {
		if t.matches(m, e) {
			return true
		}
	}
	return false
}

// matches reports whether e has every field m names, the connection it
// belongs to included.
func (t *tr) matches(m Match, e trace.Event) bool {
	if m.Terminal != nil {
		terminal, ok := t.fromTerminal(e)
		if !ok || terminal != *m.Terminal {
			return false
		}
	}
	return m.Matches(e)
}

// Match describes one event. Empty fields match anything; Kind empty
// matches every kind (only a Match built in Go can leave it empty: the
// language always sets it).
type Match struct {
	Kind     trace.Kind
	Host     string
	Peer     string
	Port     int
	Dir      string
	TLS      *bool
	Verb     string
	Code     string // a pattern: "250", "2xx"
	Enhanced string // a pattern: "5.1.1", "5.x.x"
	Reason   string // a reply's reason: "chunk-accepted"
	Name     string
	RType    string
	Step     string
	Msg      string
	Rcpt     string
	Error    string
	Text     []string // substrings of the event's text, in this order
	Starts   string   // the start of a line of the event's text
	Terminal *bool    // on a connection the learner's terminal opened, or not
	Attrs    map[string]string
}

// Matches reports whether e has every field m names. Terminal needs the
// rest of the trace, so Matches leaves it out: Cond.Holds and Check take
// it into account.
func (m Match) Matches(e trace.Event) bool {
	if m.Kind != "" && m.Kind != e.Kind {
		return false
	}
	if m.Port != 0 && m.Port != e.Port {
		return false
	}
	if m.TLS != nil && *m.TLS != e.TLS {
		return false
	}
	if m.Code != "" && !codeMatches(m.Code, e.Code) {
		return false
	}
	if m.Enhanced != "" && !enhancedMatches(m.Enhanced, e.Enhanced) {
		return false
	}
	if m.Text != nil && !containsInOrder(e.Text, m.Text) {
		return false
	}
	if m.Starts != "" && !lineStarts(e.Text, m.Starts) {
		return false
	}
	for _, f := range [...]struct{ want, got string }{
		{m.Host, e.Host}, {m.Peer, e.Peer}, {m.Dir, e.Dir}, {m.Verb, e.Verb}, {m.Reason, e.Reason},
		{m.Name, e.Name}, {m.RType, e.RType}, {m.Step, e.Step}, {m.Error, e.Error},
		{unbracket(m.Msg), unbracket(e.Msg)}, {unbracket(m.Rcpt), unbracket(e.Rcpt)},
	} {
		if f.want != "" && !strings.EqualFold(f.want, f.got) {
			return false
		}
	}
	for k, want := range m.Attrs {
		if got, ok := e.Attrs[k]; !ok || !strings.EqualFold(want, got) {
			return false
		}
	}
	return true
}

// containsInOrder reports whether text contains each of parts, ignoring
// case, each after the end of the one before. Both are compared in lower
// case, which may be longer or shorter than the part as written (K, the
// Kelvin sign, is k): the text moves on by the part in lower case.
func containsInOrder(text string, parts []string) bool {
	text = strings.ToLower(text)
	for _, p := range parts {
		p = strings.ToLower(p)
		i := strings.Index(text, p)
		if i < 0 {
			return false
		}
		text = text[i+len(p):]
	}
	return true
}

// lineStarts reports whether a line of text starts with prefix, ignoring
// case. Lines end at LF, bare or after CR.
func lineStarts(text, prefix string) bool {
	for line := range strings.SplitSeq(text, "\n") {
		if len(line) >= len(prefix) && strings.EqualFold(line[:len(prefix)], prefix) {
			return true
		}
	}
	return false
}

// unbracket drops the angle brackets around an address, so a goal may
// write a recipient either way.
func unbracket(s string) string {
	return strings.TrimSuffix(strings.TrimPrefix(s, "<"), ">")
}

// codeMatches reports whether the reply code matches a pattern of three
// characters, each a digit or x for any digit.
func codeMatches(pattern string, code int) bool {
	if code < 100 || code > 999 || len(pattern) != 3 {
		return false
	}
	digits := [3]byte{byte('0' + code/100), byte('0' + code/10%10), byte('0' + code%10)}
	for i := range 3 {
		p := pattern[i]
		if p != 'x' && p != 'X' && p != digits[i] {
			return false
		}
	}
	return true
}

// enhancedMatches reports whether an enhanced status code (RFC 3463,
// "class.subject.detail") matches a pattern of three dot-separated parts,
// each a number or x for any number.
func enhancedMatches(pattern, code string) bool {
	pp := strings.Split(pattern, ".")
	cp := strings.Split(code, ".")
	if len(pp) != 3 || len(cp) != 3 {
		return false
	}
	for i := range 3 {
		if !strings.EqualFold(pp[i], "x") && pp[i] != cp[i] {
			return false
		}
	}
	return true
}
