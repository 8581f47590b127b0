"""MediaPipe Selfie Segmentation (general 256x256 and landscape 144x256 models), for comparisons only; never
needed by the package.

MediaPipe 0.10.14 pins protobuf < 5 and OpenCV-contrib, which clash with our dependencies, so it may live in a
virtual environment of its own: these functions run it in a worker process of any Python that has it
(`python -m venv mp && mp/bin/pip install mediapipe==0.10.14`), exchanging files.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

MASKS = r"""
import sys, numpy as np, cv2, mediapipe as mp
paths = [line.strip() for line in sys.stdin if line.strip()]
with mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=int(sys.argv[1])) as selfie:
    for path in paths:
        rgb = cv2.cvtColor(cv2.imread(path), cv2.COLOR_BGR2RGB)
        np.save(path + ".mediapipe.npy", selfie.process(rgb).segmentation_mask.astype(np.float16))
"""

LATENCY = r"""
import json, sys, time, numpy as np, mediapipe as mp
repeats = int(sys.argv[1])
frame = np.random.default_rng(0).integers(0, 255, (256, 256, 3), dtype=np.uint8)
with mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0) as selfie:
    for _ in range(10):
        selfie.process(frame)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        selfie.process(frame)
        times.append((time.perf_counter() - start) * 1000)
print(json.dumps({"median_ms": float(np.median(times)), "p90_ms": float(np.percentile(times, 90))}))
"""


TIMER = r"""
import json, sys, time, cv2, mediapipe as mp
images = [cv2.cvtColor(cv2.imread(path), cv2.COLOR_BGR2RGB) for path in sys.argv[2:]]
with mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=int(sys.argv[1])) as selfie:
    for image in images:
        for _ in range(10):
            selfie.process(image)
    print("ready", flush=True)
    for line in sys.stdin:
        times = []
        for image in images:
            times.append([])
            for _ in range(int(line)):
                started = time.perf_counter()
                selfie.process(image)
                times[-1].append((time.perf_counter() - started) * 1000)
        print(json.dumps(times), flush=True)
"""


class MediaPipeTimer:
    """MediaPipe kept running in its worker process, timing `process(rgb)` on the same photos whenever asked, so
    that its rounds interleave with ours: both see the machine in the same state."""

    def __init__(self, python: str, images: list[np.ndarray], model: str = "general") -> None:
        self.folder = tempfile.TemporaryDirectory()
        paths = []
        for index, image in enumerate(images):
            paths.append(str(Path(self.folder.name) / f"{index}.png"))
            cv2.imwrite(paths[-1], cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        self.worker = subprocess.Popen([python, "-c", TIMER, str(MODELS[model]), *paths], text=True,
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        if self._line() != "ready":
            raise RuntimeError(f"MediaPipe worker ({python}) did not start")

    def _line(self) -> str:
        line = self.worker.stdout.readline().strip()
        if not line:
            raise RuntimeError("MediaPipe worker stopped")
        return line

    def times_ms(self, repeats: int) -> list[list[float]]:
        """`repeats` timed calls per photo, in ms, one list per photo."""
        self.worker.stdin.write(f"{repeats}\n")
        self.worker.stdin.flush()
        return json.loads(self._line())

    def close(self) -> None:
        self.worker.stdin.close()
        self.worker.wait()
        self.folder.cleanup()


def find_mediapipe_python(explicit: str | None) -> str | None:
    """The given interpreter, or this one when it can import mediapipe, else None."""
    if explicit:
        return explicit
    try:
        import mediapipe  # noqa: F401
    except ImportError:
        return None
    return sys.executable


def _run(python: str, script: str, args: list[str], stdin: str = "") -> str:
    result = subprocess.run([python, "-c", script, *args], input=stdin, text=True, capture_output=True)
    if result.returncode != 0:
        raise RuntimeError(f"MediaPipe worker ({python}) failed:\n{result.stderr[-3000:]}")
    return result.stdout


MODELS = {"general": 0, "landscape": 1}  # MediaPipe's model_selection: 256x256 and 144x256 inputs


def mediapipe_probabilities(images: list[np.ndarray], python: str, model: str = "general") -> list[np.ndarray]:
    """Person probability of each RGB image, at its own size, by MediaPipe's general or landscape model."""
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for index, image in enumerate(images):
            path = Path(tmp) / f"{index:05d}.png"
            cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
            paths.append(path)
        _run(python, MASKS, [str(MODELS[model])], "\n".join(map(str, paths)))
        return [np.load(f"{path}.mediapipe.npy").astype(np.float32) for path in paths]


def mediapipe_latency(python: str, repeats: int) -> dict[str, float]:
    """Median and p90 ms of one 256x256 frame through the model (process() as a user calls it)."""
    return json.loads(_run(python, LATENCY, [str(repeats)]).strip().splitlines()[-1])
