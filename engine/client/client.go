package client

import (
	"bytes"
	"fmt"
	"strconv"

	"smtplab/engine/mimepart"
	"smtplab/engine/smtp"
)

// TLSPolicy says when the client uses STARTTLS (RFC 3207).
type TLSPolicy uint8

const (
	// TLSNone never sends STARTTLS: everything, credentials included,
	// crosses the wire in plaintext. For lessons that show why not.
	TLSNone TLSPolicy = iota
	// TLSOpportunistic uses STARTTLS when the server offers it and goes on
	// in plaintext when it does not, or when it refuses. This is what most
	// servers relaying to each other do (RFC 7435, opportunistic security).
	TLSOpportunistic
	// TLSRequired sends the message only over TLS. When STARTTLS is not
	// offered or refused, the message is Deferred: the sender keeps it and
	// its own policy decides when to give up.
	TLSRequired
)

// Credentials are the user name and password for AUTH.
type Credentials struct {
	Username string
	Password string
}

// Config is what a client is told before a session.
type Config struct {
	// Hostname is sent with EHLO/HELO: the client's own fully-qualified
	// name (RFC 5321 §4.1.1.1). "localhost" when empty.
	Hostname string
	TLS      TLSPolicy
	// Auth, when set, makes the client authenticate if the server offers
	// AUTH. A server that does not offer AUTH gets the message without it,
	// as Postfix does: the server decides whether it needs it (530);
	// RequireAuth says otherwise. The credentials go only over TLS whose
	// certificate verified, unless AllowPlaintextAuth or
	// AllowUnverifiedAuth says otherwise.
	Auth *Credentials
	// RequireAuth makes a server that offers no AUTH get no message: a
	// mail program given a login expects to use it, and a message sent
	// without it would go out unauthenticated without a word.
	RequireAuth bool
	// Mechanisms limits the AUTH mechanisms the client may use; 0 allows
	// all of them (CRAM-MD5 preferred, then PLAIN, then LOGIN).
	Mechanisms Mechanism
	// AllowPlaintextAuth lets credentials go out before TLS. Never do
	// this outside a lesson about why not.
	AllowPlaintextAuth bool
	// AllowUnverifiedAuth lets credentials go out over TLS whose
	// certificate did not verify or was not checked (see TLSStarted):
	// encrypted, but to whoever holds the connection, a man in the middle
	// included. For a user who says so (smtplab send -insecure).
	AllowUnverifiedAuth bool
	// ChunkSize is the largest BDAT chunk; DefaultChunkSize when 0.
	ChunkSize int
	// NoChunking sends DATA even when the server offers CHUNKING.
	NoChunking bool
	// NoPipelining waits for each reply even when the server offers
	// PIPELINING, to show the round trips it saves.
	NoPipelining bool
	// Trace, when set, is called with every Event of the session.
	Trace func(Event)
	// CRLFOnly says that the caller knows every CR and LF of the message
	// to be part of a CRLF, as a relay knows of what its own server took
	// (which refused anything else): the client does not read the whole
	// message for them once more, only looks for the CRLF at its end. A
	// message it is wrong about goes out as it is.
	CRLFOnly bool
}

// DefaultChunkSize is the BDAT chunk size when Config.ChunkSize is 0: big
// enough that most messages go in one chunk, small enough that a server
// does not need to hold much before it can answer.
const DefaultChunkSize = 64 << 10

// Bounds on what the client holds from a server, so that a hostile or
// broken server cannot make it grow without limit.
const (
	maxReplyLine  = 2048     // longer lines are cut (RFC 5321 §4.5.3.1.5 asks for 512)
	maxReplyLines = 100      // more lines in one reply is a protocol error
	maxKept       = 64 << 10 // replies kept whole for the outcome; later ones keep their last line
)

// Action is what the driver must do next, once it has written Output.
type Action uint8

const (
	// ActionRead: read from the connection and Feed what arrives.
	ActionRead Action = iota
	// ActionStartTLS: run a TLS client handshake on the connection, then
	// call TLSStarted (or TLSFailed). Do not Feed anything before.
	ActionStartTLS
	// ActionClose: the session is over; close the connection and read the
	// Outcome.
	ActionClose
)

func (a Action) String() string {
	switch a {
	case ActionRead:
		return "read"
	case ActionStartTLS:
		return "start-tls"
	case ActionClose:
		return "close"
	}
	return "unknown"
}

