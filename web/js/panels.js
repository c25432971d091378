// The lab's side panels: the network map, the timeline and queue, the TLS
// panel and the mailboxes. Each reads the session's trace and state and
// redraws itself when they change; all text goes in as text.

import { h, append, clear, newId, formatTime, formatSize, toBase64, download } from './dom.js';

// Panel is the common part: a titled region that redraws on every change.
// A panel in a hidden tab only notes that it is out of date and redraws
// when its tab is shown: the first world's greeting need not wait for
// views nobody is looking at.
class Panel {
  constructor(session, id, title) {
    this.session = session;
    this.id = id;
    this.title = title;
    this.el = h('div', { class: `smtplab-panel smtplab-panel-${id}` });
    this.region = null; // the tab panel that holds el, set by LabView
    this.stale = false;
    const redraw = () => {
      if (this.region && this.region.hidden) this.stale = true;
      else this.render();
    };
    session.addEventListener('reset', redraw);
    session.addEventListener('events', redraw);
  }

  // tabShown is called when the panel's tab is selected.
  tabShown() {
    if (!this.stale) return;
    this.stale = false;
    this.render();
  }

  render() {}
}

// section is a part of a view with its heading: an h3, under the lab's h2
// (the page's, or the live view's).
function section(title, ...body) {
  return h('section', { class: 'smtplab-sub' }, h('h3', {}, title), ...body);
}

function empty(text) {
  return h('p', { class: 'smtplab-empty' }, text);
}

// NetworkMap shows the hosts, the route mail took (each connection from
// one host to the next), the connections open now and the DNS lookups.
export class NetworkMap extends Panel {
  constructor(session) { super(session, 'network', 'Network'); }

  render() {
    const ev = this.session.events;
    const state = this.session.state || {};
    const net = state.network || {};
    const hosts = new Map();
    for (const hst of net.hosts || []) hosts.set(hst.name, hst);
    const open = new Map();
    const route = [];
    for (const e of ev) {
      for (const n of [e.host, e.peer]) if (n && !hosts.has(n)) hosts.set(n, { name: n });
      if (e.kind === 'conn.open') { open.set(e.conn, e); route.push(e); }
      if (e.kind === 'conn.close') open.delete(e.conn);
    }
    // The state knows the connections open now (including ones still
    // connecting); the trace, how they came to be.
    const live = net.conns ? net.conns.map((c) => ({ conn: c.id, host: c.client, peer: c.server, port: c.port, tls: c.tls, state: c.state }))
      : [...open.values()];
    const busy = new Set(live.flatMap((e) => [e.host, e.peer]));
    const hostList = h('ul', { class: 'smtplab-hosts' }, [...hosts.values()].map((hst) =>
      h('li', { class: `smtplab-host${busy.has(hst.name) ? ' smtplab-busy' : ''}` },
        h('strong', {}, hst.name),
        hst.addrs && hst.addrs.length ? h('span', { class: 'smtplab-addr' }, hst.addrs.join(', ')) : null,
        hst.ports && hst.ports.length ? h('span', { class: 'smtplab-ports' }, `ports ${hst.ports.join(', ')}`) : null,
        hst.down ? h('span', { class: 'smtplab-down', title: 'Its services are stopped: every connection to it is refused at once.' }, 'refusing') : null,
        hst.unreachable ? h('span', { class: 'smtplab-down', title: 'It answers nothing: connections to it time out.' }, 'unreachable') : null)));
    // A live feed may see thousands of connections: the newest 100 show.
    const routeList = route.length
      ? h('ol', { class: 'smtplab-route', start: Math.max(1, route.length - 99) }, route.slice(-100).map((e) => h('li', {}, `${e.host} → ${e.peer}:${e.port}`,
        h('span', { class: 'smtplab-when' }, ` at ${formatTime(e.at)}`))))
      : empty('No connection yet.');
    const liveList = live.length
      ? h('ul', { class: 'smtplab-live' }, live.slice(-100).map((e) => h('li', {}, `${e.conn ? `#${e.conn} ` : ''}${e.host} ⇄ ${e.peer}:${e.port}`,
        e.tls ? ', encrypted (TLS)' : '', e.state && e.state !== 'open' ? ` (${e.state})` : '')))
      : empty('No open connection.');
    const dns = [];
    for (const e of ev) {
      if (e.kind === 'dns.query') dns.push({ q: e, a: null });
      if (e.kind === 'dns.answer') {
        const q = [...dns].reverse().find((d) => !d.a && d.q.name === e.name && d.q.rtype === e.rtype);
        if (q) q.a = e; else dns.push({ q: e, a: e });
      }
    }
    const dnsList = dns.length
      ? h('ul', { class: 'smtplab-dns' }, dns.slice(-100).map(({ q, a }) => h('li', {},
        h('code', {}, `${q.name} ${q.rtype}?`), ' ',
        a ? (a.error ? h('span', { class: 'smtplab-err' }, a.error) : h('code', { class: 'smtplab-answer' }, a.text || '(no records)')) : '…',
        // A validating resolver vouches for the answer: the AD bit (RFC 4035 §3.2.3).
        a && a.attrs && a.attrs.dnssec === 'secure' ? h('span', { class: 'smtplab-dnssec' }, ' (DNSSEC-signed)') : null)))
      : empty('No DNS lookup yet.');
    clear(this.el).append(
      section('Hosts', hostList),
      section('Route taken', routeList),
      section('Live connections', liveList),
      section('DNS lookups', dnsList));
  }
}

