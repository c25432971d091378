package trace

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
)

func TestLogSinceAndIDs(t *testing.T) {
	var l Log
	for i := 0; i < 3; i++ {
		if id := l.Add(Event{Kind: Note, Text: "n"}); id != i+1 {
			t.Fatalf("Add #%d returned id %d, want %d", i, id, i+1)
		}
	}
	if got := l.Since(1); len(got) != 2 || got[0].ID != 2 {
		t.Fatalf("Since(1) = %+v, want events 2 and 3", got)
	}
	if got := l.Since(3); got != nil {
		t.Fatalf("Since(last) = %+v, want nil", got)
	}
	if got := l.Since(-5); len(got) != 3 {
		t.Fatalf("Since(-5) returned %d events, want 3", len(got))
	}
}

func TestLogAcrossChunks(t *testing.T) {
	var l Log
	const n = 3*chunkSize + 17
	for i := 0; i < n; i++ {
		l.Add(Event{Kind: Note})
	}
	for _, since := range []int{0, 1, chunkSize - 1, chunkSize, chunkSize + 1, 2*chunkSize + 5, n - 1} {
		got := l.Since(since)
		if len(got) != n-since || got[0].ID != since+1 || got[len(got)-1].ID != n {
			t.Fatalf("Since(%d): %d events from %d to %d", since, len(got), got[0].ID, got[len(got)-1].ID)
		}
	}
	if e, ok := l.Get(chunkSize + 1); !ok || e.ID != chunkSize+1 {
		t.Fatalf("Get = %+v %v", e, ok)
	}
	if _, ok := l.Get(n + 1); ok {
		t.Fatal("Get past the end succeeded")
	}
}

// TestLogMakesRoomForChunksAtOnce: a log past maxSlabChunks chunks, whose
// records are made room for several chunks at a time and whose chunks'
// texts take the room the chunk before left (or more, as texts grow
// longer), gives back every event as it was added; a log that drops its oldest chunks makes room
// for one chunk at a time, so that dropping one frees its records.
func TestLogMakesRoomForChunksAtOnce(t *testing.T) {
	var l Log
	n := (2*maxSlabChunks+3)*chunkSize + 9
	for i := range n {
		l.Add(Event{At: int64(i), Kind: Bytes, Conn: i, Size: i % 7, Text: fmt.Sprint(i)})
	}
	for i, e := range l.All() {
		if e.ID != i+1 || e.At != int64(i) || e.Conn != i || e.Size != i%7 || e.Text != fmt.Sprint(i) {
			t.Fatalf("event %d given back as %+v", i+1, e)
		}
	}
	var kept Log
	kept.Keep(2*chunkSize, 0)
	for range 8 * chunkSize {
		kept.Add(Event{Kind: Note})
		if len(kept.slab) != 0 {
			t.Fatalf("a log that drops chunks made room for %d records ahead", len(kept.slab))
		}
	}
}

func TestLogKeepDropsTheOldest(t *testing.T) {
	var l Log
	l.Keep(2*chunkSize, 0)
	const n = 10*chunkSize + 5
	for i := 0; i < n; i++ {
		l.Add(Event{Kind: Note})
	}
	all := l.All()
	if len(all) > 3*chunkSize+5 || len(all) < 2*chunkSize {
		t.Fatalf("%d events held, want about %d", len(all), 2*chunkSize)
	}
	if all[len(all)-1].ID != n || all[0].ID != n-len(all)+1 {
		t.Fatalf("held ids %d..%d, want a run ending at %d", all[0].ID, all[len(all)-1].ID, n)
	}
	if got := l.Since(n - 3); len(got) != 3 || got[0].ID != n-2 {
		t.Fatalf("Since(n-3) = %d events from %d", len(got), got[0].ID)
	}
	if _, ok := l.Get(1); ok {
		t.Fatal("a dropped event is still found")
	}
	if e, ok := l.Get(n); !ok || e.ID != n {
		t.Fatalf("Get(last) = %+v %v", e, ok)
	}
	if l.Len() != n {
		t.Fatalf("Len = %d, want %d", l.Len(), n)
	}
}

