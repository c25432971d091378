package simnet

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"

	"smtplab/engine/trace"
)

// A Host is one machine in a world: a name, its addresses, the ports it
// listens on, and whether a fault has switched it off or cut it off.
type Host struct {
	w           *World
	name        string
	addrs       []netip.Addr
	listeners   map[int]func(c *Conn) Handler
	down        bool
	unreachable bool
	texts       []portText // see portText
}

// portText is a text about one of a host's ports that the trace repeats
// for every connection to it, such as the "mx.example.org:25" of each
// conn.open: a host keeps the ones it was given, since making each anew
// was two allocations a connection.
type portText struct {
	kind textKind
	addr netip.Addr // the address dialed, for textAddrPort
	port int
	text string
}

// textKind says which text about a port a portText holds.
type textKind uint8

const (
	textNamePort   textKind = iota // "name:port", a dial by name
	textAddrPort                   // "addr:port", a dial by address
	textNoListener                 // why a dial to a port nobody listens on is refused
	textStopped                    // why a dial to a host whose services are stopped is refused
)

// portText returns the text of kind about port (and addr) of h, made by
// build the first time. A world's hosts have few ports, and only ports
// dialed ask for texts, so the list stays short.
func (h *Host) portText(kind textKind, addr netip.Addr, port int, build func() string) string {
	for _, t := range h.texts {
		if t.kind == kind && t.port == port && t.addr == addr {
			return t.text
		}
	}
	text := build()
	h.texts = append(h.texts, portText{kind, addr, port, text})
	return text
}

// AddHost adds a host with a name (compared without case and without a
// trailing dot) and zero or more IPv4 or IPv6 addresses. Hosts come from
// scenario definitions, so a mistake in one is a programming error:
// AddHost panics on an empty or duplicate name, a bad address, or an
// address another host already has.
func (w *World) AddHost(name string, addrs ...string) *Host {
	key := canonicalName(name)
	if key == "" {
		panic("simnet: AddHost with an empty name")
	}
	if _, dup := w.byName[key]; dup {
		panic(fmt.Sprintf("simnet: host %q added twice", key))
	}
	h := &Host{w: w, name: key, listeners: make(map[int]func(*Conn) Handler)}
	for _, s := range addrs {
		a, err := netip.ParseAddr(s)
		if err != nil {
			panic(fmt.Sprintf("simnet: host %q: %v", key, err))
		}
		if other, dup := w.byAddr[a]; dup {
			panic(fmt.Sprintf("simnet: host %q: address %s already belongs to %q", key, a, other.name))
		}
		w.byAddr[a] = h
		h.addrs = append(h.addrs, a)
	}
	w.byName[key] = h
	w.hosts = append(w.hosts, h)
	w.targets = [len(w.targets)]dialTarget{} // one may name h now
	return h
}

// Host finds a host by name or by one of its addresses.
func (w *World) Host(nameOrAddr string) (*Host, bool) {
	if a, ok := parseAddr(nameOrAddr); ok {
		h, ok := w.byAddr[a]
		return h, ok
	}
	h, ok := w.byName[canonicalName(nameOrAddr)]
	return h, ok
}

// Hosts returns every host in the order they were added.
func (w *World) Hosts() []*Host { return slices.Clone(w.hosts) }

// parseAddr parses s as an IP address. Most strings it sees are host names,
// and netip.ParseAddr builds an error for each of those, so names that
// cannot be an address (no ':' and not starting with a digit) are turned
// away first: a simulation asks this for every connection.
func parseAddr(s string) (netip.Addr, bool) {
	if s == "" || (s[0] < '0' || s[0] > '9') && !strings.Contains(s, ":") {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(s)
	return a, err == nil
}

// canonicalName lower-cases a DNS name and drops its trailing dot, so that
// "MX.Example.org." and "mx.example.org" are the same host.
func canonicalName(name string) string {
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(name)), ".")
}

// Name returns the host's canonical name.
func (h *Host) Name() string { return h.name }

// Addrs returns the host's addresses in the order they were given.
func (h *Host) Addrs() []netip.Addr { return slices.Clone(h.addrs) }

// Down reports whether the host is switched off.
func (h *Host) Down() bool { return h.down }

// Unreachable reports whether packets to and from the host are lost.
func (h *Host) Unreachable() bool { return h.unreachable }

// Listen makes the host accept connections on port. For each connection
// that arrives, accept is called with the server's end and returns the
// Handler for it, or nil to refuse the connection. It is an error to listen
// twice on the same port or on a port outside 1–65535.
func (h *Host) Listen(port int, accept func(c *Conn) Handler) error {
	if port < 1 || port > 65535 {
		return fmt.Errorf("simnet: %s: listen on port %d: port out of range", h.name, port)
	}
	if accept == nil {
		return fmt.Errorf("simnet: %s: listen on port %d: nil accept function", h.name, port)
	}
	if _, busy := h.listeners[port]; busy {
		return fmt.Errorf("simnet: %s: listen on port %d: address already in use", h.name, port)
	}
	h.listeners[port] = accept
	return nil
}

// StopListening closes the listener on port; connections already accepted
// stay open. Later dials to the port are refused.
func (h *Host) StopListening(port int) { delete(h.listeners, port) }

// Ports returns the ports the host listens on, in increasing order.
func (h *Host) Ports() []int {
	ports := make([]int, 0, len(h.listeners))
	for p := range h.listeners {
		ports = append(ports, p)
	}
	sort.Ints(ports)
	return ports
}

// SetDown stops the host's services (true) or starts them again (false),
// recording a fault event when that changes anything. The machine stays
// up and answers: stopping resets its open connections (both ends get
// Closed(c, ReasonHostDown), the host's own at once and the peer's after
// the bytes already in flight to it), and while they are stopped every
// dial to it is refused at once, as a TCP RST from a port nobody listens
// on, and it dials nobody. A host that answers nothing is
// SetUnreachable's.
func (h *Host) SetDown(down bool) {
	if !h.switchFault(&h.down, down, h.name+"'s services are stopped: connections to it are refused at once", h.name+"'s services are running again") || !down {
		return
	}
	for _, p := range slices.Clone(h.w.pipes) {
		switch {
		case p.state != stateOpen:
			// A dial still in flight is refused when its SYN arrives, and
			// one from this host is answered by nobody: its timeout tells it.
		case p.client.local == h:
			p.cut(p.client, ReasonHostDown)
		case p.server.local == h:
			p.cut(p.server, ReasonHostDown)
		}
	}
}

// SetUnreachable cuts the host off the network (true) or joins it again
// (false), recording a fault event when that changes anything. While it is
// unreachable, every packet to or from it is lost when it would arrive:
// dials to it time out, and open connections stall silently until their
// ends give up on their own timers.
func (h *Host) SetUnreachable(unreachable bool) {
	h.switchFault(&h.unreachable, unreachable, "host unreachable", "host reachable again")
}

// switchFault sets *flag to on and records a fault event saying onText or
// offText. It reports whether anything changed.
func (h *Host) switchFault(flag *bool, on bool, onText, offText string) bool {
	if *flag == on {
		return false
	}
	*flag = on
	text := offText
	if on {
		text = onText
	}
	h.w.Emit(trace.Event{Kind: trace.Fault, Host: h.name, Text: text})
	return true
}
