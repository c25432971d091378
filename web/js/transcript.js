// The transcript: the SMTP conversation swaks-style, "->" for what the
// client sent and "<-" for what the server answered ("~>" and "<~" once
// the connection is encrypted). Every reply opens to its explanation. A
// reply the server sent that never reached the client (the connection
// broke on the way) is shown faded and says so.

import { h, clear } from './dom.js';
import { explain } from './engine.js';

export class Transcript {
  constructor(session, table, { live, max = 0, announceEvery = 0 } = {}) {
    this.session = session;
    this.table = table;
    this.live = live; // an aria-live element announcing new replies
    this.max = max; // lines kept (the oldest go first); 0 keeps all
    // The live region speaks at most once every announceEvery ms (see
    // announce); 0 speaks after every action.
    this.announceEvery = announceEvery;
    this.pending = null;
    this.timer = 0;
    this.saidAt = -Infinity;
    this.el = h('div', { class: 'smtplab-transcript', role: 'region', 'aria-label': 'Transcript', tabindex: '0' });
    this.list = h('ol', { class: 'smtplab-lines' });
    this.el.append(this.list);
    session.addEventListener('reset', () => this.reset());
    session.addEventListener('events', (e) => this.add(e.detail, true));
    this.reset();
  }

  reset() {
    clearTimeout(this.timer);
    this.timer = 0;
    this.pending = null;
    clear(this.list);
    this.conns = new Map(); // conn id → {tls, awaiting (message text expected, not commands), BDAT chunks (see chunks)}
    this.lastConn = 0;
    this.terminalConn = 0; // the terminal's connection, as of the last events
    this.add(this.session.events, false);
  }

  conn(id) {
    if (!this.conns.has(id)) {
      // A live feed sees connection after connection: forget closed ones
      // once there are many.
      if (this.conns.size >= 1000) for (const [k, c] of this.conns) if (c.closed) this.conns.delete(k);
      this.conns.set(id, { tls: false, awaiting: false, closed: false, host: '', peer: '', chunkLeft: 0, chunks: [] });
    }
    return this.conns.get(id);
  }

  add(events, announce) {
    const replies = [];
    for (const e of events) {
      const r = this.event(e);
      if (r) replies.push(r);
    }
    if (this.max) while (this.list.childElementCount > this.max) this.list.firstElementChild.remove();
    this.el.scrollTop = this.el.scrollHeight;
    // The terminal's replies came on the connection it had before these
    // events (a QUIT's 221 closes it) or on the one it has now (a line
    // that connected first).
    const l = this.session.state && this.session.state.learner;
    const now = l && l.connected ? l.conn : 0;
    const terminal = new Set([this.terminalConn, now].filter(Boolean));
    this.terminalConn = now;
    if (announce && this.live && replies.length) this.announce(replies, terminal);
  }

  // announce has the live region say what replies an action brought: the
  // last on the terminal's connection in full, the others counted. A feed
  // of real sessions brings batch after batch under load, and a screen
  // reader that read each would read nothing else; with announceEvery it
  // speaks at most that often, summing up what came in between.
  announce(replies, terminal) {
    const p = this.pending || (this.pending = { mine: null, others: 0, last: null });
    for (const r of replies) {
      if (terminal.has(r.e.conn)) p.mine = r;
      else {
        p.others++;
        p.last = r;
      }
    }
    if (this.timer) return;
    const wait = this.saidAt + this.announceEvery - performance.now();
    if (wait > 0) this.timer = setTimeout(() => this.speak(), wait);
    else this.speak();
  }

  speak() {
    this.timer = 0;
    this.saidAt = performance.now();
    if (this.pending) this.live.textContent = say(this.pending);
    this.pending = null;
  }

  line(cls, mark, text, conn) {
    if (conn && this.conns.size > 1 && conn !== this.lastConn) {
      const c = this.conn(conn);
      this.list.append(h('li', { class: 'smtplab-conn-header' }, `connection ${conn}: ${c.host} → ${c.peer}`));
    }
    if (conn) this.lastConn = conn;
    const li = h('li', { class: `smtplab-line ${cls}` }, said(mark), h('span', { class: 'smtplab-mark', 'aria-hidden': 'true' }, mark), ' ', h('span', { class: 'smtplab-text' }, text));
    this.list.append(li);
    return li;
  }

