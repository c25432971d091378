package client

import (
	"bytes"
	"strings"
	"unsafe"

	"smtplab/engine/smtp"
)

// keep copies the reply being handled, which decides recipients, into
// c.kept, so Outcome can show it later; the reply is parsed into an
// smtp.Reply only then.
func (c *Client) keep(raw []byte, code int) replyRef {
	if len(c.kept)+len(raw) > maxKept {
		// A server that answers every recipient at length does not get to
		// fill the memory: past the budget only the last line is kept,
		// which is a complete reply by itself.
		raw = raw[bytes.LastIndexByte(raw[:len(raw)-1], '\n')+1:]
	}
	start := len(c.kept)
	c.kept = append(c.kept, raw...)
	return replyRef{start: start, end: len(c.kept), code: code, verb: c.answers}
}

// settle decides recipient i, unless it is decided already. The status
// comes from the reply code, or from err when err is an *Error.
func (c *Client) settle(i int, st Status, ref replyRef, err error) {
	r := &c.rcpts[i]
	if r.status != Pending {
		return
	}
	if e, ok := err.(*Error); ok {
		st = e.Status
	}
	r.status, r.reply, r.err, r.session = st, ref, err, c.sessionFailed
}

// settleOpen decides every recipient still open, accepted or not, with the
// reply ref (which may be the zero replyRef) and err. It is only ever called
// when the session failed, so even a positive reply (a greeting of 250, say)
// defers: nothing was handed over.
func (c *Client) settleOpen(ref replyRef, err error) {
	st := failureOf(ref.code)
	for i := range c.rcpts {
		c.settle(i, st, ref, err)
	}
}

// settleSession is settleOpen for a failure of the session as a whole,
// not of anything the server said about the message or its recipients: a
// greeting or hello that was not 2xx, TLS that was required and did not
// happen, a 421, a lost connection, a reply that broke the protocol. It
// marks the recipients it decides, so that a relay can try another server
// for them at once (RecipientResult.SessionFailure). The session ends
// after it, so nothing is decided later.
func (c *Client) settleSession(ref replyRef, err error) {
	c.sessionFailed = true
	c.settleOpen(ref, err)
}

// settleAccepted decides the recipients whose RCPT was accepted, with st,
// because of the reply to the content (or to DATA, or to a BDAT chunk).
func (c *Client) settleAccepted(raw []byte, code int, st Status) {
	if c.accepted == 0 {
		return
	}
	ref := c.keep(raw, code)
	for i, r := range c.rcpts {
		if r.accepted {
			c.settle(i, st, ref, nil)
		}
	}
}

// buildReply parses raw reply lines, each ending in CRLF and already
// checked by readLine, with smtp.ReplyReader.
//
// The texts of its lines are pieces of one copy of raw in c.texts, not a
// string each: a mail transfer agent's client builds the replies that
// decided its recipients after every session, and a busy world runs
// thousands. c.texts is only appended to, never written over, so a reply
// handed out stays as it was; a Reply kept keeps the few kilobytes of
// c.texts it is in.
func (c *Client) buildReply(raw []byte) smtp.Reply {
	text := c.text(raw)
	var rr smtp.ReplyReader
	for len(text) > 0 {
		line, rest, _ := strings.Cut(text, "\n")
		text = rest
		r, done, err := rr.FeedString(strings.TrimSuffix(line, "\r"))
		if done && err == nil {
			return r
		}
	}
	return smtp.Reply{}
}

// text returns a copy of raw in c.texts (see buildReply), which is made
// anew, textsRoom at a time, once it has no room left for raw.
func (c *Client) text(raw []byte) string {
	if len(raw) == 0 {
		return ""
	}
	if cap(c.texts)-len(c.texts) < len(raw) {
		c.texts = make([]byte, 0, max(textsRoom, len(raw)))
	}
	start := len(c.texts)
	c.texts = append(c.texts, raw...)
	return unsafe.String(&c.texts[start], len(raw))
}

// textsRoom is how many octets of reply texts c.texts makes room for at
// a time: those of some fifty replies of one line.
const textsRoom = 4096

// Status returns the status of the message as a whole, as Outcome does,
// without building the replies.
func (c *Client) Status() Status {
	var delivered, deferred bool
	for _, r := range c.rcpts {
		switch r.status {
		case Pending:
			return Pending
		case Delivered:
			delivered = true
		case Deferred:
			deferred = true
		}
	}
	switch {
	case delivered:
		return Delivered
	case deferred:
		return Deferred
	}
	return Bounced
}

// Outcome returns what happened to every recipient so far. It is final
// once Action is ActionClose. The Outcome is the caller's: the client
// keeps no part of it, and a later session changes nothing in it.
func (c *Client) Outcome() Outcome { return c.OutcomeInto(nil) }

// OutcomeInto is Outcome with its Recipients written into recipients
// (from its start; a new list when it is too short), where Outcome makes
// a new list for every session. It is for a caller that is done with an
// outcome before it asks for the next one, and hands the same list in
// again: engine/mta's outbound sessions do, a list of their own for every
// queue's session, since the queue copies what it keeps of each
// recipient's result and a busy world runs thousands of sessions. Only
// that list is shared with the caller; everything else in the Outcome
// (the replies and their lines, the errors) is its own, as with Outcome.
// With a nil recipients it is Outcome.
func (c *Client) OutcomeInto(recipients []RecipientResult) Outcome {
	if recipients == nil || cap(recipients) < len(c.rcpts) {
		recipients = make([]RecipientResult, len(c.rcpts)) // never nil, as Outcome's list always was
	}
	recipients = recipients[:len(c.rcpts)]
	o := Outcome{Status: c.Status(), TLS: c.tls, DSN: c.ext.DSN, SevenBit: c.sevenBit, Recipients: recipients}
	if c.authed {
		o.Auth = c.mech
	}
	chosen := false
	for i, r := range c.rcpts {
		res := RecipientResult{Mailbox: c.env.To[i].Mailbox, Status: r.status, Err: r.err, SessionFailure: r.session, ORcptLeftOut: r.orcptLeftOut}
		if r.reply.code != 0 {
			res.Reply, res.Verb = c.buildReply(c.kept[r.reply.start:r.reply.end]), r.reply.verb
		}
		if !chosen && r.status == o.Status {
			o.Reply, o.Err, chosen = res.Reply, res.Err, true
		}
		o.Recipients[i] = res
	}
	return o
}
