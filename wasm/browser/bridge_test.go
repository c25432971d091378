//go:build js && wasm

package main

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"

	"github.com/hack-pad/safejs"

	"smtplab/internal/minijson"
)

// The tests run the bridge under Node (go_js_wasm_exec): the same code the
// page calls, without a page.

var installOnce = sync.OnceValues(func() (*bridge, error) {
	b := newBridge()
	if err := b.install(); err != nil {
		return nil, err
	}
	go b.work()
	return b, nil
})

func labAPI(t *testing.T) safejs.Value {
	t.Helper()
	if _, err := installOnce(); err != nil {
		t.Fatal(err)
	}
	v, err := safejs.Global().Get("smtpLab")
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// call calls smtpLab[method](args...) and waits for its promise. It
// returns the result as JSON, or the rejection's message.
func call(t *testing.T, method string, args ...any) (string, error) {
	t.Helper()
	p, err := labAPI(t).Call(method, args...)
	if err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	type outcome struct {
		json string
		err  error
	}
	ch := make(chan outcome, 1)
	onOK, _ := safejs.FuncOf(func(_ safejs.Value, a []safejs.Value) any {
		jsonObj, _ := safejs.Global().Get("JSON")
		s, _ := jsonObj.Call("stringify", a[0])
		str, _ := s.String()
		ch <- outcome{json: str}
		return nil
	})
	onErr, _ := safejs.FuncOf(func(_ safejs.Value, a []safejs.Value) any {
		msg, _ := a[0].Get("message")
		str, _ := msg.String()
		ch <- outcome{err: errorString(str)}
		return nil
	})
	defer onOK.Release()
	defer onErr.Release()
	if _, err := p.Call("then", onOK.Value(), onErr.Value()); err != nil {
		t.Fatalf("%s: the result is not a promise: %v", method, err)
	}
	o := <-ch
	return o.json, o.err
}

type errorString string

func (e errorString) Error() string { return string(e) }

// jsValue parses JSON into a JavaScript value, as the page would pass it.
func jsValue(t *testing.T, text string) safejs.Value {
	t.Helper()
	jsonObj, _ := safejs.Global().Get("JSON")
	v, err := jsonObj.Call("parse", text)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

type openedJSON struct {
	World  int `json:"world"`
	Events []struct {
		Kind   string `json:"kind"`
		Code   int    `json:"code"`
		Verb   string `json:"verb"`
		Text   string `json:"text"`
		Reason string `json:"reason"`
	} `json:"events"`
	State struct {
		Scenario string `json:"scenario"`
		Inputs   int    `json:"inputs"`
	} `json:"state"`
}

func decode[T any](t *testing.T, s string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("%v: %s", err, s)
	}
	return v
}

func (o openedJSON) has(kind string, code int, verb string) bool {
	for _, e := range o.Events {
		if e.Kind == kind && (code == 0 || e.Code == code) && (verb == "" || e.Verb == verb) {
			return true
		}
	}
	return false
}

func TestBridgeReady(t *testing.T) {
	api := labAPI(t)
	ready, _ := safejs.Global().Get("smtpLabReady")
	if ok, _ := ready.Bool(); !ok {
		t.Error("smtpLabReady is not true")
	}
	v, _ := api.Get("version")
	if s, _ := v.String(); !strings.HasPrefix(s, "smtplab ") {
		t.Errorf("version %q", s)
	}
	out, err := call(t, "scenarios")
	if err != nil {
		t.Fatal(err)
	}
	list := decode[[]struct{ Name, Title, Purpose string }](t, out)
	if len(list) == 0 || list[0].Name == "" || list[0].Title == "" {
		t.Errorf("scenarios: %s", out)
	}
}

func TestBridgeSession(t *testing.T) {
	out, err := call(t, "create", jsValue(t, `{"scenario":"first-session","seed":1}`))
	if err != nil {
		t.Fatal(err)
	}
	w := decode[openedJSON](t, out)
	if w.World == 0 || !w.has("smtp.reply", 220, "") || w.State.Scenario != "first-session" {
		t.Fatalf("create: %s", out)
	}

	out, err = call(t, "type", w.World, "EHLO me.example.com")
	if err != nil {
		t.Fatal(err)
	}
	if r := decode[openedJSON](t, out); !r.has("smtp.reply", 250, "EHLO") || r.State.Inputs != 1 {
		t.Errorf("type EHLO: %s", out)
	}

	goals := jsValue(t, `[{"id":"greeted","text":"Say EHLO","reply":{"verb":"EHLO","code":250}},
		{"id":"sent","text":"Send mail","reply":{"verb":"MAIL","code":"2xx"}}]`)
	out, err = call(t, "check", w.World, goals)
	if err != nil {
		t.Fatal(err)
	}
	if got := decode[[]struct {
		ID   string
		Done bool
	}](t, out); len(got) != 2 || !got[0].Done || got[1].Done {
		t.Errorf("check after EHLO: %s", out)
	}

	snapJSON, err := call(t, "snapshot", w.World)
	if err != nil {
		t.Fatal(err)
	}
	snap := decode[struct {
		Scenario string
		Seed     int64
		Inputs   []map[string]string
	}](t, snapJSON)
	if snap.Scenario != "first-session" || snap.Seed != 1 || len(snap.Inputs) != 1 || snap.Inputs[0]["type"] != "EHLO me.example.com" {
		t.Errorf("snapshot: %s", snapJSON)
	}

	out, err = call(t, "undo", w.World)
	if err != nil {
		t.Fatal(err)
	}
	if u := decode[openedJSON](t, out); u.World != w.World || u.has("smtp.command", 0, "EHLO") || !u.has("smtp.reply", 220, "") {
		t.Errorf("undo: %s", out)
	}
	if _, err := call(t, "undo", w.World); err == nil || !strings.Contains(err.Error(), "nothing to undo") {
		t.Errorf("second undo: %v", err)
	}

	out, err = call(t, "restore", jsValue(t, snapJSON))
	if err != nil {
		t.Fatal(err)
	}
	r := decode[openedJSON](t, out)
	if r.World == w.World || !r.has("smtp.reply", 250, "EHLO") {
		t.Errorf("restore: %s", out)
	}

	out, err = call(t, "advance", r.World, 90)
	if err != nil {
		t.Fatal(err)
	}
	if a := decode[openedJSON](t, out); !a.has("clock", 0, "") && len(a.Events) == 0 {
		t.Errorf("advance 90 s: %s", out)
	}

	if _, err := call(t, "release", r.World); err != nil {
		t.Fatal(err)
	}
	if _, err := call(t, "type", r.World, "NOOP"); err == nil {
		t.Error("typing into a released world worked")
	}
}

// smugglingPayload ends a message with a bare LF and starts a second one
// inside it (the 2023 SMTP smuggling attack), written with typeRaw's escapes.
const smugglingPayload = `Subject: one\r\n\r\nhi\n.\nMAIL FROM:<evil@example.com>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\nSubject: two\r\n\r\nsmuggled\r\n.\r\n`

func TestBridgeTypeRaw(t *testing.T) {
	out, err := call(t, "create", jsValue(t, `{"scenario":"smuggling-attempt","seed":1}`))
	if err != nil {
		t.Fatal(err)
	}
	w := decode[openedJSON](t, out).World
	for _, line := range []string{"EHLO x.example.com", "MAIL FROM:<alice@example.com>", "RCPT TO:<bob@example.org>", "DATA"} {
		if _, err := call(t, "type", w, line); err != nil {
			t.Fatal(err)
		}
	}
	out, err = call(t, "typeRaw", w, smugglingPayload)
	if err != nil {
		t.Fatal(err)
	}
	r := decode[openedJSON](t, out)
	var replies []string
	for _, e := range r.Events {
		if e.Kind == "smtp.reply" {
			replies = append(replies, fmt.Sprint(e.Code, " ", e.Reason))
		}
	}
	if len(replies) != 1 || replies[0] != "550 bare-lf" {
		t.Errorf("replies to the smuggling payload: %q, want only 550 bare-lf", replies)
	}
	if r.State.Inputs != 5 {
		t.Errorf("inputs after typeRaw: %d, want 5", r.State.Inputs)
	}

	// The raw input is in the snapshot as "raw", so a permalink replays it.
	out, err = call(t, "snapshot", w)
	if err != nil {
		t.Fatal(err)
	}
	snap := decode[struct {
		Inputs []map[string]any `json:"inputs"`
	}](t, out)
	if last := snap.Inputs[len(snap.Inputs)-1]; last["raw"] != smugglingPayload || last["type"] != nil {
		t.Errorf("last input in the snapshot: %v", last)
	}
	out, err = call(t, "restore", jsValue(t, out))
	if err != nil {
		t.Fatal(err)
	}
	if !decode[openedJSON](t, out).has("smtp.reply", 550, "") {
		t.Errorf("restoring the snapshot did not replay the raw bytes: %s", out)
	}
	// Undo takes the raw input back: the session waits in DATA again.
	out, err = call(t, "undo", w)
	if err != nil {
		t.Fatal(err)
	}
	if u := decode[openedJSON](t, out); u.has("smtp.reply", 550, "") || !u.has("smtp.reply", 354, "") {
		t.Errorf("undo of the raw input: %s", out)
	}

	for _, bad := range []struct{ text, want string }{
		{`bad \q escape`, "escape"},
		{"", "write something"},
	} {
		if _, err := call(t, "typeRaw", w, bad.text); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("typeRaw(%q): error %v, want one saying %q", bad.text, err, bad.want)
		}
	}
}

