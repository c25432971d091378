package mta

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"smtplab/engine/client"
	"smtplab/engine/dns"
	"smtplab/engine/server"
	"smtplab/engine/simnet"
	"smtplab/engine/smtp"
	"smtplab/engine/trace"
)

// envelope is a message's envelope as a host keeps it: the addresses, and
// the DSN parameters (RFC 3461) that travel with the message to the host
// that delivers it and shape the DSNs it causes on the way.
type envelope struct {
	from  string // "" is the null path: the message is itself a DSN
	rcpts []recipient
	ret   string // RET: "FULL" or "HDRS"; "" when not given (headers only)
	envid string // ENVID, decoded from xtext; "" when not given
	// checks is what this host's sender checks found (transaction.results),
	// nil when it checked nothing; local delivery traces it.
	checks map[string]string
}

// recipient is one recipient of an envelope, with what its sender asked to
// be told about it.
type recipient struct {
	addr   string
	notify server.Notify // NOTIFY (RFC 3461 §4.1); 0 when not given
	orcpt  string        // ORCPT as "addr-type;address" (§4.2); "" when not given
}

// wants reports whether the sender asked for a DSN with this action. Without
// NOTIFY only failures are reported: RFC 3461 §4.1 leaves delay warnings to
// the MTA, and this one sends them only to a sender who asked for DELAY.
func (r recipient) wants(action string) bool {
	switch action {
	case ActionFailed:
		return r.notify == 0 || r.notify&server.NotifyFailure != 0
	case ActionDelayed:
		return r.notify&server.NotifyDelay != 0
	case ActionDelivered, ActionRelayed:
		return r.notify&server.NotifySuccess != 0
	}
	return false
}

// queued is a message this host took responsibility for; it stays in the
// host's queue while remote recipients wait to be delivered.
type queued struct {
	id       string
	from     string       // "" for a DSN
	sender   smtp.Mailbox // from parsed, once for every session that sends the message
	ret      string       // the sender's RET
	envid    string       // the sender's ENVID
	data     []byte
	arrived  time.Duration
	rcpts    []*rcptState
	first    rcptState           // the first recipient's state (see add)
	firstRef [1]*rcptState       // rcpts while it is the only one
	to       []client.Recipient  // RCPT TO for every recipient (see recipientsFor)
	firstTo  [1]client.Recipient // to while there is one recipient, as first is
	attempts int
	next     time.Duration // virtual time of the next attempt
	timer    *simnet.Timer // its next attempt: made when it is queued, reset for each retry
	inFlight int           // delivery groups of the current attempt still running
	place    int32         // index in the host's messageQueue; -1 once it left
	crlfOnly bool          // every CR and LF of data is part of a CRLF (see client.Config.CRLFOnly)
}

// messageQueue holds a host's queued messages in the order they arrived.
//
// A message that leaves leaves a hole (nil), and the holes are squeezed out
// once they fill half the slice. Closing the gap at once would copy every
// message behind it, and a queue can be thousands deep: a backup MX that
// greylists holds every message of a burst until its retry.
type messageQueue struct {
	msgs  []*queued
	holes int
}

func (mq *messageQueue) add(q *queued) {
	q.place = int32(len(mq.msgs))
	mq.msgs = append(mq.msgs, q)
}

func (mq *messageQueue) remove(q *queued) {
	if q.place < 0 {
		return
	}
	mq.msgs[q.place], q.place = nil, -1
	mq.holes++
	if mq.holes > len(mq.msgs)/2 {
		kept := mq.msgs[:0]
		for _, x := range mq.msgs {
			if x != nil {
				x.place = int32(len(kept))
				kept = append(kept, x)
			}
		}
		clear(mq.msgs[len(kept):])
		mq.msgs, mq.holes = kept, 0
	}
}

// all yields the queued messages in arrival order.
func (mq *messageQueue) all(yield func(*queued) bool) {
	for _, q := range mq.msgs {
		if q != nil && !yield(q) {
			return
		}
	}
}

// rcptState is where one recipient of a queued message stands.
type rcptState struct {
	recipient
	// mailbox is addr parsed, once, for the RCPT TO of every session
	// that tries to deliver it.
	mailbox smtp.Mailbox
	status  client.Status
	reply   string // the last reply or error, in the words a DSN reports
	enh     string // its enhanced status code
	remote  string // the host that gave it
	// relayed: delivered to a host that does not advertise DSN, so the
	// sender's NOTIFY stopped here (RFC 3461 §5.2.2).
	relayed  bool
	reported bool // its final state was reported, or deliberately not
	warned   bool // a delayed DSN went out for it
	// tried is how long the queue kept it before giving up; 0 when it
	// did not give up on it.
	tried time.Duration
}

// QueueView is a queued message as the UI shows it.
type QueueView struct {
	Host      string   `json:"host"`
	ID        string   `json:"id"`
	From      string   `json:"from"`
	To        []string `json:"to"`
	Attempts  int      `json:"attempts"`
	NextRetry int64    `json:"nextRetry"` // virtual ms
	LastError string   `json:"lastError,omitempty"`
}

// QueueView lists the messages waiting in this host's queue.
func (h *Host) QueueView() []QueueView {
	var out []QueueView
	for q := range h.queue.all {
		v := QueueView{Host: h.cfg.Name, ID: q.id, From: q.from, Attempts: q.attempts, NextRetry: q.next.Milliseconds()}
		for _, r := range q.rcpts {
			if r.status == client.Pending || r.status == client.Deferred {
				v.To = append(v.To, r.addr)
				if r.reply != "" {
					v.LastError = r.reply
				}
			}
		}
		out = append(out, v)
	}
	return out
}

