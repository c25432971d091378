package mta

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"smtplab/engine/dkim"
	"smtplab/engine/dns"
	"smtplab/engine/server"
	"smtplab/engine/simnet"
	"smtplab/engine/smtp"
	"smtplab/engine/trace"
)

// Handshaker runs the TLS handshake of one simulated connection and, when
// it succeeds, upgrades both ends (simnet.Conn.Upgrade). serverHost is the
// name the client expects in the certificate; check says how the client
// checks the certificate and whether a failed check ends the handshake. It
// records the handshake's steps in the trace itself. verified reports
// whether the certificate checked out; err is set when no TLS session came
// up.
type Handshaker interface {
	Handshake(client, server *simnet.Conn, serverHost string, check CertCheck) (verified bool, err error)
	// CanServe reports whether host has a certificate to offer.
	CanServe(host string) bool
}

// CertCheck is how a client checks the certificate a server presents. The
// zero CertCheck checks it against the lab CA and carries on whatever the
// result, as opportunistic TLS does.
type CertCheck struct {
	// Verify makes a certificate that fails the check end the handshake.
	Verify bool
	// TLSA, when set, are the DANE records (RFC 7672 §3) to check the
	// certificate against instead of the CA: what the server's domain
	// published, DNSSEC-signed, at _25._tcp.<host>.
	TLSA []dns.Record
}

// Host is one mail server (or plain client machine) of the world.
type Host struct {
	net *Network
	cfg HostConfig
	sim *simnet.Host

	Mailboxes Mailboxes
	queue     messageQueue
	retry     RetrySchedule
	greylist  *Greylist
	rate      *RateLimit // messages per client
	connRate  *RateLimit // connections per client
	busy      bool       // every connection gets 421 (SetBusy)
	idPrefix  string
	lastID    []byte // the last queue id given, its prefix and number (see newID)
	// lastMailbox is the last address mailbox was asked about, and its
	// answer.
	lastMailbox struct{ addr, mailbox string }
	sessions    int // SMTP sessions accepted, for CRAM-MD5 nonces
	servers     map[int]*server.Server
	idle        []*inbound             // the server ends of closed connections, for reuse
	signers     map[string]dkim.Signer // DKIM signers by lower-case domain (see DKIMSelector)
	// relayhost is the one hop of every delivery when the host has a
	// Relayhost, nil otherwise: made once, as deliveries only read it.
	relayhost []hop
	relayFrom relayNets // RelayFrom, parsed
	lastHops  []hop     // the hops of the last route from DNS (see hopsOf)
	// dns is how the host asks the resolver, its events traced at their
	// time: made once, as the method value in it is an allocation.
	dns dns.Caller
	// rcpts is where policy.Data lists the recipients of the message it
	// takes, reused from one message to the next, as accept copies what
	// it keeps of them. It holds as many as the most a message had.
	rcpts []recipient
	// outside is the last client from outside the world (see peerOf),
	// noted the last client of a simulated connection (see notePeerOf).
	outside, noted keptPeer
	// outsideIdle are the sessions of connections from outside the world
	// that ended, for reuse (see ReleaseExternal).
	outsideIdle []*server.Session
	// lastGreylisted is the last line of greylisting's reply and what it
	// was written for (see greylistedLine).
	lastGreylisted struct {
		addr, line string
		wait       time.Duration
	}
}

// Name returns the host's name.
func (h *Host) Name() string { return h.cfg.Name }

// Config returns the host's configuration.
func (h *Host) Config() HostConfig { return h.cfg }

// Sim returns the host on the simulated network.
func (h *Host) Sim() *simnet.Host { return h.sim }

// newID returns the next queue id of this host: its prefix and the
// number in upper-case hexadecimal, at least five digits, as fmt's %05X
// writes it. Every message takes one or more, so the id is kept written
// out (lastID) and counted up in place, a digit or two, rather than
// written out again from the number.
func (h *Host) newID() string {
	if h.lastID == nil {
		h.lastID = append([]byte(h.idPrefix), "00000"...)
	}
	h.lastID = countUp(h.lastID, len(h.idPrefix))
	return string(h.lastID)
}

// countUp adds one to the upper-case hexadecimal number in id[from:],
// carrying from digit to digit, and returns id, one digit longer when the
// number needs it.
func countUp(id []byte, from int) []byte {
	for i := len(id) - 1; i >= from; i-- {
		switch id[i] {
		case 'F':
			id[i] = '0' // and carry one
		case '9':
			id[i] = 'A'
			return id
		default:
			id[i]++
			return id
		}
	}
	id = append(id, 0)
	copy(id[from+1:], id[from:])
	id[from] = '1'
	return id
}