// TestBridgeSubmitWithAttachments sends a file as the page does (its
// content in base64), finds it listed in Bob's mailbox, and refuses a file
// whose content is not base64 or whose name is a path.
func TestBridgeSubmitWithAttachments(t *testing.T) {
	out, err := call(t, "create", jsValue(t, `{"scenario":"first-session","seed":1}`))
	if err != nil {
		t.Fatal(err)
	}
	w := decode[openedJSON](t, out).World
	msg := `{"from":"alice@example.com","to":["bob@example.org"],"subject":"A file","body":"Here.",
		"attachments":[{"name":"<b>notes &amp;.txt","type":"text/plain","content":"aGVsbG8K"}]}`
	out, err = call(t, "submit", w, jsValue(t, msg))
	if err != nil {
		t.Fatal(err)
	}
	got := decode[struct {
		State struct {
			Mailboxes []struct {
				Messages []struct {
					Raw         string `json:"raw"`
					Attachments []struct {
						Name string `json:"name"`
						Type string `json:"type"`
						Size int    `json:"size"`
					} `json:"attachments"`
				} `json:"messages"`
			} `json:"mailboxes"`
		} `json:"state"`
	}](t, out)
	if len(got.State.Mailboxes) != 1 || len(got.State.Mailboxes[0].Messages) != 1 {
		t.Fatalf("submit: %s", out)
	}
	m := got.State.Mailboxes[0].Messages[0]
	if len(m.Attachments) != 1 || m.Attachments[0].Name != "<b>notes &amp;.txt" || m.Attachments[0].Size != 6 ||
		!strings.Contains(m.Raw, "\r\naGVsbG8K\r\n") {
		t.Errorf("Bob's message: %+v", m)
	}
	for _, bad := range []struct{ attachment, says string }{
		{`{"name":"a.txt","content":"not base64!"}`, "illegal base64"},
		{`{"name":"../a.txt","content":""}`, "not its path"},
	} {
		msg := `{"from":"alice@example.com","to":["bob@example.org"],"subject":"","body":"","attachments":[` + bad.attachment + `]}`
		if _, err := call(t, "submit", w, jsValue(t, msg)); err == nil || !strings.Contains(err.Error(), bad.says) {
			t.Errorf("%s: %v, want an error saying %q", bad.attachment, err, bad.says)
		}
	}
}

