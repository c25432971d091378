//go:build !linux

package bridge

import "net"

// holdForClose only saves a packet, with an option of Linux's TCP (see
// tcp_linux.go); elsewhere it does nothing.
func holdForClose(net.Conn) {}
