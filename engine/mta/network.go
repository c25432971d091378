package mta

import (
	"crypto/ed25519"
	"fmt"
	"hash/fnv"
	"net/netip"
	"slices"
	"sort"
	"time"

	"smtplab/engine/client"
	"smtplab/engine/dns"
	"smtplab/engine/server"
	"smtplab/engine/simnet"
	"smtplab/engine/smtp"
	"smtplab/engine/trace"
)

// Network is every mail host of one simulated world, sharing its network,
// its DNS and its certificate authority.
type Network struct {
	Net      *simnet.World
	Resolver *dns.Resolver
	// TLS runs the STARTTLS and implicit-TLS handshakes; nil means no
	// host can do TLS (STARTTLS is then never offered).
	TLS Handshaker
	// DKIMKeys gives the key each domain signs its mail with, for hosts
	// with a DKIMSelector; nil means no host can sign.
	DKIMKeys func(domain string) (ed25519.PrivateKey, error)

	hosts     map[string]*Host    // by lower-case name
	order     []*Host             // in the order they were added
	strip     map[[2]string]bool  // pairs of hosts with a man in the middle who hides STARTTLS (see stripKey)
	cuts      []replyCut          // armed by CutBeforeReply
	clients   []*client.Client    // client sessions of finished deliveries, for reuse
	outbounds []*outbound         // their drivers, for reuse (see outbound.release)
	texts     textTable           // texts the trace and the hosts keep, shared where they repeat
	dates     DateCache           // the date of the last Received: header
	peers     map[netip.Addr]peer // every client address a server end has seen (see peerOf)
	dialErrs  map[string]error    // why a dial failed, as an error (see dialError)
	connFails map[connFail]string // why a hop could not be reached, as a recipient's reply (see connectFailure)

	// While a server session is fed, what the hosts do because of it (a
	// message queued or delivered, a DSN) is held back, so the trace shows
	// it after the session's command and reply that caused it: see
	// HoldEvents.
	holding bool
	held    []trace.Event
}

// HoldEvents holds back the events the hosts emit from now until
// EmitHeld, except the server sessions' own commands and replies
// (TraceServerEvents). A server session decides a whole pipelined batch in
// one Feed, and a message it accepts is queued or delivered within that
// call, before the session's events are traced: held, the delivery comes
// after the "250 queued" that promised it, as on the wire.
func (n *Network) HoldEvents() { n.holding = true }

// EmitHeld emits the events held since HoldEvents, in order, and stops
// holding.
func (n *Network) EmitHeld() {
	n.holding = false
	for i := range n.held {
		n.Net.EmitEvent(&n.held[i])
	}
	// Not cleared, only forgotten: the next held events are written over
	// these, which keep only a few short strings alive until then.
	n.held = n.held[:0]
}

// StripSTARTTLS puts a man in the middle between client and server who
// rewrites STARTTLS in EHLO replies to XXXXXXXA, as some firewalls really
// do, so an opportunistic client goes on in plaintext; on false removes
// him. Several pairs of hosts can have one each.
func (n *Network) StripSTARTTLS(client, server string, on bool) {
	key := stripKey(client, server)
	text := "a man in the middle between " + client + " and " + server + " now hides STARTTLS from EHLO replies"
	if on {
		n.strip[key] = true
	} else {
		delete(n.strip, key)
		text = "the man in the middle between " + client + " and " + server + " is gone"
	}
	n.emit(&trace.Event{Kind: trace.Fault, Host: client, Peer: server, Text: text})
}

// stripKey is the key of a pair of hosts in Network.strip: their names in
// lower case, the client first.
func stripKey(client, server string) [2]string {
	return [2]string{lower(client), lower(server)}
}

// replyCut is a fault armed by CutBeforeReply.
type replyCut struct {
	server, client string // lower case
	reason         smtp.Reason
}

// CutBeforeReply arms a fault that breaks the first connection on which
// server is about to send client a reply with this reason: the reply is
// written but never arrives, as when a link dies at the worst moment.
// With smtp.ReasonMessageAccepted the server has taken the message and
// the client never hears so: it keeps the message and sends it again
// later, and the recipient gets it twice (RFC 1047, RFC 5321 §6.1). The
// fault fires once.
func (n *Network) CutBeforeReply(server, client string, reason smtp.Reason) {
	n.cuts = append(n.cuts, replyCut{server: lower(server), client: lower(client), reason: reason})
}

