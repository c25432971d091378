package simnet

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"time"

	"smtplab/engine/trace"
)

// The reasons simnet itself gives when it closes a connection. Handlers
// closing a connection give their own ("quit", "idle timeout", ...).
const (
	ReasonRefused = "refused"   // the dial was refused: nothing listens (or the host's services are stopped)
	ReasonTimeout = "timeout"   // the dial got no answer within the connect timeout
	ReasonDropped = "dropped"   // a DropAfter fault cut the connection
	ReasonReset   = "reset"     // the dialer gave up before the answer arrived
	ReasonTLS     = "tls error" // a Codec could not open arriving records
	// ReasonHostDown: one of the hosts stopped its services (SetDown), and
	// its connections were reset.
	ReasonHostDown = "reset: the host's services stopped"
)

// Errors returned by Write, WriteRaw and Upgrade.
var (
	ErrClosed  = errors.New("connection closed")
	ErrNotOpen = errors.New("connection not open yet")
)

// maxTraceText caps the text of one bytes event, so that a multi-megabyte
// message does not make the trace unreadable; size still tells the truth.
const maxTraceText = 64 << 10

// Handler receives what happens on one end of a connection. Its methods are
// only called from the world's event queue.
type Handler interface {
	// Open is called once the connection is established at this end.
	Open(c *Conn)
	// Data is called with bytes from the peer, in the order they were
	// written (opened by the Codec after Upgrade). p is the handler's
	// only during the call: it must copy what it keeps, as the world
	// reuses the buffer for later packets (see World.packetBuf).
	Data(c *Conn, p []byte)
	// Closed is called once when the connection ends for a reason this end
	// did not ask for: the peer closed it, a fault cut it, or the dial
	// failed (then without Open first, and why is ReasonRefused or
	// ReasonTimeout).
	Closed(c *Conn, why string)
}

// RawHandler is implemented by handlers that want the records the peer put
// on the wire with WriteRaw. Handlers that do not implement it never see
// them: the handshake they belong to was already done by engine/labtls.
// Raw may keep p.
type RawHandler interface {
	Raw(c *Conn, p []byte)
}

// HandlerFuncs is a Handler made of optional functions; a nil one ignores
// its callback.
type HandlerFuncs struct {
	OnOpen   func(c *Conn)
	OnData   func(c *Conn, p []byte)
	OnClosed func(c *Conn, why string)
}

// Open calls OnOpen if it is set.
func (f HandlerFuncs) Open(c *Conn) {
	if f.OnOpen != nil {
		f.OnOpen(c)
	}
}

// Data calls OnData if it is set.
func (f HandlerFuncs) Data(c *Conn, p []byte) {
	if f.OnData != nil {
		f.OnData(c, p)
	}
}

// Closed calls OnClosed if it is set.
func (f HandlerFuncs) Closed(c *Conn, why string) {
	if f.OnClosed != nil {
		f.OnClosed(c, why)
	}
}

// A Codec turns one end of a connection into a TLS end after a handshake.
// Seal returns the records that carry plain (it must not keep or change
// plain). Open returns the plaintext carried by records; simnet passes it
// exactly what one Seal call on the other end returned, in order.
type Codec interface {
	Seal(plain []byte) []byte
	Open(records []byte) ([]byte, error)
}

type connState uint8

const (
	stateConnecting connState = iota // dialed, no answer yet
	stateOpen                        // accepted by the server
	stateClosed                      // closed, refused or timed out
)

// pipe is one connection: its two ends and what they share. A simulation
// makes one for every connection, tens of thousands in a big world: it
// holds no more than it must (the client's address is its host's first,
// the connect timeout a spare event while it is pending).
type pipe struct {
	w          *World
	id         int // 0 until the server accepts
	port       int
	target     string // what the dialer asked for: a name or an address
	from, to   *Host  // to is nil when target names no host
	serverAddr netip.Addr
	client     *Conn
	server     *Conn             // nil until the server accepts
	timeout    *Timer            // the dial's connect timeout while it is pending (see World.spareTimer)
	attrs      map[string]string // the dialer's label (see Conn.Label)
	state      connState
	dialedAddr bool // target is an address (serverAddr)

	// ends holds the Conns client and server point to, so that a
	// connection is one allocation rather than three.
	ends [2]Conn
}

