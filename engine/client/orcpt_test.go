package client_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"smtplab/engine/client"
	"smtplab/engine/server"
	"smtplab/engine/smtp"
)

// orcptThrough sends one message whose recipient has the ORCPT typ;orcpt
// from our client to our server, and returns the ORCPT the server
// recorded, "" if the recipient was not accepted.
func orcptThrough(t *testing.T, rcpt, typ, orcpt string) string {
	t.Helper()
	env, err := client.ParseEnvelope("alice@example.com", rcpt)
	if err != nil {
		t.Fatal(err)
	}
	env.To[0].ORcpt, env.To[0].ORcptType = orcpt, typ
	srv := server.New(server.Config{Hostname: "mx.example.org"})
	out, msgs := converse(t, srv, client.Config{}, env, "x\r\n", 1<<20)
	if out.Recipients[0].Status != client.Delivered || len(msgs) != 1 {
		t.Logf("recipient %+v", out.Recipients[0])
		return ""
	}
	return msgs[0].Envelope.Rcpts[0].ORcpt
}

// TestORcptThroughOurServer: what our client writes as an ORCPT, our
// server reads back as it was: of type utf-8 in RFC 6533's 7-bit form or,
// in an SMTPUTF8 transaction, in UTF-8 itself; of type rfc822 as xtext.
func TestORcptThroughOurServer(t *testing.T) {
	for _, tt := range []struct{ rcpt, typ, orcpt string }{
		{"b@example.org", "utf-8", `bö+1=2\x{F6}@example.org`},
		{"bö@example.org", "utf-8", `bö+1=2\x{F6}@例え.jp`},
		{"b@example.org", "UTF-8", "😀 x@example.org"},
		{"bö@example.org", "rfc822", "b+1=2@example.org"},
		{"b@example.org", "", "b+1=2@example.org"},
	} {
		want := tt.typ + ";" + tt.orcpt
		if tt.typ == "" {
			want = "rfc822;" + tt.orcpt
		}
		if got := orcptThrough(t, tt.rcpt, tt.typ, tt.orcpt); got != want {
			t.Errorf("to <%s>, ORCPT %q reached the server as %q", tt.rcpt, want, got)
		}
	}
	// RFC 3461 §4.2: an ORCPT of another type is ASCII before its xtext.
	env, err := client.ParseEnvelope("alice@example.com", "bö@example.org")
	if err != nil {
		t.Fatal(err)
	}
	env.To[0].ORcpt = "bö@example.org"
	if _, err := client.New(client.Config{}, env, []byte("x\r\n")); err == nil || !strings.Contains(err.Error(), "type utf-8") {
		t.Errorf("an rfc822 ORCPT beyond ASCII: %v", err)
	}
}

// FuzzORcptThroughOurServer: any ORCPT the client takes reaches our server
// as it was, whatever its type and whether the transaction uses SMTPUTF8.
func FuzzORcptThroughOurServer(f *testing.F) {
	f.Add("bö+1=2\\x{F6}@example.org", uint8(0))
	f.Add("😀 x@例え.jp", uint8(3))
	f.Add("b+2B@example.org", uint8(4))
	f.Add("a\u00a0b\u2000", uint8(1)) // spaces outside ASCII are characters of the value
	f.Fuzz(func(t *testing.T, orcpt string, mode uint8) {
		typ := []string{"utf-8", "UTF-8", "rfc822"}[int(mode>>1)%3]
		rcpt := "b@example.org"
		if mode&1 == 1 {
			rcpt = "bö@example.org"
		}
		// The client refuses controls, UTF-8 that is not in a utf-8
		// ORCPT, and anything beyond ASCII in an rfc822 one; RFC 3461
		// §4.2 allows at most 500 characters.
		if orcpt == "" || len(orcpt) > 40 || strings.ContainsFunc(orcpt, func(r rune) bool { return r < 0x20 || r == 0x7f }) ||
			(typ != "rfc822" && !utf8.ValidString(orcpt)) || (typ == "rfc822" && !smtp.IsASCII(orcpt)) {
			return
		}
		if got := orcptThrough(t, rcpt, typ, orcpt); got != typ+";"+orcpt {
			t.Fatalf("to <%s>, ORCPT %q reached the server as %q", rcpt, typ+";"+orcpt, got)
		}
	})
}
