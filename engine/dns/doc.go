// Package dns simulates the Domain Name System of a mail world: just enough
// DNS for mail to find its way, with every step visible and every failure
// available on demand.
//
// A [Zone] holds the world's records: MX, A, AAAA, TXT, TLSA and CNAME. Scenarios
// write records as data, either as [Record] structs in JSON or YAML or as
// zone-file lines read by [Parse]:
//
//	example.org.     3600 IN MX 10 mx1.example.org.
//	mx1.example.org. A    192.0.2.10
//	example.net.     MX   0 .
//
// A [Resolver] answers queries from the zone like a recursive resolver
// would, following CNAMEs up to a limit (RFC 1034 §3.6.2). Faults make chosen
// names, or one type of a name, answer NXDOMAIN or SERVFAIL or not answer at
// all (TIMEOUT), so a lesson can break the DNS on purpose. Names compare
// case-insensitively (RFC 4343), with or without their trailing dot.
//
// A domain of the zone can be marked as signed with DNSSEC ([Zone.Sign]).
// No signature is computed: the mark stands for what a validating resolver
// would tell its client, the AD bit (RFC 4035 §3.2.3), which [Answer.Secure]
// carries and the dns.answer event shows as the attribute dnssec=secure.
// DANE (RFC 7672) trusts a TLSA record only with that bit.
//
// [Resolver.SelectMX] is how a sending MTA turns a recipient's domain into a
// list of hosts to try, following RFC 5321 §5.1: MX records sorted by
// preference, equal preferences shuffled, the implicit MX when a domain has
// none, the null MX of RFC 7505 that says "no mail here", and the rule that a
// relay never hands mail to an exchanger no better than itself. Its errors
// say, through [IsTemporary], whether the MTA should keep the message and
// retry (SERVFAIL, TIMEOUT) or bounce it (NXDOMAIN, null MX, no usable MX).
//
// The package does no I/O, reads no clock and starts no goroutine. Every query
// and answer is reported to the caller's [Recorder] as a trace.Event of kind
// dns.query or dns.answer, with the virtual time elapsed since the lookup
// began, and every result carries its total cost in virtual time (a few
// milliseconds per answer, the resolver's timeout for a TIMEOUT) for the
// world to add to its clock. Randomness comes only from the *rand.Rand the
// caller passes, so a world seeded the same way takes the same path.
package dns