// A Conn is one end of a connection: the client's (returned by Dial) or the
// server's (handed to the listener's accept function).
type Conn struct {
	p           *pipe
	local       *Host
	remote      *Host // nil for a dial to an unknown target
	h           Handler
	codec       Codec
	sent        int           // bytes handed to Write and WriteRaw
	lastArrival time.Duration // when this end's last packet reaches the peer
	// port is this end's port, ephemeral for the client. It is an int32
	// next to the flags rather than an int, so that a pipe and its two
	// ends take 288 octets rather than 320: a busy world dials several
	// connections for every message.
	port     int32
	isClient bool
	open     bool
	closed   bool
}

// Dial starts a connection from host from to port on to, a host name or an
// address, and returns the client's end at once. What happens next comes
// through h (see the package doc): Open, or Closed with ReasonRefused or
// ReasonTimeout. Closing the returned end before Open abandons the dial.
func (w *World) Dial(from *Host, to string, port int, h Handler) *Conn {
	if h == nil {
		h = HandlerFuncs{}
	}
	t := w.resolve(to)
	p := &pipe{w: w, port: port, target: t.target, from: from, to: t.to, serverAddr: t.addr, dialedAddr: t.isAddr}
	c := &p.ends[0]
	*c = Conn{p: p, local: from, remote: p.to, isClient: true, h: h}
	c.port = int32(49152 + w.rng.IntN(16384))
	p.client = c
	w.pipes = append(w.pipes, p)
	p.timeout = w.spareTimer(w.now+w.connectTimeout, action{op: opTimeout, c: c})
	switch {
	case from.down:
		p.refuse("the local host's services are stopped", 0)
	case w.blocked[portBlock{from, port}]:
		// The filter drops the connection request silently; the trace
		// says so, and the timeout will tell the dialer.
		w.Emit(trace.Event{Kind: trace.Fault, Host: from.name, Peer: p.peerName(), Port: port,
			Text: fmt.Sprintf("a filter on %s's network dropped its connection request to %s", from.name, p.targetPort())})
	case p.to != nil:
		w.queueAction(w.now+w.linkLatency(from, p.to), true, action{op: opSyn, c: c})
	}
	// An unknown target answers nothing: the timeout will tell the dialer.
	return c
}

// dialTarget is what the target of a dial names (see World.resolve).
type dialTarget struct {
	text   string     // the target as the dialer gave it
	target string     // the target as the trace names it: a known host's own name
	to     *Host      // nil when it names no host
	addr   netip.Addr // the address dialed: the target's, or the host's first
	isAddr bool       // the target is an address
}

// resolve finds the host, if any, that to names: by address when it is
// one, else by name. A world dials the same few targets over and over
// (the MX addresses a relay finds in DNS, the host a mail client submits
// to, a relay host), so the last few are kept, found again by comparing
// strings, mostly of different lengths or at the same place in memory:
// parsing an address, or lower-casing a name, and looking it up cost more.
// AddHost forgets them, as a new host may be what a target names.
func (w *World) resolve(to string) dialTarget {
	for i := range w.targets {
		if t := &w.targets[i]; t.text == to && to != "" {
			return *t
		}
	}
	t := dialTarget{text: to, target: to}
	if a, ok := parseAddr(to); ok {
		t.to, t.addr, t.isAddr = w.byAddr[a], a, true
	} else {
		h := w.byName[to] // a host's own name, as most dials give it
		if h == nil {
			h = w.byName[canonicalName(to)]
		}
		if h != nil {
			t.to, t.target, t.addr = h, h.name, firstAddr(h)
		}
	}
	w.targets[w.nextTarget] = t
	w.nextTarget = (w.nextTarget + 1) % len(w.targets)
	return t
}

