package dns

import (
	"errors"
	"strings"
	"testing"
)

const sha256Hex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestParseRecord(t *testing.T) {
	tests := []struct {
		line string
		want Record
	}{
		{"example.org. 3600 IN MX 10 mx1.example.org.", Record{Name: "example.org", TTL: 3600, Type: MX, Pref: 10, Target: "mx1.example.org"}},
		{"Example.ORG mx 10 MX1.Example.Org", Record{Name: "example.org", Type: MX, Pref: 10, Target: "mx1.example.org"}},
		{"example.net. MX 0 .", Record{Name: "example.net", Type: MX, Target: Root}},
		{"example.org IN 300 MX 5 mx", Record{Name: "example.org", TTL: 300, Type: MX, Pref: 5, Target: "mx"}},
		{"mx1.example.org. A 192.0.2.10", Record{Name: "mx1.example.org", Type: A, Addr: "192.0.2.10"}},
		{"mx1.example.org.\tIN\tAAAA\t2001:DB8::0:1 ; v6", Record{Name: "mx1.example.org", Type: AAAA, Addr: "2001:db8::1"}},
		{"www.example.org. 60 CNAME example.org.", Record{Name: "www.example.org", TTL: 60, Type: CNAME, Target: "example.org"}},
		{`example.org. TXT "v=spf1 mx -all"`, Record{Name: "example.org", Type: TXT, Text: "v=spf1 mx -all"}},
		{`example.org. TXT "v=spf1 " "-all"`, Record{Name: "example.org", Type: TXT, Text: "v=spf1 -all"}},
		{`example.org. TXT v=spf1   -all`, Record{Name: "example.org", Type: TXT, Text: "v=spf1 -all"}},
		{`example.org. TXT "a;b \"q\" \\ \065\010"`, Record{Name: "example.org", Type: TXT, Text: "a;b \"q\" \\ A\n"}},
		{`example.org. TXT ""`, Record{Name: "example.org", Type: TXT}},
		{"_25._tcp.mx1.example.org. TLSA 3 1 1 " + strings.ToUpper(sha256Hex[:32]) + " " + sha256Hex[32:],
			Record{Name: "_25._tcp.mx1.example.org", Type: TLSA, Usage: 3, Selector: 1, Matching: 1, Cert: sha256Hex}},
		{"_25._tcp.mx1.example.org. TLSA 2 0 0 30820102", Record{Name: "_25._tcp.mx1.example.org", Type: TLSA, Usage: 2, Cert: "30820102"}},
	}
	for _, tt := range tests {
		got, err := ParseRecord(tt.line)
		if err != nil {
			t.Errorf("ParseRecord(%q): %v", tt.line, err)
			continue
		}
		if got != tt.want {
			t.Errorf("ParseRecord(%q)\n got %+v\nwant %+v", tt.line, got, tt.want)
		}
		again, err := ParseRecord(got.String())
		if err != nil || again != got {
			t.Errorf("round trip of %q through %q: %+v, %v", tt.line, got.String(), again, err)
		}
	}
}

