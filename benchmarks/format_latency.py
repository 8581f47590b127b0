"""Latency of the exported formats on this machine: each file on its own runtime, batch 1, in interleaved rounds so
that they compare as ratios on a noisy machine (the first file is the reference).

    portraitnet export -o out/m.onnx --int8 --calibration CAL
    portraitnet export --format ort -o out/m.ort --int8 --calibration CAL
    portraitnet export --format tflite -o out/m.tflite --int8 --calibration CAL    # needs the tflite extra
    python benchmarks/format_latency.py out/m.onnx out/m.int8.onnx out/m.ort out/m.int8.ort out/m.tflite ...

.onnx and .ort run on ONNX Runtime (no thread spinning, as the package runs them), .tflite on LiteRT's interpreter
(XNNPACK), all with the same number of threads, on a 224 x 224 input (the graphs' trained size).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np


def runner(path: Path, threads: int):
    """A function running one normalised (1, 3, 224, 224) batch through the file's runtime."""
    if path.suffix == ".tflite":
        from portraitnet.export.litert import TfliteModel
        return TfliteModel(path, threads)
    from portraitnet.inference.segmenter import OnnxBackend
    return OnnxBackend(path, threads)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--runs-per-round", type=int, default=30)
    args = parser.parse_args()

    batch = np.random.default_rng(0).normal(size=(1, 3, 224, 224)).astype(np.float32)
    runners = {path: runner(path, args.threads) for path in args.files}
    times: dict[Path, list[float]] = {path: [] for path in args.files}
    for run in runners.values():
        for _ in range(5):
            run(batch)  # warm up
    for _ in range(args.rounds):
        for path, run in runners.items():
            for _ in range(args.runs_per_round):
                started = time.perf_counter()
                run(batch)
                times[path].append(1000 * (time.perf_counter() - started))
    reference = float(np.median(times[args.files[0]]))
    print(f"batch 1 at 224 x 224, {args.threads} threads, median of {args.rounds * args.runs_per_round} runs")
    for path in args.files:
        median = float(np.median(times[path]))
        print(f"{path.name:>24} {path.stat().st_size / 1e6:6.1f} MB {median:8.2f} ms {median / reference:6.2f}x")


if __name__ == "__main__":
    main()
