package simnet

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkWrites measures small writes between two hosts: client and
// server answer each other line by line, every write traced and delivered
// through the event queue. A lesson's world sees about a thousand writes;
// 100k shows how the cost grows with the trace. It reports queue events and
// writes per second of real time.
func BenchmarkWrites(b *testing.B) {
	for _, writes := range []int{1_000, 100_000} {
		b.Run(fmt.Sprintf("writes=%d", writes), func(b *testing.B) {
			benchmarkWrites(b, writes)
		})
	}
}

func benchmarkWrites(b *testing.B, writes int) {
	line := []byte("NOOP\r\n")
	reply := []byte("250 2.0.0 OK\r\n")
	var events, total int
	start := time.Now()
	for b.Loop() {
		w := New(1)
		client := w.AddHost("client.example.com", "192.0.2.10")
		mx := w.AddHost("mx.example.org", "198.51.100.25")
		sent := 0
		send := func(c *Conn, p []byte) {
			if sent < writes {
				sent++
				_ = c.Write(p)
			}
		}
		_ = mx.Listen(25, func(*Conn) Handler {
			return HandlerFuncs{OnData: func(c *Conn, _ []byte) { send(c, reply) }}
		})
		w.Dial(client, "mx.example.org", 25, HandlerFuncs{
			OnOpen: func(c *Conn) { send(c, line) },
			OnData: func(c *Conn, _ []byte) { send(c, line) },
		})
		events += w.Settle()
		total += sent
		if got := w.Log().Len(); got != writes+1 {
			b.Fatalf("trace has %d events, want %d", got, writes+1)
		}
	}
	secs := time.Since(start).Seconds()
	b.ReportMetric(float64(events)/secs, "events/s")
	b.ReportMetric(float64(total)/secs, "writes/s")
}