// sessionNonce counts a new session of the host on port and returns its
// CRAM-MD5 nonce, "sessions.random". The random number is drawn for every
// session, so that the world's random sequence is the same whatever the
// ports, but written out only where a client may use it: an MX port never
// offers AUTH (server.RoleMX), and most sessions of a world are relays',
// so that most connections were making a text no one read.
func (h *Host) sessionNonce(port int) string {
	h.sessions++
	random := h.net.Net.Rand().Uint32()
	if roleOf(port) == server.RoleMX {
		return ""
	}
	return nonce(h.sessions, random)
}

// nonce is the CRAM-MD5 nonce of a session, "sessions.random", built
// without fmt as newID is.
func nonce(sessions int, random uint32) string {
	var b [32]byte
	n := strconv.AppendInt(b[:0], int64(sessions), 10)
	n = append(n, '.')
	return string(strconv.AppendUint(n, uint64(random), 10))
}

// roleOf maps a listening port to the rules it follows (RFC 8314, RFC 6409).
func roleOf(port int) server.Role {
	switch port {
	case 587:
		return server.RoleSubmission
	case 465:
		return server.RoleSubmissions
	}
	return server.RoleMX
}

// policy answers the server state machine's questions with this host's
// rules. One policy value per port, since the role decides some answers.
type policy struct {
	h    *Host
	port int
}

// SetBusy makes the host greet every new connection with 421 and close
// it, as a server at its limit of connections does, until SetBusy(false).
// Senders take it as a host that cannot be reached and try the next MX.
func (h *Host) SetBusy(busy bool) {
	if h.busy == busy {
		return
	}
	h.busy = busy
	text := "host busy: it greets every connection with 421"
	if !busy {
		text = "host no longer busy"
	}
	h.net.emit(&trace.Event{Kind: trace.Fault, Host: h.cfg.Name, Text: text})
}

func (p policy) Connect(c *server.ConnState) smtp.Reply {
	h := p.h
	if h.busy {
		return smtp.Reply{Code: 421, Reason: smtp.ReasonTooManyConns,
			Lines: []string{h.cfg.Name + " Error: too many connections, try again later"}}
	}
	if h.connRate != nil && !h.connRate.Allow(h.peerOf(c).ip, h.net.Net.Now()) {
		// A transient refusal at the greeting: the server closes the
		// connection (RFC 5321 §3.1, §4.2.2). A greeting has no enhanced
		// status code (RFC 2034 §3).
		return smtp.Reply{Code: 421, Reason: smtp.ReasonRateLimited,
			Lines: []string{fmt.Sprintf("%s Error: too many connections from %s, try again later", h.cfg.Name, h.peerOf(c).ip)}}
	}
	return smtp.Reply{}
}
func (p policy) Hello(*server.ConnState, string) smtp.Reply { return smtp.Reply{} }
func (p policy) Authenticate(c *server.ConnState, cred server.Credentials) smtp.Reply {
	want, ok := p.h.cfg.Passwords[cred.Username]
	if !ok || !cred.Check(want) {
		return smtp.Reply{}
	}
	// RFC 4616 §2: PLAIN's authorization identity names whom the client
	// wants to act as, and the server must fail the exchange unless the
	// user it authenticated may act so. Here a user may act only as
	// themselves: the identity is empty, or their own name in any case
	// (as the lab's mailboxes take it).
	if cred.Identity != "" && !strings.EqualFold(cred.Identity, cred.Username) {
		who := "that identity"
		if printable(cred.Identity) {
			who = cred.Identity
		}
		return smtp.Reply{Code: 535, Enhanced: "5.7.8", Reason: smtp.ReasonAuthzDenied,
			Lines: []string{fmt.Sprintf("Authentication failed: %s may not act as %s (the authorization identity, RFC 4616 section 2)", cred.Username, who)}}
	}
	return smtp.Reply{Code: 235, Enhanced: "2.7.0", Lines: []string{"Authentication successful"}, Reason: smtp.ReasonAuthOK}
}

