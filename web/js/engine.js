// Loading the WebAssembly engine, once per page, and talking to it through
// the API the bridge sets as globalThis.smtpLab (see wasm/browser).

let loading = null;

function meta(name) {
  const m = document.querySelector(`meta[name="${name}"]`);
  return m && m.content ? m.content : null;
}

// The engine's files sit next to this module (../dist/) unless the page
// names versioned URLs for them.
function wasmURL() {
  return meta('smtplab-wasm') || new URL('../dist/lab.wasm', import.meta.url).href;
}
function wasmExecURL() {
  return meta('smtplab-wasm-exec') || new URL('../dist/wasm_exec.js', import.meta.url).href;
}

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const s = document.createElement('script');
    s.src = src;
    s.onload = resolve;
    s.onerror = () => reject(new Error(`could not load ${src}`));
    document.head.append(s);
  });
}

// loadEngine resolves to the smtpLab API when the engine is ready.
export function loadEngine() {
  if (!loading) loading = start();
  return loading;
}

async function start() {
  if (globalThis.smtpLabReady) return globalThis.smtpLab;
  const ready = new Promise((resolve) => window.addEventListener('smtplab-ready', resolve, { once: true }));
  if (typeof globalThis.Go !== 'function') {
    // wasm_exec.js is a classic script; the page loads it with defer, an
    // embedding page may not have it yet.
    await new Promise((resolve) => {
      if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', resolve, { once: true });
      else resolve();
    });
    if (typeof globalThis.Go !== 'function') await loadScript(wasmExecURL());
  }
  const go = new globalThis.Go();
  let module;
  try {
    module = await (globalThis.smtpLabCompiling || WebAssembly.compileStreaming(fetch(wasmURL())));
  } catch (err) {
    // A server that does not say application/wasm: compile from bytes.
    const response = await fetch(wasmURL());
    if (!response.ok) throw new Error(`the engine could not be downloaded (${response.status})`);
    module = await WebAssembly.compile(await response.arrayBuffer());
  }
  const instance = await WebAssembly.instantiate(module, go.importObject);
  performance.mark('smtplab-wasm-compiled');
  // The engine only stops when it cannot go on (out of memory): every call
  // then in flight would wait for ever, and every later one would throw.
  const stopped = go.run(instance).then(() => {
    console.error('SMTP Lab engine stopped');
    throw new Error('the engine stopped (out of memory?); reload the page to start it again');
  });
  stopped.catch(() => {});
  if (!globalThis.smtpLabReady) await ready;
  performance.mark('smtplab-wasm-ready');
  return untilStopped(globalThis.smtpLab, stopped);
}

// untilStopped wraps each method of the engine's API so that its promise
// rejects, rather than never settling, once the engine has stopped. The
// calls in flight are kept in a set (not raced against stopped, which would
// pile up a handler on it for every call ever made).
export function untilStopped(api, stopped) {
  let dead = null;
  const inFlight = new Set(); // the reject functions of calls not yet settled
  stopped.catch((err) => {
    dead = err;
    for (const reject of inFlight) reject(err);
    inFlight.clear();
  });
  const wrapped = {};
  for (const [name, fn] of Object.entries(api)) {
    wrapped[name] = typeof fn !== 'function' ? fn : (...args) => {
      if (dead) return Promise.reject(dead);
      return new Promise((resolve, reject) => {
        inFlight.add(reject);
        const settle = () => inFlight.delete(reject);
        try {
          Promise.resolve(fn(...args)).then(resolve, reject).finally(settle);
        } catch (err) {
          settle();
          reject(err);
        }
      });
    };
  }
  return wrapped;
}

// explanations loads the reply explanation table (one per language).
let explaining = null;
export function loadExplanations() {
  if (!explaining) {
    const url = meta('smtplab-reasons') || new URL('../i18n/reasons.en.json', import.meta.url).href;
    explaining = fetch(url).then((r) => {
      if (!r.ok) throw new Error(`explanations: ${r.status}`);
      return r.json();
    });
  }
  return explaining;
}

// explain returns {meaning, next, rfc} for a reply: by the engine's reason
// id when the table has it, else by the reply's class (2xx … 5xx).
export function explain(table, reason, code) {
  if (table && reason && table.reasons[reason]) return table.reasons[reason];
  const cls = String(code || '')[0];
  return (table && table.classes[cls]) || null;
}