// Timeline shows the virtual clock with buttons to let time pass, the
// queue with each message's next retry, and what happened when.
export class Timeline extends Panel {
  constructor(session) {
    super(session, 'timeline', 'Timeline & queue');
    this.clock = h('p', { class: 'smtplab-clock', 'aria-live': 'polite' });
    const btn = (label, seconds) => h('button', {
      type: 'button', class: 'smtplab-advance', 'data-seconds': seconds,
      onclick: () => this.session.advance(seconds).catch(() => {}),
    }, label);
    this.wait = h('input', { type: 'text', id: newId('advance'), class: 'smtplab-advance-for', size: 6, placeholder: '10m', autocomplete: 'off', spellcheck: 'false' });
    this.waitStatus = h('span', { class: 'smtplab-advance-status', role: 'status', id: newId('advance-status') });
    // A time the lab cannot use marks the field itself (aria-invalid, and
    // its border) and names the status as its description, so that coming
    // back to the field says what was wrong; changing it clears the mark.
    const invalid = (text) => {
      this.waitStatus.textContent = text;
      this.wait.setAttribute('aria-invalid', 'true');
      this.wait.setAttribute('aria-describedby', this.waitStatus.id);
    };
    const valid = () => {
      this.wait.removeAttribute('aria-invalid');
      this.wait.removeAttribute('aria-describedby');
    };
    this.wait.addEventListener('input', valid);
    const custom = h('form', { class: 'smtplab-advance-custom' }, h('label', { for: this.wait.id }, 'Let pass'), ' ', this.wait, ' ',
      h('button', { type: 'submit' }, 'Go'), ' ', this.waitStatus);
    custom.addEventListener('submit', (e) => {
      e.preventDefault();
      const seconds = parseDuration(this.wait.value);
      if (!seconds) {
        invalid('Write a time like 90s, 10m or 1h30m.');
        return;
      }
      this.waitStatus.textContent = '';
      valid();
      this.session.advance(seconds).then(() => { this.wait.value = ''; }, (err) => invalid(err.message));
    });
    this.buttons = h('div', { class: 'smtplab-advance-row', role: 'group', 'aria-label': 'Let time pass' },
      btn('+1 min', 60), btn('+30 min', 1800), btn('+4 h', 14400), custom);
    this.body = h('div');
    this.el.append(this.clock, this.buttons, this.body);
  }

  now() {
    const s = this.session.state;
    if (s && typeof s.now === 'number') return s.now;
    const ev = this.session.events;
    return ev.length ? ev[ev.length - 1].at : 0;
  }