func TestParseRecordErrors(t *testing.T) {
	tests := []struct{ line, want string }{
		{"", "no record"},
		{"; just a comment", "no record"},
		{"example.org.", "missing record type"},
		{"example.org. 3600 IN", "missing record type"},
		{"example.org. SOA ns. host. 1 2 3 4 5", "unknown record type"},
		{"example.org. CH TXT hi", "only IN"},
		{"example.org. 99999999999 A 192.0.2.1", "bad TTL"},
		{`"example.org." A 192.0.2.1`, "may not be quoted"},
		{"example.org. A", "one IPv4 address"},
		{"example.org. A 192.0.2.1 192.0.2.2", "one IPv4 address"},
		{"example.org. A 2001:db8::1", "not an IPv4 address"},
		{"example.org. AAAA 192.0.2.1", "not an IPv6 address"},

		{"example.org. AAAA fe80::1%eth0", "zone"},
		{"example.org. A 300.1.1.1", "bad address"},
		{`example.org. A "192.0.2.1"`, "may not be quoted"},
		{"example.org. MX mx.example.org.", "a preference and a target"},
		{"example.org. MX 70000 mx.example.org.", "0 to 65535"},
		{"example.org. MX -1 mx.example.org.", "0 to 65535"},
		{"example.org. MX 10 mx..example.org.", "empty label"},
		{"example.org. MX 10 mx!.example.org.", "may not contain"},
		{"example.org. CNAME .", "root is not a host name"},
		{"a..b A 192.0.2.1", "empty label"},
		{strings.Repeat("a", 64) + ".org A 192.0.2.1", "longer than 63"},
		{strings.Repeat("abcdefg.", 32) + "org A 192.0.2.1", "longer than 253"},
		{`example.org. TXT "unterminated`, "unterminated"},
		{`example.org. TXT "a" b`, "quote every string or none"},
		{`example.org. TXT "\999"`, "not a byte"},
		{"example.org. TLSA 3 1 1", "usage, selector"},
		{"example.org. TLSA 4 1 1 00", "RFC 6698 defines"},
		{"example.org. TLSA 3 1 300 00", "0 to 255"},
		{"example.org. TLSA 3 1 0 xyz", "non-empty hex"},
		{"example.org. TLSA 3 1 1 abcd", "32-byte digest"},
	}
	for _, tt := range tests {
		_, err := ParseRecord(tt.line)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseRecord(%q) = %v, want an error containing %q", tt.line, err, tt.want)
		}
	}
}

func TestParse(t *testing.T) {
	text := "; the example.org zone\r\n" +
		"example.org. 3600 IN MX 10 mx1.example.org.\r\n" +
		"\n" +
		"   \t\n" +
		"mx1.example.org. A 192.0.2.10 ; the only exchanger\n"
	records, err := Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"example.org. 3600 IN MX 10 mx1.example.org.",
		"mx1.example.org. IN A 192.0.2.10",
	}
	if len(records) != len(want) {
		t.Fatalf("got %d records, want %d: %v", len(records), len(want), records)
	}
	for i, r := range records {
		if r.String() != want[i] {
			t.Errorf("record %d = %q, want %q", i, r.String(), want[i])
		}
	}

	_, err = Parse("example.org. MX 10 mx.example.org.\nexample.org. A 1.2.3\n")
	var syn *SyntaxError
	if !errors.As(err, &syn) || syn.Line != 2 || syn.Text != "example.org. A 1.2.3" {
		t.Fatalf("Parse error = %#v, want a SyntaxError for line 2", err)
	}
	if !strings.HasPrefix(err.Error(), "zone line 2: ") {
		t.Errorf("error %q does not say the line", err)
	}
}

// FuzzParse checks that Parse never panics and that every record it accepts
// prints as a line that parses back to the same record.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"example.org. 3600 IN MX 10 mx1.example.org.",
		"mx1.example.org. A 192.0.2.10\nmx1.example.org. AAAA 2001:db8::10",
		"example.net. MX 0 .",
		`example.org. TXT "v=spf1 " "-all" ; comment`,
		`x. TXT "\"\\\255"`,
		"www.example.org. CNAME example.org.",
		"_25._tcp.mx. TLSA 3 1 1 " + sha256Hex,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, text string) {
		records, err := Parse(text)
		if err != nil {
			return
		}
		for _, r := range records {
			line := r.String()
			again, err := ParseRecord(line)
			if err != nil {
				t.Fatalf("%+v printed as %q, which does not parse: %v", r, line, err)
			}
			if again != r {
				t.Fatalf("%q parsed back as %+v, want %+v", line, again, r)
			}
		}
		_, _ = NewZone(records...) // may refuse conflicts, must not panic
	})
}
