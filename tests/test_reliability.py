"""Nothing lost, nothing crashes: inputs are never written over, every message and flag is checked, and what a
user can send (bytes, images, parameters, WebSocket messages) gets a result or a one-line error."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import struct
import sys
import zlib
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from conftest import REPO
from portraitnet.cli.main import main
from portraitnet.evaluation.benchmark import static_clip
from portraitnet.inference.imageio import ImageError, load_rgb
from portraitnet.inference.route import Look
from portraitnet.inference.segmenter import Segmenter

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402
from starlette.websockets import WebSocketDisconnect  # noqa: E402

from portraitnet.serving.server import ServerSettings, create_app, segment_bytes  # noqa: E402

SAMPLE = REPO / "examples" / "astronaut.jpg"
FUZZ = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def segmenter():
    return Segmenter()


@pytest.fixture(scope="module")
def client(segmenter):
    return TestClient(create_app(segmenter))


# --- never write over an input ---

def test_video_refuses_to_write_over_its_input(tmp_path, capsys):
    clip = static_clip(load_rgb(SAMPLE), tmp_path / "clip.avi", frames=8, size=(96, 64))
    before = digest(clip)
    assert main(["video", str(clip), "-o", str(tmp_path / "." / "clip.avi"), "--max-frames", "3",
                 "--no-progress"]) == 2
    assert "is the input video" in capsys.readouterr().err and digest(clip) == before


def test_segment_in_place_never_writes_a_mask_over_the_photo(tmp_path, capsys):
    folder = tmp_path / "inplace"
    folder.mkdir()
    photo = folder / "a.png"
    Image.open(SAMPLE).save(photo)
    before = digest(photo)
    assert main(["segment", str(folder), "-o", str(folder), "--no-progress"]) == 1
    assert "would be written over an input" in capsys.readouterr().err and digest(photo) == before


def test_a_second_run_in_place_leaves_the_first_run_s_outputs_alone(tmp_path, capsys):
    folder = tmp_path / "photos"
    folder.mkdir()
    shutil.copy(SAMPLE, folder / "a.jpg")
    for _ in range(2):
        assert main(["segment", str(folder), "-o", str(folder), "-f", "mask,cutout", "--no-progress"]) == 0
    assert sorted(p.name for p in folder.iterdir()) == ["a.jpg", "a.png", "a_cutout.png"]
    assert "left out 2 files" in capsys.readouterr().out


def test_a_recursive_run_skips_its_own_output_folder(tmp_path):
    root = tmp_path / "rec"
    root.mkdir()
    shutil.copy(SAMPLE, root / "a.jpg")
    for _ in range(2):
        assert main(["segment", str(root), "-r", "-o", str(root / "out"), "--no-progress"]) == 0
    assert not (root / "out" / "out").exists() and (root / "out" / "a.png").is_file()


def test_segment_dataset_refuses_an_output_inside_its_source(tmp_path):
    from portraitnet.inference.ray_segment import segment_dataset
    shutil.copy(SAMPLE, tmp_path / "a.jpg")
    with pytest.raises(ValueError, match="is the source folder or inside it"):
        segment_dataset(str(tmp_path), str(tmp_path / "masks"))


# --- flags and their ranges ---

@pytest.mark.parametrize("argv,message", [
    (["segment", str(SAMPLE), "-o", "out", "--threads", "-3"], "must be at least 1"),
    (["segment", str(SAMPLE), "-o", "out", "--max-pixels", "-5"], "must be at least 1"),
    (["benchmark", "--repeats", "0"], "must be at least 1"),
    (["segment", str(SAMPLE), "-o", "out", "--batch-size", "two"], "not a whole number"),
])
def test_numbers_out_of_range_are_refused_by_the_parser(argv, message, capsys):
    assert main(argv) == 2
    error = capsys.readouterr().err
    assert message in error and len(error.strip().splitlines()) == 1


def test_a_background_the_format_ignores_gets_a_warning(tmp_path, capsys):
    assert main(["segment", str(SAMPLE), "-o", str(tmp_path), "--background", "white", "--no-progress"]) == 0
    assert "--background is for --format replace" in capsys.readouterr().err


def test_stdin_refuses_an_output_folder_and_a_terminal(tmp_path, monkeypatch, capsys):
    class Terminal(io.TextIOWrapper):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(SAMPLE.read_bytes())))
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(io.BytesIO()))
    assert main(["segment", "-", "-o", str(tmp_path / "outstdin")]) == 2
    assert "result goes to stdout" in capsys.readouterr().err and sys.stdout.buffer.getvalue() == b""
    monkeypatch.setattr(sys, "stdout", Terminal(io.BytesIO()))
    assert main(["segment", "-"]) == 2
    assert "stdout is a terminal" in capsys.readouterr().err and sys.stdout.buffer.getvalue() == b""


# --- the library ---

def test_an_empty_array_is_an_image_error(segmenter):
    with pytest.raises(ImageError, match="empty image"):
        segmenter.predict(np.zeros((0, 0, 3), np.uint8))
    assert segmenter.predict(np.zeros((1, 1, 3), np.uint8)).shape == (1, 1)


def png_declaring(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", b"") + chunk(b"IEND", b"")


def test_a_huge_header_is_refused_with_our_limit_not_pillow_s(segmenter):
    with pytest.raises(ImageError, match="declares 400,000,000 pixels, over the limit of 50,000,000"):
        segmenter.predict(png_declaring(20000, 20000))


# --- the server ---

def test_wrong_paths_and_methods_answer_json(client):
    for method, path, status in (("get", "/api/segment", 405), ("delete", "/api/health", 405),
                                 ("get", "/api/nothing", 404), ("get", "/nothing.html", 404)):
        response = getattr(client, method)(path)
        assert response.status_code == status and "error" in response.json(), (method, path)
    assert client.get("/api/segment").headers["allow"] == "POST"


def test_a_full_queue_says_when_to_retry(segmenter):
    busy = TestClient(create_app(segmenter, ServerSettings(max_queue=0)))
    response = busy.post("/api/segment", content=SAMPLE.read_bytes(), headers={"content-type": "image/jpeg"})
    assert response.status_code == 503 and response.headers["retry-after"] == "1"


@pytest.mark.parametrize("settings_text", [json.dumps({"format": "replace", "background": 123}),
                                           "[" * 100_000 + "]" * 100_000, json.dumps({"format": "blur", "x": 1}),
                                           json.dumps({"smoothing": 7})],
                         ids=["background 123", "nested 100,000 deep", "unknown key", "smoothing 7"])
def test_bad_live_settings_get_an_error_and_a_clean_close(client, settings_text):
    with client.websocket_connect("/ws/live") as socket:
        socket.send_text(settings_text)
        assert "bad settings" in json.loads(socket.receive_text())["error"]
        with pytest.raises(WebSocketDisconnect) as closed:
            socket.receive_text()
        assert closed.value.code == 1008


def test_live_cutout_frames_come_as_png_with_alpha(client):
    frame = io.BytesIO()
    Image.open(SAMPLE).resize((96, 64)).save(frame, format="JPEG")
    with client.websocket_connect("/ws/live") as socket:
        socket.send_text(json.dumps({"format": "cutout"}))
        socket.send_bytes(frame.getvalue())
        answer = Image.open(io.BytesIO(socket.receive_bytes()))
    assert answer.format == "PNG" and answer.mode == "RGBA"


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) / 1024 for line in status if line.startswith("VmRSS:"))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_a_large_image_s_memory_is_given_back(segmenter):
    """The server's requests run in a pool of threads; what they freed must not stay with the process."""
    side = 5000
    y, x = np.mgrid[0:side, 0:side]
    large = io.BytesIO()
    Image.fromarray(np.stack([x % 256, y % 256, (x + y) % 256], -1).astype(np.uint8)).save(large, "PNG")
    del x, y
    segmenter.predict(SAMPLE)  # the model's first run
    before = rss_mb()
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda fmt: segment_bytes(segmenter, large.getvalue(), fmt, "png", Look(), 50_000_000),
                      ["cutout", "blur", "mask", "cutout"]))
    assert rss_mb() - before < 150


