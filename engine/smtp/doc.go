// Package smtp is the wire format of SMTP, with no state: commands, replies
// with enhanced status codes, mailbox and path syntax, ESMTP parameters,
// line framing, dot-stuffing and the size limits of RFC 5321.
//
// Everything here is a pure function or a small value type, so the server
// and client state machines (packages server and client), the simulated
// network and the fuzzers can all share one definition of what is valid on
// the wire. The RFC sections each rule comes from are named next to it:
//
//   - RFC 5321 §4.1.1 commands, §4.1.2 paths, §4.2 replies, §4.5.2
//     transparency (dot-stuffing), §4.5.3.1 size limits
//   - RFC 1869/5321 §4.1.2 ESMTP parameters, RFC 3461 §4 xtext, RFC 6533
//     §3 utf-8 addresses (\x{HEX}) for ORCPT and DSN fields
//   - RFC 2034 and RFC 3463 enhanced status codes
//   - RFC 6531 internationalised (UTF-8) addresses
package smtp