// TestLogKeepBoundsItsText: a client that sends long lines is held to the
// bound on text, long before the bound on events: the log keeps about the
// newest textOctets of text, and never less than the newest chunk.
func TestLogKeepBoundsItsText(t *testing.T) {
	var l Log
	const budget = 1 << 20
	l.Keep(1_000_000, budget)
	line := strings.Repeat("A", 12<<10)
	const n = 3 * chunkSize
	for i := 0; i < n; i++ {
		l.Add(Event{Kind: Bytes, Text: line})
	}
	// The bound holds with the newest chunk (a whole chunk of these lines
	// is 48 MiB) whatever the budget: only full chunks are dropped.
	if held := l.n - l.dropped; held > chunkSize {
		t.Fatalf("%d events of 12 KiB held, want at most a chunk (%d)", held, chunkSize)
	}
	if l.text != (l.n-l.dropped)*len(line) {
		t.Fatalf("text count %d for %d events held", l.text, l.n-l.dropped)
	}
	// Small events after the long ones: the long ones go, as the budget says.
	for i := 0; i < 2*chunkSize; i++ {
		l.Add(Event{Kind: Note, Text: "ok"})
	}
	if l.text > budget {
		t.Fatalf("%d octets of text held, budget %d", l.text, budget)
	}
	if e, ok := l.Get(l.Len()); !ok || e.Text != "ok" {
		t.Fatalf("newest event = %+v %v", e, ok)
	}
}

func TestEventJSONIsStable(t *testing.T) {
	e := Event{ID: 1, At: 5, Kind: Reply, Code: 250, Enhanced: "2.1.5", Attrs: map[string]string{"b": "2", "a": "1"}}
	first, _ := json.Marshal(e)
	for i := 0; i < 20; i++ {
		again, _ := json.Marshal(e)
		if string(again) != string(first) {
			t.Fatalf("JSON differs between encodings: %s vs %s", first, again)
		}
	}
	want := `{"id":1,"at":5,"kind":"smtp.reply","code":250,"enhanced":"2.1.5","attrs":{"a":"1","b":"2"}}`
	if string(first) != want {
		t.Fatalf("JSON = %s, want %s", first, want)
	}
}

// TestLogGivesBackEveryField: an event comes back as it was added, whether
// its record holds it (three optional strings at most, numbers that fit, a
// size that is its text's length or one besides its strings) or it is
// kept whole: every field set, four optional strings, a port, a code, a
// size or a connection number too big or negative for a record, a time
// before its chunk's first or 49 days past it.
func TestLogGivesBackEveryField(t *testing.T) {
	var l Log
	all := Event{At: 7, Kind: TLSStep, Conn: 3, Host: "a", Peer: "b", Port: 25, Dir: ToServer, TLS: true,
		Size: 12, Verb: "EHLO", Code: 250, Enhanced: "2.0.0", Reason: "ok", Name: "n", RType: "MX",
		Step: "verify", Msg: "m1", Rcpt: "r@x", Error: "e", Text: "hello", Attrs: map[string]string{"k": "v"}}
	three := Event{At: 8, Kind: Reply, Conn: 4, Host: "b", Peer: "a", Code: 250, Verb: "RCPT", Enhanced: "2.1.5", Reason: "recipient-ok", Text: "Ok"}
	four := three
	four.Rcpt = "r@x"
	last := Event{At: 9, Kind: QueueDone, Host: "a", Msg: "m2", Rcpt: "r@y", Error: "e2"}
	bytes := Event{At: 10, Kind: Bytes, Conn: 5, Host: "a", Peer: "b", Dir: ToClient, Size: 4, Text: "Ok\r\n"}
	cut := bytes
	cut.Size = 70000
	delivery := Event{At: 11, Kind: Delivery, Host: "b", Msg: "m3", Rcpt: "r@y", Size: 300, Text: "subject"}
	sized := delivery
	sized.Verb = "DATA" // three strings and a size: four places
	events := []Event{all, three, four, last, bytes, cut, delivery, sized,
		{At: 8 + math.MaxUint32, Kind: Note}, {At: 6, Kind: Note}, {At: 7 + math.MaxUint32, Kind: Note}}
	for _, big := range []Event{{Port: 70000}, {Code: -1}, {Size: 5 << 30}, {Conn: -1}, {Conn: 1 << 33}} {
		big.Kind, big.Host = Bytes, "a"
		events = append(events, big)
	}
	for _, in := range events {
		id := l.Add(in)
		in.ID = id
		got, ok := l.Get(id)
		if !ok {
			t.Fatal("Get found nothing")
		}
		a, _ := json.Marshal(in)
		b, _ := json.Marshal(got)
		if string(a) != string(b) {
			t.Fatalf("stored and given back differ:\n%s\n%s", a, b)
		}
	}
	if len(l.spilled) != 10 {
		t.Errorf("%d events kept whole, want 10 (every field, four strings twice, two times, five numbers)", len(l.spilled))
	}
}

