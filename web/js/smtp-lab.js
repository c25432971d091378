// <smtp-lab scenario="first-session" seed="1" panels> is a live lab to put
// in any page (lessons' ```smtp-lab blocks become one). It loads the engine
// from the same place as this module and keeps its own world.
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
    const status = h('p', { class: 'status', role: 'status' }, `Loading the lab (${scenario})…`);
    clear(this).append(status);
    try {
      const [api, table] = await Promise.all([loadEngine(), loadExplanations()]);
      const session = new Session(api);
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
