// The model in the browser: the route of portraitnet/inference (preprocess.py, route.py, video.py) written again
// for the page, so that a photo gets the mask Python gives it. Letterbox (or fit: the frame's own multiple-of-32
// shape) -> normalise -> run -> map back, refined on the photo's edges (refine.py); for live video, scene cuts, EMA
// smoothing and the effect drawn in the same pass. Photos run on ONNX Runtime Web; webcam frames on LiteRT.js
// (XNNPACK, about twice as fast here) where the page has a .tflite for the frame's shape, else on ONNX Runtime Web.
"use strict";

export const INPUT_SIZE = 224;
const PAD_VALUE = 128;
const MEAN = [0.485, 0.456, 0.406].map((v) => v * 255);
const STD = [0.229, 0.224, 0.225].map((v) => v * 255);
const CUT_THRESHOLD = 30; // mean grey change of a 32 x 18 thumbnail that counts as a new shot (video.py)
const REFINE_RADIUS = 2; // refine.Refinement's defaults: window radius in input pixels, and eps
const REFINE_EPS = 1e-3;

// Python's round(): halves go to the even neighbour, so both sides pick the same fitted size.
function roundHalfEven(x) {
  const floor = Math.floor(x);
  const rest = x - floor;
  if (rest !== 0.5) return Math.round(x);
  return floor % 2 === 0 ? floor : floor + 1;
}

// preprocess.Letterbox.fit: the longer side scaled to `size`, centred in the size x size square or, with `fit`,
// in the fitted image rounded up to multiples of 32.
export function letterbox(height, width, size = INPUT_SIZE, fit = false) {
  const scale = size / Math.max(height, width);
  const fittedHeight = Math.min(size, Math.max(1, roundHalfEven(height * scale)));
  const fittedWidth = Math.min(size, Math.max(1, roundHalfEven(width * scale)));
  const inputHeight = fit ? Math.ceil(fittedHeight / 32) * 32 : size;
  const inputWidth = fit ? Math.ceil(fittedWidth / 32) * 32 : size;
  return {
    height, width, inputHeight, inputWidth, fittedHeight, fittedWidth,
    top: Math.floor((inputHeight - fittedHeight) / 2), left: Math.floor((inputWidth - fittedWidth) / 2),
  };
}

// A blank canvas of that size (the effects draw on them too).
export function canvas(width, height) {
  const made = document.createElement("canvas");
  made.width = width;
  made.height = height;
  return made;
}

// OpenCV's INTER_AREA weights along one axis (its computeResizeAreaTab): each output pixel averages the source
// cells it covers, partial cells by the part covered. Parallel arrays: output index, source index, weight.
function areaWeights(sourceSize, size) {
  const scale = 1 / (size / sourceSize);
  const to = [], from = [], weight = [];
  const add = (d, s, w) => { to.push(d); from.push(s); weight.push(w); };
  for (let d = 0; d < size; d++) {
    const start = d * scale;
    const end = start + scale;
    const cell = Math.min(scale, sourceSize - start);
    const last = Math.min(Math.floor(end), sourceSize - 1);
    const first = Math.min(Math.ceil(start), last);
    if (first - start > 1e-3) add(d, first - 1, (first - start) / cell);
    for (let s = first; s < last; s++) add(d, s, 1 / cell);
    if (end - last > 1e-3) add(d, last, Math.min(Math.min(end - last, 1), cell) / cell);
  }
  return { to: Int32Array.from(to), from: Int32Array.from(from), weight: Float32Array.from(weight) };
}

// RGBA pixels (width x height) shrunk to (toWidth x toHeight) as preprocess.resize_image shrinks: halved by 2 x 2
// means (OpenCV's fast path, rounding halves up) while at least three times the size wanted, then area-averaged.
export function shrink(pixels, width, height, toWidth, toHeight) {
  while (width >= 3 * toWidth && height >= 3 * toHeight && width % 2 === 0 && height % 2 === 0) {
    const half = new Uint8ClampedArray(pixels.length / 4);
    for (let y = 0; y < height / 2; y++) {
      for (let x = 0; x < width / 2; x++) {
        const at = 4 * (2 * y * width + 2 * x);
        const to = 4 * (y * (width / 2) + x);
        for (let c = 0; c < 3; c++) {
          const sum = pixels[at + c] + pixels[at + 4 + c] + pixels[at + 4 * width + c] + pixels[at + 4 * width + 4 + c];
          half[to + c] = (sum + 2) >> 2;
        }
        half[to + 3] = 255;
      }
    }
    pixels = half;
    width /= 2;
    height /= 2;
  }
  return resizeArea(pixels, width, height, toWidth, toHeight);
}

