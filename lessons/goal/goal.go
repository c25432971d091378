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
// Event matchers hold when at least one event in the trace matches. Each
// names some fields of an event (by their JSON names in the trace); every
// field given must match, fields left out match anything:
//
//	reply:     {verb, code, enhanced, host, peer}   an smtp.reply event
//	command:   {verb, text, host, peer}             an smtp.command event
//	dns:       {name, rtype, host}                  a dns.query event
//	tls:       {step, attrs, host, peer}            a tls.step event
//	queued:    {rcpt, host}                         a queue.add event
//	delivered: {rcpt, host}                         a delivery event
//	bounce:    {rcpt, host}                         a bounce event
//	event:     {kind, ...}                          any kind (required), any field below
//
// The fields of the general event matcher are kind, host, peer, port, dir,
// tls, verb, code, enhanced, name, rtype, step, msg, rcpt, error, text and
// attrs. They compare like this:
//
//	code      a reply code pattern: 250, "250", "2xx", "55x" (x is any digit)
//	enhanced  an enhanced status code pattern: "5.1.1", "5.x.x", "4.7.x"
//	text      the event's text contains it, ignoring case
//	attrs     a mapping; each key given must have that value
//	port      a number, equal
//	tls       true or false, equal
//	rcpt, msg equal ignoring case and surrounding angle brackets
//	others    equal ignoring case
//
// Conditions combine matchers:
//
//	before: [m1, m2, ...]       events matching m1, m2, ... happened in this
//	                            order (each mi is one event matcher)
//	count: {<matcher>, min: N, max: M}
//	                            between N and M events match (min defaults
//	                            to 1; max 0 or left out means no limit)
//	all: [c1, c2, ...]          every condition holds
//	any: [c1, c2, ...]          at least one condition holds
//	not: c                      the condition does not hold
//
// For example, "STARTTLS finished before AUTH was accepted":
//
//	before:
//	  - tls: {step: finished}
//	  - reply: {verb: AUTH, code: 235}
package goal

import (
	"strings"

	"smtplab/engine/trace"
)

// Goal is one thing a learner should make happen.
type Goal struct {
	ID   string // short and unique within a lesson: "greeted"
	Text string // what to do, in plain words, shown to the learner
	Cond Cond   // when the goal is done
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
	results := make([]Result, len(goals))
	for i, g := range goals {
		results[i] = Result{ID: g.ID, Text: g.Text, Done: g.Cond.Holds(events)}
	}
	return results
}

// Cond is a condition over a whole trace. Exactly one of its fields is
// set; that field says which kind of condition it is.
type Cond struct {
	Event  *Match  // some event matches
	Before []Match // events matching these happened in this order
	Count  *Count  // a number of events match
	All    []Cond  // every condition holds
	Any    []Cond  // at least one condition holds
	Not    *Cond   // the condition does not hold
}

// Count holds when the number of events matching Of is at least Min and,
// if Max is not zero, at most Max.
type Count struct {
	Of  Match
	Min int
	Max int
}

// Holds reports whether the condition is true of the events.
func (c Cond) Holds(events []trace.Event) bool {
	switch {
	case c.Event != nil:
		return indexFrom(events, 0, *c.Event) >= 0
	case c.Before != nil:
		// Taking the earliest match of each step is enough: if any ordered
		// choice exists, the greedy one finds it.
		pos := 0
		for _, m := range c.Before {
			i := indexFrom(events, pos, m)
			if i < 0 {
				return false
			}
			pos = i + 1
		}
		return true
	case c.Count != nil:
		n := 0
		for _, e := range events {
			if c.Count.Of.Matches(e) {
				n++
			}
		}
		return n >= c.Count.Min && (c.Count.Max == 0 || n <= c.Count.Max)
	case c.All != nil:
		for _, sub := range c.All {
			if !sub.Holds(events) {
				return false
			}
		}
		return true
	case c.Any != nil:
		for _, sub := range c.Any {
			if sub.Holds(events) {
				return true
			}
		}
		return false
	case c.Not != nil:
		return !c.Not.Holds(events)
	}
	return false // an empty condition is never done; Validate reports it
}

// indexFrom returns the index of the first event at or after from that m
// matches, or -1.
func indexFrom(events []trace.Event, from int, m Match) int {
	for i := from; i < len(events); i++ {
		if m.Matches(events[i]) {
			return i
		}
	}
	return -1
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
	Name     string
	RType    string
	Step     string
	Msg      string
	Rcpt     string
	Error    string
	Text     string // a substring of the event's text
	Attrs    map[string]string
}

// Matches reports whether e has every field m names.
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
	if m.Text != "" && !strings.Contains(strings.ToLower(e.Text), strings.ToLower(m.Text)) {
		return false
	}
	for _, f := range [...]struct{ want, got string }{
		{m.Host, e.Host}, {m.Peer, e.Peer}, {m.Dir, e.Dir}, {m.Verb, e.Verb},
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
