"""The page's live mode in headless Chromium on a fake 640x480 webcam, sustained frames/s, beside MediaPipe's web
selfie segmenter on the same camera, in one run.

    python benchmarks/browser_live.py [--mediapipe-python /opt/mediapipe-venv/bin/python] [--seconds 20]

Ours: `portraitnet serve`'s page (the shipped model, in the browser: on LiteRT.js in a worker where
tools/fetch_web_runtime.py fetched it, else on ONNX Runtime Web), live mode with blur, the
same browser flags and camera as `tests/test_browser.py` (a real moving person from davis_person where the shared
data is present); it prints the page's own breakdown of a frame. The anchor: `@mediapipe/tasks-vision` from npm
(packed into a temporary folder, never into the project) running the selfie segmentation model the `mediapipe`
wheel ships, on its CPU (WebAssembly) delegate, in VIDEO mode; each frame is segmented and its confidence mask read
back, with no effect drawn, so its figure is segmentation alone.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from test_browser import CHROMIUM, FLAGS, camera_frames, free_port, write_y4m  # noqa: E402

PACKAGE = "@mediapipe/tasks-vision@1.1.0"
PAGE = """<!doctype html><meta charset="utf-8"><video id="camera" autoplay muted playsinline></video>
<script type="module">
import { FilesetResolver, ImageSegmenter } from "./tasks/vision_bundle.mjs";
const vision = await FilesetResolver.forVisionTasks("./tasks/wasm");
const segmenter = await ImageSegmenter.createFromOptions(vision, {
  baseOptions: { modelAssetPath: "./model.tflite", delegate: "CPU" },
  runningMode: "VIDEO", outputConfidenceMasks: true, outputCategoryMask: false });
const video = document.getElementById("camera");
video.srcObject = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 } });
await video.play();
let frames = 0, first = 0;
function frame() {
  const now = performance.now();
  segmenter.segmentForVideo(video, now, (result) => {
    const mask = result.confidenceMasks[0].getAsFloat32Array();
    window.maskSize = mask.length;
  });
  frames += 1;
  if (frames === 1) first = performance.now();
  else window.fps = (frames - 1) * 1000 / (performance.now() - first);
  setTimeout(frame, 0);
}
frame();
</script>
"""


class IsolatedHandler(http.server.SimpleHTTPRequestHandler):
    """Static files with the cross-origin isolation headers, so that WebAssembly may use threads, as on our page."""

    def end_headers(self) -> None:
        self.send_header("Cross-Origin-Opener-Policy", "same-origin")
        self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
        super().end_headers()

    def log_message(self, *args: object) -> None:
        pass


def unpack_npm(spec: str, work: Path, destination: Path) -> None:
    """An npm package's files (its tarball's package/ folder) into destination, by way of the folder work."""
    subprocess.run(["npm", "pack", spec, "--silent"], cwd=work, check=True, stdout=subprocess.DEVNULL)
    tarball = next(work.glob("*.tgz"))
    with tarfile.open(tarball) as archive:
        archive.extractall(work, filter="data")
    tarball.unlink()
    shutil.move(work / "package", destination)


def mediapipe_model(python: str) -> Path:
    folder = subprocess.run([python, "-c", "import mediapipe, os; print(os.path.dirname(mediapipe.__file__))"],
                            capture_output=True, text=True, check=True).stdout.strip()
    return Path(folder) / "modules" / "selfie_segmentation" / "selfie_segmentation.tflite"


def ours(browser, camera_url: str, seconds: float) -> tuple[float, str]:
    """Our page's live mode: frames/s averaged over `seconds` after the first frame, and its breakdown."""
    context = browser.new_context()
    context.grant_permissions(["camera"], origin=camera_url)
    page = context.new_page()
    page.goto(camera_url)
    page.wait_for_function("document.body.dataset.ready === 'true'", timeout=120_000)
    page.click("#tab-live")
    page.click("#start")
    page.wait_for_function("parseFloat(document.getElementById('fps').dataset.average) > 0", timeout=120_000)
    time.sleep(seconds)
    fps = float(page.get_attribute("#fps", "data-average"))
    info = page.text_content("#live-info")
    context.close()
    return fps, info


def serve_page() -> tuple[object, threading.Thread, str]:
    import uvicorn
    from portraitnet.inference.segmenter import Segmenter
    from portraitnet.serving.server import create_app
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(Segmenter()), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.1)
    return server, thread, f"http://127.0.0.1:{port}/"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mediapipe-python", help="a Python with mediapipe==0.10.14 (its model file), to measure "
                        "MediaPipe's web segmenter beside ours")
    parser.add_argument("--seconds", type=float, default=20, help="how long to count frames")
    args = parser.parse_args()
    if CHROMIUM is None or shutil.which("npm") is None:
        sys.exit("needs Chromium and npm")
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        camera = write_y4m(Path(tmp) / "camera.y4m", camera_frames())
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                 args=FLAGS + [f"--use-file-for-fake-video-capture={camera}"])
            server, thread, url = serve_page()
            try:
                fps, info = ours(browser, url, args.seconds)
            finally:
                server.should_exit = True
                thread.join(timeout=10)
            print(f"portraitnet page, live mode with blur, 640x480 fake webcam: {fps:.1f} frames/s over "
                  f"{args.seconds:.0f} s; {info}")
            if args.mediapipe_python:
                fps, size = mediapipe(browser, Path(tmp), args.mediapipe_python, args.seconds)
                print(f"MediaPipe web selfie segmenter ({PACKAGE}, CPU delegate), same camera, segmentation alone: "
                      f"{fps:.1f} frames/s over {args.seconds:.0f} s (mask of {size} values)")
            browser.close()


def mediapipe(browser, tmp: Path, python: str, seconds: float) -> tuple[float, int]:
    """MediaPipe's web segmenter on the same camera: frames/s over `seconds`, and its mask's size."""
    site = tmp / "site"
    site.mkdir()
    unpack_npm(PACKAGE, tmp, site / "tasks")
    shutil.copyfile(mediapipe_model(python), site / "model.tflite")
    (site / "index.html").write_text(PAGE)
    handler = functools.partial(IsolatedHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        context = browser.new_context()
        context.grant_permissions(["camera"], origin=url)
        page = context.new_page()
        page.goto(url)
        page.wait_for_function("window.fps > 0", timeout=120_000)
        time.sleep(seconds)
        fps, size = page.evaluate("[window.fps, window.maskSize]")
        context.close()
    finally:
        server.shutdown()
    return fps, size


if __name__ == "__main__":
    main()
