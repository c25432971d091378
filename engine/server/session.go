package server

import (
	"strings"
	"time"

	"smtplab/engine/smtp"
)

// phase is what the session expects next from the client.
type phase uint8

const (
	phaseCommand phase = iota // a command line
	phaseData                 // message text after DATA's 354, until CRLF.CRLF
	phaseChunk                // the octets of a BDAT chunk
	phaseAuth                 // a response to a 334 AUTH challenge
	phaseTLS                  // nothing: 220 to STARTTLS was sent, the driver runs the handshake
	phaseClosed               // nothing ever again
)

// Session is the server side of one SMTP connection. Feed it the bytes
// that arrive; after every call, write Output to the client and look at
// Events. A Session is not safe for concurrent use.
type Session struct {
	srv   *Server
	opt   SessionOptions
	conn  ConnState
	lr    smtp.LineReader
	phase phase

	out    []byte
	events []Event
	buf    *sessionBuffers // kept by Reset
	verb   smtp.Verb       // the command being answered
	errors int             // bad commands so far (Limits.MaxErrors)
	junk   int             // commands that moved no mail since the last message (Limits.MaxJunk)
	recent recentArgs

	// refused is set after a 554 greeting: only QUIT is answered normally.
	refused bool

	// The mail transaction (RFC 5321 §3.3).
	inMail      bool
	env         Envelope
	rcptRefused bool // a RCPT was refused: DATA gets "no valid recipients"
	useBDAT     bool // the message is being sent with BDAT, not DATA
	body        []byte
	size        int64 // octets of message text received, kept or not
	// What is wrong with the message, found while reading it; the reply
	// comes after its end so that the stream stays in sync.
	tooBig bool
	text   textCheck
	// lent is set when an EventMessage of the current call refers to body
	// and env.Rcpts: the next transaction of the same call must not reuse
	// them. Reuse across calls is fine, since events only live until the
	// next call.
	lent bool

	// The BDAT chunk being read (RFC 3030).
	chunkLeft   int64
	chunkLast   bool
	chunkReject smtp.Reply // a refused BDAT: its octets are read and dropped, then this is sent
	// chunksDiscarded: a BDAT chunk failed the transaction (RFC 3030 §2),
	// and the BDATs that follow at once are the rest of that message.
	chunksDiscarded bool

	// The AUTH exchange (RFC 4954).
	authMech  string
	authUser  string // LOGIN: the user name, while waiting for the password
	challenge string // CRAM-MD5: the challenge sent
}

// sessionBuffers are fixed backing arrays for a Session's out, events and
// env.Rcpts, the queued reply's line, the parameters of the MAIL or RCPT
// being read (which only live while it is) and the message its
// EventMessage shows, so that a typical session allocates little beyond
// the Session itself. They sit behind a pointer so that Reset, which
// clears the Session, leaves them be: clearing memory that holds pointers
// costs a write barrier for each while the garbage collector is marking,
// and these arrays are most of a Session. What they still refer to is
// overwritten by the next session.
type sessionBuffers struct {
	out        [512]byte
	events     [6]Event
	rcpts      [4]Recipient
	queuedLine [1]string
	message    Message
	// The last arguments of MAIL and RCPT parsed, kept for the next
	// transaction and the next session.
	mailArg, rcptArg parsedArg
	// The last HELO or EHLO name found valid, and the limits it was
	// checked under (see checkHello).
	hello struct {
		name string
		lim  smtp.Limits
	}
}

// NewSession starts a session: Output holds the greeting (or the Policy's
// refusal).
func (srv *Server) NewSession(opt SessionOptions) *Session {
	s := new(Session)
	s.Reset(srv, opt)
	return s
}