// awaited is a command whose reply has not come yet. Replies arrive in the
// order the commands were sent (RFC 2920 §3.1), so a queue of these tells
// which command each reply answers, pipelined or not.
type awaited struct {
	what awaitKind
	verb smtp.Verb
	rcpt int // which recipient, for RCPT
}

type awaitKind uint8

const (
	awaitGreeting awaitKind = iota
	awaitEHLO
	awaitHELO
	awaitSTARTTLS
	awaitAUTH
	awaitMAIL
	awaitRCPT
	awaitDATA
	awaitContent  // the reply after the DATA content and its final "."
	awaitBDAT     // a BDAT chunk that is not the last
	awaitBDATLast // the BDAT ... LAST chunk
	awaitQUIT
)

// replyRef locates a reply kept in Client.kept; the zero replyRef is "no
// reply".
type replyRef struct {
	start, end int
	code       int
	verb       smtp.Verb // the command it answers; "" for the greeting
}

// recipient is what the client knows about one recipient so far.
type recipient struct {
	status   Status
	accepted bool // RCPT got a 2xx: waiting for the reply after the content
	reply    replyRef
	err      error
	session  bool // decided by a failure of the whole session (see RecipientResult)
	// orcptLeftOut: its ORCPT was too long to send (see
	// RecipientResult.ORcptLeftOut).
	orcptLeftOut bool
}

// Client is one SMTP client session. Create it with New; it is not safe
// for concurrent use.
type Client struct {
	cfg      Config
	env      Envelope
	given    []byte // the message as Reset was given it
	prepared bool   // msg and what it needs are known (see prepareMessage)
	msg      []byte // the message with CRLF line endings
	norm     []byte // buffer for msg when it had to be rewritten
	eightBit bool   // msg has bytes above 127
	needUTF8 bool   // an address or the header is not ASCII: the message needs SMTPUTF8
	// utf8Header: a header of msg, at any level of its MIME structure,
	// has octets beyond ASCII (raw UTF-8, not RFC 2047 encoded-words),
	// one reason for needUTF8.
	utf8Header bool
	// sevenBit: msg is the message converted to 7 bits, in seven (see
	// convert); notSevenBit, why it could not be.
	sevenBit    bool
	seven       []byte
	notSevenBit error

	lines  smtp.LineReader
	out    []byte
	queue  []awaited
	head   int // queue[head] is the next reply's command
	action Action

	// The reply being read: its raw lines (CRLF included), code and count.
	cur      []byte
	curCode  int
	curLines int
	// answers is the command the complete reply being handled answers
	// ("" for the greeting), so that a kept reply remembers it.
	answers smtp.Verb

	ext         Extensions
	ehlos       *ehloMemo // kept by Reset; made at the first EHLO reply
	tls         bool
	unverified  error // why the certificate of the TLS session did not verify; nil when it did
	tlsDeclined bool  // opportunistic STARTTLS was refused: go on in plaintext
	// plaintext says why the session went on without TLS (the Text of its
	// TLSSkipped event) until TLSSkipped hands it out.
	plaintext string
	authed    bool
	mech      Mechanism
	authStep  int
	// authCancelled: the client answered a challenge with "*" (see
	// authContinue), to which the server must say 501.
	authCancelled bool
	scratch       []byte

	kept     []byte // raw replies that decided a recipient, read by Outcome
	texts    []byte // the texts of the replies handed out, kept by Reset (see buildReply)
	rcpts    []recipient
	mailOK   bool
	accepted int  // recipients with a 2xx to RCPT
	sent     int  // message octets sent in BDAT chunks
	chunkErr bool // a BDAT chunk was refused: later chunk replies do not count
	quitSent bool
	// sessionFailed: the session failed as a whole (see settleSession).
	sessionFailed bool
}

// New returns a client that will deliver msg to env over one connection.
// msg is the whole message (header and body, RFC 5322); line endings are
// made CRLF. The client keeps msg and reads it while the session runs:
// do not modify it until the session is over.
func New(cfg Config, env Envelope, msg []byte) (*Client, error) {
	c := new(Client)
	if err := c.Reset(cfg, env, msg); err != nil {
		return nil, err
	}
	return c, nil
}