func firstAddr(h *Host) netip.Addr {
	if len(h.addrs) == 0 {
		return netip.Addr{}
	}
	return h.addrs[0]
}

// synArrives is the connection request reaching the server's host.
func (p *pipe) synArrives() {
	if p.state != stateConnecting || p.client.closed || p.from.down || p.partitioned() {
		return // abandoned, timed out, or lost on the way
	}
	if p.to.down {
		// The machine is up and answers, but nothing listens: it resets
		// the connection request (TCP RST) at once. A host that answers
		// nothing at all is unreachable (SetUnreachable): dials time out.
		why := p.to.portText(textStopped, netip.Addr{}, p.port, func() string {
			return "nothing listens on port " + strconv.Itoa(p.port) + ": the host's services are stopped"
		})
		p.refuse(why, p.w.linkLatency(p.to, p.from))
		return
	}
	accept := p.to.listeners[p.port]
	if accept == nil {
		why := p.to.portText(textNoListener, netip.Addr{}, p.port, func() string {
			return "nothing listens on port " + strconv.Itoa(p.port)
		})
		p.refuse(why, p.w.linkLatency(p.to, p.from))
		return
	}
	s := &p.ends[1]
	*s = Conn{p: p, local: p.to, remote: p.from, port: int32(p.port)}
	h := accept(s)
	if h == nil {
		p.refuse("connection rejected by the server", p.w.linkLatency(p.to, p.from))
		return
	}
	s.h, s.open = h, true
	p.server, p.state = s, stateOpen
	p.w.lastConn++
	p.id = p.w.lastConn
	p.w.Emit(trace.Event{Kind: trace.ConnOpen, Conn: p.id, Host: p.from.name, Peer: p.to.name,
		Port: p.port, Text: p.targetPort(), Attrs: p.attrs})
	// The answer travels back; schedule it before the server's Open can
	// write, so the client is open before the server's first bytes arrive.
	s.toPeer(action{op: opAnswer, c: p.client})
	h.Open(s)
}

// clientOpens is the server's answer reaching the client.
func (p *pipe) clientOpens() {
	c := p.client
	if c.closed || p.partitioned() {
		return
	}
	p.stopTimeout()
	c.open = true
	c.h.Open(c)
}

// refuse sends the refusal back to the dialer, who learns of it after delay.
func (p *pipe) refuse(why string, delay time.Duration) {
	p.w.queueAction(p.w.now+delay, true, action{op: opRefused, c: p.client, why: why})
}

// refused is the refusal reaching the dialer.
func (p *pipe) refused(why string) {
	c := p.client
	if c.closed {
		return
	}
	p.stopTimeout()
	c.closed, p.state = true, stateClosed
	p.w.removePipe(p)
	p.w.Emit(trace.Event{Kind: trace.ConnRefused, Host: p.from.name, Peer: p.peerName(),
		Port: p.port, Text: why, Attrs: p.attrs})
	c.h.Closed(c, ReasonRefused)
}

// timedOut is the connect timeout firing before any answer arrived.
func (p *pipe) timedOut() {
	p.stopTimeout() // fired: its event goes back to the spares
	c := p.client
	if c.open || c.closed {
		return
	}
	if p.state == stateOpen {
		// The server accepted but its answer is still on its way (or lost):
		// the client gives up and the server end learns of it.
		p.cut(c, ReasonTimeout)
		return
	}
	c.closed, p.state = true, stateClosed
	p.w.removePipe(p)
	p.w.Emit(trace.Event{Kind: trace.ConnClose, Host: p.from.name, Peer: p.peerName(), Port: p.port, Text: ReasonTimeout, Attrs: p.attrs})
	c.h.Closed(c, ReasonTimeout)
}

// DialDeadline returns when a dial that is still waiting for its answer
// gives up (its connect timeout), and false once it was answered, gave up
// or was abandoned. A driver that waits for a connection, as connect(2)
// does, advances the clock to it.
func (c *Conn) DialDeadline() (time.Duration, bool) {
	if !c.isClient || c.open || c.closed || !c.p.timeout.Pending() {
		return 0, false
	}
	return c.p.timeout.When(), true
}

