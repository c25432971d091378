// Command smtplab serves SMTP Lab: the web page, the lessons and the
// WebAssembly engine, all embedded in the binary, on 127.0.0.1:8080 by
// default.
//
// Build the engine first (`make wasm` writes web/dist/lab.wasm and
// wasm_exec.js), then `go run .` or `make serve`.
package main

import (
	"context"
	"embed"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"smtplab/bridge"
	"syscall"
	"time"
)

// webFiles holds the page: HTML template, CSS, ES modules, the explanation
// tables and, once `make wasm` has run, web/dist. Test screenshots go to
// testdata/artifacts at the top, outside what is embedded.
//
//go:embed web
var webFiles embed.FS

func main() {
	// `go run . send ...` delivers one message to a real SMTP server with
	// the engine's client and prints the transcript.
	if len(os.Args) > 1 && os.Args[1] == "send" {
		err := bridge.SendCommand(os.Args[2:], os.Stdout)
		if err != nil && !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	addr := flag.String("addr", "127.0.0.1:8080", "address to serve the lab on")
	var smtpOpt bridge.Options
	smtpOpt.RegisterFlags(flag.CommandLine)
	smtpOpt.Logf = log.Printf
	flag.Usage = usage
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "smtplab: unexpected argument %q: every setting is a flag, and the only subcommand is send\n\n", flag.Arg(0))
		usage()
		os.Exit(2)
	}
	if err := run(*addr, smtpOpt); err != nil {
		log.Fatal(err)
	}
}

// usage explains the two ways to run the program, then the flags.
func usage() {
	out := flag.CommandLine.Output()
	fmt.Fprint(out, `usage:
  smtplab [flags]             serve the lab on -addr; with -smtp, -submission or -smtps
                              also real SMTP ports whose sessions the page shows live
  smtplab send [flags]        deliver one message to an SMTP server and print the session
                              (smtplab send -h lists its flags)

flags:
`)
	flag.PrintDefaults()
}

// livePath is where the page reads the bridge's live feed, and caPath
// where a client that verifies certificates finds the lab's CA.
const (
	livePath = "/api/live"
	caPath   = "/api/lab-ca.pem"
)

// caHandler serves the lab CA's certificate, made when the bridge started.
func caHandler(pem []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-pem-file")
		w.Header().Set("Cache-Control", "no-store") // a new CA each time the bridge starts
		w.Write(pem)
	})
}

// run serves the lab on addr until Ctrl-C or SIGTERM, then lets requests in
// flight finish. With -smtp, -submission or -smtps it also runs the
// engine's server on real TCP ports, and the page follows those sessions
// live at /api/live.
func run(addr string, smtpOpt bridge.Options) error {
	if smtpOpt.Enabled() {
		// The page's live feed shows every session the SMTP ports take,
		// messages included: it is no more public than they are.
		if err := bridge.CheckLoopback("-addr", addr, smtpOpt.AllowRemote); err != nil {
			return err
		}
	}
	web, err := fs.Sub(webFiles, "web")
	if err != nil {
		return err
	}
	lessons, err := loadLessons()
	if err != nil {
		return fmt.Errorf("lessons: %w", err)
	}
	opt := siteOptions{BrotliQuality: fastBrotli}
	if smtpOpt.Enabled() {
		opt.Live = livePath
	}
	site, err := newSite(web, lessons, opt)
	if err != nil {
		return err
	}
	if !site.hasEngine() {
		log.Printf("warning: web/dist/lab.wasm is missing; run `make wasm` (the page will show lessons but no engine)")
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The best brotli takes tens of seconds for the engine: serve the fast
	// one now and swap in the small one when it is ready (cached on disk
	// for the next start).
	go site.improveCompression(ctx, compressionCacheDir())

	var handler http.Handler = site
	if smtpOpt.Enabled() {
		br, err := bridge.Start(ctx, smtpOpt)
		if err != nil {
			return err
		}
		defer br.Close()
		for _, s := range br.Servers() {
			log.Printf("SMTP on %s: %s, the scenario's port %d", s.Addr, s.Host, s.Port)
		}
		mux := http.NewServeMux()
		mux.Handle(livePath, br.LiveHandler())
		mux.Handle(caPath, caHandler(br.CACertificate()))
		mux.Handle("/", site)
		handler = mux
	}
	srv := &http.Server{
		Addr:              addr,
		Handler:           handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	log.Printf("SMTP Lab on http://%s", ln.Addr())
	if smtpOpt.Enabled() {
		log.Printf("the lab's CA, for SMTP clients that verify certificates: http://%s%s", ln.Addr(), caPath)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()

	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	log.Printf("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		// Requests still running after the grace period (a page that
		// stopped reading, say) are cut: Ctrl-C must end the program.
		log.Printf("shutdown: %v; closing the remaining connections", err)
		srv.Close()
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
