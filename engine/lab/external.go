package lab

import (
	"crypto/tls"
	"encoding/pem"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"time"

	"smtplab/engine/labtls"
	"smtplab/engine/mta"
	"smtplab/engine/server"
	"smtplab/engine/trace"
)

// ExternalConnBase numbers the connections that come from outside the
// world: such a connection's number is ExternalConnBase plus the id of its
// conn.open event. Simulated connections count up from 1, so the two never
// share a number in one trace.
const ExternalConnBase = 1 << 20

// ExternalConn describes a connection from outside the simulated world: a
// real program on a real TCP connection, handed over by the TCP bridge.
type ExternalConn struct {
	// Host is the scenario host that serves the connection; empty picks
	// the one ExternalHost names for Port.
	Host string
	// Port is the SMTP port the client reached, which decides the server's
	// role: 25 (MX), 587 (submission: STARTTLS and AUTH first), 465
	// (implicit TLS).
	Port int
	// Remote is the client's address, "203.0.113.9:41234". Relay rules and
	// limits look at it, as they would at a simulated client's.
	Remote string
	// TLSAvailable says the driver can run a TLS handshake when the client
	// asks with STARTTLS; without it STARTTLS is not offered.
	TLSAvailable bool
	// TLS is the finished handshake of a connection that started inside
	// TLS (port 465, RFC 8314 §3.3): the driver shakes hands before it
	// starts the session, so that the greeting travels encrypted.
	TLS *tls.ConnectionState
}

// External is one SMTP session whose client is outside the simulated
// world. The server side is the scenario host's own server state machine,
// so what the client is told, and where its mail goes, is what a simulated
// client would see; everything it does is recorded in the world's trace.
//
// External is sans-IO like the machine it wraps: the driver reads bytes
// from its socket and passes them to Feed, writes Output to the socket,
// waits at most Deadline for more input (then calls Timeout), runs the TLS
// handshake when TLSRequested says so (then calls TLSStarted), and closes
// the socket once Closed is true, calling Disconnected if it goes away
// first.
//
// Like the World, an External is not safe for concurrent use, and all the
// Externals of one World share its state: the driver serialises every call
// into the World and its Externals (one mutex is enough). The slice Output
// returns belongs to this session alone, so the driver may write it to the
// socket after releasing that mutex, before its next call.
//
// Sessions from outside are not inputs: a Snapshot does not hold them, and
// Restore does not replay them.
type External struct {
	w      *World
	host   *mta.Host
	sess   *server.Session
	conn   int
	port   int
	client string // the client as the trace names it: "[127.0.0.1]"

	tlsWanted bool // the server said 220 to STARTTLS; the handshake is due
	inMessage bool // message text (after DATA's 354, or a BDAT chunk) is being read
	accepted  int  // messages accepted so far
	ended     bool // conn.close has been traced
}

// ExternalHost names the host that serves outside clients on port: the
// learner's server when it listens there (port 25 of the server the
// learner types to, say), else the first host of the scenario that does.
func (w *World) ExternalHost(port int) (string, error) {
	h, err := w.externalHost("", port)
	if err != nil {
		return "", err
	}
	return h.Name(), nil
}

func (w *World) externalHost(name string, port int) (*mta.Host, error) {
	if name != "" {
		h, ok := w.mail.Host(name)
		if !ok {
			return nil, fmt.Errorf("scenario %s has no host %s", w.sc.Name, name)
		}
		if !slices.Contains(h.Config().Ports, port) {
			return nil, fmt.Errorf("%s does not listen on port %d in scenario %s", name, port, w.sc.Name)
		}
		return h, nil
	}
	if h, ok := w.mail.Host(w.sc.Learner.Connect); ok && slices.Contains(h.Config().Ports, port) {
		return h, nil
	}
	for _, h := range w.mail.Hosts() {
		if slices.Contains(h.Config().Ports, port) {
			return h, nil
		}
	}
	return nil, fmt.Errorf("no host of scenario %s listens on port %d", w.sc.Name, port)
}

