package main

import (
	"net"
	"sync"
)

// maxHTTPConns bounds the connections the page's server holds open at
// once. A browser opens six to one host, and the live feed holds one for
// each view of it (at most 32); the bound is for a program that opens
// thousands and holds each as long as the server's timeouts let it.
const maxHTTPConns = 256

// limitListener accepts at most a fixed number of connections at once.
// Past that, Accept waits until one of them is closed, and the ones that
// come meanwhile wait in the kernel's queue of the listening socket rather
// than take the server's memory and goroutines.
type limitListener struct {
	net.Listener
	slots     chan struct{} // a value in it for each connection open
	closed    chan struct{} // closed by Close, so that a waiting Accept returns
	closeOnce sync.Once
}

// limitConns returns ln, accepting at most n connections at once.
func limitConns(ln net.Listener, n int) net.Listener {
	return &limitListener{Listener: ln, slots: make(chan struct{}, n), closed: make(chan struct{})}
}

func (l *limitListener) Accept() (net.Conn, error) {
	select {
	case l.slots <- struct{}{}:
	case <-l.closed:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.slots
		return nil, err
	}
	return &limitedConn{Conn: c, free: l.slots}, nil
}

func (l *limitListener) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return l.Listener.Close()
}

// limitedConn gives its place back when it is closed, once however often
// the server closes it.
type limitedConn struct {
	net.Conn
	free      chan struct{}
	closeOnce sync.Once
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.closeOnce.Do(func() { <-c.free })
	return err
}
