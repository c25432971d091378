// Package server is SMTP Lab's SMTP server: a state machine that takes the
// bytes a client sent and gives back the reply bytes to send and typed events
// saying what happened.
//
// It is sans-IO. A Session never reads a socket, starts a goroutine, looks at
// a clock or draws a random number; a driver does all of that and feeds it:
//
//	sess := srv.NewSession(server.SessionOptions{Remote: "192.0.2.7"})
//	write(sess.Output())                   // the 220 greeting
//	for {
//		set a read deadline of sess.Deadline()
//		n, err := read(buf)                 // on a timeout: sess.Timeout()
//		sess.Feed(buf[:n])
//		write(sess.Output())
//		for _, ev := range sess.Events() {  // EventStartTLS, EventClose, ...
//			...
//		}
//	}
//
// Because the machine only sees bytes, the simulated network in the browser,
// the real TCP bridge (package driver) and the tests all run the very same
// code, and any chunking of the input — one byte at a time or a whole
// pipelined batch — gives the same output.
//
// What a server decides — whether a sender, a recipient or a message is
// welcome, whose password is right, which queue id a message gets — comes
// from a Policy, so the simulated world's mail transfer agent and the real
// bridge plug their own rules into the same machine. A Role (MX on port 25,
// submission on 587, submissions with implicit TLS on 465) sets what must
// happen before MAIL.
//
// The rules and the RFC sections they come from:
//
//   - RFC 5321: command sequencing (§4.3.2, §3.3), replies (§4.2), limits
//     (§4.5.3.1) and server timeouts (§4.5.3.2)
//   - RFC 1870 SIZE, RFC 6152 8BITMIME, RFC 2920 PIPELINING, RFC 2034 and
//     RFC 3463 enhanced status codes, RFC 6531 SMTPUTF8, RFC 3030 CHUNKING,
//     RFC 3461 DSN, RFC 3207 STARTTLS, RFC 4954 AUTH (RFC 4616 PLAIN,
//     RFC 2195 CRAM-MD5, and the de facto LOGIN)
//   - the 2023 "SMTP smuggling" attacks: only CRLF.CRLF ends a message, and
//     a bare LF or bare CR in a command or after DATA closes the session.
//     Postfix's smtpd_forbid_bare_newline = reject closes too on a bare LF
//     in a command, but reads message text on to CRLF.CRLF and refuses the
//     message there; it has no check for bare CR (bridge's
//     TestPostfixDifferential shows both). BDAT text, counted in
//     octets, has no end to fake, but without BINARYMIME it is held to the
//     same rules of text (RFC 3030 §3): a bare LF or CR, a line over 1000
//     octets or a NUL refuses the message, and the session goes on.
//   - cross-protocol requests: a command line that starts as a web request
//     (GET, POST, CONNECT) is answered 221 2.7.0 and the session ends at
//     once, as Postfix's smtpd_forbidden_commands does, so that the header
//     lines and the body a web page had a browser send are never read as
//     commands.
//   - what it takes as it comes, as Postfix does: octets beyond ASCII in the
//     content without BODY=8BITMIME, and raw UTF-8 in the message's header
//     without SMTPUTF8. RFC 6532 §3 allows such a header only in an SMTPUTF8
//     transaction (RFC 6531 §3.4), and a server could refuse it after the
//     content with 550 5.6.9; but mail with 8-bit headers was sent long
//     before SMTPUTF8, and Postfix takes it so as not to break those mail
//     flows (its SMTPUTF8_README, "Compatibility with pre-SMTPUTF8
//     environments"). Envelope.UTF8 says whether the client asked. What the
//     lab sends on is held to the rule by package client: a relay passes
//     such a message on with SMTPUTF8, or returns it to its sender when the
//     next hop does not offer SMTPUTF8.
package server