// stopTimeout stops the dial's connect timeout, or notes that it fired,
// and gives its event back for reuse.
func (p *pipe) stopTimeout() {
	if p.timeout != nil {
		p.w.freeTimer(p.timeout)
		p.timeout = nil
	}
}

// finish marks the connection closed and records conn.close, once.
func (p *pipe) finish(why string) {
	if p.state == stateClosed {
		return
	}
	p.state = stateClosed
	p.stopTimeout()
	p.w.removePipe(p)
	p.w.Emit(trace.Event{Kind: trace.ConnClose, Conn: p.id, Host: p.from.name, Peer: p.peerName(), Text: why})
}

// cut ends the connection for both ends because of something origin's side
// caused: origin's handler learns at once (through the queue), the peer's
// after the bytes origin already sent.
func (p *pipe) cut(origin *Conn, why string) {
	p.finish(why)
	if !origin.closed {
		origin.closed = true
		p.w.queueAction(p.w.now, true, action{op: opClosed, c: origin, why: why})
	}
	if peer := origin.peer(); peer != nil && !peer.closed {
		origin.toPeer(action{op: opPeerClosed, c: peer, why: why})
	}
}

func (p *pipe) partitioned() bool {
	return p.from.unreachable || (p.to != nil && p.to.unreachable)
}

func (p *pipe) peerName() string {
	if p.to != nil {
		return p.to.name
	}
	return p.target
}

// targetPort is "name:port" or "addr:port", as the dialer asked. A known
// host keeps it (see Host.portText).
func (p *pipe) targetPort() string {
	switch {
	case p.dialedAddr && p.to != nil:
		return p.to.portText(textAddrPort, p.serverAddr, p.port, p.makeTargetPort)
	case p.to != nil:
		return p.to.portText(textNamePort, netip.Addr{}, p.port, p.makeTargetPort)
	}
	return p.makeTargetPort()
}

// makeTargetPort makes the text of targetPort.
func (p *pipe) makeTargetPort() string {
	if p.dialedAddr {
		return netip.AddrPortFrom(p.serverAddr, uint16(p.port)).String()
	}
	return p.target + ":" + strconv.Itoa(p.port)
}

func (w *World) removePipe(p *pipe) {
	if i := slices.Index(w.pipes, p); i >= 0 {
		w.pipes = slices.Delete(w.pipes, i, i+1)
	}
}

// ID returns the connection's number in the trace (the conn field), or 0
// while a dial has not been accepted.
func (c *Conn) ID() int { return c.p.id }

// Label gives the connection attributes that its conn.open event carries
// (or the conn.refused or conn.close event of a dial that never
// connected), so that a reader of the trace can tell who opened it
// (engine/lab labels the learner's terminal). Call it on the dialing end
// right after Dial, before the world runs on: an event already recorded
// does not change. The map is kept, not copied.
func (c *Conn) Label(attrs map[string]string) { c.p.attrs = attrs }

// Local returns the host this end is on.
func (c *Conn) Local() *Host { return c.local }

// Remote returns the host at the other end, or nil when the dial named no
// known host.
func (c *Conn) Remote() *Host { return c.remote }

// IsClient reports whether this is the dialing end.
func (c *Conn) IsClient() bool { return c.isClient }

// LocalAddr returns this end's address and port.
func (c *Conn) LocalAddr() netip.AddrPort {
	if c.isClient {
		return netip.AddrPortFrom(firstAddr(c.p.from), uint16(c.port))
	}
	return netip.AddrPortFrom(c.p.serverAddr, uint16(c.port))
}

// RemoteAddr returns the other end's address and port.
func (c *Conn) RemoteAddr() netip.AddrPort {
	if c.isClient {
		return netip.AddrPortFrom(c.p.serverAddr, uint16(c.p.port))
	}
	return netip.AddrPortFrom(firstAddr(c.p.from), uint16(c.p.client.port))
}

