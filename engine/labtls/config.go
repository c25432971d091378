package labtls

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"time"
)

// Clock turns a world's virtual clock (time since the world started) into
// the absolute time TLS checks certificate dates against. Pass the same
// start as to NewAuthority, and simnet's World.Now as since.
func Clock(start time.Time, since func() time.Duration) func() time.Time {
	return func() time.Time { return start.Add(since()) }
}

// NewRand returns a deterministic stream of "random" bytes for
// tls.Config.Rand, drawn from ChaCha8 seeded with seed. It is for the
// simulated world only: it makes hello randoms, session IDs and (with
// GODEBUG cryptocustomrand=1, see the package doc) ephemeral keys repeat
// from one run to the next.
//
// A Read of exactly one byte returns 0 and does not advance the stream.
// Since Go 1.26 crypto packages that honour a custom reader first call
// randutil.MaybeReadByte, which reads one byte or not at the toss of a coin;
// ignoring one-byte reads makes the coin toss invisible. crypto/tls never
// asks for a single random byte itself.
func NewRand(seed uint64) io.Reader {
	var s [32]byte
	for i := range 8 {
		s[i] = byte(seed >> (8 * i))
	}
	copy(s[8:], "smtplab/labtls")
	return &seededRand{c: rand.NewChaCha8(s)}
}

type seededRand struct{ c *rand.ChaCha8 }

func (r *seededRand) Read(p []byte) (int, error) {
	if len(p) == 1 {
		p[0] = 0
		return 1, nil
	}
	return r.c.Read(p)
}

// The lab's TLS parameters, the same for every host so that a handshake's
// size never depends on who talks to whom:
//   - X25519 only: no hybrid ML-KEM share, whose encapsulation always uses
//     the system's randomness (so no seed could fix it) and which adds
//     about 2 KB to the hellos;
//   - TLS 1.2 is limited to ECDHE-ECDSA with ChaCha20-Poly1305 (Ed25519
//     certificates go with the ECDSA suites), which every platform has;
//   - no session tickets: nothing random is sent after the handshake.
func labCurves() []tls.CurveID { return []tls.CurveID{tls.X25519} }

func labSuites() []uint16 { return []uint16{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256} }

// Client is the client end of a handshake: whom it wants to talk to, whom
// it trusts, and whether a bad certificate stops it.
type Client struct {
	// ServerName is sent as SNI and is the name the certificate must carry.
	ServerName string
	// Roots are the CAs the client trusts: Authority.Pool in the lab.
	Roots *x509.CertPool
	// Verify makes a certificate that fails any check end the handshake
	// with a bad_certificate alert. Without it the check still runs, and its
	// result goes in the facts, but the handshake goes on.
	Verify bool
	// TLSA, when set, are DANE records the certificate is checked against
	// instead of Roots (see verifyDANE): a DANE client trusts what the
	// server's domain published in DNSSEC-signed DNS, not a list of
	// authorities (RFC 7672 §3).
	TLSA []TLSA
	// ALPN lists application protocols to offer (SMTP normally offers none).
	ALPN []string
	// MaxVersion caps the TLS version (tls.VersionTLS12 or 0 for 1.3).
	// Both versions use ChaCha20-Poly1305 everywhere: TLS 1.3's suites
	// cannot be configured, but a Go server prefers AES-GCM only when the
	// first suite the client lists is an AES-GCM one, and the lab's client
	// lists its one TLS 1.2 suite first (TestFacts holds TLS 1.3 to
	// TLS_CHACHA20_POLY1305_SHA256 on machines with AES instructions too).
	MaxVersion uint16
	// Now is the virtual clock (see Clock); Handshake requires it.
	Now func() time.Time
	// Rand is the randomness (see NewRand); nil means crypto/rand.
	Rand io.Reader
}

