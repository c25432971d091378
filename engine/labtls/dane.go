package labtls

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// DANE (RFC 6698) lets a domain publish in DNS, as TLSA records, which
// certificate or key its TLS server presents. For SMTP, RFC 7672 makes such
// records, when DNSSEC-signed, both the sign that a server must be reached
// over TLS and the way to authenticate it: the client compares the
// certificate the handshake presented with the records instead of asking a
// certificate authority.

// TLSAUsage is a TLSA record's certificate usage (RFC 6698 §2.1.1), with the
// names RFC 7218 §2.1 gives them.
type TLSAUsage uint8

// The certificate usages. SMTP uses only the two DANE ones (RFC 7672
// §3.1.3): an MTA has no list of authorities both sides agree on.
const (
	PKIXTA TLSAUsage = 0 // PKIX-TA: a CA that must also be trusted the usual way
	PKIXEE TLSAUsage = 1 // PKIX-EE: the server's certificate, also checked the usual way
	DANETA TLSAUsage = 2 // DANE-TA: a trust anchor of the domain's own choosing
	DANEEE TLSAUsage = 3 // DANE-EE: the server's own certificate or key
)

// TLSASelector says which part of a certificate a TLSA record matches (RFC
// 6698 §2.1.2, RFC 7218 §2.2).
type TLSASelector uint8

// The selectors.
const (
	SelectorCert TLSASelector = 0 // Cert: the whole certificate, DER-encoded
	SelectorSPKI TLSASelector = 1 // SPKI: only its SubjectPublicKeyInfo, which survives renewal with the same key
)

// TLSAMatching says how the selected part is compared (RFC 6698 §2.1.3,
// RFC 7218 §2.3).
type TLSAMatching uint8

// The matching types.
const (
	MatchFull   TLSAMatching = 0 // Full: the bytes themselves
	MatchSHA256 TLSAMatching = 1 // SHA2-256: their SHA-256 digest
	MatchSHA512 TLSAMatching = 2 // SHA2-512: their SHA-512 digest
)

// TLSA is the data of one TLSA record: three small numbers and the
// certificate association data they describe (RFC 6698 §2.1).
type TLSA struct {
	Usage    TLSAUsage
	Selector TLSASelector
	Matching TLSAMatching
	Data     []byte
}

// NewTLSA returns the record with the given parameters that matches cert:
// what a domain publishes for the certificate its server presents.
func NewTLSA(cert *x509.Certificate, u TLSAUsage, s TLSASelector, m TLSAMatching) (TLSA, error) {
	t := TLSA{Usage: u, Selector: s, Matching: m}
	if u > DANEEE {
		return TLSA{}, fmt.Errorf("labtls: TLSA usage %d is not defined (RFC 6698 §2.1.1)", u)
	}
	data, err := t.associate(cert)
	if err != nil {
		return TLSA{}, err
	}
	t.Data = data
	return t, nil
}

// ParseTLSA reads a record's data as a zone file writes it: three numbers
// and the association data in hex.
func ParseTLSA(usage, selector, matching uint8, data string) (TLSA, error) {
	b, err := hex.DecodeString(data)
	if err != nil {
		return TLSA{}, fmt.Errorf("labtls: TLSA %d %d %d: association data: %w", usage, selector, matching, err)
	}
	return TLSA{Usage: TLSAUsage(usage), Selector: TLSASelector(selector), Matching: TLSAMatching(matching), Data: b}, nil
}

// associate computes the association data of cert under t's selector and
// matching type.
func (t TLSA) associate(cert *x509.Certificate) ([]byte, error) {
	var selected []byte
	switch t.Selector {
	case SelectorCert:
		selected = cert.Raw
	case SelectorSPKI:
		selected = cert.RawSubjectPublicKeyInfo
	default:
		return nil, fmt.Errorf("labtls: TLSA selector %d is not defined (RFC 6698 §2.1.2)", t.Selector)
	}
	switch t.Matching {
	case MatchFull:
		return bytes.Clone(selected), nil
	case MatchSHA256:
		sum := sha256.Sum256(selected)
		return sum[:], nil
	case MatchSHA512:
		sum := sha512.Sum512(selected)
		return sum[:], nil
	}
	return nil, fmt.Errorf("labtls: TLSA matching type %d is not defined (RFC 6698 §2.1.3)", t.Matching)
}

// Matches reports whether cert is the certificate (or carries the key) the
// record describes, usage aside.
func (t TLSA) Matches(cert *x509.Certificate) bool {
	data, err := t.associate(cert)
	return err == nil && bytes.Equal(data, t.Data)
}