// RGBA pixels (width x height) shrunk to (toWidth x toHeight) by area averaging, RGBA, rounded as OpenCV rounds.
function resizeArea(pixels, width, height, toWidth, toHeight) {
  const across = areaWeights(width, toWidth);
  const down = areaWeights(height, toHeight);
  const rowLength = toWidth * 3;
  const row = new Float32Array(rowLength); // one source row, resized across
  const sums = new Float32Array(toHeight * rowLength);
  let next = 0; // the first vertical weight not yet applied (they come in source-row order)
  for (let y = 0; y < height; y++) {
    row.fill(0);
    const base = 4 * y * width;
    for (let k = 0; k < across.to.length; k++) {
      const from = base + 4 * across.from[k];
      const to = 3 * across.to[k];
      const w = across.weight[k];
      row[to] += w * pixels[from];
      row[to + 1] += w * pixels[from + 1];
      row[to + 2] += w * pixels[from + 2];
    }
    for (let k = next; k < down.to.length && down.from[k] === y; k++, next++) {
      const at = down.to[k] * rowLength;
      const w = down.weight[k];
      for (let i = 0; i < rowLength; i++) sums[at + i] += w * row[i];
    }
  }
  const out = new Uint8ClampedArray(toWidth * toHeight * 4);
  for (let i = 0; i < toWidth * toHeight; i++) {
    for (let c = 0; c < 3; c++) out[4 * i + c] = roundHalfEven(sums[3 * i + c]);
    out[4 * i + 3] = 255;
  }
  return out;
}

// OpenCV's COLOR_RGB2GRAY on RGBA pixels, in its fixed point: uint8 luma.
function greyOf(pixels, count) {
  const grey = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    grey[i] = (4899 * pixels[4 * i] + 9617 * pixels[4 * i + 1] + 1868 * pixels[4 * i + 2] + 8192) >> 14;
  }
  return grey;
}

// OpenCV's BORDER_REFLECT: fedcba|abcdefgh|hgfedcb.
function reflect(i, n) {
  while (i < 0 || i >= n) i = i < 0 ? -i - 1 : 2 * n - i - 1;
  return i;
}

// The indices a window of radius r reads along an axis of length n, BORDER_REFLECT beyond the ends.
function reflectedIndices(n, r) {
  const indices = new Int32Array(n + 2 * r);
  for (let i = 0; i < indices.length; i++) indices[i] = reflect(i - r, n);
  return indices;
}

// Float32Arrays reused from call to call, by role, for the refinement's working values (each call uses them and
// is done before the next): a live frame's refinement would otherwise allocate a dozen a frame, and the garbage
// collector's work on them cost more than the arithmetic (4.6 -> 2.4 ms for a 640x480 frame's coefficients,
// docs/results.md).
const buffers = {};
function buffer(role, length) {
  if (!buffers[role] || buffers[role].length !== length) buffers[role] = new Float32Array(length);
  return buffers[role];
}

// "1 thread", "2 threads".
function threadsInWords(count) {
  return `${count} thread${count === 1 ? "" : "s"}`;
}

// cv2.boxFilter, normalised, BORDER_REFLECT: each pixel's mean over its (2r + 1)^2 window, as running sums, into
// the buffer of role `into`.
function boxMean(values, width, height, r, into) {
  const across = buffer("box across", values.length);
  const out = buffer(into, values.length);
  const n = 2 * r + 1;
  const xs = reflectedIndices(width, r), ys = reflectedIndices(height, r);
  for (let y = 0; y < height; y++) {
    const row = y * width;
    let sum = 0;
    for (let k = 0; k < n; k++) sum += values[row + xs[k]];
    for (let x = 0; x < width; x++) {
      across[row + x] = sum / n;
      if (x + n < xs.length) sum += values[row + xs[x + n]] - values[row + xs[x]];
    }
  }
  for (let x = 0; x < width; x++) {
    let sum = 0;
    for (let k = 0; k < n; k++) sum += across[ys[k] * width + x];
    for (let y = 0; y < height; y++) {
      out[y * width + x] = sum / n;
      if (y + n < ys.length) sum += across[ys[y + n] * width + x] - across[ys[y] * width + x];
    }
  }
  return out;
}

