package simnet

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// script drives one world through everything simnet does: accepted,
// refused and timed-out dials, an SMTP-like exchange, a slow link, a
// STARTTLS upgrade with the toy codec, a drop mid-DATA, a host going down,
// a filtered port and time jumps. Its trace is the golden file.
func script(seed int64) *World {
	w := New(seed)
	client := w.AddHost("client.example.com", "192.0.2.10")
	mx := w.AddHost("mx.example.org", "198.51.100.25")
	backup := w.AddHost("backup.example.org", "198.51.100.26")
	w.AddHost("dead.example.net", "203.0.113.1").SetUnreachable(true)

	// A server that greets, answers every line with 250, upgrades after
	// STARTTLS and hangs up on QUIT.
	server := func(c *Conn) Handler {
		return HandlerFuncs{
			OnOpen: func(c *Conn) { _ = c.Write([]byte("220 " + c.Local().Name() + " ESMTP\r\n")) },
			OnData: func(c *Conn, p []byte) {
				switch string(p) {
				case "STARTTLS\r\n":
					_ = c.Write([]byte("220 2.0.0 go ahead\r\n"))
					_ = c.Upgrade(xorCodec{key: 0x42})
				case "QUIT\r\n":
					_ = c.Write([]byte("221 2.0.0 bye\r\n"))
					c.Close("quit")
				default:
					_ = c.Write([]byte("250 2.0.0 ok\r\n"))
				}
			},
		}
	}
	_ = mx.Listen(25, server)
	_ = backup.Listen(25, server)

	var conn *Conn
	cli := HandlerFuncs{OnOpen: func(c *Conn) { conn = c }}
	w.Dial(client, "dead.example.net", 25, cli)    // times out
	w.Dial(client, "backup.example.org", 587, cli) // refused
	w.Dial(client, "mx.example.org", 25, cli)
	w.Settle()
	_ = conn.Write([]byte("EHLO client.example.com\r\n"))
	w.Settle()
	_ = conn.Write([]byte("STARTTLS\r\n"))
	w.Settle()
	_ = conn.WriteRaw([]byte{0x16, 0x03, 0x01, 0x00, 0x04, 0x01, 0x00, 0x00, 0x00}) // a "ClientHello"
	_ = conn.Upgrade(xorCodec{key: 0x42})
	_ = conn.Write([]byte("MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.org>\r\n"))
	w.Settle()
	_ = conn.Write([]byte("QUIT\r\n"))
	w.Settle()
	w.Advance(time.Minute)

	w.SetLatency(client, backup, 250*time.Millisecond)
	w.DropAfter(client, backup, 12)
	w.Dial(client, "198.51.100.26", 25, cli)
	w.Settle()
	_ = conn.Write([]byte("DATA\r\n"))
	_ = conn.Write([]byte("Subject: test\r\n"))
	w.Settle()

	w.Dial(client, "mx.example.org", 25, cli)
	w.Settle()
	w.After(5*time.Minute, func() { mx.SetDown(true) })
	w.Advance(10 * time.Minute)

	// A filter on the client's network: the dial that was refused above
	// now times out.
	w.BlockPort(client, 587, true)
	w.Dial(client, "backup.example.org", 587, cli)
	w.Advance(time.Minute)
	return w
}

func encodeTrace(t *testing.T, w *World) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, e := range w.Log().All() {
		if err := enc.Encode(e); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

func TestTraceIsDeterministic(t *testing.T) {
	got := encodeTrace(t, script(42))
	if again := encodeTrace(t, script(42)); !bytes.Equal(got, again) {
		t.Fatal("two runs of the same script gave different traces")
	}
	path := filepath.Join("testdata", "trace.golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("trace differs from %s (run go test -update after checking the change):\n%s", path, got)
	}
}
