package lab

import (
	"errors"
	"fmt"
	"strings"

	"smtplab/engine/dns"
	"smtplab/engine/labtls"
	"smtplab/engine/mta"
	"smtplab/engine/simnet"
)

// handshaker runs real TLS handshakes between the ends of simulated
// connections with the world's certificate authority, puts the handshake's
// flights on the simulated wire and records its steps in the trace.
type handshaker struct {
	net   *simnet.World
	ca    *labtls.Authority         // made on the first handshake: worlds without TLS never pay for it
	certs map[string]labtls.Variant // by lower-case host name; hosts without TLS are absent
	count uint64                    // handshakes so far, to vary the seeded randomness
}

// newHandshaker gives every host that has a certificate variant (or none
// said: a good one) a certificate from the world's CA. Certificates are
// issued on first use, and the CA made then, so worlds that never use TLS
// pay nothing.
func newHandshaker(net *simnet.World, hosts []mta.HostConfig) (*handshaker, error) {
	h := &handshaker{net: net, certs: map[string]labtls.Variant{}}
	for _, hc := range hosts {
		if len(hc.Ports) == 0 || hc.Cert == mta.CertNone {
			continue
		}
		v := labtls.Good
		if hc.Cert != "" {
			var err error
			if v, err = labtls.ParseVariant(hc.Cert); err != nil {
				return nil, fmt.Errorf("host %s: %w", hc.Name, err)
			}
		}
		h.certs[strings.ToLower(hc.Name)] = v
	}
	return h, nil
}

// CanServe reports whether host has a certificate. Every session asks,
// with the host's own name, which is in lower case: it is looked up as it
// is before it is lower-cased.
func (h *handshaker) CanServe(host string) bool {
	if len(h.certs) == 0 {
		return false
	}
	if _, ok := h.certs[host]; ok {
		return true
	}
	_, ok := h.certs[strings.ToLower(host)]
	return ok
}

// Handshake runs the handshake, replays its flights on the wire, traces
// its steps and, on success, upgrades both ends. With TLSA records the
// client checks the certificate against them, not the CA.
func (h *handshaker) Handshake(client, server *simnet.Conn, serverHost string, check mta.CertCheck) (bool, error) {
	variant, ok := h.certs[strings.ToLower(serverHost)]
	if !ok {
		return false, errors.New(serverHost + " has no certificate")
	}
	if h.ca == nil {
		ca, err := labtls.NewAuthority(h.net.Start())
		if err != nil {
			return false, fmt.Errorf("the lab CA: %w", err)
		}
		h.ca = ca
	}
	now := labtls.Clock(h.net.Start(), h.net.Now)
	// The certificate the host has now: a good one is renewed as the
	// clock moves on, so it does not expire under a learner.
	cert, err := h.ca.IssueAt(serverHost, variant, now())
	if err != nil {
		return false, err
	}
	tlsa, err := tlsaRecords(check.TLSA)
	if err != nil {
		return false, err
	}
	h.count++
	seed := uint64(h.net.Seed())<<20 + h.count*2
	res, err := labtls.Handshake(
		&labtls.Client{ServerName: serverHost, Roots: h.ca.Pool(), Verify: check.Verify, TLSA: tlsa, Now: now, Rand: labtls.NewRand(seed)},
		&labtls.Server{Certificate: cert, Now: now, Rand: labtls.NewRand(seed + 1)},
	)
	clientName, serverName := client.Local().Name(), server.Local().Name()
	for _, f := range res.Flights {
		for _, step := range f.Steps {
			h.net.Emit(res.Event(step, client.ID(), clientName, serverName))
		}
		from := client
		if f.From == labtls.SideServer {
			from = server
		}
		_ = from.WriteRaw(f.Bytes)
	}
	for _, step := range res.After {
		h.net.Emit(res.Event(step, client.ID(), clientName, serverName))
	}
	if err != nil {
		return false, err
	}
	if err := client.Upgrade(res.Client); err != nil {
		return false, err
	}
	if err := server.Upgrade(res.Server); err != nil {
		return false, err
	}
	return res.Facts.Verified && res.Facts.Verify.Check == labtls.CheckOK, nil
}

// tlsaRecords turns TLSA records as DNS holds them into what labtls checks
// a certificate against.
func tlsaRecords(records []dns.Record) ([]labtls.TLSA, error) {
	var out []labtls.TLSA
	for _, r := range records {
		t, err := labtls.ParseTLSA(r.Usage, r.Selector, r.Matching, r.Cert)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}
