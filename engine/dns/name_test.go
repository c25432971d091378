package dns

import (
	"strings"
	"testing"
)

// normalizeSlowly is Normalize without its shortcut for names that are
// normal already (isNormal).
func normalizeSlowly(name string) string {
	name = strings.ToLower(strings.TrimSpace(name))
	if name == "" || name == Root {
		return Root
	}
	return strings.TrimSuffix(name, ".")
}

// FuzzNormalize holds Normalize, which gives back at once a name that is
// normal already, to the trimming and lower-casing it spares.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"", ".", "..", " ", "mx.example.org", "MX.Example.org.", " mx.example.org ",
		"mx.example.org.", "\tmx\n", "xn--bcher-kva.example", "bücher.example", "a\u00a0", "\u0085a", "_25._tcp.mx", "a b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if got, want := Normalize(name), normalizeSlowly(name); got != want {
			t.Fatalf("Normalize(%q) = %q, want %q", name, got, want)
		}
	})
}
