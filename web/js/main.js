// The SMTP Lab page: the lesson pane (already rendered by the server, so it
// reads before the engine is ready), the lab beside it, and the sandbox
// controls (scenario, undo, reset, permalink, progress export/import).

import { h, clear, download, confirmDialog } from './dom.js';
import { loadEngine, loadExplanations } from './engine.js';
import { Session, encodeSnapshot, decodeSnapshot } from './session.js';
import { LabView } from './labview.js';
import { Progress, progressKey } from './progress.js';
import { LessonPane } from './lessons.js';
import { liveURL, mountLive } from './live.js';

const $ = (id) => document.getElementById(id);

function hashParams() {
  return new URLSearchParams(location.hash.slice(1));
}

async function boot() {
  const lessons = JSON.parse($('lesson-data').textContent || '[]') || [];
  const status = $('engine-status');
  // say puts a message in the status line. A problem (a permalink that
  // would not open, say) stays there once the engine is ready, instead of
  // giving way to "Engine ready.".
  let problem = '';
  const say = (text, isProblem = false) => {
    status.textContent = text;
    status.classList.toggle('smtplab-error', isProblem);
    if (isProblem) problem = text;
  };

  // Reading localStorage throws where the browser forbids it: the page
  // then works without keeping anything.
  let storage = null;
  try { storage = window.localStorage; } catch { /* no storage */ }
  // Framed in a course page, the page keeps its own progress apart from
  // other frames of the lab there (progressKey).
  const progress = new Progress(storage, progressKey());
  if (progress.problem) say(progress.problem, true);
  const pane = new LessonPane(lessons, progress);
  lessonsAfterLabOnAPhone();
  pane.show(hashParams().get('lesson') || progress.data.lesson || (lessons[0] && lessons[0].slug));

  // The lab's views are built while the engine downloads (the terminal
  // stays disabled), so once it runs only the first world remains to do.
  const engine = loadEngine();
  let api, table, session, view;
  try {
    table = await loadExplanations();
    session = new Session(engine);
    view = new LabView(session, table, { panels: true, inputId: 'terminal-input' });
    $('lab').append(view.el);
    // The goals in brief right under the terminal, before the views' tabs.
    view.el.querySelector('.smtplab-lab-main').after($('goal-progress'));
    api = await engine;
  } catch (err) {
    say(`The engine could not start: ${err.message}`, true);
    return;
  }

  // Keep the world in localStorage after every change, per scenario, so a
  // reload (or another lesson and back) continues where the learner was.
  const save = async () => {
    try {
      progress.saveLab(await session.snapshot());
    } catch { /* the world is gone: nothing to save */ }
    $('btn-undo').disabled = session.inputs === 0;
  };
  session.addEventListener('events', save);
  session.addEventListener('reset', save);


  // Undo and Reset redraw the transcript with no reply to read out, and
  // Undo keeps the focus: the status line, a live region, says what they
  // did.
  $('btn-undo').addEventListener('click', async () => {
    const before = await session.snapshot().catch(() => null);
    try {
      await session.undo();
      const last = before && before.inputs && before.inputs[before.inputs.length - 1];
      say(`Undone: the lab replayed your inputs but the last${last ? ` (${inputWords(last)})` : ''}.`);
    } catch { /* the lab shows the error */ }
    // Undoing the last input disables the button, which would drop the
    // focus on the page's body: the terminal is where to go on.
    if (session.inputs === 0) {
      $('btn-undo').disabled = true;
      $('terminal-input').focus();
    }
  });
  $('btn-reset').addEventListener('click', async () => {
    if (await confirmDialog('Start this scenario again from the beginning? What you typed is lost (undo cannot bring it back).', 'Reset')) {
      await session.create(session.scenario).then(() => say(`Started ${session.scenario} again.`), () => {});
      $('terminal-input').focus();
    }
  });
  $('btn-permalink').addEventListener('click', async () => {
    const snap = await session.snapshot();
    const params = new URLSearchParams();
    if (pane.current) params.set('lesson', pane.current.slug);
    params.set('lab', encodeSnapshot(snap));
    const url = `${location.origin}${location.pathname}#${params}`;
    history.replaceState(null, '', url);
    try { await navigator.clipboard.writeText(url); say('Permalink copied to the clipboard (and in the address bar).'); } catch {
      say('Permalink is in the address bar.');
    }
  });
  $('btn-export').addEventListener('click', () => download('smtp-lab-progress.json', 'application/json', progress.export()));
  $('import-file').addEventListener('change', async (e) => {
    const file = e.target.files[0];
    if (!file) return;
    try {
      progress.import(await file.text());
      say('Progress imported.');
      pane.show(progress.data.lesson || pane.current?.slug);
      await openLab();
    } catch (err) {
      say(`Import failed: ${err.message}`, true);
    }
    e.target.value = '';
  });

  // openLab restores a permalink, else the saved world of the lesson's
  // scenario, else a fresh world. Every way of changing scenario (a
  // lesson, the picker, a link) goes through it, so none loses the work
  // saved for a scenario.
  let opening = 0; // counts openLab calls: a newer one wins
  // A seed, when given, must be the world's: a saved world of that
  // scenario with another seed gives way to a fresh one.
  async function openLab(scenario, seed) {
    const mine = ++opening;
    const link = hashParams().get('lab');
    if (link && !scenario) {
      // Opened or not, the link leaves the address: from here on the world
      // lives in localStorage, and a reload must neither go back to the
      // link's state nor fail on a broken link again.
      const params = hashParams();
      params.delete('lab');
      history.replaceState(null, '', `${location.pathname}${location.search}${params.size ? `#${params}` : ''}`);
      try {
        await session.restore(decodeSnapshot(link));
        return;
      } catch (err) {
        say(`The link could not be opened: ${err.message}`, true);
      }
    }
    const want = scenario || pane.current?.scenario || 'first-session';
    const saved = progress.lab(want);
    if (saved && (seed === undefined || saved.seed === seed)) {
      try {
        await session.restore(saved);
        opened(scenario, mine, saved.inputs?.length > 0);
        return;
      } catch { /* an old or broken save: start fresh */ }
    }
    // A restore that failed must not replace what a newer call opened.
    if (mine !== opening) return;
    await session.create(want, seed ?? 1);
    opened(scenario, mine, false);
  }
  // opened says which world a change of scenario (the picker, a lesson, a
  // lab block's button) opened, and whether it is the learner's earlier
  // work: the status line had gone on saying what happened in the world
  // before ("Undone: ...") with another one in view, and a screen reader
  // heard nothing of the change. The first world and an import say their
  // own words.
  function opened(scenario, mine, saved) {
    if (!scenario || mine !== opening) return;
    const option = [...$('scenario-picker').options].find((o) => o.value === scenario);
    const name = option ? `“${option.textContent}”` : scenario;
    say(saved ? `Opened the scenario ${name}, as you left it.` : `Opened the scenario ${name}.`);
  }
  pane.onScenario = (scenario) => { if (scenario && scenario !== session.scenario) openLab(scenario).catch(() => {}); };
  // A lab block's button: its scenario in the lab, the tab it names open
  // and its prompt in the terminal, ready to send.
  pane.onOpenLab = async (scenario, { tab, prompt, seed }) => {
    if (scenario !== session.scenario || (seed !== undefined && seed !== session.seed)) {
      await openLab(scenario, Number.isSafeInteger(seed) ? seed : undefined).catch(() => {});
    }
    if (tab) view.selectTab(tab);
    const input = $('terminal-input');
    if (prompt) input.value = prompt;
    input.focus();
  };

  performance.mark('smtplab-engine-ready');
  // The first world before anything else: the greeting is what the
  // learner waits for, and the terminal is theirs as soon as it shows.
  // Checking the lesson's goals and the sandbox controls can come after.
  await openLab();
  performance.mark('smtplab-opened');
  view.enable(true);
  if (!problem) say('Engine ready.');
  if (session.events.some((e) => e.kind === 'smtp.reply' && e.code === 220)) {
    // The greeting is in the page and the terminal takes input: what the
    // load benchmark measures.
    performance.mark('smtplab-greeting');
  }
  pane.attach(session, view);

  const picker = $('scenario-picker');
  const scenarios = await api.scenarios();
  for (const s of scenarios) {
    picker.append(h('option', { value: s.name, title: s.purpose }, s.title));
  }
  // Choosing a scenario (arrow keys on the closed picker choose too) opens
  // its saved world, as a lesson does: going back to a scenario finds what
  // was typed there. Starting afresh is Reset's job, which asks first.
  picker.addEventListener('change', () => openLab(picker.value).catch(() => {}));
  picker.value = session.scenario;
  session.addEventListener('reset', () => { picker.value = session.scenario; });
  for (const id of ['scenario-picker', 'btn-undo', 'btn-reset', 'btn-permalink']) $(id).disabled = false;
  $('btn-undo').disabled = session.inputs === 0;
  document.documentElement.dataset.engine = 'ready';

  // With the TCP bridge on, real sessions show in a live view (opened at
  // once with #live in the address).
  const live = liveURL();
  if (live) mountLive(live, table, { lab: $('lab'), header: document.querySelector('header.smtplab-top'), show: hashParams().has('live') });

  // A link followed in a tab that already shows the lab: its lesson, then
  // its world (after the lesson, whose own scenario would replace it).
  window.addEventListener('hashchange', () => {
    const params = hashParams();
    const slug = params.get('lesson');
    if (slug) pane.show(slug);
    if (params.has('lab')) openLab().catch(() => {});
  });
}

// lessonsAfterLabOnAPhone puts the lesson pane after the lab in the page
// on a narrow screen, where lab.css shows it under the lab, and back
// before it on a wide one, where it is the column on the left: the Tab key
// then goes the way the eye does (on a phone it had gone through the whole
// lesson, two screens down, before reaching the lab at the top). A focus
// inside the pane stays where it was.
function lessonsAfterLabOnAPhone() {
  const narrow = window.matchMedia('(max-width: 800px)');
  const place = () => {
    const pane = document.querySelector('.smtplab-lessons');
    const lab = $('lab');
    if (!pane || !lab) return;
    const after = narrow.matches;
    if (after === !!(lab.compareDocumentPosition(pane) & Node.DOCUMENT_POSITION_FOLLOWING)) return;
    const focus = pane.contains(document.activeElement) ? document.activeElement : null;
    if (after) lab.parentNode.append(pane); else lab.parentNode.prepend(pane);
    if (focus) focus.focus({ preventScroll: true });
  };
  place();
  narrow.addEventListener('change', place);
}

// inputWords names one of a world's inputs (engine/lab's Input) in a few
// words.
function inputWords(input) {
  if (input.raw) return `raw bytes ${input.raw}`;
  if (input.submit) return 'a message sent with the mail client';
  if (input.advance) return `letting ${input.advance} pass`;
  if (input.connect) return `connecting to ${input.connect}`;
  return input.type || 'an empty line';
}

boot().catch((err) => {
  const status = $('engine-status');
  status.textContent = `Something went wrong: ${err.message}`;
  console.error(err);
});
