// The terminal: one line at a time as the client on the learner's
// connection. ↑/↓ walk the history, Tab completes SMTP verbs, and pasting
// several lines (a whole message after DATA) sends them one by one. The
// engine ends every line with CRLF, as SMTP requires.
//
// Raw mode (a checkbox next to the line, or Alt+R) sends exactly the bytes
// written, with escapes for the invisible ones and nothing added: the way
// to try a bare LF, a lone CR or a NUL, and SMTP smuggling.
//
// Above the line, a status line says where the terminal is connected, and
// "Connect…" opens a small form to hang up and connect to another host
// and port of the world, as a client pointed elsewhere would.

import { h, newId } from './dom.js';
import { lost } from './transcript.js';

export const VERBS = ['EHLO ', 'HELO ', 'MAIL FROM:<', 'RCPT TO:<', 'DATA', 'BDAT ', 'RSET', 'NOOP',
  'QUIT', 'VRFY ', 'EXPN ', 'HELP', 'STARTTLS', 'AUTH PLAIN ', 'AUTH LOGIN'];

// complete returns the completion of a partly typed verb: the full verb
// when only one matches, the text unchanged (and the verbs it could be)
// when several do, or null. It completes only to a whole verb: "he" is
// HELO or HELP, and "HEL" would be neither.
export function complete(text) {
  const up = text.toUpperCase();
  if (up === '') return null;
  const hits = VERBS.filter((v) => v.startsWith(up) && v !== up);
  if (hits.length === 0) return null;
  return { text: hits.length === 1 ? hits[0] : text, options: hits };
}

// RAW_HELP explains raw mode next to its checkbox.
export const RAW_HELP = 'Raw mode sends exactly what you write, adding nothing at the end. ' +
  'Write \\r\\n for CR LF (the only line end SMTP allows), \\n for a bare LF, \\r for a bare CR, ' +
  '\\t for a tab, \\0 for a NUL and \\\\ for a backslash; a pasted line break becomes \\r\\n. ' +
  'Ending a message with \\n.\\n instead of \\r\\n.\\r\\n is the trick behind SMTP smuggling ' +
  '(RFC 5321 §2.3.8, §4.1.1.4): a careful server refuses it.';

// escapeBreaks writes real CR, LF, TAB and NUL characters as raw mode's
// escapes, so pasted text shows what will be sent. A line break (which the
// clipboard may have turned into a bare LF) becomes CR LF.
export function escapeBreaks(text) {
  return text.replace(/\r\n|\r|\n/g, '\\r\\n').replace(/\t/g, '\\t').replace(/\0/g, '\\0');
}

// PORTS are the ports the terminal connects to: SMTP's (the engine takes
// no other).
export const PORTS = [25, 587, 465];

// servers lists the hosts of a state's network the terminal can connect
// to, each with its SMTP ports: every host that listens, but the learner's
// own machine.
export function servers(state) {
  const hosts = (state && state.network && state.network.hosts) || [];
  const own = state && state.learner ? state.learner.host : '';
  return hosts.map((h) => ({ name: h.name, ports: (h.ports || []).filter((p) => PORTS.includes(p)) }))
    .filter((h) => h.name !== own && h.ports.length > 0);
}

// connectionStatus says in words where the terminal is: connected, or
// why not (the engine's dialError for a dial that failed) and where the
// next line goes.
export function connectionStatus(state) {
  const l = state && state.learner;
  if (!l) return '';
  const where = `${l.server}:${l.port}`;
  if (l.connected) return `Connected to ${where}${l.tls ? ', encrypted (TLS)' : ''}.`;
  if (l.dialError) return `Could not connect to ${where}: ${l.dialError}. The next line you type tries again.`;
  return `Not connected: the next line you type connects to ${where}.`;
}

