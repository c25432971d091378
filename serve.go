// Command smtplab serves SMTP Lab: the web page, the lessons and the
// WebAssembly engine, on 127.0.0.1:8080 by default.
package main

import (
	"flag"
	"log"
	"net/http"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to serve the lab on")
	flag.Parse()
	log.Printf("SMTP Lab on http://%s", *addr)
	log.Fatal(http.ListenAndServe(*addr, http.FileServer(http.Dir("web"))))
}
