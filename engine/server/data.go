package server

import (
	"bytes"
	"math"
	"strconv"

	"smtplab/engine/smtp"
)

// data handles DATA (RFC 5321 §4.1.1.4).
func (s *Session) data(arg []byte) {
	switch {
	case len(arg) > 0:
		s.fail(replySyntaxNone)
	case !s.inMail:
		s.fail(replyNeedMail)
	case s.useBDAT:
		s.fail(replyMixedData) // RFC 3030 §2
	case len(s.env.Rcpts) == 0 && s.rcptRefused:
		s.fail(replyNoValidRcpts) // RFC 5321 §3.3
	case len(s.env.Rcpts) == 0:
		s.fail(replyNeedRcpt)
	default:
		s.startMessage()
		s.send(replyStartData)
		s.phase = phaseData
		// One octet more than the text line limit: a line's leading dot,
		// doubled for transparency, does not count (RFC 5321 §4.5.3.1.6).
		// dataLine checks the line without it.
		s.lr.SetMax(s.srv.cfg.Limits.TextLine + 1)
	}
}

// firstBody is the size of the first message buffer of a session when the
// client did not declare the message's SIZE.
const firstBody = 4096

// maxDeclaredBody is the most a declared SIZE reserves before the text
// arrives. SIZE is only the client's word (RFC 1870 §3): a buffer of the
// whole limit for every session that declares it and then sends nothing
// after the 354 would let a few hundred octets of commands hold
// Limits.MessageSize of memory per connection. A larger message grows
// its buffer as its octets come in.
const maxDeclaredBody = 64 << 10

// startMessage readies the body buffer. A declared SIZE within the limit
// sizes it at once, up to maxDeclaredBody, so the text of most messages is
// copied in without regrowing.
func (s *Session) startMessage() {
	s.body = s.body[:0]
	if s.lent {
		s.body = nil
	}
	want := s.env.Size
	if want == 0 {
		want = firstBody
	}
	if want = min(want, s.srv.cfg.Limits.MessageSize, maxDeclaredBody); want > int64(cap(s.body)) {
		s.body = make([]byte, 0, want)
	}
	s.size = 0
	s.tooBig, s.text = false, textCheck{max: s.srv.cfg.Limits.TextLine - 2}
}

// dataLine handles one line of message text after DATA's 354. Only a line
// holding a single "." after a CRLF ends the message: a bare LF or bare CR
// could make this server see an end (and a next command) where the server
// that relayed the message saw none — the 2023 SMTP smuggling attacks — so
// the session ends right there: after such a line the server cannot tell
// where the client thinks the message ends. (Postfix's
// smtpd_forbid_bare_newline = reject reads on to CRLF.CRLF instead and
// refuses the message there.)
func (s *Session) dataLine(line []byte, flaw smtp.LineFlaw) {
	switch flaw {
	case smtp.LineBareLF:
		s.close(replyBareLF)
		return
	case smtp.LineBareCR:
		s.close(replyBareCR)
		return
	case smtp.LineTooLong:
		s.text.longLine = true // refused after the end marker, so the stream stays in sync
		return
	}
	text, end := smtp.Unstuff(line)
	if end {
		s.endMessage()
		return
	}
	s.addText(text, true)
}

// takeText takes the plain lines of message text buffered after DATA's 354
// at once (see smtp.LineReader.TextLines): what dataLine and addText would
// do with them one by one comes down to counting them, looking for a NUL and
// keeping them. The line that ends the message, and any line that is not
// plain or would pass the size limit, is left for dataLine.
func (s *Session) takeText() {
	room := s.srv.cfg.Limits.MessageSize - s.size
	if room <= 0 {
		return
	}
	text, _ := s.lr.TextLines(s.text.max, int(min(room, int64(math.MaxInt))))
	if len(text) == 0 {
		return
	}
	s.size += int64(len(text))
	if bytes.IndexByte(text, 0) >= 0 {
		s.text.nul = true
	}
	s.body = append(s.body, text...)
}

// addText adds message text, with a CRLF after it for DATA lines, and holds
// it to the rules of text. Past the size limit it is only counted, never
// stored or checked, so memory stays bounded however much a client sends.
func (s *Session) addText(p []byte, crlf bool) {
	n := int64(len(p))
	if crlf {
		n += 2
	}
	s.size += n
	if s.size > s.srv.cfg.Limits.MessageSize {
		s.tooBig = true
		return
	}
	if crlf {
		s.text.line(p)
		s.body = append(append(s.body, p...), '\r', '\n')
		return
	}
	s.text.write(p)
	s.body = append(s.body, p...)
}

// textCheck holds a message to the rules of text that DATA and BDAT share
// (BDAT too, as this server offers no BINARYMIME: RFC 3030 §3): every line
// ends with CRLF (RFC 5321 §2.3.8, RFC 5322 §2.1), a line holds at most
// Limits.TextLine octets with its CRLF (RFC 5321 §4.5.3.1.6, RFC 5322
// §2.1.1), and no octet is NUL. It takes the text in pieces cut anywhere,
// as BDAT chunks come, and notes what is wrong; the reply waits for the
// end of the message. DATA's line reader has already closed the session
// on a bare LF or CR, so over DATA only the length and NUL can be wrong.
type textCheck struct {
	max     int  // the longest line, CRLF aside
	lineLen int  // octets of the current line so far
	cr      bool // the last octet was a CR: a LF may follow in the next piece

	longLine, nul, bareLF, bareCR bool
}

