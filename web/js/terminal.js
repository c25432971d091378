// The terminal: one line at a time as the client on the learner's
// connection. ↑/↓ walk the history, Tab completes SMTP verbs, and pasting
// several lines (a whole message after DATA) sends them one by one. The
// engine ends every line with CRLF, as SMTP requires.

import { h } from './dom.js';

export const VERBS = ['EHLO ', 'HELO ', 'MAIL FROM:<', 'RCPT TO:<', 'DATA', 'BDAT ', 'RSET', 'NOOP',
  'QUIT', 'VRFY ', 'EXPN ', 'HELP', 'STARTTLS', 'AUTH PLAIN ', 'AUTH LOGIN'];

// complete returns the completion of a partly typed verb: the full verb
// when one matches, the longest common prefix when several do, or null.
export function complete(text) {
  const up = text.toUpperCase();
  if (up === '') return null;
  const hits = VERBS.filter((v) => v.startsWith(up) && v !== up);
  if (hits.length === 0) return null;
  if (hits.length === 1) return { text: hits[0], options: hits };
  let p = hits[0];
  for (const v of hits) while (!v.startsWith(p)) p = p.slice(0, -1);
  return { text: p.length > up.length ? p : text, options: hits };
}

export class Terminal {
  constructor(session, { id = 'terminal-input' } = {}) {
    this.session = session;
    this.history = [];
    this.pos = 0;
    this.pending = [];
    this.input = h('input', {
      id, type: 'text', class: 'terminal-input', autocomplete: 'off', autocapitalize: 'off',
      spellcheck: 'false', disabled: true, 'aria-describedby': `${id}-hint`, enterkeyhint: 'send',
    });
    this.hint = h('p', { class: 'terminal-hint', id: `${id}-hint` }, 'Waiting for the engine…');
    this.form = h('form', { class: 'terminal', onsubmit: (e) => { e.preventDefault(); this.send(); } },
      h('label', { for: id }, 'Type a line as the client'),
      h('div', { class: 'prompt-row' }, h('span', { class: 'prompt', 'aria-hidden': 'true' }, '>'), this.input,
        h('button', { type: 'submit', class: 'send' }, 'Send')),
      this.hint);
    this.el = this.form;
    this.input.addEventListener('keydown', (e) => this.key(e));
    this.input.addEventListener('paste', (e) => this.paste(e));
    session.addEventListener('reset', () => this.mode());
    session.addEventListener('events', () => this.mode());
  }

  enable(on) {
    this.input.disabled = !on;
    if (on) this.mode();
  }

  // mode tells the learner what the server expects now.
  mode() {
    const last = [...this.session.events].reverse().find((e) => e.kind === 'smtp.reply' || e.kind === 'conn.close');
    if (last && last.kind === 'conn.close') this.hint.textContent = 'The connection is closed: the next line you type opens a new one.';
    else if (last && last.code === 354) this.hint.textContent = 'Message mode: type or paste the message; a line with only "." ends it.';
    else if (last && last.code === 334) this.hint.textContent = 'Login: answer the challenge in base64, or "*" to cancel.';
    else this.hint.textContent = 'Enter sends the line. ↑/↓: history. Tab: complete a command.';
  }

  key(e) {
    if (e.key === 'ArrowUp' || e.key === 'ArrowDown') {
      if (this.history.length === 0) return;
      e.preventDefault();
      this.pos = Math.max(0, Math.min(this.history.length, this.pos + (e.key === 'ArrowUp' ? -1 : 1)));
      this.input.value = this.history[this.pos] ?? '';
      this.input.setSelectionRange(this.input.value.length, this.input.value.length);
    } else if (e.key === 'Tab' && !e.shiftKey && this.input.value !== '') {
      const c = complete(this.input.value);
      if (!c) return; // let Tab move the focus on
      e.preventDefault();
      this.input.value = c.text;
      if (c.options.length > 1) this.hint.textContent = `Could be: ${c.options.map((o) => o.trim()).join(', ')}`;
    }
  }

  paste(e) {
    const text = e.clipboardData && e.clipboardData.getData('text');
    if (!text || !/[\r\n]/.test(text)) return;
    e.preventDefault();
    const lines = text.replace(/\r\n?/g, '\n').split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    lines[0] = this.input.value + lines[0];
    this.input.value = '';
    this.sendLines(lines);
  }

  send() {
    const line = this.input.value;
    this.input.value = '';
    this.sendLines([line]);
  }

  async sendLines(lines) {
    for (const line of lines) {
      if (line !== '' && this.history[this.history.length - 1] !== line) this.history.push(line);
      this.pos = this.history.length;
      try {
        await this.session.type(line);
      } catch (err) {
        this.hint.textContent = err.message;
        return;
      }
    }
  }
}
