// Progress is what the learner did, kept in localStorage: the lesson they
// are on, per lesson the goals reached and hints seen, and per scenario the
// last world (as a snapshot: scenario, seed, inputs). It exports to and
// imports from a JSON file.
//
// Each lab keeps its work under its own key, so that two labs on one page
// never write over each other's: progressKey says which lab page is which
// across reloads, and smtp-lab.js which <smtp-lab>, whose world is kept by
// loadWorld and saveWorld.

// KEY holds the progress of the lab's own page, as it always has.
const KEY = 'smtplab.progress.v1';

// progressKey returns the key of the lab page shown in win. Opened by
// itself, the page keeps KEY. In a frame of a course page, two frames of the
// lab would share that origin's localStorage: each keeps its progress under
// the frame's name (the iframe's name attribute, which the author may set),
// else under its place among its parent's frames (frame#1, frame#2 …).
export function progressKey(win = window) {
  try {
    if (win.parent === win) return KEY;
    if (win.name) return `${KEY}@name=${win.name}`;
    // A cross-origin parent still lets a frame count its frames.
    for (let i = 0; i < win.parent.length; i++) if (win.parent[i] === win) return `${KEY}@frame#${i + 1}`;
  } catch { /* a parent that hides even that: one key for its frames */ }
  return `${KEY}@frame`;
}

export class Progress extends EventTarget {
  // key is where this lab's progress lives (progressKey). A lab with
  // nothing saved under it starts from what is saved under KEY: before
  // each framed lab had a key of its own, they all kept their work there.
  //
  // Every tab of the lab's page keeps its progress under the same key.
  // So that one tab never writes over what another saved, each change is
  // made to what is stored at that moment (see update), and what another
  // tab saves comes in with the "storage" event, which the browser fires
  // in every other tab of the origin: the progress then dispatches
  // "change" for the page to show it.
  constructor(storage, key = KEY) {
    super();
    this.storage = storage;
    this.key = key;
    this.data = empty();
    this.problem = ''; // why saved progress was set aside, for the page to say
    const text = this.stored(key) ?? (key === KEY ? null : this.stored(KEY));
    if (text !== null) {
      // Saved progress is read as carefully as an imported file: whatever
      // a bad save holds, the page must still start.
      const saved = parse(text);
      if (saved) this.data = saved;
      else this.problem = 'Your saved progress could not be read, so it starts afresh (export it often to keep a copy).';
    }
    globalThis.addEventListener('storage', (e) => {
      // A null key: another tab cleared the whole storage.
      if (e.storageArea !== storage || (e.key !== null && e.key !== key)) return;
      this.data = this.read() || empty();
      this.dispatchEvent(new Event('change'));
    });
  }

  // stored returns the text kept under key, or null: nothing is, or
  // storage is off.
  stored(key) {
    try {
      return this.storage.getItem(key);
    } catch {
      return null;
    }
  }

  // read returns the progress stored under this lab's key now, or null
  // when there is none it can read.
  read() {
    const text = this.stored(this.key);
    return text === null ? null : parse(text);
  }

  write() {
    try { this.storage.setItem(this.key, JSON.stringify(this.data)); } catch { /* full or private mode */ }
  }

  // update makes a change and saves it. Another tab may have saved since
  // this one last read (its storage event is on its way): the change is
  // made to what is stored now, so that the rest stays as that tab left it.
  update(change) {
    this.data = this.read() || this.data;
    change(this.data);
    this.write();
  }

  // lesson returns what the learner did in a lesson (not to be changed:
  // the methods below change it).
  lesson(slug) { return this.data.lessons[slug] || newLesson(); }

  setLesson(slug) { this.update((d) => { d.lesson = slug; }); }

  // markDone records goals of a lesson as reached. A goal stays reached,
  // whichever tab reached it.
  markDone(slug, ids) {
    if (ids.every((id) => this.lesson(slug).done.includes(id))) return;
    this.update((d) => {
      const p = lessonIn(d, slug);
      p.done = [...new Set([...p.done, ...ids])];
    });
  }

