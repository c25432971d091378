package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log"
	"mime"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/andybalholm/brotli"
)

// Brotli qualities. 11 makes the engine about 12 % smaller than 6 but takes
// tens of seconds for a few megabytes, so a server starts with the fast one
// and improves in the background (see improveCompression).
const (
	fastBrotli = 6
	bestBrotli = 11
)

// contentSecurityPolicy allows only this origin's files. WebAssembly needs
// 'wasm-unsafe-eval' to compile; nothing else is evaluated, no inline
// style is allowed, the only inline scripts are the page's own, named by
// their hashes (scriptSources), the only workers are made from data: URLs
// (which only those scripts can make: see boot/start-engine.js), and the
// page connects to nobody.
func contentSecurityPolicy(scriptSources string) string {
	return "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'" + scriptSources + "; worker-src data:; " +
		"style-src 'self'; img-src 'self'; connect-src 'self'; object-src 'none'; " +
		"base-uri 'none'; form-action 'none'"
}

// siteOptions tune how the site is built.
type siteOptions struct {
	BrotliQuality int // 0 means fastBrotli
	// Live is the URL of the TCP bridge's live feed, named in the page so
	// that it shows real sessions; "" when no bridge runs (the page then
	// never asks for it).
	Live string
}

// site is the whole web page as an http.Handler: every file is read,
// hashed and compressed once, when the site is built, so serving a request
// is a map lookup and a write.
type site struct {
	assets map[string]*asset // by URL path without the leading slash; "" is the page

	// csp is the Content-Security-Policy of every response: it names the
	// hashes of the scripts inlined in the page (see renderPage).
	csp string

	// handlers answer the paths that are not files (the bridge's live
	// feed and CA), by exact path; see handle.
	handlers map[string]http.Handler
}

// handle has h answer requests for path instead of a file: the site still
// sets the headers of every response first. Call it before serving.
func (s *site) handle(path string, h http.Handler) {
	if s.handlers == nil {
		s.handlers = map[string]http.Handler{}
	}
	s.handlers[path] = h
}

// asset is one file ready to serve, with its precompressed forms.
type asset struct {
	name    string
	ctype   string
	raw     []byte
	version string // a prefix of the content's SHA-256, used in ?v= and ETags

	br     atomic.Pointer[[]byte] // nil when compressing does not pay
	gzOnce sync.Once
	gz     []byte
}

// newSite builds the site from the files of web/ (fs rooted at web/) and the
// lessons to render into the page.
func newSite(web fs.FS, lessons []lessonView, opt siteOptions) (*site, error) {
	if opt.BrotliQuality == 0 {
		opt.BrotliQuality = fastBrotli
	}
	s := &site{assets: map[string]*asset{}}
	err := fs.WalkDir(web, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name == "testdata" {
				return fs.SkipDir
			}
			return nil
		}
		if name == "index.html" { // a template: served as the page, never raw
			return nil
		}
		b, err := fs.ReadFile(web, name)
		if err != nil {
			return err
		}
		if path.Ext(name) == ".js" {
			b = withoutCommentLines(b)
		}
		s.assets[name] = newAsset(name, b)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading web files: %w", err)
	}
	// The first lesson is in the page itself, so its text shows before
	// anything else has loaded; the others are fetched when opened, their
	// text and their hints and solution (see renderPage).
	for _, l := range lessons {
		s.assets["lessons/"+l.Slug+".html"] = newAsset(l.Slug+".html", []byte(l.HTML))
		help, err := json.Marshal(lessonHelp{Hints: l.Data.Hints, Solution: l.Data.Solution})
		if err != nil {
			return nil, fmt.Errorf("lesson %s: %w", l.Slug, err)
		}
		s.assets["lessons/"+l.Slug+".json"] = newAsset(l.Slug+".json", help)
	}
	page, err := s.renderPage(web, lessons, opt.Live)
	if err != nil {
		return nil, err
	}
	s.assets[""] = newAsset("index.html", page)

	// Compress in parallel: the engine dominates, the rest is small, and
	// small files take no time at the best quality.
	var wg sync.WaitGroup
	for _, a := range s.assets {
		quality := opt.BrotliQuality
		if len(a.raw) < smallAsset {
			quality = bestBrotli
		}
		wg.Go(func() { a.compressBrotli(quality) })
	}
	wg.Wait()
	return s, nil
}

// smallAsset is the size below which an asset is compressed at the best
// brotli quality at once; larger ones get it in improveCompression.
const smallAsset = 16 << 10