// Reset prepares c for a new session on a new connection, keeping the
// memory it has already allocated. A mail transfer agent can keep one
// Client per delivery worker.
//
// It refuses an envelope or a hostname it cannot write into a command
// with an *Error whose Status is Bounced: trying again later would not
// change them.
func (c *Client) Reset(cfg Config, env Envelope, msg []byte) error {
	if err := env.check(); err != nil {
		return err
	}
	if cfg.Hostname == "" {
		cfg.Hostname = "localhost"
	}
	if !writable(cfg.Hostname, true) {
		// X.3.5: system incorrectly configured (RFC 3463 §3.4).
		return &Error{Status: Bounced, Enhanced: "5.3.5", Reason: ReasonBadHostname,
			Text: fmt.Sprintf("client: hostname %q cannot be sent with EHLO", cfg.Hostname)}
	}
	if !smtp.IsASCII(cfg.Hostname) {
		return &Error{Status: Bounced, Enhanced: "5.3.5", Reason: ReasonBadHostname,
			Text: fmt.Sprintf("client: hostname %q must be given in its A-label form, xn--..., to be sent with EHLO (RFC 6531 section 3.7.1)", cfg.Hostname)}
	}
	if cfg.ChunkSize <= 0 {
		cfg.ChunkSize = DefaultChunkSize
	}
	lines := c.lines
	lines.Discard()
	lines.SetMax(maxReplyLine)
	rcpts := c.rcpts[:0]
	for range env.To {
		rcpts = append(rcpts, recipient{})
	}
	*c = Client{
		cfg:     cfg,
		env:     env,
		norm:    c.norm,
		seven:   c.seven,
		lines:   lines,
		out:     c.out[:0],
		queue:   c.queue[:0],
		cur:     c.cur[:0],
		scratch: c.scratch[:0],
		kept:    c.kept[:0],
		texts:   c.texts,
		rcpts:   rcpts,
		ehlos:   c.ehlos,
	}
	c.given = msg
	c.queue = append(c.queue, awaited{what: awaitGreeting})
	return nil
}

// prepareMessage makes the message canonical (see canonical) and notes
// what it needs of the server (see examine). A session does it when it
// first needs the message, before MAIL: one that never gets that far (a
// dial to a dead MX, a greeting that refuses) reads none of the message,
// which may be large, and a relay tries a dead MX for every message.
func (c *Client) prepareMessage() {
	if c.prepared {
		return
	}
	c.prepared = true
	if c.cfg.CRLFOnly && bytes.HasSuffix(c.given, []byte(crlf)) {
		c.msg = c.given // canonical already (see Config.CRLFOnly)
	} else {
		c.msg = canonical(c.given, c.norm)
	}
	if len(c.msg) > 0 && len(c.given) > 0 && &c.msg[0] != &c.given[0] {
		c.norm = c.msg
	}
	c.examine()
}

// examine notes what c.msg, with c.env, needs of the server: 8BITMIME,
// SMTPUTF8.
func (c *Client) examine() {
	c.eightBit = has8bit(c.msg)
	c.utf8Header = c.eightBit && hasUTF8Header(c.msg)
	c.needUTF8 = c.env.needsUTF8() || c.utf8Header
}

// Output returns the bytes to send to the server, and forgets them. The
// slice is valid until the next call of Feed, TLSStarted or Reset.
func (c *Client) Output() []byte {
	out := c.out
	c.out = c.out[:0]
	return out
}

// Action says what the driver must do next.
func (c *Client) Action() Action { return c.action }

// Extensions returns what the server advertised in its last EHLO reply.
func (c *Client) Extensions() Extensions { return c.ext }

// Feed gives the client bytes that came from the server, in any chunking.
// After it returns, send Output and look at Action.
func (c *Client) Feed(p []byte) {
	if c.action != ActionRead {
		return // after 220 to STARTTLS, plaintext bytes are never read (see TLSRequested)
	}
	c.lines.Feed(p)
	for c.action == ActionRead {
		if c.knownEHLO() {
			continue
		}
		line, _, ok := c.lines.Next()
		if !ok {
			break
		}
		// A bare LF or a cut overlong line is tolerated: replies are only
		// read, and the code at the start is all the protocol needs.
		c.readLine(line)
	}
	if c.action == ActionStartTLS {
		c.emit(Event{Kind: TLSRequested, Verb: smtp.STARTTLS, Size: c.lines.Discard()})
	}
	if c.action == ActionClose {
		c.lines.Discard()
	}
}

