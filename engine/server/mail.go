package server

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"smtplab/engine/smtp"
)

// mail handles MAIL FROM (RFC 5321 §4.1.1.2).
func (s *Session) mail(arg string) {
	lim := s.srv.cfg.Limits
	switch {
	case s.conn.Hello == "":
		s.fail(replyNeedHello)
		return
	case s.srv.cfg.Role.requiresAuth() && !s.conn.TLS:
		s.fail(replyTLSRequired)
		return
	case s.srv.cfg.Role.requiresAuth() && s.conn.AuthUser == "":
		s.fail(replyAuthNeeded)
		return
	case s.inMail:
		s.fail(replyNestedMail)
		return
	case !hasPrefixFold(arg, "FROM:"):
		s.fail(replySyntaxMail)
		return
	}
	from, params, err := s.buf.mailArg.parse(arg, lim, false, func(dst smtp.Params) (smtp.Path, smtp.Params, error) {
		return smtp.AppendMailArg(dst, arg, lim)
	})
	if err != nil {
		s.fail(argError(err, 550, "5.1.7", smtp.ReasonBadSender, "Bad sender address syntax: "))
		return
	}
	rcpts := s.env.Rcpts[:0]
	if s.lent { // an EventMessage of this call still shows the old list
		rcpts = nil
	}
	s.env = Envelope{From: from, Rcpts: rcpts}
	if r := s.mailParams(params); r.Code != 0 {
		s.fail(r)
		return
	}
	if s.env.Size > lim.MessageSize {
		s.send(replyMailTooBig) // RFC 1870 §6.2: refuse now rather than after the data
		return
	}
	r := policyAnswer(s.srv.policy.Mail(&s.conn, &s.env), replySenderOK)
	if !r.Positive() {
		s.refuse(r)
		return
	}
	s.send(r)
	s.endTransaction()
	s.inMail = true
}

// parsedArg is the last argument of MAIL, or of RCPT, that parsed, with
// the rules it was parsed under and what it gave. A relay sends the same
// sender and recipients in transaction after transaction, each a path and
// parameters checked octet by octet: the same argument under the same
// rules is taken from here rather than parsed again. Like recentArgs, it
// lasts across the sessions of a Session that is Reset.
type parsedArg struct {
	arg    string
	lim    smtp.Limits
	utf8   bool // RCPT's: the transaction's SMTPUTF8
	path   smtp.Path
	params smtp.Params // in array, the parameters of the last argument parsed
	array  [4]smtp.Param
}

// parse returns what parse, given an empty list to append the parameters
// to, makes of arg under lim and utf8: from the last time when arg, lim
// and utf8 are the same. The parameters are valid until the next call.
func (p *parsedArg) parse(arg string, lim smtp.Limits, utf8 bool, parse func(dst smtp.Params) (smtp.Path, smtp.Params, error)) (smtp.Path, smtp.Params, error) {
	if p.arg != "" && p.arg == arg && p.lim == lim && p.utf8 == utf8 {
		return p.path, p.params, nil
	}
	p.arg = "" // until parse succeeds, as it writes into the array
	path, params, err := parse(p.array[:0])
	if err != nil {
		return path, params, err
	}
	p.arg, p.lim, p.utf8, p.path, p.params = arg, lim, utf8, path, params
	return path, params, nil
}

