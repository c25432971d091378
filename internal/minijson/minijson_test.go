package minijson_test

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"smtplab/engine/lab"
	"smtplab/engine/mta"
	"smtplab/internal/minijson"
	"smtplab/lessons"
	"smtplab/lessons/goal"
)

// sameAsEncodingJSON marshals v with both packages and wants the same bytes.
func sameAsEncodingJSON(t *testing.T, what string, v any) {
	t.Helper()
	want, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("%s: encoding/json: %v", what, err)
	}
	got, err := minijson.Marshal(v)
	if err != nil {
		t.Fatalf("%s: minijson: %v", what, err)
	}
	if !bytes.Equal(got, want) {
		i := 0
		for i < len(got) && i < len(want) && got[i] == want[i] {
			i++
		}
		t.Errorf("%s: output differs from encoding/json at byte %d:\nminijson      %.200s\nencoding/json %.200s", what, i, got[i:], want[i:])
	}
}

// TestMarshalLikeEncodingJSON encodes what the engine sends the page (the
// worlds of every scenario after some typing and time, their snapshots,
// the lessons' goals and their results) and wants encoding/json's bytes.
func TestMarshalLikeEncodingJSON(t *testing.T) {
	sameAsEncodingJSON(t, "the scenario list", lab.Scenarios())
	all, err := lessons.All()
	if err != nil {
		t.Fatal(err)
	}
	for _, info := range lab.Scenarios() {
		w, err := lab.New(info.Name, 7)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range []string{"EHLO laptop.example.com", "MAIL FROM:<alice@example.com>", "RCPT TO:<bob@example.org>",
			"DATA", "Subject: <b>&\u2028\x01 é", "", "body", ".", "QUIT"} {
			if _, err := w.Type(line); err != nil {
				break // a scenario whose server has hung up
			}
		}
		w.Submit(lab.Message{From: "alice@example.com", To: []string{"bob@example.org", "nobody@example.org"}, Subject: "Hi", Body: "Hello\r\n"})
		w.Submit(lab.Message{From: "alice@example.com", To: []string{"bob@example.org"}, Subject: "A file", Body: "See the file.",
			Attachments: []lab.Attachment{{Name: "<b>&.bin", Type: "application/octet-stream", Content: []byte{0, 1, 0xfe, 0xff}}}})
		w.Advance(6 * time.Hour)
		sameAsEncodingJSON(t, info.Name+" state", w.State())
		sameAsEncodingJSON(t, info.Name+" events", w.Trace())
		sameAsEncodingJSON(t, info.Name+" snapshot", w.Snapshot())
		for _, l := range all {
			sameAsEncodingJSON(t, l.Slug+" goals", l.Goals)
			sameAsEncodingJSON(t, l.Slug+" results on "+info.Name, goal.Check(l.Goals, w.Trace()))
		}
	}
}

func TestMarshalValues(t *testing.T) {
	type inner struct {
		A int `json:"a,omitempty"`
	}
	type sample struct {
		S      string              `json:"s"`
		Empty  string              `json:"empty,omitempty"`
		Skip   int                 `json:"-"`
		F      float64             `json:"f"`
		F32    float32             `json:"f32"`
		U      uint8               `json:"u"`
		B      bool                `json:"b"`
		P      *inner              `json:"p"`
		NilP   *inner              `json:"nilP,omitempty"`
		In     inner               `json:"in,omitempty"`
		L      []string            `json:"l"`
		NilL   []string            `json:"nilL"`
		M      map[string]int      `json:"m"`
		Any    any                 `json:"any"`
		Raw    minijson.RawMessage `json:"raw"`
		D      mta.Duration        `json:"d"`
		T      time.Time           `json:"t"`
		Arr    [2]int              `json:"arr"`
		Bytes  []byte              `json:"bytes"`
		NoB    []byte              `json:"noB"`
		EmptyB []byte              `json:"emptyB,omitempty"`
		NoTag  string
		hidden int
	}
	for _, f := range []float64{0, 1, -1.5, 1e20, 1e21, 1e-6, 1e-7, 123456789.125, math.SmallestNonzeroFloat64, math.MaxFloat64} {
		f32 := float32(0)
		if math.Abs(f) < math.MaxFloat32 {
			f32 = float32(f)
		}
		v := sample{S: "a\"b\\c\n\t\x00<>&\u2028\u2029\xff☃", F: f, F32: f32, U: 200, B: true, P: &inner{3},
			L: []string{}, M: map[string]int{"z": 1, "a": 2}, Any: []any{1.5, "x", nil, map[string]any{"k": false}},
			Raw: minijson.RawMessage(`{"x": [1, 2]}`), D: mta.Duration(90 * time.Second),
			T: time.Date(2026, 1, 5, 9, 0, 0, 5, time.UTC), Arr: [2]int{1, 2}, Bytes: []byte("\x00\xff<a file>\r\n"),
			EmptyB: []byte{}, NoTag: "n", hidden: 1}
		sameAsEncodingJSON(t, "sample", v)
		sameAsEncodingJSON(t, "pointer to sample", &v)
	}
	sameAsEncodingJSON(t, "raw text with HTML", struct {
		R minijson.RawMessage
	}{minijson.RawMessage("{ \"a\" : \"<b>&\u2028\u2029\\\"\" }")})
	// omitempty on every kind it reads, each empty and not: -0 is empty
	// too, as encoding/json has it.
	type omitted struct {
		B   bool    `json:"b,omitempty"`
		I   int64   `json:"i,omitempty"`
		U   uint16  `json:"u,omitempty"`
		F   float64 `json:"f,omitempty"`
		F32 float32 `json:"f32,omitempty"`
		A   any     `json:"a,omitempty"`
		P   *int    `json:"p,omitempty"`
	}
	one := 1
	sameAsEncodingJSON(t, "omitempty, empty", omitted{})
	sameAsEncodingJSON(t, "omitempty, set", omitted{B: true, I: -1, U: 1, F: 0.5, F32: 2, A: 0, P: &one})
	sameAsEncodingJSON(t, "omitempty, -0", omitted{F: math.Copysign(0, -1), F32: float32(math.Copysign(0, -1))})
	sameAsEncodingJSON(t, "tags with more than a json key", struct {
		First  int `json:"first,omitempty" yaml:"one"`
		Second int `yaml:"two" json:"second"`
		Third  int `json:"th\u0069rd"`
	}{1, 2, 3})
	sameAsEncodingJSON(t, "map with keys of a named string type", map[minijson.Number]int{"b": 1, "a": 2, "": 3})
	sameAsEncodingJSON(t, "nil", nil)
	sameAsEncodingJSON(t, "nil map", map[string]int(nil))
	if _, err := minijson.Marshal(math.Inf(1)); err == nil {
		t.Error("+Inf encoded")
	}
}

