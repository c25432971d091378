// The options of a lab, as a lesson's ```smtp-lab block writes them: the
// data- attributes of its <smtp-lab> element, or the same names without
// data- (a course author who writes panels="mailbox" after README's
// <smtp-lab ... panels> means the same thing). lessons/lab.go defines and
// checks the same set (make lint-lessons), README.md explains them:
//
//   data-tab     the view open at first: network, timeline, tls or mailbox
//   data-panels  the views an embedded lab shows, in order, separated by
//                commas, or "none"
//   data-height  the transcript's height in lines, 4 to 60
//   data-prompt  a line already in the terminal, for the learner to send
//
// A value the page cannot use counts as not given: the linter tells the
// author, and a reader still gets a working lab.

// PANELS are the views a lab can show, in the order it shows them (the
// ids of the panels in panels.js).
export const PANELS = ['network', 'timeline', 'tls', 'mailbox'];

const MIN_HEIGHT = 4;
const MAX_HEIGHT = 60;
const MAX_PROMPT = 998; // the longest line SMTP allows (RFC 5321 §4.5.3.1.6)
const UTF8 = new TextEncoder();

// attribute returns an element's attribute name, else its data- spelling,
// whichever is first not empty, or undefined. An empty one does not count:
// <smtp-lab panels data-panels="mailbox"> names the mailbox.
export function attribute(el, name) {
  return el.getAttribute(name) || el.dataset[name] || undefined;
}

// labOptions reads an element's options into {tab, panels, height,
// prompt}, leaving out each one that is absent or unusable.
export function labOptions(el) {
  return readOptions(el).opts;
}

// optionProblems says, one sentence each, which of an element's options
// the lab could not use and left out: a course page writing <smtp-lab>
// by hand has no linter, and its author would otherwise see a lab that
// silently ignores tab="tsl" or height="200".
export function optionProblems(el) {
  return readOptions(el).problems;
}

// OWN_ATTRIBUTES are the attributes an <smtp-lab> reads besides its
// options (see smtp-lab.js).
const OWN_ATTRIBUTES = ['scenario', 'seed', 'name'];

// GLOBAL_ATTRIBUTES are the attributes HTML lets any element have: a page
// may give them to a lab for its own reasons.
const GLOBAL_ATTRIBUTES = new Set(['accesskey', 'autocapitalize', 'autofocus', 'class', 'contenteditable', 'dir',
  'draggable', 'enterkeyhint', 'hidden', 'id', 'inert', 'inputmode', 'is', 'itemid', 'itemprop', 'itemref',
  'itemscope', 'itemtype', 'lang', 'nonce', 'part', 'popover', 'role', 'slot', 'spellcheck', 'style', 'tabindex',
  'title', 'translate', 'writingsuggestions']);

// unknownAttributes lists the attributes of el that are neither its
// options nor attributes any element may have: a misspelt option
// (heigth="12") would otherwise be left out without a word. data-
// attributes other than the options' are the page's own business.
function unknownAttributes(el, options) {
  const known = new Set([...OWN_ATTRIBUTES, ...options]);
  return el.getAttributeNames().filter((name) => !known.has(name) && !GLOBAL_ATTRIBUTES.has(name) &&
    !name.startsWith('data-') && !name.startsWith('aria-') && !name.startsWith('on'));
}

function readOptions(el) {
  const d = { tab: attribute(el, 'tab'), panels: attribute(el, 'panels'), height: attribute(el, 'height'), prompt: attribute(el, 'prompt') };
  const opts = {};
  const problems = [];
  const views = PANELS.join(', ');
  for (const name of unknownAttributes(el, Object.keys(d))) {
    problems.push(`${name}="${el.getAttribute(name)}" is not an option (${[...OWN_ATTRIBUTES, ...Object.keys(d)].join(', ')}): it is left out`);
  }
  if (PANELS.includes(d.tab)) opts.tab = d.tab;
  else if (d.tab) problems.push(`tab="${d.tab}" is not a view (${views}): it is left out`);
  if (d.panels === 'none') {
    opts.panels = [];
  } else if (d.panels) {
    const names = d.panels.split(',').map((p) => p.trim());
    const list = names.filter((p) => PANELS.includes(p));
    const unknown = names.filter((p) => p && !PANELS.includes(p));
    if (unknown.length) problems.push(`panels="${d.panels}" names ${unknown.map((p) => `"${p}"`).join(', ')}, not a view (${views}, or none): ${unknown.length > 1 ? 'they are' : 'it is'} left out`);
    if (list.length) opts.panels = list;
  }
  const height = Number(d.height);
  if (Number.isInteger(height) && height >= MIN_HEIGHT && height <= MAX_HEIGHT) opts.height = height;
  else if (d.height) problems.push(`height="${d.height}" is not a whole number of lines from ${MIN_HEIGHT} to ${MAX_HEIGHT}: it is left out`);
  // eslint-disable-next-line no-control-regex
  // As make lint-lessons counts: octets of UTF-8, as the line goes on the
  // wire, and no control character, C1 included.
  if (d.prompt && UTF8.encode(d.prompt).length <= MAX_PROMPT && !/[\u0000-\u001f\u007f-\u009f]/.test(d.prompt)) opts.prompt = d.prompt;
  else if (d.prompt) problems.push(`prompt is not one line of at most ${MAX_PROMPT} bytes: it is left out`);
  return { opts, problems };
}
