package bridge

import (
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// fastScale makes the timeouts 1000 times shorter: 300 ms per command,
// 180 ms per block of message text, 600 ms for a whole message.
const fastScale = 0.001

func TestConnectionLimits(t *testing.T) {
	b := startBridge(t, Options{SMTP: "127.0.0.1:0", MaxConns: 4, MaxConnsPerIP: 2})
	a := addr(b, 25)
	var open []*rawConn
	for i := 0; i < 2; i++ {
		c := dialRaw(t, a)
		c.expect("220 ")
		open = append(open, c)
	}
	// A third connection from 127.0.0.1 is over the per-address limit.
	c := dialRaw(t, a)
	c.expect("421 4.7.0 mx.example.org Error: too many connections from 127.0.0.1")
	c.closed()
	// Other loopback addresses are other clients, up to the total limit.
	for _, from := range []string{"127.0.0.2", "127.0.0.3"} {
		c := dialFrom(t, from, a)
		c.expect("220 ")
		open = append(open, c)
	}
	c = dialFrom(t, "127.0.0.4", a)
	c.expect("421 4.7.0 mx.example.org Error: too many connections (4)")
	c.closed()
	if s := b.Stats(); s.Open != 4 || s.Refused != 2 {
		t.Fatalf("stats %+v", s)
	}
	// A session that ends frees its place.
	open[0].send("QUIT\r\n")
	open[0].expect("221 ")
	open[0].closed()
	waitFor(t, func() bool { return b.Stats().Open == 3 })
	c = dialRaw(t, a)
	c.expect("220 ")
}

// dialFrom connects from a given loopback address.
func dialFrom(t testing.TB, from, to string) *rawConn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", to)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(20 * time.Second))
	return &rawConn{t: t, c: c, rd: newReader(c)}
}

// waitFor polls cond for up to five seconds.
func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("condition not met within 5 s")
}

func TestShutdownSays421ToEverySession(t *testing.T) {
	b := startBridge(t, Options{})
	greeted := dialRaw(t, addr(b, 25))
	greeted.expect("220 ")
	inData := dialRaw(t, addr(b, 25))
	inData.toData()
	inData.send("Subject: never finished\r\n\r\nhalf a mess")
	submission := dialRaw(t, addr(b, 587))
	submission.expect("220 ")
	submission.send("EHLO x\r\n")
	submission.expect("250 ")
	waitFor(t, func() bool { return b.Stats().Open == 3 })

	start := time.Now()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("Close took %v", d)
	}
	greeted.expect("421 4.3.2 mx.example.org Service shutting down") // before EHLO too (RFC 2034 §4)
	inData.expect("421 4.3.2 mx.example.org Service shutting down")
	submission.expect("421 4.3.2 smtp.example.com Service shutting down")
	for _, c := range []*rawConn{greeted, inData, submission} {
		c.closed()
	}
	if n := len(mailbox(b, "mx.example.org", "bob@example.org")); n != 0 {
		t.Fatalf("the unfinished message was stored (%d)", n)
	}
	if _, err := net.DialTimeout("tcp", addr(b, 25), time.Second); err == nil {
		t.Fatal("the listener still accepts after Close")
	}
	b.Close() // a second Close is harmless
}

