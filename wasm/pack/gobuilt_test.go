//go:build !js

package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"
)

// TestPackGoBuiltModule packs what Go's linker really writes: a small
// program built for the browser, which must start with the same memory,
// keep every other section, shrink, and still run (under Node, with Go's
// own wasm_exec).
func TestPackGoBuiltModule(t *testing.T) {
	dir := t.TempDir()
	src := `package main

import (
	"fmt"
	"strings"
)

var table = map[string]int{"one": 1, "two": 2, "three": 3}

func main() {
	fmt.Println(strings.ToUpper("packed"), table["three"])
}
`
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module packtest\n\ngo 1.26\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "prog.wasm")
	build := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", path, ".")
	build.Dir = dir
	build.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm", "GOFLAGS=")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	in, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}

	out, stats, err := packDataSegments(in, maxGap)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d data segments → %d, %d octets → %d", stats.segmentsBefore, stats.segmentsAfter, stats.sizeBefore, stats.sizeAfter)
	if stats.segmentsAfter*100 > stats.segmentsBefore {
		t.Errorf("packing left many segments: %+v", stats)
	}
	// What pays is the size on the wire: the raw module grows by the
	// zeros written out.
	if b, a := brotliSize(t, in), brotliSize(t, out); a >= b {
		t.Errorf("with brotli, the packed module is %d octets, the module %d", a, b)
	} else {
		t.Logf("with brotli: %d octets → %d", b, a)
	}
	if !bytes.Equal(memoryImage(t, in), memoryImage(t, out)) {
		t.Error("the packed module starts with another memory")
	}
	before, _ := readSections(in)
	after, _ := readSections(out)
	if len(before) != len(after) {
		t.Fatalf("%d sections became %d", len(before), len(after))
	}
	for i := range before {
		if before[i].id != after[i].id || (before[i].id != sectionData && !bytes.Equal(before[i].body, after[i].body)) {
			t.Errorf("section %d (id %d) changed", i, before[i].id)
		}
	}

	// The command packs the file in place, keeping its mode.
	if err := packFile(path); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, out) {
		t.Error("packFile wrote something else than packDataSegments returns")
	}
	if info, err := os.Stat(path); err != nil || info.Mode().Perm()&0o100 == 0 {
		t.Errorf("the packed file lost its mode: %v %v", info.Mode(), err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 3 {
		t.Errorf("left behind in the directory: %v", entries)
	}

	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is needed to run the packed module (the js/wasm tests need it too)")
	}
	run := exec.Command(node, filepath.Join(runtime.GOROOT(), "lib", "wasm", "wasm_exec_node.js"), path)
	got, err := run.CombinedOutput()
	if err != nil || strings.TrimSpace(string(got)) != "PACKED 3" {
		t.Errorf("the packed module ran with %v and printed %q, want \"PACKED 3\"", err, got)
	}
}

// brotliSize is the size of b compressed as the lab's server compresses
// the engine, at a lower quality to keep the test quick.
func brotliSize(t *testing.T, b []byte) int {
	var buf bytes.Buffer
	w := brotli.NewWriterOptions(&buf, brotli.WriterOptions{Quality: 6, LGWin: 24})
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Len()
}

func TestPackFileLeavesAnUnreadableModuleAlone(t *testing.T) {
	path := filepath.Join(t.TempDir(), "odd.wasm")
	odd := []byte("\x00asm\x01\x00\x00\x00\x0b\x03\x01\x01\x00") // a passive segment
	if err := os.WriteFile(path, odd, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := packFile(path); err != nil {
		t.Fatalf("packFile failed the build on a module it cannot read: %v", err)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, odd) {
		t.Errorf("the module was changed to % x", got)
	}
	if err := packFile(filepath.Join(t.TempDir(), "missing.wasm")); err == nil {
		t.Error("a missing file is not an error")
	}
}