// taken is the text of a message a host takes, as it keeps it.
type taken struct {
	data []byte
	// delivered, when not nil, is data with the Return-Path line on top
	// that local delivery adds (see Received.stamp).
	delivered []byte
	// own is how many octets on top of data are the host's own trace
	// fields, above the text it took (see subjectOf).
	own int
	// crlfOnly: every CR and LF of data is part of a CRLF (see
	// client.Config.CRLFOnly).
	crlfOnly bool
}

// subjectOf returns Subject(t.data). It reads the header from below the
// host's own fields, which are no Subject: they are a good part of the
// header of a message from outside, read at every delivery. Only a text
// that starts with a folded line is read with them, as in data that line
// continues the last of them.
func (t taken) subjectOf() string {
	if text := t.data[t.own:]; t.own > 0 && len(text) > 0 && text[0] != ' ' && text[0] != '\t' {
		return Subject(text)
	}
	return Subject(t.data)
}

// accept takes responsibility for a message: local recipients get it in
// their mailbox at once, remote ones through the queue.
func (h *Host) accept(id string, env envelope, text taken) {
	n := h.net
	var q *queued // made for the first recipient sent on, or for a report
	var local []*rcptState
	for _, rcpt := range h.distinct(id, env.rcpts) {
		if mailbox, ok := h.localMailbox(rcpt.addr); ok {
			h.deliverLocal(id, env, mailbox, text)
			if rcpt.wants(ActionDelivered) {
				local = append(local, &rcptState{recipient: rcpt, status: client.Delivered})
			}
			continue
		}
		if q == nil {
			q = n.newQueued(id, env, text.data, text.crlfOnly)
		}
		q.add(rcptState{recipient: rcpt, status: client.Pending, mailbox: n.texts.mailbox(rcpt.addr)})
	}
	if len(local) > 0 {
		if q == nil {
			q = n.newQueued(id, env, text.data, text.crlfOnly)
		}
		// This host is the last one for the local recipients: it reports
		// the deliveries their sender asked to hear about (RFC 3461 §6.2).
		h.report(q, ActionDelivered, local)
	}
	if q == nil || len(q.rcpts) == 0 {
		return
	}
	h.queue.add(q)
	for _, r := range q.rcpts {
		n.emit(&trace.Event{Kind: trace.QueueAdd, Host: h.cfg.Name, Msg: id, Rcpt: r.addr, Text: "queued for delivery"})
	}
	// The queue manager picks the message up right after the session that
	// brought it, not inside it.
	q.timer = n.Net.After(time.Millisecond, func() { h.attempt(q) })
}

// newQueued returns the queue entry of a message that arrived now, with
// no recipients yet (see add).
func (n *Network) newQueued(id string, env envelope, data []byte, crlfOnly bool) *queued {
	now := n.Net.Now()
	q := &queued{id: id, from: env.from, ret: env.ret, envid: env.envid, data: data, crlfOnly: crlfOnly, arrived: now, next: now}
	if q.from != "" {
		q.sender = n.texts.mailbox(q.from)
	}
	return q
}

// add makes r the state of one more recipient of q. The first one's
// lives in q itself: most messages have one recipient, and so need no
// allocations for it of their own.
func (q *queued) add(r rcptState) {
	if q.rcpts == nil {
		q.first, q.firstRef[0] = r, &q.first
		q.rcpts = q.firstRef[:] // its capacity is 1: a second recipient moves the list out
		return
	}
	more := new(rcptState) // not &r, which would move every r to the heap
	*more = r
	q.rcpts = append(q.rcpts, more)
}

// recipientsFor returns what a session to deliver rcpts sends as RCPT TO.
// The list for every recipient of q, which nearly every session of q
// sends (each hop and each retry), is made once and kept: the client only
// reads it.
func (q *queued) recipientsFor(rcpts []*rcptState) []client.Recipient {
	all := slices.Equal(rcpts, q.rcpts)
	if all && q.to != nil {
		return q.to
	}
	var to []client.Recipient
	if all && len(rcpts) == 1 {
		to = q.firstTo[:0]
	} else {
		to = make([]client.Recipient, 0, len(rcpts))
	}
	for _, r := range rcpts {
		t := client.Recipient{Mailbox: r.mailbox, Notify: r.notify.String()}
		if typ, addr, ok := strings.Cut(r.orcpt, ";"); ok {
			t.ORcptType, t.ORcpt = typ, addr
		}
		to = append(to, t)
	}
	if all {
		q.to = to
	}
	return to
}

// localMailbox returns the mailbox here that addr names, and false when
// addr is not delivered on this host but sent on.
func (h *Host) localMailbox(addr string) (string, bool) {
	_, domain, _ := splitAddress(addr)
	if h.cfg.Serves(domain) || (domain == "" && strings.EqualFold(addr, "postmaster")) {
		return h.mailbox(addr), true
	}
	return "", false
}

// recipientKey is what makes two recipients of one message the same one
// for this host: for a local recipient, the mailbox its copy lands in, as
// Mailboxes keys it (so bob@example.org and BOB@EXAMPLE.ORG are one
// recipient); for one sent on, its address with the domain in lower case
// and the local part without needless quotes (plainLocal). A local part
// elsewhere is the business of its domain's host, which may tell its cases
// apart (RFC 5321 §2.4); that host drops the duplicates it finds.
func (h *Host) recipientKey(addr string) string {
	if mailbox, ok := h.localMailbox(addr); ok {
		return lower(mailbox)
	}
	local, domain, _ := splitAddress(addr)
	return plainLocal(local) + "@" + lower(domain)
}

