package mta

import (
	"errors"
	"fmt"

	"smtplab/engine/client"
	"smtplab/engine/simnet"
	"smtplab/engine/trace"
)

// SendRequest is one SMTP client session to run over the simulated
// network: a queue delivering to an MX, or a user's mail client submitting
// to its server.
type SendRequest struct {
	From     *Host
	To       string // host name or address
	Port     int
	Config   client.Config
	Check    CertCheck // how the server's certificate is checked
	Envelope client.Envelope
	Data     []byte
	// Done is called once: with the session's outcome, or with connErr
	// when no connection could be made (refused, timed out).
	Done func(out client.Outcome, connErr error)
	// hop, set instead of Done by a queue (sendHop), is the delivery the
	// session is part of, which it hands its outcome to. Most sessions of
	// a world are a queue's, and the request is copied into a reused
	// outbound, so this costs nothing, where a Done closure holding the
	// same was an allocation for every session.
	hop hopSession
}

// done hands the session's outcome to Done, or to the delivery it is
// part of.
func (req *SendRequest) done(out client.Outcome, connErr error) {
	if req.Done == nil {
		req.hop.done(out, connErr)
		return
	}
	req.Done(out, connErr)
}

// outbound drives a client state machine over a simulated connection.
//
// Once its session is over, an outbound serves a later one (see release).
// The connection it drove before may still call it, so every call from a
// connection that is not its own is ignored.
type outbound struct {
	n      *Network
	req    SendRequest
	c      *client.Client
	conn   *simnet.Conn
	opened bool
	done   bool
	// results is the list of recipients' results of the last outcome
	// handed to a queue (see outcome), kept through release for the next.
	results []client.RecipientResult
}

// Send starts a client session; its outcome arrives through req.Done as
// the world runs.
//
// A session the client refuses to start (client.Client.Reset: an envelope
// or a hostname it cannot write into a command) ends before it connects:
// the trace says why, and every recipient fails with the client's error,
// for good, so that a queue bounces them with that status rather than
// retrying a message that can never go.
func (n *Network) Send(req SendRequest) {
	c := n.idleClient()
	if err := c.Reset(req.Config, req.Envelope, req.Data); err != nil {
		n.putClient(c)
		n.refuse(req, err)
		return
	}
	o := n.idleOutbound()
	o.req, o.c = req, c
	o.conn = n.Net.Dial(req.From.sim, req.To, req.Port, o)
}

// refuse ends the session of req that the client refused to start, with
// err, once the current event is done (see Send). It is a function of its
// own so that only a refused request is captured by a closure and moved
// to the heap, not every one Send gets.
func (n *Network) refuse(req SendRequest, err error) {
	n.Net.After(0, func() {
		n.emit(&trace.Event{Kind: trace.Note, Host: req.From.cfg.Name,
			Text: fmt.Sprintf("no session to %s: the client refused to start one (%v); "+
				"trying again would not change that, so every recipient of this session fails for good", req.To, err)})
		req.done(refusedOutcome(req.Envelope, err), nil)
	})
}

// refusedOutcome is the outcome of a session the client refused to start
// with err: every recipient bounced, decided by the client (Err, no
// Reply).
func refusedOutcome(env client.Envelope, err error) client.Outcome {
	out := client.Outcome{Status: client.Bounced, Err: err}
	for _, r := range env.To {
		out.Recipients = append(out.Recipients, client.RecipientResult{Mailbox: r.Mailbox, Status: client.Bounced, Err: err})
	}
	return out
}

func (o *outbound) Open(c *simnet.Conn) {
	if c != o.conn {
		return
	}
	o.opened = true
	if o.req.Port == 465 {
		o.startTLS()
	}
}

func (o *outbound) Data(c *simnet.Conn, p []byte) {
	if c != o.conn || o.done {
		return
	}
	o.c.Feed(p)
	o.step()
	o.release()
}

func (o *outbound) Closed(c *simnet.Conn, why string) {
	if c != o.conn || o.done {
		return
	}
	if !o.opened {
		o.finish(client.Outcome{}, o.n.dialError(why))
	} else {
		o.c.ConnectionLost(fmt.Errorf("connection closed: %s", why))
		o.step()
	}
	o.release()
}