// Established reports whether this end is open: Open was called and
// nothing closed it yet.
func (c *Conn) Established() bool { return c.open && !c.closed }

// IsClosed reports whether this end is closed.
func (c *Conn) IsClosed() bool { return c.closed }

// TLS reports whether this end was upgraded with a Codec.
func (c *Conn) TLS() bool { return c.codec != nil }

// Sent returns how many bytes this end handed to Write and WriteRaw.
func (c *Conn) Sent() int { return c.sent }

// Peer returns the other end of the connection: for the client's end,
// nil until a server accepted it.
func (c *Conn) Peer() *Conn { return c.peer() }

// Handler returns the handler of this end: for a server's end, the one
// its listener gave.
func (c *Conn) Handler() Handler { return c.h }

func (c *Conn) peer() *Conn {
	if c.isClient {
		return c.p.server
	}
	return c.p.client
}

func (c *Conn) dir() string {
	if c.isClient {
		return trace.ToServer
	}
	return trace.ToClient
}

// Reaches returns how many of n bytes this end would write now reach the
// peer, as far as the network can tell at this moment: all n, unless an
// armed DropAfter fault cuts the connection within them (then the bytes
// before the cut), or none when either end is closed or a host is cut off
// (SetUnreachable). A driver that traces what it sends asks before it
// writes, so that a message the peer never gets is not shown as received.
// What changes while the bytes travel (a partition, the peer closing) is
// not foreseen.
func (c *Conn) Reaches(n int) int {
	peer := c.peer()
	if c.closed || !c.open || peer == nil || peer.closed || c.p.partitioned() {
		return 0
	}
	if r := c.p.w.dropFor(c, n); r != nil {
		return max(r.after-c.sent, 0)
	}
	return n
}

// Write sends p to the peer, who gets it after the link latency (sealed by
// the Codec after Upgrade). It records one bytes event, now. Write copies p.
func (c *Conn) Write(p []byte) error { return c.send("write", p, false) }

// WriteRaw sends p as raw TLS records, such as a handshake flight: traced as
// ciphertext, never sealed, and given only to a peer whose handler is a
// RawHandler.
func (c *Conn) WriteRaw(p []byte) error { return c.send("write raw", p, true) }

// Upgrade makes this end a TLS end: from now on it seals what it writes and
// opens what arrives with codec.
func (c *Conn) Upgrade(codec Codec) error {
	switch {
	case codec == nil:
		return fmt.Errorf("simnet: conn %d: upgrade with a nil codec", c.p.id)
	case c.codec != nil:
		return fmt.Errorf("simnet: conn %d: upgrade: already upgraded", c.p.id)
	case c.closed:
		return fmt.Errorf("simnet: conn %d: upgrade: %w", c.p.id, ErrClosed)
	}
	c.codec = codec
	return nil
}

// Close closes this end; the peer's handler gets Closed(why) after the bytes
// already in flight. This end's own handler is not called. Closing a dial
// that has no answer yet abandons it. Closing twice does nothing.
func (c *Conn) Close(why string) {
	if c.closed {
		return
	}
	c.closed = true
	p := c.p
	if p.state == stateConnecting {
		p.stopTimeout()
		p.state = stateClosed
		p.w.removePipe(p)
		p.w.Emit(trace.Event{Kind: trace.ConnClose, Host: p.from.name, Peer: p.peerName(), Text: why})
		return
	}
	p.finish(why)
	if peer := c.peer(); peer != nil && !peer.closed {
		c.toPeer(action{op: opPeerClosed, c: peer, why: why})
	}
}

