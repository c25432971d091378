// <smtp-lab scenario="first-session" seed="1" panels> is a live lab to put
// in any page (lessons' ```smtp-lab blocks become one). It loads the engine
// from the same place as this module and keeps its own world.
//
// For a course page or its grader, the element dispatches "smtplab-events"
// (detail: the trace events the learner's last action added) and
// "smtplab-reset" (a new world, or its saved world back), both bubbling, and has three methods:
// trace() (every event so far), snapshot() (a promise of {scenario, seed,
// inputs}, which smtpLab.restore replays) and check(goals) (a promise of
// [{id, text, done}], the goals written as in a lesson's front matter; a
// goal with another lab's scenario is not done in this one).
//
// Attributes: scenario (first-session when absent), seed (a whole number
// from -(2^53 - 1) to 2^53 - 1, 1 when absent); panels alone shows the
// network, timeline, TLS and mailbox tabs; and the options of labopts.js:
// panels="network, mailbox" (which of those tabs), tab, height, prompt.
// Each may be written with data- too
// (data-scenario, data-panels...), as a lesson's block writes them.
// A name (or id) tells the lab apart from the page's other labs across
// reloads (see worldKey).
//
// The lab keeps its world in the page's localStorage after every change, so
// a reload finds what the learner did; "Start again" starts afresh.

import { h, clear, confirmDialog } from './dom.js';
import { loadEngine, loadExplanations } from './engine.js';
import { Session } from './session.js';
import { LabView } from './labview.js';
import { attribute, labOptions, optionProblems } from './labopts.js';
import { loadWorld, saveWorld } from './progress.js';

// scenarioOf returns the scenario an <smtp-lab> element asks for. The
// scenario and the seed are the element's own attributes; their data-
// spellings count too, as every option may be written either way.
function scenarioOf(el) {
  return attribute(el, 'scenario') || 'first-session';
}

// seedTextOf returns the seed an <smtp-lab> element asks for, as written,
// or null for the default.
function seedTextOf(el) {
  return attribute(el, 'seed') ?? null;
}

// worldKey returns the localStorage key a lab keeps its world under: the
// page's path (a course site's pages share one localStorage) and the lab's
// name attribute, else its id, else its scenario and its place among the
// page's labs of that scenario (first-session#2 is the second one).
export function worldKey(el, doc = document) {
  let lab;
  if (el.getAttribute('name')) {
    lab = `name=${el.getAttribute('name')}`;
  } else if (el.id) {
    lab = `id=${el.id}`;
  } else {
    const scenario = scenarioOf(el);
    const same = [...doc.querySelectorAll('smtp-lab')].filter((other) => scenarioOf(other) === scenario);
    lab = `${scenario}#${same.indexOf(el) + 1}`;
  }
  return `smtplab.world.v1 ${JSON.stringify([doc.location.pathname, lab])}`;
}

// pageStorage returns the page's localStorage, or null where the browser
// forbids it (the lab then works without keeping anything).
function pageStorage() {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}

