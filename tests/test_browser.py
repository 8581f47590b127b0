"""The web page in a real browser (headless Chromium): photos and a fake webcam, on the server and in the page
itself (photos on ONNX Runtime Web, whose masks must match Python's; webcam frames on LiteRT.js in a worker, whose
probabilities must match ONNX Runtime Web's); and the page hosted as plain static files."""

import base64
import functools
import http.server
import shutil
import socket
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

pytest.importorskip("fastapi", reason="the serve extra is not installed (pip install 'portraitnet[serve]')")
uvicorn = pytest.importorskip("uvicorn", reason="the serve extra is not installed (pip install 'portraitnet[serve]')")
playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright (Python package) is not installed")

from portraitnet.inference.imageio import load_rgb  # noqa: E402
from portraitnet.inference.preprocess import resize_image  # noqa: E402
from portraitnet.inference.segmenter import Segmenter  # noqa: E402
from portraitnet.serving.server import create_app  # noqa: E402
from portraitnet.export.web import web_runtime_installed, write_site  # noqa: E402

from conftest import REPO  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(CHROMIUM is None, reason="Chromium not installed (Debian: apt-get install chromium)")]
needs_runtime = pytest.mark.skipif(not web_runtime_installed(), reason="ONNX Runtime Web not fetched beside the page "
                                   "(python tools/fetch_web_runtime.py, needs npm)")
needs_litert = pytest.mark.skipif(not web_runtime_installed("litert"), reason="LiteRT.js not fetched beside the page "
                                  "(python tools/fetch_web_runtime.py, needs npm)")
LIVE_SECONDS = 20  # the live mode's frame rate is the mean over this long
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]
SAMPLES = [REPO / "examples" / "astronaut.jpg"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server_url():
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(Segmenter()), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not server.started and time.time() < deadline:
        time.sleep(0.1)
    assert server.started, "server did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


DAVIS = REPO.parent / "shared" / "data" / "davis_person" / "images"


def camera_frames(count: int = 60, size: tuple[int, int] = (640, 480)) -> list[np.ndarray]:
    """What the fake webcam films: a real moving person (davis_person's first frames, cropped to 4:3) where the
    shared data is present, else the sample person sliding across a grey room. Made at test time, never stored."""
    width, height = size
    frames = sorted(DAVIS.glob("*.jpg"))[:count] if DAVIS.is_dir() else []
    if frames:
        out = []
        for path in frames:
            rgb = load_rgb(path)
            side = rgb.shape[0] * width // height
            left = (rgb.shape[1] - side) // 2
            out.append(cv2.resize(rgb[:, left:left + side], size, interpolation=cv2.INTER_AREA))
        return out
    person = cv2.resize(load_rgb(SAMPLES[0]), (height, height))
    out = []
    for index in range(count):
        frame = np.full((height, width, 3), 90, np.uint8)
        left = (width - height) * index // max(1, count - 1)
        frame[:, left:left + height] = person
        out.append(frame)
    return out


def write_y4m(path: Path, frames: list[np.ndarray]) -> Path:
    """A fake webcam recording for Chromium (--use-file-for-fake-video-capture), 30 frames/s, looped by Chromium."""
    height, width = frames[0].shape[:2]
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F30:1 Ip A1:1 C420jpeg\n".encode())
        for frame in frames:
            out.write(b"FRAME\n" + cv2.cvtColor(frame, cv2.COLOR_RGB2YUV_I420).tobytes())
    return path


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    camera = write_y4m(tmp_path_factory.mktemp("camera") / "camera.y4m", camera_frames())
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                              args=FLAGS + [f"--use-file-for-fake-video-capture={camera}"])
        yield launched
        launched.close()


def open_page(browser, url):
    """The page, ready (runtime and model loaded or found missing), and the list of requests it makes."""
    context = browser.new_context()
    context.grant_permissions(["camera"], origin=url)
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(url)
    page.wait_for_function("document.body.dataset.ready === 'true'", timeout=120_000)
    return page, requests


def page_mask(page) -> np.ndarray:
    """The mask the page shows, as a (H, W) uint8 array."""
    data_url = page.eval_on_selector("figure[data-format=mask] img", """img => {
        const canvas = document.createElement('canvas');
        canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
        canvas.getContext('2d').drawImage(img, 0, 0);
        return canvas.toDataURL('image/png');
    }""")
    png = np.frombuffer(base64.b64decode(data_url.split(",", 1)[1]), np.uint8)
    return cv2.imdecode(png, cv2.IMREAD_GRAYSCALE)


def upload(page, path: Path) -> str:
    page.set_input_files("#file", str(path))
    page.wait_for_function("/done|Error/.test(document.getElementById('status').textContent)", timeout=120_000)
    return page.text_content("#status")


