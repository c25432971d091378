package labtls

import (
	"io"
	"net"
	"sync"
	"time"

	"smtplab/engine/trace"
)

// Side is one end of a TLS connection.
type Side uint8

// The two sides.
const (
	SideClient Side = iota
	SideServer
)

func (s Side) String() string {
	if s == SideClient {
		return "client"
	}
	return "server"
}

// Dir is the trace direction of bytes this side sends.
func (s Side) Dir() string {
	if s == SideClient {
		return trace.ToServer
	}
	return trace.ToClient
}

func (s Side) peer() Side { return 1 - s }

// Flight is the bytes one side sends in one go during the handshake: what
// it wrote between two moments it had to wait for its peer. The simulated
// network puts Bytes on the wire as one raw write.
type Flight struct {
	From  Side
	Bytes []byte
	// Steps are the handshake steps to trace as this flight leaves, in
	// order (see Result.Event).
	Steps []string
}

// wire connects the two tls.Conns while they handshake, and takes turns for
// them. Exactly one side runs at a time: a side keeps the turn while it
// writes, and gives it to its peer when it must read and has nothing to read
// or when its handshake is over. What it wrote during its turn becomes one
// Flight. Taking turns makes the order of flights, and of every read from
// Rand, the same in every run however the goroutines are scheduled.
type wire struct {
	mu      sync.Mutex
	cond    sync.Cond
	turn    Side
	inbox   [2][]byte // bytes waiting to be read by each side
	writing [2][]byte // bytes a side wrote during its current turn
	done    [2]bool   // the side's handshake has returned
	flights []Flight
}

func newWire() *wire {
	w := &wire{turn: SideClient}
	w.cond.L = &w.mu
	return w
}

// waitTurn blocks until it is s's turn. Callers hold w.mu.
func (w *wire) waitTurn(s Side) {
	for w.turn != s {
		w.cond.Wait()
	}
}

// pass ends s's turn: what s wrote becomes a flight, and the peer runs.
// Callers hold w.mu and the turn.
func (w *wire) pass(s Side) {
	if out := w.writing[s]; len(out) > 0 {
		w.flights = append(w.flights, Flight{From: s, Bytes: out})
		w.inbox[s.peer()] = append(w.inbox[s.peer()], out...)
		w.writing[s] = nil
	}
	w.turn = s.peer()
	w.cond.Broadcast()
}

func (w *wire) read(s Side, p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for {
		w.waitTurn(s)
		if len(w.inbox[s]) > 0 {
			n := copy(p, w.inbox[s])
			w.inbox[s] = w.inbox[s][n:]
			return n, nil
		}
		if w.done[s.peer()] {
			return 0, io.EOF // the peer gave up and will send nothing more
		}
		w.pass(s)
	}
}

func (w *wire) write(s Side, p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.waitTurn(s)
	w.writing[s] = append(w.writing[s], p...)
	return len(p), nil
}

// finish records that s's handshake returned, and hands the turn over.
func (w *wire) finish(s Side) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.waitTurn(s)
	w.done[s] = true
	w.pass(s)
}

// memConn is the net.Conn under each tls.Conn. During the handshake it
// reads and writes through the wire, blocking as a socket would. Afterwards
// it is a pair of byte buffers and never blocks: Read with nothing buffered
// fails with errWouldBlock, a temporary net.Error, which crypto/tls passes
// up without marking the connection broken (Go 1.26, crypto/tls/conn.go,
// readRecordOrCCS: "if e, ok := err.(net.Error); !ok || !e.Temporary()"),
// keeping any partial record for the next Read.
type memConn struct {
	wire *wire // nil after the handshake
	side Side
	in   []byte // records received and not yet read by crypto/tls
	out  []byte // records crypto/tls wrote and not yet taken by Seal
}

func (c *memConn) Read(p []byte) (int, error) {
	if c.wire != nil {
		return c.wire.read(c.side, p)
	}
	if len(c.in) == 0 {
		return 0, errWouldBlock{}
	}
	n := copy(p, c.in)
	c.in = c.in[n:]
	return n, nil
}

func (c *memConn) Write(p []byte) (int, error) {
	if c.wire != nil {
		return c.wire.write(c.side, p)
	}
	c.out = append(c.out, p...)
	return len(p), nil
}

// take returns what crypto/tls wrote since the last take.
func (c *memConn) take() []byte {
	out := c.out
	c.out = nil
	return out
}

func (c *memConn) Close() error                     { return nil }
func (c *memConn) LocalAddr() net.Addr              { return memAddr(c.side) }
func (c *memConn) RemoteAddr() net.Addr             { return memAddr(c.side.peer()) }
func (c *memConn) SetDeadline(time.Time) error      { return nil }
func (c *memConn) SetReadDeadline(time.Time) error  { return nil }
func (c *memConn) SetWriteDeadline(time.Time) error { return nil }

type memAddr Side

func (a memAddr) Network() string { return "labtls" }
func (a memAddr) String() string  { return Side(a).String() }

// errWouldBlock says no more bytes are buffered: "come back with more".
type errWouldBlock struct{}

func (errWouldBlock) Error() string   { return "labtls: no more records buffered" }
func (errWouldBlock) Timeout() bool   { return true }
func (errWouldBlock) Temporary() bool { return true }
