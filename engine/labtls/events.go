package labtls

import (
	"fmt"
	"strings"
	"time"

	"smtplab/engine/trace"
)

// Event returns the tls.step trace event for one step of this handshake on
// connection conn between the hosts named client and server. Host is the
// side that acts in the step (the server for its hello and certificate, the
// client otherwise, and for StepFailed the side whose check or error ended
// the handshake); the caller's World.Emit sets the time.
//
// Attrs follow engine/trace: version, cipher, sni, alpn, subject, issuer,
// not_before, not_after, verify, plus check and alert for a failure.
func (r *Result) Event(step string, conn int, client, server string) trace.Event {
	f := &r.Facts
	e := trace.Event{Kind: trace.TLSStep, Conn: conn, Host: client, Peer: server, Step: step, Attrs: map[string]string{}}
	set := func(k, v string) {
		if v != "" {
			e.Attrs[k] = v
		}
	}
	switch step {
	case StepClientHello:
		set("sni", f.SNI)
		set("offered", strings.Join(f.Offered, ", "))
		e.Text = "client hello: offers " + orUnknown(strings.Join(f.Offered, " and "))
		if f.SNI != "" {
			e.Text += ", asks for " + f.SNI + " (SNI)"
		}
	case StepServerHello:
		e.Host, e.Peer = server, client
		set("version", f.Version)
		set("cipher", f.Cipher)
		set("alpn", f.ALPN)
		e.Text = fmt.Sprintf("server hello: %s with %s", f.Version, orUnknown(f.Cipher))
	case StepCertificate:
		e.Host, e.Peer = server, client
		set("subject", f.Subject)
		set("issuer", f.Issuer)
		set("names", strings.Join(f.Names, ","))
		set("not_before", stamp(f.NotBefore))
		set("not_after", stamp(f.NotAfter))
		e.Text = fmt.Sprintf("certificate for %s, issued by %s, valid %s to %s",
			orUnknown(strings.Join(f.Names, ", ")), f.Issuer, date(f.NotBefore), date(f.NotAfter))
	case StepVerify:
		set("verify", string(f.Verify.Check))
		set("tlsa", f.tlsaAttr())
		e.Text = r.verifyText()
	case StepFinished:
		set("version", f.Version)
		set("cipher", f.Cipher)
		set("verify", string(f.Verify.Check))
		set("tlsa", f.tlsaAttr())
		// The server hello said the version and cipher already; they stay
		// in the attributes.
		e.Text = "handshake finished: from here on the connection is encrypted"
	case StepFailed:
		he := r.failure()
		set("check", string(he.Check))
		set("verify", string(f.Verify.Check))
		e.Text = "handshake failed"
		if he.Alert != 0 {
			set("alert", alertName(he.Alert))
			e.Text += fmt.Sprintf(": %s sent alert %s", he.AlertFrom, alertName(he.Alert))
			if he.AlertFrom == SideServer {
				e.Host, e.Peer = server, client
			}
		}
		if he.Check != CheckProtocol {
			e.Text += fmt.Sprintf(" (certificate %s)", he.Check)
		}
	default:
		e.Text = step
	}
	return e
}

// Events returns every step's event in order (see Steps), for a driver that
// does not interleave them with the flights.
func (r *Result) Events(conn int, client, server string) []trace.Event {
	var evs []trace.Event
	for _, s := range r.Steps() {
		evs = append(evs, r.Event(s, conn, client, server))
	}
	return evs
}

// tlsaAttr is the tlsa attribute of the verify and finished steps: the
// record that authenticated the certificate with DANE, or "" without one.
func (f *Facts) tlsaAttr() string {
	if f.Verify.TLSA.Data == nil {
		return ""
	}
	return f.Verify.TLSA.String()
}