// withoutCommentLines drops the lines of a script that hold only a //
// comment: they are a fifth of our scripts' bytes even compressed, and the
// browser has no use for them (the files in web/ keep them). Nothing else
// changes. Inside a template literal that spans lines such a line is text,
// not a comment, so the scan follows quotes, backticks and block comments
// from line to line and keeps those lines.
func withoutCommentLines(src []byte) []byte {
	out := make([]byte, 0, len(src))
	inTemplate, inBlock := false, false
	for rest := src; len(rest) > 0; {
		line := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i+1], rest[i+1:]
		} else {
			rest = nil
		}
		if !inTemplate && !inBlock && bytes.HasPrefix(bytes.TrimLeft(line, " \t"), []byte("//")) {
			continue
		}
		out = append(out, line...)
		inTemplate, inBlock = scanLine(line, inTemplate, inBlock)
	}
	return out
}

// scanLine reports whether a template literal or a block comment is still
// open at the end of line, given whether one was at its start. Strings in
// quotes end with their line; a // comment ends the scan.
func scanLine(line []byte, inTemplate, inBlock bool) (bool, bool) {
	var quote byte // ' or " while in a string
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case inBlock:
			if c == '*' && i+1 < len(line) && line[i+1] == '/' {
				inBlock, i = false, i+1
			}
		case c == '\\':
			i++ // an escaped character, in a string or a template
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case inTemplate:
			if c == '`' {
				inTemplate = false
			}
		case c == '`':
			inTemplate = true
		case c == '\'' || c == '"':
			quote = c
		case c == '/' && i+1 < len(line) && line[i+1] == '/':
			return false, false
		case c == '/' && i+1 < len(line) && line[i+1] == '*':
			inBlock, i = true, i+1
		}
	}
	return inTemplate, inBlock
}

func newAsset(name string, b []byte) *asset {
	sum := sha256.Sum256(b)
	ctype := mime.TypeByExtension(path.Ext(name))
	switch path.Ext(name) { // do not depend on the host's mime tables
	case ".wasm":
		ctype = "application/wasm"
	case ".js":
		ctype = "text/javascript; charset=utf-8"
	case ".json":
		ctype = "application/json"
	case ".css":
		ctype = "text/css; charset=utf-8"
	case ".html":
		ctype = "text/html; charset=utf-8"
	case ".svg":
		ctype = "image/svg+xml"
	}
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	return &asset{name: name, ctype: ctype, raw: b, version: hex.EncodeToString(sum[:6])}
}

// hasEngine reports whether the WebAssembly engine was built into the site.
func (s *site) hasEngine() bool {
	return s.assets["dist/lab.wasm"] != nil && s.assets["dist/wasm_exec.js"] != nil
}

// compressible reports whether compressing the asset can pay off.
func (a *asset) compressible() bool {
	if len(a.raw) < 512 {
		return false
	}
	return strings.HasPrefix(a.ctype, "text/") || strings.Contains(a.ctype, "json") ||
		strings.Contains(a.ctype, "wasm") || strings.Contains(a.ctype, "svg")
}

// compressBrotli sets the brotli form at the given quality.
func (a *asset) compressBrotli(quality int) {
	if !a.compressible() {
		return
	}
	var buf bytes.Buffer
	w := brotli.NewWriterOptions(&buf, brotli.WriterOptions{Quality: quality, LGWin: 22})
	w.Write(a.raw) // writes to a bytes.Buffer do not fail
	w.Close()
	a.setBrotli(buf.Bytes())
}

// setBrotli keeps b as the brotli form if it is smaller than the file and
// than the form kept so far.
func (a *asset) setBrotli(b []byte) {
	if cur := a.br.Load(); len(b) < len(a.raw) && (cur == nil || len(b) < len(*cur)) {
		a.br.Store(&b)
	}
}

// gzipped returns the gzip form, made on first use: only browsers without
// brotli ask for it.
func (a *asset) gzipped() []byte {
	a.gzOnce.Do(func() {
		if !a.compressible() {
			return
		}
		var buf bytes.Buffer
		w, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		w.Write(a.raw)
		w.Close()
		if buf.Len() < len(a.raw) {
			a.gz = buf.Bytes()
		}
	})
	return a.gz
}