// String writes the record's data as a zone file does: "3 1 1 ab12...".
func (t TLSA) String() string {
	return fmt.Sprintf("%d %d %d %s", t.Usage, t.Selector, t.Matching, hex.EncodeToString(t.Data))
}

// Short is String with the data cut to its first 8 bytes, for trace texts.
func (t TLSA) Short() string {
	data := hex.EncodeToString(t.Data)
	if len(data) > 16 {
		data = data[:16] + "…"
	}
	return fmt.Sprintf("%d %d %d %s", t.Usage, t.Selector, t.Matching, data)
}

// HostTLSA returns the DANE-EE SPKI SHA2-256 record (3 1 1) of the key
// host's certificates carry. Every variant of a host's certificate has the
// same key (see Authority.Issue), so one record matches them all, as a
// real "3 1 1" record survives the renewal of a certificate that keeps its
// key. Scenarios publish it at _25._tcp.<host>.
func HostTLSA(host string) (TLSA, error) {
	key, err := loadKey(hostKeyName(normalHost(host)))
	if err != nil {
		return TLSA{}, err
	}
	spki, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return TLSA{}, fmt.Errorf("labtls: the key of %s: %w", host, err)
	}
	sum := sha256.Sum256(spki)
	return TLSA{Usage: DANEEE, Selector: SelectorSPKI, Matching: MatchSHA256, Data: sum[:]}, nil
}

// TLSA returns the DANE-TA SPKI SHA2-256 record (2 1 1) of the lab CA's
// key. It authenticates a server only if the server sends the CA's
// certificate after its own (RFC 7672 §3.1.2), which the lab's hosts do
// not: their chains hold one certificate.
func (a *Authority) TLSA() TLSA {
	t, _ := NewTLSA(a.cert, DANETA, SelectorSPKI, MatchSHA256) // a valid usage: cannot fail
	return t
}

// verifyDANE authenticates the chain a server presented (its own
// certificate first) with TLSA records, as an SMTP client does (RFC 7672
// §3.1):
//
//   - DANE-EE(3): the server's own certificate matches. Its names and
//     dates are not checked (§3.1.1): the record itself names the key, and
//     the domain keeps it current in DNS.
//   - DANE-TA(2): a certificate the server sent after its own matches,
//     and the chain from that trust anchor down to the server's
//     certificate verifies, for the name the client asked for (the TLSA
//     base domain, §3.2.2) and within its dates, as any chain to a CA.
//   - PKIX-TA(0) and PKIX-EE(1) are not used for SMTP (§3.1.3) and match
//     nothing here.
//
// A DANE-TA chain that fails, wrong name or expired, is reported as such;
// otherwise a certificate no record matches is CheckTLSA.
func verifyDANE(chain []*x509.Certificate, records []TLSA, name string, now time.Time) Verification {
	var taFailure *Verification
	for _, r := range records {
		switch r.Usage {
		case DANEEE:
			if r.Matches(chain[0]) {
				return Verification{Check: CheckOK, TLSA: r}
			}
		case DANETA:
			for i := 1; i < len(chain); i++ {
				if !r.Matches(chain[i]) {
					continue
				}
				v := verifyTo(chain[:i+1], name, now)
				if v.Check == CheckOK {
					v.TLSA = r
					return v
				}
				if taFailure == nil {
					taFailure = &v
				}
			}
		}
	}
	if taFailure != nil {
		return *taFailure
	}
	own, _ := NewTLSA(chain[0], DANEEE, SelectorSPKI, MatchSHA256) // a valid usage: cannot fail
	return Verification{Check: CheckTLSA, Detail: "no TLSA record matches it (its own key's record would be " + own.Short() + ")"}
}

// verifyTo checks the chain from its last certificate, the trust anchor a
// DANE-TA record named, down to its first: signatures, dates and name.
func verifyTo(chain []*x509.Certificate, name string, now time.Time) Verification {
	anchor := chain[len(chain)-1]
	opts := x509.VerifyOptions{Roots: x509.NewCertPool(), Intermediates: x509.NewCertPool(), CurrentTime: now, DNSName: name}
	opts.Roots.AddCert(anchor)
	for _, c := range chain[1 : len(chain)-1] {
		opts.Intermediates.AddCert(c)
	}
	if _, err := chain[0].Verify(opts); err != nil {
		return Verification{Check: classify(err, chain[0], now), Detail: err.Error()}
	}
	return Verification{Check: CheckOK}
}

// normalHost is a host name as keys and certificates use it: lower case,
// without a trailing dot.
func normalHost(host string) string {
	return strings.ToLower(strings.TrimSuffix(host, "."))
}