// printable reports whether s, which a client sent, may go into a reply
// as it is: printable ASCII, no spaces, no longer than an address may be.
func printable(s string) bool {
	if len(s) > 254 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

func (p policy) Mail(c *server.ConnState, env *server.Envelope) smtp.Reply {
	h := p.h
	if h.rate != nil && !h.rate.Allow(h.peerOf(c).ip, h.net.Net.Now()) {
		return smtp.Reply{Code: 450, Enhanced: "4.7.1", Reason: smtp.ReasonRateLimited,
			Lines: []string{fmt.Sprintf("Error: too much mail from %s, slow down and try again later", h.peerOf(c).ip)}}
	}
	if h.cfg.CheckSPF && c.Role == server.RoleMX && c.AuthUser == "" {
		return h.checkSPF(c, env)
	}
	return smtp.Reply{}
}

func (p policy) Rcpt(c *server.ConnState, env *server.Envelope, rcpt server.Recipient) smtp.Reply {
	h := p.h
	if rcpt.Path.Postmaster && rcpt.Path.Mailbox.Domain == "" {
		return smtp.Reply{} // RFC 5321 §4.5.1: <Postmaster> is always accepted
	}
	domain := rcpt.Path.Mailbox.Domain
	switch {
	case h.cfg.Serves(domain):
		addr := h.net.texts.address(rcpt.Path.Mailbox)
		mailbox := h.mailbox(addr)
		if !h.cfg.hasMailbox(mailbox) {
			return smtp.Reply{Code: 550, Enhanced: "5.1.1", Reason: smtp.ReasonUnknownUser,
				Lines: []string{fmt.Sprintf("<%s>: Recipient address rejected: User unknown in local recipient table", addr)}}
		}
		if h.Mailboxes.Full(mailbox) {
			return smtp.Reply{Code: 452, Enhanced: "4.2.2", Reason: smtp.ReasonMailboxFullTemp,
				Lines: []string{fmt.Sprintf("<%s>: Mailbox full, try again later", addr)}}
		}
	case h.cfg.BacksUp(domain):
		// A backup MX takes mail for the domain and forwards it later.
	case c.AuthUser != "" || h.relayAllowed(c):
		return smtp.Reply{} // relaying for an authenticated user or a trusted network
	default:
		return smtp.Reply{Code: 554, Enhanced: "5.7.1", Reason: smtp.ReasonRelayDenied,
			Lines: []string{fmt.Sprintf("<%s>: Relay access denied", rcpt.Path.Mailbox.String())}}
	}
	if h.greylist == nil {
		return smtp.Reply{}
	}
	addr := h.net.texts.address(rcpt.Path.Mailbox)
	if !h.greylist.Check(h.peerOf(c).ip, h.net.texts.address(env.From.Mailbox), addr, h.net.Net.Now()) {
		return smtp.Reply{Code: 451, Enhanced: "4.7.1", Reason: smtp.ReasonGreylisted,
			Lines: []string{h.greylistedLine(addr)}}
	}
	return smtp.Reply{}
}

func (p policy) Data(c *server.ConnState, env *server.Envelope, msg []byte) (string, smtp.Reply) {
	h := p.h
	why := ""
	if h.cfg.ContentFilter {
		why = Scan(msg)
	}
	if why != "" {
		return "", smtp.Reply{Code: 554, Enhanced: "5.7.1", Reason: smtp.ReasonContentRejected,
			Lines: []string{"Message content rejected: " + why}}
	}
	tx := transactionOf(env)
	if h.cfg.CheckDMARC && tx != nil && tx.checked {
		if r := h.checkDMARC(c, tx, msg); r.Code != 0 {
			return "", r
		}
	}
	id := h.newID()
	kept := envelope{from: h.net.texts.address(env.From.Mailbox), ret: env.Ret, envid: env.EnvID}
	if tx != nil {
		kept.checks = tx.results
	}
	kept.rcpts = h.rcpts[:0]
	for _, r := range env.Rcpts {
		kept.rcpts = append(kept.rcpts, recipient{addr: h.net.texts.address(r.Path.Mailbox), notify: r.Notify, orcpt: r.ORcpt})
	}
	client := h.peerOf(c)
	rec := Received{
		FromHelo: c.Hello, FromHost: client.name, FromAddr: client.ip,
		By: h.cfg.Name, With: Protocol(c.ESMTP, c.TLS, c.AuthUser != "", env.UTF8), ID: id, At: h.net.Net.Date(),
	}
	if len(kept.rcpts) == 1 {
		rec.For = kept.rcpts[0].addr
	}
	// The fields this hop adds on top, besides Received: the checks'
	// verdicts, and the signature when this host signs the message.
	var above []string
	if tx != nil {
		above = append(above, tx.headers...)
	}
	if field := h.sign(c, msg); field != "" {
		above = append(above, field)
	}
	delivered, stored := rec.stamp(msg, above, kept.from, &h.net.dates)
	if r := h.checkRoom(env, kept, len(stored)); r.Code != 0 {
		return "", r
	}
	h.rcpts = kept.rcpts
	// The server took only text whose every CR and LF is part of a CRLF
	// (see server.Policy), and the Received: line is written so: the
	// message stays so unless a field above says otherwise.
	crlfOnly := true
	for _, f := range above {
		crlfOnly = crlfOnly && !strings.ContainsAny(f, "\r\n")
	}
	h.accept(id, kept, taken{data: stored, delivered: delivered, own: len(stored) - len(msg), crlfOnly: crlfOnly})
	return id, smtp.Reply{}
}

// checkRoom refuses a message that a local recipient's mailbox has no
// room for, by its byte quota: 552 5.2.2, exceeded storage allocation (RFC
// 5321 §4.2.2, RFC 3463 §3.3). Only now is the size known, and one reply
// after the data answers for every recipient, so the whole message is
// refused; the sender can send it again to the others.
//
// size is the message as this host would keep it, its own header fields on
// top; delivery adds Return-Path. kept is env as the host keeps it, its
// addresses already written out.
func (h *Host) checkRoom(env *server.Envelope, kept envelope, size int) smtp.Reply {
	if len(h.Mailboxes.bytes) == 0 {
		return smtp.Reply{} // no mailbox here has a byte quota, as most hosts: nothing to look up
	}
	need := size + len("Return-Path: <>\r\n") + len(kept.from)
	for i, r := range env.Rcpts {
		if !h.cfg.Serves(r.Path.Mailbox.Domain) {
			continue
		}
		addr := kept.rcpts[i].addr
		if room, limited := h.Mailboxes.Room(h.mailbox(addr)); limited && need > room {
			return smtp.Reply{Code: 552, Enhanced: "5.2.2", Reason: smtp.ReasonMailboxFull,
				Lines: []string{fmt.Sprintf("<%s>: Mailbox full: the message (%d octets) exceeds the %d left of its storage allocation", addr, need, room)}}
		}
	}
	return smtp.Reply{}
}

// greylistedLine returns the line of the reply that greylists addr. A
// greylisting host gives it to every new sender and recipient, mostly the
// same recipient over and over: the last line is kept.
func (h *Host) greylistedLine(addr string) string {
	wait := time.Duration(h.cfg.Greylist)
	if last := &h.lastGreylisted; addr == last.addr && wait == last.wait && last.line != "" {
		return last.line
	}
	line := "<" + addr + ">: Recipient address rejected: Greylisted, please try again in " + Words(wait)
	h.lastGreylisted.addr, h.lastGreylisted.line, h.lastGreylisted.wait = addr, line, wait
	return line
}

// mailbox returns h.cfg.Mailbox(addr). A message's recipient is asked
// about at RCPT, at its delivery and maybe for its room, each time the
// same text (see textTable.address): the last answer is kept.
func (h *Host) mailbox(addr string) string {
	if last := &h.lastMailbox; addr == last.addr && addr != "" {
		return last.mailbox
	}
	mailbox := h.cfg.Mailbox(addr)
	h.lastMailbox.addr, h.lastMailbox.mailbox = addr, mailbox
	return mailbox
}

// relayAllowed reports whether the client address is in RelayFrom.
func (h *Host) relayAllowed(c *server.ConnState) bool {
	ip, ok := clientAddr(c)
	return ok && h.relayFrom.allows(ip)
}

// clientAddr returns the client's address on c: the one the driver gave
// parsed (SessionOptions.Addr), as a simulated connection does, or else the
// one in Remote.
func clientAddr(c *server.ConnState) (netip.Addr, bool) {
	if c.Addr.IsValid() {
		return c.Addr, true
	}
	ip, err := netip.ParseAddr(clientIP(c.Remote))
	return ip, err == nil
}

// peer is a client's address as text and the name of its host, which the
// policies of a server end read at several commands of every session (the
// greylist, the Received: field). They are kept for each address a
// connection came from (peerOf), rather than parsed out of Remote and
// looked up again each time: an address belongs to one host for good.
type peer struct{ ip, name string }

// notePeer keeps the text of addr, the client's address on a new
// connection, and name, its host's, for peerOf, unless addr has its peer
// already, and returns the peer kept for addr.
func (n *Network) notePeer(addr netip.Addr, name string) peer {
	if p, ok := n.peers[addr]; ok {
		return p
	}
	if n.peers == nil {
		n.peers = map[netip.Addr]peer{}
	}
	p := peer{ip: addr.String(), name: name}
	n.peers[addr] = p
	return p
}

// notePeerOf is notePeer for a connection the host accepts. The peer of
// its last such connection is kept on the host (noted): a host mostly
// hears from the same client again and again (a relay from the mail
// client, a mail store from its MX), and its policies ask for the peer
// at several commands of every session, where the map costs a hash.
func (h *Host) notePeerOf(addr netip.Addr, name string) {
	if !addr.IsValid() || h.noted.addr == addr {
		return
	}
	h.noted = keptPeer{addr: addr, peer: h.net.notePeer(addr, name)}
}

// peerOf returns the client's address on c as text, and its host's name:
// kept by notePeer for a simulated connection; for one from outside the
// world (ExternalSession), from its address, kept for as long as clients
// from the same address ask (see outsidePeer).
func (h *Host) peerOf(c *server.ConnState) peer {
	if !c.Addr.IsValid() {
		ip := clientIP(c.Remote)
		return peer{ip: ip, name: h.net.nameOf(ip)}
	}
	if o := &h.outside; o.addr == c.Addr {
		return o.peer
	}
	if o := &h.noted; o.addr == c.Addr {
		return o.peer
	}
	if p, ok := h.net.peers[c.Addr]; ok {
		return p
	}
	ip := c.Addr.String() // as Remote writes it: see ExternalSession
	h.outside = keptPeer{addr: c.Addr, peer: peer{ip: ip, name: h.net.nameOf(ip)}}
	return h.outside.peer
}

// keptPeer is the peer of one client address, kept on a host (see
// notePeerOf and peerOf).
//
// For outside, it is the last client address from outside the world that
// a host's policies asked about. It is looked at before the peers noted,
// as an address has the same peer whoever notes it. Messages from outside
// ask about the same few addresses every time (at RCPT, at DATA), and
// reading Remote cost more than the rest of the Received: field. One is
// kept, not a map of them: clients from outside come from addresses
// without end, and the world must not grow with them.
type keptPeer struct {
	addr netip.Addr
	peer
}

// relayNets is HostConfig.RelayFrom parsed, once for the host rather than
// at every RCPT of every client: its prefixes and its single addresses.
// An entry that is neither is left out, as it matches no client.
type relayNets struct {
	prefixes []netip.Prefix
	addrs    []netip.Addr
}

// parseRelayNets parses RelayFrom.
func parseRelayNets(list []string) relayNets {
	var nets relayNets
	for _, r := range list {
		if pfx, err := netip.ParsePrefix(r); err == nil {
			nets.prefixes = append(nets.prefixes, pfx)
		}
		if a, err := netip.ParseAddr(r); err == nil {
			nets.addrs = append(nets.addrs, a)
		}
	}
	return nets
}

// allows reports whether ip is in one of the networks.
func (nets relayNets) allows(ip netip.Addr) bool {
	for _, pfx := range nets.prefixes {
		if pfx.Contains(ip) {
			return true
		}
	}
	return slices.Contains(nets.addrs, ip)
}

// clientIP strips the port from "addr:port". Remotes come from simnet or
// from Go's net package, both of which write addresses in canonical form,
// so the address is returned as written rather than formatted again.
func clientIP(remote string) string {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		return remote
	}
	if _, err := netip.ParseAddr(host); err != nil {
		return remote
	}
	return host
}

