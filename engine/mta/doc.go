// Package mta is the mail transfer agent of the simulated world: the roles a
// real mail server plays (submission server, MX, outbound relay, local
// delivery), wired from the engine's server and client state machines.
//
// It keeps a store-and-forward queue with a retry schedule in virtual time,
// writes a Received: header at every hop and a Return-Path: at delivery
// (RFC 5321 §4.4), returns a delivery status notification (RFC 3464) to the
// sender when a message fails for good (a global one, RFC 6533, when a
// recipient, a diagnosis or the returned header is UTF-8), and applies the policies real
// servers use: relay refusal, greylisting, rate limits, a content filter,
// quotas and unknown users. A message goes once to each distinct recipient:
// as Postfix's cleanup does, a host drops a recipient that an earlier RCPT
// of the message already named (the same mailbox here, the same address
// elsewhere), though its server answered 250 to each; the one kept
// answers what each of them asked for by NOTIFY.
//
// A delivery tries the destination's mail exchangers in order of
// preference (RFC 5321 §5.1). As Postfix does, it moves on to the next one
// at once for a recipient when a host cannot be reached, fails the session
// (a 421 greeting, a lost connection, ...), greets with 5xx, answers the
// recipient's RCPT with a 4xx, or answers MAIL, DATA, BDAT or the content
// with a 4xx; the recipient waits in the queue only when no MX is left to
// try. A 5xx to RCPT or to the message is final.
//
// The DSN parameters of RFC 3461 travel with a message from the session
// that accepted it through the queue to the next hop: NOTIFY decides which
// news goes back (failures by default; success and delay when asked; none
// for NEVER), RET whether a failure returns the whole message, and ENVID and
// ORCPT come back in the report. A relay whose next hop does not offer DSN
// reports "relayed" to a sender who asked for success.
//
// A relay's outbound TLS policy (HostConfig.OutboundTLS) decides how it
// uses STARTTLS towards the next hop. With the "dane" policy it looks up
// each MX host's TLSA records first (RFC 7672): when DNSSEC vouches for
// them, TLS is mandatory and the certificate must match them, so a man in
// the middle who strips STARTTLS gets a deferred message instead of a
// plaintext one; without signed records it stays opportunistic.
package mta