def test_upload_to_the_server_shows_all_four_results(browser, server_url):
    page, requests = open_page(browser, server_url)
    page.select_option("#engine", "server")
    assert "on the server" in upload(page, SAMPLES[0])
    for fmt in ("mask", "cutout", "blur", "replace"):
        assert page.eval_on_selector(f"figure[data-format={fmt}] img", "img => img.naturalWidth") == 512, fmt
        assert page.get_attribute(f"figure[data-format={fmt}] a", "href").startswith("blob:")
    assert sum("/api/segment" in url for url in requests) == 4
    page.context.close()


@needs_runtime
@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.name)
def test_the_page_segments_in_the_browser_as_python_does(browser, server_url, sample):
    page, requests = open_page(browser, server_url)
    assert page.input_value("#engine") == "browser", page.text_content("#engine-status")
    assert "in this browser" in upload(page, sample)
    for fmt in ("mask", "cutout", "blur", "replace"):
        assert page.eval_on_selector(f"figure[data-format={fmt}] img", "img => img.naturalWidth") == 512, fmt
    assert not any("/api/segment" in url or "/ws/" in url for url in requests)  # nothing left the page
    python = Segmenter().predict(sample)
    ours = page_mask(page).astype(np.float32) / 255
    both, either = ((ours > 0.5) & (python > 0.5)).sum(), ((ours > 0.5) | (python > 0.5)).sum()
    print(f"{sample.name}: IoU {both / either:.4f} with Python, max |difference| {np.abs(ours - python).max():.3f}, "
          f"mean {np.abs(ours - python).mean():.4f}")
    assert both / either >= 0.99
    page.context.close()


@needs_runtime
def test_live_webcam_in_the_browser_reports_its_frame_rate(browser, server_url):
    """Prints the frame rate sustained over LIVE_SECONDS (a figure, not a limit: this machine's speed varies)."""
    page, requests = open_page(browser, server_url)
    page.click("#tab-live")
    page.click("#start")
    page.wait_for_function("parseFloat(document.getElementById('fps').dataset.average) > 0", timeout=60_000)
    page.wait_for_function("(document.getElementById('live-info').dataset.profile || '').length > 0", timeout=60_000)
    time.sleep(LIVE_SECONDS)
    fps = float(page.get_attribute("#fps", "data-average"))
    size = page.eval_on_selector("#processed-canvas", "c => [c.width, c.height]")
    info = page.text_content("#live-info")
    print(f"in-browser live webcam (640x480, blur): {fps:.1f} frames/s over {LIVE_SECONDS} s; {info}")
    assert size == [640, 480] and fps > 0
    assert "WebAssembly" in info and "input 224 x 192" in info and "model" in info
    runtime = "LiteRT.js (XNNPACK) in a worker" if web_runtime_installed("litert") else "ONNX Runtime Web"
    assert info.startswith(runtime)
    page.click("#stop")
    assert not any("/ws/" in url or "/api/segment" in url for url in requests)
    page.context.close()


@needs_runtime
@needs_litert
@pytest.mark.parametrize("frame_size", [(640, 480), (1280, 720)], ids=["4:3", "16:9"])
def test_live_frames_on_litert_match_onnx_runtime_web(browser, server_url, frame_size):
    """A webcam frame's input through the live runtime (LiteRT.js in its worker, the shipped .tflite of the frame's
    fitted shape) and through ONNX Runtime Web (the graph photos run on): the same probabilities."""
    page, _ = open_page(browser, server_url)
    width, height = frame_size
    result = page.evaluate("""async ([data, width, height]) => {
        const { BrowserSegmenter, letterbox, normalised } = await import("./segment.js");
        const segmenter = await BrowserSegmenter.create("model.onnx");
        const box = letterbox(height, width, 224, true);
        const rgb = Uint8ClampedArray.from(atob(data), c => c.charCodeAt(0));
        const fitted = new Uint8ClampedArray(4 * box.fittedWidth * box.fittedHeight);
        for (let i = 0; i < fitted.length; i++) fitted[i] = i % 4 === 3 ? 255 : rgb[3 * (i >> 2) + i % 4];
        const live = await segmenter.liveRunner(box);
        const a = await live.run(normalised(fitted, box, live.layout), box.inputHeight, box.inputWidth);
        const b = await segmenter.photos.run(normalised(fitted, box, "nchw"), box.inputHeight, box.inputWidth);
        return { live: live.describe(), shape: [box.inputHeight, box.inputWidth], a: Array.from(a), b: Array.from(b) };
    }""", [base64.b64encode(cv2.resize(load_rgb(SAMPLES[0]), (224, round(224 * height / width)),
                                       interpolation=cv2.INTER_AREA).tobytes()).decode(), width, height])
    live, onnx = np.array(result["a"]), np.array(result["b"])
    print(f"{width}x{height}, input {result['shape']}: {result['live']} against ONNX Runtime Web: max |difference| "
          f"{np.abs(live - onnx).max():.2e}")
    assert result["live"].startswith("LiteRT.js") and live.shape == onnx.shape == (np.prod(result["shape"]),)
    assert np.abs(live - onnx).max() < 1e-3
    page.context.close()


