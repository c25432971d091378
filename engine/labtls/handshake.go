package labtls

import (
	"crypto/tls"
	"errors"
	"fmt"
)

// Handshake steps, as trace events name them (trace.Event.Step).
const (
	StepClientHello = "client-hello"
	StepServerHello = "server-hello"
	StepCertificate = "certificate"
	StepVerify      = "verify"
	StepFinished    = "finished"
	StepFailed      = "failed"
)

// Result is a handshake as it happened: the flights to replay on the
// simulated wire, the facts for the trace and, when it succeeded, a Codec
// for each side.
type Result struct {
	// Flights are the handshake's bytes in the order they were sent.
	Flights []Flight
	// After are the steps to trace once the last flight has arrived:
	// StepFinished or StepFailed, after any step no flight carried.
	After  []string
	Facts  Facts
	Client *Codec // nil when the handshake failed
	Server *Codec // nil when the handshake failed

	failed *HandshakeError // what Handshake returned, for the failed step
}

// Handshake runs a real crypto/tls handshake between client and server in
// memory and returns what went over the wire and, on success, a Codec for
// each side. On failure the Result still holds the flights (the hello, the
// alert) and the facts, and the error is a *HandshakeError.
//
// The two sides run on two goroutines that take turns (see wire), and both
// have returned before Handshake does: after it, nothing runs in the
// background. With the same inputs and seeded Rands the flights come out
// the same every time (byte for byte only with GODEBUG cryptocustomrand=1;
// see the package doc).
func Handshake(client *Client, server *Server) (*Result, error) {
	if client.Now == nil || server.Now == nil {
		return nil, errors.New("labtls: handshake: Client.Now and Server.Now must be the virtual clock")
	}
	var (
		facts Facts
		hello *tls.ClientHelloInfo
	)
	ccfg := client.config(func(v Verification, cs tls.ConnectionState) {
		facts.Verify, facts.Verified = v, true
		facts.stateFacts(cs)
		if len(cs.PeerCertificates) > 0 {
			facts.certFacts(cs.PeerCertificates[0])
		}
	})
	scfg := server.TLSConfig()
	scfg.GetConfigForClient = func(h *tls.ClientHelloInfo) (*tls.Config, error) {
		hello = h
		return nil, nil // nil: go on with scfg
	}

	w := newWire()
	cmem := &memConn{wire: w, side: SideClient}
	smem := &memConn{wire: w, side: SideServer}
	cconn, sconn := tls.Client(cmem, ccfg), tls.Server(smem, scfg)
	serverDone := make(chan error, 1)
	go func() {
		err := sconn.Handshake()
		w.finish(SideServer)
		serverDone <- err
	}()
	cerr := cconn.Handshake()
	w.finish(SideClient)
	serr := <-serverDone

	// Both goroutines are over: from here on the conns never block.
	cmem.wire, cmem.in = nil, w.inbox[SideClient]
	smem.wire, smem.in = nil, w.inbox[SideServer]

	facts.Enforced = client.Verify
	facts.DANE = len(client.TLSA) > 0
	if hello != nil {
		facts.SNI = hello.ServerName
		for _, v := range hello.SupportedVersions {
			facts.Offered = append(facts.Offered, tls.VersionName(v))
		}
	}
	if serverHelloSent(w.flights) {
		// The server's hello went out, and its certificate with it (no
		// other message can come between them in the lab's handshakes),
		// even if the client never looked at it.
		facts.stateFacts(sconn.ConnectionState())
		if facts.Subject == "" {
			facts.certFacts(server.Certificate.Leaf)
		}
	}
	facts.Complete = cerr == nil && serr == nil

	r := &Result{Flights: w.flights, Facts: facts}
	r.assignSteps()
	if !facts.Complete {
		r.failed = newHandshakeError(cerr, serr)
		r.failed.Reason = r.reason(r.failed, client.ServerName)
		return r, r.failed
	}
	r.Client, r.Server = newCodec(cconn, cmem), newCodec(sconn, smem)
	return r, nil
}

// serverHelloSent reports whether the server's first flight starts with a
// ServerHello: a handshake record (type 22) whose first message has type 2.
// Both TLS 1.2 and 1.3 send it in clear. A server that fails before it
// sends an alert instead.
func serverHelloSent(flights []Flight) bool {
	for _, f := range flights {
		if f.From == SideServer {
			return len(f.Bytes) > 5 && f.Bytes[0] == 22 && f.Bytes[5] == 2
		}
	}
	return false
}

// assignSteps says which flight each handshake step leaves with: the
// client hello with the first flight, the server hello and certificate
// with the server's first, the client's verdict with its next one, and the
// outcome once everything has arrived.
func (r *Result) assignSteps() {
	f := &r.Facts
	steps := []struct {
		name string
		from Side
		ok   bool
	}{
		{StepClientHello, SideClient, true},
		{StepServerHello, SideServer, f.Version != ""},
		{StepCertificate, SideServer, f.Subject != ""},
		{StepVerify, SideClient, f.Verified},
	}
	next := 0 // flights before next have been passed
	for _, s := range steps {
		if !s.ok {
			continue
		}
		for next < len(r.Flights) && r.Flights[next].From != s.from {
			next++
		}
		if next == len(r.Flights) {
			r.After = append(r.After, s.name)
			continue
		}
		r.Flights[next].Steps = append(r.Flights[next].Steps, s.name)
	}
	if f.Complete {
		r.After = append(r.After, StepFinished)
	} else {
		r.After = append(r.After, StepFailed)
	}
}

// Steps returns every step of the handshake in order: those the flights
// carry, then those in After.
func (r *Result) Steps() []string {
	var steps []string
	for _, f := range r.Flights {
		steps = append(steps, f.Steps...)
	}
	return append(steps, r.After...)
}

// String summarises the handshake in one line, for logs and tests.
func (r *Result) String() string {
	return fmt.Sprintf("%d flights, steps %v, %s %s", len(r.Flights), r.Steps(), r.Facts.Version, r.Facts.Cipher)
}
