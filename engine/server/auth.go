package server

import (
	"bytes"
	"encoding/base64"
	"strings"

	"smtplab/engine/smtp"
)

// auth handles AUTH (RFC 4954 §4).
func (s *Session) auth(arg string) {
	mech, initial, hasInitial := strings.Cut(arg, " ")
	switch {
	case !s.srv.cfg.Role.requiresAuth():
		s.fail(replyNoAuth)
		return
	case !s.conn.ESMTP:
		s.fail(replyNeedEHLO)
		return
	case s.conn.AuthUser != "":
		s.fail(replyAuthDone) // RFC 4954 §4: once authenticated, no second AUTH
		return
	case s.inMail:
		s.fail(replyInTransaction) // RFC 4954 §4: not during a mail transaction
		return
	case mech == "" || (hasInitial && initial == ""):
		s.fail(replySyntaxAuth)
		return
	}
	switch {
	case strings.EqualFold(mech, "PLAIN"):
		s.authMech = "PLAIN"
	case strings.EqualFold(mech, "LOGIN"):
		s.authMech = "LOGIN"
	case strings.EqualFold(mech, "CRAM-MD5") && s.opt.Nonce != "":
		s.authMech = "CRAM-MD5"
	default:
		s.fail(replyAuthMech)
		return
	}
	if !s.conn.TLS {
		s.fail(replyAuthNeedTLS) // RFC 4954 §6: 538 5.7.11
		return
	}
	s.authUser = ""
	switch s.authMech {
	case "PLAIN":
		if hasInitial {
			s.authResponse(initial)
			return
		}
		s.authAsk(replyAuthPlain)
	case "LOGIN":
		if hasInitial {
			s.authResponse(initial)
			return
		}
		s.authAsk(replyAuthUser)
	case "CRAM-MD5":
		if hasInitial {
			// RFC 4954 §4: the client speaks second in CRAM-MD5.
			s.fail(replySyntaxAuth)
			return
		}
		s.challenge = "<" + s.opt.Nonce + "@" + s.srv.cfg.Hostname + ">"
		s.authAsk(reply(334, "", smtp.ReasonAuthChallenge, base64.StdEncoding.EncodeToString([]byte(s.challenge))))
	}
}

// authAsk sends a 334 challenge and waits for the response line.
func (s *Session) authAsk(r smtp.Reply) {
	s.send(r)
	s.phase = phaseAuth
}

// authLine handles a line answering a 334 challenge.
func (s *Session) authLine(line []byte, flaw smtp.LineFlaw) {
	s.events = append(s.events, Event{Kind: EventAuthResponse, Verb: smtp.AUTH, Line: line})
	s.phase = phaseCommand
	switch flaw {
	case smtp.LineBareLF:
		s.close(replyBareLF)
	case smtp.LineBareCR:
		s.close(replyBareCR)
	case smtp.LineTooLong:
		s.fail(replyAuthTooLong) // RFC 4954 §4: 500 5.5.6
	default:
		if len(line) == 1 && line[0] == '*' {
			s.send(replyAuthCancel) // RFC 4954 §4: the client gave up
			return
		}
		s.authResponse(string(line))
	}
}

// authResponse takes one base64 response ("=" is the empty one, for an
// initial response) and either finishes the exchange or asks again.
func (s *Session) authResponse(b64 string) {
	if b64 == "=" {
		b64 = ""
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		s.fail(replyAuthDecode) // RFC 4954 §4: 501 for bad base64
		return
	}
	switch s.authMech {
	case "PLAIN": // RFC 4616: authzid NUL authcid NUL passwd
		parts := bytes.Split(raw, []byte{0})
		if len(parts) != 3 || len(parts[1]) == 0 {
			s.fail(replyPlainParts)
			return
		}
		s.authCheck(Credentials{Mechanism: "PLAIN", Identity: string(parts[0]), Username: string(parts[1]), Password: string(parts[2])})
	case "LOGIN":
		if s.authUser == "" {
			if len(raw) == 0 {
				s.fail(replyLoginEmpty)
				return
			}
			s.authUser = string(raw)
			s.authAsk(replyAuthPass)
			return
		}
		s.authCheck(Credentials{Mechanism: "LOGIN", Username: s.authUser, Password: string(raw)})
	case "CRAM-MD5": // RFC 2195: "user hexdigest"
		i := bytes.LastIndexByte(raw, ' ')
		if i <= 0 {
			s.fail(replyCRAMParts)
			return
		}
		s.authCheck(Credentials{Mechanism: "CRAM-MD5", Username: string(raw[:i]), Challenge: s.challenge, Digest: string(raw[i+1:])})
	}
}

// authCheck asks the Policy. Refusals count as errors, so guessing
// passwords ends with 421 after Limits.MaxErrors tries.
func (s *Session) authCheck(cred Credentials) {
	s.authUser = ""
	r := s.srv.policy.Authenticate(&s.conn, cred)
	if r.Class() != 2 {
		if r.Code == 0 {
			r = replyAuthFailed
		}
		s.fail(policyAnswer(r, replyAuthFailed))
		return
	}
	s.conn.AuthUser = cred.Username
	s.send(policyAnswer(r, replyAuthOK))
}