  note(text, conn) {
    return this.line('smtplab-note', '*', text, conn);
  }

  // event shows one trace event; for a reply it returns what say needs.
  event(e) {
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
        this.conn(e.conn).closed = true;
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
        const mark = c.tls ? '~>' : '->';
        this.line('smtplab-client', mark, visible(e.text), e.conn);
        // The chunk that came with this BDAT, under it, as DATA's text
        // comes under the 354.
        if (e.verb === 'BDAT' && c.chunks.length) this.dataLines(c.chunks.shift(), mark, e.conn, CHUNK_ENDS);
        break;
      }
      case 'bytes': {
        // Lines that are not commands: the message after DATA. Commands
        // and answers to AUTH challenges come as smtp.command events instead,
        // but bytes that are not clean CRLF lines (raw mode, a faulty
        // client) are shown as they were, escapes and all.
        const c = this.conn(e.conn);
        // Handshake records carry ciphertext, not lines.
        if (e.dir !== 'c2s' || (e.tls && !(e.attrs && e.attrs.plain_size))) break;
        const mark = c.tls ? '~>' : '->';
        if (c.awaiting) {
          this.dataLines(e.text, mark, e.conn, 'no CR LF yet: the server waits for the end of this line');
          break;
        }
        const commands = this.chunks(c, e, mark);
        if (commands !== '' && !isCleanLines(commands) && !(e.attrs && e.attrs.truncated)) {
          this.line('smtplab-client smtplab-raw-bytes', mark, ['bytes: ', visible(e.text)], e.conn);
        }
        break;
      }
      case 'smtp.reply': {
        const c = this.conn(e.conn);
        // After 354 the client sends message text, which only bytes
        // events carry. Answers to a 334 challenge come as smtp.command
        // events (verb AUTH) as well as bytes: shown once, as commands.
        if (!lost(e)) c.awaiting = e.code === 354;
        return this.reply(e, c);
      }
      case 'note':
      case 'fault':
        this.note(e.text || e.kind, e.conn);
        break;
      default:
        break;
    }
  }

  // dataLines shows text the server reads as a message's content, line by
  // line; a last line without its CR LF says why in its title.
  dataLines(text, mark, conn, openTitle) {
    for (const l of crlfLines(text)) {
      const li = this.line(`smtplab-client smtplab-data${l.bare ? ' smtplab-bare' : ''}${l.open ? ' smtplab-open' : ''}`, mark, visible(l.text), conn);
      if (l.open) li.title = openTitle;
    }
  }

  // chunks takes the BDAT chunks out of bytes a client sent where the
  // server reads commands, and returns the rest, the command lines. A
  // chunk is the count of octets its BDAT names (RFC 3030 §2), which no
  // command event carries: each waits in c.chunks until its BDAT is shown,
  // and a chunk whose BDAT came in an earlier write shows at once. The
  // count is of octets, so the text is measured as UTF-8; octets a long
  // write's event left out are taken as chunk octets.
  chunks(c, e, mark) {
    const truncated = Boolean(e.attrs && e.attrs.truncated);
    const bytes = UTF8.encode(truncated ? String(e.text || '').replace(/…$/, '') : String(e.text || ''));
    let commands = '';
    let i = 0;
    while (i < bytes.length) {
      if (c.chunkLeft > 0) {
        const part = DECODE(bytes.subarray(i, i + c.chunkLeft));
        const n = Math.min(c.chunkLeft, bytes.length - i);
        c.chunkLeft -= n;
        i += n;
        if (c.chunks.length) c.chunks[c.chunks.length - 1] += part;
        else this.dataLines(part, mark, e.conn, CHUNK_ENDS);
        continue;
      }
      let end = bytes.indexOf(0x0a, i);
      end = end < 0 ? bytes.length : end + 1;
      const line = DECODE(bytes.subarray(i, end));
      commands += line;
      i = end;
      // Whatever follows the count, LAST or not: the server skips the
      // chunk of a BDAT whose count it could read, even one it refuses
      // (engine/server's bdat).
      const bdat = /^BDAT +(\d+)(?: [^\r\n]*)?\r\n$/i.exec(line);
      if (bdat) {
        c.chunkLeft = Number(bdat[1]);
        c.chunks.push('');
      }
    }
    if (truncated) {
      const size = Number((e.attrs && e.attrs.plain_size) || e.size) || 0;
      c.chunkLeft = Math.max(0, c.chunkLeft - Math.max(0, size - bytes.length));
    }
    return commands;
  }

  reply(e, c) {
    const lines = replyLines(e);
    const x = explain(this.table, e.reason, e.code);
    const gone = lost(e);
    const cls = `smtplab-reply smtplab-r${String(e.code)[0]}${gone ? ' smtplab-lost' : ''}`;
    if (e.conn && this.conns.size > 1 && e.conn !== this.lastConn) this.line('', '', '', e.conn).remove();
    const mark = c.tls ? '<~' : '<-';
    const summary = h('summary', {}, lines.map((l, i) => h('span', { class: 'smtplab-rl' },
      i === 0 ? (gone ? hidden(LOST[mark]) : said(mark)) : null, h('span', { class: 'smtplab-mark', 'aria-hidden': 'true' }, mark), ' ', h('span', { class: 'smtplab-text' }, visible(l)),
      gone && i === lines.length - 1 ? h('span', { class: 'smtplab-lost-note' }, ` ${LOST_WORDS}`) : null)));
    const body = x ? h('dl', { class: 'smtplab-explain' },
      h('dt', {}, this.table.labels.meaning), h('dd', {}, x.meaning),
      h('dt', {}, this.table.labels.next), h('dd', {}, x.next),
      h('dt', {}, this.table.labels.rfc), h('dd', {}, x.rfc)) : h('p', {}, 'No explanation for this reply.');
    const details = h('details', {}, summary, body);
    details.addEventListener('toggle', () => { if (details.open) body.scrollIntoView({ block: 'nearest' }); });
    const li = h('li', { class: `smtplab-line ${cls}`, 'data-code': e.code, 'data-reason': e.reason || '' }, details);
    this.list.append(li);
    if (e.conn) this.lastConn = e.conn;
    if (gone) li.title = `The server sent this reply, but it never reached ${e.peer || 'the client'}: the connection broke on the way.`;
    return { e, lines, x, gone };
  }
}

