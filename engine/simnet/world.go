package simnet

import (
	"container/heap"
	"fmt"
	"math/rand/v2"
	"net/netip"
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
	queue    eventQueue
	seq      uint64
	inFlight int      // network deliveries in the queue (see Settle)
	running  bool     // inside Advance or Settle
	spare    []*event // events that ran, kept for reuse (see push)

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
	e.At = int64(w.now / time.Millisecond)
	return w.log.Add(e)
}

// A Timer is a callback scheduled with After: the queue's own entry, so
// scheduling one costs a single allocation.
type Timer event

// After schedules f to run when the virtual clock reaches Now()+d. A
// negative d counts as zero; f then runs after everything already due now.
func (w *World) After(d time.Duration, f func()) *Timer {
	return (*Timer)(w.schedule(w.now+max(d, 0), false, f))
}

// Stop cancels the timer. It reports whether the timer was still pending;
// false means it already ran or was stopped before.
func (t *Timer) Stop() bool {
	if t == nil || t.index < 0 {
		return false
	}
	heap.Remove(&t.w.queue, t.index)
	if t.network {
		t.w.inFlight--
	}
	return true
}

// Pending reports whether the timer has neither run nor been stopped.
func (t *Timer) Pending() bool { return t != nil && t.index >= 0 }

// When returns the virtual time the timer is (or was) due at.
func (t *Timer) When() time.Duration { return t.at }

// Pending returns how many events are queued.
func (w *World) Pending() int { return len(w.queue) }

// NextEventAt returns when the next queued event is due, so a driver can
// offer "wait until something happens" as Advance(next - Now()).
func (w *World) NextEventAt() (time.Duration, bool) {
	if len(w.queue) == 0 {
		return 0, false
	}
	return w.queue[0].at, true
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
	for len(w.queue) > 0 && w.queue[0].at <= end {
		w.runNext()
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
	for len(w.queue) > 0 {
		next := w.queue[0]
		if w.inFlight == 0 && next.at > quietUntil {
			break
		}
		if n == w.settleLimit {
			w.Emit(trace.Event{Kind: trace.Note, Text: fmt.Sprintf(
				"simnet: stopped settling after %d events: the network never went quiet", n)})
			break
		}
		w.runNext()
		n++
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

// schedule queues f at virtual time at. Network deliveries are marked so
// that Settle knows the network is not quiet yet; everything else
// scheduled here is a Timer.
func (w *World) schedule(at time.Duration, network bool, f func()) *event {
	ev := w.push(at, network, !network)
	ev.run = f
	return ev
}

// EmitAfter adds e to the trace once d has passed, as Emit would then. It
// is for work that is computed at once but takes virtual time to happen,
// such as the queries and answers of a DNS lookup (it is a dns.Recorder).
func (w *World) EmitAfter(e trace.Event, d time.Duration) {
	ev := w.push(w.now+max(d, 0), false, false)
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
	w.seq++
	var ev *event
	if n := len(w.spare); !timer && n > 0 {
		ev, w.spare = w.spare[n-1], w.spare[:n-1]
	} else {
		ev = &event{w: w}
	}
	ev.at, ev.seq, ev.network, ev.timer = at, w.seq, network, timer
	heap.Push(&w.queue, ev)
	if network {
		w.inFlight++
	}
	return ev
}

// runNext pops the earliest event, moves the clock to it and runs it.
func (w *World) runNext() {
	ev := heap.Pop(&w.queue).(*event)
	if ev.network {
		w.inFlight--
	}
	if ev.at > w.now {
		w.now = ev.at
	}
	if ev.timer {
		ev.run()
		return
	}
	// Take what the event does out of it first: it goes back to the spares
	// at once, and what runs may schedule more.
	run, pkt := ev.run, ev.packet
	var note trace.Event
	if run == nil && pkt.to == nil {
		note, *ev.note = *ev.note, trace.Event{}
	}
	ev.run, ev.packet = nil, packet{}
	w.spare = append(w.spare, ev)
	switch {
	case run != nil:
		run()
	case pkt.to != nil:
		pkt.to.receive(pkt.wire, pkt.raw)
	default:
		w.Emit(note)
	}
}

// event is one entry of the queue.
//
// What it does is one of: run a callback, deliver a packet (sendPacket),
// or trace a note (EmitAfter).
type event struct {
	w       *World
	timer   bool         // the event of a Timer (see push)
	packet  packet       // for sendPacket, when run is nil
	note    *trace.Event // for EmitAfter, when run is nil and there is no packet
	at      time.Duration
	seq     uint64 // scheduling order: ties at the same time run first-in first-out
	index   int    // position in the heap, -1 once it left the queue
	network bool
	run     func()
}

// eventQueue is a min-heap of events ordered by (at, seq), driven through
// container/heap.
type eventQueue []*event

func (q eventQueue) Len() int { return len(q) }

func (q eventQueue) Less(i, j int) bool {
	if q[i].at != q[j].at {
		return q[i].at < q[j].at
	}
	return q[i].seq < q[j].seq
}

func (q eventQueue) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].index = i
	q[j].index = j
}

func (q *eventQueue) Push(x any) {
	ev := x.(*event)
	ev.index = len(*q)
	*q = append(*q, ev)
}

func (q *eventQueue) Pop() any {
	old := *q
	n := len(old) - 1
	ev := old[n]
	old[n] = nil
	ev.index = -1
	*q = old[:n]
	return ev
}
