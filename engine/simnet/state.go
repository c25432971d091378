package simnet

import (
	"sort"
	"time"
)

// State is a snapshot of the network for the UI's map: JSON-friendly and
// detached from the world (changing it changes nothing).
type State struct {
	Now     int64       `json:"now"`  // virtual milliseconds since the start
	Date    string      `json:"date"` // calendar time now, RFC 3339
	Hosts   []HostState `json:"hosts"`
	Conns   []ConnState `json:"conns"` // connecting and open, in dial order
	Links   []LinkState `json:"links"` // links whose latency was set
	Pending int         `json:"pending"`
}

// HostState is one host in a State.
type HostState struct {
	Name        string   `json:"name"`
	Addrs       []string `json:"addrs"`
	Ports       []int    `json:"ports"` // listening
	Down        bool     `json:"down,omitempty"`
	Unreachable bool     `json:"unreachable,omitempty"`
}

// ConnState is one connection in a State.
type ConnState struct {
	ID         int    `json:"id"` // 0 while connecting
	Client     string `json:"client"`
	Server     string `json:"server"` // the host, or the name/address dialed if unknown
	Port       int    `json:"port"`
	ClientPort int    `json:"client_port"`
	State      string `json:"state"` // "connecting" or "open"
	TLS        bool   `json:"tls,omitempty"`
	SentC2S    int    `json:"sent_c2s"`
	SentS2C    int    `json:"sent_s2c"`
}

// LinkState is a link with a latency set by SetLatency.
type LinkState struct {
	A         string `json:"a"`
	B         string `json:"b"`
	LatencyMS int64  `json:"latency_ms"`
}

// State returns a snapshot of the network now.
func (w *World) State() State {
	s := State{
		Now:     int64(w.now / time.Millisecond),
		Date:    w.Date().Format(time.RFC3339),
		Hosts:   make([]HostState, 0, len(w.hosts)),
		Conns:   make([]ConnState, 0, len(w.pipes)),
		Links:   make([]LinkState, 0, len(w.links)),
		Pending: w.queue.len(),
	}
	for _, h := range w.hosts {
		hs := HostState{Name: h.name, Addrs: make([]string, len(h.addrs)), Ports: h.Ports(),
			Down: h.down, Unreachable: h.unreachable}
		for i, a := range h.addrs {
			hs.Addrs[i] = a.String()
		}
		s.Hosts = append(s.Hosts, hs)
	}
	for _, p := range w.pipes {
		cs := ConnState{ID: p.id, Client: p.from.name, Server: p.peerName(), Port: p.port,
			ClientPort: int(p.client.port), State: "connecting", SentC2S: p.client.sent}
		if p.state == stateOpen {
			cs.State = "open"
			cs.SentS2C = p.server.sent
			cs.TLS = p.client.codec != nil && p.server.codec != nil
		}
		s.Conns = append(s.Conns, cs)
	}
	for pair, d := range w.links {
		s.Links = append(s.Links, LinkState{A: pair.a, B: pair.b, LatencyMS: int64(d / time.Millisecond)})
	}
	// sort.Slice rather than slices.SortFunc, here and in the engine's
	// other small sorts: each slices.SortFunc compiles a sorting routine of
	// its own into the browser's download, some 15 KB.
	sort.Slice(s.Links, func(i, j int) bool {
		x, y := s.Links[i], s.Links[j]
		return x.A < y.A || x.A == y.A && x.B < y.B
	})
	return s
}
