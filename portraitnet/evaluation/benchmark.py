"""Speed figures, measured in one run so they compare as ratios: model latency per backend, end-to-end `segment`
throughput on a folder, video frames/s with blur, flicker with and without smoothing, and MediaPipe Selfie
Segmentation beside ours when it is installed (here or in a Python given by mediapipe_python)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import cv2
import numpy as np

from ..inference.segmenter import Segmenter, module_available
from ..inference.video import FrameEffect, flicker, process_video
from ..export.quantize import calibration_photos, quantize_int8


def timings_ms(run: Callable[[], Any], repeats: int, warmup: int = 10) -> dict[str, float]:
    for _ in range(warmup):
        run()
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        samples.append((time.perf_counter() - started) * 1000)
    return {"median_ms": float(np.median(samples)), "p90_ms": float(np.percentile(samples, 90))}


def model_latency(weights: Path | None, threads: int, repeats: int, int8_model: Path | None = None,
                  device: str = "cpu") -> dict[str, dict[str, float]]:
    """Batch-1 latency of the network alone (normalised input in, probability out) per backend, and of the int8
    model where one is given. On a GPU (device 'cuda'), ONNX Runtime is timed there first, then on the CPU as ever."""
    results = {}
    if device == "cuda":
        segmenter = Segmenter(weights, backend="onnx", threads=threads, device="cuda")
        results[f"onnx cuda ({segmenter.input_size}px)"] = time_segmenter(segmenter, repeats)
        del segmenter
    is_onnx_file = weights is not None and Path(weights).suffix == ".onnx"
    # ONNX Runtime first: right after torch, torch's idle OpenMP threads still spin and slow it down
    backends = ["onnx"] + (["openvino"] if module_available("openvino") else []) + \
        ([] if is_onnx_file or not module_available("torch") else ["torch"])
    for backend in backends:
        segmenter = Segmenter(weights, backend=backend, threads=threads, device="cpu")
        results[f"{backend} ({segmenter.input_size}px)"] = time_segmenter(segmenter, repeats)
        del segmenter  # one session at a time: two spin against each other on few cores
        if backend == "onnx" and int8_model is not None:
            quantised = Segmenter(int8_model, threads=threads)
            results[f"onnx int8 ({quantised.input_size}px)"] = time_segmenter(quantised, repeats)
            del quantised
    return results


@contextlib.contextmanager
def busy_neighbours(count: int) -> Iterator[None]:
    """`count` CPU-bound processes running beside the timing, as other programs do beside a video call. Each spins
    only while its parent lives, so that a benchmark killed outright leaves none behind."""
    spin = f"import os\nwhile os.getppid() == {os.getpid()}: pass"
    neighbours = [subprocess.Popen([sys.executable, "-c", spin]) for _ in range(count)]
    try:
        time.sleep(0.5)
        yield
    finally:
        for process in neighbours:
            process.kill()
            process.wait()


def spinning_latency(weights: Path | None, threads: int, repeats: int) -> dict[str, dict[str, float]]:
    """ONNX Runtime with and without spinning threads, on an idle machine and beside `threads` busy processes."""
    results = {}
    for busy in (0, threads):
        with busy_neighbours(busy):
            for spin in (False, True):
                name = f"onnx, {'busy' if busy else 'idle'}, {'spinning' if spin else 'no spinning (default)'}"
                results[name] = time_segmenter(Segmenter(weights, threads=threads, spin=spin), repeats)
    return results


def end_to_end_photos(folder: Path | None, sample: Path | None) -> dict[str, np.ndarray]:
    """A portrait photo (the folder's first taller than wide, else the sample) and a 16:9 854 x 480 frame cut from
    it, decoded: what `Segmenter.predict` and MediaPipe's `process` take."""
    from ..inference.batch import collect_inputs
    from ..inference.imageio import load_rgb
    candidates = collect_inputs([folder], recursive=False)[0][:50] if folder is not None else []
    photos = [load_rgb(path) for path, _ in candidates]
    portrait = next((rgb for rgb in photos if rgb.shape[0] > rgb.shape[1]), None)
    if portrait is None:
        if sample is None:
            raise ValueError("end-to-end timing needs a photo: give --folder or --sample")
        portrait = load_rgb(sample)
    scale = max(854 / portrait.shape[1], 480 / portrait.shape[0])
    cover = cv2.resize(portrait, (round(portrait.shape[1] * scale), round(portrait.shape[0] * scale)),
                       interpolation=cv2.INTER_AREA)
    top, left = (cover.shape[0] - 480) // 2, (cover.shape[1] - 854) // 2
    frame = np.ascontiguousarray(cover[top:top + 480, left:left + 854])
    return {f"portrait {portrait.shape[1]}x{portrait.shape[0]}": portrait, "frame 854x480": frame}


def end_to_end(weights: Path | None, threads: int, photos: dict[str, np.ndarray], mediapipe_python: str | None,
               rounds: int = 10, repeats: int = 20, int8_model: Path | None = None) -> dict[str, dict[str, float]]:
    """Median ms per photo from a decoded RGB array to the full-size probability: ours as users run it (fitted
    input, refined), ours without the refinement, the int8 model on ONNX Runtime where one is given, ours on OpenVINO
    where it is installed, and MediaPipe's `process` (its general model), in interleaved rounds. Not the int8 graph
    on OpenVINO: it crashed the test suite's process (a segmentation fault after the training tests)."""
    from .mediapipe_runner import MediaPipeTimer
    images = list(photos.values())
    ours = {"portraitnet": Segmenter(weights, threads=threads),
            "portraitnet, --refine off": Segmenter(weights, threads=threads, refine=False)}
    if int8_model is not None:
        ours["portraitnet, int8 model"] = Segmenter(int8_model, threads=threads)
    if module_available("openvino"):
        ours["portraitnet, --backend openvino"] = Segmenter(weights, backend="openvino", threads=threads)
    timer = MediaPipeTimer(mediapipe_python, images) if mediapipe_python else None
    samples: dict[str, list[list[float]]] = {name: [[] for _ in images] for name in [*ours, "mediapipe"]}
    try:
        for segmenter in ours.values():  # warm up
            for image in images * 5:
                segmenter.predict_arrays([image])
        for _ in range(rounds):
            for name, segmenter in ours.items():
                for index, image in enumerate(images):
                    for _ in range(repeats):
                        started = time.perf_counter()
                        segmenter.predict_arrays([image])
                        samples[name][index].append((time.perf_counter() - started) * 1000)
            if timer is not None:
                for index, times in enumerate(timer.times_ms(repeats)):
                    samples["mediapipe"][index].extend(times)
    finally:
        if timer is not None:
            timer.close()
    return {photo: {name: float(np.median(rows[index])) for name, rows in samples.items() if rows[index]}
            for index, photo in enumerate(photos)}


def time_segmenter(segmenter: Segmenter, repeats: int) -> dict[str, float]:
    size = segmenter.input_size
    batch = np.random.default_rng(0).standard_normal((1, 3, size, size)).astype(np.float32)
    return timings_ms(lambda: segmenter.run_batch(batch), repeats)


def static_clip(image: np.ndarray, path: Path, frames: int = 120, size: tuple[int, int] = (640, 480),
                noise: float = 3.0) -> Path:
    """A still scene as a camera films it: the same picture with fresh sensor noise in every frame."""
    frame = cv2.resize(cv2.cvtColor(image, cv2.COLOR_RGB2BGR), size, interpolation=cv2.INTER_AREA)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30, size)
    rng = np.random.default_rng(0)
    for _ in range(frames):
        noisy = frame.astype(np.float32) + rng.normal(0, noise, frame.shape).astype(np.float32)
        writer.write(np.clip(noisy, 0, 255).astype(np.uint8))
    writer.release()
    return path