  render() {
    const date = this.session.state && this.session.state.date;
    // The clock is a live region: rewritten with the same words, it would
    // be read out again after every reply.
    const clock = `Virtual time: ${formatTime(this.now())} since the start${date ? ` (${date.replace('T', ' ').replace('Z', ' UTC')})` : ''}`;
    if (this.clock.textContent !== clock) this.clock.textContent = clock;
    const queue = (this.session.state && this.session.state.queue) || [];
    // The table scrolls sideways within its box on a narrow screen, where
    // its addresses and errors do not fit.
    const queueView = queue.length
      ? h('div', { class: 'smtplab-queue-scroll', role: 'region', 'aria-label': 'Queue', tabindex: '0' }, h('table', { class: 'smtplab-queue' },
        h('caption', { class: 'smtplab-visually-hidden' }, 'Messages waiting in queues'),
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Host'), h('th', { scope: 'col' }, 'From → to'),
          h('th', { scope: 'col' }, 'Tries'), h('th', { scope: 'col' }, 'Next try'), h('th', { scope: 'col' }, 'Last error'))),
        h('tbody', {}, queue.map((q) => h('tr', {},
          h('td', {}, q.host), h('td', {}, `${q.from || '<>'} → ${(q.to || []).join(', ')}`), h('td', {}, String(q.attempts || 0)),
          h('td', {}, `${formatTime(q.nextRetry)} (in ${formatTime(Math.max(0, q.nextRetry - this.now()))})`), h('td', {}, q.lastError || ''))))))
      : empty('The queue is empty.');
    const shown = this.session.events.filter((e) => e.kind !== 'bytes' && e.kind !== 'smtp.command' && e.kind !== 'smtp.reply');
    const list = shown.length
      ? h('ol', { class: 'smtplab-timeline' }, shown.slice(-200).map((e) => h('li', { class: `smtplab-k-${e.kind.replace('.', '-')}${e.attrs?.action ? ` smtplab-action-${e.attrs.action}` : ''}` },
        h('time', {}, formatTime(e.at)), ' ', h('span', { class: 'smtplab-kind' }, kindLabel(e)), ' ', describe(e))))
      : empty('Nothing has happened yet.');
    clear(this.body).append(section('Queue', queueView), section('What happened', list));
  }
}

// parseDuration reads a time written like the lessons write it ("90s",
// "10m", "1h30m", "2d") into seconds, or returns 0 when it cannot.
export function parseDuration(text) {
  const t = String(text || '').trim().toLowerCase().replace(/\s+/g, '');
  if (!/^(\d+(\.\d+)?(d|h|m|s))+$/.test(t)) return 0;
  const unit = { d: 86400, h: 3600, m: 60, s: 1 };
  let total = 0;
  for (const [, num, , u] of t.matchAll(/(\d+(\.\d+)?)(d|h|m|s)/g)) total += Number(num) * unit[u];
  return total;
}

// describe says what an event is about in one line.
export // kindLabel names an event in the timeline. A DSN is a "bounce" only when
// it reports a failure: it may also say a message was delivered, relayed
// or delayed (RFC 3464 §2.3.3).
function kindLabel(e) {
  const action = e.attrs?.action;
  return e.kind === 'bounce' && action && action !== 'failed' ? `dsn (${action})` : e.kind;
}

function describe(e) {
  const parts = [];
  if (e.host) parts.push(e.host);
  if (e.peer) parts.push(`→ ${e.peer}`);
  if (e.name) parts.push(`${e.name} ${e.rtype || ''}`.trim());
  if (e.rcpt) parts.push(`for ${e.rcpt}`);
  if (e.step) parts.push(e.step);
  if (e.error) parts.push(e.error);
  if (e.text) parts.push(`“${e.text}”`);
  return parts.join(' ');
}

// TLSPanel shows each handshake, its steps and the certificate the server
// showed in it, and the bytes after STARTTLS either as the peers read them
// or as they crossed the wire.
export class TLSPanel extends Panel {
  constructor(session) {
    super(session, 'tls', 'TLS');
    this.cipher = false;
    this.toggle = h('input', { type: 'checkbox', id: newId('tls-cipher') });
    // The toggle lives outside the part redrawn on every change: rebuilt,
    // it would take the keyboard focus down with it.
    this.toggle.addEventListener('change', () => { this.cipher = this.toggle.checked; this.renderBytes(); });
    this.body = h('div');
    this.bytes = h('div');
    this.after = section('After STARTTLS', h('p', {}, this.toggle, ' ', h('label', { for: this.toggle.id }, 'Show the ciphertext on the wire')), this.bytes);
    this.after.hidden = true;
    this.el.append(this.body, this.after);
  }

