package lab

import (
	"crypto/sha256"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"smtplab/engine/trace"
)

var update = flag.Bool("update", false, "rewrite testdata/traces.golden from the current traces")

// TestTracesMatchGolden: every scenario, driven by everyStep, gives the
// trace recorded in testdata/traces.golden (its SHA-256 and length), so
// the same input gives the same trace natively and as js/wasm, where the
// page runs it: make test runs this test both ways. A change to the
// engine that changes a trace on purpose rewrites the file with
// go test ./engine/lab/ -run TestTracesMatchGolden -update; the diff says
// which scenarios it touched.
//
// The ciphertext is left out (see withoutCiphertext): it is the one part
// of a trace that differs from one platform to another.
func TestTracesMatchGolden(t *testing.T) {
	var got strings.Builder
	for _, info := range Scenarios() {
		b, err := json.Marshal(withoutCiphertext(everyStep(t, info.Name)))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&got, "%s %x %d\n", info.Name, sha256.Sum256(b), len(b))
	}
	path := filepath.Join("testdata", "traces.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./engine/lab/ -run TestTracesMatchGolden -update to write it)", err)
	}
	if got.String() != string(want) {
		t.Fatalf("the traces differ from %s (check the change, then rewrite it with -update):\ngot:\n%swant:\n%s", path, got.String(), want)
	}
}

// withoutCiphertext returns events with the bytes of TLS records blanked:
// the hex preview of a handshake record and of each record's ciphertext.
// Go's TLS client lists the TLS 1.3 cipher suites in the order the
// machine's hardware favours (AES-GCM first where the CPU has AES
// instructions, ChaCha20-Poly1305 first in WebAssembly), so the
// ClientHello, and with it every key and every encrypted byte, differs
// between the two, though the suite chosen, the steps and the sizes do
// not. The plaintext of each record stays.
func withoutCiphertext(events []trace.Event) []trace.Event {
	out := make([]trace.Event, len(events))
	for i, e := range events {
		if _, ok := e.Attrs["cipher_hex"]; ok {
			if _, sealed := e.Attrs["plain_size"]; !sealed {
				e.Text = "" // a handshake record: its text is the hex
			}
			e.Attrs = maps.Clone(e.Attrs)
			e.Attrs["cipher_hex"] = ""
		}
		out[i] = e
	}
	return out
}
