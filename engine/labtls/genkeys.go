//go:build ignore

// genkeys writes keys.pem: the Ed25519 private keys of the lab CA and of the
// simulated hosts, generated once and committed so that no world ever pays
// for key generation at start-up, and every world has the same keys.
//
// Run it with `go generate ./engine/labtls` (see keys.go). Re-running it
// changes every certificate and every golden trace that shows one.
package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"log"
	"os"
)

// hostKeys is how many host keys the pool has; see hostKeyName in keys.go.
const hostKeys = 8

func main() {
	names := []string{"ca"}
	for i := range hostKeys {
		names = append(names, fmt.Sprintf("host-%d", i))
	}
	out, err := os.Create("keys.pem")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Fprintln(out, "SMTP Lab keys: PUBLIC test keys, committed on purpose. Never use them outside the lab.")
	fmt.Fprintln(out, "Made by genkeys.go (go generate ./engine/labtls).")
	for _, name := range names {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			log.Fatal(err)
		}
		der, err := x509.MarshalPKCS8PrivateKey(priv)
		if err != nil {
			log.Fatal(err)
		}
		block := &pem.Block{Type: "PRIVATE KEY", Headers: map[string]string{"Name": name}, Bytes: der}
		if err := pem.Encode(out, block); err != nil {
			log.Fatal(err)
		}
	}
	if err := out.Close(); err != nil {
		log.Fatal(err)
	}
}