// ExternalTLS returns what a real-network driver needs to offer TLS as
// host: a server configuration with the host's certificate in the variant
// its scenario gives it (good, expired, wrong-name, self-signed), and the
// PEM of the CA that signed it, for clients that want to verify. The CA's
// and the certificate's dates follow now, the real clock, rather than the
// world's start, so that a good certificate is valid today and an expired
// one expired yesterday. A host whose certificate is "none" has no TLS:
// the error says so.
//
// The lab's keys are embedded and public: this TLS is for watching real
// handshakes, not for keeping anything secret.
func (w *World) ExternalTLS(host string, now time.Time) (cfg *tls.Config, caPEM []byte, err error) {
	h, ok := w.mail.Host(host)
	if !ok {
		return nil, nil, fmt.Errorf("scenario %s has no host %s", w.sc.Name, host)
	}
	variant := labtls.Good
	switch c := h.Config().Cert; c {
	case mta.CertNone:
		return nil, nil, fmt.Errorf("%s offers no TLS in scenario %s", host, w.sc.Name)
	case "":
	default:
		if variant, err = labtls.ParseVariant(c); err != nil {
			return nil, nil, err
		}
	}
	ca, err := labtls.NewAuthority(now)
	if err != nil {
		return nil, nil, err
	}
	cert, err := ca.Issue(h.Name(), variant)
	if err != nil {
		return nil, nil, err
	}
	cfg = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	return cfg, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Certificate().Raw}), nil
}

// ServeExternal starts a server session for a connection from outside the
// world. Its greeting is in Output at once.
func (w *World) ServeExternal(c ExternalConn) (*External, error) {
	h, err := w.externalHost(c.Host, c.Port)
	if err != nil {
		return nil, err
	}
	if c.Port == 465 && c.TLS == nil {
		return nil, fmt.Errorf("%s: port 465 is implicit TLS: the handshake comes before the session", h.Name())
	}
	ap, err := netip.ParseAddrPort(c.Remote)
	if err != nil {
		return nil, fmt.Errorf("external client address %q: %w", c.Remote, err)
	}
	x := &External{
		w: w, host: h, port: c.Port,
		conn:   ExternalConnBase + w.net.Log().Len() + 1,
		client: addressLiteral(ap.Addr()),
	}
	// Every connection from outside opens with this event, so its text is
	// put together without fmt.
	var port [8]byte
	w.net.Emit(trace.Event{Kind: trace.ConnOpen, Conn: x.conn, Host: x.client, Peer: h.Name(), Port: c.Port,
		Text: h.Name() + ":" + string(strconv.AppendInt(port[:0], int64(c.Port), 10)) + ", from " + c.Remote + " over real TCP"})
	if c.TLS != nil {
		x.traceTLS(*c.TLS)
	}
	x.sess = h.ExternalSessionAt(c.Port, c.Remote, ap.Addr(), c.TLSAvailable)
	x.flush()
	return x, nil
}

// addressLiteral returns how the trace names a client by its address,
// "[127.0.0.1]", in one allocation.
func addressLiteral(addr netip.Addr) string {
	var b [len("[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff%zone]")]byte
	return string(append(addr.Unmap().AppendTo(append(b[:0], '[')), ']'))
}

// Release tells the world the driver is done with x: its connection is
// closed, and neither x nor anything it returned is used again. A later
// session from outside then reuses the memory of x's. A session whose end
// was not recorded (neither Closed nor Disconnected) is not reused.
func (x *External) Release() {
	if x.ended && x.sess != nil {
		x.host.ReleaseExternal(x.sess)
	}
	x.sess = nil
}

// Conn returns the connection's number in the trace.
func (x *External) Conn() int { return x.conn }

// Host returns the name of the scenario host serving the session.
func (x *External) Host() string { return x.host.Name() }

// Feed hands the session bytes that arrived from the client. When they
// complete a message, the message is in a mailbox or a queue of the world
// before Feed returns, so before the driver writes the 250 that says so;
// the world then runs until it is quiet, so that relayed mail moves on.
func (x *External) Feed(p []byte) {
	x.w.mail.HoldEvents() // what the message causes comes after its reply
	x.sess.Feed(p)
	x.flush()
	x.w.mail.EmitHeld()
}

// Output returns the bytes to write to the client after the last call. It
// is reused by the next call.
func (x *External) Output() []byte { return x.sess.Output() }

// Closed reports whether the session has ended: the driver writes Output
// and closes the connection.
func (x *External) Closed() bool { return x.sess.Closed() }

