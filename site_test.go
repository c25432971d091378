package main

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"html/template"
	"io"
	"io/fs"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/andybalholm/brotli"

	"smtplab/lessons"
)

// testWeb is a small web/ folder: the real page template, a fake engine
// (its bytes do not matter to the server) and a file that must stay hidden.
func testWeb(t *testing.T) fs.FS {
	t.Helper()
	web, err := fs.Sub(webFiles, "web")
	if err != nil {
		t.Fatal(err)
	}
	m := fstest.MapFS{}
	err = fs.WalkDir(web, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasPrefix(name, "dist/") || strings.HasPrefix(name, "testdata/") {
			return err
		}
		b, err := fs.ReadFile(web, name)
		m[name] = &fstest.MapFile{Data: b}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	m["dist/lab.wasm"] = &fstest.MapFile{Data: bytes.Repeat([]byte("\x00asm wasm bytes "), 4096)}
	m["dist/wasm_exec.js"] = &fstest.MapFile{Data: []byte("// glue\n")}
	m["testdata/artifacts/shot.png"] = &fstest.MapFile{Data: []byte("png")}
	return m
}

func testSite(t *testing.T) *site {
	t.Helper()
	lessons := []lessonView{{
		Slug: "first", Title: "First <steps>", HTML: "<h1>Hello, SMTP</h1>",
		Data: lessonData{Slug: "first", Title: "First <steps>", Scenario: "first-session", Hints: []string{"</script><b>"}},
	}}
	s, err := newSite(testWeb(t), lessons, siteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func get(t *testing.T, h http.Handler, target string, header ...string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func body(t *testing.T, res *http.Response) []byte {
	t.Helper()
	var r io.Reader = res.Body
	switch res.Header.Get("Content-Encoding") {
	case "br":
		r = brotli.NewReader(res.Body)
	case "gzip":
		zr, err := gzip.NewReader(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		r = zr
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSitePage(t *testing.T) {
	s := testSite(t)
	for _, path := range []string{"/", "/index.html"} {
		res := get(t, s, path)
		if res.StatusCode != 200 {
			t.Fatalf("%s: status %d", path, res.StatusCode)
		}
		page := string(body(t, res))
		for _, want := range []string{
			"<h1>Hello, SMTP</h1>",             // lesson HTML as markup, before any script runs
			"First &lt;steps&gt;",              // a title as text
			`\u003c/script\u003e\u003cb\u003e`, // lesson data cannot close its script element
			`/dist/lab.wasm?v=`,                // the engine, versioned
			`<script type="module" src="/js/main.js?v=`,
		} {
			if !strings.Contains(page, want) {
				t.Errorf("%s: page lacks %q", path, want)
			}
		}
		if strings.Contains(page, "{{") {
			t.Errorf("%s: template not executed", path)
		}
		if got := res.Header.Get("Content-Type"); got != "text/html; charset=utf-8" {
			t.Errorf("%s: Content-Type %q", path, got)
		}
		if got := res.Header.Get("Cache-Control"); got != "no-cache" {
			t.Errorf("%s: Cache-Control %q", path, got)
		}
	}
}

func TestSiteHeaders(t *testing.T) {
	s := testSite(t)
	res := get(t, s, "/dist/lab.wasm")
	if got := res.Header.Get("Content-Type"); got != "application/wasm" {
		t.Errorf("wasm Content-Type %q", got)
	}
	csp := res.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "'wasm-unsafe-eval'", "object-src 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "'unsafe-inline'") || strings.Contains(csp, "'unsafe-eval'") {
		t.Errorf("CSP %q allows inline or eval", csp)
	}
	if got := res.Header.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("X-Content-Type-Options %q", got)
	}

	versioned := s.assets["dist/lab.wasm"].version
	res = get(t, s, "/dist/lab.wasm?v="+versioned)
	if got := res.Header.Get("Cache-Control"); !strings.Contains(got, "immutable") {
		t.Errorf("versioned wasm Cache-Control %q", got)
	}
	res = get(t, s, "/dist/lab.wasm?v=stale")
	if got := res.Header.Get("Cache-Control"); got != "no-cache" {
		t.Errorf("stale version Cache-Control %q", got)
	}
}

func TestSiteEncodings(t *testing.T) {
	s := testSite(t)
	raw := s.assets["dist/lab.wasm"].raw
	tests := []struct {
		accept, want string
	}{
		{"", ""},
		{"gzip", "gzip"},
		{"gzip, deflate, br", "br"},
		{"br;q=0, gzip", "gzip"},
		{"br;q=0, gzip;q=0", ""},
		{"identity", ""},
		{"BR", "br"},
	}
	for _, tt := range tests {
		res := get(t, s, "/dist/lab.wasm", "Accept-Encoding", tt.accept)
		if got := res.Header.Get("Content-Encoding"); got != tt.want {
			t.Errorf("Accept-Encoding %q: got encoding %q, want %q", tt.accept, got, tt.want)
		}
		if got := res.Header.Get("Vary"); got != "Accept-Encoding" {
			t.Errorf("Accept-Encoding %q: Vary %q", tt.accept, got)
		}
		b := body(t, res)
		if !bytes.Equal(b, raw) {
			t.Errorf("Accept-Encoding %q: body differs from the file after decoding", tt.accept)
		}
		if tt.want != "" && res.ContentLength >= int64(len(raw)) {
			t.Errorf("Accept-Encoding %q: compressed length %d not below %d", tt.accept, res.ContentLength, len(raw))
		}
	}
	// Tiny files are not worth compressing.
	res := get(t, s, "/dist/wasm_exec.js", "Accept-Encoding", "br")
	if got := res.Header.Get("Content-Encoding"); got != "" {
		t.Errorf("tiny file encoded as %q", got)
	}
}

func TestSiteConditional(t *testing.T) {
	s := testSite(t)
	res := get(t, s, "/css/lab.css", "Accept-Encoding", "br")
	etag := res.Header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	res = get(t, s, "/css/lab.css", "Accept-Encoding", "br", "If-None-Match", etag)
	if res.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match %s: status %d, want 304", etag, res.StatusCode)
	}
	// The same ETag names the brotli form only: plain clients get the body.
	res = get(t, s, "/css/lab.css", "If-None-Match", etag)
	if res.StatusCode != http.StatusOK {
		t.Errorf("If-None-Match of another encoding: status %d, want 200", res.StatusCode)
	}
}

func TestSiteRefuses(t *testing.T) {
	s := testSite(t)
	for _, path := range []string{"/testdata/artifacts/shot.png", "/nope.js", "/../serve.go", "/dist/"} {
		if res := get(t, s, path); res.StatusCode != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404", path, res.StatusCode)
		}
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", strings.NewReader("x")))
	if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") == "" {
		t.Errorf("POST: status %d, Allow %q", rec.Code, rec.Header().Get("Allow"))
	}
	rec = httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodHead, "/", nil))
	if rec.Code != 200 || rec.Body.Len() != 0 || rec.Header().Get("Content-Length") == "" {
		t.Errorf("HEAD: status %d, body %d bytes, Content-Length %q", rec.Code, rec.Body.Len(), rec.Header().Get("Content-Length"))
	}
}

// TestSiteEmbedded builds the site from the files really embedded, so a
// page that names a missing asset fails here rather than in a browser.
func TestSiteEmbedded(t *testing.T) {
	web, err := fs.Sub(webFiles, "web")
	if err != nil {
		t.Fatal(err)
	}
	s, err := newSite(web, nil, siteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"js/main.js", "css/lab.css", "i18n/reasons.en.json"} {
		if s.assets[name] == nil {
			t.Errorf("%s is not embedded", name)
		}
	}
}

func TestImproveCompression(t *testing.T) {
	s := testSite(t)
	a := s.assets["dist/lab.wasm"]
	before := len(*a.br.Load())
	dir := t.TempDir()
	s.improveCompression(t.Context(), dir)
	after := len(*a.br.Load())
	if after > before {
		t.Errorf("best brotli %d bytes > fast %d", after, before)
	}
	// A second site reads the cached result instead of compressing again.
	s2 := testSite(t)
	s2.improveCompression(t.Context(), dir)
	if got := len(*s2.assets["dist/lab.wasm"].br.Load()); got != after {
		t.Errorf("cached form %d bytes, want %d", got, after)
	}
}

// TestPruneCache: the compression cache keeps its most recently used files
// within its size and drops the rest, so it does not grow by 2 MB with
// every build; files it did not write stay, and so do temporary files but
// those a crashed run left behind.
func TestPruneCache(t *testing.T) {
	dir := t.TempDir()
	start := time.Now().Add(-time.Hour)
	var names []string
	for i := range 5 {
		sum := sha256.Sum256([]byte{byte(i)})
		name := hex.EncodeToString(sum[:]) + ".br11"
		names = append(names, name)
		if err := os.WriteFile(filepath.Join(dir, name), []byte("0123456789"), 0o644); err != nil {
			t.Fatal(err)
		}
		// File i was last used i minutes after start: the last ones are the newest.
		used := start.Add(time.Duration(i) * time.Minute)
		if err := os.Chtimes(filepath.Join(dir, name), used, used); err != nil {
			t.Fatal(err)
		}
	}
	for _, other := range []string{"notes.txt", ".tmp-123", ".tmp-456"} {
		if err := os.WriteFile(filepath.Join(dir, other), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A temporary file of a run that crashed while writing, a day ago: it
	// goes. .tmp-123 may be another run's, writing now: it stays.
	crashed := time.Now().Add(-24 * time.Hour)
	if err := os.Chtimes(filepath.Join(dir, ".tmp-456"), crashed, crashed); err != nil {
		t.Fatal(err)
	}
	pruneCache(dir, 25) // room for two files of 10 bytes
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, e := range entries {
		left = append(left, e.Name())
	}
	want := []string{".tmp-123", names[3], names[4], "notes.txt"}
	slices.Sort(want)
	if !slices.Equal(left, want) {
		t.Errorf("left %q, want %q", left, want)
	}
}

func TestAcceptedEncodings(t *testing.T) {
	tests := []struct {
		header string
		want   map[string]bool
	}{
		{"", map[string]bool{}},
		{"gzip, br", map[string]bool{"gzip": true, "br": true}},
		{"br;q=0.5 , gzip ; q=0", map[string]bool{"br": true, "gzip": false}},
		{"*;q=0.1", map[string]bool{"*": true}},
		{"br;q=oops", map[string]bool{"br": true}},
	}
	for _, tt := range tests {
		got := acceptedEncodings(tt.header)
		if len(got) != len(tt.want) {
			t.Errorf("%q: got %v, want %v", tt.header, got, tt.want)
			continue
		}
		for k, v := range tt.want {
			if got[k] != v {
				t.Errorf("%q: %s = %v, want %v", tt.header, k, got[k], v)
			}
		}
	}
}

func FuzzAcceptedEncodings(f *testing.F) {
	f.Add("gzip, deflate, br;q=0.9")
	f.Add("br;q=0,;;=,gzip;Q=1.0")
	f.Fuzz(func(t *testing.T, header string) {
		got := acceptedEncodings(header)
		for coding := range got {
			if coding == "" || coding != strings.ToLower(strings.TrimSpace(coding)) {
				t.Errorf("coding %q is not trimmed lower case", coding)
			}
		}
		// Codings are case-insensitive: shouting the header changes nothing.
		upper := acceptedEncodings(strings.ToUpper(header))
		for coding, ok := range got {
			if upper[coding] != ok && strings.ToLower(strings.ToUpper(coding)) == coding {
				t.Errorf("%q: %s is %v, but %v in upper case", header, coding, ok, upper[coding])
			}
		}
	})
}

// BenchmarkSiteServeEngine measures serving the engine from memory, as a
// browser asks for it.
func BenchmarkSiteServeEngine(b *testing.B) {
	web, err := fs.Sub(webFiles, "web")
	if err != nil {
		b.Fatal(err)
	}
	s, err := newSite(web, nil, siteOptions{})
	if err != nil {
		b.Fatal(err)
	}
	if !s.hasEngine() {
		b.Fatal("web/dist/lab.wasm is not embedded: run `make wasm`")
	}
	req := httptest.NewRequest(http.MethodGet, "/dist/lab.wasm", nil)
	req.Header.Set("Accept-Encoding", "gzip, deflate, br")
	for b.Loop() {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatal(rec.Code)
		}
	}
}

func TestWithoutCommentLines(t *testing.T) {
	lines := []struct {
		text string
		kept bool
	}{
		{"// a module\n", false},
		{"import { h } from './dom.js';\n", true},
		{"  // indented comment\n", false},
		{"const url = 'http://x'; // trailing comments stay\n", true},
		{"const t = `first line\n", true},
		{"// text inside a template literal\n", true},
		{"last line`;\n", true},
		{"/* a block\n", true},
		{"// inside it\n", true},
		{"*/\n", true},
		{"const s = \"a ` in a string\";\n", true},
		{"\t// tabbed comment\n", false},
		{"done();", true},
	}
	var src, want strings.Builder
	for _, l := range lines {
		src.WriteString(l.text)
		if l.kept {
			want.WriteString(l.text)
		}
	}
	if got := string(withoutCommentLines([]byte(src.String()))); got != want.String() {
		t.Errorf("got\n%s\nwant\n%s", got, want.String())
	}
}

// TestSiteLessonHelp: the page carries the hints and solution of its first
// lesson only; every lesson's are served at the URL its data names.
func TestSiteLessonHelp(t *testing.T) {
	lessons := []lessonView{
		{Slug: "one", Title: "One", HTML: "<p>1</p>", Data: lessonData{Slug: "one", Hints: []string{"first hint"}}},
		{Slug: "two", Title: "Two", HTML: "<p>2</p>", Data: lessonData{Slug: "two", Hints: []string{"second hint"}}},
	}
	s, err := newSite(testWeb(t), lessons, siteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	page := string(body(t, get(t, s, "/")))
	if !strings.Contains(page, "first hint") || strings.Contains(page, "second hint") {
		t.Errorf("the page should carry the first lesson's hints and not the second's")
	}
	i := strings.Index(page, `"help":"`)
	if i < 0 {
		t.Fatal("the second lesson's data has no help URL")
	}
	url := page[i+len(`"help":"`):]
	url = url[:strings.IndexByte(url, '"')]
	url = strings.ReplaceAll(url, `\u0026`, "&")
	res := get(t, s, url)
	if got := string(body(t, res)); res.StatusCode != 200 || !strings.Contains(got, `"hints":["second hint"]`) {
		t.Errorf("GET %s: %d %s", url, res.StatusCode, got)
	}
}

// TestSiteInlineScript checks that the page's inline script (the one that
// starts the engine's download) is allowed by the CSP through its hash,
// and that nothing else inline is.
func TestSiteInlineScript(t *testing.T) {
	s := testSite(t)
	res := get(t, s, "/")
	page := string(body(t, res))
	csp := res.Header.Get("Content-Security-Policy")
	inline := regexp.MustCompile(`(?s)<script>(.*?)</script>`).FindAllStringSubmatch(page, -1)
	if len(inline) != 1 || !strings.Contains(inline[0][1], "compileStreaming") {
		t.Fatalf("want one inline script, the engine's start; got %d", len(inline))
	}
	sum := sha256.Sum256([]byte(inline[0][1]))
	source := "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
	scriptSrc, _, _ := strings.Cut(csp[strings.Index(csp, "script-src"):], ";")
	if want := "script-src 'self' 'wasm-unsafe-eval' " + source; scriptSrc != want {
		t.Errorf("CSP script-src is %q, want %q", scriptSrc, want)
	}
	// The compile worker is made from a data: URL by that script, and
	// nothing else may start a worker. Its origin is opaque, so the engine
	// must allow it to read it.
	if !strings.Contains(csp, "; worker-src data:;") {
		t.Errorf("CSP %q does not allow the data: compile worker alone", csp)
	}
	engine := get(t, s, "/dist/lab.wasm")
	if got := engine.Header.Get("Access-Control-Allow-Origin"); got != "*" {
		t.Errorf("the engine's Access-Control-Allow-Origin is %q, want *", got)
	}
	if got := get(t, s, "/").Header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("the page allows other origins to read it: %q", got)
	}
}

// TestLessonHeadingsKeepThePageIDs: a lesson's headings get ids, and its
// HTML goes into the page beside the page's own elements, which the
// scripts find by id. A course author's "## Lab" or "## Lesson data" must
// not take the id of the lab's section or of the lessons' JSON (the page
// would put the lab inside the heading, or fail to start), nor two
// lessons' "## What to take away" share one. So every id in the page and
// its lessons is given once, and none of the lessons' is one the scripts
// look for.
func TestLessonHeadingsKeepThePageIDs(t *testing.T) {
	web := testWeb(t)
	idRE := regexp.MustCompile(`\bid="([^"]+)"`)
	scriptRE := regexp.MustCompile(`(?:\$|getElementById)\('([^']+)'\)|\bid: '([^']+)'`)
	scriptIDs := map[string]bool{}
	err := fs.WalkDir(web, "js", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(web, name)
		for _, m := range scriptRE.FindAllStringSubmatch(string(b), -1) {
			scriptIDs[m[1]+m[2]] = true
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	page, err := fs.ReadFile(web, "index.html")
	if err != nil {
		t.Fatal(err)
	}
	taken := maps.Clone(scriptIDs)
	for _, m := range idRE.FindAllStringSubmatch(string(page), -1) {
		taken[m[1]] = true
	}
	if !taken["lab"] || !taken["lesson-data"] || !taken["terminal-input"] {
		t.Fatalf("the page's ids were not found: %v", taken)
	}
	// A heading for every id the page and its scripts use, in two lessons.
	var md strings.Builder
	md.WriteString("---\ntitle: Headings\n---\n\n## What to take away\n\n")
	for id := range taken {
		md.WriteString("## " + strings.ReplaceAll(id, "-", " ") + "\n\ntext\n\n")
	}
	var views []lessonView
	for _, slug := range []string{"first", "second"} {
		l, err := lessons.Parse(slug, []byte(md.String()))
		if err != nil {
			t.Fatal(err)
		}
		views = append(views, lessonView{Slug: slug, Title: l.Title, HTML: template.HTML(l.HTML),
			Data: lessonData{Slug: slug, Title: l.Title, Scenario: "first-session"}})
	}
	s, err := newSite(web, views, siteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	// The first lesson is in the page; the second comes from its file.
	for _, name := range []string{"", "lessons/second.html"} {
		for _, m := range idRE.FindAllStringSubmatch(string(s.assets[name].raw), -1) {
			id := m[1]
			if where, ok := seen[id]; ok {
				t.Errorf("id %q is in %q and in %q", id, where, name)
			}
			seen[id] = name
			if name != "" && scriptIDs[id] {
				t.Errorf("a heading of %q takes the id %q the scripts look for", name, id)
			}
		}
	}
}

// TestImproveCompressionChecksTheCache: a cached file is served as the
// asset only if it decompresses to the asset. A file cut short by a full
// disk, damaged, or written by something else in the cache folder, had
// been served as the engine, for good, to every page: now it is compressed
// again and the file replaced.
func TestImproveCompressionChecksTheCache(t *testing.T) {
	raw := testSite(t).assets["dist/lab.wasm"].raw
	sum := sha256.Sum256(raw)
	dir := t.TempDir()
	cached := filepath.Join(dir, hex.EncodeToString(sum[:])+".br"+strconv.Itoa(bestBrotli))
	for name, b := range map[string][]byte{
		"another file's brotli": compressBest([]byte("not the engine")),
		"not brotli":            []byte("garbage"),
		"cut short":             compressBest(raw)[:40],
	} {
		t.Run(name, func(t *testing.T) {
			s := testSite(t)
			if err := os.WriteFile(cached, b, 0o644); err != nil {
				t.Fatal(err)
			}
			s.improveCompression(t.Context(), dir)
			got := body(t, get(t, s, "/dist/lab.wasm", "Accept-Encoding", "br"))
			if !bytes.Equal(got, raw) {
				t.Fatalf("the engine served is %d bytes %q..., not the engine", len(got), got[:min(len(got), 16)])
			}
			if kept, err := os.ReadFile(cached); err != nil || bytes.Equal(kept, b) {
				t.Fatalf("the bad cache file is still there (%v)", err)
			}
		})
	}
}

func compressBest(b []byte) []byte {
	var buf bytes.Buffer
	w := brotli.NewWriterLevel(&buf, bestBrotli)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}
