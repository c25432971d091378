// A Session is one world in the engine as the page sees it: the handle,
// every trace event so far and the latest state. Views listen to it:
//   "reset"  the whole trace changed (new world, undo, restore)
//   "events" new events were appended (detail: the new events)
//   "error"  an engine call failed (detail: the Error)
// Calls are queued, so two quick key presses never interleave.
//
// The engine may be given as a promise: the page builds its views while
// the engine still downloads, and calls made before it is ready wait in
// the queue.

import { toBase64, fromBase64 } from './dom.js';

export class Session extends EventTarget {
  constructor(engine) {
    super();
    this.api = null; // the engine's API once it is ready
    this.ready = Promise.resolve(engine).then((api) => { this.api = api; });
    this.ready.catch(() => {}); // each call reports it
    this.world = null;
    this.scenario = '';
    this.seed = 1;
    this.events = [];
    this.state = null;
    this.inputs = 0; // how many inputs the world has (undo is possible when > 0)
    this.queue = Promise.resolve();
  }

  // run queues an engine call; it resolves with the call's result and
  // reports a failure as an "error" event as well as rejecting.
  run(fn) {
    const p = this.queue.then(() => this.ready).then(fn);
    this.queue = p.catch(() => {});
    p.catch((err) => this.dispatchEvent(new CustomEvent('error', { detail: err })));
    return p;
  }

  replace(res, why) {
    // The engine keeps every world until told: forget the one replaced.
    if (this.world !== null && this.world !== res.world && this.api.release) {
      this.api.release(this.world).catch(() => {});
    }
    this.world = res.world;
    this.events = res.events || [];
    this.state = res.state || null;
    this.dispatchEvent(new CustomEvent('reset', { detail: { why } }));
  }

  add(res, input) {
    const fresh = res.events || [];
    this.events = this.events.concat(fresh);
    // A result that delivered nothing leaves the mailboxes out (null):
    // they are still the ones of the last state.
    if (res.state && res.state.mailboxes == null && this.state) {
      res.state.mailboxes = this.state.mailboxes;
    }
    this.state = res.state || this.state;
    if (input) this.inputs++;
    this.dispatchEvent(new CustomEvent('events', { detail: fresh }));
    return res;
  }

  create(scenario, seed = 1) {
    return this.run(async () => {
      const res = await this.api.create({ scenario, seed });
      this.scenario = scenario;
      this.seed = seed;
      this.inputs = 0;
      this.replace(res, 'create');
      return res;
    });
  }

  type(line) {
    return this.run(async () => this.add(await this.api.type(this.world, line), true));
  }

  // typeRaw sends text written with escapes (\r \n \t \0 \\) as exactly
  // those bytes, adding nothing: how a learner tries a bare LF.
  typeRaw(text) {
    return this.run(async () => this.add(await this.api.typeRaw(this.world, text), true));
  }

  submit(message) {
    return this.run(async () => this.add(await this.api.submit(this.world, message), true));
  }

  advance(seconds) {
    return this.run(async () => this.add(await this.api.advance(this.world, seconds), true));
  }

  // connect hangs the terminal up and connects it to "host:port".
  connect(target) {
    return this.run(async () => this.add(await this.api.connect(this.world, target), true));
  }

  undo() {
    return this.run(async () => {
      const res = await this.api.undo(this.world);
      this.inputs = Math.max(0, this.inputs - 1);
      this.replace(res, 'undo');
      return res;
    });
  }

  snapshot() {
    return this.run(() => this.api.snapshot(this.world));
  }

  restore(snap) {
    return this.run(async () => {
      const res = await this.api.restore(snap);
      this.scenario = snap.scenario;
      this.seed = snap.seed;
      this.inputs = (snap.inputs || []).length;
      this.replace(res, 'restore');
      return res;
    });
  }

  check(goals) {
    return this.run(() => this.api.check(this.world, goals));
  }
}

// Snapshots travel in permalinks as base64url JSON after "#lab=".
export function encodeSnapshot(snap) {
  return toBase64(new TextEncoder().encode(JSON.stringify(snap))).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}

export function decodeSnapshot(text) {
  let snap;
  try {
    const b64 = text.replaceAll('-', '+').replaceAll('_', '/');
    snap = JSON.parse(new TextDecoder().decode(fromBase64(b64 + '='.repeat((4 - (b64.length % 4)) % 4))));
  } catch {
    // atob's and JSON.parse's own words would mean nothing to a learner.
    throw new Error('this link is damaged (was it copied whole?)');
  }
  // A world nothing was typed into has no inputs: older engines wrote that
  // as null, and a hand-made link may leave them out.
  if (snap && typeof snap === 'object' && (snap.inputs === null || snap.inputs === undefined)) snap.inputs = [];
  if (!snap || typeof snap.scenario !== 'string' || !Array.isArray(snap.inputs)) {
    throw new Error('this link does not hold a lab');
  }
  return snap;
}
