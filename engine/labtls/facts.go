package labtls

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"reflect"
	"strings"
	"time"
)

// Check names the certificate check that failed, or CheckOK.
type Check string

// The checks, as they appear in traces (attr "verify") and errors.
const (
	CheckOK          Check = "ok"
	CheckExpired     Check = "expired"           // the clock is past NotAfter
	CheckNotYetValid Check = "not-yet-valid"     // the clock is before NotBefore
	CheckName        Check = "wrong-name"        // not issued for the name asked for
	CheckAuthority   Check = "unknown-authority" // not signed by a trusted CA (self-signed)
	CheckInvalid     Check = "invalid"           // any other certificate problem
	CheckTLSA        Check = "tlsa-mismatch"     // DANE: no TLSA record matches the certificate (RFC 7672 §3)
	// CheckProtocol is not a certificate check: the handshake failed for
	// another reason (no common version or cipher, a peer that hung up).
	CheckProtocol Check = "protocol"
)

// Verification is the result of the client's certificate checks.
type Verification struct {
	Check  Check
	Detail string // the x509 error, or why no TLSA record matched; empty when Check is CheckOK
	// TLSA is the record that authenticated the certificate when the
	// client checked it with DANE (Client.TLSA); zero otherwise.
	TLSA TLSA
}

// Facts are what a handshake showed, for the trace and the learner. Fields
// the handshake never reached are empty.
type Facts struct {
	Offered   []string // versions the client offered ("TLS 1.3", "TLS 1.2")
	Version   string   // the version agreed ("TLS 1.3")
	Cipher    string   // the cipher suite agreed ("TLS_CHACHA20_POLY1305_SHA256")
	SNI       string   // the server name the client asked for
	ALPN      string   // the application protocol agreed, if any
	Subject   string   // of the server's certificate ("CN=mx.example.org")
	Issuer    string   // of the server's certificate
	Names     []string // DNS names in the server's certificate
	NotBefore time.Time
	NotAfter  time.Time
	// Verify is the result of the client's checks; Verified reports whether
	// they ran at all (they do not when the handshake fails before the
	// certificate arrives).
	Verify   Verification
	Verified bool
	Enforced bool // the client's policy ends the handshake on a failed check
	DANE     bool // the certificate was checked against TLSA records, not the CA (Client.TLSA)
	Complete bool // the handshake finished on both sides
}

// HandshakeError is a failed handshake: which check failed, the alert that
// ended it, and what each side's crypto/tls said.
//
// Its Error is Reason, what the client found in plain words, since it
// reaches people (a relay's queue, a bounce); the crypto/tls and x509
// errors behind it stay in Detail, Client and Server, and Unwrap gives
// them to errors.As.
type HandshakeError struct {
	Check     Check          // the certificate check that failed, or CheckProtocol
	Detail    string         // the x509 error for a certificate check
	Alert     tls.AlertError // the alert that ended the handshake, 0 if none was sent
	AlertFrom Side           // who sent it
	Client    error          // what the client's handshake returned (nil if it succeeded)
	Server    error          // what the server's handshake returned (nil if it succeeded)
	// Reason says in plain words why the handshake failed: "the
	// certificate of mx.example.org expired on 2026-01-04".
	Reason string
}

func (e *HandshakeError) Error() string {
	if e.Reason != "" {
		return e.Reason
	}
	if e.Alert != 0 {
		return fmt.Sprintf("the %s ended the TLS handshake with alert %s", e.AlertFrom, alertName(e.Alert))
	}
	return "the TLS handshake failed"
}

// Unwrap returns both sides' errors, so errors.As finds a *VerifyError.
func (e *HandshakeError) Unwrap() []error {
	var errs []error
	for _, err := range []error{e.Client, e.Server} {
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// alertName is "bad certificate (42)".
func alertName(a tls.AlertError) string {
	return fmt.Sprintf("%s (%d)", strings.TrimPrefix(a.Error(), "tls: "), uint8(a))
}

// newHandshakeError explains a failed handshake from the errors both sides
// returned. crypto/tls reports an alert from the peer as a *net.OpError
// with Op "remote error" around its unexported alert type (a uint8), which
// is how the alert is found.
func newHandshakeError(cerr, serr error) *HandshakeError {
	e := &HandshakeError{Check: CheckProtocol, Client: cerr, Server: serr}
	var ve *VerifyError
	if errors.As(cerr, &ve) {
		e.Check, e.Detail = ve.Check, ve.Detail
	}
	if a, ok := remoteAlert(serr); ok {
		e.Alert, e.AlertFrom = a, SideClient
	} else if a, ok := remoteAlert(cerr); ok {
		e.Alert, e.AlertFrom = a, SideServer
	}
	return e
}

func remoteAlert(err error) (tls.AlertError, bool) {
	var ae tls.AlertError
	if errors.As(err, &ae) {
		return ae, true
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "remote error" && op.Err != nil {
		if v := reflect.ValueOf(op.Err); v.Kind() == reflect.Uint8 {
			return tls.AlertError(v.Uint()), true
		}
	}
	return 0, false
}

// certFacts fills the certificate fields of f from leaf.
func (f *Facts) certFacts(leaf *x509.Certificate) {
	if leaf == nil {
		return
	}
	f.Subject = leaf.Subject.String()
	f.Issuer = leaf.Issuer.String()
	f.Names = leaf.DNSNames
	f.NotBefore = leaf.NotBefore.UTC()
	f.NotAfter = leaf.NotAfter.UTC()
}

// stateFacts fills version, cipher and ALPN from a connection state.
func (f *Facts) stateFacts(cs tls.ConnectionState) {
	if cs.Version != 0 {
		f.Version = tls.VersionName(cs.Version)
	}
	if cs.CipherSuite != 0 {
		f.Cipher = tls.CipherSuiteName(cs.CipherSuite)
	}
	if cs.NegotiatedProtocol != "" {
		f.ALPN = cs.NegotiatedProtocol
	}
}
