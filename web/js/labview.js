// LabView puts one session's views together: the transcript above the
// terminal and, when asked, tabs for the network map, the timeline and
// queue, TLS and the mailboxes. The main page and <smtp-lab> both use it,
// and the live view too (a feed of real sessions: no terminal, its own
// panels).

import { h, newId } from './dom.js';
import { Transcript } from './transcript.js';
import { Terminal } from './terminal.js';
import { NetworkMap, Timeline, TLSPanel, Mailbox } from './panels.js';
import { PANELS } from './labopts.js';

// makePanel builds the panel a lab option names (see labopts.js).
const makePanel = {
  network: (session) => new NetworkMap(session),
  timeline: (session) => new Timeline(session),
  tls: (session) => new TLSPanel(session),
  mailbox: (session) => new Mailbox(session),
};

export class LabView {
  // Options: panels (true for the usual four, a list of their names, or a
  // list of panels), tab (the name of the panel open at first), inputId
  // (the terminal's id, which the lab makes when not given), terminal
  // (false for none), maxLines (transcript lines kept; 0 keeps all),
  // height (the transcript's height in lines), prompt (a line already
  // typed in the terminal), announceEvery (the least time in ms between
  // two things the live region says; 0: after every action).
  constructor(session, table, { panels = true, tab, inputId, terminal = true, maxLines = 0, height, prompt, announceEvery = 0 } = {}) {
    this.session = session;
    this.live = h('div', { class: 'smtplab-visually-hidden', 'aria-live': 'polite', role: 'status' });
    this.transcript = new Transcript(session, table, { live: this.live, max: maxLines, announceEvery });
    this.terminal = terminal ? new Terminal(session, { id: inputId }) : null;
    this.error = h('p', { class: 'smtplab-error', role: 'alert', hidden: true });
    session.addEventListener('error', (e) => {
      this.error.textContent = e.detail && e.detail.message ? e.detail.message : String(e.detail);
      this.error.hidden = false;
    });
    session.addEventListener('events', () => { this.error.hidden = true; });
    session.addEventListener('reset', () => { this.error.hidden = true; });
    // 1.45em is the transcript's line height (lab.css).
    if (height) this.transcript.el.style.height = `${height * 1.45}em`;
    if (prompt && this.terminal) this.terminal.input.value = prompt;
    const main = h('div', { class: 'smtplab-lab-main' }, this.transcript.el, this.error, this.terminal && this.terminal.el, this.live);
    this.el = h('div', { class: 'smtplab-lab-view' }, main);
    if (panels === true) panels = PANELS;
    if (panels) panels = panels.map((p) => (typeof p === 'string' ? makePanel[p](session) : p));
    if (panels && panels.length) this.el.append(this.tabs(panels, tab));
  }

  // tabs builds an ARIA tab list: arrows move between tabs, Tab goes into
  // the panel. The panel named first is open at first (else the first).
  tabs(panels, first) {
    const open = Math.max(0, panels.findIndex((p) => p.id === first));
    const list = h('div', { class: 'smtplab-tablist', role: 'tablist', 'aria-label': 'Views' });
    const box = h('div', { class: 'smtplab-tabs' }, list);
    const buttons = panels.map((p, i) => {
      const tabId = newId(`tab-${p.id}`);
      const panelId = newId(`panel-${p.id}`);
      const b = h('button', {
        type: 'button', role: 'tab', id: tabId, 'aria-controls': panelId,
        'aria-selected': i === open ? 'true' : 'false', tabindex: i === open ? '0' : '-1',
      }, p.title);
      const region = h('div', { role: 'tabpanel', id: panelId, 'aria-labelledby': tabId, tabindex: '0', hidden: i !== open }, p.el);
      box.append(region);
      p.region = region;
      return b;
    });
    const select = (i) => buttons.forEach((b, j) => {
      b.setAttribute('aria-selected', String(i === j));
      b.tabIndex = i === j ? 0 : -1;
      panels[j].region.hidden = i !== j;
      if (i === j) {
        panels[j].tabShown();
        b.focus();
      }
    });
    buttons.forEach((b, i) => {
      b.addEventListener('click', () => select(i));
      b.addEventListener('keydown', (e) => {
        const to = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: buttons.length - 1 }[e.key];
        if (to === undefined) return;
        e.preventDefault();
        select((to + buttons.length) % buttons.length);
      });
      list.append(b);
    });
    this.selectTab = (id) => {
      const i = panels.findIndex((p) => p.id === id);
      if (i >= 0) select(i);
    };
    return box;
  }

  enable(on) {
    if (this.terminal) this.terminal.enable(on);
  }
}
