// <smtp-lab scenario="first-session" seed="1" panels> is a live lab to put
// in any page (lessons' ```smtp-lab blocks become one). It loads the engine
// from the same place as this module and keeps its own world.
//
// Attributes: scenario (required), seed (default 1), panels (show the
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
      await session.create(scenario, Number(this.getAttribute('seed')) || 1);
      status.textContent = `Lab: ${scenario}`;
      this.append(view.el);
      view.enable(true);
      this.session = session;
    } catch (err) {
      status.textContent = `The lab could not start: ${err.message}`;
    }
  }
}

if (!customElements.get('smtp-lab')) customElements.define('smtp-lab', SMTPLabElement);
