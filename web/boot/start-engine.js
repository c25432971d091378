// A classic script, run as soon as the page's <head> is read: it starts
// downloading and compiling the engine at once, while the stylesheet, the
// modules and the lesson text load. js/engine.js picks the compiled module
// up from globalThis.smtpLabCompiling (or compiles it itself when this
// script did not run or the compile failed).
//
// The compile runs in a dedicated worker. In the page, the bytes of a
// streaming compile are handed to the compiler on the main thread, where
// they queue behind the first layout and the module scripts; in a worker
// they are not, and the worker may post the compiled module to the page.
//
// Every simpler way of starting that worker waits for something slow. A
// worker script of its own is one more request, after which the page must
// take the worker's start in hand; a message naming the engine reaches a
// starting worker only when the page's busy main thread gets round to
// passing it on; a blob: URL costs two synchronous round trips to the
// browser process (the blob, then its URL), which on a busy machine hold up
// this script, and the parser behind it, for tens of milliseconds. So the
// worker's few lines come from this script as a data: URL, and its name is
// the engine's URL: it needs nothing else. A data: worker has an opaque
// origin, so its request for the engine is cross-origin: the server allows
// it for the engine (site.go), and a page whose server does not, or whose
// CSP allows no data: worker, falls back to compiling in the page.
(function () {
  'use strict';
  var meta = document.querySelector('meta[name="smtplab-wasm"]');
  var wasm = meta && meta.content;
  if (!wasm || !WebAssembly.compileStreaming) return;

  // compileEngine is the worker: it runs as a script of its own.
  function compileEngine() {
    WebAssembly.compileStreaming(fetch(self.name)).then(function (module) {
      self.postMessage({ module: module });
    }).catch(function (err) {
      // The download or the compile failed, or this browser will not pass
      // a compiled module to the page: the page must hear of it either way.
      self.postMessage({ error: String((err && err.message) || err) });
    });
  }

  // inWorker resolves to the module the worker compiled. A worker that
  // cannot start or fetch the engine rejects it, and js/engine.js then
  // compiles the engine itself.
  function inWorker() {
    return new Promise(function (resolve, reject) {
      var source = 'data:text/javascript,' + encodeURIComponent('(' + compileEngine + ')();');
      var worker = new Worker(source, { name: new URL(wasm, location.href).href });
      worker.onmessage = function (e) {
        worker.terminate();
        if (!e.data.module) {
          reject(new Error(e.data.error));
          return;
        }
        performance.mark('smtplab-wasm-from-worker');
        resolve(e.data.module);
      };
      worker.onerror = worker.onmessageerror = function () {
        worker.terminate();
        reject(new Error('the engine could not be compiled in a worker'));
      };
    });
  }

  var where = typeof Worker === 'function' ? 'worker' : 'page';
  var compiling = where === 'worker' ? inWorker() : WebAssembly.compileStreaming(fetch(wasm));
  compiling.catch(function () { /* js/engine.js tries again and says why */ });
  globalThis.smtpLabCompiling = compiling;
  performance.mark('smtplab-wasm-fetch', { detail: where });
})();
