//go:build js && wasm

// Command browser is the WebAssembly entry point of SMTP Lab in a web page.
//
// It sets globalThis.smtpLab to a small API over the engine/lab facade
// (the whole list; web/js/engine.js and web/js/session.js call it):
//
//	smtpLab.scenarios()              → [{name, title, purpose}]
//	smtpLab.create({scenario, seed}) → {world, events, state}
//	smtpLab.type(world, line)        → {events, state}
//	smtpLab.typeRaw(world, text)     → {events, state} (escapes \r \n \t \0 \\, nothing added)
//	smtpLab.submit(world, message)   → {events, state}
//	smtpLab.advance(world, seconds)  → {events, state}
//	smtpLab.undo(world)              → {world, events, state}
//	smtpLab.snapshot(world)          → {scenario, seed, inputs}
//	smtpLab.restore(snapshot)        → {world, events, state}
//	smtpLab.check(world, goals)      → [{id, text, done}]
//	smtpLab.release(world)           → true (forget a world the page no longer shows)
//
// In what type, typeRaw, submit and advance give, state.mailboxes is null
// when the input delivered nothing: the mailboxes are still those of the
// last state that had them, and a keystroke does not carry all the mail.
//
// Every method returns a Promise. Arguments go through JSON.stringify and
// results through JSON.parse, so the page only ever sees plain data; a
// failure rejects the promise with an Error whose message is plain words,
// and a Go panic is recovered and reported the same way instead of killing
// the engine. When the API is in place the bridge sets
// globalThis.smtpLabReady and dispatches "smtplab-ready" on window.
//
// The bridge talks to JavaScript only through github.com/hack-pad/safejs,
// which returns errors where syscall/js would panic.
package main

import (
	"runtime"

	"github.com/hack-pad/safejs"
)

func main() {
	b := newBridge()
	if err := b.install(); err != nil {
		// Nothing in the page can call us: say why where a developer looks.
		if console, cerr := safejs.Global().Get("console"); cerr == nil {
			console.Call("error", "SMTP Lab engine: "+err.Error())
		}
		return
	}
	b.work() // never returns: the page keeps calling
}

// version names this build of the engine for bug reports: the Go that
// built it. (The binary's build information would name the commit too, but
// its parser is 20 KB of every download of the engine.)
func version() string {
	return "smtplab (" + runtime.Version() + ")"
}
