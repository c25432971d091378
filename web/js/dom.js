// Small DOM helpers. Everything that comes from a learner or from the
// engine goes into the page through textContent, never as markup: h()
// turns string children into text nodes, so there is no way to pass HTML.

// h creates an element. attrs sets attributes ("class", "aria-*", data-*)
// and, for keys starting with "on", event listeners. Children are nodes or
// strings (inserted as text); null and false are skipped.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') {
      el.addEventListener(k.slice(2), v);
    } else if (k === 'text') {
      el.textContent = v;
    } else {
      el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, ...children);
  return el;
}

// append adds children (nodes, strings as text, arrays flattened).
export function append(el, ...children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// clear removes every child of el.
export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

// newId returns a new id for an element of the lab's views. It starts with
// smtplab-, like the lab's classes, so that it cannot be an id of the
// course page around a lab, and ends with a number counted across the page:
// two labs on one page never share an id, which would point a label or an
// aria-* reference of one at the other's element.
let ids = 0;
export function newId(name) {
  return `smtplab-${name}-${++ids}`;
}

// formatTime shows virtual milliseconds as h:mm:ss (or d+h:mm:ss).
export function formatTime(ms) {
  const s = Math.floor((ms || 0) / 1000);
  const d = Math.floor(s / 86400);
  const hh = Math.floor((s % 86400) / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, '0');
  const ss = String(s % 60).padStart(2, '0');
  return (d ? `${d}d+` : '') + `${hh}:${mm}:${ss}`;
}

// formatSize says how large a file is, in the units a file manager uses.
export function formatSize(bytes) {
  if (bytes < 1024) return `${bytes} ${bytes === 1 ? 'byte' : 'bytes'}`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

// toBase64 writes bytes (a Uint8Array) in base64, in slices: one call of
// String.fromCharCode with every byte as an argument would overflow the
// stack for a file of a few hundred KiB.
export function toBase64(bytes) {
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}

// fromBase64 reads base64 into a Uint8Array.
export function fromBase64(text) {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

// download offers text (or bytes) as a file to save.
export function download(name, type, text) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = h('a', { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

// confirmDialog asks a yes/no question in a <dialog> and resolves to true
// when the learner confirms. The dialog is the one in `within` (the lab's
// page has its own), or one it makes there: an <smtp-lab> asks in a dialog
// of its own, so nothing of the lab goes into the rest of a course page.
export function confirmDialog(question, okLabel = 'OK', within = document.body) {
  let dlg = within.querySelector(':scope > dialog.smtplab-confirm');
  if (!dlg) {
    const id = newId('confirm');
    dlg = h('dialog', { id, class: 'smtplab-confirm', 'aria-labelledby': `${id}-text` },
      h('form', { method: 'dialog' },
        h('p', { id: `${id}-text` }),
        h('menu', {}, h('button', { value: 'cancel', autofocus: true }, 'Cancel'), ' ',
          h('button', { value: 'ok' }, 'OK'))));
    within.append(dlg);
  }
  dlg.querySelector('p').textContent = question;
  dlg.querySelector('button[value=ok]').textContent = okLabel;
  dlg.returnValue = '';
  return new Promise((resolve) => {
    // "close" is dispatched after the dialog closed, as a task: the close
    // of an earlier question can arrive when this one is already open.
    const closed = () => {
      if (dlg.open) return;
      dlg.removeEventListener('close', closed);
      resolve(dlg.returnValue === 'ok');
    };
    dlg.addEventListener('close', closed);
    dlg.showModal();
  });
}

// reachByKeyboard makes a box that may scroll its content sideways (a
// lesson's code block or table wider than the pane) reachable by keyboard,
// as WCAG 2.1.1 asks: with no control inside it, only a mouse or a finger
// could scroll it. While its content overflows, the box is a tab stop,
// where the arrow keys scroll it; one that is no table is also a region
// named by label, so that a screen reader says what the focus landed on.
// A box that fits again, the window widened, loses the tab stop: a
// needless one is a stop too many. It is for boxes that stay in the page
// (a lesson's), watched until they leave it; one built afresh at each
// redraw is better made a tab stop for good.
const scrollWatch = typeof ResizeObserver === 'function'
  ? new ResizeObserver((entries) => entries.forEach((e) => {
    if (e.target.isConnected) reachIfScrolls(e.target); else scrollWatch.unobserve(e.target);
  }))
  : null;

export function reachByKeyboard(box, label) {
  box.dataset.smtplabScrollLabel = label;
  if (scrollWatch) scrollWatch.observe(box);
  else reachIfScrolls(box);
  return box;
}

function reachIfScrolls(box) {
  const scrolls = box.scrollWidth > box.clientWidth + 1 || box.scrollHeight > box.clientHeight + 1;
  const reachable = box.hasAttribute('data-smtplab-reachable');
  if (scrolls === reachable) return;
  if (scrolls && box.querySelector('a[href], button, input, select, summary, textarea, [tabindex]')) return; // reachable already
  box.toggleAttribute('data-smtplab-reachable', scrolls);
  if (scrolls) {
    box.tabIndex = 0;
    if (box.tagName !== 'TABLE') {
      box.setAttribute('role', 'region');
      box.setAttribute('aria-label', box.dataset.smtplabScrollLabel);
    }
  } else {
    box.removeAttribute('tabindex');
    box.removeAttribute('role');
    box.removeAttribute('aria-label');
  }
}