// Server is the server end of a handshake: the certificate it presents.
type Server struct {
	Certificate tls.Certificate // from Authority.Issue
	ALPN        []string
	MaxVersion  uint16           // as in Client
	Now         func() time.Time // as in Client
	Rand        io.Reader        // as in Client
}

// config builds the client's tls.Config; seen, when set, is told the
// verification result and the connection state it was made on.
// Verification is the lab's own (see Verify): Go's built-in check is
// switched off so that a failure can be noted and, without Verify,
// accepted.
func (c *Client) config(seen func(Verification, tls.ConnectionState)) *tls.Config {
	return &tls.Config{
		ServerName:         c.ServerName,
		RootCAs:            c.Roots,
		InsecureSkipVerify: true, // VerifyConnection below does the checking
		VerifyConnection: func(cs tls.ConnectionState) error {
			v := c.verify(cs)
			if seen != nil {
				seen(v, cs)
			}
			if c.Verify && v.Check != CheckOK {
				return &VerifyError{Verification: v}
			}
			return nil
		},
		NextProtos:             c.ALPN,
		MinVersion:             tls.VersionTLS12,
		MaxVersion:             maxVersion(c.MaxVersion),
		CipherSuites:           labSuites(),
		CurvePreferences:       labCurves(),
		SessionTicketsDisabled: true,
		Time:                   c.Now,
		Rand:                   c.Rand,
	}
}

// TLSConfig returns the server's tls.Config.
func (s *Server) TLSConfig() *tls.Config {
	return &tls.Config{
		Certificates:           []tls.Certificate{s.Certificate},
		NextProtos:             s.ALPN,
		MinVersion:             tls.VersionTLS12,
		MaxVersion:             maxVersion(s.MaxVersion),
		CipherSuites:           labSuites(),
		CurvePreferences:       labCurves(),
		SessionTicketsDisabled: true,
		Time:                   s.Now,
		Rand:                   s.Rand,
	}
}

func maxVersion(v uint16) uint16 {
	if v == 0 {
		return tls.VersionTLS13
	}
	return v
}

// verify runs the checks a careful client runs on the server's certificate,
// at the virtual time: issued by a trusted CA, within its dates, for the
// name asked for; or, with TLSA records, the checks of DANE.
func (c *Client) verify(cs tls.ConnectionState) Verification {
	if len(cs.PeerCertificates) == 0 {
		return Verification{Check: CheckInvalid, Detail: "the server sent no certificate"}
	}
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	if len(c.TLSA) > 0 {
		return verifyDANE(cs.PeerCertificates, c.TLSA, c.ServerName, now())
	}
	opts := x509.VerifyOptions{
		Roots:         c.Roots,
		CurrentTime:   now(),
		DNSName:       c.ServerName,
		Intermediates: x509.NewCertPool(),
	}
	for _, ic := range cs.PeerCertificates[1:] {
		opts.Intermediates.AddCert(ic)
	}
	_, err := cs.PeerCertificates[0].Verify(opts)
	if err == nil {
		return Verification{Check: CheckOK}
	}
	return Verification{Check: classify(err, cs.PeerCertificates[0], opts.CurrentTime), Detail: err.Error()}
}

// classify names the check an x509 verification error comes from.
func classify(err error, leaf *x509.Certificate, now time.Time) Check {
	var (
		invalid   x509.CertificateInvalidError
		hostname  x509.HostnameError
		authority x509.UnknownAuthorityError
	)
	switch {
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		if now.Before(leaf.NotBefore) {
			return CheckNotYetValid
		}
		return CheckExpired
	case errors.As(err, &hostname):
		return CheckName
	case errors.As(err, &authority):
		return CheckAuthority
	}
	return CheckInvalid
}

// VerifyError is what a verifying client's handshake fails with when the
// certificate does not pass.
type VerifyError struct{ Verification }

func (e *VerifyError) Error() string {
	return fmt.Sprintf("labtls: certificate check failed: %s: %s", e.Check, e.Detail)
}
