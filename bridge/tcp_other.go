//go:build !linux

package bridge

import "net"

// delayAcks and holdForClose only save packets, with options of Linux's
// TCP (see tcp_linux.go); elsewhere they do nothing.
func delayAcks(net.Conn)    {}
func holdForClose(net.Conn) {}
