package labtls

import "fmt"

// Mode says when a client uses STARTTLS (RFC 3207). Whether the server
// offers STARTTLS at all, and whether a man in the middle strips it from
// the EHLO reply, is decided by the SMTP layers; Mode is what the client
// does about it.
type Mode uint8

const (
	// ModeNone never starts TLS: everything crosses the wire in clear.
	ModeNone Mode = iota
	// ModeOpportunistic starts TLS when the server offers it and carries on
	// in clear when it does not. This is what most MTAs do on port 25, and
	// why stripping STARTTLS from the EHLO reply works against them.
	ModeOpportunistic
	// ModeRequired refuses to send the message unless TLS is started (the
	// client defers with a 4xx when STARTTLS is missing or refused).
	ModeRequired
)

// String returns the mode's name as scenario files spell it.
func (m Mode) String() string {
	switch m {
	case ModeNone:
		return "none"
	case ModeOpportunistic:
		return "opportunistic"
	case ModeRequired:
		return "required"
	}
	return fmt.Sprintf("Mode(%d)", m)
}

// Policy is a client's outbound TLS policy: when to start TLS, and whether a
// certificate that fails verification ends the handshake (Verify) or is only
// noted in the trace and accepted, as opportunistic TLS on port 25 does.
type Policy struct {
	Mode   Mode
	Verify bool
}

// ParsePolicy reads a policy as scenario files write it: "none",
// "opportunistic" (any certificate), "verify" (STARTTLS when offered, and the
// certificate must verify) or "required" (TLS must happen and verify).
// The empty string means opportunistic, the usual default between MTAs.
func ParsePolicy(s string) (Policy, error) {
	switch s {
	case "none":
		return Policy{Mode: ModeNone}, nil
	case "", "opportunistic":
		return Policy{Mode: ModeOpportunistic}, nil
	case "verify":
		return Policy{Mode: ModeOpportunistic, Verify: true}, nil
	case "required":
		return Policy{Mode: ModeRequired, Verify: true}, nil
	}
	return Policy{}, fmt.Errorf("labtls: unknown TLS policy %q (want none, opportunistic, verify or required)", s)
}

// String returns the policy's name as ParsePolicy reads it.
func (p Policy) String() string {
	switch {
	case p.Mode == ModeNone:
		return "none"
	case p.Mode == ModeRequired && p.Verify:
		return "required"
	case p.Mode == ModeRequired:
		return "required-unverified"
	case p.Verify:
		return "verify"
	}
	return "opportunistic"
}
