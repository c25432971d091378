// LessonPane shows one lesson at a time, its goals ticking off as the
// engine checks them against the trace, hints one at a time and the
// solution on request. The server renders every lesson's HTML (goldmark,
// raw HTML omitted); the first is in the page, the others are fetched from
// the same server when first opened.

import { h, append, clear, confirmDialog, download, formatSize, fromBase64, reachByKeyboard } from './dom.js';
import { labOptions } from './labopts.js';

const $ = (id) => document.getElementById(id);

export class LessonPane {
  constructor(lessons, progress) {
    this.lessons = lessons;
    this.progress = progress;
    this.current = null;
    this.session = null;
    this.onScenario = null; // called with the scenario of each lesson shown
    this.onOpenLab = null; // called with a lab block's scenario and options when its button is pressed
    this.shown = null; // the lesson and the goals renderGoals last showed done: what is news
    $('btn-hint').addEventListener('click', () => this.hint());
    // The goals in brief beside the lab (on a phone, where the lesson is
    // under the lab): pressing it takes the focus to the goals.
    const bar = $('goal-progress');
    if (bar) bar.addEventListener('click', () => focusOn($('goals')));
    $('btn-solution').addEventListener('click', () => this.solution());
    // Goals reached, hints and the solution seen in another tab of the
    // lab show here too.
    progress.addEventListener('change', () => {
      if (!this.current) return;
      this.renderHelp(this.current);
      this.renderGoals(this.current);
    });
  }

  show(slug) {
    const lesson = this.lessons.find((l) => l.slug === slug) || this.lessons[0];
    if (!lesson) return;
    this.current = lesson;
    this.progress.setLesson(lesson.slug);
    for (const a of document.querySelectorAll('article.smtplab-lesson')) a.hidden = a.dataset.slug !== lesson.slug;
    for (const a of document.querySelectorAll('#lesson-list a')) {
      if (a.dataset.slug === lesson.slug) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
    }
    this.load(document.getElementById(`lesson-${lesson.slug}`));
    $('goals').hidden = false;
    this.renderHelp(lesson);
    this.loadHelp(lesson);
    this.renderGoals(lesson);
    if (this.onScenario) this.onScenario(lesson.scenario);
    this.check();
  }

  // renderHelp shows the hints revealed so far and, if asked for before,
  // the solution. It redraws them, also when another tab's progress comes
  // in while the learner reads them here: the keyboard focus stays (see
  // keepFocus).
  renderHelp(lesson) {
    keepFocus(() => {
      const p = this.progress.lesson(lesson.slug);
      clear($('hint-list'));
      for (const hint of (lesson.hints || []).slice(0, p.hints)) $('hint-list').append(h('li', {}, hint));
      $('btn-hint').disabled = p.hints >= (lesson.hints || []).length;
      this.showSolution(p.solution);
    });
  }

  // loadHelp reads the hints and solution of a lesson the page carries
  // without them (all but the first: the page holds what its first screen
  // needs), once, then shows them if the lesson is still open. Until then
  // the hint and solution buttons stay disabled.
  async loadHelp(lesson) {
    if (!lesson.help || lesson.helpLoading) return;
    lesson.helpLoading = true;
    try {
      const res = await fetch(lesson.help);
      if (!res.ok) throw new Error(`${res.status} ${res.statusText}`);
      const help = await res.json();
      lesson.hints = help.hints || [];
      lesson.solution = help.solution || [];
      delete lesson.help;
    } catch {
      lesson.helpLoading = false; // showing the lesson again tries again
      return;
    }
    if (this.current === lesson) this.renderHelp(lesson);
  }

  // load fills a lesson's article from the server the first time it is
  // shown. The HTML is the server's own rendering of the lesson, the same
  // markup the page carries for the first lesson; nothing a learner typed
  // is in it.
  async load(article) {
    if (!article) return;
    const src = article.dataset.src;
    if (src && !article.dataset.loaded) {
      article.dataset.loaded = 'loading';
      try {
        const res = await fetch(src);
        if (!res.ok) throw new Error(`${res.status} ${res.statusText}`);
        article.innerHTML = await res.text();
        article.dataset.loaded = 'yes';
      } catch (err) {
        delete article.dataset.loaded;
        clear(article).append(h('p', { class: 'smtplab-error' }, `This lesson could not be loaded (${err.message}). Reload the page to try again.`));
        return;
      }
    }
    this.embeds(article);
    // A code block or a table wider than the pane scrolls inside itself
    // (lab.css): the keyboard must reach it too.
    for (const box of article.querySelectorAll('pre')) reachByKeyboard(box, 'Code, scrolls sideways');
    for (const box of article.querySelectorAll('table')) reachByKeyboard(box, 'Table, scrolls sideways');
  }