export class SMTPLabElement extends HTMLElement {
  async connectedCallback() {
    if (this.started) return;
    this.started = true;
    // Which start this is: an element taken away and put back while it
    // started has started again, and the first start must then stop.
    const start = {};
    this.start = start;
    const scenario = scenarioOf(this);
    // The key is taken now: labs the page adds later must not change
    // which world this one keeps.
    const key = worldKey(this);
    const storage = pageStorage();
    const status = h('p', { class: 'smtplab-status', role: 'status' }, `Loading the lab (${scenario})…`);
    const again = h('button', { type: 'button', class: 'smtplab-again', disabled: true }, 'Start again…');
    clear(this).append(h('div', { class: 'smtplab-head' }, status, again));
    try {
      const seedText = seedTextOf(this);
      // Digits only, as make lint-lessons takes them: Number alone would
      // read "1e3" as 1000 and "0x10" as 16. Beyond 2^53 - 1 a
      // JavaScript number is no longer every whole number.
      const seed = seedText === null ? 1 : /^\s*[+-]?\d+\s*$/.test(seedText) ? Number(seedText) : NaN;
      const most = Number.MAX_SAFE_INTEGER;
      if (!Number.isSafeInteger(seed)) throw new Error(`the seed "${seedText}" is not a whole number from -${most} to ${most}`);
      const [api, table] = await Promise.all([loadEngine(), loadExplanations()]);
      if (this.start !== start) return; // taken away while the engine loaded
      const session = new Session(api);
      // The lab's session from the start, so that a grader that reads
      // trace() or snapshot() on the first smtplab-reset (the new world, or
      // the saved one back) reads that world, not an empty lab.
      this.session = session;
      // What the learner does, for the page around the lab.
      session.addEventListener('events', (e) => this.dispatchEvent(new CustomEvent('smtplab-events', { bubbles: true, detail: e.detail })));
      session.addEventListener('reset', () => this.dispatchEvent(new CustomEvent('smtplab-reset', { bubbles: true })));
      // Without a list of panels, the views show when asked for with a bare
      // panels attribute or by naming the one to open.
      const options = labOptions(this);
      // The reader still gets a working lab; the page's author, reading
      // the console, learns which option it left out and why.
      // The element is named by its id and name too, those it has: a
      // page may hold several labs of one scenario.
      const named = ['id', 'name'].filter((a) => this.getAttribute(a)).map((a) => `${a}="${this.getAttribute(a)}" `).join('');
      for (const problem of optionProblems(this)) console.warn(`<smtp-lab ${named}scenario="${scenario}">: ${problem}`);
      if (!options.panels) options.panels = this.hasAttribute('panels') || 'tab' in options;
      const view = new LabView(session, table, options);
      // The saved world, unless the page now asks for another scenario or
      // seed; a world that no longer replays gives way to a fresh one.
      const saved = loadWorld(storage, key);
      let restored = false;
      if (saved && saved.scenario === scenario && saved.seed === seed) {
        restored = await session.restore(saved).then(() => true, () => false);
      }
      if (!restored) await session.create(scenario, seed);
      const keep = async () => {
        try {
          saveWorld(storage, key, await session.snapshot());
        } catch { /* the world is gone: nothing to keep */ }
      };
      session.addEventListener('events', keep);
      session.addEventListener('reset', keep);
      if (this.start !== start) return; // taken away while it was starting: release forgot its world
      status.textContent = `Lab: ${scenario}`;
      again.addEventListener('click', async () => {
        if (!(await confirmDialog('Start this lab again from the beginning? What you did in it is lost.', 'Start again', this))) return;
        await session.create(scenario, seed).catch(() => {});
        if (view.terminal) view.terminal.input.focus();
      });
      again.disabled = false;
      this.append(view.el);
      view.enable(true);
    } catch (err) {
      // In the error's colour, as the lab page's own problems are: grey
      // like "Loading the lab…", it read as a note, not a lab that failed.
      status.textContent = `The lab could not start: ${err.message}`;
      status.classList.add('smtplab-error');
    }
  }

  // trace returns every event of the lab's world so far (a copy).
  trace() {
    return this.session ? this.session.events.slice() : [];
  }

  // snapshot resolves to the world as scenario, seed and inputs.
  snapshot() {
    return this.session ? this.session.snapshot() : Promise.reject(new Error('the lab has not started'));
  }

  // check resolves to each goal and whether the trace shows it done. A
  // goal that names another scenario (a lesson with more labs) is another
  // lab's: it is never done in this one, whatever this lab's trace holds,
  // as the lesson page checks each goal in its own lab only.
  async check(goals) {
    const session = this.session;
    if (!session) throw new Error('the lab has not started');
    const results = await session.check(goals);
    return results.map((r, i) => {
      const other = goals[i] && goals[i].scenario && goals[i].scenario !== session.scenario;
      return other ? { ...r, done: false } : r;
    });
  }

  // A page that takes the lab away (a single-page course moving on) must not
  // leave its world in the engine, which holds a limited number. Moving the
  // element within the page connects it again before this check runs.
  disconnectedCallback() {
    queueMicrotask(() => { if (!this.isConnected) this.release(); });
  }

  // release forgets the lab's world; connected again, the element starts
  // afresh. A world still being made is forgotten once it is made: the
  // release waits in the session's queue behind the call that makes it.
  release() {
    const session = this.session;
    this.session = null;
    this.started = false;
    this.start = null;
    if (!session) return;
    session.run(async () => {
      if (session.world !== null && session.api.release) await session.api.release(session.world);
    }).catch(() => {});
  }
}

if (!customElements.get('smtp-lab')) customElements.define('smtp-lab', SMTPLabElement);
