package simnet

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"

	"smtplab/engine/trace"
)

// TestStartTLSWithToyCodec walks the STARTTLS dance the way engine/labtls
// will: handshake flights go on the wire raw, then both ends upgrade and
// everything after is sealed, traced as ciphertext with its plaintext.
func TestStartTLSWithToyCodec(t *testing.T) {
	l := newLab(t)
	var srv *Conn
	srvRec := rawRecorder{l.srv}
	if err := l.mx.Listen(587, func(c *Conn) Handler { srv = c; return srvRec }); err != nil {
		t.Fatal(err)
	}
	cliRec := rawRecorder{l.cli}
	cli := l.w.Dial(l.client, "mx.example.org", 587, cliRec)
	l.w.Settle()

	hello := bytes.Repeat([]byte{0x16, 0x03, 0x01}, 20) // 60 bytes
	flight := bytes.Repeat([]byte{0x16, 0x03, 0x03, 0x00}, 10)
	mark := l.w.Log().Len()
	_ = cli.WriteRaw(hello)
	l.w.Settle()
	_ = srv.WriteRaw(flight)
	if err := srv.Upgrade(xorCodec{key: 0x5a}); err != nil {
		t.Fatal(err)
	}
	l.w.Settle()
	if err := cli.Upgrade(xorCodec{key: 0x5a}); err != nil {
		t.Fatal(err)
	}
	if err := cli.Upgrade(xorCodec{key: 0x5a}); err == nil {
		t.Fatal("a second Upgrade succeeded")
	}
	_ = cli.Write([]byte("EHLO client.example.com\r\n"))
	l.w.Settle()
	_ = srv.Write([]byte("250 mx.example.org\r\n"))
	l.w.Settle()

	wantLines(t, l.j.lines, []string{
		`5ms server open`,
		`10ms client open`,
		`15ms server raw 60 bytes`,
		`20ms client raw 40 bytes`,
		`25ms server data "EHLO client.example.com\r\n"`,
		`30ms client data "250 mx.example.org\r\n"`,
	})
	if st := l.w.State(); len(st.Conns) != 1 || !st.Conns[0].TLS {
		t.Fatalf("State conns %+v, want one TLS connection", st.Conns)
	}

	ehloWire := xorCodec{key: 0x5a}.Seal([]byte("EHLO client.example.com\r\n"))
	want := []trace.Event{
		{At: 10, Kind: trace.Bytes, Conn: 1, Host: "client.example.com", Peer: "mx.example.org", Dir: "c2s",
			TLS: true, Size: 60, Text: hex.EncodeToString(hello[:32]),
			Attrs: map[string]string{"cipher_hex": hex.EncodeToString(hello[:32])}},
		{At: 15, Kind: trace.Bytes, Conn: 1, Host: "mx.example.org", Peer: "client.example.com", Dir: "s2c",
			TLS: true, Size: 40, Text: hex.EncodeToString(flight[:32]),
			Attrs: map[string]string{"cipher_hex": hex.EncodeToString(flight[:32])}},
		{At: 20, Kind: trace.Bytes, Conn: 1, Host: "client.example.com", Peer: "mx.example.org", Dir: "c2s",
			TLS: true, Size: 27, Text: "EHLO client.example.com\r\n",
			Attrs: map[string]string{"cipher_hex": hex.EncodeToString(ehloWire), "plain_size": "25"}},
	}
	got := l.w.Log().All()[mark : mark+3]
	for i := range want {
		g := got[i]
		g.ID = 0
		if !eventEqual(g, want[i]) {
			t.Errorf("event %d:\n got %+v\nwant %+v", i, g, want[i])
		}
	}
}

func TestRawRecordsSkipPlainHandlers(t *testing.T) {
	l, cli, _ := openLab(t)
	_ = cli.WriteRaw([]byte{0x16, 0x03, 0x01, 0x00})
	_ = cli.Write([]byte("NOOP\r\n"))
	l.w.Settle()
	wantLines(t, l.j.lines, []string{`15ms server data "NOOP\r\n"`})
}

func TestSealedBytesReachAPlainEndAsCiphertext(t *testing.T) {
	l, cli, _ := openLab(t)
	_ = cli.Upgrade(xorCodec{key: 1})
	_ = cli.Write([]byte("AB"))
	l.w.Settle()
	want := string(xorCodec{key: 1}.Seal([]byte("AB")))
	if string(l.srv.got) != want {
		t.Fatalf("server got %q, want the raw records %q", l.srv.got, want)
	}
}

func TestPlainBytesToATLSEndAreAnError(t *testing.T) {
	l, cli, srv := openLab(t)
	_ = srv.Upgrade(xorCodec{key: 1})
	_ = cli.Write([]byte("QUIT\r\n")) // not sealed: the server's codec rejects it
	l.w.Settle()
	wantLines(t, l.j.lines, []string{
		`15ms server closed tls error: bad record 51 55 49 54`,
		`20ms client closed tls error: bad record 51 55 49 54`,
	})
	closes := eventsOf(l.w, trace.ConnClose)
	if len(closes) != 1 || !strings.HasPrefix(closes[0].Text, ReasonTLS) {
		t.Fatalf("conn.close events %+v, want one tls error", closes)
	}
}

func TestLongWritesAreTruncatedInTheTraceOnly(t *testing.T) {
	l, cli, _ := openLab(t)
	big := bytes.Repeat([]byte("x"), maxTraceText+100)
	_ = cli.Write(big)
	l.w.Settle()
	if len(l.srv.got) != len(big) {
		t.Fatalf("server got %d bytes, want %d", len(l.srv.got), len(big))
	}
	e := eventsOf(l.w, trace.Bytes)[0]
	if e.Size != len(big) || e.Attrs["truncated"] != "true" || len(e.Text) != maxTraceText+len("…") {
		t.Fatalf("bytes event size %d, text %d bytes, attrs %v", e.Size, len(e.Text), e.Attrs)
	}
}
