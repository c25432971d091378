//go:build js && wasm

package main

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"

	"smtplab/engine/lab"
	"smtplab/internal/minijson"
	"smtplab/lessons/goal"
)

// maxWorlds bounds how many worlds one page keeps; the page releases the
// worlds it replaces, so reaching it means a leak, reported as an error.
const maxWorlds = 64

// api holds the page's worlds by numeric handle and implements each method
// of smtpLab on top of the engine/lab facade. It only runs on the bridge's
// work goroutine, so it needs no locks.
type api struct {
	worlds map[int]*lab.World
	next   int
}

func newAPI() *api { return &api{worlds: map[int]*lab.World{}} }

// methods lists the JavaScript API.
func (a *api) methods() map[string]method {
	return map[string]method{
		"scenarios": a.scenarios,
		"create":    a.create,
		"type":      a.typeLine,
		"typeRaw":   a.typeRaw,
		"submit":    a.submit,
		"advance":   a.advance,
		"connect":   a.connect,
		"undo":      a.undo,
		"snapshot":  a.snapshot,
		"restore":   a.restore,
		"check":     a.check,
		"release":   a.release,
	}
}

// opened is the answer to create, undo and restore: the handle and the
// whole trace so far.
type opened struct {
	World  int       `json:"world"`
	Events any       `json:"events"`
	State  lab.State `json:"state"`
}

func (a *api) open(w *lab.World) (opened, error) {
	if len(a.worlds) >= maxWorlds {
		return opened{}, fmt.Errorf("too many labs open at once (%d); reload the page", maxWorlds)
	}
	a.next++
	a.worlds[a.next] = w
	return opened{World: a.next, Events: w.Since(0), State: w.State()}, nil
}

// arg decodes argument i into v, saying which argument was wrong.
func arg(args []minijson.RawMessage, i int, what string, v any) error {
	if i >= len(args) || string(args[i]) == "null" {
		return fmt.Errorf("%s is missing", what)
	}
	if err := minijson.Unmarshal(args[i], v); err != nil {
		msg := err.Error()
		if strings.Contains(msg, "into Go ") {
			// The decoder names Go types, which mean nothing to the page.
			msg = "a value of the wrong type (" + strings.TrimPrefix(msg[:strings.Index(msg, " into Go ")], "json: cannot unmarshal ") + ")"
		}
		return fmt.Errorf("%s is not valid: %s", what, msg)
	}
	return nil
}

// world returns the world whose handle is argument 0.
func (a *api) world(args []minijson.RawMessage) (int, *lab.World, error) {
	var id int
	if err := arg(args, 0, "the lab handle", &id); err != nil {
		return 0, nil, err
	}
	w := a.worlds[id]
	if w == nil {
		return 0, nil, fmt.Errorf("there is no lab %d (it was reset or released)", id)
	}
	return id, w, nil
}

func (a *api) scenarios([]minijson.RawMessage) (any, error) { return lab.Scenarios(), nil }

func (a *api) create(args []minijson.RawMessage) (any, error) {
	var opt struct {
		Scenario string `json:"scenario"`
		Seed     int64  `json:"seed"`
	}
	if err := arg(args, 0, "the options", &opt); err != nil {
		return nil, err
	}
	w, err := lab.New(opt.Scenario, opt.Seed)
	if err != nil {
		return nil, err
	}
	return a.open(w)
}

func (a *api) typeLine(args []minijson.RawMessage) (any, error) {
	return a.withText(args, "the line", (*lab.World).Type)
}

// withText calls do with the world args names and the text after it (what
// the text is, for errors): the shape of typeLine, typeRaw and connect.
func (a *api) withText(args []minijson.RawMessage, what string, do func(*lab.World, string) (lab.Result, error)) (any, error) {
	_, w, err := a.world(args)
	if err != nil {
		return nil, err
	}
	var text string
	if err := arg(args, 1, what, &text); err != nil {
		return nil, err
	}
	return do(w, text)
}

