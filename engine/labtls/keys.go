package labtls

import (
	"crypto/ed25519"
	"crypto/x509"
	_ "embed"
	"encoding/pem"
	"fmt"
	"hash/fnv"
	"strings"
)

// keys.pem holds the lab's pre-generated Ed25519 private keys: one for the
// CA and a small pool for hosts. They are public on purpose: the lab only
// needs real signatures, not secrets, and generating keys in the browser
// would cost time at start-up and make worlds differ from one run to the
// next.
//
//go:generate go run genkeys.go
//go:embed keys.pem
var keysPEM []byte

// hostKeyCount is the size of the host key pool in keys.pem.
const hostKeyCount = 8

// loadKey returns the embedded key with the given name ("ca", "host-3").
// Parsing a PKCS #8 Ed25519 key only expands its 32-byte seed: cheap, and
// done afresh each time so the package keeps no mutable state.
func loadKey(name string) (ed25519.PrivateKey, error) {
	rest := keysPEM
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, fmt.Errorf("labtls: no embedded key %q", name)
		}
		if block.Headers["Name"] != name {
			continue
		}
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("labtls: embedded key %q: %w", name, err)
		}
		priv, ok := k.(ed25519.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("labtls: embedded key %q is a %T, not Ed25519", name, k)
		}
		return priv, nil
	}
}

// hostKeyName picks a host's key from the pool by a hash of its name, so a
// host keeps the same key in every world. Two hosts may share a key; in the
// lab nobody can tell, and the pool stays small.
func hostKeyName(host string) string {
	h := fnv.New32a()
	h.Write([]byte(strings.ToLower(host)))
	return fmt.Sprintf("host-%d", h.Sum32()%hostKeyCount)
}

// DKIMKey returns the key a domain signs its mail with (see engine/dkim):
// one of the pool's, picked by the domain's name as a host's key is, so a
// domain has the same key in every world.
func DKIMKey(domain string) (ed25519.PrivateKey, error) {
	return loadKey(hostKeyName("dkim " + domain))
}