// TestBridgeConnect: connect moves the terminal, the snapshot keeps it as
// "connect", and a host the world does not have is refused in words.
func TestBridgeConnect(t *testing.T) {
	out, err := call(t, "create", jsValue(t, `{"scenario":"mx-routing","seed":1}`))
	if err != nil {
		t.Fatal(err)
	}
	w := decode[openedJSON](t, out).World
	out, err = call(t, "connect", w, "mx1.example.org:25")
	if err != nil {
		t.Fatal(err)
	}
	r := decode[struct {
		openedJSON
		State struct {
			Learner struct {
				Server    string `json:"server"`
				Port      int    `json:"port"`
				Connected bool   `json:"connected"`
			} `json:"learner"`
		} `json:"state"`
	}](t, out)
	if !r.has("conn.open", 0, "") || !r.has("smtp.reply", 220, "") || r.State.Learner.Server != "mx1.example.org" || r.State.Learner.Port != 25 || !r.State.Learner.Connected {
		t.Errorf("connect: %s", out)
	}
	out, err = call(t, "snapshot", w)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, `"inputs":[{"connect":"mx1.example.org:25"}]`) {
		t.Errorf("snapshot after connect: %s", out)
	}
	if _, err := call(t, "connect", w, "mx3.example.org:25"); err == nil || !strings.Contains(err.Error(), "no host") {
		t.Errorf("connect to no host: %v", err)
	}
	if _, err := call(t, "connect", w); err == nil || !strings.Contains(err.Error(), "the host and port is missing") {
		t.Errorf("connect without a target: %v", err)
	}
}