  // embeds turns the lesson's ```smtp-lab blocks into buttons that open
  // their scenario in the lab beside the lesson: one lab per page keeps
  // the goals about one world. The block's tab and prompt options apply to
  // that lab (its panels and height are for labs embedded in other pages).
  embeds(article) {
    if (!article) return;
    for (const el of article.querySelectorAll('smtp-lab, .smtp-lab')) {
      if (el.dataset.linked) continue;
      el.dataset.linked = 'yes';
      const scenario = el.getAttribute('scenario') || el.dataset.scenario || this.current.scenario;
      const { tab, prompt } = labOptions(el);
      const seedText = el.getAttribute('seed') || el.dataset.seed;
      const seed = seedText ? Number(seedText) : undefined;
      clear(el).append(h('button', {
        type: 'button', class: 'smtplab-open-lab',
        onclick: () => { if (this.onOpenLab) this.onOpenLab(scenario, { tab, prompt, seed }); },
      }, `Try it in the lab (${scenario}) →`));
    }
  }

  attach(session) {
    this.session = session;
    session.addEventListener('events', () => this.check());
    session.addEventListener('reset', () => this.check());
    this.check();
  }

  // check asks the engine which of the lesson's goals the open lab's world
  // has reached, and records them in the learner's progress. A goal
  // belongs to the lesson's own lab unless it names another (its
  // scenario): only the open lab's goals are checked.
  async check() {
    const lesson = this.current;
    if (!this.session || !this.session.world || !lesson || !(lesson.goals || []).length) return;
    const here = this.session.scenario;
    const goals = lesson.goals.filter((g) => (g.scenario || lesson.scenario) === here);
    let results = [];
    if (goals.length) {
      try {
        results = await this.session.check(goals);
      } catch {
        return;
      }
    }
    if (lesson !== this.current) return;
    this.progress.markDone(lesson.slug, results.filter((r) => r.done).map((r) => r.id));
    this.renderGoals(lesson);
  }

  // renderGoals lists a lesson's goals, each ticked when the learner's
  // progress has it reached: in this lab or another of the lesson's (the
  // goal says which), in this tab or another, in this world or an earlier
  // one.
  renderGoals(lesson) {
    const p = this.progress.lesson(lesson.slug);
    const results = (lesson.goals || []).map((g) => ({ id: g.id, text: g.text, lab: g.scenario, done: p.done.includes(g.id) }));
    const list = clear($('goal-list'));
    for (const r of results) {
      list.append(h('li', { class: r.done ? 'smtplab-goal smtplab-done' : 'smtplab-goal', 'data-goal': r.id },
        h('span', { class: 'smtplab-tick', 'aria-hidden': 'true' }, r.done ? '✓' : '○'), ' ',
        h('span', { class: 'smtplab-visually-hidden' }, r.done ? 'Done: ' : 'To do: '), r.text,
        r.lab ? h('span', { class: 'smtplab-goal-lab' }, ` (in the ${r.lab} lab)`) : null));
    }
    const done = results.filter((r) => r.done).length;
    const summary = results.length === 0 ? '' : done === results.length
      ? `All ${done} goals done. Well done!` : `${done} of ${results.length} goals done.`;
    if ($('goal-summary').textContent !== summary) $('goal-summary').textContent = summary;
    this.renderBar(results, done);
    // The one live region for goals: it speaks when one is reached (here,
    // in another tab, by a line typed or by time let pass), naming it, and
    // says nothing when a lesson is opened or its goals redrawn.
    const was = this.shown && this.shown.slug === lesson.slug ? this.shown.done : null;
    const news = was ? results.filter((r) => r.done && !was.has(r.id)) : [];
    this.shown = { slug: lesson.slug, done: new Set(results.filter((r) => r.done).map((r) => r.id)) };
    if (news.length) {
      const names = news.map((r) => r.text.replace(/[.!?]+$/, '')).join('; ');
      $('goal-news').textContent = `${news.length === 1 ? 'Goal' : 'Goals'} reached: ${names}. ${summary}`;
    }
  }

  // renderBar shows the goals in brief, "Goals 2 of 5 · next: …", in the
  // button beside the lab's terminal (lab.css shows it on a narrow screen
  // only, where the goals themselves are under the whole lab). It is not
  // a live region: goal-news speaks for both.
  renderBar(results, done) {
    const bar = $('goal-progress');
    if (!bar) return;
    bar.hidden = results.length === 0;
    const next = results.find((r) => !r.done);
    append(clear(bar),
      h('span', { class: 'smtplab-goal-count' }, done === results.length ? [`Goals: all ${done} done `, h('span', { 'aria-hidden': 'true' }, '✓')] : `Goals ${done} of ${results.length}`),
      next ? [' · ', h('span', { class: 'smtplab-goal-next' }, 'next: ', next.text, next.lab ? ` (in the ${next.lab} lab)` : '')] : null);
  }