# --- fuzzing: whatever comes in, a result or a one-line error ---

IMAGE_MODES = ["1", "L", "LA", "P", "RGB", "RGBA", "CMYK", "I;16", "I"]
SAVE_FORMATS = {"PNG": ("1", "L", "LA", "P", "RGB", "RGBA", "I;16"), "JPEG": ("L", "RGB", "CMYK"),
                "WEBP": ("RGB", "RGBA"), "TIFF": tuple(IMAGE_MODES), "BMP": ("1", "L", "P", "RGB")}


@st.composite
def image_files(draw) -> bytes:
    fmt = draw(st.sampled_from(sorted(SAVE_FORMATS)))
    mode = draw(st.sampled_from(SAVE_FORMATS[fmt]))
    width, height = draw(st.integers(1, 48)), draw(st.integers(1, 48))
    seed = draw(st.integers(0, 2 ** 16))
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    image = Image.fromarray(pixels).convert(mode) if mode not in ("I;16", "I") else \
        Image.fromarray(pixels[..., 0].astype(np.uint16) * 257).convert(mode)
    buffer = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = draw(st.integers(1, 8))  # orientation
    image.save(buffer, fmt, **({"exif": exif} if fmt in ("JPEG", "WEBP", "PNG", "TIFF") else {}))
    data = buffer.getvalue()
    if draw(st.booleans()):  # now and then, cut short
        data = data[: draw(st.integers(0, len(data)))]
    return data