export class Terminal {
  // id is the line's own id: the lab's page names it (a link skips to
  // it); an embedded lab has one made. The other parts' ids are the lab's
  // own (dom.js newId).
  constructor(session, { id = newId('terminal-input') } = {}) {
    this.session = session;
    this.history = [];
    this.pos = 0;
    this.draft = ''; // the line being typed while ↑/↓ walk the history
    this.offered = null; // the line as Tab last left it
    this.expect = 'command'; // what the server waits for: command, message or login
    this.pending = [];
    // The hint describes the line, and is read out when it changes (what
    // the server now expects, the verbs Tab could complete to): a screen
    // reader user typing in the line hears it (setHint writes it only then).
    this.hint = h('p', { class: 'smtplab-terminal-hint', id: newId('terminal-hint'), 'aria-live': 'polite' }, 'Waiting for the engine…');
    this.input = h('input', {
      id, type: 'text', class: 'smtplab-terminal-input', autocomplete: 'off', autocapitalize: 'off',
      spellcheck: 'false', disabled: true, 'aria-describedby': this.hint.id, enterkeyhint: 'send',
    });
    this.label = h('label', { for: id }, 'Type a line as the client');
    this.rawHelp = h('p', { class: 'smtplab-raw-help', id: newId('raw-help'), hidden: true }, RAW_HELP);
    this.raw = h('input', { type: 'checkbox', id: newId('raw'), class: 'smtplab-raw-toggle', disabled: true, 'aria-describedby': this.rawHelp.id });
    this.raw.addEventListener('change', () => this.setRaw(this.raw.checked));
    // Disabled with the line until the engine is ready: a click before
    // would be lost without a word.
    this.sendButton = h('button', { type: 'submit', class: 'smtplab-send', disabled: true }, 'Send');
    this.form = h('form', { class: 'smtplab-terminal', onsubmit: (e) => { e.preventDefault(); this.send(); } },
      this.label,
      h('div', { class: 'smtplab-prompt-row' }, h('span', { class: 'smtplab-prompt', 'aria-hidden': 'true' }, '>'), this.input,
        h('span', { class: 'smtplab-raw-switch', title: 'Send exact bytes: \\r\\n, \\n, \\0… and nothing added (Alt+R)' },
          this.raw, h('label', { for: this.raw.id }, 'Raw bytes')),
        this.sendButton),
      this.rawHelp,
      this.hint);
    this.status = h('p', { class: 'smtplab-conn-status', role: 'status' });
    this.el = h('div', { class: 'smtplab-terminal-box' },
      h('div', { class: 'smtplab-conn-row' }, this.status, this.connectControl()), this.form);
    // Enter sends only when it was pressed in the line. A link or control
    // that moves the focus here on the keydown of its Enter ("Skip to the
    // terminal" does) leaves the rest of that keystroke, its keypress, to
    // the line, where it would submit the form: an empty line to the
    // server, and a 500 reply the learner never typed.
    this.enterHere = false;
    this.input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') this.enterHere = true;
      this.key(e);
    });
    this.input.addEventListener('keypress', (e) => {
      if (e.key !== 'Enter') return;
      if (!this.enterHere) e.preventDefault();
      this.enterHere = false;
    });
    // A line typed again is new to Tab: its first press lists the verbs.
    this.input.addEventListener('input', () => { this.offered = null; });
    this.input.addEventListener('paste', (e) => this.paste(e));
    // Raw mode is for one experiment: a new world, or another scenario
    // (the next lesson's), starts with lines again, or its EHLO would go
    // out without CR LF and the server would wait for the end of it.
    let scenario = session.scenario;
    session.addEventListener('reset', (e) => {
      const fresh = e.detail && e.detail.why === 'create';
      if (this.raw.checked && (fresh || session.scenario !== scenario)) this.setRaw(false);
      scenario = session.scenario;
      this.mode();
    });
    session.addEventListener('events', () => this.mode());
  }

  // connectControl builds "Connect…": a host and one of its ports to
  // connect the terminal to, chosen from the world's network when opened.
  connectControl() {
    this.hostSelect = h('select', { id: newId('connect-host'), name: 'host' });
    this.portSelect = h('select', { id: newId('connect-port'), name: 'port' });
    this.connectButton = h('button', { type: 'submit', disabled: true }, 'Connect');
    const fillPorts = (want) => {
      const host = servers(this.session.state).find((s) => s.name === this.hostSelect.value);
      this.portSelect.replaceChildren(...(host ? host.ports : []).map((p) => h('option', { value: p }, String(p))));
      if (want) this.portSelect.value = String(want);
    };
    this.hostSelect.addEventListener('change', () => fillPorts());
    const form = h('form', { class: 'smtplab-connect-form' },
      h('label', { for: this.hostSelect.id }, 'Host'), this.hostSelect,
      h('label', { for: this.portSelect.id }, 'Port'), this.portSelect, this.connectButton);
    const box = h('details', { class: 'smtplab-connect' },
      h('summary', { title: 'Hang up and connect the terminal to another host or port' }, 'Connect…'), form);
    // Filled as it opens, with where the terminal aims now chosen.
    box.addEventListener('toggle', () => {
      if (!box.open) return;
      const l = (this.session.state && this.session.state.learner) || {};
      this.hostSelect.replaceChildren(...servers(this.session.state).map((s) => h('option', { value: s.name }, s.name)));
      this.hostSelect.value = l.server || '';
      fillPorts(l.port);
    });
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      if (!this.hostSelect.value || !this.portSelect.value) return;
      try {
        await this.session.connect(`${this.hostSelect.value}:${this.portSelect.value}`);
      } catch {
        return; // the lab shows the error
      }
      box.open = false;
      this.input.focus();
    });
    return box;
  }

  enable(on) {
    this.input.disabled = !on;
    this.raw.disabled = !on;
    this.sendButton.disabled = !on;
    this.connectButton.disabled = !on;
    if (on) this.mode();
  }

  // setRaw switches raw mode on or off.
  setRaw(on) {
    this.raw.checked = on;
    this.rawHelp.hidden = !on;
    this.form.classList.toggle('smtplab-raw-mode', on);
    this.label.textContent = on ? 'Write raw bytes as the client (escapes: \\r \\n \\t \\0 \\\\)' : 'Type a line as the client';
    this.input.placeholder = on ? 'e.g. hi\\n.\\n' : '';
    this.input.setAttribute('aria-describedby', on ? `${this.rawHelp.id} ${this.hint.id}` : this.hint.id);
    this.mode();
  }

  // mode tells the learner where the terminal is connected and what the
  // server expects now.
  // Only the terminal's own connection counts: the relay's sessions and the
  // mail client's go on beside it in the same trace.
  mode() {
    const status = connectionStatus(this.session.state);
    if (this.status.textContent !== status) this.status.textContent = status;
    const l = this.session.state && this.session.state.learner;
    const conn = l && l.connected ? l.conn : 0;
    // A reply lost on the way never reached the terminal.
    const last = conn ? [...this.session.events].reverse().find((e) => e.conn === conn && e.kind === 'smtp.reply' && !lost(e)) : null;
    this.expect = last && last.code === 354 ? 'message' : last && last.code === 334 ? 'login' : 'command';
    if (l && !l.connected && !l.dialError) this.setHint('The connection is closed: the next line you type opens a new one.');
    else if (this.expect === 'message') this.setHint('Message mode: type or paste the message; a line with only "." ends it.');
    else if (this.expect === 'login') this.setHint('Login: answer the challenge in base64, or "*" to cancel.');
    else if (this.raw.checked) this.setHint('Enter sends the bytes. ↑/↓: history.');
    else this.setHint('Enter sends the line. ↑/↓: history. Tab: complete a command.');
  }

  // setHint changes the hint, a live region: the same words written again
  // would be read out again after every reply.
  setHint(text) {
    if (this.hint.textContent !== text) this.hint.textContent = text;
  }

  key(e) {
    if (e.altKey && (e.key === 'r' || e.key === 'R')) {
      e.preventDefault();
      this.setRaw(!this.raw.checked);
    } else if (e.key === 'ArrowUp' || e.key === 'ArrowDown') {
      if (this.history.length === 0) return;
      e.preventDefault();
      // Leaving the end of the history keeps the line being typed, and
      // coming back past the newest line brings it back.
      if (this.pos === this.history.length) this.draft = this.input.value;
      this.pos = Math.max(0, Math.min(this.history.length, this.pos + (e.key === 'ArrowUp' ? -1 : 1)));
      this.input.value = this.history[this.pos] ?? this.draft;
      this.input.setSelectionRange(this.input.value.length, this.input.value.length);
    } else if (e.key === 'Tab' && !e.shiftKey && this.input.value !== '' && !this.raw.checked && this.expect === 'command') {
      // Only where the server reads commands: a message's text or a login
      // answer is the learner's own, not a verb to complete.
      const c = complete(this.input.value);
      // Tab moves the focus on when there is nothing to complete, and on
      // the second Tab at a verb it cannot choose: the hint lists the
      // verbs it could be, and Tab must never hold the focus in the line.
      if (!c || (c.text === this.input.value && this.offered === c.text)) return;
      e.preventDefault();
      this.input.value = c.text;
      this.offered = c.text;
      if (c.options.length > 1) this.setHint(`Could be: ${c.options.map((o) => o.trim()).join(', ')}`);
    }
  }

  paste(e) {
    const text = e.clipboardData && e.clipboardData.getData('text');
    if (!text || !/[\r\n]/.test(text)) return;
    e.preventDefault();
    if (this.raw.checked) {
      // Raw mode sends one input: the paste goes in as escapes, to check
      // before sending.
      this.input.setRangeText(escapeBreaks(text), this.input.selectionStart, this.input.selectionEnd, 'end');
      return;
    }
    const lines = text.replace(/\r\n?/g, '\n').split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    lines[0] = this.input.value + lines[0];
    this.input.value = '';
    this.sendLines(lines);
  }

  send() {
    const line = this.input.value;
    if (this.raw.checked) {
      if (line === '') return;
      this.input.value = '';
      this.remember(line);
      this.session.typeRaw(line).catch((err) => { this.setHint(err.message); });
      return;
    }
    this.input.value = '';
    this.sendLines([line]);
  }

  remember(line) {
    if (line !== '' && this.history[this.history.length - 1] !== line) this.history.push(line);
    this.pos = this.history.length;
  }

  async sendLines(lines) {
    for (const line of lines) {
      this.remember(line);
      try {
        await this.session.type(line);
      } catch (err) {
        this.setHint(err.message);
        return;
      }
    }
  }
}