func TestBridgeErrors(t *testing.T) {
	out, err := call(t, "create", jsValue(t, `{"scenario":"first-session","seed":1}`))
	if err != nil {
		t.Fatal(err)
	}
	w := decode[openedJSON](t, out).World
	tests := []struct {
		method string
		args   []any
		want   string
	}{
		{"create", []any{jsValue(t, `{"scenario":"no-such-world"}`)}, "no scenario"},
		{"create", nil, "missing"},
		{"type", []any{9999, "EHLO x"}, "no lab 9999"},
		{"type", []any{w}, "the line is missing"},
		{"type", []any{w, 42}, "not valid"},
		{"type", []any{w, "EHLO a\r\nRSET"}, "line break"},
		{"advance", []any{w, -5}, "forward"},
		{"check", []any{w, jsValue(t, `[{"id":"x","text":"y","nonsense":{}}]`)}, "the list of goals is not valid"},
		// Goals copied from a lesson's YAML as text, or one goal alone.
		{"check", []any{w, "- id: x\n  text: y\n  reply: {code: 220}"}, "a list of goal objects"},
		{"check", []any{w, jsValue(t, `{"id":"x","text":"y","reply":{"code":220}}`)}, "a list of goal objects"},
		{"restore", []any{jsValue(t, `{"scenario":"first-session","seed":1,"inputs":[{"advance":"soon"}]}`)}, "advance"},
		{"advance", []any{w, math.NaN()}, "(a finite number) is missing"},
		{"advance", []any{w, 1e-12}, "a millisecond at least"},
		// Too long to copy into the engine: refused before it is.
		{"type", []any{w, strings.Repeat("é", maxArgLength)}, "the lab takes at most"},
	}
	for _, tt := range tests {
		_, err := call(t, tt.method, tt.args...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			msg := fmt.Sprint(err)
			t.Errorf("%s: error %.200s, want one saying %q", tt.method, msg, tt.want)
		}
	}
	// The page is told what was wrong in its own terms, not Go's.
	if _, err := call(t, "create", "first-session"); err == nil || strings.Contains(err.Error(), "Go value") || !strings.Contains(err.Error(), "wrong type") {
		t.Errorf("create with a string: %v", err)
	}
}

func TestBridgeRecoversPanics(t *testing.T) {
	b, err := installOnce()
	if err != nil {
		t.Fatal(err)
	}
	f, err := safejs.FuncOf(b.callback("boom", func([]minijson.RawMessage) (any, error) { panic("engine bug") }))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Release()
	api := labAPI(t)
	if err := api.Set("boom", f.Value()); err != nil {
		t.Fatal(err)
	}
	_, err = call(t, "boom")
	if err == nil || !strings.Contains(err.Error(), "internal error") || !strings.Contains(err.Error(), "engine bug") {
		t.Errorf("a panic gave %v, want a rejection naming it", err)
	}
	// The engine still answers afterwards.
	if _, err := call(t, "scenarios"); err != nil {
		t.Errorf("after a panic: %v", err)
	}
}