// improveCompression recompresses the large assets at the best brotli
// quality, one at a time, reusing results cached in dir (when dir is not
// empty) so only the first start after a rebuild pays.
func (s *site) improveCompression(ctx context.Context, dir string) {
	for _, a := range s.assets {
		if len(a.raw) < smallAsset || !a.compressible() {
			continue
		}
		if ctx.Err() != nil {
			return
		}
		sum := sha256.Sum256(a.raw)
		cached := ""
		if dir != "" {
			cached = filepath.Join(dir, hex.EncodeToString(sum[:])+".br"+strconv.Itoa(bestBrotli))
			if b, err := os.ReadFile(cached); err == nil {
				// A file cut short, damaged or written by something else
				// would be served as the asset to every page: it must
				// decompress to exactly the asset, else it is made again.
				if brotliOf(b, a.raw, sum) {
					a.setBrotli(b)
					// Marked as just used, so that pruneCache keeps it.
					now := time.Now()
					os.Chtimes(cached, now, now)
					continue
				}
				log.Printf("compression cache: %s is not %s compressed; compressing it again", cached, a.name)
			}
		}
		var buf bytes.Buffer
		w := brotli.NewWriterOptions(&buf, brotli.WriterOptions{Quality: bestBrotli, LGWin: 24})
		w.Write(a.raw)
		w.Close()
		a.setBrotli(buf.Bytes())
		if cached != "" {
			if err := writeFileAtomic(cached, buf.Bytes()); err != nil {
				log.Printf("caching compressed %s: %v", a.name, err)
			}
		}
	}
	if dir != "" {
		pruneCache(dir, cacheBytes)
	}
}

// brotliOf reports whether b is the brotli form of raw, whose SHA-256 is
// sum. Decompressing the engine takes some tens of milliseconds, against
// tens of seconds to compress it; no more than raw's length and a byte is
// decompressed, whatever b holds.
func brotliOf(b, raw []byte, sum [sha256.Size]byte) bool {
	h := sha256.New()
	n, err := io.Copy(h, io.LimitReader(brotli.NewReader(bytes.NewReader(b)), int64(len(raw))+1))
	return err == nil && n == int64(len(raw)) && [sha256.Size]byte(h.Sum(nil)) == sum
}

// cacheBytes bounds the compression cache: every `make wasm` makes a new
// engine of about 2 MB compressed (and a start caches a few smaller
// files beside it), so this keeps about fifteen builds, and a developer
// switching between a few checkouts does not pay for compressing again.
const cacheBytes = 32 << 20

// pruneCache deletes the least recently used compressed files in dir
// (improveCompression marks a file it reads as used) until those left
// hold at most keep bytes, so the cache does not grow with every build,
// and the temporary files runs killed while writing left. Files of other
// names are left alone.
func pruneCache(dir string, keep int64) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	type file struct {
		name string
		size int64
		used time.Time
	}
	var files []file
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		if strings.HasPrefix(e.Name(), tmpPrefix) {
			// writeFileAtomic removes its temporary file, unless the run
			// was killed while writing: each such file would stay for
			// good. One of a run writing now is younger than this.
			if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > time.Hour {
				os.Remove(filepath.Join(dir, e.Name()))
			}
			continue
		}
		if !isCacheName(e.Name()) {
			continue
		}
		if info, err := e.Info(); err == nil {
			files = append(files, file{e.Name(), info.Size(), info.ModTime()})
		}
	}
	slices.SortFunc(files, func(a, b file) int { return b.used.Compare(a.used) })
	var held int64
	for _, f := range files {
		held += f.size
		if held > keep {
			os.Remove(filepath.Join(dir, f.name))
		}
	}
}

// isCacheName reports whether name is one improveCompression gives its
// files: the hex SHA-256 of the asset, ".br" and the quality.
func isCacheName(name string) bool {
	sum, quality, ok := strings.Cut(name, ".br")
	if !ok || len(sum) != 2*sha256.Size {
		return false
	}
	if _, err := hex.DecodeString(sum); err != nil {
		return false
	}
	_, err := strconv.Atoi(quality)
	return err == nil
}

// compressionCacheDir is where the best-brotli forms are kept between
// starts, or "" when the system has no cache folder.
func compressionCacheDir() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "smtplab")
}

// tmpPrefix starts the names of writeFileAtomic's temporary files.
const tmpPrefix = ".tmp-"

// writeFileAtomic writes name whole or not at all: a run reading it at the
// same moment sees the old file or the new one.
func writeFileAtomic(name string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(name), tmpPrefix+"*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), name)
}

