// The transcript: the SMTP conversation swaks-style, "->" for what the
// client sent and "<-" for what the server answered ("~>" and "<~" once
// the connection is encrypted). Every reply opens to its explanation.

import { h, clear } from './dom.js';
import { explain } from './engine.js';

export class Transcript {
  constructor(session, table, { live } = {}) {
    this.session = session;
    this.table = table;
    this.live = live; // an aria-live element announcing new replies
    this.el = h('div', { class: 'transcript', role: 'region', 'aria-label': 'Transcript', tabindex: '0' });
    this.list = h('ol', { class: 'lines' });
    this.el.append(this.list);
    session.addEventListener('reset', () => this.reset());
    session.addEventListener('events', (e) => this.add(e.detail, true));
    this.reset();
  }

  reset() {
    clear(this.list);
    this.conns = new Map(); // conn id → {tls, awaiting (client text expected, not commands)}
    this.lastConn = 0;
    this.add(this.session.events, false);
  }

  conn(id) {
    if (!this.conns.has(id)) this.conns.set(id, { tls: false, awaiting: false, host: '', peer: '' });
    return this.conns.get(id);
  }

  add(events, announce) {
    for (const e of events) this.event(e, announce);
    this.el.scrollTop = this.el.scrollHeight;
  }

  line(cls, mark, text, conn) {
    if (conn && this.conns.size > 1 && conn !== this.lastConn) {
      const c = this.conn(conn);
      this.list.append(h('li', { class: 'conn-header' }, `connection ${conn}: ${c.host} → ${c.peer}`));
    }
    if (conn) this.lastConn = conn;
    const li = h('li', { class: `line ${cls}` }, h('span', { class: 'mark', 'aria-hidden': 'true' }, mark), ' ', h('span', { class: 'text' }, text));
    this.list.append(li);
    return li;
  }

  note(text, conn) {
    return this.line('note', '*', text, conn);
  }

  event(e, announce) {
    switch (e.kind) {
      case 'conn.open': {
        const c = this.conn(e.conn);
        c.host = e.host || '';
        c.peer = e.peer || '';
        this.note(`${e.host} connected to ${e.text || `${e.peer}:${e.port}`}`, e.conn);
        break;
      }
      case 'conn.refused':
        this.note(`${e.peer}:${e.port} refused the connection${e.text ? ` (${e.text})` : ''}`);
        break;
      case 'conn.close':
        this.note(`connection closed${e.text ? `: ${e.text}` : ''}`, e.conn);
        break;
      case 'tls.step': {
        const c = this.conn(e.conn);
        if (e.step === 'finished') c.tls = true;
        this.note(`TLS ${e.step}${e.text ? `: ${e.text}` : ''}`, e.conn);
        break;
      }
      case 'smtp.command': {
        const c = this.conn(e.conn);
        this.line('client', c.tls ? '~>' : '->', e.text || '', e.conn);
        break;
      }
      case 'bytes': {
        // Lines that are not commands: the message after DATA, answers to
        // AUTH challenges. Commands come as smtp.command events instead.
        const c = this.conn(e.conn);
        if (e.dir === 'c2s' && c.awaiting) {
          for (const l of splitLines(e.text)) this.line('client data', c.tls ? '~>' : '->', l, e.conn);
        }
        break;
      }
      case 'smtp.reply': {
        const c = this.conn(e.conn);
        c.awaiting = e.code === 354 || e.code === 334;
        this.reply(e, c, announce);
        break;
      }
      case 'note':
      case 'fault':
        this.note(e.text || e.kind, e.conn);
        break;
      default:
        break;
    }
  }

  reply(e, c, announce) {
    const lines = replyLines(e);
    const x = explain(this.table, e.reason, e.code);
    const cls = `reply r${String(e.code)[0]}`;
    if (e.conn && this.conns.size > 1 && e.conn !== this.lastConn) this.line('hidden', '', '', e.conn).remove();
    const summary = h('summary', {}, lines.map((l) => h('span', { class: 'rl' },
      h('span', { class: 'mark', 'aria-hidden': 'true' }, c.tls ? '<~' : '<-'), ' ', h('span', { class: 'text' }, l))));
    const body = x ? h('dl', { class: 'explain' },
      h('dt', {}, this.table.labels.meaning), h('dd', {}, x.meaning),
      h('dt', {}, this.table.labels.next), h('dd', {}, x.next),
      h('dt', {}, this.table.labels.rfc), h('dd', {}, x.rfc)) : h('p', {}, 'No explanation for this reply.');
    const details = h('details', {}, summary, body);
    details.addEventListener('toggle', () => { if (details.open) body.scrollIntoView({ block: 'nearest' }); });
    const li = h('li', { class: `line ${cls}`, 'data-code': e.code, 'data-reason': e.reason || '' }, details);
    this.list.append(li);
    if (e.conn) this.lastConn = e.conn;
    if (announce && this.live) {
      this.live.textContent = `Server replied ${lines.join(' ')}. ${x ? x.meaning : ''}`;
    }
  }
}

// splitLines splits text into lines, dropping the final CRLF.
export function splitLines(text) {
  const t = String(text || '').replace(/\r?\n$/, '');
  return t === '' ? [''] : t.split(/\r?\n/);
}

// replyLines returns the reply as it looked on the wire: "250-first",
// "250 last". The engine may give the text with or without the codes.
export function replyLines(e) {
  const lines = splitLines(e.text);
  const code = String(e.code);
  if (lines.every((l) => l.startsWith(code))) return lines;
  return lines.map((l, i) => `${code}${i < lines.length - 1 ? '-' : ' '}${l}`);
}
