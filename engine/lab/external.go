package lab

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"smtplab/engine/mta"
	"smtplab/engine/server"
	"smtplab/engine/trace"
)

// ExternalConnBase numbers the connections that come from outside the
// world: the first is ExternalConnBase+1. Simulated connections count up
// from 1, so the two never share a number in one trace.
const ExternalConnBase = 1 << 20

// External is one SMTP session whose client is outside the simulated world:
// a real program on a real TCP connection, handed over by the TCP bridge.
// The server side is the scenario host's own server state machine, so what
// the client is told, and where its mail goes, is exactly what a simulated
// client would see. Everything it does is recorded in the world's trace.
//
// External is a thin, sans-IO wrapper: the driver reads bytes from its
// socket and passes them to Feed, writes Output to the socket, waits at
// most Deadline for more input (then calls Timeout), runs the TLS handshake
// when TLSRequested says so (then calls TLSStarted), and closes the socket
// once Closed is true.
//
// Like the World, an External is not safe for concurrent use, and all the
// Externals of one World share its state: the driver must serialise every
// call into the World and its Externals (one mutex is enough). The slice
// Output returns belongs to this session alone, so it may be written to the
// socket after that mutex is released, before the next call.
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
	inMessage bool // message text (DATA or a BDAT chunk) is being read
	accepted  int  // messages accepted so far
	ended     bool // conn.close has been traced
}

// ServeExternal starts a server session of host on port for a client at
// remote ("203.0.113.9:41234"). An empty host picks the server a client on
// that port would reach: the learner's server when it listens there, else
// the first host of the scenario that does. tlsAvailable says whether the
// driver can run a TLS handshake (it has a certificate, see ExternalTLS);
// without it STARTTLS is not offered, and port 465 cannot be served.
//
// On port 465 the session starts inside TLS: the driver runs the handshake
// before writing the greeting.
func (w *World) ServeExternal(host string, port int, remote string, tlsAvailable bool) (*External, error) {
	h, err := w.externalHost(host, port)
	if err != nil {
		return nil, err
	}
	if port == 465 && !tlsAvailable {
		return nil, fmt.Errorf("%s: port 465 is implicit TLS, and there is no certificate to serve it with", h.Name())
	}
	ap, err := netip.ParseAddrPort(remote)
	if err != nil {
		return nil, fmt.Errorf("external client address %q: %w", remote, err)
	}
	w.externals++
	x := &External{
		w: w, host: h, port: port,
		conn:   ExternalConnBase + w.externals,
		client: "[" + ap.Addr().Unmap().String() + "]",
		sess:   h.ExternalSession(port, remote, tlsAvailable),
	}
	w.net.Emit(trace.Event{Kind: trace.ConnOpen, Conn: x.conn, Host: x.client, Peer: h.Name(), Port: port,
		Text: fmt.Sprintf("%s:%d from %s over real TCP", h.Name(), port, remote)})
	if port == 465 {
		x.sess.Shutdown // keep the greeting's events for after the handshake
		x.tlsWanted = true
	}
	x.flush()
	return x, nil
}
