package simnet

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"time"

	"smtplab/engine/trace"
)

// DefaultStart returns the calendar date a world starts at unless WithStart
// says otherwise: a Monday morning, so dates in headers read naturally.
func DefaultStart() time.Time { return time.Date(2026, time.January, 5, 9, 0, 0, 0, time.UTC) }

// Defaults for a new World. Options change them.
const (
	// DefaultLatency is the one-way delay of a link nobody configured.
	DefaultLatency = 5 * time.Millisecond
	// DefaultConnectTimeout is how long a dial to an unreachable host waits
	// before giving up (Postfix's smtp_connect_timeout is also 30s).
	DefaultConnectTimeout = 30 * time.Second
	// DefaultSettleHorizon is how long the network must stay quiet before
	// Settle stops: longer than any deliberate pause a peer makes, shorter
	// than any timeout or retry.
	DefaultSettleHorizon = 10 * time.Second
	// defaultSettleLimit stops a Settle that never goes quiet (two handlers
	// ping-ponging forever) instead of hanging the browser.
	defaultSettleLimit = 1_000_000
)

// World is one simulated network: its hosts and connections, its virtual
// clock and event queue, and the trace of everything that happened. A World
// is not safe for concurrent use; it never needs to be, as nothing in it
// runs on its own.
type World struct {
	log   trace.Log
	seed  int64
	rng   *rand.Rand
	start time.Time

	now      time.Duration
	queue    schedule
	seq      uint64
	inFlight int      // network deliveries in the queue (see Settle)
	running  bool     // inside Advance or Settle
	spare    []*event // events that ran, kept for reuse (see push)
	// spareTimers are the events of Timers given back (see spareTimer).
	spareTimers []*event
	bufs        [][]byte // packet buffers that arrived, kept for reuse (see packetBuf)

	latency        time.Duration
	connectTimeout time.Duration
	horizon        time.Duration
	settleLimit    int

	hosts    []*Host // in the order they were added
	byName   map[string]*Host
	byAddr   map[netip.Addr]*Host
	links    map[hostPair]time.Duration
	drops    []*dropRule
	blocked  map[portBlock]bool // filtered outgoing ports (see BlockPort)
	pipes    []*pipe            // connecting or open, in the order they were dialed
	lastConn int                // the last connection id handed out

	ran        int           // events run, under WebAssembly (see yields)
	targets    [8]dialTarget // the last targets dialed (see resolve)
	nextTarget int           // the entry of targets the next new one replaces
}

// An Option changes a World's defaults in New.
type Option func(*World)

// WithStart sets the calendar date at virtual time zero.
func WithStart(t time.Time) Option { return func(w *World) { w.start = t } }

// WithLatency sets the one-way latency of every link not set by SetLatency.
func WithLatency(d time.Duration) Option { return func(w *World) { w.latency = max(d, 0) } }

// WithConnectTimeout sets how long a dial waits for an answer.
func WithConnectTimeout(d time.Duration) Option {
	return func(w *World) { w.connectTimeout = max(d, 0) }
}

// WithSettleHorizon sets how long the network must stay quiet before Settle
// returns.
func WithSettleHorizon(d time.Duration) Option { return func(w *World) { w.horizon = max(d, 0) } }

// New returns an empty world at virtual time zero. The seed feeds the
// world's random generator; the same seed and the same calls give the same
// trace.
func New(seed int64, opts ...Option) *World {
	w := &World{
		seed:           seed,
		rng:            rand.New(rand.NewPCG(uint64(seed), 0x5e7_1ab_5317)),
		start:          DefaultStart(),
		latency:        DefaultLatency,
		connectTimeout: DefaultConnectTimeout,
		horizon:        DefaultSettleHorizon,
		settleLimit:    defaultSettleLimit,
		byName:         make(map[string]*Host),
		byAddr:         make(map[netip.Addr]*Host),
		links:          make(map[hostPair]time.Duration),
		blocked:        make(map[portBlock]bool),
	}
	for _, o := range opts {
		o(w)
	}
	return w
}