// refine.coefficients: probability ~ a * guide + b in every window, averaged over each pixel's windows (in reused
// buffers: valid until the next call).
function guidedCoefficients(probability, guide, width, height, r, eps) {
  const count = width * height;
  const product = buffer("product", count);
  const square = buffer("square", count);
  for (let i = 0; i < count; i++) {
    product[i] = guide[i] * probability[i];
    square[i] = guide[i] * guide[i];
  }
  const meanGuide = boxMean(guide, width, height, r, "mean guide");
  const meanP = boxMean(probability, width, height, r, "mean p");
  const meanProduct = boxMean(product, width, height, r, "mean product");
  const meanSquare = boxMean(square, width, height, r, "mean square");
  const a = buffer("a", count);
  const b = buffer("b", count);
  for (let i = 0; i < count; i++) {
    const variance = meanSquare[i] - meanGuide[i] * meanGuide[i];
    a[i] = (meanProduct[i] - meanGuide[i] * meanP[i]) / (variance + eps);
    b[i] = meanP[i] - a[i] * meanGuide[i];
  }
  return { a: boxMean(a, width, height, r, "mean a"), b: boxMean(b, width, height, r, "mean b") };
}

// OpenCV's INTER_LINEAR sampling along one axis: pixel centres aligned, edges clamped.
function linearTaps(size, toSize) {
  const low = new Int32Array(toSize), high = new Int32Array(toSize), frac = new Float32Array(toSize);
  const scale = size / toSize;
  for (let d = 0; d < toSize; d++) {
    let s = (d + 0.5) * scale - 0.5;
    let i = Math.floor(s);
    let f = s - i;
    if (i < 0) { i = 0; f = 0; }
    if (i >= size - 1) { i = size - 1; f = 0; }
    low[d] = i;
    high[d] = Math.min(i + 1, size - 1);
    frac[d] = f;
  }
  return { low, high, frac };
}

// refine.refined: the probability inside the letterbox, fitted to the grey guide at the network's size, the
// coefficients upsampled and applied to the photo's grey at full size: the person's opacity (0..255) per pixel,
// written into `alpha`.
export function refinedAlpha(probability, box, fitted, pixels, width, height,
                             alpha = new Uint8ClampedArray(width * height)) {
  const w = box.fittedWidth, h = box.fittedHeight;
  const inside = buffer("inside", w * h);
  for (let y = 0; y < h; y++) {
    inside.set(probability.subarray((y + box.top) * box.inputWidth + box.left,
                                    (y + box.top) * box.inputWidth + box.left + w), y * w);
  }
  const grey = greyOf(fitted, w * h);
  const guide = buffer("guide", w * h);
  for (let i = 0; i < guide.length; i++) guide[i] = grey[i] / 255;
  const { a, b } = guidedCoefficients(inside, guide, w, h, REFINE_RADIUS, REFINE_EPS);
  const across = linearTaps(w, width), down = linearTaps(h, height);
  const rowA = buffer("row a", w), rowB = buffer("row b", w); // a and b interpolated down to this output row
  for (let y = 0; y < height; y++) {
    const top = down.low[y] * w, bottom = down.high[y] * w, fy = down.frac[y];
    for (let x = 0; x < w; x++) {
      rowA[x] = ((1 - fy) * a[top + x] + fy * a[bottom + x]) / 255;
      rowB[x] = (1 - fy) * b[top + x] + fy * b[bottom + x];
    }
    for (let x = 0, i = y * width; x < width; x++, i++) {
      const left = across.low[x], right = across.high[x], fx = across.frac[x];
      const at = 4 * i;
      const grey = (4899 * pixels[at] + 9617 * pixels[at + 1] + 1868 * pixels[at + 2] + 8192) >> 14;
      const q = (1 - fx) * rowB[left] + fx * rowB[right] + ((1 - fx) * rowA[left] + fx * rowA[right]) * grey;
      alpha[i] = 255 * q; // a clamped array: clipped to 0..255 and rounded half to even, as numpy rounds
    }
  }
  return alpha;
}