def test_live_webcam_on_the_server_receives_processed_frames(browser, server_url):
    page, _ = open_page(browser, server_url)
    page.select_option("#engine", "server")
    page.click("#tab-live")
    page.click("#start")
    page.wait_for_function("parseFloat(document.getElementById('fps').textContent) > 0", timeout=60_000)
    # each answer replaces the image, so wait for one that has loaded rather than read it at a random moment
    page.wait_for_function("document.getElementById('processed').naturalWidth === 640", timeout=30_000)
    page.click("#stop")
    page.context.close()


@needs_runtime
def test_the_page_works_as_static_files_with_no_python_server(browser, tmp_path):
    site = write_site(tmp_path / "site", Segmenter().onnx_path)
    assert (site / "live-192x224.tflite.gz").is_file() and (site / "live-128x224.tflite.gz").is_file()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    handler.log_message = lambda *args: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        page, _ = open_page(browser, f"http://127.0.0.1:{httpd.server_address[1]}/")
        assert page.is_disabled("#engine option[value=server]")
        assert "in this browser" in upload(page, SAMPLES[0])
        page.context.close()
    finally:
        httpd.shutdown()


def test_the_live_effect_blends_frame_and_background_by_the_opacity(browser, server_url):
    """effects.js `composite`: each pixel = background + opacity x (frame - background); the frame itself where the
    person is certain, the background where the opacity is 0."""
    page, _ = open_page(browser, server_url)
    frame = np.random.default_rng(0).integers(0, 256, (48, 64, 3), np.uint8)
    alpha = np.tile(np.linspace(0, 255, 64).round().astype(np.uint8), (48, 1))
    drawn = page.evaluate("""async ([data, alphaData, width, height]) => {
        const { canvas } = await import("./segment.js");
        const { composite } = await import("./effects.js");
        const frame = canvas(width, height);
        const rgb = Uint8ClampedArray.from(atob(data), c => c.charCodeAt(0));
        const pixels = new Uint8ClampedArray(4 * width * height);
        for (let i = 0; i < pixels.length; i++) pixels[i] = i % 4 === 3 ? 255 : rgb[3 * (i >> 2) + i % 4];
        frame.getContext("2d").putImageData(new ImageData(pixels, width, height), 0, 0);
        const alpha = Uint8ClampedArray.from(atob(alphaData), c => c.charCodeAt(0));
        const out = {};
        for (const format of ["replace", "blur"]) {
            const target = composite(frame, pixels, alpha, canvas(width, height), { format, colour: "#00b140" });
            out[format] = Array.from(target.getContext("2d").getImageData(0, 0, width, height).data);
        }
        return out;
    }""", [base64.b64encode(frame.tobytes()).decode(), base64.b64encode(alpha.tobytes()).decode(), 64, 48])
    replaced = np.array(drawn["replace"], np.float32).reshape(48, 64, 4)[..., :3]
    a = alpha[..., None] / 255
    expected = np.array([0, 177, 64], np.float32) * (1 - a) + frame * a
    assert np.abs(replaced - expected).max() <= 1
    blurred = np.array(drawn["blur"], np.float32).reshape(48, 64, 4)[..., :3]
    assert np.abs(blurred[:, -1] - frame[:, -1]).max() <= 1  # opacity 255: the frame
    assert np.abs(blurred[:, 0] - frame[:, 0]).mean() > 20  # opacity 0: the blurred background, not the noise
    page.context.close()


def test_the_page_shrinks_a_frame_as_python_does(browser, server_url):
    """A 1920 x 1080 frame shrunk to the letterbox's 224 x 126 by the page (two 2 x 2 halvings, then an area
    average) and by preprocess.resize_image: the same pixels, to a grey level."""
    page, _ = open_page(browser, server_url)
    frame = cv2.resize(load_rgb(SAMPLES[0]), (1920, 1080), interpolation=cv2.INTER_CUBIC)
    rgba = np.dstack([frame, np.full(frame.shape[:2], 255, np.uint8)])
    shrunk = page.evaluate("""async ([data, width, height]) => {
        const { shrink } = await import("./segment.js");
        const pixels = Uint8ClampedArray.from(atob(data), c => c.charCodeAt(0));
        return Array.from(shrink(pixels, width, height, 224, 126));
    }""", [base64.b64encode(rgba.tobytes()).decode(), 1920, 1080])
    ours = np.array(shrunk, np.float32).reshape(126, 224, 4)[..., :3]
    difference = np.abs(ours - resize_image(frame, 224, 126).astype(np.float32))
    print(f"page vs Python shrink: max |difference| {difference.max():.0f}, mean {difference.mean():.4f}")
    assert difference.max() <= 1
    page.context.close()