// distinct returns rcpts without the recipients an earlier one of them
// already names (recipientKey), so that a message goes once to each, as
// Postfix's cleanup drops duplicate recipients. The one kept answers what
// each of them asked for by NOTIFY (mergeNotify), so that no RCPT's
// request for a report goes unanswered; the first one's ORCPT stands. A
// server answers 250 to every RCPT all the same, and a note in the trace
// says which were left out. Without it, a client that names bob 100 times
// would put 100 copies of the message into his mailbox.
func (h *Host) distinct(id string, rcpts []recipient) []recipient {
	if len(rcpts) < 2 {
		return rcpts
	}
	seen := make(map[string]int, len(rcpts)) // key → place in kept
	kept := make([]recipient, 0, len(rcpts))
	var dropped []string      // the addresses left out, as written, each once
	times := map[string]int{} // how often each of them was left out
	for _, r := range rcpts {
		key := h.recipientKey(r.addr)
		i, ok := seen[key]
		if !ok {
			seen[key] = len(kept)
			kept = append(kept, r)
			continue
		}
		kept[i].notify = mergeNotify(kept[i].notify, r.notify)
		if times[r.addr] == 0 {
			dropped = append(dropped, r.addr)
		}
		times[r.addr]++
	}
	if len(dropped) == 0 {
		return rcpts
	}
	for i, addr := range dropped {
		dropped[i] = "<" + addr + ">"
		if times[addr] > 1 {
			dropped[i] += fmt.Sprintf(" (%d times)", times[addr])
		}
	}
	h.net.emit(&trace.Event{Kind: trace.Note, Host: h.cfg.Name, Msg: id,
		Text: fmt.Sprintf("the message named %d recipients, %d of them distinct, and goes once to each, as Postfix's cleanup drops duplicate recipients; "+
			"left out as the same recipient as an earlier RCPT TO: %s", len(rcpts), len(kept), strings.Join(dropped, ", "))})
	return kept
}

// mergeNotify is the NOTIFY of one recipient named twice, with a and b:
// whatever either asked for, NEVER only when both said it. A NOTIFY not
// given asks for failures, as RFC 3461 §4.1 makes the default.
func mergeNotify(a, b server.Notify) server.Notify {
	if a == b {
		return a
	}
	asked := func(n server.Notify) server.Notify {
		if n == 0 {
			return server.NotifyFailure
		}
		return n
	}
	m := asked(a) | asked(b)
	if m != server.NotifyNever {
		m &^= server.NotifyNever
	}
	return m
}

// deliverLocal puts a message into the local mailbox rcpt: text.data, or
// text.delivered when it is not nil, which is data with its Return-Path
// line already, unless the text carried Return-Path fields of its own,
// which go (see withoutReturnPath). Its delivery event carries what the
// sender checks found, so that a lesson or a grader can see how a message
// was judged, not only that it arrived.
func (h *Host) deliverLocal(id string, env envelope, rcpt string, text taken) {
	msg := StoredMessage{ID: id, From: env.from, To: rcpt, DeliveredAt: h.net.Net.Date(), Raw: text.data}
	var stored StoredMessage
	var removed int
	// The header is looked through once: its clean text, when it carried
	// a Return-Path, is the one stored.
	clean, forged := withoutReturnPath(text.data)
	if text.delivered != nil && !forged {
		msg.Raw = text.delivered
		stored, removed = h.Mailboxes.store(msg)
	} else {
		stored, removed = h.Mailboxes.deliverText(msg, clean)
	}
	h.net.emit(&trace.Event{Kind: trace.Delivery, Host: h.cfg.Name, Msg: id, Rcpt: lower(rcpt),
		Size: len(stored.Raw), Text: text.subjectOf(), Attrs: env.checks})
	if forged {
		h.net.emit(&trace.Event{Kind: trace.Note, Host: h.cfg.Name, Msg: id, Rcpt: lower(rcpt),
			Text: "the message carried a Return-Path: field of its own; delivery replaced it with the envelope sender, as RFC 5321 §4.4 allows and Postfix and Exim do"})
	}
	if removed > 0 {
		h.net.emit(&trace.Event{Kind: trace.Note, Host: h.cfg.Name, Rcpt: lower(rcpt),
			Text: fmt.Sprintf("the oldest %d message(s) of this mailbox were removed: it keeps only its newest %d octets, so that the server's memory stays bounded", removed, h.Mailboxes.keepBytes)})
	}
}

// attempt tries to deliver every waiting recipient of q, one session per
// destination domain.
func (h *Host) attempt(q *queued) {
	q.attempts++
	if domain, ok := soleDomain(q.rcpts); ok {
		// The common case, every recipient waiting and all at one domain:
		// the group is the message's list of recipients itself.
		q.inFlight = 1
		h.deliverGroup(q, domain, q.rcpts)
	} else {
		h.deliverGroups(q)
	}
	if q.inFlight == 0 {
		h.settle(q)
	}
}

// soleDomain returns the domain of rcpts, in lower case, when every one of
// them is waiting to be delivered and all are at that domain.
func soleDomain(rcpts []*rcptState) (string, bool) {
	var domain string
	for i, r := range rcpts {
		if r.status != client.Pending && r.status != client.Deferred {
			return "", false
		}
		_, d, _ := strings.Cut(r.addr, "@")
		if d = lower(d); i == 0 {
			domain = d
		} else if d != domain {
			return "", false
		}
	}
	return domain, len(rcpts) > 0
}

