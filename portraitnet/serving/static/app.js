// The page: photo mode posts the photo to /api/segment once per format; live mode streams webcam frames over a
// WebSocket, one at a time (the next frame leaves when the last answer arrived, so nothing piles up).
"use strict";

const $ = (id) => document.getElementById(id);

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

async function segment(file) {
  lastFile = file;
  $("status").textContent = `Segmenting ${file.name}…`;
  const started = performance.now();
  const colour = $("colour").value;
  const jobs = [...document.querySelectorAll("#results figure")].map(async (figure) => {
    const format = figure.dataset.format;
    const query = new URLSearchParams({ format, output: format === "blur" || format === "replace" ? "jpeg" : "png" });
    if (format === "replace") query.set("background_color", colour);
    const body = new FormData();
    body.append("image", file);
    const response = await fetch(`/api/segment?${query}`, { method: "POST", body });
    if (!response.ok) {
      const problem = await response.json().catch(() => ({ error: response.statusText }));
      throw new Error(problem.error);
    }
    const url = URL.createObjectURL(await response.blob());
    figure.querySelector("img").src = url;
    figure.querySelector("a").href = url;
  });
  try {
    await Promise.all(jobs);
    $("status").textContent = `${file.name}: done in ${Math.round(performance.now() - started)} ms`;
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
let frames = 0;
let fpsTimer = null;

function effectSettings() {
  return {
    format: document.querySelector("input[name=effect]:checked").value,
    background: $("live-colour").value,
  };
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
    $("live-status").textContent = "Streaming";
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
      frames += 1;
    }
    sendFrame();
  };
  socket.onclose = () => { $("live-status").textContent = "Stopped"; };
  frames = 0;
  let last = performance.now();
  fpsTimer = setInterval(() => {
    const now = performance.now();
    $("fps").textContent = `${(frames * 1000 / (now - last)).toFixed(1)} fps`;
    frames = 0;
    last = now;
  }, 1000);
  $("start").disabled = true;
  $("stop").disabled = false;
}

function stopLive() {
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
// changing the effect restarts the stream with the new settings
document.querySelectorAll("input[name=effect]").forEach((input) => {
  input.onchange = () => { if (socket) { stopLive(); startLive(); } };
});
$("live-colour").onchange = () => { if (socket) { stopLive(); startLive(); } };
