package dns

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Root is the name of the DNS root. As an MX target it means "no mail
// here" (the null MX of RFC 7505).
const Root = "."

// Normalize returns the form of a domain name this package compares and
// stores: lower case (DNS names are case-insensitive, RFC 4343) and without
// the trailing dot that marks a name as absolute, since every name here is
// absolute. The root stays ".". Normalize does not check the name; a name
// that cannot exist simply is not found.
func Normalize(name string) string {
	if isNormal(name) {
		return name
	}
	name = strings.ToLower(strings.TrimSpace(name))
	if name == "" || name == Root {
		return Root
	}
	return strings.TrimSuffix(name, ".")
}

// isNormal reports whether name is in the form Normalize gives it, as
// the names a resolver is asked about mostly are already (the zone's own
// MX targets, a host's name): plain ASCII without upper case, not empty,
// and no white space or dot at either end, but for the root. One look at
// each octet costs less than the trimming and lower-casing it spares.
func isNormal(name string) bool {
	if name == Root {
		return true
	}
	if name == "" || name[0] <= ' ' || name[len(name)-1] <= ' ' || name[len(name)-1] == '.' {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; 'A' <= c && c <= 'Z' || c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// checkName reports why a normalised owner or target name is not a valid
// host name in a zone. Labels are letters, digits, '-' and '_' (the last for
// names like _25._tcp.mx.example.org that TLSA records use), 1 to 63 bytes
// each, at most 253 bytes in all (RFC 1035 §2.3.4).
func checkName(name string) error {
	if name == Root {
		return errors.New("the root is not a host name")
	}
	if len(name) > 253 {
		return fmt.Errorf("name %.20q... is longer than 253 bytes", name)
	}
	for label := range strings.SplitSeq(name, ".") {
		if label == "" {
			return fmt.Errorf("name %q has an empty label", name)
		}
		if len(label) > 63 {
			return fmt.Errorf("name %q has a label longer than 63 bytes", name)
		}
		for _, c := range []byte(label) {
			if !isLabelByte(c) {
				return fmt.Errorf("name %q has %q, which host names may not contain", name, c)
			}
		}
	}
	return nil
}

func isLabelByte(c byte) bool {
	return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_'
}

// fqdn writes a normalised name the way zone files and dig do: absolute,
// with the trailing dot.
func fqdn(name string) string {
	if name == Root {
		return Root
	}
	return name + "."
}