// nameOf returns the name of the host with address ip, as a reverse
// lookup would, or "unknown".
func (n *Network) nameOf(ip string) string {
	if h, ok := n.Net.Host(ip); ok {
		return h.Name()
	}
	return "unknown"
}

// clientName is nameOf the client's address on c, the server's end of a
// connection, without writing the address out to look it up: the client's
// address is one of its own host's, and addresses belong to one host.
func (n *Network) clientName(c *simnet.Conn) string {
	if h := c.Remote(); h != nil && c.RemoteAddr().Addr().IsValid() {
		return h.Name()
	}
	return n.nameOf(c.RemoteAddr().Addr().String())
}

// inbound is the server end of one SMTP connection: it feeds arriving bytes
// to the server state machine, writes its replies and traces what it says.
//
// Once its connection is over, an inbound and its session serve a later
// connection of the same host (see release): a busy world opens thousands.
// The connection it served before may still call it (a Closed the network
// had queued), so every call from a connection that is not its own is
// ignored.
type inbound struct {
	h    *Host
	conn *simnet.Conn
	sess *server.Session
	// timer is the session's timeout, made the first time it is armed
	// and reset after every batch of commands (simnet.Timer.Reset), for
	// this connection and the later ones it serves.
	timer   *simnet.Timer
	client  string // the client's host name, for the trace
	pending bool   // a STARTTLS (or implicit TLS) handshake is due
	open    bool   // Open was called for conn
	port    int
}

