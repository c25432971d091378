//go:build js && wasm

package main

import (
	"errors"
	"fmt"
	"runtime/debug"

	"github.com/hack-pad/safejs"

	"smtplab/internal/minijson"
)

// maxPending bounds the calls waiting for the engine. The page sends one
// line at a time; a flood means a bug or a stuck engine, and the caller
// gets an error instead of memory growing without end.
const maxPending = 256

// method is one API method: it reads its JSON arguments and returns a
// value to encode as the JSON result.
type method func(args []minijson.RawMessage) (any, error)

// bridge owns the API object and the queue of calls. Calls run one at a
// time, in the order the page made them, on the goroutine that runs work:
// never inside a JavaScript callback, so the engine may block on its own
// goroutines (an in-memory TLS handshake) without freezing the page.
type bridge struct {
	api  *api
	jobs chan func()
}

func newBridge() *bridge {
	return &bridge{api: newAPI(), jobs: make(chan func(), maxPending)}
}

// install sets globalThis.smtpLab and announces that the engine is ready.
func (b *bridge) install() error {
	global := safejs.Global()
	obj, err := safejs.ValueOf(map[string]any{"version": version()})
	if err != nil {
		return err
	}
	for name, m := range b.api.methods() {
		f, err := safejs.FuncOf(b.callback(name, m))
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		// The functions live as long as the page: never released.
		if err := obj.Set(name, f.Value()); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	if err := global.Set("smtpLab", obj); err != nil {
		return err
	}
	if err := global.Set("smtpLabReady", true); err != nil {
		return err
	}
	// Pages outside a window (a worker, a test under Node) have no event
	// to dispatch: the flag above is enough for them.
	window, err := global.Get("window")
	if ok, _ := window.Truthy(); err == nil && ok {
		ctor, err := global.Get("Event")
		if err != nil {
			return err
		}
		ev, err := ctor.New("smtplab-ready")
		if err != nil {
			return err
		}
		if _, err := window.Call("dispatchEvent", ev); err != nil {
			return err
		}
	}
	return nil
}

// work runs queued calls forever.
func (b *bridge) work() {
	for job := range b.jobs {
		job()
	}
}

// callback turns a method into a JavaScript function returning a Promise.
func (b *bridge) callback(name string, m method) func(this safejs.Value, args []safejs.Value) any {
	return func(this safejs.Value, args []safejs.Value) (ret any) {
		defer func() {
			if p := recover(); p != nil {
				ret = rejected(fmt.Errorf("%s: internal error: %v", name, p))
			}
		}()
		raw, err := encodeArgs(args)
		if err != nil {
			return rejected(fmt.Errorf("%s: %w", name, err))
		}
		promise, resolve, reject, err := newPromise()
		if err != nil {
			return rejected(err)
		}
		job := func() {
			v, err := safeCall(name, m, raw)
			if err == nil {
				var out safejs.Value
				if out, err = fromJSON(v); err == nil {
					resolve.Invoke(out)
					return
				}
			}
			reject.Invoke(jsError(err))
		}
		select {
		case b.jobs <- job:
		default:
			reject.Invoke(jsError(fmt.Errorf("%s: the engine is busy with %d earlier calls", name, maxPending)))
		}
		return promise
	}
}

// safeCall runs m, turning a panic into an error the page can show. The
// engine is meant never to panic; if it does, the page lives on.
func safeCall(name string, m method, args []minijson.RawMessage) (v any, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%s: internal error in the engine: %v", name, p)
			if console, cerr := safejs.Global().Get("console"); cerr == nil {
				console.Call("error", err.Error()+"\n"+string(debug.Stack()))
			}
		}
	}()
	return m(args)
}

// maxArgLength bounds an argument's JSON, in UTF-16 code units: far more
// than the largest input the lab takes (a message body, a snapshot of
// MaxInputs inputs), far less than what would exhaust the engine's memory.
const maxArgLength = 16 << 20

// encodeArgs turns each argument into JSON with JSON.stringify.
func encodeArgs(args []safejs.Value) ([]minijson.RawMessage, error) {
	jsonObj, err := safejs.Global().Get("JSON")
	if err != nil {
		return nil, err
	}
	out := make([]minijson.RawMessage, len(args))
	for i, a := range args {
		if a.IsUndefined() {
			out[i] = minijson.RawMessage("null")
			continue
		}
		s, err := jsonObj.Call("stringify", a)
		if err != nil {
			return nil, fmt.Errorf("argument %d cannot be written as JSON: %w", i+1, errors.Unwrap(err))
		}
		if s.Type() != safejs.TypeString {
			// JSON.stringify gives undefined for a function or a symbol.
			return nil, fmt.Errorf("argument %d cannot be written as JSON (a function or a symbol?)", i+1)
		}
		// Measured before it is copied into Go: one huge string would take
		// the engine's memory with it, and the page's labs with the engine.
		if n, err := jsLength(s); err != nil || n > maxArgLength {
			return nil, fmt.Errorf("argument %d is %d characters of JSON; the lab takes at most %d", i+1, n, maxArgLength)
		}
		str, err := s.String()
		if err != nil {
			return nil, fmt.Errorf("argument %d cannot be written as JSON", i+1)
		}
		out[i] = minijson.RawMessage(str)
	}
	return out, nil
}

// jsLength returns a JavaScript string's length. A property cannot be read
// from a primitive through safejs (Reflect.get wants an object), so it is
// read from the string wrapped in a String object.
func jsLength(s safejs.Value) (int, error) {
	ctor, err := safejs.Global().Get("String")
	if err != nil {
		return 0, err
	}
	obj, err := ctor.New(s)
	if err != nil {
		return 0, err
	}
	l, err := obj.Get("length")
	if err != nil {
		return 0, err
	}
	return l.Int()
}

// fromJSON encodes v as JSON and parses it into a JavaScript value.
func fromJSON(v any) (safejs.Value, error) {
	b, err := minijson.Marshal(v)
	if err != nil {
		return safejs.Null(), fmt.Errorf("encoding the result: %w", err)
	}
	jsonObj, err := safejs.Global().Get("JSON")
	if err != nil {
		return safejs.Null(), err
	}
	return jsonObj.Call("parse", string(b))
}

// newPromise returns a new Promise and its resolve and reject functions.
func newPromise() (promise, resolve, reject safejs.Value, err error) {
	ctor, err := safejs.Global().Get("Promise")
	if err != nil {
		return
	}
	executor, err := safejs.FuncOf(func(_ safejs.Value, args []safejs.Value) any {
		resolve, reject = args[0], args[1]
		return nil
	})
	if err != nil {
		return
	}
	defer executor.Release() // the constructor calls it before returning
	promise, err = ctor.New(executor.Value())
	return
}

// rejected returns a Promise already rejected with err.
func rejected(err error) any {
	ctor, gerr := safejs.Global().Get("Promise")
	if gerr != nil {
		return nil
	}
	p, cerr := ctor.Call("reject", jsError(err))
	if cerr != nil {
		return nil
	}
	return p
}

// jsError makes a JavaScript Error with err's message. A JavaScript
// exception that came back through safejs keeps its own message.
func jsError(err error) safejs.Value {
	msg := err.Error() // with what the Go side says about it, as "argument 1 cannot be written as JSON: …"
	ctor, gerr := safejs.Global().Get("Error")
	if gerr != nil {
		return safejs.Null()
	}
	e, nerr := ctor.New(msg)
	if nerr != nil {
		return safejs.Null()
	}
	return e
}
