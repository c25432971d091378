package bridge

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Load: 1,000 connections open at once, 10 messages each. It runs in every
// `go test` (a few seconds here), bounded by the deadlines below.
const (
	loadConns    = 1000
	loadMessages = 10 // per connection: 10,000 in all
	loadOver     = 20 // connections beyond the limit
)

func TestLoadThousandConnectionsTenThousandMessages(t *testing.T) {
	// The deadlines are generous because CI runs this beside the browser
	// tests on two shared cores; alone it takes a few seconds.
	b := startBridge(t, Options{SMTP: "127.0.0.1:0", MaxConns: loadConns, MaxConnsPerIP: loadConns, TimeoutScale: 0.5})
	a := addr(b, 25)
	deadline := time.Now().Add(150 * time.Second)
	start := time.Now()

	// Every connection opens and reads its greeting before any sends mail,
	// so that all 1,000 are open at once.
	conns := make([]*loadConn, loadConns)
	var wg sync.WaitGroup
	errs := make(chan error, loadConns+loadOver)
	for i := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := dialLoad(a, deadline)
			if err == nil {
				err = c.reply("220 ")
			}
			if err != nil {
				errs <- fmt.Errorf("connection %d: %w", i, err)
				return
			}
			conns[i] = c
		}()
	}
	wg.Wait()
	failIf(t, errs)
	if open := b.Stats().Open; open != loadConns {
		t.Fatalf("%d sessions open, want %d", open, loadConns)
	}
	opened := time.Since(start)

	// Connections over the limit are turned away with 421 4.7.0.
	for i := 0; i < loadOver; i++ {
		c, err := dialLoad(a, deadline)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.reply("421 4.7.0 "); err != nil {
			t.Fatalf("connection over the limit: %v", err)
		}
		c.Close()
	}

	// Every connection sends its messages, pipelining the envelope.
	var accepted atomic.Int64
	sendStart := time.Now()
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			if err := c.session(i, &accepted); err != nil {
				errs <- fmt.Errorf("connection %d: %w", i, err)
			}
		}()
	}
	wg.Wait()
	failIf(t, errs)
	sending := time.Since(sendStart)

	total := loadConns * loadMessages
	if n := accepted.Load(); n != int64(total) || b.Stats().Accepted != int64(total) {
		t.Fatalf("accepted %d (bridge says %d), want %d", n, b.Stats().Accepted, total)
	}
	// Every accepted message is in a mailbox exactly once.
	seen := map[string]int{}
	for _, owner := range []string{"bob@example.org", "carol@example.org"} {
		for _, raw := range mailbox(b, "mx.example.org", owner) {
			subject := raw[strings.Index(raw, "Subject: ")+9:]
			seen[subject[:strings.Index(subject, "\r\n")]]++
		}
	}
	for i := 0; i < loadConns; i++ {
		for j := 0; j < loadMessages; j++ {
			if n := seen[loadSubject(i, j)]; n != 1 {
				t.Fatalf("message %s is in the mailboxes %d times", loadSubject(i, j), n)
			}
		}
	}
	if len(seen) != total {
		t.Fatalf("%d distinct messages in the mailboxes, want %d", len(seen), total)
	}
	t.Logf("%d connections open in %v; %d messages in %v (%.0f/s); %d refused over the limit; peak RSS of the test process (clients and bridge) %s",
		loadConns, opened.Round(time.Millisecond), total, sending.Round(time.Millisecond),
		float64(total)/sending.Seconds(), b.Stats().Refused, peakRSS())
}

func failIf(t *testing.T, errs chan error) {
	t.Helper()
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
}

func loadSubject(conn, msg int) string { return fmt.Sprintf("load %d.%d", conn, msg) }

// loadConn is a minimal pipelining SMTP client.
type loadConn struct {
	net.Conn
	rd *bufio.Reader
}

func dialLoad(addr string, deadline time.Time) (*loadConn, error) {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	c.SetDeadline(deadline)
	return &loadConn{Conn: c, rd: bufio.NewReaderSize(c, 1024)}, nil
}

// reply reads one reply and checks its start. The line is read in place
// (ReadSlice) and made a string only for an error: the benchmarks use this
// client because it costs little next to the servers it measures.
func (c *loadConn) reply(prefix string) error {
	for {
		line, err := c.rd.ReadSlice('\n')
		if err != nil {
			return err
		}
		if len(line) >= 4 && line[3] == '-' {
			continue
		}
		if !bytes.HasPrefix(line, []byte(prefix)) {
			return fmt.Errorf("reply %q, want %q", line, prefix)
		}
		return nil
	}
}

// session sends loadMessages messages and quits.
func (c *loadConn) session(i int, accepted *atomic.Int64) error {
	if _, err := fmt.Fprintf(c, "EHLO load%d.test\r\n", i); err != nil {
		return err
	}
	if err := c.reply("250 "); err != nil {
		return err
	}
	rcpt := [2]string{"bob@example.org", "carol@example.org"}[i%2]
	for j := 0; j < loadMessages; j++ {
		if _, err := fmt.Fprintf(c, "MAIL FROM:<load%d@load.test>\r\nRCPT TO:<%s>\r\nDATA\r\n", i, rcpt); err != nil {
			return err
		}
		for _, want := range []string{"250 ", "250 ", "354 "} {
			if err := c.reply(want); err != nil {
				return err
			}
		}
		if _, err := fmt.Fprintf(c, "Subject: %s\r\n\r\nmessage %d of connection %d\r\n.\r\n", loadSubject(i, j), j, i); err != nil {
			return err
		}
		if err := c.reply("250 "); err != nil {
			return err
		}
		accepted.Add(1)
	}
	if _, err := fmt.Fprint(c, "QUIT\r\n"); err != nil {
		return err
	}
	err := c.reply("221 ")
	return err
}

// peakRSS reads the process's peak resident set size from /proc (Linux).
func peakRSS() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}