// listener returns the accept function of a listening port.
func (h *Host) listener(port int) func(c *simnet.Conn) simnet.Handler {
	srv := h.server(port)
	return func(c *simnet.Conn) simnet.Handler {
		client := h.net.clientName(c)
		addr := c.RemoteAddr()
		h.notePeerOf(addr.Addr(), client)
		opt := server.SessionOptions{
			Addr:         addr.Addr(),
			TLS:          port == 465,
			TLSAvailable: h.net.TLS != nil && h.net.TLS.CanServe(h.cfg.Name),
			Nonce:        h.sessionNonce(port),
		}
		if !opt.Addr.IsValid() {
			// The policies read the address parsed (peerOf), so Remote,
			// a text for every connection, is written only without it.
			opt.Remote = addr.String()
		}
		var in *inbound
		if n := len(h.idle); n > 0 {
			in, h.idle = h.idle[n-1], h.idle[:n-1]
			in.sess.Reset(srv, opt)
		} else {
			in = &inbound{h: h, sess: srv.NewSession(opt)}
		}
		in.conn, in.port, in.client, in.pending = c, port, client, false
		return in
	}
}

// server returns the server state machine configured with this host's
// rules for port, made once per port and shared by its sessions.
func (h *Host) server(port int) *server.Server {
	if srv, ok := h.servers[port]; ok {
		return srv
	}
	if h.servers == nil {
		h.servers = map[int]*server.Server{}
	}
	srv := server.New(server.Config{
		Hostname: h.cfg.Name,
		Role:     roleOf(port),
		Limits:   h.limits(),
		Policy:   policy{h: h, port: port},
		Software: "SMTP Lab",
		NoDSN:    h.cfg.NoDSN,
	})
	h.servers[port] = srv
	return srv
}