// Seed returns the seed the world was made with.
func (w *World) Seed() int64 { return w.seed }

// Rand returns the world's random generator. Everything random in a world
// must come from it, in a deterministic order.
func (w *World) Rand() *rand.Rand { return w.rng }

// Now returns the virtual time since the world started.
func (w *World) Now() time.Duration { return w.now }

// Date returns the calendar time now: the start date plus Now.
func (w *World) Date() time.Time { return w.start.Add(w.now) }

// Start returns the calendar date at virtual time zero.
func (w *World) Start() time.Time { return w.start }

// Log returns the world's trace.
func (w *World) Log() *trace.Log { return &w.log }

// Emit stamps e with the current virtual time (in milliseconds, as the trace
// schema says), appends it to the trace and returns its id. Every package
// that acts in a world records its events through here.
func (w *World) Emit(e trace.Event) int {
	return w.EmitEvent(&e)
}

// EmitEvent is Emit for an event given by pointer: it stamps *e and
// traces it from where it is, keeping nothing of it (see
// trace.Log.AddEvent). An Event is nearly three hundred octets: a caller
// that holds one already passes it on without copying it once more.
func (w *World) EmitEvent(e *trace.Event) int {
	e.At = int64(w.now / time.Millisecond)
	return w.log.AddEvent(e)
}

// EmitText is EmitEvent for an event whose text is the octets text (its
// Text is not read), which need not be made a string first: what crosses
// a connection is bytes (see trace.Log.AddText). The trace keeps a copy.
func (w *World) EmitText(e *trace.Event, text []byte) int {
	e.At = int64(w.now / time.Millisecond)
	return w.log.AddText(e, text)
}

// A Timer is a callback scheduled with After: the queue's own entry, so
// scheduling one costs a single allocation.
type Timer event

// After schedules f to run when the virtual clock reaches Now()+d. A
// negative d counts as zero; f then runs after everything already due now.
func (w *World) After(d time.Duration, f func()) *Timer {
	ev := w.push(w.now+max(d, 0), false, true)
	ev.action = action{op: opCall, run: f}
	return (*Timer)(ev)
}

// Stop cancels the timer. It reports whether the timer was still pending;
// false means it already ran or was stopped before.
func (t *Timer) Stop() bool {
	if t == nil || t.index < 0 {
		return false
	}
	t.w.queue.remove((*event)(t))
	if t.network {
		t.w.inFlight--
	}
	return true
}

// Reset makes the timer due d from now (a negative d counts as zero) to
// run its function again, whether it was pending, had run, or was stopped:
// it is Stop then After with the same function, and takes its turn among
// events due at the same time as that After would, but it allocates
// nothing. A driver that re-arms a timeout after every command (a
// server's idle timeout) keeps one Timer and resets it.
func (t *Timer) Reset(d time.Duration) {
	w, ev := t.w, (*event)(t)
	if t.index < 0 || !t.timer || t.network {
		t.Stop()
		w.enqueue(ev, w.now+max(d, 0), false)
		return
	}
	// Still queued, as a session's timer is when it is reset after every
	// command: it moves in the heap to where taking it out and queuing it
	// again would put it, with the next sequence number.
	w.seq++
	ev.at, ev.seq = w.now+max(d, 0), w.seq
	w.queue.timers.fix(t.index, queued{ev.at, ev.seq, ev})
}

// Pending reports whether the timer has neither run nor been stopped.
func (t *Timer) Pending() bool { return t != nil && t.index >= 0 }

// When returns the virtual time the timer is (or was) due at.
func (t *Timer) When() time.Duration { return t.at }

// Pending returns how many events are queued.
func (w *World) Pending() int { return w.queue.len() }

// NextEventAt returns when the next queued event is due, so a driver can
// offer "wait until something happens" as Advance(next - Now()).
func (w *World) NextEventAt() (time.Duration, bool) {
	if next, ok := w.queue.first(); ok {
		return next.at, true
	}
	return 0, false
}

