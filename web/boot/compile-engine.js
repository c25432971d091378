// A dedicated worker that downloads and compiles the engine. In a page
// the bytes of a streaming compile are handed to the compiler on the
// main thread, where they queue behind the page's first layout and
// scripts; here they are not, and the page gets the compiled module, which
// a worker may post to it. boot/start-engine.js sends the engine's URL.
self.onmessage = function (e) {
  WebAssembly.compileStreaming(fetch(e.data)).then(
    function (module) { self.postMessage({ module: module }); },
    function (err) { self.postMessage({ error: String((err && err.message) || err) }); });
};