// deliverGroups starts the delivery of every waiting recipient of q, one
// group per destination domain, in the order the domains first appear.
func (h *Host) deliverGroups(q *queued) {
	groups := map[string][]*rcptState{}
	var order []string
	for _, r := range q.rcpts {
		if r.status != client.Pending && r.status != client.Deferred {
			continue
		}
		_, domain, _ := strings.Cut(r.addr, "@")
		domain = lower(domain)
		if _, seen := groups[domain]; !seen {
			order = append(order, domain)
		}
		groups[domain] = append(groups[domain], r)
	}
	q.inFlight = len(order)
	for _, domain := range order {
		h.deliverGroup(q, domain, groups[domain])
	}
}

// groupDone is called when the delivery of one domain's recipients ended.
func (h *Host) groupDone(q *queued) {
	q.inFlight--
	if q.inFlight == 0 {
		h.settle(q)
	}
}

// hop is one address a delivery may try: the host it belongs to, and the
// address DNS gave for it. A relayhost is configured rather than looked up,
// so its hop has no address and the simulated network finds it by name.
type hop struct {
	host, addr string
	mx         bool // host is a mail exchanger DNS named (an implicit MX too)
}

// dialTarget is what the hop's connection is made to.
func (p hop) dialTarget() string {
	if p.addr != "" {
		return p.addr
	}
	return p.host
}

// String names the hop as Postfix's logs do: host[address].
func (p hop) String() string {
	if p.addr == "" {
		return p.host
	}
	return p.host + "[" + p.addr + "]"
}

// deliverGroup finds where mail for domain goes and tries each address in
// order (RFC 5321 §5.1): the relayhost when there is one, an address
// literal as it is, or the addresses of the domain's mail exchangers.
func (h *Host) deliverGroup(q *queued, domain string, rcpts []*rcptState) {
	n := h.net
	if h.relayhost != nil {
		h.tryHops(q, rcpts, h.relayhost, 0)
		return
	}
	if lit, ok := addressLiteral(domain); ok {
		// RFC 5321 §5.1: a literal is where to connect; DNS has no say.
		n.emit(&trace.Event{Kind: trace.Note, Host: h.cfg.Name, Msg: q.id,
			Text: fmt.Sprintf("%s is an address literal: the mail goes straight to that address, with no DNS lookup (RFC 5321 §5.1)", domain)})
		n.Net.After(time.Millisecond, func() { h.tryHops(q, rcpts, []hop{{host: domain, addr: lit}}, 0) })
		return
	}
	route, err := n.Resolver.SelectMX(h.dns, domain, n.Net.Rand())
	n.Net.After(route.Cost+time.Millisecond, func() {
		h.traceRoute(q, route)
		if err != nil {
			h.routeFailed(q, rcpts, domain, err)
			return
		}
		h.tryHops(q, rcpts, h.hopsOf(route), 0)
	})
}

// hopsOf returns the hops of route: every address of every target, in
// order. The hops of the last route are kept and given again while the
// route stays the same, as a relay's route to the next hop nearly always
// does, where each message made a list of its own; sessions only read
// it. One list is kept, not one per domain, so that a host that sends to
// many domains keeps no more.
func (h *Host) hopsOf(route dns.Route) []hop {
	if sameHops(h.lastHops, route) {
		return h.lastHops
	}
	count := 0
	for _, t := range route.Targets {
		count += len(t.Addrs)
	}
	hops := make([]hop, 0, count)
	for _, t := range route.Targets {
		for _, a := range t.Addrs {
			hops = append(hops, hop{host: t.Host, addr: a, mx: true})
		}
	}
	h.lastHops = hops
	return hops
}

// sameHops reports whether hops are those of route (see hopsOf).
func sameHops(hops []hop, route dns.Route) bool {
	i := 0
	for _, t := range route.Targets {
		for _, a := range t.Addrs {
			if i == len(hops) || hops[i].host != t.Host || hops[i].addr != a {
				return false
			}
			i++
		}
	}
	return i == len(hops) && hops != nil
}

// traceRoute tells the trace what MX selection worked out beyond the DNS
// answers themselves: an implicit MX, targets left out and why, odd ones.
func (h *Host) traceRoute(q *queued, route dns.Route) {
	note := func(text string) {
		h.net.emit(&trace.Event{Kind: trace.Note, Host: h.cfg.Name, Msg: q.id, Text: text})
	}
	if route.Implicit && len(route.Targets) > 0 {
		note(fmt.Sprintf("%s has no MX records: its own address is its mail host (the implicit MX, RFC 5321 §5.1)", route.Domain))
	}
	for _, sk := range route.Skipped {
		note(fmt.Sprintf("MX %s (preference %d) left out: %s", sk.Host, sk.Pref, sk.Reason))
	}
	for _, t := range route.Targets {
		if t.Note != "" {
			note(fmt.Sprintf("MX %s: %s", t.Host, t.Note))
		}
	}
}

// addressLiteral returns the address in an address literal domain such as
// [192.0.2.1] or [IPv6:2001:db8::1] (RFC 5321 §4.1.3): an IPv4 address
// as it is, an IPv6 address only behind its tag.
func addressLiteral(domain string) (string, bool) {
	inner, ok := strings.CutPrefix(domain, "[")
	if inner, ok = strings.CutSuffix(inner, "]"); !ok {
		return "", false
	}
	v6 := len(inner) > len("IPv6:") && strings.EqualFold(inner[:len("IPv6:")], "IPv6:")
	if v6 {
		inner = inner[len("IPv6:"):]
	}
	a, err := netip.ParseAddr(inner)
	if err != nil || a.Is6() != v6 || a.Zone() != "" {
		return "", false
	}
	return a.String(), true
}

