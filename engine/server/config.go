package server

import (
	"net/netip"
	"strconv"
	"time"

	"smtplab/engine/smtp"
)

// Role says which rules a listening port follows (RFC 8314 §3, RFC 6409).
type Role uint8

const (
	// RoleMX is a mail exchanger on port 25: anyone may hand it mail for the
	// domains it serves. STARTTLS is offered when the driver can do TLS;
	// AUTH is not offered.
	RoleMX Role = iota
	// RoleSubmission is a message submission agent on port 587: a client
	// must run STARTTLS and then AUTH before MAIL. AUTH is offered only once
	// TLS is on, so passwords never cross the wire in the clear.
	RoleSubmission
	// RoleSubmissions is submission over implicit TLS on port 465: the same
	// rules as RoleSubmission, and the driver starts the session with TLS on.
	RoleSubmissions
)

func (r Role) String() string {
	switch r {
	case RoleMX:
		return "mx"
	case RoleSubmission:
		return "submission"
	case RoleSubmissions:
		return "submissions"
	}
	return "role(" + strconv.Itoa(int(r)) + ")"
}

// requiresAuth reports whether MAIL needs TLS and AUTH first.
func (r Role) requiresAuth() bool { return r == RoleSubmission || r == RoleSubmissions }

// Timeouts are how long the server waits for the client (RFC 5321
// §4.5.3.2). The other timeouts of that section — 5 minutes for the 220
// greeting, MAIL and RCPT replies, 2 for the 354, 10 for the reply after the
// final dot — are the client's waits for the server, not the server's.
type Timeouts struct {
	// Command is the server timeout of §4.5.3.2.7: how long to wait for
	// the next command (or AUTH response). At least 5 minutes.
	Command time.Duration
	// DataBlock is §4.5.3.2.5: how long to wait for more message text
	// after DATA's 354 or inside a BDAT chunk. 3 minutes.
	DataBlock time.Duration
}

// DefaultTimeouts returns the values RFC 5321 §4.5.3.2 recommends.
func DefaultTimeouts() Timeouts {
	return Timeouts{Command: 5 * time.Minute, DataBlock: 3 * time.Minute}
}

// Config is what every session of one listening server shares.
type Config struct {
	// Hostname names the server in its greeting and EHLO reply.
	Hostname string
	// Role sets what a client must do before MAIL.
	Role Role
	// Limits are the sizes the server enforces; zero fields take the
	// values of smtp.DefaultLimits.
	Limits smtp.Limits
	// Timeouts are the deadlines Session.Deadline gives the driver; zero
	// fields take the values of DefaultTimeouts.
	Timeouts Timeouts
	// Policy answers the questions only the operator can. Nil means
	// DefaultPolicy: accept every sender, recipient and message, and
	// authenticate nobody.
	Policy Policy
	// Software is the product name after "ESMTP" in the greeting.
	Software string
	// NoDSN hides the DSN extension (RFC 3461), as Postfix's
	// smtpd_discard_ehlo_keywords = dsn does, to play an MTA that predates
	// it: the EHLO reply leaves DSN out, and NOTIFY, ORCPT, RET and ENVID
	// are refused as parameters it does not know.
	NoDSN bool
}

// SessionOptions are what the driver knows about one connection.
type SessionOptions struct {
	// Remote is the client's address as the driver sees it, for the
	// Policy (e.g. "192.0.2.7:53124"). A driver that gives Addr may leave
	// it empty, as the simulated world does: writing it for every
	// connection cost an allocation that no policy of its read.
	Remote string
	// Addr is the client's IP address, when the driver has it parsed
	// already (a simulated connection has), so that a Policy need not
	// parse it back out of Remote at every command. The zero Addr means
	// the driver left it to Remote.
	Addr netip.Addr
	// TLS is true when the connection is already encrypted: implicit TLS
	// on port 465.
	TLS bool
	// TLSAvailable is true when the driver can run a TLS handshake if the
	// client asks with STARTTLS (it has a certificate). Without it the
	// server does not offer STARTTLS.
	TLSAvailable bool
	// Nonce makes the CRAM-MD5 challenge "<nonce@hostname>" (RFC 2195).
	// It must differ for every session; a simulated world derives it from
	// its seed, a real driver from crypto/rand. Without a nonce the server
	// does not offer CRAM-MD5: a fixed challenge would let anyone replay an
	// answer they once saw.
	Nonce string
}