// An opacity per pixel as a white canvas whose alpha it is (what the effects draw with).
function alphaCanvas(alpha, width, height) {
  const full = canvas(width, height);
  const context = full.getContext("2d");
  const image = context.createImageData(width, height);
  const out = image.data;
  out.fill(255);
  for (let i = 0; i < alpha.length; i++) out[4 * i + 3] = alpha[i];
  context.putImageData(image, 0, 0);
  return full;
}

// The normalised input the network takes, in the runtime's layout ("nchw" or "nhwc"): the fitted pixels (RGBA)
// placed in the letterbox, the rest the padding grey.
export function normalised(fitted, box, layout) {
  const plane = box.inputWidth * box.inputHeight;
  const data = new Float32Array(3 * plane);
  const pad = MEAN.map((mean, c) => (PAD_VALUE - mean) / STD[c]);
  // where channel c of pixel i goes: i * step + c * stride
  const [step, stride] = layout === "nhwc" ? [3, 1] : [1, plane];
  for (let c = 0; c < 3; c++) for (let i = 0; i < plane; i++) data[i * step + c * stride] = pad[c];
  for (let c = 0; c < 3; c++) {
    const mean = MEAN[c], scale = 1 / STD[c];
    for (let y = 0; y < box.fittedHeight; y++) {
      let from = 4 * y * box.fittedWidth + c;
      let to = ((y + box.top) * box.inputWidth + box.left) * step + c * stride;
      for (let x = 0; x < box.fittedWidth; x++, from += 4, to += step) data[to] = (fitted[from] - mean) * scale;
    }
  }
  return data;
}

// The threads a runtime may use: every core (up to 4) where the page is cross-origin isolated, as `portraitnet
// serve` makes it (the runtimes' defaults are half of them), else one.
function threads() {
  return self.crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;
}

// The network on ONNX Runtime Web: input (1, 3, H, W), any multiple-of-32 shape.
class OrtRunner {
  constructor(ort, session, provider) {
    this.ort = ort;
    this.session = session;
    this.provider = provider;
    this.layout = "nchw";
  }

  describe() {
    if (this.provider === "webgpu") return "ONNX Runtime Web, WebGPU";
    return `ONNX Runtime Web, WebAssembly, ${threadsInWords(this.ort.env.wasm.numThreads)}`;
  }

  async run(data, height, width) {
    const image = new this.ort.Tensor("float32", data, [1, 3, height, width]);
    const output = await this.session.run({ [this.session.inputNames[0]]: image });
    return output[this.session.outputNames[0]].data;
  }
}

// The network on LiteRT.js (XNNPACK in WebAssembly) in a worker (live-worker.js), so that the page's main thread
// refines and draws one frame while the network runs on the next: input (1, H, W, 3), one fixed shape per .tflite.
class LiteRtRunner {
  constructor(worker, url, count) {
    this.worker = worker;
    this.url = url;
    this.count = count;
    this.layout = "nhwc";
    this.ms = 0; // the last run's time in the worker
  }

  describe() {
    return `LiteRT.js (XNNPACK) in a worker, WebAssembly, ${threadsInWords(this.count)}`;
  }

  // The .tflite at modelUrl, compiled in the worker (one per page, started the first time); rejects where the
  // page has no such file or the browser cannot run LiteRT.js. Its threads share the cores with the main thread's
  // work on the frame before; on 2 cores two threads ran 29.5-31.2 frames/s, one 29.5 (docs/runs/browser/live.txt).
  static async load(modelUrl) {
    const url = new URL(modelUrl, document.baseURI).href;
    const runner = new LiteRtRunner(LiveWorker.shared(), url, threads());
    await runner.worker.call({ url, threads: runner.count });
    return runner;
  }

  async run(data, height, width) {
    const { probability, ms } = await this.worker.call(
      { url: this.url, threads: this.count, input: data, height, width }, [data.buffer]);
    this.ms = ms;
    return probability;
  }
}