// routeFailed records a DNS failure for every recipient of the group.
// No server said anything, so what is recorded (the queue's reason, a
// DSN's Diagnostic-Code) is the relay's own finding, its status code and
// words, as Postfix writes "Host or domain name not found" with no reply
// code; a DSN then gives it as X-SMTP-Lab rather than as an smtp reply.
// The null MX is the exception: RFC 7504 made 556 for a relay to report
// exactly that.
func (h *Host) routeFailed(q *queued, rcpts []*rcptState, domain string, err error) {
	status, enh := client.Deferred, "4.4.3"
	reply := fmt.Sprintf("4.4.3 Host or domain name lookup failed for %s: %v", domain, err)
	switch {
	case errors.Is(err, dns.ErrNullMX):
		status, enh = client.Bounced, "5.1.10"
		reply = fmt.Sprintf("556 5.1.10 Domain %s does not accept mail (null MX)", domain)
	case errors.Is(err, dns.ErrLoopsBack): // RFC 3463 §3.5: X.4.6 routing loop detected
		status, enh = client.Bounced, "5.4.6"
		reply = fmt.Sprintf("5.4.6 mail for %s loops back to myself", domain)
	case errors.Is(err, dns.ErrNoUsableMX): // X.4.4 unable to route
		status, enh = client.Bounced, "5.4.4"
		reply = fmt.Sprintf("5.4.4 no usable mail exchanger for %s: %v", domain, err)
	case !dns.IsTemporary(err):
		status, enh = client.Bounced, "5.1.2"
		reply = fmt.Sprintf("5.1.2 Host or domain name not found: %s: %v", domain, err)
	}
	for _, r := range rcpts {
		r.status, r.reply, r.enh, r.remote = status, reply, enh, ""
	}
	h.groupDone(q)
}

// tryHops delivers to hops[i], falling back to the next one when the
// connection cannot be made. A relay that applies DANE first looks up the
// hop's TLSA records, which decide how it uses TLS there.
func (h *Host) tryHops(q *queued, rcpts []*rcptState, hops []hop, i int) {
	if i >= len(hops) {
		h.groupDone(q)
		return
	}
	if !h.usesDANE(hops[i]) {
		h.sendHop(q, rcpts, hops, i, h.outboundTLS())
		return
	}
	h.lookupTLSA(q, hops[i], func(tls hopTLS, err error) {
		if err != nil {
			// X.7.5, cryptographic failure (RFC 3463 §3.8), as Postfix
			// reports a TLSA lookup error.
			deferAll(rcpts, hops[i].host, "4.7.5", err.Error())
			h.tryHops(q, rcpts, hops, i+1)
			return
		}
		h.sendHop(q, rcpts, hops, i, tls)
	})
}

// connFail is a hop that could not be reached and why (see
// Network.connectFailure).
type connFail struct {
	hop hop
	why string
}

// connectFailure returns what a recipient is deferred with when the
// connection to p failed with err: "connect to mx1.example.org[...]:
// nothing listens ...". A queue meets the same few failures for every
// message it retries (a dead MX), so each text is made once.
func (n *Network) connectFailure(p hop, err error) string {
	key := connFail{p, err.Error()}
	text, ok := n.connFails[key]
	if !ok {
		if n.connFails == nil {
			n.connFails = make(map[connFail]string)
		}
		text = "connect to " + p.String() + ": " + key.why
		n.connFails[key] = text
	}
	return text
}

// deferAll marks every recipient of rcpts deferred by remote, for why.
func deferAll(rcpts []*rcptState, remote, enh, why string) {
	for _, r := range rcpts {
		r.status, r.remote, r.reply, r.enh = client.Deferred, remote, why, enh
	}
}

// parseAddress parses an address the host keeps, for the sessions that
// send the message on; one it cannot parse is the zero Mailbox, and the
// client's Reset judges it.
func parseAddress(addr string) smtp.Mailbox {
	mb, _ := smtp.ParseMailbox(addr, smtp.PathOptions{UTF8: true})
	return mb
}

// sendHop runs one SMTP session to hops[i] with tls.
func (h *Host) sendHop(q *queued, rcpts []*rcptState, hops []hop, i int, tls hopTLS) {
	// The DSN parameters go on with the message (RFC 3461 §5.2.1); the
	// client leaves them out if the next hop does not advertise DSN.
	env := client.Envelope{Ret: q.ret, EnvID: q.envid, From: q.sender, To: q.recipientsFor(rcpts)}
	h.net.Send(SendRequest{
		From: h, To: hops[i].dialTarget(), Port: 25, Config: client.Config{Hostname: h.cfg.Name, TLS: tls.mode, CRLFOnly: q.crlfOnly}, Check: tls.check,
		Envelope: env, Data: q.data,
		hop: hopSession{h: h, q: q, rcpts: rcpts, hops: hops, i: i, tls: tls},
	})
}

// hopSession is one session of a queue's delivery, to hops[i] with tls,
// as SendRequest carries it (see SendRequest.hop).
type hopSession struct {
	h     *Host
	q     *queued
	rcpts []*rcptState
	hops  []hop
	i     int
	tls   hopTLS
}

// done carries on with the delivery once the session is over.
func (s *hopSession) done(out client.Outcome, connErr error) {
	s.h.sessionDone(s.q, s.rcpts, s.hops, s.i, s.tls, out, connErr)
}

