package main

import (
	"strings"
	"testing"
)

// A log as make bench prints it, cut down to the lines that matter and a
// few that must be skipped.
const benchLog = `goos: linux
goarch: amd64
BenchmarkSession/1KB/gosmtp-2         	   22299	     52159 ns/op	     19172 sessions/s
BenchmarkThreeHops10k-2          	       6	 175260354 ns/op	     50000 msgs/s	135104732 B/op	  382518 allocs/op
ok  	smtplab/engine/lab	5.177s
goarch: amd64
BenchmarkThreeHops10k          	       6	 175260354 ns/op	     40000 msgs/s	135104732 B/op	  382518 allocs/op
v20.20.2
goos: js
goarch: wasm
BenchmarkThreeHops10k 	       1	1119780352 ns/op	      8000 msgs/s	135130112 B/op	  382959 allocs/op
BenchmarkThreeHops10k 	       2	 690444288 ns/op	     12500 msgs/s	135114524 B/op	  382698 allocs/op
v26.10.0
goos: js
goarch: wasm
BenchmarkThreeHops10k 	       2	 588182528 ns/op	     20000 msgs/s	135114396 B/op	  382697 allocs/op
BenchmarkLoopback-2   	    8000	       121.7 bridge-cpu-us/msg	     11480 bridge-msgs/s	         1.381 x-vs-gosmtp	   20345 B/op
BenchmarkLoopbackKeptOpen/DATA-2         	   20000	     25217 gosmtp-msgs/s	         1.475 x-vs-gosmtp
BenchmarkPageLoad-2          	       1	       233.2 greeting-ms	       112.0 lesson-ms	   1883990 page-bytes
`

func TestSummary(t *testing.T) {
	s, err := read(strings.NewReader(benchLog))
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	s.write(&out)
	for _, want := range []string{
		"ThreeHops natively: 50000 msgs/s",
		"Node v20.20.2, cold: 8000 msgs/s, 6.25 times slower",
		"Node v20.20.2, warm: 12500 msgs/s, 4.00 times slower",
		"Node v26.10.0, warm: 20000 msgs/s, 2.50 times slower",
		"2.00 times slower than natively on one core, as js/wasm runs (40000 msgs/s)",
		"Loopback: the bridge 1.381 times as fast",
		"LoopbackKeptOpen/DATA: the bridge 1.475 times as fast",
		"greeting after 233 ms",
		"1883990 octets sent",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "Session") {
		t.Errorf("summary names a benchmark it has no target for:\n%s", out.String())
	}
}