// rcpt handles RCPT TO (RFC 5321 §4.1.1.3).
func (s *Session) rcpt(arg string) {
	lim := s.srv.cfg.Limits
	switch {
	case !s.inMail:
		s.fail(replyNeedMail)
		return
	case s.useBDAT:
		// The first BDAT chunk started the message: its recipients are
		// all known by then (RFC 5321 §3.3, RFC 3030 §2).
		s.fail(replyRcptAfterBDAT)
		return
	case !hasPrefixFold(arg, "TO:"):
		s.fail(replySyntaxRcpt)
		return
	}
	to, params, err := s.buf.rcptArg.parse(arg, lim, s.env.UTF8, func(dst smtp.Params) (smtp.Path, smtp.Params, error) {
		return smtp.AppendRcptArg(dst, arg, lim, s.env.UTF8)
	})
	if err != nil {
		s.fail(argError(err, 553, "5.1.3", smtp.ReasonBadRecipient, "Bad recipient address syntax: "))
		return
	}
	rc := Recipient{Path: to}
	if r := s.rcptParams(&rc, params); r.Code != 0 {
		s.fail(r)
		return
	}
	if len(s.env.Rcpts) >= lim.Recipients {
		s.send(replyTooManyRcpts) // RFC 5321 §4.5.3.1.10
		return
	}
	r := policyAnswer(s.srv.policy.Rcpt(&s.conn, &s.env, rc), replyRcptOK)
	switch {
	case r.Positive():
		s.send(r)
		s.env.Rcpts = append(s.env.Rcpts, rc)
	default:
		s.rcptRefused = true
		s.refuse(r)
	}
}

// argError turns an error from smtp.ParseMailArg or ParseRcptArg into a
// reply. A syntax problem in the address gets 501 with the enhanced code
// addr (5.1.7 for a sender, 5.1.3 for a recipient, RFC 3463 §3.2), a
// parameter problem 501 5.5.4. An address that is well formed but needs
// SMTPUTF8, which the client did not give, gets utf8Code with 5.6.7: 550 for
// MAIL, 553 for RCPT (RFC 6531 §3.5).
func argError(err error, utf8Code int, addr string, reason smtp.Reason, prefix string) smtp.Reply {
	var pe *smtp.PathError
	if errors.As(err, &pe) {
		if pe.Field == "utf8" {
			return reply(utf8Code, "5.6.7", smtp.ReasonUTF8Required, pe.Why)
		}
		return reply(501, addr, reason, prefix+pe.Why)
	}
	var pa *smtp.ParamError
	if errors.As(err, &pa) {
		return reply(501, "5.5.4", smtp.ReasonSyntax, "Bad parameter "+pa.Param+": "+pa.Why)
	}
	return reply(501, "5.5.4", smtp.ReasonSyntax, err.Error())
}

func paramError(text string) smtp.Reply { return reply(501, "5.5.4", smtp.ReasonSyntax, text) }

// unknownParam is the reply to a parameter the server did not advertise
// (RFC 5321 §4.1.1.11: 555).
func unknownParam(key string) smtp.Reply {
	return reply(555, "5.5.4", smtp.ReasonParamNotImpl, "Unsupported option: "+key)
}

