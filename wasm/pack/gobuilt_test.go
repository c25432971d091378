//go:build !js

package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
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
	// Go's table of function buckets is written by a start function,
	// which the memory after instantiation shows.
	if stats.buckets < minBuckets {
		t.Errorf("the function buckets stayed in the data segments (%d buckets left out)", stats.buckets)
	}
	sameMemoryOnceStarted(t, in, out)
	before, _ := readSections(in)
	after, _ := readSections(out)
	grown := map[byte]bool{sectionType: true, sectionFunction: true, sectionCode: true, sectionData: true}
	var ids []byte
	for _, s := range after {
		ids = append(ids, s.id)
		if s.id == sectionStart {
			continue
		}
		b := before[0]
		before = before[1:]
		if b.id != s.id || (!grown[s.id] && !bytes.Equal(b.body, s.body)) || (grown[s.id] && s.id != sectionData && !oneMoreEntry(b.body, s.body)) {
			t.Errorf("section %d (id %d) changed otherwise than by one more entry", len(ids)-1, s.id)
		}
	}
	if len(before) != 0 || bytes.Count(ids, []byte{sectionStart}) != 1 {
		t.Errorf("sections %v, want those of the module and one start section", ids)
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
	// A second make wasm finds the packed module (go build leaves an
	// up-to-date output alone): packing it again changes nothing.
	if again, _, err := packDataSegments(out, maxGap); err != nil || !bytes.Equal(again, out) {
		t.Errorf("packing a packed module changed it (err %v)", err)
	}
	if err := packFile(path); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, out) {
		t.Error("packFile changed a packed module")
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

// oneMoreEntry says whether a section's body after is its body before
// with one more entry at the end.
func oneMoreEntry(before, after []byte) bool {
	n, k := binary.Uvarint(before)
	m, j := binary.Uvarint(after)
	return k > 0 && j > 0 && m == n+1 && bytes.HasPrefix(after[j:], before[k:]) && len(after[j:]) > len(before[k:])
}

// startedMemory is Node's script for sameMemoryOnceStarted: it
// instantiates each module it is given, with functions that do nothing
// for its imports, and prints how their memories differ.
const startedMemory = `
const fs = require('fs');
const memory = (path) => {
  const mod = new WebAssembly.Module(fs.readFileSync(path));
  const imports = {};
  for (const imp of WebAssembly.Module.imports(mod)) (imports[imp.module] ??= {})[imp.name] = () => {};
  const exports = new WebAssembly.Instance(mod, imports).exports;
  const mem = Object.values(exports).find((e) => e instanceof WebAssembly.Memory);
  return new Uint8Array(mem.buffer);
};
const [a, b] = process.argv.slice(-2).map(memory);
let diff = a.length === b.length ? -1 : Math.min(a.length, b.length);
for (let i = 0; diff < 0 && i < a.length; i++) if (a[i] !== b[i]) diff = i;
console.log(diff < 0 ? 'same' : 'differ at ' + diff + ' (' + a.length + ' and ' + b.length + ' octets)');
`

// sameMemoryOnceStarted fails the test unless the two modules, once
// instantiated (start function run, nothing else called), have the same
// memory, octet for octet. Node instantiates them.
func sameMemoryOnceStarted(t *testing.T, a, b []byte) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is needed to instantiate the modules (the js/wasm tests need it too)")
	}
	dir := t.TempDir()
	var args []string
	for i, mod := range [][]byte{a, b} {
		p := filepath.Join(dir, fmt.Sprintf("%d.wasm", i))
		if err := os.WriteFile(p, mod, 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, p)
	}
	out, err := exec.Command(node, append([]string{"-e", startedMemory, "--"}, args...)...).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "same" {
		t.Errorf("instantiated, the modules' memories: %v %s", err, out)
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

// TestPackWritesFunctionBucketsAtStart packs modules whose memory holds a
// table of function buckets as Go writes it: the table leaves the data
// segments for a start function where the module can take one, and the
// memory once instantiated is the same either way.
func TestPackWritesFunctionBucketsAtStart(t *testing.T) {
	table := func(n int) []byte {
		var b []byte
		for i := range n {
			b = bucket(b, i)
		}
		return b
	}
	// Two imported functions and one of the module's own, so the fill
	// is function 3; the memory is exported for Node to read.
	build := func(buckets int, extra ...section) []byte {
		sections := []section{
			{id: sectionType, body: []byte{0x01, 0x60, 0x00, 0x00}},
			{id: sectionImport, body: []byte{0x02, 0x02, 'g', 'o', 0x01, 'a', 0x00, 0x00, 0x02, 'g', 'o', 0x01, 'b', 0x00, 0x00}},
			{id: sectionFunction, body: []byte{0x01, 0x00}},
			memorySection(2),
			{id: 7, body: []byte{0x01, 0x03, 'm', 'e', 'm', 0x02, 0x00}},
		}
		sections = append(sections, extra...)
		sections = append(sections,
			section{id: sectionCode, body: []byte{0x01, 0x02, 0x00, 0x0b}},
			dataSection(
				segment{offset: 100, data: []byte("before the table")},
				segment{offset: 4000, data: table(buckets)},
				segment{offset: 4000 + uint32(buckets*bucketSize), data: []byte("\x07after it")},
			))
		return module(sections...)
	}

	in := build(2000)
	out, stats, err := packDataSegments(in, 64)
	if err != nil {
		t.Fatal(err)
	}
	if stats.buckets != 2000 {
		t.Errorf("%d buckets written at start, want 2000", stats.buckets)
	}
	sections, _ := readSections(out)
	var ids []byte
	for _, s := range sections {
		ids = append(ids, s.id)
		if s.id == sectionStart && !bytes.Equal(s.body, []byte{3}) {
			t.Errorf("start function %v, want 3", s.body)
		}
	}
	if !bytes.Equal(ids, []byte{1, 2, 3, 5, 7, 8, 10, 11}) {
		t.Errorf("sections %v", ids)
	}
	if img := memoryImage(t, out); bytes.Count(img[4000:4000+2000*bucketSize], []byte{0}) != 2000*bucketSize {
		t.Error("the data segments still write the table")
	}
	if len(out) > len(in)-2000*bucketSize+100 {
		t.Errorf("the module went from %d octets to %d", len(in), len(out))
	}
	sameMemoryOnceStarted(t, in, out)

	// Left in the segments: a table too short to pay, or a module that
	// has a start function already. Same memory all the same.
	for name, in := range map[string][]byte{
		"short table":      build(minBuckets - 1),
		"a start function": build(2000, section{id: sectionStart, body: []byte{0x00}}),
	} {
		out, stats, err := packDataSegments(in, 64)
		if err != nil {
			t.Fatal(err)
		}
		if stats.buckets != 0 {
			t.Errorf("%s: %d buckets written at start", name, stats.buckets)
		}
		if !bytes.Equal(memoryImage(t, in), memoryImage(t, out)) {
			t.Errorf("%s: the packed module starts with another memory", name)
		}
	}
}