// live-worker.js, answering each message by its id.
class LiveWorker {
  static shared() {
    if (!LiveWorker.instance) LiveWorker.instance = new LiveWorker();
    return LiveWorker.instance;
  }

  constructor() {
    this.worker = new Worker(new URL("./live-worker.js", import.meta.url));
    this.waiting = new Map(); // id -> [resolve, reject]
    this.next = 0;
    this.failed = null;
    this.worker.onmessage = ({ data }) => {
      const [resolve, reject] = this.waiting.get(data.id);
      this.waiting.delete(data.id);
      if (data.error) reject(new Error(data.error));
      else resolve(data);
    };
    this.worker.onerror = (event) => { // the worker's module did not load (no ./litert/): every call fails
      event.preventDefault();
      this.failed = new Error(event.message || "the live worker did not start");
      for (const [, reject] of this.waiting.values()) reject(this.failed);
      this.waiting.clear();
    };
  }

  call(message, transfer = []) {
    if (this.failed) return Promise.reject(this.failed);
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, [resolve, reject]);
      this.worker.postMessage({ id, ...message }, transfer);
    });
  }
}

// Milliseconds per stage of the live loop, summed over frames: where a frame's time goes (the page shows the
// means, and the browser test prints them).
export class StageTimes {
  constructor() {
    this.sums = {};
    this.frames = 0;
    this.last = 0;
  }

  start() { this.last = performance.now(); }

  lap(stage) {
    const now = performance.now();
    this.add(stage, now - this.last);
    this.last = now;
  }

  add(stage, ms) { this.sums[stage] = (this.sums[stage] || 0) + ms; }

  means() {
    return Object.fromEntries(Object.entries(this.sums).map(([stage, sum]) => [stage, sum / Math.max(1, this.frames)]));
  }
}

export class BrowserSegmenter {
  // ort: the ONNX Runtime Web module; session: an InferenceSession of the exported graph.
  constructor(ort, session, provider) {
    this.photos = new OrtRunner(ort, session, provider);
    this.provider = provider;
    this.live = {}; // input shape "HxW" -> a promise of its LiteRtRunner, or of null (frames of it run on ort)
    this.input = canvas(INPUT_SIZE, INPUT_SIZE);
    this.times = null; // a StageTimes, when the caller profiles
    this.lastBox = null;
    this.lastRunner = this.photos;
  }

  lap(stage) { if (this.times) this.times.lap(stage); }

  // What ran the model last, in words: runtime, "WebGPU" or "WebAssembly, N threads".
  backend() { return this.lastRunner.describe(); }

  // The runtime from ./ort/ (fetched by tools/fetch_web_runtime.py), WebGPU where the browser has it, else
  // WebAssembly (threads when the page is cross-origin isolated, as `portraitnet serve` makes it).
  static async create(modelUrl) {
    const ort = await import("./ort/ort.min.mjs");
    ort.env.wasm.wasmPaths = new URL("./ort/", import.meta.url).href;
    ort.env.wasm.numThreads = threads();
    ort.env.logLevel = "error";
    const model = new Uint8Array(await (await fetch(modelUrl)).arrayBuffer());
    for (const provider of navigator.gpu ? ["webgpu", "wasm"] : ["wasm"]) {
      try {
        const session = await ort.InferenceSession.create(model, { executionProviders: [provider] });
        return new BrowserSegmenter(ort, session, provider);
      } catch (problem) {
        if (provider === "wasm") throw problem;
      }
    }
  }

  // What runs a live frame of this box: LiteRT.js on the page's live-HxW.tflite, loaded the first time, where the
  // page has one and ONNX Runtime Web is not on the GPU; else ONNX Runtime Web.
  async liveRunner(box) {
    if (this.provider === "webgpu") return this.photos;
    const shape = `${box.inputHeight}x${box.inputWidth}`;
    if (!(shape in this.live)) {
      this.live[shape] = LiteRtRunner.load(`live-${shape}.tflite.gz`).catch((problem) => {
        console.warn(`live frames of ${shape} run on ONNX Runtime Web:`, problem);
        return null;
      });
    }
    return (await this.live[shape]) || this.photos;
  }

