// A dedicated worker that downloads and compiles the engine. In a page
// the bytes of a streaming compile are handed to the compiler on the
// main thread, where they queue behind the page's first layout and
// scripts; here they are not, and the page gets the compiled module, which
// a worker may post to it.
//
// boot/start-engine.js names the worker after the engine's URL, so the
// download starts as soon as this script runs. A message from the page
// would be no quicker to send but slower to arrive: it is handed to a
// starting worker only once the page's main thread gets round to it,
// which during the first layout is tens of milliseconds later.
WebAssembly.compileStreaming(fetch(self.name)).then(
  function (module) { self.postMessage({ module: module }); },
  function (err) { self.postMessage({ error: String((err && err.message) || err) }); });