// Reset starts a new session of srv in s, keeping the memory s has grown,
// for a driver that serves one connection after another (and for
// benchmarks). Everything the previous session returned becomes invalid.
func (s *Session) Reset(srv *Server, opt SessionOptions) {
	lr, out, events, body, rcpts, recent, buf := s.lr, s.out[:0], s.events[:0], s.body[:0], s.env.Rcpts[:0], s.recent, s.buf
	// Cleared in place and then filled in, rather than assigned a
	// composite literal, which would be built on the stack first,
	// growing the stack of every new connection's goroutine.
	*s = Session{}
	s.srv, s.opt = srv, opt
	s.conn = ConnState{Role: srv.cfg.Role, Remote: opt.Remote, Addr: opt.Addr, TLS: opt.TLS, session: s}
	s.lr, s.out, s.events, s.body, s.env.Rcpts, s.recent, s.buf = lr, out, events, body, rcpts, recent, buf
	if s.buf == nil { // a new Session: use the fixed arrays
		s.buf = new(sessionBuffers)
		s.out, s.events, s.env.Rcpts = s.buf.out[:0], s.buf.events[:0], s.buf.rcpts[:0]
		// Feeding and discarding a block sizes the line reader's buffer
		// once, instead of letting it grow with each longer command.
		s.lr.Feed(s.buf.out[:])
	}
	s.lr.Discard()
	s.lr.SetMax(s.commandMax())
	r := srv.policy.Connect(&s.conn)
	// The greeting, even a refusal, has no enhanced status code (RFC
	// 2034 §3 (4)): a policy's is dropped here, so that neither the wire
	// nor any event (the reply, the close after a 421) shows one.
	r.Enhanced = ""
	switch {
	case r.Code == 0:
		s.sendPrepared(srv.greeting)
	case r.Transient():
		s.close(policyAnswer(r, srv.greeting.Reply))
	case r.Permanent():
		s.refused = true
		s.send(policyAnswer(r, srv.greeting.Reply))
	default:
		s.send(policyAnswer(r, srv.greeting.Reply))
	}
}

// Output returns the bytes to send to the client, produced by the last
// call (NewSession, Feed, Timeout, TLSStarted or Shutdown). The slice is
// reused by the next call.
func (s *Session) Output() []byte { return s.out }

// Events returns what happened during the last call. The slice and the
// slices inside its events are reused by the next call.
func (s *Session) Events() []Event { return s.events }

// Closed reports whether the session has ended; the driver closes the
// connection once it has written Output.
func (s *Session) Closed() bool { return s.phase == phaseClosed }

// Conn returns what the server knows about the connection.
func (s *Session) Conn() ConnState { return s.conn }

// Deadline returns how long the driver should wait for the client's next
// bytes before calling Timeout (RFC 5321 §4.5.3.2): the data block timeout
// while message text is expected, the command timeout otherwise, and 0
// once the session is closed. While the driver runs a TLS handshake, the
// command timeout bounds it.
func (s *Session) Deadline() time.Duration {
	switch s.phase {
	case phaseClosed:
		return 0
	case phaseData, phaseChunk:
		return s.srv.cfg.Timeouts.DataBlock
	}
	return s.srv.cfg.Timeouts.Command
}

// Timeout tells the session that Deadline passed without input. It answers
// 421 4.4.2 and closes: whatever the client sends later, even the rest of a
// message, is never read as commands.
func (s *Session) Timeout() {
	s.begin()
	if s.phase != phaseClosed {
		s.verb = ""
		s.close(s.srv.timeout)
	}
}

// Shutdown closes the session with 421 4.3.2, for a server going down.
func (s *Session) Shutdown() {
	s.begin()
	if s.phase != phaseClosed {
		s.verb = ""
		s.close(s.srv.shutdown)
	}
}

// TLSStarted tells the session that the TLS handshake asked for by
// EventStartTLS succeeded. Everything learnt before is forgotten (RFC 3207
// §4.2): the client must say EHLO again, and STARTTLS is no longer offered.
func (s *Session) TLSStarted() {
	s.begin()
	if s.phase != phaseTLS {
		return
	}
	s.phase = phaseCommand
	s.conn.TLS = true
	s.conn.Hello, s.conn.ESMTP, s.conn.AuthUser = "", false, ""
	s.endTransaction()
	s.lr.Discard()
}

// Feed hands the session bytes that arrived from the client, in any
// chunking. Bytes arriving after the session closed, or while it waits for
// a TLS handshake, are ignored.
func (s *Session) Feed(p []byte) {
	s.begin()
	if s.phase == phaseChunk {
		// BDAT octets are counted, not framed in lines: they go straight
		// into the message, never through the line reader.
		n := int(min(int64(len(p)), s.chunkLeft))
		s.chunk(p[:n])
		p = p[n:]
	}
	if len(p) == 0 || s.phase == phaseTLS || s.phase == phaseClosed {
		return
	}
	s.lr.Feed(p)
	s.drain()
}

