package lessons

import (
	"encoding/json"
	"reflect"
	"testing"

	"smtplab/engine/lab"
)

// The page sends solution steps to the wasm bridge as JSON, so the shape
// is part of the contract: these are the exact bytes of each kind of step.
func TestStepJSON(t *testing.T) {
	tests := []struct {
		step Step
		json string
	}{
		{Step{Type: "EHLO laptop.example.com"}, `{"type":"EHLO laptop.example.com"}`},
		{Step{}, `{}`},
		{Step{Raw: `hi\n.\r\n`}, `{"raw":"hi\\n.\\r\\n"}`},
		{Step{Submit: &Message{From: "alice@example.com", To: []string{"bob@example.org", "carol@example.org"}, Subject: "Hi", Body: "Hello."}},
			`{"submit":{"from":"alice@example.com","to":["bob@example.org","carol@example.org"],"subject":"Hi","body":"Hello."}}`},
		{Step{Submit: &Message{To: []string{"bob@example.org"}}}, `{"submit":{"from":"","to":["bob@example.org"],"subject":"","body":""}}`},
		{Step{Submit: &Message{To: []string{"bob@example.org"}, Attachments: []Attachment{{Name: "a.txt", Type: "text/plain", Content: FileContent("hi\n")}, {Name: "empty"}}}},
			`{"submit":{"from":"","to":["bob@example.org"],"subject":"","body":"","attachments":[{"name":"a.txt","type":"text/plain","content":"aGkK"},{"name":"empty","type":"","content":null}]}}`},
		{Step{Advance: "10m"}, `{"advance":"10m"}`},
		{Step{Connect: "mx.example.org:25"}, `{"connect":"mx.example.org:25"}`},
	}
	for _, tt := range tests {
		b, err := json.Marshal(tt.step)
		if err != nil || string(b) != tt.json {
			t.Errorf("Marshal(%+v) = %s, %v; want %s", tt.step, b, err, tt.json)
			continue
		}
		var back Step
		if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, tt.step) {
			t.Errorf("%s reads back as %+v (%v)", b, back, err)
		}
		// The same JSON is the facade's own input, as undo and
		// permalinks replay it.
		var in lab.Input
		if err := json.Unmarshal(b, &in); err != nil || !reflect.DeepEqual(in, tt.step.Input()) {
			t.Errorf("%s as a lab.Input is %+v (%v), want %+v", b, in, err, tt.step.Input())
		}
	}
}

// Every step of every shipped solution survives the trip to the page and
// back, and means the same to the facade.
func TestShippedStepsSurviveJSON(t *testing.T) {
	all, err := All()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, l := range all {
		for i, s := range l.Solution {
			for _, k := range s.kinds() {
				seen[k] = true
			}
			if s.Lab != "" {
				continue // a change of world, not an input
			}
			b, err := json.Marshal(s)
			if err != nil {
				t.Fatalf("%s solution[%d]: %v", l.Slug, i, err)
			}
			var in lab.Input
			if err := json.Unmarshal(b, &in); err != nil || !reflect.DeepEqual(in, s.Input()) {
				t.Errorf("%s solution[%d]: %s as a lab.Input is %+v, want %+v", l.Slug, i, b, in, s.Input())
			}
		}
	}
	for _, k := range []string{"type", "raw", "submit", "advance", "connect"} {
		if !seen[k] {
			t.Errorf("no shipped solution has a step with %s, so the replay test does not cover it", k)
		}
	}
}

// Input copies the recipients and files, so the world's input log does
// not share the lesson's slices.
func TestInputCopiesRecipients(t *testing.T) {
	s := Step{Submit: &Message{To: []string{"bob@example.org"}, Attachments: []Attachment{{Name: "a.txt", Content: FileContent("hi")}}}}
	in := s.Input()
	in.Submit.To[0] = "mallory@example.net"
	in.Submit.Attachments[0].Content[0] = 'X'
	if s.Submit.To[0] != "bob@example.org" || string(s.Submit.Attachments[0].Content) != "hi" {
		t.Fatal("Input shares the recipient list or a file with the step")
	}
}

func TestRawLength(t *testing.T) {
	tests := []struct {
		raw  string
		want int
	}{
		{`abc`, 3},
		{`\r\n`, 2},
		{`a\\b`, 3},
		{`\t\0`, 2},
		{"tab\tok", 6},
	}
	for _, tt := range tests {
		if n, err := rawLength(tt.raw); err != nil || n != tt.want {
			t.Errorf("rawLength(%q) = %d, %v; want %d", tt.raw, n, err, tt.want)
		}
	}
}

// FuzzRawLength checks the linter against the lab: whatever raw text the
// linter accepts, the lab sends, byte for byte as many as counted.
func FuzzRawLength(f *testing.F) {
	for _, s := range []string{`hi\n.\r\n`, `\\`, `\`, `\q`, "a\nb", `\0\t`, ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := rawLength(s)
		if err != nil || s == "" || n > 512 {
			return
		}
		w, err := lab.New("first-session", 1)
		if err != nil {
			t.Fatal(err)
		}
		r, err := w.TypeRaw(s)
		if err != nil {
			t.Fatalf("the linter accepts %q but the lab refuses it: %v", s, err)
		}
		sent := 0
		for _, e := range r.Events {
			if e.Kind == "bytes" && e.Dir == "c2s" && e.Host == "laptop.example.com" {
				sent += e.Size
			}
		}
		if sent != n {
			t.Fatalf("rawLength(%q) = %d, the lab sent %d bytes", s, n, sent)
		}
	})
}