// Advance runs, in order, every event due at or before Now()+d, including
// the ones those events schedule within that window, then sets the clock to
// Now()+d and records a clock event at the new time. It returns how many
// events ran. A negative d counts as zero; a zero d runs what is due now and
// records nothing.
func (w *World) Advance(d time.Duration) int {
	w.enter("Advance")
	defer w.leave()
	d = max(d, 0)
	end := w.now + d
	n := 0
	for next, ok := w.queue.first(); ok && next.at <= end; next, ok = w.queue.first() {
		w.runNext(next)
		n++
	}
	w.now = end
	if d > 0 {
		w.Emit(trace.Event{Kind: trace.Clock, Text: d.String()})
	}
	return n
}

// Settle runs events until the network has been quiet for the settle
// horizon, and returns how many ran. Precisely: it keeps running the next
// event while a network delivery (a connection attempt's answer, bytes, a
// close) is queued, or while the next event is due within the horizon after
// the call or after the last network delivery it ran. The clock stops at the
// last event run; no clock event is recorded. See the package doc for why.
func (w *World) Settle() int {
	w.enter("Settle")
	defer w.leave()
	quietUntil := w.now + w.horizon
	n := 0
	for first, ok := w.queue.first(); ok; first, ok = w.queue.first() {
		next := first.ev
		if w.inFlight == 0 && next.at > quietUntil {
			break
		}
		if n == w.settleLimit {
			w.Emit(trace.Event{Kind: trace.Note, Text: fmt.Sprintf(
				"simnet: stopped settling after %d events: the network never went quiet", n)})
			break
		}
		w.runNext(first)
		n++
		// next is read after it ran, as Settle always did: by then it
		// may be back in use as the first event its callback queued (see
		// push), and it is that event's network flag that counts.
		// Traces depend on it: reading it before the run would let some
		// worlds settle longer.
		if next.network {
			quietUntil = max(quietUntil, w.now+w.horizon)
		}
	}
	return n
}

func (w *World) enter(what string) {
	if w.running {
		panic("simnet: " + what + " called from inside an event callback")
	}
	w.running = true
}

func (w *World) leave() { w.running = false }

// schedule queues f at virtual time at, as a network delivery (Settle
// waits for those) or not. The network's own deliveries are actions
// (see queueAction); this is for the tests.
func (w *World) schedule(at time.Duration, network bool, f func()) {
	w.queueAction(at, network, action{op: opCall, run: f})
}

// queueAction queues a at virtual time at. Network deliveries are marked
// so that Settle knows the network is not quiet yet.
func (w *World) queueAction(at time.Duration, network bool, a action) {
	w.push(at, network, false).action = a
}

// EmitAfter adds e to the trace once d has passed, as Emit would then. It
// is for work that is computed at once but takes virtual time to happen,
// such as the queries and answers of a DNS lookup (it is a dns.Recorder).
func (w *World) EmitAfter(e trace.Event, d time.Duration) {
	ev := w.push(w.now+max(d, 0), false, false)
	ev.op = opNote
	if ev.note == nil {
		ev.note = new(trace.Event)
	}
	*ev.note = e
}

// push queues a new event at virtual time at. A timer's event is the
// caller's Timer and is never reused; every other one (each packet on
// each connection, each delayed trace event) is kept once it has run and
// used again, since a busy world makes hundreds of them per message.
func (w *World) push(at time.Duration, network, timer bool) *event {
	var ev *event
	if n := len(w.spare); !timer && n > 0 {
		ev, w.spare = w.spare[n-1], w.spare[:n-1]
	} else {
		ev = &event{w: w}
	}
	ev.timer = timer
	w.enqueue(ev, at, network)
	return ev
}