// begin starts a call: the previous call's output and events are done.
// The events are not cleared, only forgotten: the next ones are written
// over them, and what they hold until then is the session's own (its
// line buffer, its message; see sessionBuffers) or small (a reply's
// lines, a policy's note), where clearing them, which a driver does for
// every command it feeds, costs a write for each of their pointers.
func (s *Session) begin() {
	s.out = s.out[:0]
	s.events = s.events[:0]
	s.lent = false
}

// drain handles every complete line (or buffered chunk octets) the line
// reader holds.
func (s *Session) drain() {
	for {
		switch s.phase {
		case phaseCommand, phaseAuth:
		case phaseChunk:
			n := s.lr.Buffered()
			if n == 0 {
				return
			}
			s.chunk(s.lr.Take(int(min(int64(n), s.chunkLeft))))
			continue
		case phaseData:
			s.takeText()
		default:
			return
		}
		line, flaw, ok := s.lr.Next()
		if !ok {
			return
		}
		switch s.phase {
		case phaseCommand:
			s.command(line, flaw)
		case phaseData:
			s.dataLine(line, flaw)
		case phaseAuth:
			s.authLine(line, flaw)
		}
	}
}

// commandMax is the line limit while reading commands. It is the AUTH
// limit, the largest; other commands are checked against
// Limits.CommandLine once parsed.
func (s *Session) commandMax() int { return max(s.srv.cfg.Limits.CommandLine, authLineMax) }

// Extensions raise the 512-octet limit of MAIL and RCPT by the length of
// the parameters they add (RFC 5321 §4.5.3.1.4 allows it): SIZE by 26
// (RFC 1870 §3), RET and ENVID by 100, NOTIFY and ORCPT by 500 (RFC 3461
// §5), AUTH by 500 (RFC 4954 §5), SMTPUTF8 by 10 (RFC 6531 §3.4).
const (
	mailParamsRoom = 26 + 100 + 500 + 10
	rcptParamsRoom = 500
)

// tooLong reports whether line, CRLF included, is longer than the command
// it holds may be. Every command may have Limits.CommandLine octets, so
// the verb is only looked at for a line longer than that.
func (s *Session) tooLong(line []byte) bool {
	n := len(line) + 2
	return n > s.srv.cfg.Limits.CommandLine && n > s.commandLimit(line)
}

// commandLimit is the longest line, CRLF included, allowed for the command
// that line holds. Only the first five octets are looked at: the verb is
// not parsed yet.
func (s *Session) commandLimit(line []byte) int {
	limit := s.srv.cfg.Limits.CommandLine
	verb := string(line[:min(len(line), 5)])
	switch {
	case hasPrefixFold(verb, "AUTH "):
		return max(limit, authLineMax)
	case !s.conn.ESMTP: // parameters need EHLO
	case hasPrefixFold(verb, "MAIL "):
		limit += mailParamsRoom
	case hasPrefixFold(verb, "RCPT "):
		limit += rcptParamsRoom
	}
	return limit
}

// send queues a reply, with its enhanced status code whether or not the
// client said EHLO: RFC 2034 §4 has a server that supports
// ENHANCEDSTATUSCODES "attach enhanced status codes to their responses
// regardless of whether or not EHLO is employed by the client", as
// Postfix does. Only the greeting goes without (RFC 2034 §3 (4)), which
// Reset sees to.
func (s *Session) send(r smtp.Reply) {
	for i := range s.srv.fixed {
		if p := &s.srv.fixed[i]; p.is(r) { // prepared in New
			s.sendPrepared(p.prepared)
			return
		}
	}
	// Replies can echo what the client sent (a parameter, an address) and
	// policies write their own: hold every one to the wire's rules here,
	// so the trace shows the reply exactly as it went out.
	r = r.WireSafe(s.srv.cfg.Limits.ReplyLine)
	s.out = r.AppendTo(s.out, true)
	s.events = append(s.events, Event{Kind: EventReply, Verb: s.verb, Reply: r})
}