def video_figures(weights: Path | None, threads: int, image: np.ndarray) -> dict[str, float]:
    """Frames/s of `video` with blur on a 640x480 clip, and flicker with and without smoothing."""
    with tempfile.TemporaryDirectory() as tmp:
        clip = static_clip(image, Path(tmp) / "still.avi")
        segmenter = Segmenter(weights, threads=threads)
        stats = process_video(str(clip), Path(tmp) / "out.avi", FrameEffect(segmenter, "blur"))
        figures = {"video_640x480_blur_fps": stats["fps"], "video_backend": segmenter.backend_name}
        for strength in (0.0, 0.5):
            effect = FrameEffect(segmenter, "blur", smoothing=strength)
            capture = cv2.VideoCapture(str(clip))
            probabilities = []
            while True:
                ok, bgr = capture.read()
                if not ok:
                    break
                probabilities.append(effect.probability(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)))
            capture.release()
            figures[f"flicker_smoothing_{strength}"] = flicker(probabilities)
    return figures


def folder_throughput(folder: Path, weights: Path | None, threads: int, device: str = "cpu") -> dict[str, float]:
    """Masks for every photo of a folder through the same library call as `portraitnet segment FOLDER -o OUT`:
    model loading, decode, inference and encode included."""
    from ..inference.batch import collect_inputs, segment_files
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        files, missing = collect_inputs([folder], recursive=False)
        if missing:
            raise ValueError("; ".join(missing))
        report = segment_files(Segmenter(weights, threads=threads, device=device), files, Path(out), ["mask"])
        seconds = time.perf_counter() - started
    if report.failures:
        raise ValueError(f"{folder}: {len(report.failures)} photos failed, the first: {report.failures[0]}")
    return {"images": report.photos, "seconds": seconds, "images_per_s": report.photos / seconds}