// sessionDone records how the session to hops[i] went for each recipient
// and decides what next: done, the next hop at once, or the queue.
//
// A recipient goes on to the next hop in the same attempt when another
// server for the domain may well take it now (RFC 5321 §5.1): when this
// one failed the session as a whole (a 421 or 5xx greeting, a lost
// connection, ...), refused the recipient for now with a 4xx to its RCPT,
// or refused the whole message for now with a 4xx to MAIL, to DATA or
// BDAT, or after the content. Postfix does all of these (smtp_rcpt_fail,
// smtp_mesg_fail); it defers a recipient only when no server is left to
// try. A 5xx to RCPT or to the message is the domain's answer and is not
// asked again elsewhere.
//
// A 5xx greeting is skipped, not believed: the server turned the
// connection away before it heard about the mail, so it is a failure of
// the session like a 421, and when no MX is left the message waits in the
// queue rather than bouncing. This is Postfix's smtp_skip_5xx_greeting,
// on by default.
func (h *Host) sessionDone(q *queued, rcpts []*rcptState, hops []hop, i int, tls hopTLS, out client.Outcome, connErr error) {
	target := hops[i].host
	if connErr != nil {
		deferAll(rcpts, target, "4.4.1", h.net.connectFailure(hops[i], connErr))
		h.tryHops(q, rcpts, hops, i+1)
		return
	}
	if why := daneRefusal(tls, hops[i], out); why != "" {
		h.net.emit(&trace.Event{Kind: trace.Note, Host: h.cfg.Name, Msg: q.id, Text: why})
	}
	hopsLeft := i+1 < len(hops)
	var next []*rcptState   // recipients for hops[i+1]
	var notNow []*rcptState // those of next this hop refused for now at RCPT
	failedSession := ""     // the first line of what failed the session, if it did
	messageNotNow := ""     // the first line of a 4xx to the message (MAIL, DATA, BDAT), if one came
	for j, res := range out.Recipients[:min(len(out.Recipients), len(rcpts))] {
		r := rcpts[j]
		delivered := r.record(res, target, out.DSN)
		if res.ORcptLeftOut {
			h.net.emit(&trace.Event{Kind: trace.Note, Host: h.cfg.Name, Msg: q.id, Rcpt: r.addr,
				Text: fmt.Sprintf("the ORCPT of <%s> was not passed on to %s: written as this transaction needs it, it would pass the %d characters RFC 3461 §4.2 allows "+
					"(an address of type utf-8 takes six characters, \\x{F6}, for each ö outside SMTPUTF8, RFC 6533 §3); "+
					"the message goes on without it, and a DSN about this recipient will have no Original-Recipient", r.addr, target, smtp.MaxORcpt)})
		}
		switch {
		case r.status == client.Delivered:
			if delivered == "" { // decided without a reply
				delivered = "delivered to " + target + ": " + res.Reply.String()
			}
			h.net.emit(&trace.Event{Kind: trace.QueueDone, Host: h.cfg.Name, Msg: q.id, Rcpt: r.addr, Text: delivered})
		case !hopsLeft:
			// The last hop's answer stands; settle decides what follows.
		case res.SessionFailure:
			next = append(next, r)
			if failedSession == "" {
				failedSession = firstLine(r.reply)
			}
		case r.status != client.Deferred:
			// A 5xx, to RCPT or to the message, is the domain's answer.
		case res.Verb == smtp.RCPT:
			next = append(next, r)
			notNow = append(notNow, r)
		case res.Verb == smtp.MAIL || res.Verb == smtp.DATA || res.Verb == smtp.BDAT:
			next = append(next, r)
			if messageNotNow == "" {
				messageNotNow = fmt.Sprintf("its reply to %s was %s", res.Verb, firstLine(r.reply))
			}
		}
	}
	if out.SevenBit {
		text := fmt.Sprintf("%s does not offer what this message needs as it is (8BITMIME, or SMTPUTF8 for a header of UTF-8 inside message/global), "+
			"so it went converted to 7 bits: each part with octets beyond ASCII quoted-printable, as RFC 6152 §3 allows and Postfix does, where it would have been returned", hops[i])
		if q.from == "" {
			text += "; a DSN returned is dropped, as bounces are never bounced (RFC 5321 §6.1), and RFC 6533 §6 asks for a global DSN's parts so encoded"
		}
		h.net.emit(&trace.Event{Kind: trace.Note, Host: h.cfg.Name, Msg: q.id, Text: text})
	}
	if !out.DSN && out.Status == client.Delivered && asksDSN(q, rcpts) {
		h.net.emit(&trace.Event{Kind: trace.Note, Host: h.cfg.Name, Msg: q.id,
			Text: target + " does not advertise DSN, so the sender's NOTIFY, ORCPT, RET and ENVID were not passed on (RFC 3461 §5.2.2)"})
	}
	// A 5xx greeting decides every recipient alike.
	if !hopsLeft && len(out.Recipients) > 0 && refusedToTalk(out.Recipients[0]) {
		h.net.emit(&trace.Event{Kind: trace.Note, Host: h.cfg.Name, Msg: q.id,
			Text: fmt.Sprintf("%s refused the session in its greeting (%s, RFC 5321 §3.1). Like Postfix (smtp_skip_5xx_greeting), the relay skips such a server "+
				"rather than bouncing the mail on its word; with no other host left to try, the message waits in the queue", hops[i], firstLine(rcpts[0].reply))})
	}
	if len(next) == 0 {
		h.groupDone(q)
		return
	}
	if failedSession != "" {
		h.net.emit(&trace.Event{Kind: trace.Note, Host: h.cfg.Name, Msg: q.id,
			Text: fmt.Sprintf("%s failed the session (%s), so %s is tried at once: %s (RFC 5321 §5.1)", hops[i], failedSession, nextHopWords(hops, i), hops[i+1])})
	}
	if messageNotNow != "" {
		h.net.emit(&trace.Event{Kind: trace.Note, Host: h.cfg.Name, Msg: q.id,
			Text: fmt.Sprintf("%s turned the message down for now (%s), so %s is tried at once: %s. "+
				"Like Postfix, the relay keeps a message in the queue for a later retry only when no MX is left to try (RFC 5321 §5.1)",
				hops[i], messageNotNow, nextHopWords(hops, i), hops[i+1])})
	}
	for _, r := range notNow {
		h.net.emit(&trace.Event{Kind: trace.Note, Host: h.cfg.Name, Msg: q.id, Rcpt: r.addr,
			Text: fmt.Sprintf("%s turned down RCPT TO:<%s> for now (%s), so %s is tried at once for this recipient: %s. "+
				"A 4xx to RCPT speaks for this server only: like Postfix, the relay keeps a recipient in the queue for a later retry only when no MX is left to try (RFC 5321 §5.1)",
				hops[i], r.addr, firstLine(r.reply), nextHopWords(hops, i), hops[i+1])})
	}
	h.tryHops(q, next, hops, i+1)
}

