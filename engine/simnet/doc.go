// Package simnet is the simulated network every SMTP Lab world runs on: hosts
// with names and addresses, listeners on ports, connections that carry bytes
// with a latency, faults a scenario can switch on, a virtual clock and the
// event queue that moves it. It owns the world's trace.Log and records every
// connection, every write, every fault and every jump of the clock there.
//
// # Time
//
// Nothing in a World reads the real clock or starts a goroutine. Time is a
// time.Duration since the world started (Now) plus a fixed calendar date for
// certificates and Received: headers (Date). Work that happens "later" is an
// event in a queue ordered by (time, scheduling order): two events due at the
// same instant run in the order they were scheduled, so the same calls in the
// same order always give the same trace, byte for byte.
//
// Time moves only when a driver asks, in one of two ways:
//
//   - Advance(d) runs every event due up to Now()+d, then sets the clock to
//     exactly Now()+d and records a clock event. This is "wait 30 minutes".
//   - Settle() is what a driver calls after a learner types a line. The line
//     travels with the link latency, the server answers, the answer travels
//     back, and perhaps more follows. Settle runs events until the network has
//     been quiet for the world's settle horizon (10s unless WithSettleHorizon
//     says otherwise): every delivery in flight runs, together with any timer
//     that falls due before it, and a timer due within the horizon after the
//     last network activity runs too (a server's deliberate greeting pause, a
//     tarpit). Timers further away, such as connect timeouts, command
//     timeouts and queue retries, stay queued for Advance. Settle never
//     records a clock event: the events it runs carry their own times.
//
// Neither may be called from inside an event callback.
//
// # Connections
//
// A Host listens on a port with an accept function that returns a Handler
// for each new connection. Dial starts a connection from a host to a host
// name or address and returns the dialing end at once; the outcome comes
// later, through the dialer's Handler:
//
//   - accepted: the SYN reaches the server after the link latency, the
//     server's Handler gets Open (a conn.open event is recorded), and the
//     client's Handler gets Open one latency later;
//   - refused: nothing listens on the port, or the target host's services
//     are stopped (SetDown): it answers with a reset at once; the
//     dialer gets Closed(c, ReasonRefused) one round trip after dialing and a
//     conn.refused event is recorded;
//   - timeout: the target is unreachable (or unknown), or a filter dropped
//     the request (BlockPort); nothing answers, and the dialer gets
//     Closed(c, ReasonTimeout) after the connect timeout (DialDeadline says
//     when).
//
// A Conn is one end of a connection. Write delivers bytes to the peer's
// Handler after the link latency; bytes from one end always arrive in the
// order they were written, even when the latency changes in between. Each
// Write is one bytes event, recorded when it is sent. Close delivers Closed
// to the peer after the bytes already in flight. An end whose own Handler
// closes it is not told again; an end cut by something else (its peer, a
// fault, a TLS error) always gets exactly one Closed. Handlers are only ever
// called from the event queue, never from inside Write or Close, so a
// handler may write and close freely while handling a callback.
//
// # TLS
//
// The TLS handshake itself is done elsewhere (engine/labtls); simnet only
// needs the result. WriteRaw puts handshake records on the wire so they are
// traced as ciphertext with the right timing; the peer sees them only if its
// Handler implements RawHandler. After the handshake each end calls Upgrade
// with a Codec: from then on Write seals plaintext into records before they
// travel, and arriving bytes are opened before the Handler sees them. The
// bytes event of a sealed write has tls=true, size = the ciphertext's size,
// text = the plaintext, and attrs cipher_hex (the first 32 bytes of
// ciphertext) and plain_size. Whether arriving bytes are opened depends on the
// receiving end's state when they arrive, as on a real socket: an end must
// upgrade before the first sealed record reaches it.
//
// # Faults
//
// Scenarios break the network on purpose; each fault records a fault event
// when it takes effect:
//
//   - Host.SetDown: the host's services are stopped, the machine still up.
//     Dials to it are refused at once ("nothing listens on port 25: the
//     host's services are stopped") and its open connections are reset
//     (both ends get Closed(c, ReasonHostDown)). A host that is really
//     off answers nothing: that is SetUnreachable.
//   - Host.SetUnreachable: packets to and from the host are lost. Dials to it
//     time out; bytes on its open connections vanish, so the ends only notice
//     through their own timeouts.
//   - World.DropAfter: the first connection on which one host has sent more
//     than n bytes to another is cut after those n bytes (mid-DATA, say).
//   - World.SetLatency: a slow (or fast) link between two hosts.
//   - World.BlockPort: a filter drops a host's outgoing connection requests
//     to one port (an Internet provider's port-25 block): those dials time
//     out.
//
// A fault meant to fire later is scheduled like anything else:
// w.After(10*time.Minute, func() { mx.SetDown(true) }).
//
// # Randomness
//
// Anything random (today: the client's ephemeral port) comes from Rand, a
// PCG generator seeded from the world seed, never from a global source.
package simnet
