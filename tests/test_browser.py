"""The web page in a real browser: headless Chromium uploads a photo, then streams a fake webcam."""

import shutil
import socket
import threading
import time

import pytest

pytest.importorskip("fastapi", reason="the serve extra is not installed (pip install 'portraitnet[serve]')")
uvicorn = pytest.importorskip("uvicorn", reason="the serve extra is not installed (pip install 'portraitnet[serve]')")
playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright (Python package) is not installed")

from portraitnet.inference.segmenter import Segmenter  # noqa: E402
from portraitnet.serving.server import create_app  # noqa: E402

from conftest import REPO  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(CHROMIUM is None, reason="Chromium not installed (Debian: apt-get install chromium)")]
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]


@pytest.fixture(scope="module")
def server_url():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(create_app(Segmenter()), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not server.started and time.time() < deadline:
        time.sleep(0.1)
    assert server.started, "server did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def page(server_url, tmp_path_factory):
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        context = browser.new_context()
        context.grant_permissions(["camera"], origin=server_url)
        page = context.new_page()
        page.goto(server_url)
        yield page
        browser.close()


def test_upload_shows_all_four_results(page):
    page.set_input_files("#file", str(REPO / "examples" / "astronaut.jpg"))
    page.wait_for_function("document.getElementById('status').textContent.includes('done')", timeout=60_000)
    for fmt in ("mask", "cutout", "blur", "replace"):
        width = page.eval_on_selector(f"figure[data-format={fmt}] img", "img => img.naturalWidth")
        assert width == 512, fmt
        assert page.get_attribute(f"figure[data-format={fmt}] a", "href").startswith("blob:")


def test_live_webcam_mode_receives_processed_frames(page):
    page.click("#tab-live")
    page.click("#start")
    page.wait_for_function("document.getElementById('processed').naturalWidth > 0", timeout=60_000)
    page.wait_for_function("parseFloat(document.getElementById('fps').textContent) > 0", timeout=30_000)
    assert page.eval_on_selector("#processed", "img => img.naturalWidth") == 640
    page.click("#stop")