def run_benchmark(weights: Path | None = None, threads: int | None = None, repeats: int = 200,
                  folder: Path | None = None, sample: Path | None = None,
                  mediapipe_python: str | None = None, int8: bool = False, busy: bool = False,
                  device: str = "auto") -> dict[str, Any]:
    """int8=True also quantises the model (calibrated on 64 photos of `folder`) and times it in the same run;
    busy=True also times ONNX Runtime (and MediaPipe) beside as many CPU-bound processes as threads. With a GPU
    taken (device 'auto' or 'cuda'), the latency and the folder are timed on it and on the CPU in the same run."""
    from ..inference.imageio import load_rgb
    from .mediapipe_runner import find_mediapipe_python, mediapipe_latency
    threads = threads or os.cpu_count() or 1
    if folder is not None and not Path(folder).is_dir():
        raise ValueError(f"{folder}: no such folder")
    if sample is not None and not Path(sample).is_file():
        raise ValueError(f"{sample}: no such file")
    if int8 and folder is None:
        raise ValueError("int8 timing needs --folder: its photos calibrate the quantisation")
    taken = Segmenter(weights, backend="onnx", device=device).device if device != "cpu" else "cpu"
    with tempfile.TemporaryDirectory() as tmp:
        int8_model = None
        if int8 and folder is not None:
            segmenter = Segmenter(weights, backend="onnx", threads=threads)
            int8_model = quantize_int8(segmenter.onnx_path, Path(tmp) / "int8.onnx", calibration_photos(folder),
                                       segmenter.input_size)
            del segmenter
        report: dict[str, Any] = {"threads": threads, "device": taken,
                                  "latency": model_latency(weights, threads, repeats, int8_model, taken)}
        python = find_mediapipe_python(mediapipe_python)
        if python is not None:
            report["latency"]["mediapipe selfie (256px)"] = mediapipe_latency(python, repeats)
        report["end_to_end"] = end_to_end(weights, threads, end_to_end_photos(folder, sample), python,
                                          repeats=max(1, repeats // 10), int8_model=int8_model)
    if busy:
        report["busy"] = spinning_latency(weights, threads, repeats)
        if python is not None:
            with busy_neighbours(threads):
                report["busy"]["mediapipe selfie (256px), busy"] = mediapipe_latency(python, repeats)
    if sample is not None:
        report["video"] = video_figures(weights, threads, load_rgb(sample))
    if folder is not None:
        report["segment_folder"] = folder_throughput(folder, weights, threads, taken)
        if taken == "cuda":
            report["segment_folder_cpu"] = folder_throughput(folder, weights, threads, "cpu")
    return report