// typeRaw sends bytes written with escapes (\r \n \t \0 \\), adding
// nothing: how a learner tries a bare LF or SMTP smuggling. The facade
// records it as an input with "raw", so undo and permalinks replay it.
func (a *api) typeRaw(args []minijson.RawMessage) (any, error) {
	return a.withText(args, "the raw text", func(w *lab.World, text string) (lab.Result, error) {
		if text == "" {
			return lab.Result{}, errors.New("raw mode sends exactly what you write: write something (\\r\\n is CR LF)")
		}
		return w.TypeRaw(text)
	})
}

func (a *api) submit(args []minijson.RawMessage) (any, error) {
	_, w, err := a.world(args)
	if err != nil {
		return nil, err
	}
	var m lab.Message
	if err := arg(args, 1, "the message", &m); err != nil {
		return nil, err
	}
	return w.Submit(m)
}

func (a *api) advance(args []minijson.RawMessage) (any, error) {
	_, w, err := a.world(args)
	if err != nil {
		return nil, err
	}
	var seconds float64
	// JSON has no NaN or Infinity: JSON.stringify writes them as null.
	if err := arg(args, 1, "the number of seconds (a finite number)", &seconds); err != nil {
		return nil, err
	}
	if seconds < 0.001 || seconds > 30*24*3600 {
		return nil, errors.New("time can only move forward, by a millisecond at least and 30 days at most")
	}
	return w.Advance(time.Duration(seconds * float64(time.Second)))
}

// connect moves the learner's terminal to "host:port" of the world: it
// hangs up and connects there, waiting for the answer (see lab.World.Connect).
func (a *api) connect(args []minijson.RawMessage) (any, error) {
	return a.withText(args, "the host and port", (*lab.World).Connect)
}

// undo replays the world's inputs minus the last one. The handle stays
// the same; the answer carries the whole replayed trace.
func (a *api) undo(args []minijson.RawMessage) (any, error) {
	id, w, err := a.world(args)
	if err != nil {
		return nil, err
	}
	if len(w.Snapshot().Inputs) == 0 {
		return nil, errors.New("nothing to undo")
	}
	nw, err := w.Undo()
	if err != nil {
		return nil, fmt.Errorf("undo: %w", err)
	}
	a.worlds[id] = nw
	return opened{World: id, Events: nw.Since(0), State: nw.State()}, nil
}

func (a *api) snapshot(args []minijson.RawMessage) (any, error) {
	_, w, err := a.world(args)
	if err != nil {
		return nil, err
	}
	return w.Snapshot(), nil
}

func (a *api) restore(args []minijson.RawMessage) (any, error) {
	var snap lab.Snapshot
	if err := arg(args, 0, "the snapshot", &snap); err != nil {
		return nil, err
	}
	w, err := lab.Restore(snap)
	if err != nil {
		return nil, err
	}
	return a.open(w)
}

func (a *api) check(args []minijson.RawMessage) (any, error) {
	_, w, err := a.world(args)
	if err != nil {
		return nil, err
	}
	// A course author copies goals from a lesson's YAML: say that check
	// takes them as a list of objects, not YAML text or a single goal.
	if len(args) > 1 && !bytes.HasPrefix(bytes.TrimSpace(args[1]), []byte("[")) && string(args[1]) != "null" {
		return nil, errors.New("the goals must be a list of goal objects, as a lesson's goals: written in JavaScript, such as [{id: 'tls', text: 'Say STARTTLS', reply: {verb: 'STARTTLS', code: 220}}]")
	}
	var goals []goal.Goal
	if err := arg(args, 1, "the list of goals", &goals); err != nil {
		return nil, err
	}
	return goal.Check(goals, w.Since(0)), nil
}

func (a *api) release(args []minijson.RawMessage) (any, error) {
	id, _, err := a.world(args)
	if err != nil {
		return nil, err
	}
	delete(a.worlds, id)
	return true, nil
}