func (h *Host) limits() smtp.Limits {
	l := smtp.DefaultLimits()
	if h.cfg.MaxSize > 0 {
		l.MessageSize = h.cfg.MaxSize
	}
	if h.cfg.MaxRecipients > 0 {
		l.Recipients = h.cfg.MaxRecipients
	}
	return l
}

// Open sends the greeting the session prepared; on port 465 the greeting
// waits for the TLS handshake the client starts at once (RFC 8314 §3.3).
func (in *inbound) Open(c *simnet.Conn) {
	in.open = true
	if in.port == 465 {
		in.pending = true
		return
	}
	in.flush()
}

// Data feeds the bytes to the session.
func (in *inbound) Data(c *simnet.Conn, p []byte) {
	if c != in.conn {
		return
	}
	n := in.h.net
	n.HoldEvents()
	in.sess.Feed(p)
	in.flush()
	n.EmitHeld()
}

// Closed forgets the connection.
func (in *inbound) Closed(c *simnet.Conn, why string) {
	if c == in.conn {
		in.release()
	}
}

// release forgets the connection and keeps in, with its session's
// memory, for the next connection.
func (in *inbound) release() {
	if in.conn == nil {
		return
	}
	in.stopTimer()
	in.conn, in.open = nil, false
	if len(in.h.idle) < maxIdleSessions {
		in.h.idle = append(in.h.idle, in)
	}
}

// maxIdleSessions bounds the server ends a host keeps for reuse.
const maxIdleSessions = 16

// flush traces the session's events, writes its output and re-arms the
// timeout. A reply that will never reach the client (an armed
// CutBeforeReply or DropAfter fault cuts the connection first, or the
// client is gone or cut off) is traced as sent but lost: the server did
// what it says, the client never heard it.
func (in *inbound) flush() {
	n := in.h.net
	events := in.sess.Events()
	out := in.sess.Output()
	cut := ""
	if len(out) > 0 && len(n.cuts) > 0 && n.cutDue(in.h.cfg.Name, in.client, events) {
		// Whatever this host writes from now on is lost with the
		// connection (simnet traces the cut itself).
		n.Net.DropAfter(in.h.sim, in.conn.Remote(), in.conn.Sent())
		cut = fmt.Sprintf("the connection to %s breaks just as %s sends its reply: the reply never arrives", in.client, in.h.cfg.Name)
	}
	reach := -1 // all of out arrives
	if len(out) > 0 {
		if r := in.conn.Reaches(len(out)); r < len(out) {
			reach = r
		}
	}
	if n.traceServerEvents(events, in.conn.ID(), in.client, in.h.cfg.Name, in.sess.Conn().TLS, reach, cut) {
		in.pending = true
	}
	if len(out) > 0 {
		if len(n.strip) > 0 && n.strip[stripKey(in.client, in.h.cfg.Name)] && bytes.Contains(out, []byte("STARTTLS\r\n")) {
			out = bytes.ReplaceAll(out, []byte("STARTTLS\r\n"), []byte("XXXXXXXA\r\n"))
			// Not held back (see HoldEvents): it happens on the wire, before the bytes.
			n.Net.Emit(trace.Event{Kind: trace.Fault, Conn: in.conn.ID(), Host: in.client, Peer: in.h.cfg.Name,
				Text: "the man in the middle rewrote STARTTLS to XXXXXXXA in " + in.h.cfg.Name + "'s reply: " + in.client + " sees no offer of TLS"})
		}
		_ = in.conn.Write(out)
	}
	if in.sess.Closed() {
		in.stopTimer()
		in.conn.Close(CloseReason(events, in.h.cfg.Name))
		in.release()
		return
	}
	switch d := in.sess.Deadline(); {
	case d <= 0:
		in.stopTimer()
	case in.timer == nil:
		in.timer = n.Net.After(d, in.timedOut)
	default:
		in.timer.Reset(d) // moved, not taken out and queued again
	}
}