  render() {
    const all = handshakes(this.session.events);
    this.after.hidden = all.length === 0;
    if (all.length === 0) {
      clear(this.body).append(empty('No TLS yet. Send STARTTLS (after EHLO) on a server that offers it.'));
      return;
    }
    // A relay that retries a failing handshake makes one every few
    // minutes: the latest ones are the ones to read.
    const shown = all.slice(-maxHandshakes);
    const earlier = all.length - shown.length;
    clear(this.body).append(
      ...(earlier ? [h('p', { class: 'smtplab-empty' }, `${earlier} earlier handshake${earlier === 1 ? '' : 's'} not shown.`)] : []),
      ...shown.map(handshakeView));
    this.renderBytes();
  }

  // renderBytes shows the bytes sent after the handshake, as the peers
  // read them or as they crossed the wire.
  renderBytes() {
    const sealed = this.session.events.filter((e) => e.kind === 'bytes' && e.tls);
    const line = (e) => {
      const hex = (e.attrs && e.attrs.cipher_hex) || '';
      // A flight of the handshake carries no text (no plain_size), and is
      // not all ciphertext: the hellos cross in clear, so it is called
      // what it is in both views.
      if (!(e.attrs && e.attrs.plain_size)) return `TLS handshake, ${e.size} bytes on the wire: ${hex}…`;
      return this.cipher ? `${hex}… (${e.size} bytes on the wire)` : e.text || '';
    };
    const bytes = sealed.length
      ? h('ol', { class: `smtplab-tls-bytes smtplab-${this.cipher ? 'cipher' : 'plain'}` }, sealed.slice(-100).map((e) =>
        h('li', {}, h('span', { class: 'smtplab-mark' }, e.dir === 'c2s' ? '~>' : '<~'), ' ', h('code', {}, line(e)))))
      : empty('No encrypted bytes yet.');
    clear(this.bytes).append(bytes);
  }
}

// maxHandshakes is how many handshakes the TLS tab shows, the latest.
const maxHandshakes = 10;

// handshakes splits the tls.step events into handshakes: each begins with
// a client hello, on its own connection.
function handshakes(events) {
  const out = [];
  const current = new Map(); // by connection
  for (const e of events) {
    if (e.kind !== 'tls.step') continue;
    let hs = current.get(e.conn);
    if (!hs || e.step === 'client-hello') {
      hs = { conn: e.conn, client: '', server: '', steps: [] };
      current.set(e.conn, hs);
      out.push(hs);
    }
    if (e.step === 'client-hello') hs.client = e.host, hs.server = e.peer;
    hs.steps.push(e);
  }
  return out;
}

// handshakeView shows one handshake: its steps, then what it showed of the
// server's certificate and what came of it, from its own steps only, so a
// fact of another handshake (a relay's DANE record, another host's name)
// never shows under this one.
function handshakeView(hs) {
  // Each step's text says what it brings; the version and cipher are in
  // the server hello's (and below, under the certificate), once.
  const stepList = h('ol', { class: 'smtplab-tls-steps' }, hs.steps.map((e) => h('li', { class: e.step === 'failed' ? 'smtplab-err' : '' },
    h('strong', {}, e.step), e.text ? ` ${e.text}` : '')));
  const facts = {};
  for (const e of hs.steps) Object.assign(facts, e.attrs || {});
  const rows = [['Subject', facts.subject], ['Names in it', facts.names && facts.names.split(',').join(', ')], ['Issuer', facts.issuer],
    ['Valid from', facts.not_before], ['Valid until', facts.not_after],
    ['Server name asked for (SNI)', facts.sni || (hs.client ? 'none sent' : '')], ['Version', facts.version],
    ['Cipher suite', facts.cipher], ['Verification', facts.verify], ['DANE record (TLSA)', facts.tlsa]].filter(([, v]) => v);
  const cert = rows.length ? h('dl', { class: 'smtplab-cert' }, rows.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])) : empty('No certificate seen.');
  const who = hs.client ? `${hs.client} to ${hs.server}` : 'Handshake';
  return section(`${who} (connection ${hs.conn})`, stepList, cert);
}