// mailParams checks the MAIL parameters and stores them in s.env. It
// returns the zero Reply when they are all fine.
func (s *Session) mailParams(params smtp.Params) smtp.Reply {
	if len(params) > 0 && !s.conn.ESMTP {
		return reply(555, "5.5.4", smtp.ReasonParamNotImpl, "Error: parameters need EHLO, not HELO")
	}
	env := &s.env
	for _, p := range params {
		if !p.Set && needsValue(p.Key) {
			return paramError("Error: " + p.Key + " needs a value")
		}
		switch p.Key {
		case "SIZE": // RFC 1870 §3: size-value = 1*20DIGIT
			if len(p.Value) > 20 || !allDigits(p.Value) {
				return paramError("Bad SIZE syntax: a number of octets is expected")
			}
			n, ok := decimal(p.Value)
			if !ok {
				n = math.MaxInt64 // 20 digits may not fit, and are certainly too many
			}
			env.Size = n
		case "BODY": // RFC 6152
			v, ok := oneOf(p.Value, "7BIT", "8BITMIME")
			switch {
			case !ok && strings.EqualFold(p.Value, "BINARYMIME"):
				// A value RFC 3030 §3 defines, for an extension this
				// server does not advertise: not implemented here (RFC
				// 5321 §4.1.1.11), like AUTH= where AUTH is not offered,
				// rather than a syntax error.
				return reply(555, "5.5.4", smtp.ReasonParamNotImpl, "Unsupported option: BODY=BINARYMIME, this server offers no BINARYMIME")
			case !ok:
				return paramError("Unsupported BODY type: 7BIT or 8BITMIME")
			}
			env.Body = v
		case "SMTPUTF8": // RFC 6531 §3.4
			if p.Set {
				return paramError("Error: SMTPUTF8 takes no value")
			}
			env.UTF8 = true
		case "RET": // RFC 3461 §4.3
			if s.srv.cfg.NoDSN {
				return unknownParam(p.Key)
			}
			v, ok := oneOf(p.Value, "FULL", "HDRS")
			if !ok {
				return paramError("Bad RET value: FULL or HDRS")
			}
			env.Ret = v
		case "ENVID": // RFC 3461 §4.4: xtext, at most 100 characters
			if s.srv.cfg.NoDSN {
				return unknownParam(p.Key)
			}
			// Decoded, it must be printable: a DSN copies it into its
			// Original-Envelope-Id field, where a CR or LF would end the
			// field and start one the sender chose.
			v, err := smtp.DecodeXtext(p.Value)
			if err != nil || len(v) > 100 || hasControl(v) {
				return paramError("Bad ENVID value: xtext of at most 100 printable characters")
			}
			env.EnvID = v
		case "AUTH": // RFC 4954 §5
			if !s.offersAuth() {
				return unknownParam(p.Key) // not advertised here (RFC 5321 §4.1.1.11)
			}
			v, err := smtp.DecodeXtext(p.Value)
			if err != nil {
				return paramError("Bad AUTH value: xtext expected")
			}
			env.Auth = v
		default:
			return unknownParam(p.Key)
		}
	}
	return smtp.Reply{}
}

// rcptParams checks the RCPT parameters (RFC 3461 §4.1, §4.2) and stores
// them in rc.
func (s *Session) rcptParams(rc *Recipient, params smtp.Params) smtp.Reply {
	if len(params) > 0 && !s.conn.ESMTP {
		return reply(555, "5.5.4", smtp.ReasonParamNotImpl, "Error: parameters need EHLO, not HELO")
	}
	for _, p := range params {
		if !p.Set && needsValue(p.Key) {
			return paramError("Error: " + p.Key + " needs a value")
		}
		if s.srv.cfg.NoDSN && (p.Key == "NOTIFY" || p.Key == "ORCPT") {
			return unknownParam(p.Key)
		}
		switch p.Key {
		case "NOTIFY":
			n, ok := parseNotify(p.Value)
			if !ok {
				return paramError("Bad NOTIFY value: NEVER, or a list of SUCCESS, FAILURE, DELAY")
			}
			rc.Notify = n
		case "ORCPT":
			// RFC 3461 §4.2 caps the value, "addr-type;address" as
			// written, at 500 characters; they are counted as octets
			// here, as the 500 octets RFC 3461 §5 adds to the RCPT line
			// are, so a unitext address of UTF-8 (RFC 6533 §3) counts
			// each octet of a character.
			if len(p.Value) > smtp.MaxORcpt {
				return paramError(fmt.Sprintf("Bad ORCPT value: %d characters, at most %d are allowed (RFC 3461 section 4.2)", len(p.Value), smtp.MaxORcpt))
			}
			// The address type is a registered name such as rfc822 or
			// utf-8 (RFC 3464 §2.3.1); the address, decoded, must be
			// printable for the DSN's Original-Recipient field, like
			// ENVID: printable ASCII unless the type is utf-8 (RFC 3461
			// §4.2: "+C3+B6" decodes to octets, not to an ö).
			typ, addr, ok := strings.Cut(p.Value, ";")
			v, err := orcptAddress(typ, addr, s.env.UTF8)
			if ok && isAddrType(typ) && err == nil && !strings.EqualFold(typ, "utf-8") && !smtp.IsASCII(v) {
				return paramError(`Bad ORCPT value: an address of type ` + typ + ` is ASCII; write one beyond ASCII as utf-8;j\x{F6}rg@example.org (RFC 3461 section 4.2, RFC 6533 section 3)`)
			}
			if !ok || !isAddrType(typ) || addr == "" || err != nil || hasControl(v) {
				if ok && addr != "" && err != nil && strings.EqualFold(typ, "utf-8") {
					return paramError(`Bad ORCPT value: in a utf-8 address, '+', '=', '\' and (without SMTPUTF8) non-ASCII characters are written \x{HEX}, like utf-8;j\x{F6}rg@example.org (RFC 6533 section 3)`)
				}
				return paramError("Bad ORCPT value: addr-type;xtext expected, like rfc822;bob@example.org")
			}
			rc.ORcpt = typ + ";" + v
		default:
			return unknownParam(p.Key)
		}
	}
	return smtp.Reply{}
}