// sendPrepared queues one of the replies New prepared.
func (s *Session) sendPrepared(p prepared) {
	s.out = append(s.out, p.wire...)
	s.events = append(s.events, Event{Kind: EventReply, Verb: s.verb, Reply: p.Reply})
}

// refuse queues the policy's refusal of a HELO, MAIL or RCPT. A
// permanent one (an unknown user, a relay refused, a sender blocked)
// counts as an error, so that guessing addresses or senders ends with 421
// after Limits.MaxErrors of them, as Postfix's smtpd_hard_error_limit
// does. A "try later" (451 greylisting, 452) does not: it says nothing
// about the address, and a relay with many recipients meets it honestly.
func (s *Session) refuse(r smtp.Reply) {
	if r.Permanent() {
		s.fail(r)
		return
	}
	s.send(r)
}

// fail queues the reply to a bad command, and gives up with 421 once the
// client has made Limits.MaxErrors of them.
func (s *Session) fail(r smtp.Reply) {
	s.send(r)
	s.errors++
	if s.errors >= s.srv.cfg.Limits.MaxErrors && s.phase != phaseClosed {
		s.close(s.srv.tooManyErrors)
	}
}

// junkCommand queues the reply to a command that moves no mail. Past
// Limits.MaxJunk of them since the last message, each also counts as a
// bad command (see fail), so that a client that only keeps the connection
// busy, with NOOP after NOOP within every timeout, is let go with 421 in
// the end.
func (s *Session) junkCommand(r smtp.Reply) {
	if s.junk++; s.junk > s.srv.cfg.Limits.MaxJunk {
		s.fail(r)
		return
	}
	s.send(r)
}

// close queues a last reply and ends the session.
func (s *Session) close(r smtp.Reply) {
	s.send(r)
	s.events = append(s.events, Event{Kind: EventClose, Verb: s.verb, Reply: r})
	s.phase = phaseClosed
	s.lr.Discard()
}

// policyAnswer returns the Policy's reply, or standard when the policy gave
// the zero Reply. A reply without a Reason gets the standard one when it
// accepts, and ReasonPolicy when it refuses.
func policyAnswer(r, standard smtp.Reply) smtp.Reply {
	if r.Code == 0 {
		return standard
	}
	if r.Reason == "" {
		r.Reason = smtp.ReasonPolicy
		if r.Positive() {
			r.Reason = standard.Reason
		}
	}
	return r
}