// timedOut tells the session its client has been silent too long.
func (in *inbound) timedOut() {
	in.sess.Timeout()
	in.flush()
}

// CloseReason is the text of the conn.close event of a session the server
// closed, from the events of its last call: "quit" when it answered QUIT,
// and otherwise who hung up and after which reply, "mx.example.org hung
// up after replying 421 4.4.2", so that a 421 timeout or greeting, or a
// 550 for a bare LF, is not mistaken for the client's QUIT.
func CloseReason(events []server.Event, serverName string) string {
	for _, e := range slices.Backward(events) {
		if e.Kind != server.EventClose {
			continue
		}
		if e.Verb == smtp.QUIT {
			return "quit"
		}
		code := strconv.Itoa(e.Reply.Code)
		if e.Reply.Enhanced != "" {
			code += " " + e.Reply.Enhanced
		}
		return fmt.Sprintf("%s hung up after replying %s", serverName, code)
	}
	return serverName + " hung up"
}

func (in *inbound) stopTimer() {
	if in.timer != nil {
		in.timer.Stop() // kept, to be reset
	}
}

// TraceServerEvents records what a server session did in the trace:
// commands as smtp.command events from client, replies as smtp.reply
// events from server. It reports whether the session asked for a TLS
// handshake. conn is the trace's connection number; tls says whether the
// connection was encrypted while the session made these events (a
// handshake comes between two calls, never inside one). These events are
// never held back (see HoldEvents): they are what the held ones follow.
func (n *Network) TraceServerEvents(events []server.Event, conn int, client, serverName string, tls bool) (startTLS bool) {
	return n.traceServerEvents(events, conn, client, serverName, tls, -1, "")
}

// traceServerEvents is TraceServerEvents for a session whose output only
// partly reaches the client: reach is how many of its bytes arrive (-1:
// all of them). Every reply that does not arrive whole is marked lost
// (trace.AttrLost), and cut, when set, is the fault event's text that goes
// before the first of them.
func (n *Network) traceServerEvents(events []server.Event, conn int, client, serverName string, tls bool, reach int, cut string) (startTLS bool) {
	holding := n.holding
	n.holding = false
	sent := 0 // bytes of output up to the end of this reply
	for i := range events {
		e := &events[i] // not copied: a session makes a few events per command
		switch e.Kind {
		case server.EventCommand, server.EventAuthResponse:
			verb := string(e.Verb)
			if e.Kind == server.EventAuthResponse {
				verb = "AUTH"
			}
			// Its text goes into the trace as the octets of the line,
			// not made a string first: these events are never held.
			n.Net.EmitText(&trace.Event{Kind: trace.Command, Conn: conn, Host: client, Peer: serverName, Verb: verb, TLS: tls}, e.Line)
		case server.EventReply:
			r := &e.Reply
			te := trace.Event{Kind: trace.Reply, Conn: conn, Host: serverName, Peer: client,
				Verb: string(e.Verb), Code: r.Code, Enhanced: r.Enhanced, Reason: string(r.Reason), TLS: tls, Text: n.texts.joined(r.Lines)}
			if reach >= 0 {
				// The session wrote the enhanced code exactly when the
				// event has one (see server's Session.send).
				sent += len(r.AppendTo(nil, r.Enhanced != ""))
				if sent > reach {
					if cut != "" {
						n.emit(&trace.Event{Kind: trace.Fault, Conn: conn, Host: serverName, Peer: client, Text: cut})
						cut = ""
					}
					te.Attrs = map[string]string{trace.AttrLost: "true"}
				}
			}
			n.Net.EmitEvent(&te) // as emit does: nothing is held here
		case server.EventPolicy:
			if te, ok := e.Policy.(trace.Event); ok { // see checkSPF
				te.Conn = conn
				n.emit(&te)
			}
		case server.EventStartTLS:
			startTLS = true
			if e.Discarded > 0 {
				n.emit(&trace.Event{Kind: trace.Note, Conn: conn, Host: serverName,
					Text: fmt.Sprintf("discarded %d bytes that were pipelined behind STARTTLS (CVE-2011-0411)", e.Discarded)})
			}
		}
	}
	n.holding = holding
	return startTLS
}