  // An image, bitmap, video or canvas (width x height) -> person probability on the letterbox, with its box.
  async run(source, width, height, fit = false) {
    const started = await this.start(source, width, height, fit, true);
    return { ...started, probability: await this.result(started) };
  }

  // The network started on a source: its box, its pixels as read, and `probability`, a promise. With `exact` false
  // (live video) the browser's own scaling shrinks the frame, several times faster than OpenCV's area average
  // written out, which photos keep so that their masks match Python's, and the live runtime runs it.
  async start(source, width, height, fit, exact) {
    const box = letterbox(height, width, INPUT_SIZE, fit);
    const runner = exact ? this.photos : await this.liveRunner(box);
    const { fitted, pixels } = exact ? this.fitted(source, width, height, box) : this.scaled(source, box);
    this.lap("read and shrink");
    const data = normalised(fitted, box, runner.layout);
    this.lap("normalise");
    return { box, fitted, pixels, runner, probability: runner.run(data, box.inputHeight, box.inputWidth) };
  }

  // A started network's probability; the time the caller waited for it is the "model" stage.
  async result({ box, runner, probability }) {
    const done = await probability;
    this.lap("model");
    if (this.times && runner.ms !== undefined) this.times.add("in the worker", runner.ms);
    this.lastBox = box;
    this.lastRunner = runner;
    return done;
  }

  // The source scaled to the box's fitted size, RGBA: shrunk as preprocess.resize_image shrinks (OpenCV's
  // INTER_AREA), enlarged bilinearly by the canvas; and the source's own pixels where they were read on the way.
  fitted(source, width, height, box) {
    const shrinking = box.fittedWidth < width || box.fittedHeight < height;
    if (shrinking && source instanceof HTMLCanvasElement) { // a live frame already drawn: read it, no second copy
      const pixels = source.getContext("2d").getImageData(0, 0, width, height).data;
      return { fitted: shrink(pixels, width, height, box.fittedWidth, box.fittedHeight), pixels };
    }
    const drawn = this.input;
    drawn.width = shrinking ? width : box.fittedWidth;
    drawn.height = shrinking ? height : box.fittedHeight;
    const context = drawn.getContext("2d", { willReadFrequently: true });
    context.imageSmoothingEnabled = true;
    context.imageSmoothingQuality = "low";
    context.drawImage(source, 0, 0, drawn.width, drawn.height);
    const pixels = context.getImageData(0, 0, drawn.width, drawn.height).data;
    if (!shrinking) return { fitted: pixels, pixels: null };
    return { fitted: shrink(pixels, width, height, box.fittedWidth, box.fittedHeight), pixels };
  }

  // The source drawn at the box's fitted size by the browser (high-quality smoothing), RGBA.
  scaled(source, box) {
    const drawn = this.input;
    drawn.width = box.fittedWidth;
    drawn.height = box.fittedHeight;
    const context = drawn.getContext("2d", { willReadFrequently: true });
    context.imageSmoothingEnabled = true;
    context.imageSmoothingQuality = "high";
    context.drawImage(source, 0, 0, drawn.width, drawn.height);
    return { fitted: context.getImageData(0, 0, drawn.width, drawn.height).data, pixels: null };
  }

  // The probability inside the letterbox, as a fitted-size canvas whose alpha is the probability (0..255).
  static fittedMask(probability, box) {
    const small = canvas(box.fittedWidth, box.fittedHeight);
    const context = small.getContext("2d");
    const image = context.createImageData(box.fittedWidth, box.fittedHeight);
    for (let y = 0; y < box.fittedHeight; y++) {
      const row = (y + box.top) * box.inputWidth + box.left;
      for (let x = 0; x < box.fittedWidth; x++) {
        const at = 4 * (y * box.fittedWidth + x);
        image.data[at] = image.data[at + 1] = image.data[at + 2] = 255;
        image.data[at + 3] = Math.round(255 * probability[row + x]);
      }
    }
    context.putImageData(image, 0, 0);
    return small;
  }

