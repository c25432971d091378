package dns

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestZoneAdd(t *testing.T) {
	tests := []struct {
		name    string
		records []Record
		want    string // error substring, "" for success
	}{
		{"duplicate is ignored", []Record{
			{Name: "a.example", Type: A, Addr: "192.0.2.1"},
			{Name: "A.EXAMPLE.", TTL: 60, Type: A, Addr: "192.0.2.1"},
		}, ""},
		{"cname then other", []Record{
			{Name: "www.example", Type: CNAME, Target: "example"},
			{Name: "www.example", Type: A, Addr: "192.0.2.1"},
		}, "cannot share its name"},
		{"other then cname", []Record{
			{Name: "www.example", Type: TXT, Text: "hi"},
			{Name: "www.example", Type: CNAME, Target: "example"},
		}, "cannot share its name"},
		{"two cnames", []Record{
			{Name: "www.example", Type: CNAME, Target: "a.example"},
			{Name: "www.example", Type: CNAME, Target: "b.example"},
		}, "cannot share its name"},
		{"unused field", []Record{{Name: "a.example", Type: A, Addr: "192.0.2.1", Target: "b.example"}}, "does not use"},
		{"lower-case type", []Record{{Name: "a.example", Type: "mx", Pref: 1, Target: "b.example"}}, ""},
		{"unknown type", []Record{{Name: "a.example", Type: "SRV"}}, "unknown record type"},
		{"missing name", []Record{{Type: A, Addr: "192.0.2.1"}}, "root is not a host name"},
		{"long TXT", []Record{{Name: "a.example", Type: TXT, Text: strings.Repeat("x", 5000)}}, "longer than 4096"},
	}
	for _, tt := range tests {
		_, err := NewZone(tt.records...)
		if tt.want == "" && err != nil {
			t.Errorf("%s: %v", tt.name, err)
		}
		if tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("%s: error %v, want one containing %q", tt.name, err, tt.want)
		}
	}
}

func TestZoneLookup(t *testing.T) {
	z, err := ParseZone(`
		example.org.      MX    10 mx1.example.org.
		mx1.example.org.  A     192.0.2.10
		mx1.example.org.  A     192.0.2.11
		www.example.org.  CNAME example.org.
	`)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		t      Type
		want   int
		exists bool
	}{
		{"example.org", MX, 1, true},
		{"example.org", A, 0, true},     // NODATA
		{"mx1.example.org", A, 2, true}, // both, zone order
		{"www.example.org", A, 1, true}, // the CNAME, for the resolver to follow
		{"www.example.org", CNAME, 1, true},
		{"org", MX, 0, true}, // an empty non-terminal exists
		{"nope.example.org", A, 0, false},
	}
	for _, tt := range tests {
		got, exists := z.lookup(tt.name, tt.t)
		if len(got.records) != tt.want || exists != tt.exists {
			t.Errorf("lookup(%s, %s) = %v, %v; want %d records, exists %v", tt.name, tt.t, got, exists, tt.want, tt.exists)
		}
	}

	if n := z.Remove("MX1.example.org.", A); n != 2 {
		t.Errorf("Remove removed %d records, want 2", n)
	}
	if _, exists := z.lookup("mx1.example.org", A); exists {
		t.Error("mx1.example.org still exists after its records were removed")
	}
	if len(z.Records()) != 2 {
		t.Errorf("%d records left, want 2", len(z.Records()))
	}
	if n := z.Remove("www.example.org", ""); n != 1 {
		t.Errorf("Remove of every type removed %d, want 1", n)
	}
}

// Scenarios carry records as JSON or YAML data; both must read back into
// records the zone accepts.
func TestRecordEncodings(t *testing.T) {
	want, err := Parse(`
		example.org. 3600 IN MX 0 mx.example.org.
		mx.example.org. A 192.0.2.1
		mx.example.org. AAAA 2001:db8::1
		example.org. TXT "v=spf1 mx -all"
		_25._tcp.mx.example.org. TLSA 3 1 1 ` + sha256Hex + `
		www.example.org. CNAME example.org.
	`)
	if err != nil {
		t.Fatal(err)
	}
	js, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	var fromJSON []Record
	if err := json.Unmarshal(js, &fromJSON); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(fromJSON, want) {
		t.Errorf("JSON round trip:\n got %+v\nwant %+v", fromJSON, want)
	}

	var fromYAML []Record
	err = yaml.Unmarshal([]byte(`
- {name: example.org., ttl: 3600, type: MX, pref: 0, target: mx.example.org.}
- {name: mx.example.org, type: A, addr: 192.0.2.1}
- {name: mx.example.org, type: AAAA, addr: "2001:db8::1"}
- {name: example.org, type: TXT, text: "v=spf1 mx -all"}
- {name: _25._tcp.mx.example.org, type: TLSA, usage: 3, selector: 1, matching: 1, cert: `+sha256Hex+`}
- {name: www.example.org, type: CNAME, target: example.org}
`), &fromYAML)
	if err != nil {
		t.Fatal(err)
	}
	z, err := NewZone(fromYAML...)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(z.Records(), want) {
		t.Errorf("YAML records:\n got %+v\nwant %+v", z.Records(), want)
	}
}

// TestZoneAnswersFollowChanges: the answers a zone keeps of its last
// lookups (Zone.recent) give way to what Add and Remove change.
func TestZoneAnswersFollowChanges(t *testing.T) {
	z, err := ParseZone("mx.example.org. A 198.51.100.25\nexample.org. MX 10 mx.example.org.\n")
	if err != nil {
		t.Fatal(err)
	}
	count := func(name string, typ Type) (int, bool) {
		set, exists := z.lookup(name, typ)
		return len(set.records), exists
	}
	for range 2 { // the second time from recent
		if n, ok := count("mx.example.org", A); n != 1 || !ok {
			t.Fatalf("A of mx: %d records, exists %v", n, ok)
		}
		if n, ok := count("new.example.org", A); n != 0 || ok {
			t.Fatalf("A of new: %d records, exists %v", n, ok)
		}
	}
	z.Remove("mx.example.org", A)
	if n, ok := count("mx.example.org", A); n != 0 || ok {
		t.Fatalf("A of mx after Remove: %d records, exists %v", n, ok)
	}
	if err := z.Add(Record{Name: "new.example.org", Type: A, Addr: "198.51.100.26"}); err != nil {
		t.Fatal(err)
	}
	if n, ok := count("new.example.org", A); n != 1 || !ok {
		t.Fatalf("A of new after Add: %d records, exists %v", n, ok)
	}
	if n, ok := count("example.org", MX); n != 1 || !ok {
		t.Fatalf("MX of example.org: %d records, exists %v", n, ok)
	}
}