// step writes what the client wants sent and does what it asks next.
func (o *outbound) step() {
	for !o.done {
		if why := o.c.TLSSkipped(); why != "" && o.req.Done == nil {
			// Nothing on the wire shows that a man in the middle struck
			// the offer: the relay's note is where the trace says the
			// message goes in clear. (Only a queue's session, a relay's,
			// says it: the lab's mail client, which Done marks, shows
			// its own session in the learner's transcript.)
			o.n.emit(&trace.Event{Kind: trace.Note, Conn: o.conn.ID(), Host: o.req.From.cfg.Name, Peer: o.conn.Remote().Name(),
				Text: "no TLS with " + o.conn.Remote().Name() + ": " + why + " (opportunistic TLS, RFC 7435)"})
		}
		if out := o.c.Output(); len(out) > 0 {
			_ = o.conn.Write(out)
		}
		switch o.c.Action() {
		case client.ActionRead:
			return
		case client.ActionStartTLS:
			unverified, err := o.startTLS()
			if err != nil {
				o.c.TLSFailed(err)
				continue
			}
			o.c.TLSStarted(unverified)
		case client.ActionClose:
			o.conn.Close("quit")
			o.finish(o.outcome(), nil)
		}
	}
}

// dialError returns why, the reason a dial failed, as an error. A
// relay meets the same few reasons again and again (a dead MX refuses
// every message of a queue), so each is made once; they are simnet's
// few reasons, naming at most a host and port of the world.
func (n *Network) dialError(why string) error {
	err, ok := n.dialErrs[why]
	if !ok {
		if n.dialErrs == nil {
			n.dialErrs = make(map[string]error)
		}
		err = errors.New(why)
		n.dialErrs[why] = err
	}
	return err
}

// errUnverified is why the client is told a certificate did not verify.
var errUnverified = errors.New("the certificate was not verified")

// startTLS runs the handshake with the server end of the connection.
// unverified is errUnverified when the certificate did not pass the
// check, for the client, which then keeps any credentials to itself.
func (o *outbound) startTLS() (unverified, err error) {
	verified, err := o.n.StartTLS(o.conn, o.req.Check)
	if err != nil {
		o.n.emit(&trace.Event{Kind: trace.Note, Conn: o.conn.ID(), Host: o.req.From.cfg.Name,
			Text: "TLS handshake failed: " + err.Error()})
		return nil, err
	}
	if !verified {
		o.n.emit(&trace.Event{Kind: trace.Note, Conn: o.conn.ID(), Host: o.req.From.cfg.Name,
			Text: "TLS is on, but the certificate was not verified: encrypted, not authenticated (opportunistic TLS, RFC 7435)"})
		return errUnverified, nil
	}
	return nil, nil
}

// outcome returns the session's outcome. A queue's session (req.hop) is
// given it in o's own list of results, used again by o's next session: the
// queue reads the outcome in sessionDone and copies what it keeps of each
// recipient's result, and o is not used again before that call returns
// (see release). Done, which may keep the outcome, gets one of its own.
func (o *outbound) outcome() client.Outcome {
	if o.req.Done != nil {
		return o.c.Outcome()
	}
	out := o.c.OutcomeInto(o.results)
	o.results = out.Recipients
	return out
}

func (o *outbound) finish(out client.Outcome, connErr error) {
	o.done = true
	o.req.done(out, connErr)
	// Done has used the outcome: the client's memory can serve the next
	// session.
	o.n.putClient(o.c)
	o.c = nil
}

// release hands o back to the Network for a later session once its own is
// over. It is called last by the connection's calls into o, not by finish:
// the Done that finish calls may start the next session at once, and o is
// still in use until the call that finished it returns.
func (o *outbound) release() {
	if !o.done {
		return
	}
	n := o.n
	// Nothing of the old session is kept alive: the results are cleared,
	// and only their list's memory is kept.
	clear(o.results)
	*o = outbound{n: n, results: o.results[:0]}
	if len(n.outbounds) < maxIdleClients {
		n.outbounds = append(n.outbounds, o)
	}
}

// idleOutbound returns an outbound to start a session with: one kept by
// release, or a new one.
func (n *Network) idleOutbound() *outbound {
	if k := len(n.outbounds); k > 0 {
		o := n.outbounds[k-1]
		n.outbounds = n.outbounds[:k-1]
		return o
	}
	return &outbound{n: n}
}

// putClient keeps c for reuse, up to maxIdleClients.
func (n *Network) putClient(c *client.Client) {
	if len(n.clients) < maxIdleClients {
		n.clients = append(n.clients, c)
	}
}

// maxIdleClients bounds the client sessions kept for reuse.
const maxIdleClients = 16

// idleClient returns a client session to Reset: one kept from a finished
// session, or a new one.
func (n *Network) idleClient() *client.Client {
	if k := len(n.clients); k > 0 {
		c := n.clients[k-1]
		n.clients = n.clients[:k-1]
		return c
	}
	return new(client.Client)
}