// Server holds a Config and the replies derived from it, computed once so
// that sessions only copy bytes. It is never modified after New, so one
// Server may start sessions from many goroutines.
type Server struct {
	cfg    Config
	policy Policy

	greeting      prepared
	helo          prepared
	ehlo          [8]prepared   // indexed by Session.offers
	help          [4]smtp.Reply // indexed by Session.offers, without ehloCRAM
	timeout       smtp.Reply
	tooManyErrors smtp.Reply
	shutdown      smtp.Reply
	fixed         []preparedFixed // see send
	queuedAs      queuedAsPrefix  // see sendQueuedAs
}

// queuedAsPrefix is the reply to an accepted message with a queue id
// (sendQueuedAs) as far as the id, as send would write it, and how long an
// id may be for the line to fit the reply line limit unchanged
// (smtp.Reply.WireSafe).
type queuedAsPrefix struct {
	wire []byte
	room int
}

func prepareQueuedAs(maxLine int) queuedAsPrefix {
	r := replyQueued
	r.Lines = []string{queuedAsText}
	wire := r.AppendTo(nil, true)
	return queuedAsPrefix{
		wire: wire[:len(wire)-2], // without the CRLF, which follows the id
		room: maxLine - len("ddd ") - len(r.Enhanced) - len(" ") - len(queuedAsText) - len("\r\n"),
	}
}

// prepared is a reply New makes for every session, held to the wire's
// rules (smtp.Reply.WireSafe) and written out once: a session appends the
// octets of the greeting and of the EHLO reply, the most it sends, rather
// than check and write them again. None of them has an enhanced status
// code (RFC 2034 §3 (4): not the greeting, nor the replies to HELO and
// EHLO).
type prepared struct {
	smtp.Reply
	wire []byte
}

func prepare(r smtp.Reply, maxLine int) prepared {
	r = r.WireSafe(maxLine)
	return prepared{Reply: r, wire: r.AppendTo(nil, false)}
}

// preparedFixed is one of the fixed replies a session sends the most
// (replies.go: to MAIL, RCPT, QUIT, ...) prepared as send writes it, with
// its enhanced status code.
type preparedFixed struct {
	reply smtp.Reply // the fixed reply, as send recognises it (see is)
	prepared
}

func prepareFixed(r smtp.Reply, maxLine int) preparedFixed {
	safe := r.WireSafe(maxLine)
	return preparedFixed{reply: r, prepared: prepared{Reply: safe, wire: safe.AppendTo(nil, true)}}
}

// is reports whether r is the fixed reply p was prepared from. The fixed
// replies are never modified, so a reply whose lines are theirs, the same
// array, has their text: it is not read again.
func (p *preparedFixed) is(r smtp.Reply) bool {
	return len(r.Lines) == 1 && len(p.reply.Lines) == 1 && &r.Lines[0] == &p.reply.Lines[0] &&
		r.Code == p.reply.Code && r.Enhanced == p.reply.Enhanced && r.Reason == p.reply.Reason
}

// authLineMax is the longest AUTH command or response line the server
// accepts: RFC 4954 §4 asks servers to take 12288 octets, far more than the
// 512 of other commands, because an initial response carries base64.
const authLineMax = 12288