// cutDue reports whether an armed CutBeforeReply fault fires for one of
// the replies in events, which the server from is about to send its
// client to, and disarms it if so.
func (n *Network) cutDue(from, to string, events []server.Event) bool {
	for i, c := range n.cuts {
		if c.server != lower(from) || c.client != lower(to) {
			continue
		}
		for _, e := range events {
			if e.Kind == server.EventReply && e.Reply.Reason == c.reason {
				n.cuts = slices.Delete(n.cuts, i, i+1)
				return true
			}
		}
	}
	return false
}

// NewNetwork returns an empty mail network over net and resolver.
func NewNetwork(net *simnet.World, resolver *dns.Resolver) *Network {
	return &Network{Net: net, Resolver: resolver, hosts: map[string]*Host{}, strip: map[[2]string]bool{}}
}

// AddHost adds a host to the simulated network and starts its SMTP
// listeners.
func (n *Network) AddHost(cfg HostConfig) (*Host, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	key := lower(cfg.Name)
	if _, dup := n.hosts[key]; dup {
		return nil, fmt.Errorf("host %s is defined twice", cfg.Name)
	}
	h := &Host{
		net:   n,
		cfg:   cfg,
		sim:   n.Net.AddHost(cfg.Name, cfg.Addrs...),
		retry: DefaultRetrySchedule(),
	}
	if cfg.Retry != nil {
		h.retry = *cfg.Retry
	}
	h.idPrefix = idPrefix(cfg.Name)
	h.relayFrom = parseRelayNets(cfg.RelayFrom)
	h.dns = dns.Caller{Host: cfg.Name, Record: n.Net.EmitAfter}
	if cfg.Relayhost != "" {
		h.relayhost = []hop{{host: cfg.Relayhost}}
	}
	for addr, n := range cfg.QuotaBytes {
		h.Mailboxes.SetByteQuota(addr, n)
	}
	for addr, q := range cfg.Quota {
		h.Mailboxes.SetQuota(addr, q)
	}
	if cfg.Greylist > 0 {
		h.greylist = &Greylist{Delay: time.Duration(cfg.Greylist)}
	}
	if cfg.RateLimit != nil {
		h.rate = &RateLimit{Max: cfg.RateLimit.Max, Window: time.Duration(cfg.RateLimit.Window)}
		if n := cfg.RateLimit.Connections; n > 0 {
			h.connRate = &RateLimit{Max: n, Window: time.Duration(cfg.RateLimit.Window)}
		}
	}
	if err := h.setUpDKIM(); err != nil {
		return nil, err
	}
	for _, port := range cfg.Ports {
		if err := h.sim.Listen(port, h.listener(port)); err != nil {
			return nil, fmt.Errorf("host %s: %w", cfg.Name, err)
		}
	}
	n.hosts[key] = h
	n.order = append(n.order, h)
	return h, nil
}

// Host returns the mail host called name.
func (n *Network) Host(name string) (*Host, bool) {
	h, ok := n.hosts[lower(name)]
	return h, ok
}

// Hosts returns every host in the order they were added.
func (n *Network) Hosts() []*Host { return n.order }

// emit records e in the world's trace, now. It takes a pointer, and so
// does the world (simnet.World.EmitEvent), so that the large Event is not
// copied on the way: a world emits several events for every command.
func (n *Network) emit(e *trace.Event) {
	if n.holding {
		n.held = append(n.held, *e)
		return
	}
	n.Net.EmitEvent(e)
}

// QueueEntries lists every message waiting in any queue, for the UI.
func (n *Network) QueueEntries() []QueueView {
	var out []QueueView
	for _, h := range n.order {
		out = append(out, h.QueueView()...)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Host < out[j].Host })
	return out
}

// idPrefix gives each host its own queue-id prefix, so ids stay unique in
// a world and read like Postfix's hexadecimal ones.
func idPrefix(name string) string {
	h := fnv.New32a()
	h.Write([]byte(lower(name)))
	return fmt.Sprintf("%05X", h.Sum32()&0xFFFFF)
}
