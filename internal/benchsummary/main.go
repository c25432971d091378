// Command benchsummary reads what `make bench` printed and ends it with the
// figures the project's speed targets are about, each set beside the
// reference it is measured against in the same run: the simulated world
// as js/wasm against the same world run natively, the TCP bridge against
// go-smtp's server, the page against its budget.
//
//	make bench   # runs go run ./internal/benchsummary < build/bench.log
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

func main() {
	s, err := read(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchsummary:", err)
		os.Exit(1)
	}
	s.write(os.Stdout)
}

// summary holds the figures found, zero where a benchmark did not run.
type summary struct {
	native float64 // ThreeHops messages/s, natively
	// ThreeHops messages/s natively on one core (go test -cpu 1), as
	// js/wasm always runs: natively the garbage collector works on a
	// second core beside the simulation, which js/wasm cannot.
	nativeOneCore float64
	wasm          []wasmRun
	// x-vs-gosmtp of the bridge benchmarks, by benchmark name.
	vs       map[string]float64
	vsOrder  []string
	greeting float64 // ms, median of fresh page loads
	page     float64 // octets sent for the page
}

// wasmRun is one ThreeHops run as js/wasm: under which Node, with how
// many iterations (1: cold, V8 compiling as it goes; 2: warm).
type wasmRun struct {
	node   string
	n      int
	msgsPS float64
}

// read collects the figures from a benchmark log. Lines it does not know
// are skipped: the log is go test's output, and its other benchmarks.
func read(r io.Reader) (*summary, error) {
	s := &summary{vs: map[string]float64{}}
	node, arch := "?", ""
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		fields := strings.Fields(line)
		switch {
		case strings.HasPrefix(line, "v") && len(fields) == 1 && strings.Count(line, ".") == 2:
			node = line // node --version, printed before its runs
		case strings.HasPrefix(line, "goarch: "):
			arch = strings.TrimPrefix(line, "goarch: ") // go test prints it before a package's benchmarks
		case len(fields) < 2 || !strings.HasPrefix(fields[0], "Benchmark"):
		case strings.HasPrefix(fields[0], "BenchmarkThreeHops10k"):
			msgs := metric(fields, "msgs/s")
			if arch != "wasm" {
				// go test ends a benchmark's name with -GOMAXPROCS
				// unless that is 1.
				if strings.Contains(fields[0], "-") {
					s.native = msgs
				} else {
					s.nativeOneCore = msgs
				}
				break
			}
			n, _ := strconv.Atoi(fields[1])
			s.wasm = append(s.wasm, wasmRun{node: node, n: n, msgsPS: msgs})
		case strings.HasPrefix(fields[0], "BenchmarkLoopback"):
			name := strings.TrimPrefix(fields[0], "Benchmark")
			if i := strings.LastIndex(name, "-"); i > 0 {
				name = name[:i]
			}
			if _, seen := s.vs[name]; !seen {
				s.vsOrder = append(s.vsOrder, name)
			}
			s.vs[name] = metric(fields, "x-vs-gosmtp")
		case strings.HasPrefix(fields[0], "BenchmarkPageLoad"):
			s.greeting, s.page = metric(fields, "greeting-ms"), metric(fields, "page-bytes")
		}
	}
	return s, sc.Err()
}

// metric returns the value go test printed before unit, or 0.
func metric(fields []string, unit string) float64 {
	for i := 1; i < len(fields); i++ {
		if fields[i] == unit {
			v, _ := strconv.ParseFloat(fields[i-1], 64)
			return v
		}
	}
	return 0
}

func (s *summary) write(w io.Writer) {
	fmt.Fprintln(w, "== summary: each figure against its reference of this run")
	if s.native > 0 {
		fmt.Fprintf(w, "ThreeHops natively: %.0f msgs/s (target: at least 50000)\n", s.native)
		for _, r := range s.wasm {
			// Go times its native figure after an untimed run, as the
			// warm run here is: the target is about that one.
			kind, target := "warm", " (target: at most 3)"
			if r.n == 1 {
				kind, target = "cold", " (V8 compiling as it goes)"
			}
			fmt.Fprintf(w, "ThreeHops as js/wasm, Node %s, %s: %.0f msgs/s, %.2f times slower than natively%s\n",
				r.node, kind, r.msgsPS, s.native/r.msgsPS, target)
			if s.nativeOneCore > 0 {
				fmt.Fprintf(w, "    and %.2f times slower than natively on one core, as js/wasm runs (%.0f msgs/s)\n",
					s.nativeOneCore/r.msgsPS, s.nativeOneCore)
			}
		}
	}
	for _, name := range s.vsOrder {
		fmt.Fprintf(w, "%s: the bridge %.3f times as fast as go-smtp's server (target: at least 1.5)\n", name, s.vs[name])
	}
	if s.page > 0 {
		fmt.Fprintf(w, "page: greeting after %.0f ms (target: at most 500), %.0f octets sent (budget: 2000000)\n", s.greeting, s.page)
	}
}
