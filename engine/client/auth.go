package client

import (
	"crypto/hmac"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"fmt"

	"smtplab/engine/smtp"
)

// startAuth begins AUTH (RFC 4954) with the best mechanism both sides know,
// unless credentials would cross the wire in plaintext, or to a server
// whose certificate did not verify, against the policy.
func (c *Client) startAuth() {
	offered := c.ext.Auth
	if c.cfg.Mechanisms != 0 {
		offered &= c.cfg.Mechanisms
	}
	m := offered.best()
	switch {
	case !c.tls && !c.cfg.AllowPlaintextAuth:
		c.settleOpen(replyRef{}, &Error{Status: Deferred, Enhanced: "4.7.11", Reason: smtp.ReasonAuthNeedsTLS,
			Text: "the server asks for AUTH before TLS; the credentials are not sent in plaintext"})
		c.quit()
		return
	case c.tls && c.unverified != nil && !c.cfg.AllowUnverifiedAuth:
		// X.7.5, "cryptographic failure" (RFC 3463 §3.8), as Postfix
		// reports a certificate that did not verify.
		c.settleOpen(replyRef{}, &Error{Status: Deferred, Enhanced: "4.7.5", Reason: ReasonAuthUnverifiedTLS,
			Text: fmt.Sprintf("the server's certificate did not verify (%v); the credentials are not sent to a server that may be anyone", c.unverified)})
		c.quit()
		return
	case m == 0:
		c.settleOpen(replyRef{}, &Error{Status: Deferred, Enhanced: "4.7.4", Reason: ReasonNoAuthMechanism,
			Text: fmt.Sprintf("the server offers AUTH, but no mechanism the client may use (%v)", allOr(c.cfg.Mechanisms))})
		c.quit()
		return
	}
	c.mech, c.authStep = m, 0
	start := len(c.out)
	c.out = append(c.out, "AUTH "...)
	c.out = append(c.out, m.name()...)
	if m == PLAIN {
		// The initial response (RFC 4954 §4) saves a round trip:
		// authorization identity (empty), NUL, user, NUL, password (RFC 4616).
		c.scratch = append(c.scratch[:0], 0)
		c.scratch = append(c.scratch, c.cfg.Auth.Username...)
		c.scratch = append(c.scratch, 0)
		c.scratch = append(c.scratch, c.cfg.Auth.Password...)
		c.out = append(c.out, ' ')
		c.out = base64.StdEncoding.AppendEncode(c.out, c.scratch)
	}
	c.command(start, awaited{what: awaitAUTH, verb: smtp.AUTH}, m == PLAIN)
}

func allOr(m Mechanism) Mechanism {
	if m == 0 {
		return CRAMMD5 | PLAIN | LOGIN
	}
	return m
}

// authContinue answers a 334 challenge (raw is the whole reply). A
// challenge the mechanism does not expect is answered with "*", which
// cancels the exchange (RFC 4954 §4).
func (c *Client) authContinue(raw []byte) {
	if c.authCancelled {
		// RFC 4954 §4: the server MUST answer "*" with 501. One that
		// challenges again would be answered "*" for as long as it went
		// on: it is not speaking the protocol.
		c.protocolError(raw[:len(raw)-2])
		return
	}
	challenge, ok := decodeChallenge(raw, c.scratch[:0])
	start := len(c.out)
	answer, respond := c.scratch[:0], true
	switch {
	case c.mech == LOGIN && c.authStep == 1:
		answer = append(answer, c.cfg.Auth.Username...)
	case c.mech == LOGIN && c.authStep == 2:
		answer = append(answer, c.cfg.Auth.Password...)
	case c.mech == CRAMMD5 && c.authStep == 1 && ok:
		// RFC 2195: user name, space, hex HMAC-MD5 of the challenge keyed
		// with the password.
		mac := hmac.New(md5.New, []byte(c.cfg.Auth.Password))
		mac.Write(challenge)
		var sum [md5.Size]byte
		answer = append(answer, c.cfg.Auth.Username...)
		answer = append(answer, ' ')
		answer = hex.AppendEncode(answer, mac.Sum(sum[:0]))
	default:
		respond = false
	}
	if !respond {
		c.authCancelled = true
		c.out = append(c.out, '*')
		c.command(start, awaited{what: awaitAUTH, verb: smtp.AUTH}, false)
		return
	}
	c.out = base64.StdEncoding.AppendEncode(c.out, answer)
	c.scratch = answer[:0]
	c.command(start, awaited{what: awaitAUTH, verb: smtp.AUTH}, true)
}

// decodeChallenge returns the base64 text of a one-line 334 reply, decoded.
func decodeChallenge(raw, buf []byte) ([]byte, bool) {
	if len(raw) < 6 {
		return nil, false
	}
	text := raw[4 : len(raw)-2]
	out, err := base64.StdEncoding.AppendDecode(buf, text)
	return out, err == nil
}