// spareTimer queues a as a Timer due at virtual time at, in an event that
// a Timer had before rather than a new one, for a Timer its owner gives
// back once it fired or was stopped (freeTimer): the connect timeout of
// every dial. They are kept apart from the other spare events (see push):
// those are reused in an order that Settle depends on.
func (w *World) spareTimer(at time.Duration, a action) *Timer {
	var ev *event
	if n := len(w.spareTimers); n > 0 {
		ev, w.spareTimers = w.spareTimers[n-1], w.spareTimers[:n-1]
	} else {
		ev = &event{w: w, timer: true}
	}
	ev.action = a
	w.enqueue(ev, at, false)
	return (*Timer)(ev)
}

// freeTimer stops t, a Timer of spareTimer, if it is pending, and keeps
// its event for reuse: its owner must not use t again.
func (w *World) freeTimer(t *Timer) {
	t.Stop()
	t.action = action{}
	w.spareTimers = append(w.spareTimers, (*event)(t))
}

// enqueue puts ev, which is not queued, in the queue at virtual time at.
func (w *World) enqueue(ev *event, at time.Duration, network bool) {
	w.seq++
	ev.at, ev.seq, ev.network = at, w.seq, network
	w.queue.push(ev)
	if network {
		w.inFlight++
	}
}

// runNext pops the earliest event, whose entry first is, moves the clock
// to it and runs it.
func (w *World) runNext(first queued) {
	if yields {
		if w.ran++; w.ran%yieldEvery == 0 {
			runtime.Gosched()
		}
	}
	ev := w.queue.pop(first)
	if ev.network {
		w.inFlight--
	}
	if ev.at > w.now {
		w.now = ev.at
	}
	if ev.timer {
		w.do(ev.action)
		return
	}
	// Take what the event does out of it first: it goes back to the spares
	// at once, and what runs may schedule more.
	a := ev.action
	ev.action = action{}
	if a.op == opNote {
		// Tracing schedules nothing, so the note is traced from where it
		// is. It is not emptied: the next EmitAfter that takes the event
		// writes every field of it, and until then it keeps alive only
		// what a few spare events' notes name.
		w.EmitEvent(ev.note)
		w.spare = append(w.spare, ev)
		return
	}
	w.spare = append(w.spare, ev)
	w.do(a)
}

// Under WebAssembly the runtime has one thread and nothing that preempts
// a goroutine, so a garbage collection's background marking runs only
// when the running goroutine yields, which a long simulation never does:
// the collection's mark phase then lasts until allocations alone have
// done its work, a tenth of a second and more, and all that time every
// pointer the simulation writes goes through the collector's write
// barrier. A world running events there yields now and then (runNext),
// which lets the marking end in a few milliseconds. Elsewhere the
// runtime preempts on its own.
const (
	yields     = runtime.GOARCH == "wasm"
	yieldEvery = 1024 // events run between two yields
)

// packetBuf returns an empty buffer with room for n octets, for a packet
// on its way: one that arrived already if it is big enough. Every write
// is copied, since the writer may change its slice once Write returns,
// and a copy of its own for each was a quarter of the allocations of a
// simulation; but a handler does not keep what Data gives it (see
// Handler), so once a packet arrived its buffer can carry the next.
func (w *World) packetBuf(n int) []byte {
	if k := len(w.bufs); k > 0 && cap(w.bufs[k-1]) >= n {
		b := w.bufs[k-1]
		w.bufs = w.bufs[:k-1]
		return b[:0]
	}
	return make([]byte, 0, max(n, minPacketBuf))
}

// reusePacketBuf takes back a buffer of packetBuf that arrived, unless it
// is big enough to be worth giving back to the collector.
func (w *World) reusePacketBuf(b []byte) {
	if cap(b) <= maxPacketBuf && len(w.bufs) < maxPacketBufs {
		w.bufs = append(w.bufs, b)
	}
}

// The bounds of the packet buffers a World reuses (see packetBuf): one
// holds at least a small message, as mail is most of what is written, so
// that a command's buffer can then carry a message; a buffer of a big
// message is not kept, nor more than a few connections keep in flight.
const (
	minPacketBuf  = 2 << 10
	maxPacketBuf  = 64 << 10
	maxPacketBufs = 64
)

