// LiteRT.js in a worker (segment.js's LiteRtRunner): the network runs on a webcam frame here while the page's main
// thread refines and draws the frame before it. A message {id, url, threads} loads the .tflite at url; with input,
// height and width it also runs it, and the answer carries the probability (1, height, width) and the ms it took.
// A classic worker, not a module one: LiteRT.js loads its WebAssembly glue with importScripts.
"use strict";

let runtime = null; // LiteRT.js, loaded: one WebAssembly module per worker
const models = {}; // url -> a promise of its compiled model

async function model(url, threads) {
  if (!runtime) {
    const folder = new URL("./litert/", self.location.href).href;
    const glue = `${folder}litert_wasm${threads > 1 ? "_threaded" : ""}_internal.js`;
    // Emscripten finds its files beside the script that loaded it, here this worker: point it at ./litert/, and
    // its thread workers at the glue script
    self.Module = { locateFile: (name) => folder + name, mainScriptUrlOrBlob: glue };
    runtime = import("./litert/core.js").then(async (litert) => {
      await litert.loadLiteRt(folder, { threads: threads > 1 });
      return litert;
    });
  }
  const litert = await runtime;
  if (!(url in models)) {
    models[url] = fetch(url).then(async (response) => {
      if (!response.ok) throw new Error(`${url}: ${response.status} ${response.statusText}`);
      // the .tflite gzipped (its float32 weights take 9.4 MB, 6.6 packed); the browser unpacks it
      const unpacked = new Response(response.body.pipeThrough(new DecompressionStream("gzip")));
      const bytes = new Uint8Array(await unpacked.arrayBuffer());
      return litert.loadAndCompile(bytes, { accelerator: "wasm", cpuOptions: { numThreads: threads } });
    });
  }
  return models[url];
}

self.onmessage = async ({ data: { id, url, threads, input, height, width } }) => {
  try {
    const compiled = await model(url, threads);
    const litert = await runtime;
    if (!input) {
      self.postMessage({ id });
      return;
    }
    const started = performance.now();
    const tensor = new litert.Tensor(input, [1, height, width, 3]);
    try {
      const outputs = await compiled.run(tensor);
      const probability = outputs[0].toTypedArray(); // a copy, out of the module's memory
      outputs.forEach((output) => output.delete());
      self.postMessage({ id, probability, ms: performance.now() - started }, [probability.buffer]);
    } finally {
      tensor.delete();
    }
  } catch (problem) {
    self.postMessage({ id, error: String(problem.message || problem) });
  }
};
