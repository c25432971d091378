// Package client is the SMTP client as a state machine: an envelope and a
// message go in, command bytes come out, reply bytes go in (in any
// chunking), and per-recipient results and a final outcome come out.
//
// The machine never touches a socket, a clock or a random number. A driver
// moves the bytes: the simulated network of the lab, the real-network driver
// in package driver, or a test that plays a scripted server. The loop every
// driver runs is the same:
//
//	c, err := client.New(cfg, env, msg)
//	for {
//		write(c.Output())          // commands to send, possibly several (PIPELINING)
//		switch c.Action() {
//		case client.ActionRead:     // read what the server sent and Feed it
//			c.Feed(read())
//		case client.ActionStartTLS: // 220 to STARTTLS: handshake, then
//			c.TLSStarted(unverified) // nil: the certificate verified
//			                         // (or c.TLSFailed(err))
//		case client.ActionClose:    // the session is over
//			return c.Outcome()
//		}
//	}
//
// What the machine does, in the order of a session (RFC 5321 §3 and §4):
// wait for the 220 greeting; EHLO, falling back to HELO when the server does
// not know EHLO (500/502); STARTTLS according to the TLS policy (RFC 3207),
// then EHLO again; AUTH with the best mechanism both sides know (RFC 4954:
// CRAM-MD5, PLAIN, LOGIN), never before TLS nor to a server whose
// certificate did not verify, unless the configuration allows it; MAIL
// with SIZE, BODY=8BITMIME, SMTPUTF8 and DSN parameters as the server
// offers and the message needs them (RFC 1870, 6152, 6531, 3461);
// one RCPT per recipient; the content with DATA and dot-stuffing, or with
// BDAT chunks when the server offers CHUNKING (RFC 3030); QUIT. With
// PIPELINING (RFC 2920) MAIL, every RCPT and DATA go out as one batch and
// the replies are matched to them in order.
//
// Every recipient ends Delivered, Deferred (a 4xx: try again later) or
// Bounced (a 5xx: do not try again), with the reply that decided it, or
// with an *Error when the client itself decided (a policy, a size limit, a
// lost connection). Config.Trace receives a typed Event for every command
// sent and every reply received, so a simulated world can trace the session.
package client
