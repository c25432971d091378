package smtp

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// TestUTF8Addr: an address of type utf-8 is written as RFC 6533 §3 has it,
// \x{HEX} for what QCHAR leaves out, never RFC 3461's +XX.
func TestUTF8Addr(t *testing.T) {
	for _, tt := range []struct {
		in      string
		unitext bool
		want    string // "" when refused
	}{
		{`bob@example.org`, false, "bob@example.org"},
		{`car\x{F6}l@example.org`, false, "caröl@example.org"},
		{`c\x{e4}r\x{f6}l@example.org`, false, "cäröl@example.org"}, // hex digits in either case
		{`a\x{2B}b\x{3D}c\x{5C}d\x{20}e@x`, false, `a+b=c\d e@x`},
		{`\x{1F600}@x`, false, "😀@x"},
		{`\x{10FFFF}@x`, false, "\U0010FFFF@x"},
		{`\x{0A}`, false, "\n"}, // a control decodes; the caller refuses it
		{`böb@example.org`, true, "böb@example.org"},
		{`b\x{F6}b@例え.jp`, true, "böb@例え.jp"},
		{`böb@example.org`, false, ""},        // raw UTF-8 needs SMTPUTF8
		{`car+C3+B6l@example.org`, false, ""}, // xtext's +XX is no escape here
		{`car+C3+B6l@example.org`, true, ""},
		{`a=b@x`, true, ""},
		{`a\b@x`, true, ""}, // a '\' itself is \x{5C}
		{`a\X{F6}@x`, true, ""},
		{`a\x{F6@x`, true, ""},
		{`a\x{F6`, true, ""},
		{`a\x{}@x`, true, ""},
		{`a\x{6}@x`, true, ""},       // 2 digits at least
		{`a\x{0F6}@x`, true, ""},     // no leading zero
		{`a\x{00F6}@x`, true, ""},    // no leading zero
		{`a\x{0000F6}@x`, true, ""},  // no leading zero
		{`a\x{10000F6}@x`, true, ""}, // 7 digits
		{`a\x{41}@x`, true, ""},      // 'A' stands for itself
		{`a\x{00}@x`, true, ""},
		{`a\x{D800}@x`, true, ""}, // a surrogate
		{`a\x{110000}@x`, true, ""},
		{`a\x{+F6}@x`, true, ""},
		{"a\xff@x", true, ""},
		{"a\xed\xa0\x80@x", true, ""}, // a surrogate in UTF-8
		{"a b@x", true, ""},
		{"a\x7f@x", true, ""},
		{"", true, ""},
	} {
		got, err := DecodeUTF8Addr(tt.in, tt.unitext)
		if tt.want == "" && err == nil {
			t.Errorf("DecodeUTF8Addr(%q, %v) = %q, want an error", tt.in, tt.unitext, got)
		} else if tt.want != "" && (err != nil || got != tt.want) {
			t.Errorf("DecodeUTF8Addr(%q, %v) = %q, %v; want %q", tt.in, tt.unitext, got, err, tt.want)
		}
	}
	for _, tt := range []struct {
		in             string
		xtext, unitext string
	}{
		{"bob@example.org", "bob@example.org", "bob@example.org"},
		{"böb@例え.jp", `b\x{F6}b@\x{4F8B}\x{3048}.jp`, "böb@例え.jp"},
		{`a+b=c\d e@x`, `a\x{2B}b\x{3D}c\x{5C}d\x{20}e@x`, `a\x{2B}b\x{3D}c\x{5C}d\x{20}e@x`},
		{"\x01😀@x", `\x{01}\x{1F600}@x`, `\x{01}😀@x`},
	} {
		if got := EncodeUTF8Addr(tt.in, false); got != tt.xtext {
			t.Errorf("EncodeUTF8Addr(%q, false) = %q, want %q", tt.in, got, tt.xtext)
		}
		if got := EncodeUTF8Addr(tt.in, true); got != tt.unitext {
			t.Errorf("EncodeUTF8Addr(%q, true) = %q, want %q", tt.in, got, tt.unitext)
		}
	}
}

func FuzzUTF8Addr(f *testing.F) {
	for _, s := range []string{"bob@example.org", `car\x{F6}l@x`, "böb@x", `a\x{2B}b`, `\x{1F600}`, `a\x{0F6}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, unitext := range []bool{false, true} {
			if dec, err := DecodeUTF8Addr(s, unitext); err == nil {
				if !utf8.ValidString(dec) {
					t.Fatalf("DecodeUTF8Addr(%q, %v) = %q, not UTF-8", s, unitext, dec)
				}
				// The 7-bit form is canonical: what decodes encodes
				// back to what was read, but for the case of hex digits.
				if enc := EncodeUTF8Addr(dec, false); !unitext && !strings.EqualFold(enc, s) {
					t.Fatalf("%q decodes to %q, which encodes to %q", s, dec, enc)
				}
			}
		}
		if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
			return
		}
		for _, unitext := range []bool{false, true} {
			enc := EncodeUTF8Addr(s, unitext)
			if !unitext {
				for i := 0; i < len(enc); i++ {
					if enc[i] < 0x21 || enc[i] > 0x7e {
						t.Fatalf("EncodeUTF8Addr(%q, false) = %q, not printable ASCII", s, enc)
					}
				}
			}
			if dec, err := DecodeUTF8Addr(enc, unitext); s != "" && (err != nil || dec != s) {
				t.Fatalf("%q encodes to %q, which decodes to %q, %v", s, enc, dec, err)
			}
		}
	})
}