// say puts the replies some events brought into words for the live
// region: the last one on the terminal's connection in full, with its
// meaning, which is what a learner who typed a line waits for; the others
// (the mail client's session, a relay's, all at once) counted, with the
// last of them and who sent it. Read one by one they would bury the reply
// that matters, and the transcript has them all.
function say({ mine, others, last }) {
  const words = [];
  if (mine) {
    words.push(mine.gone ? `The server sent ${mine.lines.join(' ')}, ${LOST_WORDS}.`
      : `Server replied ${mine.lines.join(' ')}. ${mine.x ? mine.x.meaning : ''}`);
  }
  if (last) {
    const from = last.e.host ? ` from ${last.e.host}${last.e.peer ? ` to ${last.e.peer}` : ''}` : '';
    const what = `${last.lines[last.lines.length - 1]}${last.gone ? `, ${LOST_WORDS}` : ''}`;
    const where = mine ? 'in other sessions' : 'in the transcript';
    words.push(others === 1 ? `A reply ${where}${from}: ${what}.` : `${others} replies ${where}; the last${from}: ${what}.`);
  }
  return words.join(' ');
}

// WHO says in words who a direction mark stands for. The marks are hidden
// from screen readers (read aloud they are noise), so these words, hidden
// from the eye, take their place.
const WHO = { '->': 'Client: ', '~>': 'Client, encrypted: ', '<-': 'Server: ', '<~': 'Server, encrypted: ', '*': 'Note: ' };

// LOST says, for screen readers, whose reply was lost on the way, and
// LOST_WORDS says it on the line itself.
const LOST = { '<-': 'Server, never received: ', '<~': 'Server, encrypted, never received: ' };
const LOST_WORDS = '(sent by the server, never received)';

// lost reports whether a reply was sent but never reached the client
// (engine/trace's attribute lost).
export function lost(e) {
  return !!(e.attrs && e.attrs.lost === 'true');
}

// said returns the words for a mark, for screen readers only.
function said(mark) {
  return WHO[mark] ? hidden(WHO[mark]) : null;
}

// hidden returns words for screen readers only.
function hidden(words) {
  return h('span', { class: 'smtplab-visually-hidden' }, words);
}