// event is one entry of the queue: an action and when it is due.
type event struct {
	action
	w       *World
	note    *trace.Event // for an opNote action (EmitAfter), kept for reuse
	at      time.Duration
	seq     uint64 // scheduling order: ties at the same time run first-in first-out
	index   int    // a timer's position in its heap; -1 once it left the queue
	network bool
	timer   bool // the event of a Timer (see push)
}

// action is what an event does when it runs. Its op says which; the
// connection's own steps are ops rather than closures because a closure
// is an allocation, and a simulation takes several of those steps for
// every connection and every write.
type action struct {
	op    op
	raw   bool   // opPacket: raw TLS records, not for the codec (see Raw)
	reuse bool   // opPacket: wire is a buffer of packetBuf
	c     *Conn  // the end it happens to (all but opCall and opNote)
	why   string // opRefused, opClosed, opPeerClosed: the reason
	wire  []byte // opPacket: the bytes arriving
	run   func() // opCall
}

// op is what an action does.
type op uint8

const (
	opCall       op = iota // call run: a Timer or a test's callback
	opNote                 // trace the event's note (EmitAfter)
	opPacket               // wire arrives at c (sendPacket)
	opSyn                  // c's connection request reaches the server's host (Dial)
	opAnswer               // the server's acceptance reaches the client c (synArrives)
	opRefused              // the refusal reaches the client c (refuse)
	opTimeout              // the connect timeout of client c's dial fires
	opPeerClosed           // the peer's close reaches c
	opClosed               // c's own handler learns that c was cut (cut)
)

// do carries out a.
func (w *World) do(a action) {
	switch a.op {
	case opCall:
		a.run()
	case opPacket:
		a.c.receive(a.wire, a.raw, a.reuse)
	case opSyn:
		a.c.p.synArrives()
	case opAnswer:
		a.c.p.clientOpens()
	case opRefused:
		a.c.p.refused(a.why)
	case opTimeout:
		a.c.p.timedOut()
	case opPeerClosed:
		a.c.peerClosed(a.why)
	case opClosed:
		a.c.h.Closed(a.c, a.why)
	}
}

// schedule is the world's queue of events: the timers in a heap, and
// the rest (deliveries over the network, delayed notes) in a list of
// their own. A world holds a timer for every message waiting in a queue
// and every session waiting for its peer, thousands in a big world,
// while the packets of a session come and go by the dozen, each taken off
// the queue as soon as it is due: kept apart from the timers, a packet is
// not sifted through a dozen levels of them. The next event is the
// earlier of the two's first ones, so the order is (at, seq) across
// both, as with one heap.
type schedule struct {
	soon   soonQueue  // events that are not timers
	timers eventQueue // the events of Timers (see event.timer)
}

func (s *schedule) len() int { return s.soon.len() + len(s.timers) }

func (s *schedule) push(ev *event) {
	if ev.timer {
		s.timers.push(ev)
		return
	}
	s.soon.push(ev)
}

// first returns the entry of the next event, if any, without taking it:
// the earlier of the two queues' first ones.
func (s *schedule) first() (queued, bool) {
	soon, ok := s.soon.first()
	switch {
	case len(s.timers) > 0 && (!ok || s.timers[0].before(soon)):
		return s.timers[0], true
	case ok:
		return soon, true
	}
	return queued{}, false
}

// pop removes the next event, whose entry first returned, and returns it.
func (s *schedule) pop(first queued) *event {
	if first.ev.timer {
		return s.timers.pop()
	}
	return s.soon.pop()
}

// remove removes ev, a timer's event, which is queued. Only timers are
// stopped: the other events always run.
func (s *schedule) remove(ev *event) { s.timers.remove(ev.index) }