// readLine adds one reply line to the reply being read.
func (c *Client) readLine(line []byte) {
	// Only the code and the character after it decide the protocol, so
	// only those four bytes are read; the text stays in bytes, and is
	// turned into strings only for a reply somebody asks to see.
	code, more, ok := smtp.ReplyCode(line)
	if !ok || (c.curLines > 0 && code != c.curCode) || c.curLines == maxReplyLines {
		c.protocolError(line)
		return
	}
	c.curCode = code
	c.curLines++
	c.cur = append(c.cur, line...)
	c.cur = append(c.cur, '\r', '\n')
	if more {
		return
	}
	raw := c.cur
	c.cur, c.curLines = c.cur[:0], 0
	c.reply(code, raw)
}

// knownEHLO reads the rest of an EHLO reply whose first line has been read
// at once, when the bytes that follow are keyword lines the client met
// before (ehloMemo), and reports whether it did. The lines of the same
// server's EHLO reply, most of every reply it reads, are then not split
// and checked one by one: they were, the first time, and held.
func (c *Client) knownEHLO() bool {
	if c.curLines != 1 || c.ehlos == nil || c.head == len(c.queue) || c.queue[c.head].what != awaitEHLO {
		return false
	}
	keywords := c.ehlos.known(c.lines.Pending(), c.cur[:3])
	if keywords == nil {
		return false
	}
	c.lines.Take(len(keywords))
	raw := append(c.cur, keywords...)
	c.cur, c.curLines = raw[:0], 0
	c.reply(c.curCode, raw)
	return true
}

// protocolError ends a session whose server sent something that is not a
// reply, or a reply nobody asked for.
func (c *Client) protocolError(line []byte) {
	if len(line) > 64 {
		line = line[:64]
	}
	c.settleSession(replyRef{}, &Error{
		Status:   Deferred,
		Enhanced: "4.5.0",
		Reason:   ReasonMalformedReply,
		Text:     fmt.Sprintf("the server sent %q, which is not the SMTP reply that was expected", line),
	})
	c.close()
}

// reply handles one complete reply: code, and its raw lines each ending in
// CRLF (only valid during the call).
func (c *Client) reply(code int, raw []byte) {
	if c.head == len(c.queue) {
		c.protocolError(raw[:len(raw)-2])
		return
	}
	a := c.queue[c.head]
	c.head++
	if c.head == len(c.queue) {
		c.queue, c.head = c.queue[:0], 0
	}
	c.answers = a.verb
	if c.cfg.Trace != nil {
		c.cfg.Trace(Event{Kind: ReplyReceived, Verb: a.verb, Reply: c.buildReply(raw)})
	}
	if code == 421 && a.what != awaitQUIT {
		// The server is closing the connection (RFC 5321 §3.8): whatever is
		// still open is deferred, and a QUIT would get no answer.
		c.settleSession(c.keep(raw, code), nil)
		c.close()
		return
	}
	switch a.what {
	case awaitGreeting:
		if code == 220 {
			c.hello(smtp.EHLO)
			return
		}
		c.failSession(raw, code, nil)
	case awaitEHLO:
		switch {
		case code/100 == 2:
			if c.ehlos == nil {
				c.ehlos = new(ehloMemo)
			}
			c.ext = c.ehlos.parse(raw)
			c.afterHello()
		case code == 500 || code == 502:
			// An old server that does not know EHLO (RFC 5321 §3.2).
			c.hello(smtp.HELO)
		default:
			c.failSession(raw, code, nil)
		}
	case awaitHELO:
		if code/100 != 2 {
			c.failSession(raw, code, nil)
			return
		}
		c.ext = Extensions{}
		c.afterHello()
	case awaitSTARTTLS:
		switch {
		case code == 220:
			c.action = ActionStartTLS // Feed discards whatever else came
		case c.cfg.TLS == TLSRequired:
			c.failSession(raw, code, &Error{Status: Deferred, Enhanced: "4.7.0", Reason: ReasonTLSRefused,
				Text: fmt.Sprintf("TLS is required, and the server answered %d to STARTTLS", code)})
		default:
			c.tlsDeclined = true
			c.skipTLS(smtp.STARTTLS, fmt.Sprintf("the server answered %d to STARTTLS: the session goes on in plaintext", code))
			c.afterHello()
		}
	case awaitAUTH:
		switch {
		case code/100 == 2:
			c.authed = true
			c.startMail()
		case code == 334:
			c.authStep++
			c.authContinue(raw)
		default:
			c.fail(raw, code, nil)
		}
	case awaitMAIL:
		c.mailReply(raw, code)
	case awaitRCPT:
		c.rcptReply(a.rcpt, raw, code)
	case awaitDATA:
		c.dataReply(raw, code)
	case awaitContent, awaitBDATLast:
		if !c.chunkErr {
			c.settleAccepted(raw, code, statusOf(code))
		}
		c.quit()
	case awaitBDAT:
		if code/100 != 2 && !c.chunkErr {
			c.chunkErr = true
			c.settleAccepted(raw, code, failureOf(code))
		}
		switch {
		case c.pipelining(): // the other chunks and QUIT are already on their way
		case c.chunkErr:
			c.quit()
		default:
			c.sendChunk()
		}
	case awaitQUIT:
		c.close()
	}
}