// TestFaultyClients runs misbehaving clients side by side with a good one:
// each is answered as a careful server would and closed when it must be,
// the good one is served throughout, and nothing accepted is lost.
func TestFaultyClients(t *testing.T) {
	b := startBridge(t, Options{SMTP: "127.0.0.1:0", TimeoutScale: fastScale})
	a := addr(b, 25)
	faults := []struct {
		name string
		run  func(c *rawConn)
	}{
		{"stall mid-command", func(c *rawConn) {
			c.expect("220 ")
			c.send("MAIL FROM:<stalled")
			c.expect("421 4.4.2 mx.example.org Error: timeout exceeded") // after 300 ms
			c.closed()
		}},
		{"trickle a command (slowloris)", func(c *rawConn) {
			c.expect("220 ")
			start := time.Now()
			go func() { // one byte every 50 ms, a line that never ends
				for i := 0; i < 40; i++ {
					if _, err := c.c.Write([]byte("x")); err != nil {
						return
					}
					time.Sleep(50 * time.Millisecond)
				}
			}()
			c.expect("421 4.4.2 mx.example.org Error: timeout exceeded")
			if d := time.Since(start); d > 1500*time.Millisecond {
				c.t.Errorf("a trickling client kept its session for %v", d)
			}
		}},
		{"stall mid-DATA", func(c *rawConn) {
			c.toData()
			c.send("Subject: stalled\r\n\r\nhalf")
			c.expect("421 4.4.2")
			c.closed()
		}},
		{"trickle the message (slowloris)", func(c *rawConn) {
			c.toData()
			start := time.Now()
			go func() { // a line every 100 ms: each within the block timeout, never done
				for i := 0; i < 40; i++ {
					if _, err := c.c.Write([]byte("Subject: slow\r\n")); err != nil {
						return
					}
					time.Sleep(100 * time.Millisecond)
				}
			}()
			c.expect("421 4.4.2")
			if d := time.Since(start); d > 2*time.Second {
				c.t.Errorf("a trickling message kept its session for %v", d)
			}
		}},
		{"bare LF ends a command", func(c *rawConn) {
			c.expect("220 ")
			c.send("EHLO lf.test\n")
			c.expect("550 5.5.2 Error: bare <LF> received")
			c.closed()
		}},
		{"bare CR in a command", func(c *rawConn) {
			c.expect("220 ")
			c.send("EHLO cr.test\rNOOP\r\n")
			c.expect("550 5.5.2 Error: bare <CR> received")
			c.closed()
		}},
		{"bare LF in the message", func(c *rawConn) {
			c.toData()
			c.send("Subject: smuggle\r\n\r\nhi\n.\nMAIL FROM:<evil@x>\r\n.\r\n")
			c.expect("550 5.5.2 Error: bare <LF> received")
		}},
		{"overlong command line", func(c *rawConn) {
			c.expect("220 ")
			c.send("EHLO " + strings.Repeat("a", 20000) + "\r\n")
			c.expect("500 5.5.2 Error: line too long")
			c.send("NOOP\r\n")
			c.expect("250 ") // the session goes on
		}},
		{"NUL bytes", func(c *rawConn) {
			c.expect("220 ")
			c.send("NOOP\x00\x00\r\n")
			c.expect("500 5.5.2 Error: NUL character in command line")
			c.send("NOOP\r\n")
			c.expect("250 ")
		}},
		{"disconnect mid-DATA", func(c *rawConn) {
			c.toData()
			c.send("Subject: cut\r\n\r\nthe rest never comes")
			c.c.Close()
		}},
	}
	good := "Subject: good\r\n\r\nstill served\r\n"
	var wg sync.WaitGroup
	for _, f := range faults {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t.Run(f.name, func(t *testing.T) { f.run(dialRaw(t, a)) })
		}()
	}
	// Meanwhile a good client sends five messages, the last one dropping
	// the connection right after the 250: accepted is accepted.
	c := dialRaw(t, a)
	c.expect("220 ")
	c.send("EHLO good.test\r\n")
	c.expect("250 ")
	for i := 0; i < 5; i++ {
		c.send("MAIL FROM:<good@good.test>\r\nRCPT TO:<carol@example.org>\r\nDATA\r\n")
		c.expect("250 ")
		c.expect("250 ")
		c.expect("354 ")
		c.send(good + ".\r\n")
		c.expect("250 2.0.0 Ok: queued as")
		time.Sleep(50 * time.Millisecond) // the faults happen meanwhile
	}
	c.c.Close()
	wg.Wait()
	want := make([]string, 5)
	for i := range want {
		want[i] = good
	}
	wantMailbox(t, b, "mx.example.org", "carol@example.org", want...)
	wantMailbox(t, b, "mx.example.org", "bob@example.org") // no fault left a message
	waitFor(t, func() bool { return b.Stats().Open == 0 })
}
