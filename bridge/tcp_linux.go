package bridge

import (
	"net"
	"syscall"
)

// tcpQuickAck is Linux's TCP_QUICKACK option, which package syscall lacks.
const tcpQuickAck = 0xc

// setSockopt sets a TCP option on nc when it is a TCP connection; other
// connections, and failures, are left alone: each option only saves
// packets.
func setSockopt(nc net.Conn, opt, value int) {
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return
	}
	rc.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, opt, value) })
}

// delayAcks makes the kernel acknowledge what the client sends with the
// reply to it rather than in a packet of its own. An SMTP server answers
// every command at once, so the acknowledgement can always wait for the
// reply; Linux would find that out itself after the first exchanges, and
// until then sends an extra packet for each command.
func delayAcks(nc net.Conn) { setSockopt(nc, tcpQuickAck, 0) }

// holdForClose keeps what is written next in the kernel until the
// connection closes, so that the last reply and the end of the connection
// (FIN) travel in one packet instead of two. Close sends it at once.
func holdForClose(nc net.Conn) { setSockopt(nc, syscall.TCP_CORK, 1) }