// command handles one command line.
func (s *Session) command(line []byte, flaw smtp.LineFlaw) {
	s.verb = ""
	event := func() { s.events = append(s.events, Event{Kind: EventCommand, Verb: s.verb, Line: line}) }
	switch flaw {
	case smtp.LineBareLF:
		event()
		s.close(replyBareLF)
		return
	case smtp.LineBareCR:
		event()
		s.close(replyBareCR)
		return
	case smtp.LineTooLong:
		event()
		if s.offersAuth() && hasPrefixFold(string(line[:min(len(line), 5)]), "AUTH ") {
			// An initial response longer than the 12288 octets a server
			// must take: RFC 4954 §6 names this failure 500 5.5.6, as
			// for a response line too long after a 334.
			s.fail(replyAuthTooLong)
			return
		}
		s.fail(replyLineTooLong)
		return
	}
	if smtp.IndexByte(line, 0) >= 0 {
		event()
		s.fail(replyNULCommand)
		return
	}
	if s.tooLong(line) {
		event()
		s.fail(replyLineTooLong)
		return
	}
	// RFC 5321 §4.1.1: a receiver SHOULD tolerate white space before
	// the CRLF, as Postfix does. Trimmed here, once, so that no command
	// takes it for part of its argument; the event keeps the line as it
	// came. Message text never passes here.
	verb, arg, err := smtp.CutVerb(trimBlanksRight(line))
	if err != nil {
		event()
		s.fail(replyBadLine)
		return
	}
	s.verb = verb
	event()
	if verb != smtp.BDAT {
		s.chunksDiscarded = false
	}
	switch {
	case s.refused && webRequest(verb):
		s.close(replyNotSMTP)
		return
	case s.refused && verb != smtp.QUIT:
		s.fail(replyNoService)
		return
	}
	// The argument is made a string only for the commands that keep it
	// (the name of HELO/EHLO, the paths of MAIL and RCPT, see
	// recentArgs) or parse it with strings (AUTH); the others read the
	// bytes.
	switch verb {
	case smtp.HELO, smtp.EHLO:
		s.hello(verb, s.recent.hello.of(arg))
	case smtp.MAIL:
		s.mail(s.recent.mail.of(arg))
	case smtp.RCPT:
		s.rcpt(s.recent.rcpt.of(arg))
	case smtp.DATA:
		s.data(arg)
	case smtp.BDAT:
		s.bdat(arg)
	case smtp.RSET:
		if len(arg) > 0 {
			s.fail(replySyntaxNone)
			return
		}
		s.endTransaction()
		s.junkCommand(replyReset)
	case smtp.NOOP:
		s.junkCommand(replyOK) // an argument is allowed and ignored (RFC 5321 §4.1.1.9)
	case smtp.QUIT:
		if len(arg) > 0 {
			s.fail(replySyntaxNone)
			return
		}
		s.close(replyClosing)
	case smtp.VRFY:
		if len(arg) == 0 {
			s.fail(replySyntaxVrfy)
			return
		}
		s.junkCommand(replyVerify) // RFC 5321 §3.5.3: 252 rather than give out who exists
	case smtp.EXPN:
		s.junkCommand(replyExpn) // RFC 5321 §7.3: list expansion may be disabled
	case smtp.HELP:
		s.junkCommand(s.srv.help[s.offers()&(ehloStartTLS|ehloAuth)])
	case smtp.STARTTLS:
		s.startTLS(arg)
	case smtp.AUTH:
		s.auth(string(arg))
	case "TURN", "ETRN", "ATRN", "SEND", "SOML", "SAML", "VERB":
		// Real SMTP verbs, obsolete or optional, that this server does not
		// do: 502, where an unknown word gets 500 (RFC 5321 §4.2.4).
		s.fail(replyNotImpl)
	default:
		if webRequest(verb) {
			s.close(replyNotSMTP)
			return
		}
		s.fail(replyUnknown)
	}
}

// webRequest reports whether verb starts a web request (see
// replyNotSMTP), which no SMTP verb does: the session hangs up at once,
// whatever came before.
func webRequest(verb smtp.Verb) bool {
	return verb == "GET" || verb == "POST" || verb == "CONNECT"
}

// trimBlanksRight drops the spaces and tabs at the end of line.
func trimBlanksRight(line []byte) []byte {
	for len(line) > 0 && (line[len(line)-1] == ' ' || line[len(line)-1] == '\t') {
		line = line[:len(line)-1]
	}
	return line
}

// recentArgs keeps the last argument of HELO/EHLO, of MAIL and of RCPT as
// strings, through the transactions of a session and across the sessions
// of a Session that is Reset for the next connection. The same argument
// sent again, as a client's EHLO name on every connection or a relay's
// sender and recipients are, then costs no new string: these are the
// arguments a session keeps (ConnState.Hello, the paths of the Envelope),
// and their strings were a good part of all it allocated.
type recentArgs struct {
	hello, mail, rcpt recentArg
}

// recentArg is the last argument of one command, as a string.
type recentArg struct{ s string }

// of returns arg as a string: the one kept when it is the same, else a new
// one, which is kept in its place. Strings do not change, so sharing one
// with what an earlier command made of it is safe.
func (r *recentArg) of(arg []byte) string {
	if string(arg) != r.s { // a comparison: no conversion is made
		r.s = string(arg)
	}
	return r.s
}