  // route.map_back: the mask at the photo's size (bilinear, as OpenCV's INTER_LINEAR), alpha = probability.
  static fullMask(small, width, height) {
    const full = canvas(width, height);
    const context = full.getContext("2d");
    context.imageSmoothingEnabled = true;
    context.imageSmoothingQuality = "low"; // bilinear
    context.drawImage(small, 0, 0, width, height);
    return full;
  }

  // The source's RGBA pixels at its own size.
  pixels(source, width, height) {
    if (source instanceof HTMLCanvasElement) return source.getContext("2d").getImageData(0, 0, width, height).data;
    const drawn = canvas(width, height);
    const context = drawn.getContext("2d", { willReadFrequently: true });
    context.drawImage(source, 0, 0, width, height);
    return context.getImageData(0, 0, width, height).data;
  }

  // The probability at the source's size (`run`'s result with it): refined on its edges, or with refine false
  // upsampled as it is.
  maskOf({ probability, box, fitted, pixels }, source, width, height, refine) {
    const mask = refine
      ? alphaCanvas(refinedAlpha(probability, box, fitted, pixels || this.pixels(source, width, height), width,
                                 height), width, height)
      : BrowserSegmenter.fullMask(BrowserSegmenter.fittedMask(probability, box), width, height);
    this.lap(refine ? "refine" : "upsample");
    return mask;
  }

  async mask(source, width, height, fit = true, refine = true) {
    return this.maskOf(await this.run(source, width, height, fit), source, width, height, refine);
  }
}

// A live webcam: video.py's FrameEffect (a new shot resets the smoothing, otherwise p = (1 - s) new + s previous),
// refined on the frame's edges. The frame's pixels are read once, for the refinement and for the effect
// (effects.js `composite`), which draws in one pass: no mask canvas, no cut-out.
export class LiveMasks {
  constructor(segmenter, strength = 0.5) {
    this.segmenter = segmenter;
    this.strength = strength;
    this.previous = null;
    this.thumbnail = null;
    this.thumb = canvas(32, 18);
    this.alpha = null; // the opacities of the frame last finished, rewritten by the next
  }

  sceneCut(source) {
    const context = this.thumb.getContext("2d", { willReadFrequently: true });
    context.imageSmoothingQuality = "high";
    context.drawImage(source, 0, 0, 32, 18);
    const pixels = context.getImageData(0, 0, 32, 18).data;
    const grey = new Float32Array(32 * 18);
    for (let i = 0; i < grey.length; i++) {
      grey[i] = 0.299 * pixels[4 * i] + 0.587 * pixels[4 * i + 1] + 0.114 * pixels[4 * i + 2];
    }
    let change = 0;
    if (this.thumbnail) for (let i = 0; i < grey.length; i++) change += Math.abs(grey[i] - this.thumbnail[i]);
    const cut = this.thumbnail !== null && change / grey.length > CUT_THRESHOLD;
    this.thumbnail = grey;
    return cut;
  }

  // The network started on a frame (a canvas): `finish` gives its result. Between the two the caller may finish
  // the frame before, while the network (in a worker, on LiteRT.js) runs on this one.
  async start(frame) {
    const cut = this.sceneCut(frame);
    return { frame, cut, ...await this.segmenter.start(frame, frame.width, frame.height, true, false) };
  }

  // A started frame's RGBA pixels and the person's opacity in each (0..255).
  async finish(started) {
    const { frame, cut, box, fitted } = started;
    const { width, height } = frame;
    let smoothed = await this.segmenter.result(started);
    if (cut) this.previous = null;
    if (this.previous && this.previous.length === smoothed.length && this.strength > 0) {
      const fresh = smoothed;
      smoothed = new Float32Array(fresh.length);
      for (let i = 0; i < fresh.length; i++) {
        smoothed[i] = (1 - this.strength) * fresh[i] + this.strength * this.previous[i];
      }
    }
    this.previous = smoothed;
    const pixels = frame.getContext("2d", { willReadFrequently: true }).getImageData(0, 0, width, height).data;
    if (!this.alpha || this.alpha.length !== width * height) this.alpha = new Uint8ClampedArray(width * height);
    const alpha = refinedAlpha(smoothed, box, fitted, pixels, width, height, this.alpha);
    this.segmenter.lap("refine");
    return { pixels, alpha };
  }
}