// hello sends EHLO or HELO.
func (c *Client) hello(verb smtp.Verb) {
	start := len(c.out)
	c.out = append(c.out, verb...)
	c.out = append(c.out, ' ')
	c.out = append(c.out, c.cfg.Hostname...)
	what := awaitEHLO
	if verb == smtp.HELO {
		what = awaitHELO
	}
	c.command(start, awaited{what: what, verb: verb}, false)
}

// afterHello decides what follows a successful EHLO or HELO: STARTTLS,
// AUTH, or the mail transaction.
func (c *Client) afterHello() {
	if !c.tls && !c.tlsDeclined {
		switch {
		case c.cfg.TLS == TLSNone:
		case c.ext.StartTLS:
			start := len(c.out)
			c.out = append(c.out, smtp.STARTTLS...)
			c.command(start, awaited{what: awaitSTARTTLS, verb: smtp.STARTTLS}, false)
			return
		case c.cfg.TLS == TLSOpportunistic:
			c.skipTLS("", "the server does not offer STARTTLS: the session goes on in plaintext")
		case c.cfg.TLS == TLSRequired:
			// X.7.4, "security features not supported": the security
			// the client asked for is not there (RFC 3463 §3.8), as
			// Postfix reports it.
			c.settleSession(replyRef{}, &Error{Status: Deferred, Enhanced: "4.7.4", Reason: ReasonTLSUnavailable,
				Text: "TLS is required, and the server does not offer STARTTLS"})
			c.quit()
			return
		}
	}
	if c.cfg.Auth != nil && !c.authed {
		switch {
		case c.ext.AuthOffered:
			c.startAuth()
			return
		case c.cfg.RequireAuth:
			// X.7.4, "security features not supported" (RFC 3463 §3.8):
			// the login the client was told to use is not there.
			what := "the server offers no AUTH"
			if !c.tls {
				what += " without TLS"
			}
			c.settleSession(replyRef{}, &Error{Status: Deferred, Enhanced: "4.7.4", Reason: ReasonAuthUnavailable,
				Text: what + ", and the client was told to log in: the message is not sent unauthenticated"})
			c.quit()
			return
		}
	}
	c.startMail()
}

// TLSStarted tells the client the driver finished the TLS handshake that
// ActionStartTLS asked for. unverified is nil when the server's
// certificate verified (its chain, dates and name), else why it did not
// or that it was not checked: opportunistic TLS goes on either way (RFC
// 7435), but credentials go only to a server whose certificate verified
// (see Config.AllowUnverifiedAuth). The client forgets the extensions it
// was told in plaintext and says EHLO again (RFC 3207 §4.2).
func (c *Client) TLSStarted(unverified error) {
	if c.action != ActionStartTLS {
		return
	}
	c.action = ActionRead
	c.tls = true
	c.unverified = unverified
	c.ext = Extensions{}
	e := Event{Kind: TLSStarted}
	if unverified != nil {
		e.Text = unverified.Error()
	}
	c.emit(e)
	c.hello(smtp.EHLO)
}

// TLSFailed tells the client the TLS handshake failed. The connection is
// unusable: every open recipient is deferred and the session ends.
func (c *Client) TLSFailed(err error) {
	if c.action != ActionStartTLS {
		return
	}
	c.action = ActionRead
	c.settleSession(replyRef{}, &Error{Status: Deferred, Enhanced: "4.7.5", Reason: ReasonTLSFailed,
		Text: fmt.Sprintf("the TLS handshake failed: %v", err)})
	c.close()
}