// verifyText says in plain words what the client made of the certificate.
func (r *Result) verifyText() string {
	v := r.Facts.Verify
	var why string
	switch v.Check {
	case CheckOK:
		return r.verifiedText()
	case CheckTLSA:
		why = v.Detail + ", so it is not the server the domain published (RFC 7672 §3)"
	case CheckExpired:
		why = "it expired on " + date(r.Facts.NotAfter)
	case CheckNotYetValid:
		why = "it is not valid before " + date(r.Facts.NotBefore)
	case CheckName:
		why = fmt.Sprintf("it is for %s, not for %s", strings.Join(r.Facts.Names, ", "), r.Facts.SNI)
	case CheckAuthority:
		why = "it is not signed by a CA the client trusts (" + r.Facts.Issuer + ")"
	default:
		why = v.Detail
	}
	if r.Facts.Enforced {
		return "certificate rejected: " + why
	}
	return "certificate not valid (" + why + "), accepted anyway: this client does not insist on a valid certificate"
}

// reason says in plain words why the handshake failed, naming the server
// (HandshakeError.Reason): what the client's check found in the
// certificate, or for another failure the alert that ended it.
func (r *Result) reason(he *HandshakeError, server string) string {
	f := &r.Facts
	if server == "" {
		server = "the server"
	}
	cert := "the certificate of " + server
	switch he.Check {
	case CheckProtocol:
		switch {
		// Callers say "the TLS handshake failed: " before this; saying it
		// here too read "TLS handshake failed: the TLS handshake with ...
		// failed".
		case he.Alert == 0 && he.Client != nil:
			return fmt.Sprintf("talking to %s: %v", server, he.Client)
		case he.Alert == 0:
			return fmt.Sprintf("talking to %s, for no reason either side gave", server)
		case he.AlertFrom == SideServer:
			return fmt.Sprintf("%s ended the TLS handshake with alert %s", server, alertName(he.Alert))
		}
		return fmt.Sprintf("the client ended the TLS handshake with %s with alert %s", server, alertName(he.Alert))
	case CheckExpired:
		return fmt.Sprintf("%s expired on %s", cert, date(f.NotAfter))
	case CheckNotYetValid:
		return fmt.Sprintf("%s is not valid before %s", cert, date(f.NotBefore))
	case CheckName:
		return fmt.Sprintf("%s is for another name: %s", cert, orUnknown(strings.Join(f.Names, ", ")))
	case CheckAuthority:
		return fmt.Sprintf("%s is signed by an unknown authority (%s)", cert, orUnknown(f.Issuer))
	case CheckTLSA:
		return fmt.Sprintf("%s matches none of its TLSA records (DANE, RFC 7672 §3)", cert)
	}
	return fmt.Sprintf("%s is not valid: %s", cert, orUnknown(he.Detail))
}

// verifiedText says what made a certificate pass: a CA, or a TLSA record.
func (r *Result) verifiedText() string {
	t := r.Facts.Verify.TLSA
	switch {
	case !r.Facts.DANE:
		return "certificate verified: signed by a trusted CA, for the right name, within its dates"
	case t.Usage == DANEEE:
		return fmt.Sprintf("certificate authenticated with DANE: it matches the TLSA record %s (DANE-EE, the server's own key), so no CA is asked and its name and dates are not checked (RFC 7672 §3.1.1)", t.Short())
	}
	return fmt.Sprintf("certificate authenticated with DANE: it chains to the trust anchor of the TLSA record %s (DANE-TA), for the right name, within its dates (RFC 7672 §3.1.2)", t.Short())
}

// failure returns the handshake's error, or a bare protocol failure for a
// Result that was not made by Handshake.
func (r *Result) failure() *HandshakeError {
	if r.failed != nil {
		return r.failed
	}
	return &HandshakeError{Check: CheckProtocol}
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func date(t time.Time) string { return t.UTC().Format("2006-01-02") }

func orUnknown(s string) string {
	if s == "" {
		return "(unknown)"
	}
	return s
}
