"""Video files and webcams: per-frame segmentation with temporal smoothing, and the background effects.

A frame's probability is blended with the previous frame's (exponential smoothing by default, or only where the
new prediction is unsure), which removes much of the frame-to-frame flicker of a single-image model; a scene cut
starts the blend afresh. `flicker` measures the flicker; benchmarks/video_smoothing.py compares the schemes on
real motion (davis_person).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import cv2
import numpy as np

from . import effects, route
from .route import Look
from .segmenter import Segmenter

VIDEO_FORMATS = ("blur", "replace", "cutout")


class VideoError(ValueError):
    """A video or camera that cannot be read or written; the message names it."""


SMOOTHING_MODES = ("ema", "uncertain")
CUT_THRESHOLD = 30.0  # mean grey-level change (0..255) of a small thumbnail that counts as a new shot


class TemporalSmoother:
    """Blends a frame's probability with the previous frame's to steady the mask.

    mode "ema":       p_t = (1 - s) * new_t + s * p_(t-1), the same weight everywhere;
    mode "uncertain": the previous frame's weight is s * 4 * new_t * (1 - new_t): 0 where the new prediction is
                      sure (0 or 1), s where it is undecided (0.5). Confident pixels follow motion at once and only
                      unsure ones (edges, hair, flickering patches) are smoothed.
    strength s = 0 turns smoothing off. Starts afresh when the frame size changes, and on reset() (a scene cut).
    """

    def __init__(self, strength: float = 0.5, mode: str = "ema") -> None:
        if not 0 <= strength < 1:
            raise ValueError(f"smoothing strength must be in [0, 1), got {strength}")
        if mode not in SMOOTHING_MODES:
            raise ValueError(f"smoothing mode must be one of {', '.join(SMOOTHING_MODES)}, got {mode!r}")
        self.strength = strength
        self.mode = mode
        self.previous: np.ndarray | None = None

    def reset(self) -> None:
        self.previous = None

    def __call__(self, probability: np.ndarray) -> np.ndarray:
        if self.previous is None or self.previous.shape != probability.shape or self.strength == 0:
            self.previous = probability
        elif self.mode == "ema":
            self.previous = cv2.addWeighted(probability, 1 - self.strength, self.previous, self.strength, 0)
        else:
            weight = (4 * self.strength) * probability * (1 - probability)  # of the previous frame
            self.previous = probability + weight * (self.previous - probability)
        return self.previous


class SceneCut:
    """Tells a new shot from motion: the mean absolute change of a 32x18 grey thumbnail between consecutive frames
    is a few levels for moving people and tens for a cut. Smoothing across a cut would leave a ghost of the
    previous shot's person for a frame or two."""

    def __init__(self, threshold: float = CUT_THRESHOLD) -> None:
        self.threshold = threshold
        self.previous: np.ndarray | None = None

    def __call__(self, rgb: np.ndarray) -> bool:
        grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        thumbnail = cv2.resize(grey, (32, 18), interpolation=cv2.INTER_AREA).astype(np.float32)
        cut = self.previous is not None and float(np.abs(thumbnail - self.previous).mean()) > self.threshold
        self.previous = thumbnail
        return cut


def flicker(probabilities: list[np.ndarray]) -> float:
    """Mean absolute change of the person probability between consecutive frames (0 = perfectly steady)."""
    if len(probabilities) < 2:
        return 0.0
    return float(np.mean([np.abs(b - a).mean() for a, b in zip(probabilities, probabilities[1:])]))