// New returns a server for cfg.
func New(cfg Config) *Server {
	def := smtp.DefaultLimits()
	l := &cfg.Limits
	for _, f := range []struct {
		v *int
		d int
	}{
		{&l.CommandLine, def.CommandLine}, {&l.TextLine, def.TextLine}, {&l.ReplyLine, def.ReplyLine},
		{&l.LocalPart, def.LocalPart}, {&l.Domain, def.Domain}, {&l.Path, def.Path},
		{&l.Recipients, def.Recipients}, {&l.MaxErrors, def.MaxErrors}, {&l.MaxJunk, def.MaxJunk},
	} {
		if *f.v <= 0 {
			*f.v = f.d
		}
	}
	if l.MessageSize <= 0 {
		l.MessageSize = def.MessageSize
	}
	if cfg.Timeouts.Command <= 0 {
		cfg.Timeouts.Command = DefaultTimeouts().Command
	}
	if cfg.Timeouts.DataBlock <= 0 {
		cfg.Timeouts.DataBlock = DefaultTimeouts().DataBlock
	}
	if cfg.Hostname == "" {
		cfg.Hostname = "localhost"
	}
	if cfg.Software == "" {
		cfg.Software = "SMTP Lab"
	}
	s := &Server{cfg: cfg, policy: cfg.Policy}
	if s.policy == nil {
		s.policy = DefaultPolicy{}
	}
	h := cfg.Hostname
	s.greeting = prepare(smtp.Reply{Code: 220, Lines: []string{h + " ESMTP " + cfg.Software}, Reason: smtp.ReasonGreeting}, l.ReplyLine)
	s.helo = prepare(smtp.Reply{Code: 250, Lines: []string{h}, Reason: smtp.ReasonHello}, l.ReplyLine)
	s.timeout = smtp.Reply{Code: 421, Enhanced: "4.4.2", Lines: []string{h + " Error: timeout exceeded"}, Reason: smtp.ReasonTimeout}
	s.tooManyErrors = smtp.Reply{Code: 421, Enhanced: "4.7.0", Lines: []string{h + " Error: too many errors"}, Reason: smtp.ReasonTooManyErrors}
	s.shutdown = smtp.Reply{Code: 421, Enhanced: "4.3.2", Lines: []string{h + " Service shutting down"}, Reason: smtp.ReasonShutdown}
	for i := range s.ehlo {
		s.ehlo[i] = prepare(s.ehloReply(i&ehloStartTLS != 0, i&ehloAuth != 0, i&ehloCRAM != 0), l.ReplyLine)
	}
	// In the order of a transaction, as send looks them up in turn.
	for _, r := range []smtp.Reply{replySenderOK, replyRcptOK, replyStartData, replyClosing, replyOK, replyReset} {
		s.fixed = append(s.fixed, prepareFixed(r, l.ReplyLine))
	}
	s.queuedAs = prepareQueuedAs(l.ReplyLine)
	for i := range s.help {
		s.help[i] = helpReply(i&ehloStartTLS != 0, i&ehloAuth != 0)
	}
	return s
}

// Config returns the configuration with its defaults filled in.
func (s *Server) Config() Config { return s.cfg }

// The bits of an index into Server.ehlo and Server.help.
const (
	ehloStartTLS = 1 << iota
	ehloAuth
	ehloCRAM
)

// ehloReply builds the EHLO reply: the hostname, then one extension per
// line (RFC 5321 §4.1.1.1).
func (s *Server) ehloReply(startTLS, auth, cram bool) smtp.Reply {
	lines := []string{
		s.cfg.Hostname,
		"PIPELINING",
		"SIZE " + strconv.FormatInt(s.cfg.Limits.MessageSize, 10),
		"8BITMIME",
		"ENHANCEDSTATUSCODES",
		"SMTPUTF8",
		"CHUNKING",
	}
	if !s.cfg.NoDSN {
		lines = append(lines, "DSN")
	}
	if startTLS {
		lines = append(lines, "STARTTLS")
	}
	if auth {
		if cram {
			lines = append(lines, "AUTH PLAIN LOGIN CRAM-MD5")
		} else {
			lines = append(lines, "AUTH PLAIN LOGIN")
		}
	}
	return smtp.Reply{Code: 250, Lines: lines, Reason: smtp.ReasonHello}
}