// ExternalSession starts a server session of this host for a connection
// that comes from outside the simulated world: the TCP bridge, which lets
// real clients talk to a scenario's server. Messages it accepts go into
// this host's mailboxes and queue like any other. The Network is not safe
// for concurrent use: the caller serialises every call into it.
//
// The session is given its client's address parsed (SessionOptions.Addr)
// when Remote writes it as netip does, as Go's net package does, so that
// the policies need not read Remote again and the address's text is the
// same from either (see peerOf).
func (h *Host) ExternalSession(port int, remote string, tlsAvailable bool) *server.Session {
	var addr netip.Addr
	if host, _, err := net.SplitHostPort(remote); err == nil {
		addr, _ = netip.ParseAddr(host) // none when host is not an address
	}
	return h.ExternalSessionAt(port, remote, addr, tlsAvailable)
}

// ExternalSessionAt is ExternalSession for a caller that parsed remote
// already, addr being its address, rather than have it parsed again for
// every connection.
func (h *Host) ExternalSessionAt(port int, remote string, addr netip.Addr, tlsAvailable bool) *server.Session {
	if addr.IsValid() && !writtenAs(addr, remote) {
		addr = netip.Addr{}
	}
	opt := server.SessionOptions{
		Remote:       remote,
		Addr:         addr,
		TLS:          port == 465,
		TLSAvailable: tlsAvailable,
		Nonce:        h.sessionNonce(port),
	}
	if n := len(h.outsideIdle); n > 0 {
		s := h.outsideIdle[n-1]
		h.outsideIdle = h.outsideIdle[:n-1]
		s.Reset(h.server(port), opt)
		return s
	}
	return h.server(port).NewSession(opt)
}

// writtenAs reports whether remote, "addr:port", writes addr as netip
// does (see peerOf): ExternalSession leaves an address written otherwise
// to be read from Remote.
func writtenAs(addr netip.Addr, remote string) bool {
	host, _, err := net.SplitHostPort(remote)
	var room [64]byte
	return err == nil && host == string(addr.AppendTo(room[:0])) // a comparison: no conversion is made
}

// ReleaseExternal hands back a session that ExternalSession made, once its
// connection is over and nothing the session returned is used any more: a
// later connection from outside reuses its memory, as the server ends of
// simulated connections do (most of what a new session costs is its
// buffers).
func (h *Host) ReleaseExternal(s *server.Session) {
	if len(h.outsideIdle) < maxIdleSessions {
		h.outsideIdle = append(h.outsideIdle, s)
	}
}

// serverEnd returns the server end of the open SMTP connection whose
// client's end is client. It is found through the connection rather than
// kept in a map by connection: adding every connection to one and taking
// it out again cost more than the rest of opening and closing it.
func serverEnd(client *simnet.Conn) (*inbound, bool) {
	srv := client.Peer()
	if srv == nil {
		return nil, false
	}
	// An inbound serves one connection after another: it is this one's
	// only while it holds it, and open.
	in, ok := srv.Handler().(*inbound)
	return in, ok && in.conn == srv && in.open
}

// StartTLS runs the handshake a client asked for with STARTTLS on conn
// (the client's end), once the server's 220 has reached it. check says how
// the client checks the certificate. It upgrades both ends and tells the
// server session.
func (n *Network) StartTLS(client *simnet.Conn, check CertCheck) (verified bool, err error) {
	in, ok := serverEnd(client)
	if !ok || !in.pending || n.TLS == nil {
		return false, fmt.Errorf("the server is not waiting for a TLS handshake")
	}
	in.pending = false
	verified, err = n.TLS.Handshake(client, in.conn, in.h.cfg.Name, check)
	if err != nil {
		in.conn.Close(simnet.ReasonTLS)
		in.release()
		return verified, err
	}
	if in.port != 465 {
		in.sess.TLSStarted()
	}
	// On port 465 the session began encrypted and its greeting has waited
	// for the handshake; TLSStarted would start a new call and drop it.
	in.flush()
	return verified, nil
}
