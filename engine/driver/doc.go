// Package driver runs SMTP Lab's protocol state machines over real network
// connections: any net.Conn, a TCP socket as well as one end of a net.Pipe.
//
// The machines in packages server and client are sans-IO: they never read
// a socket, start a goroutine or look at a clock. This package is the one
// place where that happens. Serve runs a server.Session, with the
// session's timeouts (RFC 5321 §4.5.3.2) as real read deadlines, STARTTLS
// (RFC 3207) and implicit TLS (RFC 8314) through crypto/tls; ServeListener
// does so for every connection a listener accepts. Send runs a client
// session that delivers one message.
//
// Because the same machines also run in the browser's simulated network,
// what a real client such as swaks, Python's smtplib or go-smtp sees here
// is byte for byte what a learner sees in the lab.
package driver