@dataclass
class FrameEffect:
    """Turns an RGB frame into the output frame: segment, smooth, apply the effect."""

    segmenter: Segmenter
    effect: str = "blur"
    background: np.ndarray | tuple[int, int, int] | None = None
    smoothing: float = 0.5
    blur_strength: float = 0.03
    smoothing_mode: str = "ema"
    main_person: bool = False

    def __post_init__(self) -> None:
        if self.effect not in VIDEO_FORMATS:
            raise ValueError(f"unknown video format {self.effect!r}: choose from {', '.join(VIDEO_FORMATS)}")
        if self.effect == "replace" and self.background is None:
            raise ValueError("the replace format needs a background image or colour")
        self.smoother = TemporalSmoother(self.smoothing, self.smoothing_mode)
        self.scene_cut = SceneCut()
        self._cover: np.ndarray | None = None

    def probability(self, rgb: np.ndarray) -> np.ndarray:
        if self.scene_cut(rgb):
            self.smoother.reset()
        return self.smoother(self.segmenter.predict_arrays([rgb])[0])

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        background = self.background
        if isinstance(background, np.ndarray):
            # scale the background image once per frame size, not once per frame
            if self._cover is None or self._cover.shape[:2] != rgb.shape[:2]:
                self._cover = effects.cover(background, rgb.shape[1], rgb.shape[0])
            background = self._cover
        return route.render(self.effect, rgb, self.probability(rgb),
                            Look(None, self.blur_strength, background, self.main_person))


def open_capture(source: str | int) -> cv2.VideoCapture:
    capture = cv2.VideoCapture(source)
    if not capture.isOpened():
        what = f"camera {source}" if isinstance(source, int) else f"{source}"
        raise VideoError(f"{what}: cannot open (not a video OpenCV can read, or no such device)")
    return capture


def frames(capture: cv2.VideoCapture) -> Iterator[np.ndarray]:
    """RGB frames until the stream ends."""
    while True:
        ok, bgr = capture.read()
        if not ok:
            return
        yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


class FrameSink:
    """Writes frames: an .mp4/.avi file (RGB effects) or a folder of PNG files (cut-outs keep their alpha)."""

    def __init__(self, path: Path, fps: float, size: tuple[int, int], with_alpha: bool) -> None:
        self.path = path
        self.count = 0
        self.writer: cv2.VideoWriter | None = None
        if with_alpha:
            path.mkdir(parents=True, exist_ok=True)
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        fourcc = cv2.VideoWriter_fourcc(*("MJPG" if path.suffix.lower() == ".avi" else "mp4v"))
        self.writer = cv2.VideoWriter(str(path), fourcc, fps, size)
        if not self.writer.isOpened():
            raise VideoError(f"{path}: cannot write a video here (use a .mp4 or .avi name)")

    def write(self, frame: np.ndarray) -> None:
        self.count += 1
        if self.writer is None:
            cv2.imwrite(str(self.path / f"frame_{self.count:06d}.png"), cv2.cvtColor(frame, cv2.COLOR_RGBA2BGRA))
        else:
            self.writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))

    def close(self) -> None:
        if self.writer is not None:
            self.writer.release()


def process_video(source: str | int, output: Path | None, effect: FrameEffect,
                  on_frame: Callable[[np.ndarray], bool] | None = None,
                  max_frames: int | None = None, progress: Callable[[int], None] | None = None) -> dict[str, float]:
    """Run the effect over a video file or camera; write to `output` and/or hand frames to `on_frame`
    (which returns False to stop). Returns frames and frames per second (processing, decode and encode)."""
    capture = open_capture(source)
    fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
    sink: FrameSink | None = None
    count = 0
    started = time.perf_counter()
    try:
        for rgb in frames(capture):
            out = effect(rgb)
            if output is not None:
                if sink is None:
                    sink = FrameSink(output, fps, (rgb.shape[1], rgb.shape[0]), with_alpha=out.shape[2] == 4)
                sink.write(out)
            count += 1
            if progress is not None:
                progress(count)
            if on_frame is not None and not on_frame(out):
                break
            if max_frames is not None and count >= max_frames:
                break
    finally:
        capture.release()
        if sink is not None:
            sink.close()
    if count == 0:
        raise VideoError(f"{source}: no frames could be read")
    seconds = time.perf_counter() - started
    return {"frames": count, "seconds": seconds, "fps": count / seconds}
