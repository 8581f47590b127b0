"""The network alone in headless Chromium: ONNX Runtime Web (the page's runtime and graph) against LiteRT.js
(XNNPACK in WebAssembly, what MediaPipe's web segmenter runs on) on the same weights exported to .tflite.

    python benchmarks/browser_runtimes.py [--shape 192 224] [--runs 60] [--threads 2]
    (needs the tflite extra, npm, Chromium, and EG1800's photos to calibrate the int8 graph: --calibration)

All run on WebAssembly with 2 threads on the live mode's input shape (a 640x480 webcam frame, fitted: 192 x 224),
in one page, one after the other: LiteRT.js, ONNX Runtime Web on the page's graph, and on the int8 graph `export
--int8` makes. Each prints the median ms of a run (input tensor in, probability out) after 10 warm-up runs.
`@litertjs/core` is packed from npm into a temporary folder, never into the project.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import shutil
import sys
import tempfile
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from browser_live import IsolatedHandler, unpack_npm  # noqa: E402
from test_browser import CHROMIUM, free_port  # noqa: E402

LITERT = ("@litertjs/core@2.5.3", "@litertjs/wasm-utils@2.5.3")
ORT = Path(__file__).resolve().parents[1] / "portraitnet" / "serving" / "static" / "ort"
PAGE = """<!doctype html><meta charset="utf-8">
<script type="importmap">{"imports": {"@litertjs/wasm-utils": "./wasm-utils/dist/index.js"}}</script>
<script type="module">
window.addEventListener("error", (event) => { window.results = { error: String(event.message) }; });
window.addEventListener("unhandledrejection", (event) => { window.results = { error: String(event.reason) }; });
const [H, W, RUNS, THREADS] = [%(height)d, %(width)d, %(runs)d, %(threads)d];
const median = (times) => times.slice(10).sort((x, y) => x - y)[(times.length - 10) >> 1];
const data = new Float32Array(H * W * 3).map(() => Math.random());
const results = {};
const litert = await import("./core/dist/index.js");
await litert.loadLiteRt("./core/wasm/", { threads: true });
const model = await litert.loadAndCompile("./model.tflite",
                                          { accelerator: "wasm", cpuOptions: { numThreads: THREADS } });
let times = [];
for (let i = 0; i < RUNS; i++) {
  const started = performance.now();
  const input = new litert.Tensor(data, [1, H, W, 3]);
  const outputs = await model.run(input);
  outputs[0].toTypedArray();
  input.delete();
  outputs.forEach((output) => output.delete());
  times.push(performance.now() - started);
}
results.litert = median(times);
const ort = await import("./ort/ort.min.mjs");
ort.env.wasm.numThreads = THREADS;
ort.env.wasm.wasmPaths = new URL("./ort/", location.href).href;
for (const graph of ["model", "int8"]) {
  const session = await ort.InferenceSession.create(`./${graph}.onnx`, { executionProviders: ["wasm"] });
  times = [];
  for (let i = 0; i < RUNS; i++) {
    const started = performance.now();
    const output = await session.run({ [session.inputNames[0]]: new ort.Tensor("float32", data, [1, 3, H, W]) });
    output[session.outputNames[0]].data;
    times.push(performance.now() - started);
  }
  results[graph] = median(times);
}
window.results = results;
</script>
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shape", type=int, nargs=2, default=(192, 224), metavar=("HEIGHT", "WIDTH"))
    parser.add_argument("--runs", type=int, default=60)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--calibration", type=Path, default=Path("../shared/data/eg1800/images"),
                        help="a folder of portraits the int8 graph is calibrated on (as `export --int8`)")
    args = parser.parse_args()
    if CHROMIUM is None or shutil.which("npm") is None or not (ORT / "ort.min.mjs").is_file():
        sys.exit("needs Chromium, npm and ONNX Runtime Web (python tools/fetch_web_runtime.py)")
    from playwright.sync_api import sync_playwright

    from portraitnet.export.litert import export_tflite
    from portraitnet.export.quantize import calibration_photos, quantize_int8
    from portraitnet.export.web import browser_graph
    from portraitnet.inference.segmenter import shipped_model, shipped_weights
    from portraitnet.training.checkpoint import load_model

    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp) / "site"
        site.mkdir()
        for package, folder in zip(LITERT, ("core", "wasm-utils")):
            unpack_npm(package, Path(tmp), site / folder)
        shutil.copytree(ORT, site / "ort")
        shutil.copyfile(browser_graph(shipped_model()), site / "model.onnx")
        quantize_int8(shipped_model(), site / "int8.onnx", calibration_photos(args.calibration), 224)
        export_tflite(load_model(shipped_weights())[0], site / "model.tflite", tuple(args.shape))
        height, width = args.shape
        (site / "index.html").write_text(PAGE % {"height": height, "width": width, "runs": args.runs,
                                                 "threads": args.threads})
        server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()),
                                                 functools.partial(IsolatedHandler, directory=str(site)))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
                page = browser.new_page()
                page.goto(f"http://127.0.0.1:{server.server_address[1]}/")
                page.wait_for_function("window.results !== undefined", timeout=120_000)
                results = page.evaluate("window.results")
                if "error" in results:
                    sys.exit(f"the page failed: {results['error']}")
                print(f"Chromium {browser.version}, input {height} x {width}, WebAssembly, {args.threads} "
                      f"thread{'s' if args.threads > 1 else ''}, "
                      f"median ms of {args.runs - 10} runs: LiteRT.js ({LITERT[0]}, XNNPACK) {results['litert']:.1f}, "
                      f"ONNX Runtime Web ({(ORT / 'VERSION').read_text().strip()}) {results['model']:.1f}, "
                      f"the same with the int8 graph (`export --int8`) {results['int8']:.1f}")
                browser.close()
        finally:
            server.shutdown()


if __name__ == "__main__":
    main()
