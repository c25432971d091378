// A classic script, run as soon as the page's <head> is read: it starts
// downloading and compiling the engine at once, while the stylesheet, the
// modules and the lesson text load. js/engine.js picks the compiled module
// up from globalThis.smtpLabCompiling (or compiles it itself when this
// script did not run or the compile failed).
//
// The compile runs in a worker (boot/compile-engine.js) when the page names
// one, so that the page's own work does not hold it up.
(function () {
  'use strict';
  function content(name) {
    var meta = document.querySelector('meta[name="' + name + '"]');
    return meta && meta.content;
  }
  var wasm = content('smtplab-wasm');
  if (!wasm || !WebAssembly.compileStreaming) return;
  var compiling;
  var workerURL = content('smtplab-compile-worker');
  var where = 'page';
  if (workerURL && typeof Worker === 'function') {
    where = 'worker';
    compiling = new Promise(function (resolve, reject) {
      var worker = new Worker(workerURL, { name: new URL(wasm, location.href).href });
      worker.onmessage = function (e) {
        worker.terminate();
        if (e.data.module) resolve(e.data.module);
        else reject(new Error(e.data.error));
      };
      worker.onerror = function () {
        worker.terminate();
        reject(new Error('the engine could not be compiled in a worker'));
      };
    });
  } else {
    compiling = WebAssembly.compileStreaming(fetch(wasm));
  }
  compiling.catch(function () { /* js/engine.js tries again and says why */ });
  globalThis.smtpLabCompiling = compiling;
  performance.mark('smtplab-wasm-fetch', { detail: where });
})();