  hint() {
    const lesson = this.current;
    if (!lesson) return;
    const seen = this.progress.lesson(lesson.slug).hints;
    if (seen >= (lesson.hints || []).length) return;
    this.progress.seeHints(lesson.slug, seen + 1);
    this.renderHelp(lesson);
    // The last hint disables the button that was pressed: the hint itself
    // takes the focus (renderHelp does it too when the button had it; a
    // click does not give it the focus in every browser).
    if ($('btn-hint').disabled) focusOn($('hint-list').lastElementChild);
  }

  async solution() {
    const lesson = this.current;
    if (!lesson) return;
    if (!(await confirmDialog('Show the whole solution? Trying a hint first teaches more.', 'Show it'))) return;
    this.progress.seeSolution(lesson.slug);
    this.showSolution(true);
    // The button is disabled now: the solution takes the focus (and a
    // screen reader reads it).
    $('solution').focus();
  }

  showSolution(on) {
    const list = clear($('solution-list'));
    $('solution').hidden = !on;
    $('btn-solution').disabled = on || !(this.current.solution || []).length;
    if (!on) return;
    for (const s of this.current.solution || []) list.append(h('li', {}, describeStep(s)));
  }
}

// FOCUSABLE are the elements of the hint and solution lists keepFocus
// puts the focus back on: a hint (given it by focusOn) and a solution
// step's download button.
const FOCUSABLE = 'li, button';

// keepFocus runs draw, which redraws the hint and solution lists and may
// disable the hint and solution buttons, and puts the keyboard focus back
// where it was, which would otherwise fall to the page's body: on the
// same hint or solution button, redrawn, and from a button now disabled
// on what it shows, the last hint or the solution.
function keepFocus(draw) {
  const was = document.activeElement;
  const list = [$('hint-list'), $('solution-list')].find((l) => l.contains(was));
  const index = list ? [...list.querySelectorAll(FOCUSABLE)].indexOf(was) : -1;
  draw();
  if (list) {
    const items = list.querySelectorAll(FOCUSABLE);
    focusOn(items[Math.min(index, items.length - 1)] || $('btn-hint'));
  } else if (was === $('btn-hint') && was.disabled) {
    focusOn($('hint-list').lastElementChild);
  } else if (was === $('btn-solution') && was.disabled) {
    $('solution').focus();
  }
}

// focusOn gives el the keyboard focus, making it focusable by script
// (not by Tab) when it is not, as a hint is not.
function focusOn(el) {
  if (!el) return;
  if (el.tabIndex < 0) el.tabIndex = -1;
  el.focus();
}

// describeFile says which file a solution step attaches, and offers it
// for download, so that the learner has it to attach (its content comes
// in base64).
function describeFile(a) {
  const bytes = fromBase64(a.content || '');
  return h('p', { class: 'smtplab-step-file' }, `Attach ${a.name} (${formatSize(bytes.length)}) `,
    h('button', { type: 'button', onclick: () => download(a.name, a.type || 'application/octet-stream', bytes) }, `Download ${a.name}`));
}

// describeStep says how to do one solution step in the page: a line to
// type, raw bytes to send in raw mode, a message for the mail client,
// time to let pass, a host and port to connect the terminal to, or
// another of the lesson's labs to open.
export function describeStep(s) {
  if (s.lab) return [h('span', { class: 'smtplab-step-kind' }, 'Open another lab: '), `${s.lab} (its “Try it in the lab” button in the lesson)`];
  if (s.advance) return `Let ${s.advance} pass (Timeline & queue tab)`;
  if (s.connect) return [h('span', { class: 'smtplab-step-kind' }, 'Connect the terminal (“Connect…” above it) to: '), h('code', {}, s.connect)];
  if (s.raw) return [h('span', { class: 'smtplab-step-kind' }, 'Raw bytes (tick “Raw bytes” next to the line you type in): '), h('code', {}, s.raw)];
  if (s.submit) {
    const m = s.submit;
    const to = Array.isArray(m.to) ? m.to.join(', ') : String(m.to || '');
    return [h('span', { class: 'smtplab-step-kind' }, 'Send with the mail client (Mailbox tab): '),
      `from ${m.from || '<>'} to ${to}, subject “${m.subject || ''}”`, m.body ? h('pre', { class: 'smtplab-step-body' }, m.body) : null,
      (m.attachments || []).map((a) => describeFile(a))];
  }
  // An empty line (the one between a message's header and body) would
  // show as nothing at all.
  if (!s.type) return h('span', { class: 'smtplab-step-kind' }, '(an empty line)');
  return h('code', {}, s.type);
}
