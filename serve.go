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
	"io"
	"io/fs"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"smtplab/bridge"
	"strconv"
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
	os.Exit(realMain(os.Args[1:], os.Stdout, os.Stderr))
}

// realMain is the program: it reads args and returns the exit status, 0
// when all went well (Ctrl-C included), 2 for a mistake in the command
// line, which it explains on stderr, and 1 for any other failure.
func realMain(args []string, stdout, stderr io.Writer) int {
	// `go run . send ...` delivers one message to a real SMTP server with
	// the engine's client and prints the transcript.
	if len(args) > 0 && args[0] == "send" {
		err := bridge.SendCommand(args[1:], stdout)
		var usageErr *bridge.UsageError
		switch {
		case err == nil || errors.Is(err, flag.ErrHelp):
			return 0
		case errors.As(err, &usageErr):
			fmt.Fprintln(stderr, err)
			return 2
		default:
			fmt.Fprintln(stderr, err)
			return 1
		}
	}
	flags := flag.NewFlagSet("smtplab", flag.ContinueOnError)
	flags.SetOutput(stderr)
	addr := flags.String("addr", "127.0.0.1:8080", "address to serve the lab on (loopback unless -allow-remote)")
	var smtpOpt bridge.Options
	smtpOpt.RegisterFlags(flags)
	smtpOpt.Logf = log.Printf
	flags.Usage = func() { usage(flags) }
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2 // flags has said what and printed the usage
	}
	if flags.NArg() > 0 {
		fmt.Fprintf(stderr, "smtplab: unexpected argument %q: every setting is a flag, and the only subcommand is send\n\n", flags.Arg(0))
		flags.Usage()
		return 2
	}
	// Everything listens on loopback unless -allow-remote says otherwise:
	// the page as much as the SMTP ports.
	for _, l := range []struct{ name, addr string }{
		{"-addr", *addr}, {"-smtp", smtpOpt.SMTP}, {"-submission", smtpOpt.Submission}, {"-smtps", smtpOpt.SMTPS},
	} {
		if l.addr == "" && l.name != "-addr" {
			continue
		}
		if err := bridge.CheckLoopback(l.name, l.addr, smtpOpt.AllowRemote); err != nil {
			fmt.Fprintf(stderr, "smtplab: %v\n", err)
			return 2
		}
	}
	if err := run(*addr, smtpOpt); err != nil {
		log.Print(err)
		return 1
	}
	return 0
}

// listenError explains a page address that cannot be listened on. The
// usual one is a port another program (often another SMTP Lab) holds:
// the answer is another port, and the message says how to ask for one.
func listenError(addr string, err error) error {
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("%s is already in use, by another program or another SMTP Lab: stop it, or serve the lab on another port with -addr 127.0.0.1:8081 (make serve ADDR=127.0.0.1:8081): %w", addr, err)
	}
	return err
}

// usage explains the two ways to run the program, then the flags.
func usage(flags *flag.FlagSet) {
	out := flags.Output()
	fmt.Fprint(out, `usage:
  smtplab [flags]             serve the lab on -addr; with -smtp, -submission or -smtps
                              also real SMTP ports whose sessions the page shows live
  smtplab send [flags]        deliver one message to an SMTP server and print the session
                              (smtplab send -h lists its flags)

flags:
`)
	flags.PrintDefaults()
}

// pageURL is a URL a browser on this computer can open for the page on
// a, and whether a is every interface's address (0.0.0.0 or ::), which a
// browser cannot open: then the URL names 127.0.0.1, which such a
// listener also answers on.
func pageURL(a net.Addr) (url string, everywhere bool) {
	tcp, ok := a.(*net.TCPAddr)
	if !ok {
		return "http://" + a.String(), false
	}
	host := tcp.IP.String()
	if tcp.IP.IsUnspecified() {
		host, everywhere = "127.0.0.1", true
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(tcp.Port)), everywhere
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
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "the lab's CA is read with GET", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", "application/x-pem-file")
		w.Header().Set("Cache-Control", "no-store") // a new CA each time the bridge starts
		w.Write(pem)
	})
}

// addBridge has the site answer the bridge's live feed and its CA: with
// the headers of every response of the site.
func addBridge(s *site, br *bridge.Bridge) {
	s.handle(livePath, br.LiveHandler())
	s.handle(caPath, caHandler(br.CACertificate()))
}

// newHTTPServer returns the server of the page: no request may take long
// to arrive or hold a connection idle for long, and none may send more
// header than a browser does (a megabyte each, by net/http's default).
func newHTTPServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		// Browsers send a few kilobytes, cookies of every other server on
		// localhost included (cookies do not tell ports apart).
		MaxHeaderBytes: 64 << 10,
	}
}

// run serves the lab on addr until Ctrl-C or SIGTERM, then lets requests in
// flight finish. With -smtp, -submission or -smtps it also runs the
// engine's server on real TCP ports, and the page follows those sessions
// live at /api/live.
func run(addr string, smtpOpt bridge.Options) error {
	// The page is for the learner at this computer, and with the SMTP
	// ports its live feed shows every session they take, messages
	// included: it is no more public than -allow-remote makes it.
	if err := bridge.CheckLoopback("-addr", addr, smtpOpt.AllowRemote); err != nil {
		return err
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

	if smtpOpt.Enabled() {
		br, err := bridge.Start(ctx, smtpOpt)
		if err != nil {
			return err
		}
		defer br.Close()
		for _, s := range br.Servers() {
			log.Printf("SMTP on %s: %s, the scenario's port %d", s.Addr, s.Host, s.Port)
		}
		addBridge(site, br)
	}
	srv := newHTTPServer(site)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return listenError(addr, err)
	}
	url, everywhere := pageURL(ln.Addr())
	if everywhere {
		log.Printf("SMTP Lab on %s, listening on all interfaces (-allow-remote)", url)
	} else {
		log.Printf("SMTP Lab on %s", url)
	}
	if smtpOpt.Enabled() {
		log.Printf("the lab's CA, for SMTP clients that verify certificates: %s%s", url, caPath)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(limitConns(ln, maxHTTPConns)) }()

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
