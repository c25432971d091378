package dns

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Type is a DNS record type. Only the types a mail world needs exist here.
type Type string

// The record types of the simulated DNS.
const (
	A     Type = "A"     // IPv4 address (RFC 1035 §3.4.1)
	AAAA  Type = "AAAA"  // IPv6 address (RFC 3596)
	MX    Type = "MX"    // mail exchanger (RFC 1035 §3.3.9, RFC 5321 §5.1)
	TXT   Type = "TXT"   // text, e.g. SPF or DMARC policies (RFC 1035 §3.3.14)
	TLSA  Type = "TLSA"  // DANE certificate association (RFC 6698 §2)
	CNAME Type = "CNAME" // alias for another name (RFC 1034 §3.6.2)
)

func (t Type) known() bool {
	switch t {
	case A, AAAA, MX, TXT, TLSA, CNAME:
		return true
	}
	return false
}

// Record is one resource record. It is a flat struct so scenarios can write
// records in JSON or YAML; which fields a record uses depends on its Type:
//
//	A, AAAA   Addr
//	MX        Pref, Target ("." for a null MX)
//	CNAME     Target
//	TXT       Text (the character-strings, concatenated)
//	TLSA      Usage, Selector, Matching, Cert (hex)
//
// Every record has a Class of IN; a TTL of 0 means "not given". The
// simulation has no caches, so the TTL is only shown, never obeyed.
type Record struct {
	Name     string `json:"name" yaml:"name"`
	TTL      uint32 `json:"ttl,omitempty" yaml:"ttl,omitempty"`
	Type     Type   `json:"type" yaml:"type"`
	Pref     uint16 `json:"pref,omitempty" yaml:"pref,omitempty"`
	Target   string `json:"target,omitempty" yaml:"target,omitempty"`
	Addr     string `json:"addr,omitempty" yaml:"addr,omitempty"`
	Text     string `json:"text,omitempty" yaml:"text,omitempty"`
	Usage    uint8  `json:"usage,omitempty" yaml:"usage,omitempty"`
	Selector uint8  `json:"selector,omitempty" yaml:"selector,omitempty"`
	Matching uint8  `json:"matching,omitempty" yaml:"matching,omitempty"`
	Cert     string `json:"cert,omitempty" yaml:"cert,omitempty"`
}

// String formats r as one zone-file line, the form dig prints and Parse
// reads back: "example.org. 3600 IN MX 10 mx1.example.org.".
func (r Record) String() string {
	var b strings.Builder
	b.WriteString(fqdn(r.Name))
	if r.TTL != 0 {
		b.WriteString(" ")
		b.WriteString(strconv.FormatUint(uint64(r.TTL), 10))
	}
	b.WriteString(" IN ")
	b.WriteString(string(r.Type))
	b.WriteString(" ")
	switch r.Type {
	case A, AAAA:
		b.WriteString(r.Addr)
	case MX:
		fmt.Fprintf(&b, "%d %s", r.Pref, fqdn(r.Target))
	case CNAME:
		b.WriteString(fqdn(r.Target))
	case TXT:
		b.WriteString(quote(r.Text))
	case TLSA:
		fmt.Fprintf(&b, "%d %d %d %s", r.Usage, r.Selector, r.Matching, r.Cert)
	}
	return b.String()
}

// quote writes s as a zone-file character-string: in double quotes, with
// '"' and '\' escaped and bytes outside printable ASCII as \DDD (RFC 1035
// §5.1), so the result always stays on one line.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, c := range []byte(s) {
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < ' ' || c > '~':
			fmt.Fprintf(&b, "\\%03d", c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// normalize checks r and returns it in canonical form: names normalised,
// addresses and hex written the one way String writes them. Fields that
// r's type does not use must be empty, which catches a YAML record that
// says "type: A" but "target: ...".
func (r Record) normalize() (Record, error) {
	out := Record{Name: Normalize(r.Name), TTL: r.TTL, Type: Type(strings.ToUpper(string(r.Type)))}
	if err := checkName(out.Name); err != nil {
		return Record{}, err
	}
	unused := r
	unused.Name, unused.TTL, unused.Type = "", 0, ""
	var err error
	switch out.Type {
	case A, AAAA:
		out.Addr, err = checkAddr(out.Type, r.Addr)
		unused.Addr = ""
	case MX:
		out.Pref, out.Target = r.Pref, Normalize(r.Target)
		if out.Target != Root {
			err = checkName(out.Target)
		}
		unused.Pref, unused.Target = 0, ""
	case CNAME:
		out.Target = Normalize(r.Target)
		err = checkName(out.Target)
		unused.Target = ""
	case TXT:
		out.Text = r.Text
		if len(r.Text) > 4096 {
			err = errors.New("TXT data is longer than 4096 bytes")
		}
		unused.Text = ""
	case TLSA:
		out.Usage, out.Selector, out.Matching = r.Usage, r.Selector, r.Matching
		out.Cert, err = checkTLSA(r)
		unused.Usage, unused.Selector, unused.Matching, unused.Cert = 0, 0, 0, ""
	default:
		return Record{}, fmt.Errorf("unknown record type %q", r.Type)
	}
	if err != nil {
		return Record{}, fmt.Errorf("%s %s: %w", out.Name, out.Type, err)
	}
	if unused != (Record{}) {
		return Record{}, fmt.Errorf("%s %s: has fields a %s record does not use", out.Name, out.Type, out.Type)
	}
	return out, nil
}

func checkAddr(t Type, s string) (string, error) {
	addr, err := netip.ParseAddr(s)
	if err != nil {
		return "", fmt.Errorf("bad address: %w", err)
	}
	if addr.Zone() != "" {
		return "", fmt.Errorf("address %s has a zone, which DNS cannot carry", s)
	}
	if t == A && !addr.Is4() {
		return "", fmt.Errorf("%s is not an IPv4 address (use AAAA for IPv6)", s)
	}
	if t == AAAA && !addr.Is6() {
		return "", fmt.Errorf("%s is not an IPv6 address (use A for IPv4)", s)
	}
	return addr.String(), nil
}

// checkTLSA checks the three small numbers of a TLSA record against the
// values RFC 6698 §2.1 defines and returns the association data in lower-case
// hex. A SHA-256 (matching 1) or SHA-512 (matching 2) digest must have the
// digest's length.
func checkTLSA(r Record) (string, error) {
	if r.Usage > 3 || r.Selector > 1 || r.Matching > 2 {
		return "", fmt.Errorf("usage %d, selector %d, matching %d: RFC 6698 defines usage 0-3, selector 0-1, matching 0-2",
			r.Usage, r.Selector, r.Matching)
	}
	data, err := hex.DecodeString(r.Cert)
	if err != nil || len(data) == 0 {
		return "", errors.New("certificate data must be non-empty hex")
	}
	if want := [...]int{0, 32, 64}[r.Matching]; want != 0 && len(data) != want {
		return "", fmt.Errorf("matching type %d needs a %d-byte digest, got %d bytes", r.Matching, want, len(data))
	}
	return hex.EncodeToString(data), nil
}