// TestUnmarshalLikeEncodingJSON decodes every scenario file and every
// lesson's goals with both packages and wants the same values.
func TestUnmarshalLikeEncodingJSON(t *testing.T) {
	for _, info := range lab.Scenarios() {
		src, err := os.ReadFile("../../engine/lab/scenarios/" + info.Name + ".json")
		if err != nil {
			t.Fatal(err)
		}
		var want, got lab.Scenario
		dec := json.NewDecoder(bytes.NewReader(src))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&want); err != nil {
			t.Fatal(err)
		}
		mdec := minijson.NewDecoder(bytes.NewReader(src))
		mdec.DisallowUnknownFields()
		if err := mdec.Decode(&got); err != nil {
			t.Fatalf("%s: %v", info.Name, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s decodes differently:\n%+v\n%+v", info.Name, got, want)
		}
	}
	all, err := lessons.All()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range all {
		text, err := json.Marshal(l.Goals)
		if err != nil {
			t.Fatal(err)
		}
		var got []goal.Goal
		if err := minijson.Unmarshal(text, &got); err != nil {
			t.Fatalf("%s: %v", l.Slug, err)
		}
		if !reflect.DeepEqual(got, l.Goals) {
			t.Errorf("%s: goals decode differently", l.Slug)
		}
	}
}

func TestUnmarshalValues(t *testing.T) {
	for _, in := range []string{
		`{"a": 1, "b": [true, false, null], "c": {"d": "e\u00e9\ud83d\ude00\n"}, "f": -1.5e3}`,
		`[1, 2.5, "x", {"y": {}}, []]`,
		`"\ud800"`, `"\u2028 \/"`, `0`, `-0.0`, `1E+2`, `null`, `  true  `,
	} {
		var want, got any
		if err := json.Unmarshal([]byte(in), &want); err != nil {
			t.Fatal(err)
		}
		if err := minijson.Unmarshal([]byte(in), &got); err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %#v, want %#v", in, got, want)
		}
	}
	var n struct {
		B  []byte              `json:"b"`
		I  int8                `json:"i"`
		M  map[string]any      `json:"m"`
		D  mta.Duration        `json:"d"`
		R  minijson.RawMessage `json:"r"`
		Nm minijson.Number     `json:"nm"`
		// A map whose keys are a named string type.
		K map[minijson.Number]int `json:"k"`
	}
	if err := minijson.Unmarshal([]byte(`{"b": "AP8K\r\nYQ==", "i": -7, "m": {"x": 1}, "d": "5m", "r": [1, {"a": 2}], "nm": 12.50, "k": {"7": 8}}`), &n); err != nil {
		t.Fatal(err)
	}
	if string(n.B) != "\x00\xff\na" || n.I != -7 || n.M["x"] != 1.0 || n.D != mta.Duration(5*time.Minute) || string(n.R) != `[1,{"a":2}]` || n.Nm != "12.50" || n.K["7"] != 8 {
		t.Errorf("decoded %+v", n)
	}
	for _, bad := range []string{`{"i": 300}`, `{"i": "7"}`, `{"i": 1.5}`, `{"m": []}`, `{"d": "soon"}`, `{"b": "not base64!"}`, `{"b": 7}`} {
		if err := minijson.Unmarshal([]byte(bad), &n); err == nil {
			t.Errorf("%s decoded without an error", bad)
		}
	}
	dec := minijson.NewDecoder(strings.NewReader(`{"nmae": "x"}`))
	dec.DisallowUnknownFields()
	var info lab.ScenarioInfo
	if err := dec.Decode(&info); err == nil || err.Error() != `json: unknown field "nmae"` {
		t.Errorf("unknown field: %v", err)
	}
}

// FuzzUnmarshal: minijson accepts exactly the texts encoding/json accepts,
// and decodes them to the same values.
func FuzzUnmarshal(f *testing.F) {
	for _, s := range []string{`{"a":[1,2,{"b":null}]}`, `"\u00e9\ud83d"`, `1e400`, `[`, `{"a" 1}`, `01`, `-`, `"\x01"`, `tru`, `[1,]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var want, got any
		werr := json.Unmarshal(b, &want)
		gerr := minijson.Unmarshal(b, &got)
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("%q: encoding/json says %v, minijson says %v", b, werr, gerr)
		}
		if werr == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: %#v, want %#v", b, got, want)
		}
	})
}