func (c *Conn) send(op string, data []byte, raw bool) error {
	switch {
	case c.closed:
		return fmt.Errorf("simnet: conn %d: %s: %w", c.p.id, op, ErrClosed)
	case !c.open:
		return fmt.Errorf("simnet: conn %d: %s: %w", c.p.id, op, ErrNotOpen)
	case len(data) == 0:
		return nil
	}
	w := c.p.w
	var drop *dropRule
	if len(w.drops) > 0 { // armed faults are rare: most writes need not look
		data, drop = w.applyDrop(c, data)
	}
	if len(data) > 0 {
		c.sent += len(data)
		var wire []byte
		sealed, reuse := !raw && c.codec != nil, false
		switch {
		case sealed:
			wire = c.codec.Seal(data)
		case raw:
			wire = bytes.Clone(data) // a RawHandler may keep it
		default:
			wire, reuse = append(w.packetBuf(len(data)), data...), true
		}
		var e trace.Event
		if text := c.bytesEvent(&e, data, wire, raw, sealed); text != nil {
			w.EmitText(&e, text)
		} else {
			w.Emit(e)
		}
		c.sendPacket(wire, raw, reuse)
	}
	if drop != nil {
		drop.fire(c)
	}
	return nil
}

// bytesEvent describes one write in *e, which is empty, as the trace
// schema says: plaintext as text, and for TLS the ciphertext's size and a
// hex preview of it. The text is e.Text, or when text is not nil, text
// (see trace.Log.AddText). It fills the caller's Event rather than
// returning one, as every write would otherwise copy one more time.
func (c *Conn) bytesEvent(e *trace.Event, plain, wire []byte, raw, sealed bool) (text []byte) {
	e.Kind, e.Conn, e.Host, e.Peer = trace.Bytes, c.p.id, c.local.name, c.remote.name
	e.Dir, e.Size, e.TLS = c.dir(), len(wire), raw || sealed
	switch {
	case raw:
		e.Text = hexPreview(wire)
		e.Attrs = map[string]string{"cipher_hex": e.Text}
		return nil
	case sealed:
		e.Attrs = map[string]string{"cipher_hex": hexPreview(wire), "plain_size": strconv.Itoa(len(plain))}
	}
	if len(plain) > maxTraceText {
		e.Text = string(plain[:maxTraceText]) + "…"
		if e.Attrs == nil {
			e.Attrs = map[string]string{}
		}
		e.Attrs["truncated"] = "true"
		return nil
	}
	return plain
}

// hexPreview is the first 32 bytes of ciphertext in hex.
func hexPreview(wire []byte) string {
	const n = 32
	return fmt.Sprintf("%x", wire[:min(n, len(wire))])
}

// toPeer schedules a at the moment a packet this end sends now reaches the
// peer: after the link latency, and never before a packet sent earlier.
func (c *Conn) toPeer(a action) {
	w := c.p.w
	at := max(w.now+w.linkLatency(c.local, c.remote), c.lastArrival)
	c.lastArrival = at
	w.queueAction(at, true, a)
}

// sendPacket sends wire to the peer (see toPeer). reuse says that wire
// is a buffer of World.packetBuf, to be given back once it arrived.
func (c *Conn) sendPacket(wire []byte, raw, reuse bool) {
	c.toPeer(action{op: opPacket, c: c.peer(), wire: wire, raw: raw, reuse: reuse})
}

// receive is a packet from the peer arriving at this end. A buffer to
// reuse goes back to the world once the handler returned, unless this
// end opens it with a Codec, which might hand back parts of it.
func (c *Conn) receive(wire []byte, raw, reuse bool) {
	if reuse && c.codec == nil {
		defer c.p.w.reusePacketBuf(wire)
	}
	if c.closed || c.p.partitioned() {
		return
	}
	if raw {
		if rh, ok := c.h.(RawHandler); ok {
			rh.Raw(c, wire)
		}
		return
	}
	data := wire
	if c.codec != nil {
		plain, err := c.codec.Open(wire)
		if err != nil {
			c.p.cut(c, ReasonTLS+": "+err.Error())
			return
		}
		data = plain
	}
	if len(data) > 0 {
		c.h.Data(c, data)
	}
}

// peerClosed is the peer's close (or reset) arriving at this end.
func (c *Conn) peerClosed(why string) {
	if c.closed || c.p.partitioned() {
		return
	}
	c.closed = true
	c.h.Closed(c, why)
}