// TestLogStringsComeBack adds events whose string fields cycle through
// more values than intern remembers, message ids too (which take a new
// number each time they come back), and checks every event is given back
// as it was added.
func TestLogStringsComeBack(t *testing.T) {
	var l Log
	var in []Event
	for i := range 500 {
		e := Event{Kind: []Kind{Command, Reply, Bytes, Delivery, QueueAdd, Note}[i%6], Host: fmt.Sprintf("h%d", i%7),
			Verb: []string{"MAIL", "RCPT", "BDAT", "DATA", "QUIT"}[i%5], Msg: fmt.Sprintf("m%d", i%9), Text: fmt.Sprint(i)}
		e.ID = l.Add(e)
		in = append(in, e)
	}
	got := l.All()
	if len(got) != len(in) {
		t.Fatalf("%d events given back, %d added", len(got), len(in))
	}
	for i := range in {
		a, _ := json.Marshal(in[i])
		b, _ := json.Marshal(got[i])
		if string(a) != string(b) {
			t.Fatalf("event %d: added %s, given back %s", i+1, a, b)
		}
	}
	// Hosts are numbered once each; message ids once per return.
	if n := len(l.strings.ids); n > 6+7+5 {
		t.Errorf("the table maps %d strings, more than the distinct kinds, hosts and verbs", n)
	}
}

func TestLogKeepBoundsItsStrings(t *testing.T) {
	var l Log
	l.Keep(chunkSize, 0)
	const n = 20 * chunkSize
	for i := 0; i < n; i++ {
		// Every message id is new, as on a long-running bridge.
		l.Add(Event{Kind: QueueAdd, Msg: fmt.Sprintf("q%d", i), Attrs: map[string]string{"i": "x"}})
	}
	if held := l.n - l.dropped; len(l.strings.strs) > 4*held+1024 {
		t.Fatalf("%d strings kept for %d events held", len(l.strings.strs), held)
	}
	if len(l.attrs) > l.n-l.dropped {
		t.Fatalf("%d attribute sets kept for %d events held", len(l.attrs), l.n-l.dropped)
	}
	for _, id := range []int{l.dropped + 1, n} {
		e, ok := l.Get(id)
		if !ok || e.Msg != fmt.Sprintf("q%d", id-1) || e.Kind != QueueAdd || e.Attrs["i"] != "x" {
			t.Fatalf("Get(%d) = %+v %v after the strings were rebuilt", id, e, ok)
		}
	}
}

