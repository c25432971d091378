package goal

import (
	"encoding/json"
	"reflect"
	"testing"

	"smtplab/engine/trace"
)

// FuzzGoal feeds arbitrary JSON to the goal decoder. Whatever decodes must
// check against the test traces without panicking, pass Validate's
// condition rules (decoding and validating share them), and survive a JSON
// round trip unchanged.
func FuzzGoal(f *testing.F) {
	for _, seed := range []string{
		`{"id":"a","text":"t","reply":{"verb":"EHLO","code":250}}`,
		`{"id":"b","text":"t","reply":{"code":"5xx","enhanced":"5.1.x"}}`,
		`{"id":"c","text":"t","before":[{"tls":{"step":"finished"}},{"reply":{"verb":"AUTH","code":"235"}}]}`,
		`{"id":"d","text":"t","count":{"event":{"kind":"queue.retry","attrs":{"attempt":2}},"min":2,"max":3}}`,
		`{"id":"e","text":"t","not":{"any":[{"bounce":{}},{"all":[{"dns":{"rtype":"MX"}}]}]}}`,
		`{"id":"f","text":"t","event":{"kind":"bytes","tls":true,"port":25,"dir":"c2s"}}`,
		`{"id":"g","text":"t","delivered":{"rcpt":"<bob@example.org>"}}`,
		`{"id":"h","text":"t","reply":{"code":2.5}}`,
		`{"id":"i","text":"t"}`,
		`{"id":"j","text":"t","answered":{"command":{"verb":"RCPT","text":"bob@example.org"},"reply":{"code":250}}}`,
		`{"id":"k","text":"t","not":{"answered":{"command":{"starts":"AUTH"},"reply":{"code":"5xx","terminal":true}}}}`,
		`{"id":"l","text":"t","answered":{"command":{"verb":"RCPT"}}}`,
		`{"id":"m","text":"t","session":[{"answered":{"command":{"starts":"AUTH CRAM-MD5"},"reply":{"code":334}}},{"none":{"command":{}}},{"answered":{"command":{"text":"*"},"reply":{"code":501}}}]}`,
		`{"id":"n","text":"t","before":[{"none":{"event":{"kind":"bytes","dir":"c2s"}}},{"reply":{"code":"5xx"}},{"none":{"reply":{}}}]}`,
		`{"id":"o","text":"t","session":[{"none":{"answered":{}}},{"answered":{"reply":{}}},{"reply":{},"none":{}}]}`,
		`[1,2]`,
	} {
		f.Add([]byte(seed))
	}
	traces := [][]trace.Event{session(), answerTrace()}
	f.Fuzz(func(t *testing.T, data []byte) {
		var g Goal
		if err := json.Unmarshal(data, &g); err != nil {
			return
		}
		for _, events := range traces {
			Check([]Goal{g}, events)
		}
		g.ID, g.Text = "x", "t"
		if errs := Validate([]Goal{g}); errs != nil {
			t.Fatalf("decoded goal %s fails validation: %v", data, errs)
		}
		b, err := json.Marshal(g)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		var back Goal
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("re-decoding %s (from %s): %v", b, data, err)
		}
		if !reflect.DeepEqual(g, back) {
			t.Fatalf("round trip changed the goal:\n in  %s\n out %s", data, b)
		}
	})
}
