// The page. In "this browser" the model runs here (segment.js: ONNX Runtime Web, LiteRT.js for webcam frames) and
// nothing is sent anywhere; in "the server" photos are posted to /api/segment and webcam frames streamed over a
// WebSocket. Served by `portraitnet serve`, or as static files (`portraitnet export --format web`): then only this
// browser is offered.
import { FORMATS, composite, render } from "./effects.js";
import { BrowserSegmenter, LiveMasks, StageTimes } from "./segment.js";

const $ = (id) => document.getElementById(id);
let browser = null; // a BrowserSegmenter once the runtime and the model are loaded
let serverAvailable = false;

const engine = () => $("engine").value;

async function setUp() {
  serverAvailable = await fetch("api/health").then((response) => response.ok).catch(() => false);
  try {
    browser = await BrowserSegmenter.create("model.onnx");
  } catch (problem) {
    console.warn("in-browser inference unavailable:", problem);
  }
  $("engine").querySelector("option[value=browser]").disabled = !browser;
  $("engine").querySelector("option[value=server]").disabled = !serverAvailable;
  $("engine").value = browser ? "browser" : "server";
  $("engine-status").textContent = browser
    ? `model loaded (${browser.backend()})`
    : serverAvailable ? "in-browser runtime not installed: the server segments (python tools/fetch_web_runtime.py)"
      : "no runtime and no server: nothing can segment here";
  document.body.dataset.ready = "true";
}

function showMode(live) {
  $("photo-mode").hidden = live;
  $("live-mode").hidden = !live;
  $("tab-photo").classList.toggle("active", !live);
  $("tab-live").classList.toggle("active", live);
}
$("tab-photo").onclick = () => showMode(false);
$("tab-live").onclick = () => showMode(true);

// --- photo mode ---
let lastFile = null;

// A result in its figure; resolves once the image is displayed, so "done" means shown.
function show(figure, blob) {
  const url = URL.createObjectURL(blob);
  const image = figure.querySelector("img");
  figure.querySelector("a").href = url;
  return new Promise((resolve, reject) => {
    image.onload = resolve;
    image.onerror = () => reject(new Error(`could not show the ${figure.dataset.format}`));
    image.src = url;
  });
}

async function segmentOnServer(file) {
  const colour = $("colour").value;
  await Promise.all([...document.querySelectorAll("#results figure")].map(async (figure) => {
    const format = figure.dataset.format;
    const query = new URLSearchParams({ format, output: format === "blur" || format === "replace" ? "jpeg" : "png" });
    if (format === "replace") query.set("background_color", colour);
    const body = new FormData();
    body.append("image", file);
    const response = await fetch(`api/segment?${query}`, { method: "POST", body });
    if (!response.ok) {
      const problem = await response.json().catch(() => ({ error: response.statusText }));
      throw new Error(problem.error);
    }
    await show(figure, await response.blob());
  }));
}

async function segmentInBrowser(file) {
  const photo = await createImageBitmap(file, { imageOrientation: "from-image" }).catch(() => {
    throw new Error(`${file.name}: not an image this browser can read`);
  });
  const mask = await browser.mask(photo, photo.width, photo.height);
  await Promise.all(FORMATS.map(async (format) => {
    const drawn = render(format, photo, mask, document.createElement("canvas"), { colour: $("colour").value });
    const type = format === "blur" || format === "replace" ? "image/jpeg" : "image/png";
    await show(document.querySelector(`#results figure[data-format=${format}]`),
               await new Promise((resolve) => drawn.toBlob(resolve, type, 0.92)));
  }));
}

async function segment(file) {
  lastFile = file;
  $("status").textContent = `Segmenting ${file.name}…`;
  const started = performance.now();
  try {
    await (engine() === "browser" ? segmentInBrowser(file) : segmentOnServer(file));
    $("status").textContent = `${file.name}: done in ${Math.round(performance.now() - started)} ms ` +
      `(${engine() === "browser" ? "in this browser" : "on the server"})`;
  } catch (problem) {
    $("status").textContent = `Error: ${problem.message}`;
  }
}

$("file").onchange = (event) => event.target.files[0] && segment(event.target.files[0]);
$("colour").onchange = () => lastFile && segment(lastFile);
const drop = $("drop");
drop.ondragover = (event) => { event.preventDefault(); drop.classList.add("over"); };
drop.ondragleave = () => drop.classList.remove("over");
drop.ondrop = (event) => {
  event.preventDefault();
  drop.classList.remove("over");
  if (event.dataTransfer.files[0]) segment(event.dataTransfer.files[0]);
};

// --- live mode ---
let stream = null;
let socket = null;
let running = false;
let fpsTimer = null;
const counts = { window: 0, total: 0, first: 0 }; // frames in this second, frames since the first, its time

function effectSettings() {
  return { format: document.querySelector("input[name=effect]:checked").value, background: $("live-colour").value };
}