  // seeHints records that the learner has seen the first n hints of a
  // lesson (or more, in another tab).
  seeHints(slug, n) {
    this.update((d) => {
      const p = lessonIn(d, slug);
      p.hints = Math.max(p.hints, n);
    });
  }

  seeSolution(slug) { this.update((d) => { lessonIn(d, slug).solution = true; }); }

  lab(scenario) { return this.data.labs[scenario] || null; }

  saveLab(snap) {
    if (!snap || !snap.scenario) return;
    this.update((d) => { d.labs[snap.scenario] = snap; });
  }

  export() { return JSON.stringify({ ...this.data, exported: new Date().toISOString() }, null, 2); }

  // import replaces the whole progress with a file's: the learner asked
  // for that one, not for a mix.
  import(text) {
    let d;
    try {
      d = JSON.parse(text);
    } catch {
      throw new Error('this file is not valid JSON');
    }
    const data = normalise(d);
    if (!data) throw new Error('this file is not SMTP Lab progress');
    this.data = data;
    this.write();
  }
}

// parse reads stored progress, or returns null when it is not progress.
function parse(text) {
  try {
    return normalise(JSON.parse(text));
  } catch {
    return null; // not JSON
  }
}

function newLesson() { return { done: [], hints: 0, solution: false }; }

// lessonIn returns a lesson's progress in data, added when it has none.
function lessonIn(data, slug) {
  data.lessons[slug] ??= newLesson();
  return data.lessons[slug];
}

function empty() { return { version: 1, lesson: '', lessons: {}, labs: {} }; }

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

// normalise returns progress read from a file or from storage in the shape
// the page uses, or null when it is not SMTP Lab progress at all. Parts in
// the wrong shape (a lesson's goals that are not a list, a saved world
// without a scenario) are mended or left out, so nothing the page reads
// later can throw.
export function normalise(d) {
  if (!isObject(d) || d.version !== 1 || !isObject(d.lessons) || !isObject(d.labs)) return null;
  const out = empty();
  if (typeof d.lesson === 'string') out.lesson = d.lesson;
  for (const [slug, p] of Object.entries(d.lessons)) {
    if (!isObject(p)) continue;
    out.lessons[slug] = {
      done: Array.isArray(p.done) ? [...new Set(p.done.filter((id) => typeof id === 'string'))] : [],
      hints: Number.isInteger(p.hints) && p.hints > 0 ? p.hints : 0,
      solution: p.solution === true,
    };
  }
  for (const [scenario, snap] of Object.entries(d.labs)) {
    // A world is kept under its own scenario's name.
    const world = normaliseWorld(snap);
    if (world && world.scenario === scenario) out.labs[scenario] = world;
  }
  return out;
}

// normaliseWorld returns a saved world as {scenario, seed, inputs}, or null
// when it is not one. The engine checks the inputs themselves when it
// replays them.
function normaliseWorld(snap) {
  if (!isObject(snap) || typeof snap.scenario !== 'string' || !snap.scenario) return null;
  if (snap.inputs != null && !Array.isArray(snap.inputs)) return null;
  return { scenario: snap.scenario, seed: Number.isInteger(snap.seed) ? snap.seed : 1, inputs: snap.inputs || [] };
}

// loadWorld returns the world saved under key, or null.
export function loadWorld(storage, key) {
  try {
    return normaliseWorld(JSON.parse(storage.getItem(key)));
  } catch {
    return null; // storage is off, or what it holds is not JSON
  }
}

// saveWorld keeps a world under key.
export function saveWorld(storage, key, snap) {
  const world = normaliseWorld(snap);
  if (!world) return;
  try { storage.setItem(key, JSON.stringify(world)); } catch { /* full or private mode */ }
}
