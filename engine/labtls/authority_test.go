package labtls

import (
	"bytes"
	"crypto/ed25519"
	"math"
	"testing"
	"time"
)

func TestIssueIsDeterministic(t *testing.T) {
	for _, v := range []Variant{Good, Expired, WrongName, SelfSigned} {
		a1, err := NewAuthority(worldStart)
		if err != nil {
			t.Fatal(err)
		}
		a2, err := NewAuthority(worldStart)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a1.Certificate().Raw, a2.Certificate().Raw) {
			t.Fatal("two authorities with the same start have different CA certificates")
		}
		c1, err := a1.Issue("mx.example.org", v)
		if err != nil {
			t.Fatal(err)
		}
		c2, err := a2.Issue("MX.example.org.", v) // names are case- and dot-insensitive
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(c1.Certificate[0], c2.Certificate[0]) {
			t.Errorf("%s: issuing twice gave different certificates", v)
		}
	}
}

func TestVariants(t *testing.T) {
	ca, err := NewAuthority(worldStart)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		v          Variant
		name       string
		issuer     string
		notBefore  time.Time
		notAfter   time.Time
		caIssuedIt bool
	}{
		{Good, "mx.example.org", caCommonName, worldStart.Add(-30 * day), worldStart.Add(60 * day), true},
		{Expired, "mx.example.org", caCommonName, worldStart.Add(-91 * day), worldStart.Add(-day), true},
		{WrongName, WrongHostName, caCommonName, worldStart.Add(-30 * day), worldStart.Add(60 * day), true},
		{SelfSigned, "mx.example.org", "mx.example.org", worldStart.Add(-30 * day), worldStart.Add(60 * day), false},
	}
	for _, tt := range tests {
		t.Run(string(tt.v), func(t *testing.T) {
			c, err := ca.Issue("mx.example.org", tt.v)
			if err != nil {
				t.Fatal(err)
			}
			leaf := c.Leaf
			if len(leaf.DNSNames) != 1 || leaf.DNSNames[0] != tt.name || leaf.Subject.CommonName != tt.name {
				t.Errorf("names %v / CN %q, want %q", leaf.DNSNames, leaf.Subject.CommonName, tt.name)
			}
			if leaf.Issuer.CommonName != tt.issuer {
				t.Errorf("issuer %q, want %q", leaf.Issuer.CommonName, tt.issuer)
			}
			if !leaf.NotBefore.Equal(tt.notBefore) || !leaf.NotAfter.Equal(tt.notAfter) {
				t.Errorf("valid %v to %v, want %v to %v", leaf.NotBefore, leaf.NotAfter, tt.notBefore, tt.notAfter)
			}
			if err := leaf.CheckSignatureFrom(ca.Certificate()); (err == nil) != tt.caIssuedIt {
				t.Errorf("signed by the lab CA: %v, want %v", err == nil, tt.caIssuedIt)
			}
			if _, ok := c.PrivateKey.(ed25519.PrivateKey); !ok {
				t.Errorf("private key is a %T, want Ed25519", c.PrivateKey)
			}
		})
	}
}

func TestSerialsDiffer(t *testing.T) {
	seen := map[string]string{}
	for _, host := range []string{"mx.example.org", "mx.example.com", "relay.example.net"} {
		for _, v := range []Variant{Good, Expired, WrongName, SelfSigned} {
			s := serial(host, v, 0)
			if s.Sign() <= 0 || len(s.Bytes()) != 8 {
				t.Errorf("serial(%s, %s) = %v: want a positive 8-byte number", host, v, s)
			}
			if prev, dup := seen[s.String()]; dup {
				t.Errorf("serial(%s, %s) repeats %s", host, v, prev)
			}
			seen[s.String()] = host + "/" + string(v)
		}
	}
}

func TestEveryEmbeddedKeyLoads(t *testing.T) {
	names := []string{"ca"}
	for i := range hostKeyCount {
		names = append(names, "host-"+string(rune('0'+i)))
	}
	for _, n := range names {
		if _, err := loadKey(n); err != nil {
			t.Error(err)
		}
	}
	if _, err := loadKey("nobody"); err == nil {
		t.Error("loadKey(nobody) succeeded")
	}
	if hostKeyName("MX.Example.org") != hostKeyName("mx.example.org") {
		t.Error("host key choice depends on case")
	}
}

func TestParseVariant(t *testing.T) {
	for _, s := range []string{"good", "expired", "wrong-name", "self-signed"} {
		if v, err := ParseVariant(s); err != nil || string(v) != s {
			t.Errorf("ParseVariant(%q) = %q, %v", s, v, err)
		}
	}
	if _, err := ParseVariant("none"); err == nil {
		t.Error(`ParseVariant("none") succeeded: "no STARTTLS" is the server's business, not a certificate`)
	}
}

// TestIssueAtRenews: the certificate a host presents later in a world is
// the one it has most recently renewed, every 60 days, so a good one
// always has at least 30 days left; an expired one is never renewed.
func TestIssueAtRenews(t *testing.T) {
	start := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	ca, err := NewAuthority(start)
	if err != nil {
		t.Fatal(err)
	}
	first, err := ca.Issue("mx.example.org", Good)
	if err != nil {
		t.Fatal(err)
	}
	for _, at := range []time.Duration{0, 29 * day, 31 * day, 89 * day, 91 * day, 3650 * day, 290 * 365 * day} {
		now := start.Add(at)
		for _, v := range []Variant{Good, Expired, WrongName, SelfSigned} {
			c, err := ca.IssueAt("mx.example.org", v, now)
			if err != nil {
				t.Fatal(err)
			}
			leaf := c.Leaf
			if v == Expired {
				if !leaf.NotAfter.Equal(start.Add(expiredAfter)) {
					t.Errorf("at +%v the expired certificate ends %v: it was renewed", at, leaf.NotAfter)
				}
				continue
			}
			if now.Before(leaf.NotBefore) || leaf.NotAfter.Sub(now) < 30*day || leaf.NotAfter.Sub(leaf.NotBefore) != 90*day {
				t.Errorf("at +%v the %s certificate is valid %v to %v: want 90 days, with 30 or more left", at, v, leaf.NotBefore, leaf.NotAfter)
			}
		}
		c, _ := ca.IssueAt("mx.example.org", Good, now)
		if renewed := !bytes.Equal(c.Certificate[0], first.Certificate[0]); renewed != (at >= 30*day) {
			t.Errorf("at +%v renewed = %v; the first renewal is 30 days after the start", at, renewed)
		}
		if at >= 30*day && c.Leaf.SerialNumber.Cmp(first.Leaf.SerialNumber) == 0 {
			t.Errorf("at +%v the renewed certificate kept the serial %v", at, c.Leaf.SerialNumber)
		}
	}
	if ca.Certificate().NotAfter.Before(start.Add(time.Duration(math.MaxInt64))) {
		t.Errorf("the CA expires %v, before the longest a world's clock can run", ca.Certificate().NotAfter)
	}
}