// ConnectionLost tells the client the connection ended (EOF, a reset, a
// timeout) before the session did. Every recipient not yet decided is
// deferred; one whose message was accepted stays delivered.
func (c *Client) ConnectionLost(err error) {
	if c.action == ActionClose {
		return
	}
	c.settleSession(replyRef{}, &Error{Status: Deferred, Enhanced: "4.4.2", Reason: ReasonConnectionLost,
		Text: fmt.Sprintf("the connection was lost: %v", err)})
	c.close()
}

// startMail checks what the message needs against what the server offers,
// then sends MAIL; with PIPELINING also every RCPT and, unless BDAT will
// carry the content, DATA.
func (c *Client) startMail() {
	c.prepareMessage()
	c.convert()
	if c.needUTF8 && !c.ext.SMTPUTF8 {
		// X.6.7, as Postfix reports "SMTPUTF8 is required, but was not
		// offered" for either reason; X.6.9 is a server's, after the
		// content; RFC 6531 registered both (RFC 5248).
		what := "an address is not ASCII"
		if !c.env.needsUTF8() {
			what = "a header in the message has raw UTF-8 (not RFC 2047 encoded-words), which only an SMTPUTF8 transaction may carry, at any level of the MIME structure (RFC 6531 §3.2, RFC 6532 §3)"
		}
		c.settleOpen(replyRef{}, &Error{Status: Bounced, Enhanced: "5.6.7", Reason: smtp.ReasonUTF8Required,
			Text: what + ", and the server does not offer SMTPUTF8 (RFC 6531 §3.2)"})
		c.quit()
		return
	}
	if c.ext.Size > 0 && int64(len(c.msg)) > c.ext.Size {
		c.settleOpen(replyRef{}, &Error{Status: Bounced, Enhanced: "5.3.4", Reason: smtp.ReasonTooLarge,
			Text: fmt.Sprintf("the message has %d octets, the server takes at most %d (SIZE, RFC 1870)", len(c.msg), c.ext.Size)})
		c.quit()
		return
	}
	if c.eightBit && !c.ext.EightBitMIME {
		// RFC 6152 §3: without 8BITMIME the content must be converted to
		// 7 bits or returned; convert could not convert it.
		c.settleOpen(replyRef{}, &Error{Status: Bounced, Enhanced: "5.6.3", Reason: Reason8BitUnavailable,
			Text: fmt.Sprintf("the message has 8-bit octets, and the server does not offer 8BITMIME (RFC 6152 §3; RFC 5321 §2.4); "+
				"it cannot be converted to 7 bits: %v", c.notSevenBit)})
		c.quit()
		return
	}
	c.sendMAIL()
	if !c.pipelining() {
		return
	}
	for i := range c.rcpts {
		c.sendRCPT(i)
	}
	if !c.chunking() {
		c.sendDATA()
	}
}

// convert puts the message in 7 bits, quoted-printable where it has 8
// (mimepart.AppendSevenBit), when the server cannot take it as it is but
// may so: RFC 6152 §3 lets a client facing a server without 8BITMIME
// "convert the message to 7 bits" rather than return it, as Postfix does.
// The same serves a message whose only header beyond ASCII is inside
// message/global or message/global-headers, such as a global DSN, for a
// server without SMTPUTF8: encoded, that part needs no SMTPUTF8 (RFC 6533
// §6). What the message needs is then examined again in the form that is
// sent. An envelope beyond ASCII needs SMTPUTF8 whatever the message's
// form: then nothing is converted.
func (c *Client) convert() {
	needs := !c.ext.EightBitMIME || c.utf8Header && !c.ext.SMTPUTF8
	if !c.eightBit || !needs || c.env.needsUTF8() && !c.ext.SMTPUTF8 {
		return
	}
	seven, err := mimepart.AppendSevenBit(c.seven[:0], c.msg)
	if err != nil {
		c.notSevenBit = err
		return
	}
	c.seven, c.msg, c.sevenBit = seven, seven, true
	c.examine()
}

func (c *Client) pipelining() bool { return c.ext.Pipelining && !c.cfg.NoPipelining }
func (c *Client) chunking() bool   { return c.ext.Chunking && !c.cfg.NoChunking }