// Mailbox lists delivered messages per mailbox: the Received: chain (the
// route read bottom-up), the text, the raw source, and a .eml download. Above them, a
// small mail client hands a whole message to the scenario's server (the
// engine submits it: STARTTLS and AUTH on port 587 when the server has it).
export class Mailbox extends Panel {
  // compose: false leaves the mail client out (the live view has no
  // world of its own to submit to).
  constructor(session, { compose = true } = {}) {
    super(session, 'mailbox', 'Mailbox');
    this.list = h('div', { class: 'smtplab-mailboxes' });
    this.shown = null; // what the list shows, so an unchanged list keeps its open details
    if (compose) this.el.append(this.compose());
    this.el.append(this.list);
  }

  compose() {
    const field = (name, label, attrs = {}) => {
      const id = newId(`compose-${name}`);
      const input = name === 'body' ? h('textarea', { id, name, rows: 4, ...attrs }) : h('input', { id, name, type: 'text', ...attrs });
      return [h('label', { for: id }, label), input];
    };
    const status = h('p', { class: 'smtplab-compose-status', role: 'status' });
    const [filesLabel, picker] = field('files', 'Attach files', { type: 'file', multiple: true });
    const attached = new Attachments(picker, status);
    const form = h('form', { class: 'smtplab-compose' },
      field('from', 'From', { placeholder: 'alice@example.com', autocomplete: 'off' }),
      field('to', 'To (comma separated)', { placeholder: 'bob@example.org', autocomplete: 'off' }),
      field('subject', 'Subject', { value: 'Hello' }),
      field('body', 'Text'),
      filesLabel, picker, attached.list,
      h('div', {}, h('button', { type: 'submit' }, 'Send with the mail client')), status);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const f = new FormData(form);
      try {
        const msg = {
          from: String(f.get('from') || '').trim(),
          to: String(f.get('to') || '').split(',').map((s) => s.trim()).filter(Boolean),
          subject: String(f.get('subject') || ''),
          body: String(f.get('body') || ''),
        };
        const sending = [...attached.files];
        const files = await attached.read(sending);
        if (files.length) msg.attachments = files;
        await this.session.submit(msg);
        // The mail client has the message: the next one starts without
        // its files (a file chosen while it was sent stays). A message it
        // refused keeps them, to send again once mended.
        attached.remove(sending);
        status.textContent = 'Handed to the mail client: see the transcript and the timeline.';
      } catch (err) {
        status.textContent = err.message;
      }
    });
    return h('details', { class: 'smtplab-compose-box' }, h('summary', {}, 'Write a message with a mail client'), form);
  }

  render() {
    const boxes = mailboxes(this.session.state);
    const key = boxes.map((b) => `${b.host}/${b.name}:${b.messages.length}:${b.messages.length ? b.messages[b.messages.length - 1].id : ''}`).join('|');
    if (key === this.shown) return;
    this.shown = key;
    const count = boxes.reduce((n, b) => n + b.messages.length, 0);
    if (count === 0) {
      clear(this.list).append(empty('No message delivered yet.'));
      return;
    }
    // A delivery that comes while the learner reads a message must not
    // close what they read: the views open now (and the one with the
    // keyboard focus) are open again after the rebuild, matched by mailbox,
    // message and view.
    const open = new Set([...this.list.querySelectorAll('details[open][data-view]')].map((d) => d.dataset.view));
    const focused = this.list.contains(document.activeElement) ? document.activeElement.closest('details[data-view]') : null;
    const refocus = focused && document.activeElement === focused.querySelector('summary') ? focused.dataset.view : null;
    const safe = (s) => s.replace(/[^\w.@-]/g, '_');
    // What each host's checks found of each message it delivered, while
    // the trace still has its delivery event.
    const checks = new Map();
    for (const e of this.session.events) if (e.kind === 'delivery' && e.attrs) checks.set(`${e.host} ${e.msg}`, e.attrs);
    append(clear(this.list), boxes.filter((b) => b.messages.length).map((b) => section(`${b.name} (${b.host})`,
      b.messages.length > MAX_SHOWN ? h('p', { class: 'smtplab-empty' }, `The newest ${MAX_SHOWN} of ${b.messages.length} messages (the .mbox below has them all).`) : null,
      h('ol', { class: 'smtplab-messages' }, b.messages.slice(-MAX_SHOWN).map((m, i) => {
        const view = (name) => {
          const key = `${b.host}/${b.name}/${m.id || i}/${name}`;
          return { 'data-view': key, open: open.has(key) };
        };
        const received = m.received || headers(m.raw).filter(([k]) => k === 'received').map(([, v]) => v);
        const junk = junkReason(m.raw, b.host, checks.get(`${b.host} ${m.id}`));
        return h('li', { class: 'smtplab-message' },
          h('p', {}, junk ? [h('span', { class: 'smtplab-junk-badge' }, 'Junk'), ' '] : null,
            // The sender's words, each isolated (<bdi>): a right-to-left
            // override in a Subject would turn the sender and the date
            // after it around.
            h('bdi', {}, h('strong', {}, m.subject || '(no subject)')), ' from ', h('bdi', {}, m.from || '<>'),
            m.deliveredAt ? h('span', { class: 'smtplab-when' }, `, delivered ${m.deliveredAt.replace('T', ' ').replace('Z', ' UTC')}`) : ''),
          junk ? h('p', { class: 'smtplab-junk-why' }, junk) : null,
          received.length ? h('details', view('received'), h('summary', {}, `Received: chain (${received.length} ${received.length === 1 ? 'hop' : 'hops'}, newest first)`),
            h('ol', { class: 'smtplab-received' }, received.map((v) => h('li', {}, h('code', {}, v))))) : null,
          m.attachments && m.attachments.length ? h('div', { class: 'smtplab-message-attachments' }, 'Attachments:',
            h('ul', {}, m.attachments.map((a) => h('li', {}, h('bdi', {}, a.name || '(no name)'), ' (', h('bdi', {}, a.type), `, ${formatSize(a.size)})`)))) : null,
          // The text as a mail program shows it, decoded by the engine
          // (quoted-printable, base64, the charset), beside the raw source
          // that shows how it went over the wire. Each box scrolls a long
          // message inside itself (lab.css), so it is a tab stop, as the
          // queue is: the keyboard scrolls it too (WCAG 2.1.1).
          h('details', view('text'), h('summary', {}, 'Text'),
            m.textNote ? h('p', { class: 'smtplab-empty' }, m.textNote) : null,
            m.text ? h('pre', { class: 'smtplab-message-text', role: 'region', 'aria-label': 'Text of the message', tabindex: '0' }, m.text) : null),
          h('details', view('raw'), h('summary', {}, 'Raw source'),
            h('pre', { class: 'smtplab-raw', role: 'region', 'aria-label': 'Raw source of the message', tabindex: '0' }, m.raw)),
          h('button', { type: 'button', onclick: () => download(`${safe(b.name)}-${safe(m.id || String(i + 1))}.eml`, 'message/rfc822', m.raw) }, 'Download .eml'));
      })),
      b.mbox ? h('button', { type: 'button', onclick: () => download(`${safe(b.name)}.mbox`, 'application/mbox', b.mbox) }, 'Download the mailbox (.mbox)') : null)));
    if (refocus) {
      const summary = [...this.list.querySelectorAll('details[data-view]')].find((d) => d.dataset.view === refocus)?.querySelector('summary');
      if (summary) summary.focus();
    }
  }
}

