package labtls

import (
	"testing"
	"time"
)

// worldStart is the fixed start of every test world.
var worldStart = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// lab is a tiny world for tests: an authority, a virtual clock and the two
// ends of a handshake with mx.example.org.
type lab struct {
	ca     *Authority
	now    time.Duration // virtual time since worldStart
	client *Client
	server *Server
}

func newLab(t testing.TB, v Variant, verify bool) *lab {
	t.Helper()
	ca, err := NewAuthority(worldStart)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.Issue("mx.example.org", v)
	if err != nil {
		t.Fatal(err)
	}
	l := &lab{ca: ca}
	clock := Clock(worldStart, func() time.Duration { return l.now })
	l.client = &Client{ServerName: "mx.example.org", Roots: ca.Pool(), Verify: verify, Now: clock, Rand: NewRand(1)}
	l.server = &Server{Certificate: cert, Now: clock, Rand: NewRand(2)}
	return l
}