// The live mode's backend, input size and where a frame's time goes, on the page (and as data for the tests).
function showProfile(times) {
  if (times.frames % 10 !== 1) return;
  const means = times.means();
  const box = browser.lastBox;
  $("live-info").dataset.profile = JSON.stringify(means);
  $("live-info").textContent = `${browser.backend()}, input ${box.inputWidth} x ${box.inputHeight}; ms per frame: `
    + Object.entries(means).map(([stage, ms]) => `${stage} ${ms.toFixed(1)}`).join(", ");
}

function countFrame() {
  if (counts.total === 0) counts.first = performance.now();
  counts.window += 1;
  counts.total += 1;
}

function streamToServer(video) {
  const canvas = document.createElement("canvas");
  canvas.width = video.videoWidth || 640;
  canvas.height = video.videoHeight || 480;
  const context = canvas.getContext("2d");
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${scheme}://${location.host}/ws/live`);
  socket.binaryType = "blob";
  const sendFrame = () => {
    if (!socket || socket.readyState !== WebSocket.OPEN) return;
    context.drawImage(video, 0, 0, canvas.width, canvas.height);
    canvas.toBlob((blob) => blob && socket && socket.readyState === WebSocket.OPEN && socket.send(blob),
                  "image/jpeg", 0.8);
  };
  socket.onopen = () => {
    socket.send(JSON.stringify(effectSettings()));
    $("live-status").textContent = "Streaming to the server";
    sendFrame();
  };
  socket.onmessage = (event) => {
    if (typeof event.data === "string") {
      $("live-status").textContent = JSON.parse(event.data).error;
    } else {
      const image = $("processed");
      const old = image.src;
      image.src = URL.createObjectURL(event.data);
      if (old) URL.revokeObjectURL(old);
      countFrame();
    }
    sendFrame();
  };
  socket.onclose = () => { $("live-status").textContent = "Stopped"; };
}

// Frames in a pipeline of two: the network starts on frame n (in a worker where it runs on LiteRT.js), then the
// page refines and draws frame n - 1 while it runs. Each frame is drawn with its own mask, one frame late.
async function processInBrowser(video) {
  const live = new LiveMasks(browser, 0.5);
  const frames = [document.createElement("canvas"), document.createElement("canvas")]; // n and n - 1
  const target = $("processed-canvas");
  const times = new StageTimes();
  browser.times = times;
  $("live-status").textContent = "Processing in this browser";
  let pending = null; // the frame the network is running on
  for (let n = 0; running; n++) {
    if (video.readyState >= 2 && video.videoWidth) {
      times.start();
      const frame = frames[n % 2];
      frame.width = video.videoWidth;
      frame.height = video.videoHeight;
      // one still, for the mask and the effect alike (its pixels are read back every frame)
      frame.getContext("2d", { willReadFrequently: true }).drawImage(video, 0, 0);
      times.lap("capture");
      const started = await live.start(frame);
      if (pending) {
        const { pixels, alpha } = await live.finish(pending);
        const settings = effectSettings();
        composite(pending.frame, pixels, alpha, target, { format: settings.format, colour: settings.background });
        times.lap("effect");
        times.frames += 1;
        countFrame();
        showProfile(times);
      }
      pending = started;
    }
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
}

async function startLive() {
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 } });
  } catch (problem) {
    $("live-status").textContent = `No camera: ${problem.message}`;
    return;
  }
  const video = $("camera");
  video.srcObject = stream;
  await video.play();
  const inBrowser = engine() === "browser";
  $("processed").hidden = inBrowser;
  $("processed-canvas").hidden = !inBrowser;
  Object.assign(counts, { window: 0, total: 0, first: 0 });
  let last = performance.now();
  fpsTimer = setInterval(() => {
    const now = performance.now();
    $("fps").textContent = `${(counts.window * 1000 / (now - last)).toFixed(1)} fps`;
    if (counts.total > 1) $("fps").dataset.average = ((counts.total - 1) * 1000 / (now - counts.first)).toFixed(2);
    counts.window = 0;
    last = now;
  }, 1000);
  running = true;
  $("start").disabled = true;
  $("stop").disabled = false;
  if (inBrowser) processInBrowser(video);
  else streamToServer(video);
}

function stopLive() {
  running = false;
  if (socket) socket.close();
  socket = null;
  if (stream) stream.getTracks().forEach((track) => track.stop());
  stream = null;
  clearInterval(fpsTimer);
  $("start").disabled = false;
  $("stop").disabled = true;
}

$("start").onclick = startLive;
$("stop").onclick = stopLive;
// changing the effect restarts a server stream with the new settings (the browser loop reads them every frame)
const restart = () => { if (socket) { stopLive(); startLive(); } };
document.querySelectorAll("input[name=effect]").forEach((input) => { input.onchange = restart; });
$("live-colour").onchange = restart;
$("engine").onchange = () => { if (running) { stopLive(); startLive(); } };

setUp();
