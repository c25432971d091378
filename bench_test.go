package main

import (
	"context"
	"slices"
	"testing"
	"time"
)

// loadFigures is what one fresh load of the page measured, in the page's
// own clock (milliseconds since navigation started).
type loadFigures struct {
	Lesson   float64 `json:"lesson"`   // first contentful paint: the lesson text is in the first HTML
	Greeting float64 `json:"greeting"` // the engine ran and the 220 greeting is on screen
	Encoded  int     `json:"encoded"`  // bytes of every response body as sent (compressed)
	Decoded  int     `json:"decoded"`  // the same bodies decoded
	Wasm     int     `json:"wasm"`     // the engine's share of Encoded
	// Where the time to the greeting goes (marks set by the page's scripts).
	Fetch    float64 `json:"fetch"`    // the page's script asks for the engine
	Compiled float64 `json:"compiled"` // the engine is compiled and instantiated
	Ready    float64 `json:"ready"`    // Go has started and set smtpLab
	Created  float64 `json:"created"`  // the page has its first world (greeting shown)
}

// measureLoad loads url in a fresh browser context (empty cache) and reads
// the figures from the Performance API.
func measureLoad(tb testing.TB, url string) loadFigures {
	tb.Helper()
	ctx := testTab(tb, 60*time.Second)
	openLab(tb, ctx, url)
	waitFor(tb, ctx, "the greeting mark", `performance.getEntriesByName('smtplab-greeting').length > 0`)
	return eval[loadFigures](tb, ctx, `(() => {
		const nav = performance.getEntriesByType('navigation')[0];
		const all = [nav, ...performance.getEntriesByType('resource')];
		const fcp = performance.getEntriesByName('first-contentful-paint')[0];
		const mark = (n) => { const m = performance.getEntriesByName(n)[0]; return m ? m.startTime : -1; };
		return {
			lesson: fcp ? fcp.startTime : -1,
			greeting: mark('smtplab-greeting'),
			fetch: mark('smtplab-wasm-fetch'),
			compiled: mark('smtplab-wasm-compiled'),
			ready: mark('smtplab-wasm-ready'),
			created: mark('smtplab-greeting'),
			encoded: all.reduce((n, e) => n + e.encodedBodySize, 0),
			decoded: all.reduce((n, e) => n + e.decodedBodySize, 0),
			wasm: all.filter(e => e.name.includes('.wasm')).reduce((n, e) => n + e.encodedBodySize, 0),
		};
	})()`)
}

// BenchmarkPageLoad measures, in headless Chromium on localhost, the median
// of 5 fresh loads of the page: navigation → lesson text painted, and
// navigation → engine ready with the greeting shown; and how many bytes
// the page transfers with brotli. The site is served as `go run .` serves
// it once its background compression is done (best brotli, cached on disk).
// Targets: greeting ≤ 500 ms, page ≤ 2.0 MB.
func BenchmarkPageLoad(b *testing.B) {
	s := realSite(b)
	s.improveCompression(context.Background(), compressionCacheDir())
	url := serve(b, s)
	const loads = 5
	for b.Loop() {
		var lesson, greeting, fetch, compiled, ready []float64
		var last loadFigures
		for range loads {
			f := measureLoad(b, url)
			lesson = append(lesson, f.Lesson)
			greeting = append(greeting, f.Greeting)
			fetch = append(fetch, f.Fetch)
			compiled = append(compiled, f.Compiled)
			ready = append(ready, f.Ready)
			last = f
		}
		b.Logf("medians: engine asked for at %v ms, compiled at %v ms, Go ready at %v ms, greeting at %v ms",
			median(fetch), median(compiled), median(ready), median(greeting))
		b.ReportMetric(median(lesson), "lesson-ms")
		b.ReportMetric(median(greeting), "greeting-ms")
		b.ReportMetric(float64(last.Encoded), "page-bytes")
		b.ReportMetric(float64(last.Wasm), "wasm-bytes")
		b.ReportMetric(float64(last.Decoded), "page-bytes-decoded")
		b.ReportMetric(0, "ns/op") // the time of 5 loads says nothing on its own
		b.Logf("lesson text %v ms, greeting %v ms (medians of %d); page %d bytes sent, %d decoded; engine %d bytes sent",
			median(lesson), median(greeting), loads, last.Encoded, last.Decoded, last.Wasm)
	}
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}