// orcptAddress decodes the address of an ORCPT: xtext (RFC 3461 §4.2),
// except for the type utf-8, whose address RFC 6533 §3 writes otherwise:
// '+' is no escape but a character that must itself be escaped, and
// \x{F6} stands for ö (utf-8-addr-xtext); with SMTPUTF8 the address may
// also be in UTF-8 itself (utf-8-addr-unitext).
func orcptAddress(typ, addr string, utf8ok bool) (string, error) {
	if strings.EqualFold(typ, "utf-8") {
		return smtp.DecodeUTF8Addr(addr, utf8ok)
	}
	return smtp.DecodeXtext(addr)
}

// needsValue reports whether key is a parameter this server knows and that
// takes a value. An unknown one gets 555 whether or not it has a value
// (RFC 5321 §4.1.1.11), so it is not asked for one first.
func needsValue(key string) bool {
	switch key {
	case "SIZE", "BODY", "RET", "ENVID", "AUTH", "NOTIFY", "ORCPT":
		return true
	}
	return false
}

// parseNotify parses "NEVER" or a comma list of SUCCESS, FAILURE and DELAY
// (RFC 3461 §4.1), with no empty item: "SUCCESS," is as wrong as
// "SUCCESS,,FAILURE".
func parseNotify(v string) (Notify, bool) {
	var n Notify
	for word := range strings.SplitSeq(v, ",") {
		switch {
		case strings.EqualFold(word, "NEVER"):
			n |= NotifyNever
		case strings.EqualFold(word, "SUCCESS"):
			n |= NotifySuccess
		case strings.EqualFold(word, "FAILURE"):
			n |= NotifyFailure
		case strings.EqualFold(word, "DELAY"):
			n |= NotifyDelay
		default:
			return 0, false
		}
	}
	if n == 0 || (n&NotifyNever != 0 && n != NotifyNever) {
		return 0, false
	}
	return n, true
}

// isAddrType reports whether s can name an address type: letters, digits
// and hyphens, like the registered rfc822, utf-8, x400 and unknown.
func isAddrType(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// hasControl reports whether s has a control byte (CR, LF, NUL, DEL...).
func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return true
		}
	}
	return false
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// decimal returns the number s writes in decimal digits, and false when s
// is not one or more digits or the number does not fit 64 bits. The
// counts of BDAT and SIZE are read with it, a few digits for every
// message: up to 18 digits cannot overflow, and are added up here rather
// than by strconv, which also reads signs and reports errors.
func decimal(s string) (int64, bool) {
	if len(s) > 18 {
		n, err := strconv.ParseInt(s, 10, 64)
		return n, err == nil && allDigits(s)
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i] - '0'
		if c > 9 {
			return 0, false
		}
		n = n*10 + int64(c)
	}
	return n, s != ""
}

// oneOf returns the keyword among choices that v names, ignoring case as
// ESMTP keywords are (RFC 5321 §2.4), written as choices writes it.
func oneOf(v string, choices ...string) (string, bool) {
	for _, c := range choices {
		if strings.EqualFold(v, c) {
			return c, true
		}
	}
	return "", false
}
