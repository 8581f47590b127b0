"""`portraitnet benchmark`: latency per backend, end to end per photo, video frames/s and flicker, folder throughput,
MediaPipe beside."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .checks import positive_int
from .model_options import add_device_argument

HELP = "Measure speed: model latency (torch, ONNX Runtime, MediaPipe), video frames/s, folder throughput."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--weights", type=Path, help="a .pt or .onnx model (default: the shipped model)")
    parser.add_argument("--threads", type=positive_int, help="inference threads (default: all cores)")
    add_device_argument(parser)
    parser.add_argument("--repeats", type=positive_int, default=200, help="timed runs per backend")
    parser.add_argument("--folder", type=Path, help="also time `segment` over this folder of images, masks out")
    parser.add_argument("--sample", type=Path, help="photo for the video figures (default: the shipped sample)")
    parser.add_argument("--mediapipe-python", help="a Python with mediapipe==0.10.14, to time it beside ours")
    parser.add_argument("--int8", action="store_true",
                        help="also time the model quantised to int8 (calibrated on 64 photos of --folder)")
    parser.add_argument("--busy", action="store_true",
                        help="also time ONNX Runtime with and without spinning threads beside CPU-bound processes")
    parser.add_argument("--json", type=Path, help="also write the figures here")


def run(args: argparse.Namespace) -> int:
    from ..evaluation.benchmark import run_benchmark
    sample = args.sample or Path(__file__).resolve().parents[2] / "examples" / "astronaut.jpg"
    report = run_benchmark(args.weights, args.threads, args.repeats, args.folder,
                           sample if sample.is_file() else None, args.mediapipe_python, args.int8, args.busy,
                           args.device)
    print(f"device: {report['device']}, CPU threads: {report['threads']}")
    latency = report["latency"]
    reference = next((row["median_ms"] for name, row in latency.items() if name.startswith("mediapipe")), None)
    print(f"{'model latency, batch 1':<34} {'median ms':>10} {'p90 ms':>8}"
          + (f" {'x MediaPipe':>12}" if reference else ""))
    for name, row in latency.items():
        ratio = f" {row['median_ms'] / reference:12.2f}" if reference else ""
        print(f"  {name:<32} {row['median_ms']:10.2f} {row['p90_ms']:8.2f}{ratio}")
    print("end to end, a decoded photo to its full-size mask (median ms):")
    for photo, row in report["end_to_end"].items():
        mediapipe = row.get("mediapipe")
        print(f"  {photo}: " + ", ".join(
            f"{name} {ms:.2f}" + (f" ({ms / mediapipe:.2f}x MediaPipe)" if mediapipe and name != "mediapipe" else "")
            for name, ms in row.items()))
    if "busy" in report:
        print(f"beside {report['threads']} CPU-bound processes (idle rows for comparison):")
        for name, row in report["busy"].items():
            print(f"  {name:<52} {row['median_ms']:10.2f} {row['p90_ms']:8.2f}")
    if "video" in report:
        v = report["video"]
        print(f"video 640x480 with blur ({v['video_backend']}): {v['video_640x480_blur_fps']:.1f} frames/s")
        print(f"flicker on a still scene (mean |change| of the probability per frame): "
              f"{v['flicker_smoothing_0.0']:.4f} without smoothing, {v['flicker_smoothing_0.5']:.4f} with 0.5")
    for key, where in (("segment_folder", report["device"]), ("segment_folder_cpu", "cpu")):
        if key in report:
            f = report[key]
            print(f"segment {f['images']} images on {where}, masks out, start-up included: {f['seconds']:.1f} s, "
                  f"{f['images_per_s']:.1f} images/s")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    return 0