func (c *Client) sendMAIL() {
	start := len(c.out)
	c.out = append(c.out, "MAIL FROM:<"...)
	c.out = appendMailbox(c.out, c.env.From)
	c.out = append(c.out, '>')
	if c.ext.SizeOffered {
		c.out = append(c.out, " SIZE="...)
		c.out = strconv.AppendInt(c.out, int64(len(c.msg)), 10)
	}
	if c.eightBit && c.ext.EightBitMIME {
		c.out = append(c.out, " BODY=8BITMIME"...)
	}
	if c.needUTF8 {
		c.out = append(c.out, " SMTPUTF8"...)
	}
	if c.ext.DSN && c.env.Ret != "" {
		c.out = append(c.out, " RET="...)
		c.out = append(c.out, c.env.Ret...)
	}
	if c.ext.DSN && c.env.EnvID != "" {
		c.out = append(c.out, " ENVID="...)
		c.out = append(c.out, smtp.EncodeXtext(c.env.EnvID)...)
	}
	c.command(start, awaited{what: awaitMAIL, verb: smtp.MAIL}, false)
}

func (c *Client) sendRCPT(i int) {
	r := c.env.To[i]
	start := len(c.out)
	c.out = append(c.out, "RCPT TO:<"...)
	c.out = appendMailbox(c.out, r.Mailbox)
	c.out = append(c.out, '>')
	if c.ext.DSN && r.Notify != "" {
		c.out = append(c.out, " NOTIFY="...)
		c.out = append(c.out, r.Notify...)
	}
	if c.ext.DSN && r.ORcpt != "" {
		// RFC 6533 §3: a utf-8 address is UTF-8 itself only in a
		// transaction that uses SMTPUTF8 (utf-8-addr-unitext).
		if v := orcptValue(r, c.needUTF8 && c.ext.SMTPUTF8); len(v) <= smtp.MaxORcpt {
			c.out = append(c.out, " ORCPT="...)
			c.out = append(c.out, v...)
		} else {
			// RFC 3461 §4.2 allows at most 500 characters, and an
			// address that fits in UTF-8 may not fit in its 7-bit
			// form, \x{F6} for ö. The ORCPT is left out rather than
			// the message refused: it is optional, and only gives a
			// later DSN its Original-Recipient field (RFC 3461 §4.2),
			// whereas a refusal would bounce a message that can be
			// delivered. A relay passing on what it received does
			// the same, as it does for a next hop without DSN (§5.2.2).
			c.rcpts[i].orcptLeftOut = true
		}
	}
	c.command(start, awaited{what: awaitRCPT, verb: smtp.RCPT, rcpt: i}, false)
}

func (c *Client) sendDATA() {
	start := len(c.out)
	c.out = append(c.out, smtp.DATA...)
	c.command(start, awaited{what: awaitDATA, verb: smtp.DATA}, false)
}

func (c *Client) mailReply(raw []byte, code int) {
	if code/100 == 2 {
		c.mailOK = true
		if !c.pipelining() {
			c.sendRCPT(0)
		}
		return
	}
	// Every recipient shares the sender's fate. Pipelined, the replies to
	// RCPT and DATA are still on their way; the last of them ends the
	// session.
	c.settleOpen(c.keep(raw, code), nil)
	if !c.pipelining() {
		c.quit()
	}
}

func (c *Client) rcptReply(i int, raw []byte, code int) {
	r := &c.rcpts[i]
	if c.mailOK && r.status == Pending {
		if code/100 == 2 {
			r.accepted = true
			c.accepted++
		} else {
			c.settle(i, statusOf(code), c.keep(raw, code), nil)
		}
	}
	switch {
	case c.head < len(c.queue):
		return // more replies of the pipelined batch to come
	case !c.pipelining() && c.mailOK && i+1 < len(c.rcpts):
		c.sendRCPT(i + 1)
	case !c.mailOK || c.accepted == 0:
		c.quit() // no recipient: no content is sent
	case c.chunking():
		c.startChunks()
	default:
		c.sendDATA()
	}
}

