// Command pack makes the engine that `go build` wrote for the browser
// smaller, without changing what it does: it merges the data segments Go's
// linker splits at every run of zeros (see packDataSegments), and has a
// start function write the runtime's table of function buckets instead of
// the data segments (see buckets.go).
//
//	go run ./wasm/pack web/dist/lab.wasm
//
// `make wasm` runs it after building the engine. It rewrites the file in
// place and says what it did. A module it cannot read is left as it is,
// with a warning, so that a Go release writing modules differently never
// stops anyone from building the lab: the engine then only stays larger
// (and BenchmarkPageLoad shows it).
package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
)

// maxGap is the longest run of zeros written out to join two segments. A
// segment's header costs six to eight octets and compresses badly; zeros
// compress to almost nothing. For the lab's engine with brotli: 32 gives
// 186 segments and 1,820,882 octets, 64 gives 44 and 1,817,494, 128 gives
// 24 and 1,818,842 (the raw module grows a little more each time).
const maxGap = 64

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: go run ./wasm/pack FILE.wasm")
		os.Exit(2)
	}
	if err := packFile(os.Args[1]); err != nil {
		fmt.Fprintf(os.Stderr, "pack: %v\n", err)
		os.Exit(1)
	}
}

// packFile packs the module at path in place. A module packDataSegments
// cannot read is kept as it is, with a warning; only failing to read or
// write the file is an error.
func packFile(path string) error {
	module, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	packed, stats, err := packDataSegments(module, maxGap)
	if err != nil {
		fmt.Fprintf(os.Stderr, "pack: %s left as it is: %v\n", path, err)
		return nil
	}
	if bytes.Equal(packed, module) {
		// go build leaves an up-to-date output alone, so a second
		// make wasm finds the module it packed last time.
		fmt.Printf("pack: %s is packed already\n", path)
		return nil
	}
	// Written beside it and renamed, so that an interrupted run never
	// leaves half an engine behind.
	tmp, err := os.CreateTemp(filepath.Dir(path), ".pack-*.wasm")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after a successful rename there is nothing to remove
	if _, err := tmp.Write(packed); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	// The packed file keeps the mode go build gave the module.
	info, err := os.Stat(path)
	if err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), info.Mode().Perm()); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	fmt.Printf("pack: %s: %d data segments → %d, %d octets → %d, %d function buckets written at start\n",
		path, stats.segmentsBefore, stats.segmentsAfter, stats.sizeBefore, stats.sizeAfter, stats.buckets)
	return nil
}
