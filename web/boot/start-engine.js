// A classic script, run as soon as the page's <head> is read: it starts
// downloading and compiling the engine at once, while the stylesheet, the
// modules and the lesson text load. js/engine.js picks the compiled module
// up from globalThis.smtpLabCompiling (or compiles it itself when this
// script did not run).
(function () {
  'use strict';
  var meta = document.querySelector('meta[name="smtplab-wasm"]');
  if (!meta || !meta.content || !WebAssembly.compileStreaming) return;
  var compiling = WebAssembly.compileStreaming(fetch(meta.content));
  compiling.catch(function () { /* js/engine.js tries again and says why */ });
  globalThis.smtpLabCompiling = compiling;
  performance.mark('smtplab-wasm-fetch');
})();