func (c *Client) dataReply(raw []byte, code int) {
	switch {
	case code != 354:
		c.settleAccepted(raw, code, failureOf(code))
		c.quit()
	case c.accepted == 0:
		// Pipelined, every RCPT was refused, yet the server said "go
		// ahead" (RFC 2920 §3.1 says it should not): end an empty message
		// at once, so no content goes to nobody.
		start := len(c.out)
		c.out = append(c.out, '.', '\r', '\n')
		c.emit(Event{Kind: ContentSent, Verb: smtp.DATA, Size: len(c.out) - start})
		c.queue = append(c.queue, awaited{what: awaitContent, verb: smtp.DATA})
	default:
		start := len(c.out)
		c.out = smtp.AppendDotStuffed(c.out, c.msg)
		c.emit(Event{Kind: ContentSent, Verb: smtp.DATA, Size: len(c.out) - start})
		c.queue = append(c.queue, awaited{what: awaitContent, verb: smtp.DATA})
		if c.pipelining() {
			c.quit() // QUIT may follow the content in the same batch (RFC 2920 §3.1)
		}
	}
}

// startChunks sends the content with BDAT (RFC 3030): every chunk and QUIT
// at once when pipelining, else the first chunk.
func (c *Client) startChunks() {
	if !c.pipelining() {
		c.sendChunk()
		return
	}
	for c.sendChunk() {
	}
	c.quit()
}

// sendChunk sends the next BDAT chunk and reports whether more remain.
// An empty message is one "BDAT 0 LAST".
func (c *Client) sendChunk() bool {
	n := min(c.cfg.ChunkSize, len(c.msg)-c.sent)
	last := c.sent+n == len(c.msg)
	start := len(c.out)
	c.out = append(c.out, "BDAT "...)
	c.out = strconv.AppendInt(c.out, int64(n), 10)
	what := awaitBDAT
	if last {
		c.out = append(c.out, " LAST"...)
		what = awaitBDATLast
	}
	c.command(start, awaited{what: what, verb: smtp.BDAT}, false)
	c.out = append(c.out, c.msg[c.sent:c.sent+n]...)
	c.sent += n
	c.emit(Event{Kind: ContentSent, Verb: smtp.BDAT, Size: n})
	return !last
}

// quit sends QUIT, once.
func (c *Client) quit() {
	if c.quitSent {
		return
	}
	c.quitSent = true
	start := len(c.out)
	c.out = append(c.out, smtp.QUIT...)
	c.command(start, awaited{what: awaitQUIT, verb: smtp.QUIT}, false)
}

// close ends the session. A recipient still open at this point was never
// decided by a reply: it is deferred.
func (c *Client) close() {
	if c.Status() == Pending {
		c.settleSession(replyRef{}, &Error{Status: Deferred, Enhanced: "4.4.2", Reason: ReasonConnectionLost,
			Text: "the session ended before this recipient was decided"})
	}
	c.action = ActionClose
	c.queue, c.head = c.queue[:0], 0
}

// fail settles every open recipient with a reply that ended the session
// (or with err, which may override the status), then says QUIT.
func (c *Client) fail(raw []byte, code int, err error) {
	c.settleOpen(c.keep(raw, code), err)
	c.quit()
}

// failSession is fail for a reply that refused the session itself (the
// greeting, EHLO, STARTTLS where TLS is required) rather than this
// message: see settleSession.
func (c *Client) failSession(raw []byte, code int, err error) {
	c.settleSession(c.keep(raw, code), err)
	c.quit()
}

// command finishes the command line written into c.out from start: traces
// it, ends it with CRLF and queues the reply it awaits.
func (c *Client) command(start int, a awaited, secret bool) {
	if c.cfg.Trace != nil {
		c.cfg.Trace(Event{Kind: CommandSent, Verb: a.verb, Text: string(c.out[start:]), Secret: secret})
	}
	c.out = append(c.out, '\r', '\n')
	c.queue = append(c.queue, a)
}

// skipTLS notes that an opportunistic session goes on in plaintext, and
// why: in a TLSSkipped event, and for TLSSkipped.
func (c *Client) skipTLS(verb smtp.Verb, why string) {
	c.plaintext = why
	c.emit(Event{Kind: TLSSkipped, Verb: verb, Text: why})
}

// TLSSkipped returns, once, why the session went on in plaintext when its
// policy is opportunistic and the server did not offer STARTTLS or
// refused it, and "" otherwise: a driver that keeps no Trace of the
// client's events (a relay of the simulated world, say) can still say at
// once that a message is about to go in clear (RFC 7435 §3).
func (c *Client) TLSSkipped() (why string) {
	if c.plaintext != "" { // mostly not: a relay asks after every step
		why, c.plaintext = c.plaintext, ""
	}
	return why
}

func (c *Client) emit(e Event) {
	if c.cfg.Trace != nil {
		c.cfg.Trace(e)
	}
}