// renderPage executes web/index.html with the lessons, so their text is in
// the first response and shows before the engine has loaded.
func (s *site) renderPage(web fs.FS, lessons []lessonView, live string) ([]byte, error) {
	src, err := fs.ReadFile(web, "index.html")
	if err != nil {
		return nil, fmt.Errorf("page template: %w", err)
	}
	var inlined strings.Builder // the CSP sources of the inlined scripts
	funcs := template.FuncMap{
		// inlineScript puts a script's text in the page, so it runs as
		// soon as the parser reaches it instead of after a request of its
		// own (boot/start-engine.js starts the engine's download: every
		// millisecond earlier is one less to wait for the engine). The CSP
		// allows exactly that text by its hash.
		"inlineScript": func(name string) (template.JS, error) {
			a := s.assets[name]
			if a == nil {
				return "", fmt.Errorf("no asset %q", name)
			}
			sum := sha256.Sum256(a.raw)
			inlined.WriteString(" 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'")
			return template.JS(a.raw), nil
		},
		// asset names a file with its content version, so browsers may
		// cache it for good; an unknown name is a template error.
		"asset": func(name string) (string, error) {
			a := s.assets[name]
			if a == nil {
				return "", fmt.Errorf("no asset %q", name)
			}
			return "/" + name + "?v=" + a.version, nil
		},
		// modules lists the ES modules under js/ for <link rel=modulepreload>,
		// so the browser fetches the whole graph at once instead of level
		// by level. The URLs carry no version: they must be the ones the
		// modules import each other by.
		"modules": func() []string {
			var urls []string
			for name := range s.assets {
				// main.js is preloaded with its version, as the page loads it;
				// smtp-lab.js is for other pages.
				if strings.HasPrefix(name, "js/") && name != "js/main.js" && name != "js/smtp-lab.js" {
					urls = append(urls, "/"+name)
				}
			}
			sort.Strings(urls)
			return urls
		},
		"optionalAsset": func(name string) string {
			if a := s.assets[name]; a != nil {
				return "/" + name + "?v=" + a.version
			}
			return ""
		},
	}
	t, err := template.New("index.html").Funcs(funcs).Parse(string(src))
	if err != nil {
		return nil, fmt.Errorf("page template: %w", err)
	}
	var buf bytes.Buffer
	data := pageData{Lessons: lessons, LessonData: []lessonData{}, Live: live}
	for i, l := range lessons {
		d := l.Data
		if i > 0 {
			// Only the first lesson's hints and solution come with the
			// page; the others' are read when their lesson is shown.
			d.Hints, d.Solution = nil, nil
			d.Help = "/lessons/" + l.Slug + ".json?v=" + s.assets["lessons/"+l.Slug+".json"].version
		}
		data.LessonData = append(data.LessonData, d)
	}
	if err := t.Execute(&buf, data); err != nil {
		return nil, fmt.Errorf("page template: %w", err)
	}
	s.csp = contentSecurityPolicy(inlined.String())
	return buf.Bytes(), nil
}

// pageData is what index.html is executed with.
type pageData struct {
	Lessons    []lessonView
	LessonData []lessonData // the same lessons without their HTML, as JSON for the scripts
	Live       string       // the live feed's URL, or ""
}

// ServeHTTP serves the page at / and every other file under its name, or
// hands the request to the handler of its path (see handle). Every
// response, whoever writes it, carries the same security headers.
func (s *site) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", s.csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	if handler := s.handlers[r.URL.Path]; handler != nil {
		handler.ServeHTTP(w, r)
		return
	}

	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
	if name == "index.html" {
		name = ""
	}
	a := s.assets[name]
	if a == nil {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}

	body, encoding := a.raw, ""
	if a.compressible() {
		h.Set("Vary", "Accept-Encoding")
		accepts := acceptedEncodings(r.Header.Get("Accept-Encoding"))
		if br := a.br.Load(); br != nil && accepts["br"] {
			body, encoding = *br, "br"
		} else if gz := a.gzipped(); gz != nil && accepts["gzip"] {
			body, encoding = gz, "gzip"
		}
	}
	// The brotli form may be swapped for a smaller one while serving, so
	// its length is part of the tag: a tag names one exact body.
	etag := `"` + a.version + encoding + strconv.Itoa(len(body)) + `"`
	h.Set("Content-Type", a.ctype)
	if !strings.HasPrefix(a.ctype, "text/html") {
		// The lab's files are public, and two kinds of page read them
		// across origins: the page's own compile worker, whose data: URL
		// gives it an opaque origin (see boot/start-engine.js), and a
		// course page on another site that embeds <smtp-lab>, whose module
		// imports and fetches need CORS. The page itself is not shared.
		h.Set("Access-Control-Allow-Origin", "*")
	}
	h.Set("ETag", etag)
	if v := r.URL.Query().Get("v"); v != "" && v == a.version {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache") // revalidate with the ETag
	}
	if encoding != "" {
		h.Set("Content-Encoding", encoding)
	}
	if etagMatches(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	if r.Method == http.MethodHead {
		return
	}
	w.Write(body)
}

// acceptedEncodings parses an Accept-Encoding header into the codings it
// accepts (q > 0).
func acceptedEncodings(header string) map[string]bool {
	accepts := map[string]bool{}
	for part := range strings.SplitSeq(header, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		coding = strings.ToLower(strings.TrimSpace(coding))
		q := 1.0
		for p := range strings.SplitSeq(params, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					q = f
				}
			}
		}
		if coding != "" {
			accepts[coding] = q > 0
		}
	}
	return accepts
}

// etagMatches reports whether an If-None-Match header names etag.
func etagMatches(header, etag string) bool {
	for t := range strings.SplitSeq(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}
