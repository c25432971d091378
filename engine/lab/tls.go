package lab

import (
	"smtplab/engine/mta"
	"smtplab/engine/simnet"
)

// newHandshaker returns the world's TLS: not wired to engine/labtls yet, so
// no host offers STARTTLS.
func newHandshaker(net *simnet.World, hosts []mta.HostConfig) mta.Handshaker { return nil }