// hello handles HELO and EHLO (RFC 5321 §4.1.1.1). Either one ends any
// mail transaction, like RSET.
func (s *Session) hello(verb smtp.Verb, name string) {
	syntax := replySyntaxHelo
	if verb == smtp.EHLO {
		syntax = replySyntaxEhlo
	}
	if r := s.checkHello(name, syntax); r.Code != 0 {
		s.fail(r)
		return
	}
	if r := s.srv.policy.Hello(&s.conn, name); r.Code != 0 && !r.Positive() {
		s.refuse(policyAnswer(r, s.srv.helo.Reply))
		return
	}
	s.endTransaction()
	s.conn.Hello = name
	s.conn.ESMTP = verb == smtp.EHLO
	if !s.conn.ESMTP {
		s.sendPrepared(s.srv.helo)
		return
	}
	s.sendPrepared(s.srv.ehlo[s.offers()])
}

// checkHello returns the reply that refuses name, the argument of HELO or
// EHLO, or the zero Reply when it is a valid name. The last valid name and
// the limits it was checked under are kept (sessionBuffers.hello): a
// client names itself the same on every connection.
func (s *Session) checkHello(name string, syntax smtp.Reply) smtp.Reply {
	lim := s.srv.cfg.Limits
	if last := &s.buf.hello; name == last.name && name != "" && lim == last.lim {
		return smtp.Reply{}
	}
	if name == "" || strings.IndexByte(name, ' ') >= 0 {
		return syntax
	}
	if !smtp.IsASCII(name) {
		// RFC 6531 §3.7.1: even with SMTPUTF8 the client names itself
		// with A-labels (xn--...), never U-labels; a U-label would go on
		// into Received fields that every hop after reads as ASCII.
		return replyHelloASCII
	}
	if why := checkHelloName(name, lim); why != "" {
		return reply(501, "5.5.2", smtp.ReasonSyntax, "Invalid hostname: "+why)
	}
	s.buf.hello.name, s.buf.hello.lim = name, lim
	return smtp.Reply{}
}

// offers says, as bits of an index into Server.ehlo, what EHLO advertises
// now and HELP lists: STARTTLS, AUTH, and AUTH's CRAM-MD5.
func (s *Session) offers() int {
	i := 0
	if s.opt.TLSAvailable && !s.conn.TLS {
		i |= ehloStartTLS // RFC 3207 §4.2: never again once TLS is on
	}
	if s.offersAuth() {
		i |= ehloAuth
	}
	if s.opt.Nonce != "" {
		i |= ehloCRAM
	}
	return i
}

// offersAuth reports whether EHLO advertises AUTH: on a submission port,
// once TLS is on.
func (s *Session) offersAuth() bool { return s.srv.cfg.Role.requiresAuth() && s.conn.TLS }

// checkHelloName checks the argument of HELO/EHLO: a domain or an address
// literal (RFC 5321 §4.1.1.1), in ASCII. It returns "" when valid, or why
// not.
func checkHelloName(name string, lim smtp.Limits) string {
	opt := smtp.PathOptions{Limits: lim}
	if name[0] != '[' {
		return smtp.CheckDomain(name, opt)
	}
	// The address literal rules live with mailbox parsing.
	if _, err := smtp.ParseMailbox("postmaster@"+name, opt); err != nil {
		return err.(*smtp.PathError).Why
	}
	return ""
}

// endTransaction forgets the mail transaction (RSET, HELO/EHLO, the end of
// a message). Its buffers are kept for the next one.
func (s *Session) endTransaction() {
	s.inMail, s.rcptRefused, s.useBDAT = false, false, false
	s.tooBig, s.text = false, textCheck{}
	s.size = 0
}

// startTLS handles STARTTLS (RFC 3207).
func (s *Session) startTLS(arg []byte) {
	switch {
	case len(arg) > 0:
		s.fail(replySyntaxNone)
	case s.conn.TLS:
		s.fail(replyTLSActive)
	case !s.opt.TLSAvailable:
		s.fail(replyNoTLS)
	case !s.conn.ESMTP:
		s.fail(replyNeedEHLO)
	case s.inMail:
		s.fail(replyInTransaction)
	default:
		s.send(replyStartTLS)
		s.phase = phaseTLS
		// Whatever the client pipelined behind STARTTLS came in plaintext,
		// possibly from a man in the middle: it must never be taken as if
		// it came over TLS (CVE-2011-0411).
		n := s.lr.Discard()
		s.events = append(s.events, Event{Kind: EventStartTLS, Verb: smtp.STARTTLS, Discarded: n})
	}
}