// TLSRequested reports whether the server has said 220 to STARTTLS: the
// driver writes Output, runs the handshake as the server and calls
// TLSStarted (or Disconnected when it fails).
func (x *External) TLSRequested() bool { return x.tlsWanted }

// TLSStarted tells the session the STARTTLS handshake succeeded, with its
// facts for the trace. The client must now say EHLO again.
func (x *External) TLSStarted(cs tls.ConnectionState) {
	x.traceTLS(cs)
	x.tlsWanted = false
	x.sess.TLSStarted()
	x.flush()
}

// InMessage reports whether message text is being read (after DATA's 354
// or inside a BDAT chunk), when a driver may give a slow client a budget
// for the whole message rather than for one line.
func (x *External) InMessage() bool { return x.inMessage }

// Accepted returns how many messages the session has accepted.
func (x *External) Accepted() int { return x.accepted }

// Deadline returns how long to wait for the client's next bytes before
// calling Timeout (RFC 5321 §4.5.3.2), 0 once the session is closed.
func (x *External) Deadline() time.Duration { return x.sess.Deadline() }

// Timeout tells the session its Deadline passed: it answers 421 4.4.2 and
// closes.
func (x *External) Timeout() {
	x.sess.Timeout()
	x.flush()
}

// Shutdown closes the session with 421 4.3.2, for a server going down.
func (x *External) Shutdown() {
	x.sess.Shutdown()
	x.flush()
}

// Disconnected records that the connection is gone, why ("client closed
// the connection", "TLS handshake failed: ..."). Once the session has
// closed, it only records the connection's end, once.
func (x *External) Disconnected(why string) {
	if x.ended {
		return
	}
	x.ended = true
	if !x.sess.Closed() && x.inMessage {
		why += "; the message being sent was not accepted, so nothing of it was kept"
	}
	x.w.net.Emit(trace.Event{Kind: trace.ConnClose, Conn: x.conn, Host: x.client, Peer: x.host.Name(), Text: why})
}

// flush records the last call's events in the trace and follows the
// session's phase.
func (x *External) flush() {
	events := x.sess.Events()
	if x.w.mail.TraceServerEvents(events, x.conn, x.client, x.host.Name(), x.sess.Conn().TLS) {
		x.tlsWanted = true
	}
	settle := false
	for i := range events {
		switch e := &events[i]; e.Kind { // not copied: an Event is large, and a message makes ten
		case server.EventCommand:
			if e.Verb == "BDAT" {
				x.inMessage = true
			}
		case server.EventReply:
			x.inMessage = e.Reply.Code == 354
		case server.EventMessage:
			x.accepted++
			settle = true
		}
	}
	if settle {
		x.w.net.Settle()
	}
	if x.sess.Closed() && !x.ended {
		x.ended = true
		x.w.net.Emit(trace.Event{Kind: trace.ConnClose, Conn: x.conn, Host: x.client, Peer: x.host.Name(), Text: mta.CloseReason(events, x.host.Name())})
	}
}

// traceTLS records a finished handshake.
func (x *External) traceTLS(cs tls.ConnectionState) {
	attrs := map[string]string{
		"version": tls.VersionName(cs.Version),
		"cipher":  tls.CipherSuiteName(cs.CipherSuite),
	}
	if cs.ServerName != "" {
		attrs["sni"] = cs.ServerName
	}
	x.w.net.Emit(trace.Event{Kind: trace.TLSStep, Conn: x.conn, Host: x.host.Name(), Peer: x.client, Step: "finished",
		Text: fmt.Sprintf("TLS handshake with a real client finished: %s, %s", attrs["version"], attrs["cipher"]), Attrs: attrs})
}

// RefuseExternal records that a connection from outside was turned away
// before any session started (a connection limit, say), with the reply it
// got.
func (w *World) RefuseExternal(c ExternalConn, reply string) {
	client := c.Remote
	if ap, err := netip.ParseAddrPort(c.Remote); err == nil {
		client = addressLiteral(ap.Addr())
	}
	w.net.Emit(trace.Event{Kind: trace.ConnRefused, Host: client, Peer: c.Host, Port: c.Port,
		Text: fmt.Sprintf("refused %s: %s", c.Remote, reply)})
}