// BenchmarkLogAdd adds events shaped like a simulated world's: two hosts
// taking turns as host and peer, a few kinds and verbs, a message id that
// changes every hundred events.
func BenchmarkLogAdd(b *testing.B) {
	kinds := []Kind{Bytes, Command, Reply, Bytes}
	verbs := []string{"EHLO", "MAIL", "RCPT", "DATA", "QUIT"}
	hosts := []string{"smtp.example.com", "mx2.example.org", "store.example.org"}
	events := make([]Event, 1000)
	for i := range events {
		a, c := hosts[i/50%3], hosts[(i/50+1)%3]
		if i%2 == 1 {
			a, c = c, a
		}
		events[i] = Event{Kind: kinds[i%len(kinds)], Conn: i / 50, Host: a, Peer: c, Dir: []string{"c2s", "s2c"}[i%2],
			Verb: verbs[i/3%len(verbs)], Msg: fmt.Sprintf("%X", 0xE37BE00062+i/100), Text: "250 2.1.5 Ok"}
	}
	b.ReportAllocs()
	for b.Loop() {
		var l Log
		for range 100 {
			for i := range events {
				l.Add(events[i])
			}
		}
	}
}

// TestLogAddText: an event added with its text as bytes comes back as if
// the text had been its Text, and the bytes may change afterwards.
func TestLogAddText(t *testing.T) {
	var l Log
	buf := []byte("MAIL FROM:<a@example.org>\r\n")
	id := l.AddText(&Event{Kind: Bytes, Text: "ignored"}, buf)
	copy(buf, "XXXX")
	l.Add(Event{Kind: Note, Text: "after"})
	if e, _ := l.Get(id); e.Text != "MAIL FROM:<a@example.org>\r\n" {
		t.Fatalf("text = %q", e.Text)
	}
	if e, _ := l.Get(id + 1); e.Text != "after" {
		t.Fatalf("next text = %q", e.Text)
	}
}

// TestLogSharesTexts: texts that come round again, as strings or as
// bytes changed once added, some of one length that share a slot of the
// cache, are each given back as they were added, and a text met again is
// not written again.
func TestLogSharesTexts(t *testing.T) {
	var l Log
	texts := []string{"Ok", "SIZE=392", "SIZE=560", "SIZE=561", "message 996", "message 997", "", "250 2.1.5 Ok\r\n"}
	var want []string
	buf := make([]byte, 0, 64)
	for i := range 3 * chunkSize {
		text := texts[i*7%len(texts)]
		if i%2 == 0 {
			l.Add(Event{Kind: Note, Text: text})
		} else {
			buf = append(buf[:0], text...)
			l.AddText(&Event{Kind: Bytes}, buf)
			copy(buf, "XXXXXXXX")
		}
		want = append(want, text)
	}
	for i, e := range l.All() {
		if e.Text != want[i] {
			t.Fatalf("event %d: text %q, want %q", i+1, e.Text, want[i])
		}
	}
	if n := len(l.chunks[1].text); n > 64 {
		t.Errorf("a chunk of %d events holds %d octets of text, want each of the texts once", chunkSize, n)
	}
	if l.text != len(strings.Join(want, "")) {
		t.Errorf("text count %d, want %d: each event counts its text", l.text, len(strings.Join(want, "")))
	}
}

// TestSameWords holds sameWords, which compares texts eight octets at a
// time under WebAssembly, to ==: texts of every length up to a few words,
// the same or one octet apart anywhere.
func TestSameWords(t *testing.T) {
	base := []byte("250-mx2.example.org\r\n250-PIPELINING\r\n250-SIZE")
	for n := range len(base) + 1 {
		a := string(base[:n])
		for i := -1; i < n; i++ {
			b := []byte(a)
			if i >= 0 {
				b[i] ^= 0x20
			}
			if got, want := sameWords(a, b), a == string(b); got != want {
				t.Fatalf("sameWords(%q, %q) = %v", a, b, got)
			}
			if got, want := sameWords(a, string(b)), a == string(b); got != want {
				t.Fatalf("sameWords(%q, %q) as strings = %v", a, b, got)
			}
		}
	}
}