// line checks one line of DATA text, which the line reader has found
// ended by CRLF, and has no other CR or LF.
func (c *textCheck) line(p []byte) {
	if bytes.IndexByte(p, 0) >= 0 {
		c.nul = true
	}
	c.addLine(len(p))
	c.lineLen = 0
}

// write checks the next piece of BDAT text, cut anywhere. Its line ends
// and NULs are found a word at a time (smtp.ScanLineEnds); the length of
// its lines only needs looking at when one of them could be too long,
// which a piece shorter than the longest line allowed cannot make: then
// only the length of its last line is counted, from its last LF.
func (c *textCheck) write(p []byte) {
	if len(p) == 0 {
		return
	}
	if c.lineLen+1+len(p) > c.max { // +1: a CR of the piece before may count
		c.writeLines(p)
		return
	}
	ends := smtp.ScanLineEnds(smtp.LineEnds{CR: c.cr}, p)
	c.nul = c.nul || ends.NUL
	c.bareCR = c.bareCR || ends.BareCR
	c.bareLF = c.bareLF || ends.BareLF
	if nl := bytes.LastIndexByte(p, '\n'); nl >= 0 {
		c.lineLen = len(p) - nl - 1
	} else {
		if c.cr { // not followed by an LF, which would be p's: bare, so text
			c.lineLen++
		}
		c.lineLen += len(p)
	}
	if ends.CR {
		c.lineLen-- // the CR of a CRLF, or one whose LF is still to come
	}
	c.cr = ends.CR
}

// writeLines is write for a piece that may hold a line too long: it
// looks at each line. The CRs of the piece are counted once, with
// bytes.Count, rather than looked for in every line: a piece holds one
// for each line it ends with CRLF, and one more when it ends with a CR
// whose LF is still to come; any other CR is bare.
func (c *textCheck) writeLines(p []byte) {
	if bytes.IndexByte(p, 0) >= 0 {
		c.nul = true
	}
	crs := bytes.Count(p, []byte{'\r'}) // those not found at the end of a line yet
	for len(p) > 0 {
		if c.cr {
			c.cr = false
			if p[0] == '\n' {
				c.lineLen, p = 0, p[1:]
				continue
			}
			c.bareCR = true
			c.addLine(1)
		}
		nl := bytes.IndexByte(p, '\n')
		seg := p
		if nl >= 0 {
			seg = p[:nl]
		}
		n := len(seg)
		if n > 0 && seg[n-1] == '\r' {
			n-- // the CR of a CRLF, or one whose LF is still to come
			crs--
			c.cr = nl < 0
		}
		c.addLine(n)
		if nl < 0 {
			break
		}
		if n == len(seg) {
			c.bareLF = true
		}
		c.lineLen, p = 0, p[nl+1:]
	}
	if crs > 0 {
		c.bareCR = true
	}
}

func (c *textCheck) addLine(n int) {
	c.lineLen += n
	if c.lineLen > c.max {
		c.longLine = true
	}
}

// end checks the end of the text: a CR there has no LF. A last line
// without CRLF is allowed (RFC 5322 §3.5: body ends with *998text).
func (c *textCheck) end() {
	if c.cr {
		c.bareCR = true
	}
}

// endMessage answers the end of a message, DATA's or BDAT LAST's.
func (s *Session) endMessage() {
	s.phase = phaseCommand
	s.lr.SetMax(s.commandMax())
	defer s.endTransaction()
	// The order is fixed, not "first problem found", so that the reply
	// does not depend on how the input was chunked.
	switch {
	case s.tooBig:
		s.send(replyDataTooBig) // RFC 5321 §4.5.3.1.9 (too much mail data), RFC 1870 §6.3
		return
	}
	// A bare LF or CR can only be found in BDAT text: over DATA they
	// closed the session. Counted chunks keep the stream in step, so the
	// message is refused and the session goes on.
	switch s.text.end(); {
	case s.text.bareLF:
		s.send(replyBareLF)
		return
	case s.text.bareCR:
		s.send(replyBareCR)
		return
	case s.text.longLine:
		s.send(replyTextTooLong) // RFC 5321 §4.5.3.1.6
		return
	case s.text.nul:
		s.send(replyNULData)
		return
	}
	id, r := s.srv.policy.Data(&s.conn, &s.env, s.body)
	queuedAs := r.Code == 0 && id != ""
	if r.Code == 0 {
		r = replyQueued
		if id != "" {
			line := s.buf.queuedLine[:]
			if s.lent { // an earlier reply of this call still shows its own id
				line = make([]string, 1)
			}
			line[0] = queuedAsText + id
			r.Lines = line
		}
	}
	r = policyAnswer(r, replyQueued)
	if r.Positive() {
		m := &s.buf.message
		if s.lent {
			m = new(Message)
		}
		*m = Message{Envelope: s.env, Data: s.body, QueueID: id}
		s.events = append(s.events, Event{Kind: EventMessage, Verb: s.verb, Message: m})
		s.lent = true
		// A client that got a message through is no address guesser:
		// its earlier mistakes are forgiven, as Postfix's smtpd forgets
		// its error count once a message is queued, so that a list
		// server's refused recipients over a long session do not add up
		// to 421. Nor is it only keeping the connection busy: its count
		// of commands that move no mail starts again too.
		s.errors, s.junk = 0, 0
	}
	if queuedAs {
		s.sendQueuedAs(r, id)
		return
	}
	s.send(r)
}

