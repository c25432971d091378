package smtp

// Reason is a stable identifier of why a reply was given. It never appears
// on the wire; user interfaces key their explanations (plain words, what to
// do next, the RFC section) by it, so the strings never change meaning.
type Reason string

// Reasons used by the server, the client and the mail transfer agent.
// Keep the list sorted by reply class; each comment names the usual reply.
const (
	// 2xx and 3xx
	ReasonGreeting        Reason = "greeting"         // 220 service ready
	ReasonHello           Reason = "hello"            // 250 to HELO/EHLO
	ReasonSenderOK        Reason = "sender-ok"        // 250 2.1.0
	ReasonRecipientOK     Reason = "recipient-ok"     // 250 2.1.5
	ReasonStartData       Reason = "start-data"       // 354
	ReasonMessageAccepted Reason = "message-accepted" // 250 2.0.0 queued
	ReasonChunkAccepted   Reason = "chunk-accepted"   // 250 2.0.0 to a non-final BDAT
	ReasonReset           Reason = "reset"            // 250 2.0.0 to RSET
	ReasonNoop            Reason = "noop"             // 250 2.0.0 to NOOP
	ReasonVerify          Reason = "verify"           // 252 2.5.0 cannot verify, will try
	ReasonHelp            Reason = "help"             // 214
	ReasonClosing         Reason = "closing"          // 221 2.0.0
	ReasonStartTLS        Reason = "starttls-ready"   // 220 2.0.0 ready to start TLS
	ReasonAuthChallenge   Reason = "auth-challenge"   // 334
	ReasonAuthOK          Reason = "auth-ok"          // 235 2.7.0
	ReasonNotSMTP         Reason = "not-smtp"         // 221 2.7.0 a web request (GET, POST, CONNECT): the server hangs up at once

	// 4xx: transient, try again later
	ReasonShutdown        Reason = "shutdown"            // 421 4.3.2 server going down
	ReasonTooManyErrors   Reason = "too-many-errors"     // 421 4.7.0 closing after repeated errors
	ReasonTimeout         Reason = "timeout"             // 421 4.4.2 idle too long
	ReasonTooManyConns    Reason = "too-many-conns"      // 421 connection limit, as the greeting
	ReasonRateLimited     Reason = "rate-limited"        // 421/450 4.7.x slow down
	ReasonGreylisted      Reason = "greylisted"          // 451 4.7.1 try again later
	ReasonTooManyRcpts    Reason = "too-many-recipients" // 452 4.5.3
	ReasonMailboxFullTemp Reason = "mailbox-full"        // 452 4.2.2
	ReasonSPFTemp         Reason = "spf-temperror"       // 451 4.7.24 SPF could not be checked for now

	// 5xx: permanent
	ReasonUnknownCommand  Reason = "unknown-command"        // 500 5.5.1 (or 5.5.2)
	ReasonLineTooLong     Reason = "line-too-long"          // 500 5.5.2 (5.6.0 in a message, 5.5.6 in AUTH)
	ReasonSyntax          Reason = "syntax"                 // 501 5.5.4 bad arguments
	ReasonBDATCount       Reason = "bdat-count"             // 521 5.5.4 a BDAT whose count cannot be read: the server hangs up
	ReasonBadSender       Reason = "bad-sender"             // 501 5.1.7 bad sender address syntax
	ReasonBadRecipient    Reason = "bad-recipient"          // 501 5.1.3 bad recipient address syntax
	ReasonNotImplemented  Reason = "not-implemented"        // 502 5.5.1
	ReasonBadSequence     Reason = "bad-sequence"           // 503 5.5.1
	ReasonAuthDone        Reason = "auth-done"              // 503 5.5.1 already authenticated
	ReasonTLSActive       Reason = "tls-active"             // 554 5.5.1 STARTTLS once TLS is up
	ReasonParamNotImpl    Reason = "param-not-implemented"  // 504/555 5.5.4
	ReasonBareLF          Reason = "bare-lf"                // 550 5.5.2 bare <LF> received
	ReasonBareCR          Reason = "bare-cr"                // 550 5.5.2 bare <CR> received
	ReasonNUL             Reason = "nul-byte"               // 550 5.6.0 NUL in input
	ReasonTLSRequired     Reason = "tls-required"           // 530 5.7.0 must issue STARTTLS first
	ReasonAuthRequired    Reason = "auth-required"          // 530 5.7.0 authentication required
	ReasonAuthFailed      Reason = "auth-failed"            // 535 5.7.8 credentials invalid
	ReasonAuthzDenied     Reason = "authz-denied"           // 535 5.7.8 may not act as that identity
	ReasonAuthMalformed   Reason = "auth-malformed"         // 535 5.7.8 decodes, but not to what the mechanism takes
	ReasonAuthNeedsTLS    Reason = "auth-needs-tls"         // 538 5.7.11 encryption required for mechanism
	ReasonAuthCancelled   Reason = "auth-cancelled"         // 501 5.7.0 client cancelled
	ReasonAuthDecode      Reason = "auth-decode"            // 501 5.5.2 an AUTH response that is not base64
	ReasonAuthMechanism   Reason = "auth-mechanism"         // 504 5.5.4 unknown mechanism
	ReasonRelayDenied     Reason = "relay-denied"           // 554 5.7.1 relay access denied
	ReasonUnknownUser     Reason = "unknown-user"           // 550 5.1.1 no such user
	ReasonMailboxFull     Reason = "mailbox-full-permanent" // 552 5.2.2
	ReasonTooLarge        Reason = "message-too-large"      // 552 5.3.4
	ReasonContentRejected Reason = "content-rejected"       // 554 5.7.1 spam or virus
	ReasonUTF8Required    Reason = "smtputf8-required"      // 553 5.6.7
	ReasonPolicy          Reason = "policy"                 // 550 5.7.1 refused by local policy
	ReasonSPFFail         Reason = "spf-fail"               // 550 5.7.23 the sender's domain does not allow this client
	ReasonSPFError        Reason = "spf-permerror"          // 550 5.7.24 the sender's SPF record is broken
	ReasonDMARCReject     Reason = "dmarc-reject"           // 550 5.7.1 the From: domain's DMARC policy rejects it
	ReasonTransaction     Reason = "transaction-failed"     // 554 5.5.1 DATA with no recipient accepted
)