@FUZZ
@given(data=st.one_of(st.binary(max_size=2048), image_files()))
def test_the_route_gives_a_probability_or_an_image_error(segmenter, data):
    try:
        probability = segmenter.predict(data)
    except ImageError as error:
        assert "\n" not in str(error)
        return
    assert probability.dtype == np.float32 and probability.ndim == 2 and probability.min() >= 0
    assert probability.max() <= 1


@FUZZ
@given(data=st.one_of(st.binary(max_size=1024), image_files()),
       query=st.fixed_dictionaries({}, optional={
           "format": st.sampled_from(["mask", "cutout", "blur", "replace", "sepia", ""]),
           "output": st.sampled_from(["png", "jpeg", "gif"]),
           "threshold": st.one_of(st.floats(allow_nan=True), st.text(max_size=4)),
           "background_color": st.text(max_size=12), "main_person": st.sampled_from(["true", "no", "2"])}),
       content_type=st.sampled_from(["image/jpeg", "application/octet-stream", "text/plain", ""]))
def test_the_server_never_answers_500(client, data, query, content_type):
    response = client.post("/api/segment", params=query, content=data, headers={"content-type": content_type})
    assert response.status_code in (200, 400, 413, 415), response.text
    if response.status_code != 200:
        assert set(response.json()) == {"error"}


@FUZZ
@given(first=st.one_of(st.text(max_size=64), st.binary(max_size=64),
                       st.dictionaries(st.sampled_from(["format", "background", "smoothing", "smoothing_mode", "x"]),
                                       st.one_of(st.text(max_size=8), st.floats(), st.integers(), st.none(),
                                                 st.sampled_from(["blur", "replace", "cutout", "ema", "#ffffff"])),
                                       max_size=4).map(json.dumps)),
       frame=st.one_of(st.binary(max_size=256), image_files()))
def test_the_live_socket_answers_every_message(client, first, frame):
    with client.websocket_connect("/ws/live") as socket:
        socket.send_bytes(first) if isinstance(first, bytes) else socket.send_text(first)
        socket.send_bytes(frame)
        answer = socket.receive()
        if "text" in answer and answer["text"] and "bad settings" in answer["text"]:
            assert socket.receive()["type"] == "websocket.close"
        else:
            assert answer.get("bytes") or "error" in json.loads(answer["text"])


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(formats=st.lists(st.sampled_from(["mask", "cutout", "blur", "replace", "sepia"]), min_size=1, max_size=3),
       threshold=st.one_of(st.none(), st.floats(-1, 2)), strength=st.floats(-1, 1),
       background=st.one_of(st.none(), st.sampled_from(["white", "#00ff00", "nope", str(SAMPLE)])))
def test_the_cli_gives_a_result_or_a_one_line_error(tmp_path, capsys, formats, threshold, strength, background):
    argv = ["segment", str(SAMPLE), "-o", str(tmp_path / "out"), "-f", ",".join(formats), "--no-progress",
            "--blur-strength", str(strength)]
    argv += ["--threshold", str(threshold)] if threshold is not None else []
    argv += ["--background", background] if background is not None else []
    code = main(argv)
    error = capsys.readouterr().err
    assert code in (0, 2) and "Traceback" not in error
    if code == 2:
        assert len([line for line in error.splitlines() if "error" in line]) == 1


def test_a_benchmark_killed_outright_leaves_no_busy_neighbours_spinning():
    """`benchmark --busy` spins processes beside the timing; a benchmark killed with SIGKILL (no cleanup runs)
    must not leave them eating the machine."""
    import subprocess
    import time
    script = ("import sys, time\nfrom portraitnet.evaluation.benchmark import busy_neighbours\n"
              "with busy_neighbours(2):\n    print('spinning', flush=True)\n    time.sleep(60)\n")
    benchmark = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert benchmark.stdout.readline().strip() == "spinning"

    def spinners() -> int:
        found = subprocess.run(["pgrep", "-f", f"getppid\\(\\) == {benchmark.pid}:"], capture_output=True, text=True)
        return len(found.stdout.split())

    assert spinners() == 2
    benchmark.kill()
    benchmark.wait()
    deadline = time.monotonic() + 10
    while spinners() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert spinners() == 0
