// Progress is what the learner did, kept in localStorage: the lesson they
// are on, per lesson the goals reached and hints seen, and per scenario the
// last world (as a snapshot: scenario, seed, inputs). It exports to and
// imports from a JSON file.

const KEY = 'smtplab.progress.v1';

export class Progress {
  constructor(storage) {
    this.storage = storage;
    this.data = empty();
    try {
      const saved = JSON.parse(storage.getItem(KEY) || 'null');
      if (valid(saved)) this.data = saved;
    } catch { /* unreadable: start over */ }
  }

  save() {
    try { this.storage.setItem(KEY, JSON.stringify(this.data)); } catch { /* full or private mode */ }
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
    const d = JSON.parse(text);
    if (!valid(d)) throw new Error('this file is not SMTP Lab progress');
    this.data = { version: 1, lesson: d.lesson || '', lessons: d.lessons, labs: d.labs };
    this.save();
  }
}

function empty() { return { version: 1, lesson: '', lessons: {}, labs: {} }; }

function valid(d) {
  return d && typeof d === 'object' && d.version === 1 && d.lessons && typeof d.lessons === 'object' &&
    d.labs && typeof d.labs === 'object';
}