// nextHopWords names hops[i+1] as the trace's notes call it when the
// relay moves on from hops[i]: "the next MX", or "the next address of
// mx.example.org" when it is another address of the same host. RFC 5321
// §5.1 has a sender try every address of an MX before the next MX, and
// calling the second address another MX would tell the reader there are
// two servers where DNS named one.
func nextHopWords(hops []hop, i int) string {
	if hops[i+1].host == hops[i].host {
		return "the next address of " + hops[i].host
	}
	return "the next MX"
}

// record keeps what a session with remote decided for r: its status,
// and the reply or error that decided it in the words a DSN reports. dsn
// says whether remote advertised DSN. A 5xx greeting defers r: see
// sessionDone.
//
// For a recipient delivered with a reply, it returns the trace's text
// too, "delivered to <remote>: <reply>", and keeps the reply as the end of
// that text: every delivery made the two apart, one string more.
func (r *rcptState) record(res client.RecipientResult, remote string, dsn bool) (delivered string) {
	r.status, r.remote = res.Status, remote
	r.relayed = res.Status == client.Delivered && !dsn
	switch {
	case res.Reply.Code != 0 && res.Status == client.Delivered:
		delivered = deliveredText(remote, res.Reply)
		r.reply, r.enh = delivered[len("delivered to ")+len(remote)+len(": "):], res.Reply.Enhanced
	case res.Reply.Code != 0:
		r.reply, r.enh = res.Reply.String(), res.Reply.Enhanced
	case res.Err != nil:
		r.reply = res.Err.Error()
		var ce *client.Error
		if errors.As(res.Err, &ce) {
			r.enh = ce.Enhanced
		}
	}
	if refusedToTalk(res) {
		r.status, r.enh = client.Deferred, transientStatus(r.enh)
	}
	return delivered
}

// deliveredText returns "delivered to <remote>: <reply>", the reply as
// smtp.Reply.String writes it, built on the stack and made a string once.
func deliveredText(remote string, reply smtp.Reply) string {
	var buf [256]byte
	b := append(buf[:0], "delivered to "...)
	b = append(append(b, remote...), ": "...)
	b = reply.AppendTo(b, reply.Enhanced != "")
	return string(b[:len(b)-len("\r\n")])
}

// firstLine returns the first line of a reply, which may have several.
func firstLine(reply string) string {
	line, _, _ := strings.Cut(reply, "\r\n")
	return line
}

// refusedToTalk reports whether res was decided by a 5xx greeting: a
// reply with no command before it (client.RecipientResult.Verb is "" for
// the greeting).
func refusedToTalk(res client.RecipientResult) bool {
	return res.Reply.Code/100 == 5 && res.Verb == ""
}

// transientStatus turns the enhanced status of a 5xx reply into the same
// status as a transient failure: 5.7.1 becomes 4.7.1, and none becomes
// 4.0.0. Postfix rewrites the status of a 5xx greeting it skips so, and a
// DSN then reports the recipient as a persistent transient failure (RFC
// 3463 §3.1) should the queue give up.
func transientStatus(enh string) string {
	if enh == "" {
		return "4.0.0"
	}
	return "4" + enh[1:]
}

// asksDSN reports whether the sender of q gave DSN parameters for the
// message or for one of rcpts.
func asksDSN(q *queued, rcpts []*rcptState) bool {
	if q.ret != "" || q.envid != "" {
		return true
	}
	for _, r := range rcpts {
		if r.notify != 0 || r.orcpt != "" {
			return true
		}
	}
	return false
}

