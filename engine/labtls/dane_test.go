package labtls

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// The 3 1 1 records of two lab hosts, as OpenSSL computes them from the
// certificates the lab CA issues:
//
//	openssl x509 -in cert.pem -noout -pubkey | openssl pkey -pubin -outform DER | openssl dgst -sha256
//
// They change only if keys.pem is made again, and then every scenario that
// publishes them must change too.
const (
	mxNetTLSA = "3 1 1 b4582d5ffc3f1bb40f69a8de273a682620b623aeaea3c38520fb955e7ab22dc1"
	mxOrgTLSA = "3 1 1 bef80c9dd99f2ba88dc913e08526eccffba8094eba1fc8567d238bbfeb73bd32"
)

// TestNewTLSA computes every selector and matching type of RFC 6698 §2.1
// over a host certificate and compares them with the same data found by
// another road: the key marshalled again, the digests taken here.
func TestNewTLSA(t *testing.T) {
	ca, err := NewAuthority(worldStart)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.Issue("mx.example.net", Good)
	if err != nil {
		t.Fatal(err)
	}
	spki, err := x509.MarshalPKIXPublicKey(cert.Leaf.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	sum256 := func(b []byte) []byte { s := sha256.Sum256(b); return s[:] }
	sum512 := func(b []byte) []byte { s := sha512.Sum512(b); return s[:] }
	tests := []struct {
		s    TLSASelector
		m    TLSAMatching
		want []byte
	}{
		{SelectorCert, MatchFull, cert.Certificate[0]},
		{SelectorCert, MatchSHA256, sum256(cert.Certificate[0])},
		{SelectorCert, MatchSHA512, sum512(cert.Certificate[0])},
		{SelectorSPKI, MatchFull, spki},
		{SelectorSPKI, MatchSHA256, sum256(spki)},
		{SelectorSPKI, MatchSHA512, sum512(spki)},
	}
	for _, tt := range tests {
		r, err := NewTLSA(cert.Leaf, DANEEE, tt.s, tt.m)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(r.Data, tt.want) || !r.Matches(cert.Leaf) {
			t.Errorf("3 %d %d: data %x, want %x", tt.s, tt.m, r.Data, tt.want)
		}
	}
	if got := tests[4].want; hex.EncodeToString(got) != strings.TrimPrefix(mxNetTLSA, "3 1 1 ") {
		t.Errorf("mx.example.net's SPKI SHA-256 is %x, not what OpenSSL computed", got)
	}
	for _, bad := range []TLSA{{Usage: 4}, {Usage: DANEEE, Selector: 2}, {Usage: DANEEE, Matching: 3}} {
		if _, err := NewTLSA(cert.Leaf, bad.Usage, bad.Selector, bad.Matching); err == nil {
			t.Errorf("%d %d %d: no error for parameters RFC 6698 does not define", bad.Usage, bad.Selector, bad.Matching)
		}
	}
}

// TestHostTLSA: a host's 3 1 1 record matches every variant of its
// certificate, since they share its key, and not another host's.
func TestHostTLSA(t *testing.T) {
	ca, err := NewAuthority(worldStart)
	if err != nil {
		t.Fatal(err)
	}
	for host, want := range map[string]string{"mx.example.net": mxNetTLSA, "MX.Example.ORG.": mxOrgTLSA} {
		r, err := HostTLSA(host)
		if err != nil {
			t.Fatal(err)
		}
		if r.String() != want {
			t.Errorf("HostTLSA(%s) = %s, want %s", host, r, want)
		}
		for _, v := range []Variant{Good, Expired, WrongName, SelfSigned} {
			cert, err := ca.Issue(host, v)
			if err != nil {
				t.Fatal(err)
			}
			if !r.Matches(cert.Leaf) {
				t.Errorf("%s's record does not match its %s certificate", host, v)
			}
		}
	}
	other, _ := ca.Issue("mx.example.org", Good)
	if r, _ := HostTLSA("mx.example.net"); r.Matches(other.Leaf) {
		t.Error("mx.example.net's record matches mx.example.org's certificate")
	}
	if got := ca.TLSA(); got.Usage != DANETA || !got.Matches(ca.Certificate()) {
		t.Errorf("the CA's record %s does not match the CA", got)
	}
}

// TestDANEHandshake runs handshakes whose client checks the certificate
// with TLSA records (RFC 7672 §3.1): DANE-EE ignores names and dates and
// needs no CA; DANE-TA needs its trust anchor in the server's chain and
// checks the rest as usual; PKIX usages are not used for SMTP; a record
// for another key fails the handshake with a bad_certificate alert.
func TestDANEHandshake(t *testing.T) {
	own := mustTLSA(t, mxOrgTLSA)
	other := mustTLSA(t, mxNetTLSA)
	tests := []struct {
		name    string
		v       Variant
		chainCA bool // the server sends the CA's certificate after its own
		records func(ca *Authority, leaf *x509.Certificate) []TLSA
		check   Check
		usage   TLSAUsage // of the record that matched
	}{
		{"3 1 1", Good, false, records(own), CheckOK, DANEEE},
		{"3 1 1, expired", Expired, false, records(own), CheckOK, DANEEE},
		{"3 1 1, wrong name", WrongName, false, records(own), CheckOK, DANEEE},
		{"3 1 1, self-signed", SelfSigned, false, records(own), CheckOK, DANEEE},
		{"3 0 1", Good, false, recordOf(DANEEE, SelectorCert, MatchSHA256), CheckOK, DANEEE},
		{"3 1 2", Good, false, recordOf(DANEEE, SelectorSPKI, MatchSHA512), CheckOK, DANEEE},
		{"another key's 3 1 1", Good, false, records(other), CheckTLSA, 0},
		{"the other of two", Good, false, records(other, own), CheckOK, DANEEE},
		{"1 1 1 is not used for SMTP", Good, false, recordOf(PKIXEE, SelectorSPKI, MatchSHA256), CheckTLSA, 0},
		{"2 1 1, anchor sent", Good, true, caRecord, CheckOK, DANETA},
		{"2 1 1, anchor not sent", Good, false, caRecord, CheckTLSA, 0},
		{"2 1 1, expired", Expired, true, caRecord, CheckExpired, 0},
		{"2 1 1, wrong name", WrongName, true, caRecord, CheckName, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLab(t, tt.v, true)
			if tt.chainCA {
				l.server.Certificate.Certificate = append(l.server.Certificate.Certificate, l.ca.Certificate().Raw)
			}
			l.client.Roots = x509.NewCertPool() // DANE asks no CA
			l.client.TLSA = tt.records(l.ca, l.server.Certificate.Leaf)
			r, err := Handshake(l.client, l.server)
			if r == nil {
				t.Fatalf("no result: %v", err)
			}
			if got := r.Facts.Verify; got.Check != tt.check || !r.Facts.DANE || (tt.check == CheckOK && got.TLSA.Usage != tt.usage) {
				t.Fatalf("verify %+v, DANE %v; want %s with a usage %d record", got, r.Facts.DANE, tt.check, tt.usage)
			}
			verify := r.Event(StepVerify, 1, "smtp.example.com", "mx.example.org")
			if tt.check == CheckOK {
				if err != nil || !r.Facts.Complete {
					t.Fatalf("handshake failed: %v", err)
				}
				if !strings.HasPrefix(verify.Text, "certificate authenticated with DANE") || verify.Attrs["tlsa"] != r.Facts.Verify.TLSA.String() {
					t.Errorf("verify step %q, attrs %v", verify.Text, verify.Attrs)
				}
				return
			}
			var he *HandshakeError
			if !errors.As(err, &he) || he.Check != tt.check || he.Alert != 42 {
				t.Fatalf("error %v, want a %s failure with alert 42", err, tt.check)
			}
			if !strings.HasPrefix(verify.Text, "certificate rejected: ") || verify.Attrs["verify"] != string(tt.check) || verify.Attrs["tlsa"] != "" {
				t.Errorf("verify step %q, attrs %v", verify.Text, verify.Attrs)
			}
			if tt.check == CheckTLSA && !strings.Contains(verify.Text, own.Short()) {
				t.Errorf("the mismatch does not say which record the key would have: %q", verify.Text)
			}
		})
	}
}

func mustTLSA(t *testing.T, s string) TLSA {
	t.Helper()
	var u, sel, m uint8
	var data string
	if _, err := fmt.Sscan(s, &u, &sel, &m, &data); err != nil {
		t.Fatal(err)
	}
	r, err := ParseTLSA(u, sel, m, data)
	if err != nil {
		t.Fatal(err)
	}
	if r.String() != s {
		t.Fatalf("ParseTLSA(%q) wrote back %q", s, r)
	}
	return r
}

func records(rs ...TLSA) func(*Authority, *x509.Certificate) []TLSA {
	return func(*Authority, *x509.Certificate) []TLSA { return rs }
}

func recordOf(u TLSAUsage, s TLSASelector, m TLSAMatching) func(*Authority, *x509.Certificate) []TLSA {
	return func(_ *Authority, leaf *x509.Certificate) []TLSA {
		r, _ := NewTLSA(leaf, u, s, m)
		return []TLSA{r}
	}
}

func caRecord(ca *Authority, _ *x509.Certificate) []TLSA { return []TLSA{ca.TLSA()} }