// crlfLines splits what a client sent into lines the way a server does:
// only CR LF ends a line. A line holding a bare CR or LF (or a NUL) is
// marked bare; text after the last CR LF is marked open (no line end yet).
export function crlfLines(text) {
  const parts = String(text || '').split('\r\n');
  const tail = parts.pop();
  const out = parts.map((p) => ({ text: p, bare: /[\r\n\0]/.test(p), open: false }));
  if (tail !== '') out.push({ text: tail, bare: /[\r\n\0]/.test(tail), open: true });
  return out;
}

// CHUNK_ENDS is the title of a chunk's last line when the chunk ends
// inside it: BDAT counts octets, not lines.
const CHUNK_ENDS = 'the chunk ends here, inside a line: the next chunk goes on with it';

// UTF8 and DECODE turn text into the octets BDAT counts and back.
const UTF8 = new TextEncoder();
const DECODE = (b) => new TextDecoder().decode(b);

// isCleanLines reports whether text is whole lines ending in CR LF, with no
// bare CR, bare LF or NUL: what a well-behaved client sends.
export function isCleanLines(text) {
  const t = String(text || '');
  return t.endsWith('\r\n') && !/[\r\n\0]/.test(t.replaceAll('\r\n', ''));
}

// ESCAPES name the invisible bytes the way raw mode writes them.
const ESCAPES = { '\r': ['\\r', 'a bare carriage return (CR)'], '\n': ['\\n', 'a bare line feed (LF)'], '\0': ['\\0', 'a NUL byte'] };

// HIDDEN matches a character that shows as nothing, or that moves the
// text around it, so that a line would not show what was sent: a control
// character other than TAB, CR, LF and NUL (ESC, which a terminal obeys,
// say), DEL, a C1 control, or one of Unicode's invisible formatting
// characters (zero-width spaces and joiners, the marks, embeddings,
// overrides and isolates of bidirectional text, the byte order mark).
const HIDDEN = /[\x01-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/;

// hiddenEscape returns how visible shows a character HIDDEN matches: as
// JavaScript writes it in a string, \x1b or \u202e.
function hiddenEscape(c) {
  const n = c.charCodeAt(0);
  return n < 0x100 ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16).padStart(4, '0')}`;
}

// visible returns text as nodes where the invisible bytes show as raw
// mode's escapes: a CR LF pair as \r\n, a bare CR, bare LF or NUL
// highlighted as the fault it is, and any other character that shows as
// nothing (see HIDDEN) as its escape.
export function visible(text) {
  const t = String(text || '');
  const out = [];
  let plain = '';
  const flush = () => { if (plain) out.push(plain); plain = ''; };
  for (let i = 0; i < t.length; i++) {
    if (t[i] === '\r' && t[i + 1] === '\n') {
      flush();
      out.push(h('span', { class: 'smtplab-esc', title: 'CR LF, the end of a line' }, '\\r\\n'));
      i++;
    } else if (ESCAPES[t[i]]) {
      flush();
      out.push(h('span', { class: 'smtplab-esc smtplab-bare', title: ESCAPES[t[i]][1] }, ESCAPES[t[i]][0]));
    } else if (HIDDEN.test(t[i])) {
      flush();
      const code = `U+${t.charCodeAt(i).toString(16).toUpperCase().padStart(4, '0')}`;
      out.push(h('span', { class: 'smtplab-esc', title: `${code}, a character that shows as nothing or moves the text around it` }, hiddenEscape(t[i])));
    } else {
      plain += t[i];
    }
  }
  flush();
  return out;
}

// splitLines splits text into lines, dropping the final CRLF.
export function splitLines(text) {
  const t = String(text || '').replace(/\r?\n$/, '');
  return t === '' ? [''] : t.split(/\r?\n/);
}

// replyLines returns the reply as it looked on the wire: "250-first",
// "250 2.0.0 last", the enhanced status code (RFC 3463) on every line. The
// engine may give the text with or without the codes.
export function replyLines(e) {
  const lines = splitLines(e.text);
  const code = String(e.code);
  if (lines.every((l) => l.startsWith(code))) return lines;
  const enhanced = e.enhanced ? `${e.enhanced} ` : '';
  return lines.map((l, i) => `${code}${i < lines.length - 1 ? '-' : ' '}${enhanced}${l}`);
}
