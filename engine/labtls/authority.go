package labtls

import (
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"strconv"
	"time"
)

// Variant is the kind of certificate a host presents. The strings are the
// ones scenario files use ("cert": "expired").
type Variant string

// The certificate variants. Each bad one breaks exactly one check, so a
// failed handshake teaches one thing.
const (
	// Good is issued by the lab CA for the host's name and valid for 90
	// days, like most ACME certificates; the one presented when the world
	// starts was issued 30 days before. Its host renews it every 60 days,
	// 30 days before it would expire, as ACME clients do, so however far
	// the clock is moved on it stays valid (see IssueAt).
	Good Variant = "good"
	// Expired is issued by the lab CA for the right name but stopped being
	// valid a day before the world started; its host never renews it.
	Expired Variant = "expired"
	// WrongName is issued by the lab CA and valid (renewed as Good is), but
	// for WrongHostName, as when a server presents its hosting provider's
	// default certificate.
	WrongName Variant = "wrong-name"
	// SelfSigned is valid (renewed as Good is) and for the right name, but
	// signed by the host's own key rather than by any CA the client trusts.
	SelfSigned Variant = "self-signed"
)

// WrongHostName is the only name in a WrongName certificate.
const WrongHostName = "shared.hosting.example"

// ParseVariant checks a variant named in a scenario file.
func ParseVariant(s string) (Variant, error) {
	switch v := Variant(s); v {
	case Good, Expired, WrongName, SelfSigned:
		return v, nil
	}
	return "", fmt.Errorf("labtls: unknown certificate variant %q (want good, expired, wrong-name or self-signed)", s)
}

// Validity periods, relative to the world's start (a host certificate's,
// to the start of its renewal period; see IssueAt).
const (
	day      = 24 * time.Hour
	caBefore = 365 * day
	// caYears outlasts every world: a virtual clock is a time.Duration
	// since the start, which ends after 292 years, and the CA must not
	// expire under a learner who keeps letting time pass, or every
	// certificate would fail as expired on a date still to come.
	caYears        = 300
	goodBefore     = 30 * day
	goodAfter      = 60 * day
	renewEvery     = goodBefore + goodAfter - 30*day // renewed 30 days before it expires
	expiredBefore  = 91 * day
	expiredAfter   = -1 * day
	caCommonName   = "SMTP Lab Root CA"
	labOrganizaton = "SMTP Lab"
)

// Authority is a world's certificate authority: the embedded CA key with a
// certificate whose dates follow the world's start, and the issuer of every
// host certificate in that world. Everything it makes is a pure function of
// the start time, the host name and the variant: no clock, no randomness.
type Authority struct {
	start time.Time
	key   ed25519.PrivateKey
	cert  *x509.Certificate
	pool  *x509.CertPool
}

// NewAuthority makes the CA of a world that starts at start (in virtual
// time; see Clock). It signs one certificate and generates no key.
func NewAuthority(start time.Time) (*Authority, error) {
	key, err := loadKey("ca")
	if err != nil {
		return nil, err
	}
	start = start.UTC().Truncate(time.Second)
	name := pkix.Name{CommonName: caCommonName, Organization: []string{labOrganizaton}}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               name,
		NotBefore:             start.Add(-caBefore),
		NotAfter:              start.AddDate(caYears, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(nil, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("labtls: sign the CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("labtls: parse the CA certificate: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &Authority{start: start, key: key, cert: cert, pool: pool}, nil
}

// Start returns the world start the authority's dates are derived from.
func (a *Authority) Start() time.Time { return a.start }

// Certificate returns the CA certificate.
func (a *Authority) Certificate() *x509.Certificate { return a.cert }

// Pool returns a pool holding only the CA certificate: the roots every
// client in the world trusts.
func (a *Authority) Pool() *x509.CertPool { return a.pool }

// Issue makes the certificate host presents in variant v when the world
// starts, with its private key, ready for a server's tls.Config. Issuing
// the same host and variant twice gives the same bytes.
func (a *Authority) Issue(host string, v Variant) (tls.Certificate, error) {
	return a.IssueAt(host, v, a.start)
}

// IssueAt makes the certificate host presents in variant v at time now on
// the world's clock: for every variant but Expired, the one its host has
// most recently renewed (every renewEvery from the world's start, so
// until then the one Issue gives). It is a pure function of the
// authority's start, host, v and the renewal period now falls in.
func (a *Authority) IssueAt(host string, v Variant, now time.Time) (tls.Certificate, error) {
	host = normalHost(host)
	key, err := loadKey(hostKeyName(host))
	if err != nil {
		return tls.Certificate{}, err
	}
	var renewals int64
	if v != Expired {
		renewals = max(0, int64(now.Sub(a.start.Add(-goodBefore))/renewEvery))
	}
	issued := a.start.Add(time.Duration(renewals) * renewEvery)
	tmpl := &x509.Certificate{
		SerialNumber:          serial(host, v, renewals),
		Subject:               pkix.Name{CommonName: host},
		DNSNames:              []string{host},
		NotBefore:             issued.Add(-goodBefore),
		NotAfter:              issued.Add(goodAfter),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	parent, signer := a.cert, a.key
	switch v {
	case Good:
	case Expired:
		tmpl.NotBefore, tmpl.NotAfter = a.start.Add(-expiredBefore), a.start.Add(expiredAfter)
	case WrongName:
		tmpl.Subject.CommonName = WrongHostName
		tmpl.DNSNames = []string{WrongHostName}
	case SelfSigned:
		tmpl.Subject.Organization = []string{"self-signed"}
		parent, signer = tmpl, key
	default:
		return tls.Certificate{}, fmt.Errorf("labtls: issue for %s: unknown variant %q", host, v)
	}
	der, err := x509.CreateCertificate(nil, tmpl, parent, key.Public(), signer)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("labtls: issue %s certificate for %s: %w", v, host, err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("labtls: parse %s certificate for %s: %w", v, host, err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

// serial derives a certificate's serial number from what it certifies and
// how many times it was renewed, so it does not depend on the order
// certificates are issued in. RFC 5280 wants a positive number of at most
// 20 bytes; this one has 8.
func serial(host string, v Variant, renewals int64) *big.Int {
	what := "labtls serial\x00" + host + "\x00" + string(v)
	if renewals > 0 { // the first certificate keeps the serial it always had
		what += "\x00" + strconv.FormatInt(renewals, 10)
	}
	sum := sha256.Sum256([]byte(what))
	sum[0] &= 0x7f
	sum[0] |= 0x01 // never zero, never a leading zero byte
	return new(big.Int).SetBytes(sum[:8])
}
