package bridge

import (
	"context"
	"fmt"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"smtplab/engine/client"
	"smtplab/engine/driver"
)

// BenchmarkLoopback delivers messages over loopback TCP with one client —
// the lab's (engine/driver.Send), one session per message, DATA, 1 KB —
// to the bridge and to go-smtp's server in the same run, from benchWorkers
// connections at a time (see compare):
//
//	go test -run '^$' -bench Loopback -benchtime 5000x ./bridge/
//
// The bridge does more per message than go-smtp's server: it traces every
// command and reply, prepends Received, and delivers into a mailbox of the
// simulated world, all under one lock.
func BenchmarkLoopback(b *testing.B) {
	br := startBridge(b, Options{SMTP: "127.0.0.1:0", MaxConns: 1000, MaxConnsPerIP: 1000})
	_, gsAddr := startGoSMTP(b, nil)
	env, err := client.ParseEnvelope("bench@bench.test", "bob@example.org")
	if err != nil {
		b.Fatal(err)
	}
	msg := benchMessage(1 << 10)
	compare(b, addr(br, 25), gsAddr, func(addr string, count int) error {
		var s driver.Sender
		opt := driver.SendOptions{Client: client.Config{Hostname: "bench.test", TLS: client.TLSNone, NoChunking: true}, Timeout: 10 * time.Second}
		for i := 0; i < count; i++ {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				return err
			}
			out, err := s.Send(context.Background(), conn, opt, env, msg)
			if err == nil && out.Status != client.Delivered {
				err = fmt.Errorf("message %s: %v %v", out.Status, out.Reply, out.Err)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// compare sends b.N messages with send to the bridge at ours and to
// go-smtp's server at theirs, alternating in rounds so that both see the
// same load from whatever else the machine is doing, and reports
// messages/s for each and their ratio (x-vs-gosmtp: how many times faster
// the bridge is). Where the process's CPU time can be read, it also
// reports the CPU time per message during each server's rounds (client
// and server together, both in this process): on a busy shared machine
// that figure moves less than the wall-clock rates do.
//
// It reports too how much processor time per message the process did not
// use (idle-us/msg: GOMAXPROCS times the wall-clock time, less the CPU
// time), which is why x-vs-gosmtp is most often below the ratio of the
// CPU times. A session waits about ten times (five on each side: for the
// connection or the next command, for the greeting or the next reply); at
// each wait the process may find nothing else to run and give up its
// core, and the kernel takes a while to give it back, longer on a loaded
// machine. Both servers wait as often per message (the client and the
// exchange are the same), so both lose about as much processor time per
// message, which weighs most on the faster one.
func compare(b *testing.B, ours, theirs string, send func(addr string, count int) error) {
	b.ReportAllocs()
	b.ResetTimer()
	var oursSpent, theirsSpent spent
	for done := 0; done < b.N; {
		n := min(benchRound, b.N-done)
		oursSpent.round(b, ours, n, send)
		theirsSpent.round(b, theirs, n, send)
		done += n
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/oursSpent.wall.Seconds(), "bridge-msgs/s")
	b.ReportMetric(float64(b.N)/theirsSpent.wall.Seconds(), "gosmtp-msgs/s")
	b.ReportMetric(theirsSpent.wall.Seconds()/oursSpent.wall.Seconds(), "x-vs-gosmtp")
	if oursSpent.cpu > 0 && theirsSpent.cpu > 0 {
		b.ReportMetric(float64(oursSpent.cpu.Microseconds())/float64(b.N), "bridge-cpu-us/msg")
		b.ReportMetric(float64(theirsSpent.cpu.Microseconds())/float64(b.N), "gosmtp-cpu-us/msg")
		b.ReportMetric(oursSpent.idle()/float64(b.N), "bridge-idle-us/msg")
		b.ReportMetric(theirsSpent.idle()/float64(b.N), "gosmtp-idle-us/msg")
	}
	b.ReportMetric(0, "ns/op") // the time covers both servers: the figures above say more
}

// spent is the wall-clock and process CPU time one server's rounds took.
type spent struct{ wall, cpu time.Duration }

// idle returns the processor time, in microseconds, the process could
// have used during the rounds (GOMAXPROCS cores) and did not.
func (s *spent) idle() float64 {
	return float64((time.Duration(runtime.GOMAXPROCS(0))*s.wall - s.cpu).Microseconds())
}

// round sends n messages to addr (see fanOut) and adds up what it took.
func (s *spent) round(b *testing.B, addr string, n int, send func(addr string, count int) error) {
	cpu := processCPU()
	s.wall += fanOut(b, addr, n, send)
	s.cpu += processCPU() - cpu
}

// benchWorkers sessions run at a time; benchRound messages go to one
// server before the other takes its turn.
const (
	benchWorkers = 8
	benchRound   = 400
)

// fanOut sends n messages to addr from benchWorkers goroutines, each
// calling send for its share, and returns how long it took.
func fanOut(b *testing.B, addr string, n int, send func(addr string, count int) error) time.Duration {
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, benchWorkers)
	for w := 0; w < benchWorkers; w++ {
		count := n / benchWorkers
		if w < n%benchWorkers {
			count++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := send(addr, count); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
	return time.Since(start)
}

// benchMessage returns a message of about size octets of ordinary text.
func benchMessage(size int) []byte {
	var s strings.Builder
	s.WriteString("From: bench@bench.test\r\nTo: bob@example.org\r\nSubject: benchmark\r\n\r\n")
	for s.Len() < size {
		s.WriteString("The quick brown fox jumps over the lazy dog, again and again.\r\n")
	}
	return []byte(s.String())
}

// BenchmarkLoopbackKeptOpen is BenchmarkLoopback as a busy relay sends:
// many messages over each connection, the envelope pipelined, from a
// minimal client that costs little itself, so the figures say more about
// the two servers and less about dialing and the client:
//
//	go test -run '^$' -bench LoopbackKeptOpen -benchtime 20000x ./bridge/
//
// Sub-benchmarks send the content with DATA (the envelope pipelined, then
// the content after the 354) and with BDAT (RFC 3030: MAIL, RCPT and
// "BDAT n LAST" with the content in one write, as CHUNKING allows).
func BenchmarkLoopbackKeptOpen(b *testing.B) {
	br := startBridge(b, Options{SMTP: "127.0.0.1:0", MaxConns: 1000, MaxConnsPerIP: 1000})
	_, gsAddr := startGoSMTP(b, nil)
	for _, bdat := range []bool{false, true} {
		name := map[bool]string{false: "DATA", true: "BDAT"}[bdat]
		b.Run(name, func(b *testing.B) {
			compare(b, addr(br, 25), gsAddr, func(addr string, count int) error {
				return keptOpenSession(addr, count, benchMessage(1<<10), bdat)
			})
		})
	}
}

func keptOpenSession(addr string, count int, body []byte, bdat bool) error {
	c, err := dialLoad(addr, time.Now().Add(time.Minute))
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.reply("220 "); err != nil {
		return err
	}
	if _, err := c.Write([]byte("EHLO bench.test\r\n")); err != nil {
		return err
	}
	if err := c.reply("250 "); err != nil {
		return err
	}
	envelope := []byte("MAIL FROM:<bench@bench.test>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n")
	content := append(append([]byte(nil), body...), ".\r\n"...)
	if bdat {
		chunk := fmt.Appendf(nil, "MAIL FROM:<bench@bench.test>\r\nRCPT TO:<bob@example.org>\r\nBDAT %d LAST\r\n", len(body))
		chunk = append(chunk, body...)
		for i := 0; i < count; i++ {
			if _, err := c.Write(chunk); err != nil {
				return err
			}
			for _, want := range []string{"250 ", "250 ", "250 "} {
				if err := c.reply(want); err != nil {
					return err
				}
			}
		}
		count = 0
	}
	for i := 0; i < count; i++ {
		if _, err := c.Write(envelope); err != nil {
			return err
		}
		for _, want := range []string{"250 ", "250 ", "354 "} {
			if err := c.reply(want); err != nil {
				return err
			}
		}
		if _, err := c.Write(content); err != nil {
			return err
		}
		if err := c.reply("250 "); err != nil {
			return err
		}
	}
	if _, err := c.Write([]byte("QUIT\r\n")); err != nil {
		return err
	}
	err = c.reply("221 ")
	return err
}
