// <smtp-lab scenario="first-session" seed="1" panels> is a live lab to put
// in any page (lessons' ```smtp-lab blocks become one). It loads the engine
// from the same place as this module and keeps its own world.
//
// For a course page or its grader, the element dispatches "smtplab-events"
// (detail: the trace events the learner's last action added) and
// "smtplab-reset" (a new world), both bubbling, and has three methods:
// trace() (every event so far), snapshot() (a promise of {scenario, seed,
// inputs}, which smtpLab.restore replays) and check(goals) (a promise of
// [{id, text, done}], the goals written as in a lesson's front matter).
//
// Attributes: scenario (first-session when absent), seed (a whole number,
// 1 when absent), panels (show the
// network, timeline, TLS and mailbox tabs), and the options of labopts.js:
// data-panels (which of those tabs), data-tab, data-height, data-prompt.

import { h, clear } from './dom.js';
import { loadEngine, loadExplanations } from './engine.js';
import { Session } from './session.js';
import { LabView } from './labview.js';
import { labOptions } from './labopts.js';

export class SMTPLabElement extends HTMLElement {
  async connectedCallback() {
    if (this.started) return;
    this.started = true;
    const scenario = this.getAttribute('scenario') || 'first-session';
    const status = h('p', { class: 'smtplab-status', role: 'status' }, `Loading the lab (${scenario})…`);
    clear(this).append(status);
    try {
      const [api, table] = await Promise.all([loadEngine(), loadExplanations()]);
      const session = new Session(api);
      // What the learner does, for the page around the lab.
      session.addEventListener('events', (e) => this.dispatchEvent(new CustomEvent('smtplab-events', { bubbles: true, detail: e.detail })));
      session.addEventListener('reset', () => this.dispatchEvent(new CustomEvent('smtplab-reset', { bubbles: true })));
      // Without data-panels, the views show when asked for with the panels
      // attribute or by naming the one to open.
      const options = labOptions(this);
      if (!options.panels) options.panels = this.hasAttribute('panels') || 'tab' in options;
      const view = new LabView(session, table, options);
      const seedText = this.getAttribute('seed');
      const seed = seedText === null ? 1 : Number(seedText);
      if (!Number.isSafeInteger(seed)) throw new Error(`the seed "${seedText}" is not a whole number`);
      await session.create(scenario, seed);
      this.session = session;
      if (!this.isConnected) {
        this.release(); // taken away while it was starting
        return;
      }
      status.textContent = `Lab: ${scenario}`;
      this.append(view.el);
      view.enable(true);
    } catch (err) {
      status.textContent = `The lab could not start: ${err.message}`;
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

  // check resolves to each goal and whether the trace shows it done.
  check(goals) {
    return this.session ? this.session.check(goals) : Promise.reject(new Error('the lab has not started'));
  }

  // A page that takes the lab away (a single-page course moving on) must not
  // leave its world in the engine, which holds a limited number. Moving the
  // element within the page connects it again before this check runs.
  disconnectedCallback() {
    queueMicrotask(() => { if (!this.isConnected) this.release(); });
  }

  // release forgets the lab's world; connected again, the element starts
  // afresh.
  release() {
    const session = this.session;
    this.session = null;
    this.started = false;
    if (session && session.world !== null && session.api.release) session.api.release(session.world).catch(() => {});
  }
}

if (!customElements.get('smtp-lab')) customElements.define('smtp-lab', SMTPLabElement);
