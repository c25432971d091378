package simnet

import (
	"encoding/json"
	"strconv"
	"testing"
	"time"
)

func TestState(t *testing.T) {
	l := newLab(t)
	l.mx.SetDown(false) // no change: still up
	other := l.w.AddHost("dead.example.net", "203.0.113.1")
	other.SetUnreachable(true)
	l.w.SetLatency(l.mx, l.client, 20*time.Millisecond)
	open := l.w.Dial(l.client, "mx.example.org", 25, l.cli)
	connecting := l.w.Dial(l.client, "dead.example.net", 25, l.cli)
	l.w.Settle()

	got, err := json.Marshal(l.w.State())
	if err != nil {
		t.Fatal(err)
	}
	// The client ports come from the seeded generator, so they are fixed.
	want := `{"now":40,"date":"2026-01-05T09:00:00Z","hosts":[` +
		`{"name":"client.example.com","addrs":["192.0.2.10"],"ports":[]},` +
		`{"name":"mx.example.org","addrs":["198.51.100.25","2001:db8::25"],"ports":[25]},` +
		`{"name":"dead.example.net","addrs":["203.0.113.1"],"ports":[],"unreachable":true}],` +
		`"conns":[` +
		`{"id":1,"client":"client.example.com","server":"mx.example.org","port":25,"client_port":` +
		portOf(open) + `,"state":"open","sent_c2s":0,"sent_s2c":0},` +
		`{"id":0,"client":"client.example.com","server":"dead.example.net","port":25,"client_port":` +
		portOf(connecting) + `,"state":"connecting","sent_c2s":0,"sent_s2c":0}],` +
		`"links":[{"a":"client.example.com","b":"mx.example.org","latency_ms":20}],"pending":1}`
	if string(got) != want {
		t.Fatalf("State JSON\n got %s\nwant %s", got, want)
	}
}

func portOf(c *Conn) string { return strconv.Itoa(int(c.LocalAddr().Port())) }
