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

export class Progress {
  // key is where this lab's progress lives (progressKey). A lab with
  // nothing saved under it starts from what is saved under KEY: before
  // each framed lab had a key of its own, they all kept their work there.
  constructor(storage, key = KEY) {
    this.storage = storage;
    this.key = key;
    this.data = empty();
    this.problem = ''; // why saved progress was set aside, for the page to say
    let text = null;
    try {
      text = storage.getItem(key);
      if (text === null && key !== KEY) text = storage.getItem(KEY);
    } catch { /* storage is off: nothing saved */ }
    if (text === null) return;
    // Saved progress is read as carefully as an imported file: whatever a
    // bad save holds, the page must still start.
    try {
      const saved = normalise(JSON.parse(text));
      if (saved) {
        this.data = saved;
        return;
      }
    } catch { /* not JSON */ }
    this.problem = 'Your saved progress could not be read, so it starts afresh (export it often to keep a copy).';
  }

  save() {
    try { this.storage.setItem(this.key, JSON.stringify(this.data)); } catch { /* full or private mode */ }
  }

  lesson(slug) {
    if (!this.data.lessons[slug]) this.data.lessons[slug] = { done: [], hints: 0, solution: false };
    return this.data.lessons[slug];
  }

  setLesson(slug) { this.data.lesson = slug; this.save(); }

  lab(scenario) { return this.data.labs[scenario] || null; }

  saveLab(snap) {
    if (!snap || !snap.scenario) return;
    this.data.labs[snap.scenario] = snap;
    this.save();
  }

  export() { return JSON.stringify({ ...this.data, exported: new Date().toISOString() }, null, 2); }

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
    this.save();
  }
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