// MAX_SHOWN bounds the messages shown per mailbox: a mail catcher under
// load holds thousands.
const MAX_SHOWN = 50;

// MAX_ATTACHMENT_BYTES is what the engine's mail client takes in files per
// message (lab.MaxAttachmentBytes): a larger file is refused as it is
// chosen, before the page reads it.
const MAX_ATTACHMENT_BYTES = 256 * 1024;

// Attachments are the files chosen in the mail client: listed with their
// sizes and a button to remove each, and read only when the message is
// sent. They are read here, in the page, and go to the engine, which runs
// in the page too: no file leaves the learner's computer.
class Attachments {
  constructor(picker, status) {
    this.files = [];
    this.picker = picker;
    this.list = h('ul', { class: 'smtplab-attach-list', 'aria-label': 'Files to attach', hidden: true });
    picker.addEventListener('change', () => {
      for (const file of picker.files) {
        if (file.size > MAX_ATTACHMENT_BYTES) {
          status.textContent = `${file.name} is ${formatSize(file.size)}; the lab's mail client takes at most ${formatSize(MAX_ATTACHMENT_BYTES)} of files per message.`;
        } else {
          this.files.push(file);
        }
      }
      picker.value = ''; // the same file may be chosen again, after a change
      this.show();
    });
  }

