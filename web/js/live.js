// The live view: sessions from real SMTP clients (swaks, an application,
// a mail client) on the TCP bridge that `go run . -smtp 127.0.0.1:2525`
// starts, shown as they happen with the lab's own transcript, explanations
// and mailbox: a mail catcher that teaches.
//
// The server streams the bridge's world at /api/live as server-sent events
// (see bridge.LiveHandler): "hello" (the servers and the lab CA), "trace"
// (batches of events, each with the last event's id, so EventSource
// resumes where it stopped after a reconnect, or starts over when the
// bridge was restarted meanwhile) and "state" (mailboxes and queues). The page opens the feed only when the server names it in
// <meta name="smtplab-live">, which it does only when a bridge runs.

import { h, clear, newId, download } from './dom.js';
import { LabView } from './labview.js';
import { Mailbox, NetworkMap, TLSPanel } from './panels.js';

// liveURL returns the feed's URL the page names, or null.
export function liveURL(doc = document) {
  const m = doc.querySelector('meta[name="smtplab-live"]');
  return m && m.content ? m.content : null;
}

// LiveFeed is a session for the views: the events and state of the
// bridge's world, growing as the feed brings them. It dispatches what a
// Session does ("events", with the new events as detail, and "reset"
// when a restarted bridge starts a new world) plus "hello" and "status". It keeps the newest maxEvents events: a mail catcher may
// see millions.
export class LiveFeed extends EventTarget {
  constructor(url, { maxEvents = 5000 } = {}) {
    super();
    this.url = url;
    this.maxEvents = maxEvents;
    this.events = [];
    this.state = null;
    this.hello = null;
    this.status = 'connecting';
    this.source = null;
  }

  start() {
    if (this.source) return;
    const es = new EventSource(this.url);
    this.source = es;
    es.addEventListener('hello', (e) => {
      this.hello = JSON.parse(e.data);
      if (!this.hello.since && this.events.length > 0) {
        // The bridge was restarted: a new world, whose events start
        // again from the first. What the page had belongs to the old one.
        this.events = [];
        this.state = null;
        this.dispatchEvent(new CustomEvent('reset'));
      }
      this.dispatchEvent(new CustomEvent('hello', { detail: this.hello }));
      this.setStatus('open');
    });
    es.addEventListener('trace', (e) => {
      const fresh = JSON.parse(e.data);
      this.events.push(...fresh);
      if (this.events.length > this.maxEvents) this.events = this.events.slice(-this.maxEvents);
      this.dispatchEvent(new CustomEvent('events', { detail: fresh }));
    });
    es.addEventListener('state', (e) => {
      this.state = JSON.parse(e.data);
      this.dispatchEvent(new CustomEvent('events', { detail: [] }));
    });
    // EventSource reconnects by itself (with Last-Event-ID); say so.
    es.addEventListener('error', () => this.setStatus(es.readyState === EventSource.CLOSED ? 'closed' : 'reconnecting'));
  }

  stop() {
    if (this.source) this.source.close();
    this.source = null;
    this.setStatus('closed');
  }

  setStatus(status) {
    if (status === this.status) return;
    this.status = status;
    this.dispatchEvent(new CustomEvent('status', { detail: status }));
  }
}

// EXTERNAL_CONN_BASE is where the engine numbers connections from outside
// the simulated world (lab.ExternalConnBase): the bridge's world has its
// own simulated connections too (the scenario's, and relays onward).
const EXTERNAL_CONN_BASE = 2 ** 20;

const STATUS = {
  connecting: 'Connecting to the bridge…',
  open: 'Listening: sessions from real clients appear here as they happen.',
  reconnecting: 'The live feed was cut; reconnecting…',
  closed: 'The live feed has stopped (the server is gone, or serves as many live views as it can: close another tab that shows one). Reload the page to try again.',
};

const PORT_RULES = {
  25: 'port 25 rules: mail for its own domains, relaying refused',
  587: 'submission: STARTTLS, then AUTH, then mail (RFC 6409)',
  465: 'implicit TLS from the first byte (RFC 8314)',
};

// LIVE_ANNOUNCE_EVERY is the least time between two things the live
// view's live region says: real clients may bring many sessions a second.
const LIVE_ANNOUNCE_EVERY = 3000;

