package lab

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// FuzzWorldReplay drives a world of any scenario with random inputs of
// every kind (typed lines, raw bytes, messages from the mail client, time,
// connections elsewhere) and checks what undo, permalinks and saved
// progress rely on: nothing panics; the world rebuilt from its snapshot,
// after a trip through JSON as a permalink takes, has the same trace byte
// for byte; and undo's world, every input but the last, has a trace that
// is the start of this one, since time moves only when an input asks.
//
// The script holds one input a line: its first byte says which kind
// (t type, r raw, s submit "from|to|subject|body", a advance by a number
// of minutes, c connect "host:port"), the rest is its text.
func FuzzWorldReplay(f *testing.F) {
	f.Add(uint8(0), int64(1), "tEHLO a.example\ntMAIL FROM:<alice@example.com>\ntRCPT TO:<bob@example.org>\ntDATA\ntSubject: hi\nt\nthello\nt.\ntQUIT")
	f.Add(uint8(4), int64(2), "salice@example.com|bob@example.org|hi|hello\na30\na240\ntNOOP")
	f.Add(uint8(7), int64(3), "tEHLO a\ntSTARTTLS\ntEHLO a\ntAUTH PLAIN AGFsaWNlQGV4YW1wbGUuY29tAHdvbmRlcmxhbmQ=\ncmx.example.org:25\ntHELO x")
	f.Add(uint8(12), int64(4), `tEHLO a`+"\n"+`rMAIL FROM:<a@b>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n`+"\n"+`rx\n.\nQUIT\r\n`)
	scenarios := Scenarios()
	f.Fuzz(func(t *testing.T, pick uint8, seed int64, script string) {
		w, err := New(scenarios[int(pick)%len(scenarios)].Name, seed)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(script, "\n")
		for _, line := range lines[:min(len(lines), 24)] {
			if line == "" {
				continue
			}
			_, _ = w.Do(fuzzInput(line[0], line[1:])) // a refused input is a lesson too, and is not kept
		}
		want := traceJSON(t, w)

		snap, err := json.Marshal(w.Snapshot())
		if err != nil {
			t.Fatal(err)
		}
		var back Snapshot
		if err := json.Unmarshal(snap, &back); err != nil {
			t.Fatalf("the snapshot does not read back: %v\n%s", err, snap)
		}
		r, err := Restore(back)
		if err != nil {
			t.Fatalf("the world's own snapshot does not restore: %v\n%s", err, snap)
		}
		if got := traceJSON(t, r); got != want {
			t.Fatalf("the restored world's trace differs\nsnapshot: %s\nwant: %s\ngot:  %s", snap, want, got)
		}

		u, err := w.Undo()
		if err != nil {
			t.Fatalf("undo: %v", err)
		}
		if got := traceJSON(t, u); !strings.HasPrefix(want, strings.TrimSuffix(got, "]")) {
			t.Fatalf("undo's trace is not the start of the world's\nsnapshot: %s\nwant: %s\ngot:  %s", snap, want, got)
		}
	})
}

// fuzzInput makes one input of FuzzWorldReplay's script.
func fuzzInput(kind byte, text string) Input {
	switch kind {
	case 'r':
		return Input{Raw: text}
	case 's':
		f := strings.SplitN(text, "|", 4)
		for len(f) < 4 {
			f = append(f, "")
		}
		return Input{Submit: &Message{From: f[0], To: strings.Split(f[1], ","), Subject: f[2], Body: f[3]}}
	case 'a':
		minutes := 0
		fmt.Sscan(text, &minutes)
		return Input{Advance: (time.Duration(minutes%(48*60)) * time.Minute).String()}
	case 'c':
		return Input{Connect: text}
	}
	return Input{Type: text}
}
