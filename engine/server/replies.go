package server

import "smtplab/engine/smtp"

// The fixed replies. They are values, never modified: a session appends
// their wire form to its output without building any text.
//
// The texts follow Postfix's where it has one, so what a learner sees here
// is what a real server says.
func reply(code int, enhanced string, reason smtp.Reason, text string) smtp.Reply {
	return smtp.Reply{Code: code, Enhanced: enhanced, Lines: []string{text}, Reason: reason}
}

var (
	replyOK        = reply(250, "2.0.0", smtp.ReasonNoop, "Ok")
	replyReset     = reply(250, "2.0.0", smtp.ReasonReset, "Ok")
	replySenderOK  = reply(250, "2.1.0", smtp.ReasonSenderOK, "Ok")
	replyRcptOK    = reply(250, "2.1.5", smtp.ReasonRecipientOK, "Ok")
	replyStartData = reply(354, "", smtp.ReasonStartData, "End data with <CR><LF>.<CR><LF>")
	replyQueued    = reply(250, "2.0.0", smtp.ReasonMessageAccepted, "Ok: queued")
	replyVerify    = reply(252, "2.5.0", smtp.ReasonVerify, "Cannot VRFY user, but will accept message and attempt delivery")
	replyClosing   = reply(221, "2.0.0", smtp.ReasonClosing, "Bye")
	// A line that starts as a web request does: an HTTP client, or a web
	// page that had the browser send a request to the mail port, so that
	// the lines of its headers and body are taken for commands (a
	// cross-protocol attack). Postfix's smtpd_forbidden_commands hangs up
	// at once, with 221 2.7.0, rather than answer each line; the code and
	// enhanced code are Postfix's, the words the lab's.
	replyNotSMTP   = reply(221, "2.7.0", smtp.ReasonNotSMTP, "Error: this is a mail server, not a web server. Goodbye")
	replyStartTLS  = reply(220, "2.0.0", smtp.ReasonStartTLS, "Ready to start TLS")
	replyAuthOK    = reply(235, "2.7.0", smtp.ReasonAuthOK, "Authentication successful")
	replyAuthPlain = reply(334, "", smtp.ReasonAuthChallenge, "")
	replyAuthUser  = reply(334, "", smtp.ReasonAuthChallenge, "VXNlcm5hbWU6") // "Username:"
	replyAuthPass  = reply(334, "", smtp.ReasonAuthChallenge, "UGFzc3dvcmQ6") // "Password:"

	replyTooManyRcpts = reply(452, "4.5.3", smtp.ReasonTooManyRcpts, "Error: too many recipients")

	replyUnknown       = reply(500, "5.5.1", smtp.ReasonUnknownCommand, "Error: command not recognized")
	replyBadLine       = reply(500, "5.5.2", smtp.ReasonUnknownCommand, "Error: bad syntax, a command is a verb of letters and its arguments")
	replyLineTooLong   = reply(500, "5.5.2", smtp.ReasonLineTooLong, "Error: line too long")
	replyAuthTooLong   = reply(500, "5.5.6", smtp.ReasonLineTooLong, "Authentication exchange line is too long")
	replyTextTooLong   = reply(500, "5.6.0", smtp.ReasonLineTooLong, "Error: message has a line longer than 1000 octets")
	replyNULCommand    = reply(500, "5.5.2", smtp.ReasonNUL, "Error: NUL character in command line")
	replyNULData       = reply(550, "5.6.0", smtp.ReasonNUL, "Error: message contains a NUL character")
	replyNotImpl       = reply(502, "5.5.1", smtp.ReasonNotImplemented, "Error: command not implemented")
	replyNoTLS         = reply(502, "5.5.1", smtp.ReasonNotImplemented, "Error: STARTTLS is not available here")
	replyNoAuth        = reply(502, "5.5.1", smtp.ReasonNotImplemented, "Error: authentication is not offered here")
	replyExpn          = reply(502, "5.5.1", smtp.ReasonNotImplemented, "Error: EXPN is disabled")
	replyNeedHello     = reply(503, "5.5.1", smtp.ReasonBadSequence, "Error: send HELO/EHLO first")
	replyNeedEHLO      = reply(503, "5.5.1", smtp.ReasonBadSequence, "Error: send EHLO first")
	replyNestedMail    = reply(503, "5.5.1", smtp.ReasonBadSequence, "Error: nested MAIL command")
	replyNeedMail      = reply(503, "5.5.1", smtp.ReasonBadSequence, "Error: need MAIL command")
	replyNeedRcpt      = reply(503, "5.5.1", smtp.ReasonBadSequence, "Error: need RCPT command")
	replyInTransaction = reply(503, "5.5.1", smtp.ReasonBadSequence, "Error: MAIL transaction in progress")
	replyTLSActive     = reply(554, "5.5.1", smtp.ReasonTLSActive, "Error: TLS already active") // Postfix's words and code
	replyAuthDone      = reply(503, "5.5.1", smtp.ReasonAuthDone, "Error: already authenticated")
	replyMixedData     = reply(503, "5.5.1", smtp.ReasonBadSequence, "Error: DATA and BDAT cannot be mixed in one transaction")
	replyRcptAfterBDAT = reply(503, "5.5.1", smtp.ReasonBadSequence, "Error: RCPT after BDAT")
	replyNoService     = reply(503, "5.5.1", smtp.ReasonBadSequence, "Error: no SMTP service here, send QUIT")
	replyNoValidRcpts  = reply(554, "5.5.1", smtp.ReasonTransaction, "Error: no valid recipients")

	replySyntaxHelo = reply(501, "5.5.4", smtp.ReasonSyntax, "Syntax: HELO hostname")
	replySyntaxEhlo = reply(501, "5.5.4", smtp.ReasonSyntax, "Syntax: EHLO hostname")
	replyHelloASCII = reply(501, "5.5.4", smtp.ReasonSyntax, "Invalid hostname: a name that is not ASCII must be sent in its A-label form, xn--... (RFC 6531 section 3.7.1)")
	replySyntaxMail = reply(501, "5.5.4", smtp.ReasonSyntax, "Syntax: MAIL FROM:<address>")
	replySyntaxRcpt = reply(501, "5.5.4", smtp.ReasonSyntax, "Syntax: RCPT TO:<address>")
	replySyntaxNone = reply(501, "5.5.4", smtp.ReasonSyntax, "Syntax error: this command takes no argument")
	replySyntaxVrfy = reply(501, "5.5.4", smtp.ReasonSyntax, "Syntax: VRFY address")
	replySyntaxBdat = reply(501, "5.5.4", smtp.ReasonSyntax, "Syntax: BDAT count [LAST]")
	// A BDAT whose count cannot be read leaves the server not knowing where
	// its chunk ends: read as commands, the chunk's octets could be taken
	// for a client's (SMTP smuggling), so the server hangs up, as Postfix
	// does, with its reply.
	replyBdatCount   = reply(521, "5.5.4", smtp.ReasonBDATCount, "Syntax: BDAT count [LAST]")
	replySyntaxAuth  = reply(501, "5.5.4", smtp.ReasonSyntax, "Syntax: AUTH mechanism [initial-response]")
	replyAuthDecode  = reply(501, "5.5.2", smtp.ReasonAuthDecode, "Cannot decode response")
	replyAuthCancel  = reply(501, "5.7.0", smtp.ReasonAuthCancelled, "Authentication cancelled")
	replyAuthMech    = reply(504, "5.5.4", smtp.ReasonAuthMechanism, "Unrecognized authentication type")
	replyTLSRequired = reply(530, "5.7.0", smtp.ReasonTLSRequired, "Must issue a STARTTLS command first")
	replyAuthNeeded  = reply(530, "5.7.0", smtp.ReasonAuthRequired, "Authentication required")
	replyAuthFailed  = reply(535, "5.7.8", smtp.ReasonAuthFailed, "Authentication credentials invalid")
	// A response that is base64 but not what the mechanism takes fails
	// the login (RFC 4954 §6), as Dovecot's and Cyrus's PLAIN fail it
	// behind Postfix; 501 5.5.2 is for base64 that does not decode.
	replyPlainParts  = reply(535, "5.7.8", smtp.ReasonAuthMalformed, "Authentication failed: PLAIN takes an authorization identity, a user name and a password, separated by NUL bytes (RFC 4616 section 2)")
	replyLoginEmpty  = reply(535, "5.7.8", smtp.ReasonAuthMalformed, "Authentication failed: the user name is empty")
	replyCRAMParts   = reply(535, "5.7.8", smtp.ReasonAuthMalformed, "Authentication failed: CRAM-MD5 takes the user name, a space and the digest (RFC 2195 section 2)")
	replyAuthNeedTLS = reply(538, "5.7.11", smtp.ReasonAuthNeedsTLS, "Encryption required for requested authentication mechanism")
	replyMailTooBig  = reply(552, "5.3.4", smtp.ReasonTooLarge, "Message size exceeds fixed maximum message size")
	replyDataTooBig  = reply(552, "5.3.4", smtp.ReasonTooLarge, "Error: message file too big")
	replyBareLF      = reply(550, "5.5.2", smtp.ReasonBareLF, "Error: bare <LF> received")
	replyBareCR      = reply(550, "5.5.2", smtp.ReasonBareCR, "Error: bare <CR> received")
)

// helpReply is the answer to HELP: the commands a client may use now, so
// STARTTLS only where EHLO offers it (not inside TLS, not on port 465)
// and AUTH likewise.
func helpReply(startTLS, auth bool) smtp.Reply {
	commands := "Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY EXPN HELP"
	if startTLS {
		commands += " STARTTLS"
	}
	if auth {
		commands += " AUTH"
	}
	return smtp.Reply{Code: 214, Enhanced: "2.0.0", Reason: smtp.ReasonHelp, Lines: []string{
		commands,
		"A mail transaction is MAIL FROM:<sender>, RCPT TO:<recipient> (once per recipient), DATA",
		"See RFC 5321 section 4.1 for what each command does",
	}}
}