// LiveView shows a LiveFeed: what is listening and how to reach it, the
// transcript of every session with its explanations, the mailboxes, the
// network and TLS.
export class LiveView {
  constructor(feed, table) {
    this.feed = feed;
    this.status = h('p', { class: 'smtplab-live-status', role: 'status' }, STATUS[feed.status]);
    this.servers = h('div', { class: 'smtplab-live-servers' });
    this.view = new LabView(feed, table, {
      terminal: false, maxLines: 2000, announceEvery: LIVE_ANNOUNCE_EVERY,
      panels: [new Mailbox(feed, { compose: false }), new NetworkMap(feed), new TLSPanel(feed)],
    });
    const title = h('h2', { id: newId('live-title') }, 'Live: real SMTP clients');
    this.el = h('section', { class: 'smtplab-live-view', 'aria-labelledby': title.id },
      title,
      this.status, this.servers, this.view.el);
    feed.addEventListener('status', () => { this.status.textContent = STATUS[feed.status]; });
    feed.addEventListener('hello', () => this.renderServers());
    feed.addEventListener('reset', () => {
      this.sessions = 0;
      if (this.onCount) this.onCount(this.sessions);
    });
    // Sessions from real clients, for the switch's badge; onCount hears of
    // changes.
    this.sessions = 0;
    this.onCount = null;
    feed.addEventListener('events', (e) => {
      const n = e.detail.filter((ev) => ev.kind === 'conn.open' && ev.conn >= EXTERNAL_CONN_BASE).length;
      if (n === 0) return;
      this.sessions += n;
      if (this.onCount) this.onCount(this.sessions);
    });
  }

  renderServers() {
    const hello = this.feed.hello || {};
    const servers = hello.servers || [];
    const first = servers[0];
    clear(this.servers).append(
      h('p', {}, `Scenario ${hello.scenario || '?'}: its servers answer on real TCP ports on this machine.`),
      h('ul', {}, servers.map((s) => h('li', {}, h('code', {}, s.addr), ` → ${s.host}, port ${s.port} (${PORT_RULES[s.port] || 'SMTP'})`))),
      first ? h('p', {}, 'Try it: ', h('code', { class: 'smtplab-try' }, `swaks --server ${first.addr} --from alice@example.com --to bob@example.org`),
        ' (or point your application or mail client at it).') : null,
      hello.ca ? h('p', {}, h('button', {
        type: 'button', onclick: () => download('smtp-lab-ca.pem', 'application/x-pem-file', hello.ca),
      }, 'Download the lab CA'), ' to verify the servers’ certificates (for example swaks --tls --tls-ca-path smtp-lab-ca.pem).') : null);
  }
}

// mountLive adds the live view beside the lab and a switch between them to
// the page's header, and starts the feed. The lab stays as it was; only
// one of the two shows at a time.
export function mountLive(url, table, { lab, header, show = false }) {
  const feed = new LiveFeed(url);
  const live = new LiveView(feed, table);
  const section = h('section', { class: 'smtplab-live', id: 'live', 'aria-label': 'Live sessions', hidden: true }, live.el);
  lab.after(section);
  const badge = h('span', { class: 'smtplab-badge' }, '');
  const sandboxBtn = h('button', { type: 'button', id: 'btn-view-sandbox', 'aria-pressed': 'true' }, 'Sandbox');
  const liveBtn = h('button', { type: 'button', id: 'btn-view-live', 'aria-pressed': 'false' }, 'Live SMTP', badge);
  const select = (showLive) => {
    section.hidden = !showLive;
    lab.hidden = showLive;
    sandboxBtn.setAttribute('aria-pressed', String(!showLive));
    liveBtn.setAttribute('aria-pressed', String(showLive));
  };
  sandboxBtn.addEventListener('click', () => select(false));
  liveBtn.addEventListener('click', () => select(true));
  live.onCount = (n) => { badge.textContent = n ? `\u00a0(${n})` : ''; };
  header.append(h('div', { class: 'smtplab-view-switch', role: 'group', 'aria-label': 'Show' }, sandboxBtn, liveBtn));
  select(show);
  feed.start();
  return { feed, view: live, select };
}
