package mta

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"smtplab/engine/client"
	"smtplab/engine/dns"
	"smtplab/engine/simnet"
	"smtplab/engine/smtp"
	"smtplab/engine/trace"
)

// queued is one message in a host's queue, waiting for its remote
// recipients to be delivered.
type queued struct {
	id       string
	from     string // "" for a bounce
	data     []byte
	arrived  time.Duration
	rcpts    []*rcptState
	attempts int
	next     time.Duration // virtual time of the next attempt
	timer    *simnet.Timer
	inFlight int // delivery groups of the current attempt still running
	place    int // index in the host's messageQueue; -1 once it left
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
	q.place = len(mq.msgs)
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
				x.place = len(kept)
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
	addr    string
	status  client.Status
	reply   string // the last reply or error, in the words a DSN reports
	enh     string // its enhanced status code
	remote  string // the host that gave it
	bounced bool   // reported in a DSN already
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

// accept takes responsibility for a message: local recipients get it in
// their mailbox at once, remote ones through the queue.
func (h *Host) accept(id, from string, rcpts []string, data []byte) {
	n := h.net
	var remote []*rcptState
	for _, rcpt := range rcpts {
		_, domain, _ := strings.Cut(rcpt, "@")
		if h.cfg.Serves(domain) || (domain == "" && strings.EqualFold(rcpt, "postmaster")) {
			h.deliverLocal(id, from, rcpt, data)
			continue
		}
		remote = append(remote, &rcptState{addr: rcpt, status: client.Pending})
	}
	if len(remote) == 0 {
		return
	}
	q := &queued{id: id, from: from, data: data, arrived: n.Net.Now(), rcpts: remote, next: n.Net.Now()}
	h.queue.add(q)
	for _, r := range remote {
		n.emit(trace.Event{Kind: trace.QueueAdd, Host: h.cfg.Name, Msg: id, Rcpt: r.addr, Text: "queued for delivery"})
	}
	// The queue manager picks the message up right after the session that
	// brought it, not inside it.
	q.timer = n.Net.After(time.Millisecond, func() { h.attempt(q) })
}

// deliverLocal puts a message into a local mailbox.
func (h *Host) deliverLocal(id, from, rcpt string, data []byte) {
	stored, removed := h.Mailboxes.Deliver(StoredMessage{ID: id, From: from, To: rcpt, DeliveredAt: h.net.Net.Date(), Raw: data})
	h.net.emit(trace.Event{Kind: trace.Delivery, Host: h.cfg.Name, Msg: id, Rcpt: strings.ToLower(rcpt),
		Size: len(stored.Raw), Text: Subject(data)})
	if removed > 0 {
		h.net.emit(trace.Event{Kind: trace.Note, Host: h.cfg.Name, Rcpt: strings.ToLower(rcpt),
			Text: fmt.Sprintf("the oldest %d message(s) of this mailbox were removed: it keeps only its newest %d octets, so that the server's memory stays bounded", removed, h.Mailboxes.keepBytes)})
	}
}

// attempt tries to deliver every waiting recipient of q, one session per
// destination domain.
func (h *Host) attempt(q *queued) {
	q.timer = nil
	q.attempts++
	groups := map[string][]*rcptState{}
	var order []string
	for _, r := range q.rcpts {
		if r.status != client.Pending && r.status != client.Deferred {
			continue
		}
		_, domain, _ := strings.Cut(r.addr, "@")
		domain = strings.ToLower(domain)
		if _, seen := groups[domain]; !seen {
			order = append(order, domain)
		}
		groups[domain] = append(groups[domain], r)
	}
	q.inFlight = len(order)
	for _, domain := range order {
		h.deliverGroup(q, domain, groups[domain])
	}
	if q.inFlight == 0 {
		h.settle(q)
	}
}

// groupDone is called when the delivery of one domain's recipients ended.
func (h *Host) groupDone(q *queued) {
	q.inFlight--
	if q.inFlight == 0 {
		h.settle(q)
	}
}

// deliverGroup finds the mail exchangers of domain and tries them in
// order (RFC 5321 §5.1).
func (h *Host) deliverGroup(q *queued, domain string, rcpts []*rcptState) {
	n := h.net
	if h.cfg.Relayhost != "" {
		h.tryTargets(q, rcpts, []string{h.cfg.Relayhost}, 0)
		return
	}
	route, err := n.Resolver.SelectMX(dns.Caller{Host: h.cfg.Name, Record: n.Net.EmitAfter}, domain, n.Net.Rand())
	n.Net.After(route.Cost+time.Millisecond, func() {
		if err != nil {
			h.routeFailed(q, rcpts, domain, err)
			return
		}
		var targets []string
		for _, t := range route.Targets {
			targets = append(targets, t.Host)
		}
		h.tryTargets(q, rcpts, targets, 0)
	})
}

// routeFailed records a DNS failure for every recipient of the group.
func (h *Host) routeFailed(q *queued, rcpts []*rcptState, domain string, err error) {
	code, enh, why := 451, "4.4.3", fmt.Sprintf("Host or domain name lookup failed for %s: %v", domain, err)
	switch {
	case errors.Is(err, dns.ErrNullMX):
		code, enh, why = 556, "5.1.10", fmt.Sprintf("Domain %s does not accept mail (null MX)", domain)
	case !dns.IsTemporary(err):
		code, enh, why = 550, "5.1.2", fmt.Sprintf("Host or domain name not found: %s: %v", domain, err)
	}
	status := client.Bounced
	if code < 500 {
		status = client.Deferred
	}
	for _, r := range rcpts {
		r.status, r.reply, r.enh, r.remote = status, fmt.Sprintf("%d %s %s", code, enh, why), enh, ""
	}
	h.groupDone(q)
}

// tryTargets delivers to targets[i], falling back to the next one when the
// connection cannot be made.
func (h *Host) tryTargets(q *queued, rcpts []*rcptState, targets []string, i int) {
	if i >= len(targets) {
		h.groupDone(q)
		return
	}
	env := client.Envelope{}
	if q.from != "" {
		from, _ := smtp.ParseMailbox(q.from, smtp.PathOptions{UTF8: true})
		env.From = from
	}
	for _, r := range rcpts {
		mb, _ := smtp.ParseMailbox(r.addr, smtp.PathOptions{UTF8: true})
		env.To = append(env.To, client.Recipient{Mailbox: mb})
	}
	target := targets[i]
	h.net.Send(SendRequest{
		From: h, To: target, Port: 25, Config: h.clientConfig(), Verify: h.verifies(), Envelope: env, Data: q.data,
		Done: func(out client.Outcome, connErr error) {
			if connErr != nil {
				for _, r := range rcpts {
					r.status, r.remote = client.Deferred, target
					r.reply, r.enh = fmt.Sprintf("connect to %s: %v", target, connErr), "4.4.1"
				}
				h.tryTargets(q, rcpts, targets, i+1)
				return
			}
			for j, res := range out.Recipients {
				if j >= len(rcpts) {
					break
				}
				r := rcpts[j]
				r.status, r.remote = res.Status, target
				switch {
				case res.Reply.Code != 0:
					r.reply, r.enh = res.Reply.String(), res.Reply.Enhanced
				case res.Err != nil:
					r.reply = res.Err.Error()
					var ce *client.Error
					if errors.As(res.Err, &ce) {
						r.enh = ce.Enhanced
					}
				}
				if res.Status == client.Delivered {
					h.net.emit(trace.Event{Kind: trace.QueueDone, Host: h.cfg.Name, Msg: q.id, Rcpt: r.addr,
						Text: fmt.Sprintf("delivered to %s: %s", target, res.Reply.String())})
				}
			}
			h.groupDone(q)
		},
	})
}

func (h *Host) clientConfig() client.Config {
	cfg := client.Config{Hostname: h.cfg.Name, TLS: client.TLSOpportunistic}
	switch h.cfg.OutboundTLS {
	case TLSNone:
		cfg.TLS = client.TLSNone
	case TLSRequired:
		cfg.TLS = client.TLSRequired
	}
	return cfg
}

func (h *Host) verifies() bool {
	return h.cfg.OutboundTLS == TLSVerify || h.cfg.OutboundTLS == TLSRequired
}

// settle decides what happens to q after an attempt: done, retried later,
// or given up and bounced.
func (h *Host) settle(q *queued) {
	n := h.net
	var failures []Failure
	waiting := 0
	now := n.Net.Now()
	giveUp := now-q.arrived >= time.Duration(h.retry.GiveUp)
	for _, r := range q.rcpts {
		switch {
		case r.status == client.Bounced && !r.bounced:
			failures = append(failures, r.failure("failed"))
			r.bounced = true
		case (r.status == client.Deferred || r.status == client.Pending) && giveUp:
			n.emit(trace.Event{Kind: trace.QueueGiveUp, Host: h.cfg.Name, Msg: q.id, Rcpt: r.addr,
				Text: fmt.Sprintf("gave up after %s in the queue: %s", (now - q.arrived).Round(time.Second), r.reply)})
			r.status, r.bounced = client.Bounced, true
			f := r.failure("failed")
			if strings.HasPrefix(f.Status, "4") {
				f.Status = "5" + f.Status[1:]
			}
			failures = append(failures, f)
		case r.status == client.Deferred || r.status == client.Pending:
			waiting++
		}
	}
	if len(failures) > 0 {
		h.bounce(q, failures)
	}
	if waiting == 0 {
		h.queue.remove(q)
		return
	}
	wait := h.retry.Next(q.attempts)
	q.next = now + wait
	for _, r := range q.rcpts {
		if r.status == client.Deferred || r.status == client.Pending {
			n.emit(trace.Event{Kind: trace.QueueRetry, Host: h.cfg.Name, Msg: q.id, Rcpt: r.addr, Text: r.reply,
				Attrs: map[string]string{"attempt": fmt.Sprint(q.attempts), "next": wait.String()}})
		}
	}
	q.timer = n.Net.After(wait, func() { h.attempt(q) })
}

func (r *rcptState) failure(action string) Failure {
	status := r.enh
	if status == "" {
		status = "5.0.0"
		if r.status == client.Deferred {
			status = "4.0.0"
		}
	}
	return Failure{Recipient: r.addr, Status: status, Remote: r.remote, Diagnosis: r.reply, Action: action}
}

// bounce returns a delivery status notification to the sender of q. A
// bounce is never bounced (RFC 5321 §6.1: its sender is the null path).
func (h *Host) bounce(q *queued, failures []Failure) {
	n := h.net
	if q.from == "" {
		n.emit(trace.Event{Kind: trace.Note, Host: h.cfg.Name, Msg: q.id,
			Text: "a bounce could not be delivered; bounces are never bounced (RFC 5321 §6.1), so it is dropped"})
		return
	}
	id := h.newID()
	dsn := Bounce{
		ReportingMTA: h.cfg.Name, To: q.from, QueueID: q.id, MessageID: id + "@" + h.cfg.Name,
		Arrived: n.Net.Start().Add(q.arrived), At: n.Net.Date(), Failures: failures, Original: q.data,
	}
	var rcpts []string
	for _, f := range failures {
		rcpts = append(rcpts, f.Recipient)
	}
	n.emit(trace.Event{Kind: trace.Bounce, Host: h.cfg.Name, Msg: q.id, Rcpt: q.from,
		Text: fmt.Sprintf("delivery status notification %s for %s", id, strings.Join(rcpts, ", "))})
	h.accept(id, "", []string{q.from}, dsn.Build())
}