// queuedAsText starts the line of the reply to a message the policy gave
// a queue id: "Ok: queued as <id>", as Postfix says.
const queuedAsText = "Ok: queued as "

// sendQueuedAs queues r, replyQueued with the queue id the policy gave,
// the reply nearly every message gets. An id of printable ASCII that fits
// in the reply line needs nothing of what send does but writing it out:
// the rest of the line, its code and enhanced code, New wrote once. Any
// other id goes through send, which holds it to the wire's rules.
func (s *Session) sendQueuedAs(r smtp.Reply, id string) {
	q := &s.srv.queuedAs
	if len(id) > q.room || !printable(id) {
		s.send(r)
		return
	}
	s.out = append(append(s.out, q.wire...), id...)
	s.out = append(s.out, '\r', '\n')
	s.events = append(s.events, Event{Kind: EventReply, Verb: s.verb, Reply: r})
}

// printable reports whether s is text a reply line may carry as it is:
// printable ASCII and HT (see smtp.Reply.WireSafe).
func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < ' ' && c != '\t') || c > '~' {
			return false
		}
	}
	return true
}

// bdat handles BDAT (RFC 3030 §2). Once its size is known the chunk's
// octets are read whatever the reply, since the client sends them without
// waiting; only then is the reply sent.
//
// The arguments may be apart by more than one space, as Postfix, which
// splits a command into words, reads them.
func (s *Session) bdat(arg []byte) {
	sizeText, rest, _ := bytes.Cut(bytes.TrimLeft(arg, " "), []byte{' '})
	rest = bytes.TrimLeft(rest, " ")
	// string(sizeText) does not escape decimal, so a count that fits in
	// 32 octets is not copied to the heap.
	n, ok := decimal(string(sizeText))
	if !ok {
		// The chunk's length is unknown, so its octets cannot be skipped
		// (replyBdatCount).
		s.close(replyBdatCount)
		return
	}
	last := bytes.EqualFold(rest, []byte("LAST"))
	var reject smtp.Reply
	switch {
	case len(rest) > 0 && !last:
		// The count could be read, so the chunk is skipped all the same
		// rather than read as commands. The message it belonged to has
		// lost it: its transaction is over (RFC 3030 §2: after a refused
		// chunk the client sends no more).
		reject = replySyntaxBdat
		s.endTransaction()
	case s.conn.Hello != "" && !s.conn.ESMTP:
		reject = replyNeedEHLO // CHUNKING is an extension: HELO did not offer it
	case !s.inMail:
		reject = replyNeedMail
	case len(s.env.Rcpts) == 0 && s.rcptRefused:
		reject = replyNoValidRcpts
	case len(s.env.Rcpts) == 0:
		reject = replyNeedRcpt
	case !s.useBDAT:
		s.startMessage()
		s.useBDAT = true
	}
	s.chunkLeft, s.chunkLast, s.chunkReject = n, last, reject
	s.phase = phaseChunk
	if n == 0 {
		s.chunkDone()
	}
}

// chunk takes octets of the current BDAT chunk.
func (s *Session) chunk(p []byte) {
	s.chunkLeft -= int64(len(p))
	if s.chunkReject.Code == 0 {
		s.addText(p, false)
	}
	if s.chunkLeft == 0 {
		s.chunkDone()
	}
}

// chunkDone answers a BDAT chunk once all its octets are in.
func (s *Session) chunkDone() {
	s.phase = phaseCommand
	switch {
	case s.chunkReject.Code != 0:
		r := s.chunkReject
		s.chunkReject = smtp.Reply{}
		if s.chunksDiscarded {
			// The rest of a message whose transaction already failed,
			// pipelined before the client could know: not a client
			// error, so it does not count towards MaxErrors.
			s.send(r)
			return
		}
		s.fail(r)
	case s.chunkLast:
		s.endMessage()
	case s.tooBig:
		// RFC 3030 §2: a chunk may be refused as soon as the message is
		// too big; the transaction is over, later chunks get 503.
		s.send(replyDataTooBig)
		s.endTransaction()
		s.chunksDiscarded = true
	default:
		s.send(reply(250, "2.0.0", smtp.ReasonChunkAccepted, "Ok: "+strconv.FormatInt(s.size, 10)+" octets received"))
	}
}