  show() {
    clear(this.list).append(...this.files.map((file, i) => h('li', {}, `${file.name} (${formatSize(file.size)}) `,
      h('button', {
        type: 'button', class: 'smtplab-attach-remove', 'aria-label': `Remove ${file.name}`,
        onclick: () => { this.files.splice(i, 1); this.show(); this.picker.focus(); },
      }, 'Remove'))));
    this.list.hidden = this.files.length === 0;
  }

  // remove takes the files sent off the list.
  remove(sent) {
    this.files = this.files.filter((file) => !sent.includes(file));
    this.show();
  }

  // read resolves to files as the engine takes them: name, media type
  // and content in base64. An .eml file is message/rfc822, which MIME
  // does not allow in base64 (RFC 2045 §6.4): it goes as plain bytes.
  read(files) {
    return Promise.all(files.map(async (file) => ({
      name: file.name,
      type: /^(multipart|message)\//i.test(file.type) ? 'application/octet-stream' : file.type,
      content: toBase64(new Uint8Array(await file.arrayBuffer())),
    })));
  }
}

// mailboxes reads the state's mailboxes into [{name, host, messages:[{raw}]}].
export function mailboxes(state) {
  const out = [];
  for (const b of (state && state.mailboxes) || []) {
    out.push({
      name: b.owner || '',
      mbox: b.mbox || '',
      host: b.host || '',
      messages: b.messages || [],
    });
  }
  return out;
}

// junkReason says in one sentence why a delivered message is junk, or
// returns null when it is not. A host that quarantines a message (its
// From: domain fails DMARC and publishes p=quarantine) delivers it with
// X-Spam-Flag: YES on top, for the recipient's mail program to file it as
// junk, and writes why in Authentication-Results (RFC 8601) just below;
// the delivery event's attrs (checks), when the trace still has it, say
// the same. host is the host that delivered the message. A message that
// came with the field from its sender is junk too, for a mail program.
export function junkReason(raw, host, checks = {}) {
  const fields = headers(raw);
  const field = (name) => (fields.find(([k]) => k === name) || [])[1] || '';
  if (field('x-spam-flag').toUpperCase() !== 'YES') return null;
  const results = field('authentication-results'); // the newest: the delivering host's
  const found = (re) => (results.match(re) || [])[1];
  const dmarc = checks.dmarc || found(/\bdmarc=(\w+)/);
  const disposition = checks.disposition || found(/\bdis=(\w+)/);
  if (dmarc !== 'fail' || disposition !== 'quarantine') {
    return 'It carries X-Spam-Flag: YES, which mail programs take as "file this as junk".';
  }
  const domain = found(/\bheader\.from=([^\s;]+)/);
  return `${host} marked it as junk: it fails DMARC for its From: domain${domain ? `, ${domain}` : ''} (no SPF or DKIM pass ` +
    'for that domain), whose policy asks to quarantine such mail (p=quarantine, RFC 7489 §6.3).';
}

// headers returns a message's header fields as [lower-case name, unfolded
// value] pairs, in order.
export function headers(raw) {
  const head = String(raw || '').split(/\r?\n\r?\n/)[0];
  const out = [];
  for (const line of head.split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && out.length) out[out.length - 1][1] += ` ${line.trim()}`;
    else {
      const i = line.indexOf(':');
      if (i > 0) out.push([line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim()]);
    }
  }
  return out;
}
