package simnet

import (
	"fmt"
	"slices"
	"time"

	"smtplab/engine/trace"
)

// hostPair names a link: two host names in sorted order, so that a link's
// latency is the same in both directions.
type hostPair struct{ a, b string }

func pairOf(x, y *Host) hostPair {
	if x.name > y.name {
		x, y = y, x
	}
	return hostPair{x.name, y.name}
}

// SetLatency sets the one-way latency between hosts a and b, in both
// directions, and records a fault event ("slow link"). Bytes already in
// flight keep their arrival time, and later bytes never overtake them.
func (w *World) SetLatency(a, b *Host, d time.Duration) {
	d = max(d, 0)
	w.links[pairOf(a, b)] = d
	w.Emit(trace.Event{Kind: trace.Fault, Host: a.name, Peer: b.name, Text: "link latency " + d.String()})
}

// Latency returns the one-way latency between hosts a and b.
func (w *World) Latency(a, b *Host) time.Duration { return w.linkLatency(a, b) }

// linkLatency is Latency. Every packet asks it, and most worlds set no
// link's latency: then the pair of names is neither ordered nor hashed.
func (w *World) linkLatency(a, b *Host) time.Duration {
	if len(w.links) == 0 {
		return w.latency
	}
	if d, ok := w.links[pairOf(a, b)]; ok {
		return d
	}
	return w.latency
}

// dropRule is a pending DropAfter fault.
type dropRule struct {
	from, to *Host // to is nil for any peer
	after    int
}

// DropAfter arms a fault that cuts the first connection on which host from
// has sent more than n bytes to host to (or to anyone, when to is nil). The
// peer receives exactly the first n bytes (plaintext, before sealing, for a
// TLS end), then both ends get Closed(c, ReasonDropped). The fault fires
// once, and records its fault event when it does.
func (w *World) DropAfter(from, to *Host, n int) {
	w.drops = append(w.drops, &dropRule{from: from, to: to, after: max(n, 0)})
}

// applyDrop shortens data to what gets through before an armed drop fires
// on c, and returns that drop (now disarmed), or data untouched and nil.
func (w *World) applyDrop(c *Conn, data []byte) ([]byte, *dropRule) {
	r := w.dropFor(c, len(data))
	if r == nil {
		return data, nil
	}
	w.drops = slices.DeleteFunc(w.drops, func(x *dropRule) bool { return x == r })
	return data[:max(r.after-c.sent, 0)], r
}

// dropFor returns the armed drop that would fire on c if it wrote n more
// bytes now, or nil.
func (w *World) dropFor(c *Conn, n int) *dropRule {
	for _, r := range w.drops {
		if r.from == c.local && (r.to == nil || r.to == c.remote) && c.sent+n > r.after {
			return r
		}
	}
	return nil
}

// fire records the drop and cuts c's connection.
func (r *dropRule) fire(c *Conn) {
	c.p.w.Emit(trace.Event{Kind: trace.Fault, Host: c.local.name, Peer: c.remote.name,
		Text: fmt.Sprintf("connection %d dropped after %d bytes from %s", c.p.id, r.after, c.local.name)})
	c.p.cut(c, ReasonDropped)
}

// portBlock is a filtered outgoing port: connection requests from host to
// port, to any peer.
type portBlock struct {
	from *Host
	port int
}

// BlockPort switches on (true) or off a filter on host from's network
// that silently drops its outgoing connection requests to port, whoever
// they are for, as Internet providers drop their home customers'
// connections to port 25. Such a dial is never answered and times out,
// with a fault event when the request is dropped; connections already open
// are not touched. A fault event records each change.
func (w *World) BlockPort(from *Host, port int, blocked bool) {
	key := portBlock{from, port}
	if w.blocked[key] == blocked {
		return
	}
	text := fmt.Sprintf("outgoing connections to port %d are blocked", port)
	if blocked {
		w.blocked[key] = true
	} else {
		delete(w.blocked, key)
		text = fmt.Sprintf("outgoing connections to port %d are allowed again", port)
	}
	w.Emit(trace.Event{Kind: trace.Fault, Host: from.name, Port: port, Text: text})
}
