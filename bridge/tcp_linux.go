package bridge

import (
	"net"
	"syscall"
)

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

// holdForClose keeps what is written next in the kernel until the
// connection closes, so that the last reply and the end of the connection
// (FIN) travel in one packet instead of two. Close sends it at once.
func holdForClose(nc net.Conn) { setSockopt(nc, syscall.TCP_CORK, 1) }