// soonQueue holds the events that are not timers, in the order they
// run: sorted by (at, seq), the first at head. Nearly every event queued
// here is due after all those queued already (a packet arrives one
// latency after it was sent, and the packets before it were sent
// earlier), so it is appended, and moved forward past the few, if any,
// due later: a push and a pop cost a few instructions each, where a heap
// sifted every entry up and down.
type soonQueue struct {
	q    []queued // q[head:] are queued
	head int
}

func (s *soonQueue) len() int { return len(s.q) - s.head }

// first returns the entry of the next event, if any.
func (s *soonQueue) first() (queued, bool) {
	if s.head == len(s.q) {
		return queued{}, false
	}
	return s.q[s.head], true
}

// push queues ev in its place. The events of the queue are not Timers
// and are never removed but by pop: their index says only that they are
// queued.
func (s *soonQueue) push(ev *event) {
	e := queued{ev.at, ev.seq, ev}
	s.q = append(s.q, e)
	for i := len(s.q) - 1; i > s.head && e.before(s.q[i-1]); i-- {
		s.q[i], s.q[i-1] = s.q[i-1], e
	}
	ev.index = 0
}

// pop removes the first event, which must exist, and returns it. The
// list starts again at its front whenever it is empty, and most of the
// time it soon is; should it never be, its first half is let go once
// the head passes it, so that it does not grow for ever.
func (s *soonQueue) pop() *event {
	ev := s.q[s.head].ev
	s.q[s.head] = queued{}
	s.head++
	if s.head == len(s.q) {
		s.q, s.head = s.q[:0], 0
	} else if s.head >= 1024 && s.head > len(s.q)/2 {
		n := copy(s.q, s.q[s.head:])
		clear(s.q[n:])
		s.q, s.head = s.q[:n], 0
	}
	ev.index = -1
	return ev
}

// eventQueue is a min-heap of events ordered by (at, seq), the order they
// run in. The keys are kept beside the event pointers, so that comparing
// two entries reads no event. It is written out rather than driven through
// container/heap, whose calls through an interface (Less, Swap, Push, Pop)
// cost a twentieth of a whole simulation.
type eventQueue []queued

// queued is an entry of an eventQueue.
type queued struct {
	at  time.Duration
	seq uint64
	ev  *event
}

func (a queued) before(b queued) bool {
	return a.at < b.at || a.at == b.at && a.seq < b.seq
}

// set puts e at place i of the heap.
func (q eventQueue) set(i int, e queued) {
	q[i] = e
	e.ev.index = i
}

func (q *eventQueue) push(ev *event) {
	*q = append(*q, queued{})
	q.up(len(*q)-1, queued{ev.at, ev.seq, ev})
}

// pop removes the earliest event and returns it.
func (q *eventQueue) pop() *event {
	return q.remove(0)
}

// remove removes the event at place i and returns it.
func (q *eventQueue) remove(i int) *event {
	old := *q
	ev := old[i].ev
	n := len(old) - 1
	last := old[n]
	old[n] = queued{}
	*q = old[:n]
	if i < n {
		q.fix(i, last) // the last entry fills the hole
	}
	ev.index = -1
	return ev
}

// up puts e at hole i, or above it as far as it must go.
// fix puts e, the entry at place i with a new key, where it belongs.
func (q eventQueue) fix(i int, e queued) {
	if i > 0 && e.before(q[(i-1)/2]) {
		q.up(i, e)
	} else {
		q.down(i, e)
	}
}

func (q eventQueue) up(i int, e queued) {
	for i > 0 {
		parent := (i - 1) / 2
		if !e.before(q[parent]) {
			break
		}
		q.set(i, q[parent])
		i = parent
	}
	q.set(i, e)
}

// down puts e at hole i, or below it as far as it must go.
func (q eventQueue) down(i int, e queued) {
	n := len(q)
	for {
		child := 2*i + 1
		if child >= n {
			break
		}
		if right := child + 1; right < n && q[right].before(q[child]) {
			child = right
		}
		if !q[child].before(e) {
			break
		}
		q.set(i, q[child])
		i = child
	}
	q.set(i, e)
}
