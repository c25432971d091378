package simnet

import (
	"bytes"
	"testing"
	"time"
)

// FuzzStreams plays a random mix of writes from both ends, latency changes
// and time jumps, then checks the two promises a connection makes: every
// byte arrives, in the order it was written, and the same input gives the
// same trace.
func FuzzStreams(f *testing.F) {
	f.Add([]byte{0, 5, 2, 200, 1, 9, 3, 17, 0, 0})
	f.Add([]byte{2, 255, 0, 1, 2, 1, 0, 1, 1, 3, 3, 250})
	f.Fuzz(func(t *testing.T, ops []byte) {
		run := func() (w *World, sent, got [2][]byte) {
			w = New(3)
			client := w.AddHost("client.example.com", "192.0.2.10")
			mx := w.AddHost("mx.example.org", "198.51.100.25")
			var ends [2]*Conn
			_ = mx.Listen(25, func(c *Conn) Handler {
				ends[1] = c
				return HandlerFuncs{OnData: func(_ *Conn, p []byte) { got[1] = append(got[1], p...) }}
			})
			ends[0] = w.Dial(client, "mx.example.org", 25, HandlerFuncs{
				OnData: func(_ *Conn, p []byte) { got[0] = append(got[0], p...) },
			})
			w.Settle()
			for i, op := range ops {
				arg := int(op >> 2)
				switch op & 3 {
				case 0, 1: // a write of 1–64 bytes from the client (0) or the server (1)
					p := bytes.Repeat([]byte{byte('a' + i%26)}, arg+1)
					_ = ends[op&1].Write(p)
					sent[1-op&1] = append(sent[1-op&1], p...)
				case 2:
					w.SetLatency(client, mx, time.Duration(arg)*time.Millisecond)
				case 3:
					w.Advance(time.Duration(arg) * time.Millisecond)
				}
			}
			w.Settle()
			return w, sent, got
		}
		w, sent, got := run()
		for side := range 2 {
			if !bytes.Equal(got[side], sent[side]) {
				t.Fatalf("side %d received %q, want %q", side, got[side], sent[side])
			}
		}
		again, _, _ := run()
		if !bytes.Equal(encodeTrace(t, w), encodeTrace(t, again)) {
			t.Fatal("the same operations gave two different traces")
		}
	})
}