// settle decides what happens to q after an attempt: done, retried later,
// or given up and bounced; and which news goes back to the sender.
func (h *Host) settle(q *queued) {
	n := h.net
	var failed, delayed, relayed []*rcptState
	waiting := 0
	now := n.Net.Now()
	giveUp := now-q.arrived >= time.Duration(h.retry.GiveUp)
	for _, r := range q.rcpts {
		switch {
		case r.reported: // its news went back already, or was not asked for
		case r.status == client.Bounced:
			failed = append(failed, r)
			r.reported = true
		case r.status == client.Delivered:
			if r.relayed {
				relayed = append(relayed, r)
			}
			r.reported = true
		case giveUp: // deferred or pending for too long
			r.tried = (now - q.arrived).Round(time.Second)
			n.emit(&trace.Event{Kind: trace.QueueGiveUp, Host: h.cfg.Name, Msg: q.id, Rcpt: r.addr,
				Text: fmt.Sprintf("gave up after %s in the queue: %s", r.tried, r.reply)})
			r.status, r.reported = client.Bounced, true
			failed = append(failed, r)
		default:
			waiting++
			if r.status == client.Deferred && !r.warned {
				delayed = append(delayed, r)
				r.warned = true
			}
		}
	}
	h.report(q, ActionFailed, failed)
	h.report(q, ActionDelayed, delayed)
	h.report(q, ActionRelayed, relayed)
	if waiting == 0 {
		h.queue.remove(q)
		return
	}
	wait := h.retry.Next(q.attempts)
	q.next = now + wait
	for _, r := range q.rcpts {
		if r.status == client.Deferred || r.status == client.Pending {
			n.emit(&trace.Event{Kind: trace.QueueRetry, Host: h.cfg.Name, Msg: q.id, Rcpt: r.addr, Text: r.reply,
				Attrs: map[string]string{"attempt": strconv.Itoa(q.attempts), "next": wait.String()}})
		}
	}
	q.timer.Reset(wait)
}

// dsnStatus is what a DSN with action says about r. A temporary failure
// that lasted until the queue gave up keeps its 4.X.X status with Action:
// failed: RFC 3463 §3.1 calls that class a persistent transient failure,
// whose persistence "has caused abandonment" of the attempts, and Postfix
// reports it so.
func (r *rcptState) dsnStatus(action string) RecipientStatus {
	st := RecipientStatus{Recipient: r.addr, Original: r.orcpt, Action: action, Status: r.enh, Remote: r.remote, Diagnosis: r.reply, Tried: r.tried}
	switch {
	case action == ActionDelivered || action == ActionRelayed:
		if !strings.HasPrefix(st.Status, "2") {
			st.Status = "2.0.0"
		}
	case st.Status == "" && action == ActionDelayed:
		st.Status = "4.0.0"
	case st.Status == "":
		st.Status = "5.0.0"
	}
	return st
}

// report sends the sender of q a DSN saying action about those of rcpts
// who asked for it with NOTIFY (RFC 3461 §4.1), and tells the trace why
// the others get none. A DSN's own sender is the null path, and a DSN is
// never the subject of another one (RFC 3461 §6.2, RFC 5321 §6.1).
func (h *Host) report(q *queued, action string, rcpts []*rcptState) {
	n := h.net
	var told []RecipientStatus
	var names []string
	for _, r := range rcpts {
		if !r.wants(action) {
			if action == ActionFailed {
				n.emit(&trace.Event{Kind: trace.Note, Host: h.cfg.Name, Msg: q.id, Rcpt: r.addr, Text: silentFailure(r.notify)})
			}
			continue
		}
		st := r.dsnStatus(action)
		if action == ActionDelayed {
			st.RetryUntil = n.Net.Start().Add(q.arrived + time.Duration(h.retry.GiveUp))
		}
		told = append(told, st)
		name := r.addr
		if action == ActionFailed {
			// Why it failed, in brief: the DSN's Status field.
			name += " (" + st.Status + ")"
		}
		names = append(names, name)
	}
	if len(told) == 0 {
		return
	}
	if q.from == "" {
		why := "a bounce could not be delivered; bounces are never bounced (RFC 5321 §6.1), so it is dropped"
		if action != ActionFailed {
			why = fmt.Sprintf("no %s DSN: the message has the null sender <>, so it is a DSN itself, and DSNs are never reported on (RFC 3461 §6.2)", action)
		}
		n.emit(&trace.Event{Kind: trace.Note, Host: h.cfg.Name, Msg: q.id, Text: why})
		return
	}
	id := h.newID()
	dsn := DSN{
		ReportingMTA: h.cfg.Name, To: q.from, QueueID: q.id, MessageID: id + "@" + h.cfg.Name, EnvID: q.envid,
		Arrived: n.Net.Start().Add(q.arrived), At: n.Net.Date(), Recipients: told, Original: q.data,
		// RET is about the message a failed DSN returns (RFC 3461 §4.3);
		// news of a delay or a delivery needs no more than the header.
		Full: action == ActionFailed && q.ret == "FULL",
	}
	text := fmt.Sprintf("delivery status notification %s for %s", id, strings.Join(names, ", "))
	switch {
	case action == ActionDelayed:
		text += ": delayed, still being retried (the sender asked with NOTIFY=DELAY)"
	case action == ActionDelivered:
		text += ": delivered into the mailbox (the sender asked with NOTIFY=SUCCESS)"
	case action == ActionRelayed:
		text += fmt.Sprintf(": relayed to %s, which does not offer DSN, so no further report will come (RFC 3461 §5.2.2)", told[0].Remote)
	case dsn.Full:
		text += ", returning the whole message (RET=FULL)"
	}
	n.emit(&trace.Event{Kind: trace.Bounce, Host: h.cfg.Name, Msg: q.id, Rcpt: q.from, Text: text,
		Attrs: map[string]string{"action": action}})
	h.accept(id, envelope{rcpts: []recipient{{addr: q.from}}}, taken{data: dsn.Build()})
}

// silentFailure says why a recipient that failed gets no DSN: its sender
// gave NOTIFY without FAILURE.
func silentFailure(notify server.Notify) string {
	if notify == server.NotifyNever {
		return "no DSN for this failure: the sender asked for none (NOTIFY=NEVER, RFC 3461 §4.1)"
	}
	return fmt.Sprintf("no DSN for this failure: the sender asked NOTIFY=%s, without FAILURE (RFC 3461 §4.1)", notify)
}
