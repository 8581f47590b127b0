"""`portraitnet export -o model.onnx`: the model as ONNX (opset 17, dynamic batch, one output: person probability)."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "Export a model to ONNX for ONNX Runtime and other runtimes."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--output", type=Path, required=True, help="the .onnx file to write")
    parser.add_argument("--weights", type=Path, help="a .pt checkpoint or model file (default: the shipped model)")
    parser.add_argument("--input-size", type=int, help="square input side (default: the model's)")
    parser.add_argument("--opset", type=int, default=17)
    parser.add_argument("--int8", action="store_true", help="also quantise to int8 (OUTPUT with .int8.onnx)")
    parser.add_argument("--calibration", type=Path, help="folder of portrait photos to calibrate int8 on")
    parser.add_argument("--calibration-count", type=int, default=64, help="photos used for calibration")


def run(args: argparse.Namespace) -> int:
    from ..inference.segmenter import shipped_weights
    from ..training.checkpoint import load_model
    from ..training.export import export_onnx
    weights = args.weights or shipped_weights()
    model, payload = load_model(weights)
    size = args.input_size or int(payload["config"]["input_size"])
    if size % 32:
        raise ValueError(f"--input-size must be a multiple of 32, got {size}")
    if args.opset < 17:
        raise ValueError(f"--opset must be 17 or newer, got {args.opset}")
    if args.int8:
        if args.calibration_count < 1:
            raise ValueError(f"--calibration-count must be at least 1, got {args.calibration_count}")
        if args.calibration is None:
            raise ValueError("--int8 needs --calibration FOLDER (portrait photos like the ones you will segment)")
        from ..inference.imageio import PHOTO_SUFFIXES
        from ..training.quantize import calibration_photos
        if not args.calibration.is_dir():
            raise ValueError(f"{args.calibration}: not a folder of calibration photos")
        photos = calibration_photos(args.calibration, args.calibration_count)
        if not photos:
            raise ValueError(f"{args.calibration}: no photos to calibrate on ({', '.join(sorted(PHOTO_SUFFIXES))})")
    export_onnx(model, args.output, size, args.opset)
    print(f"wrote {args.output} ({args.output.stat().st_size / 1e6:.1f} MB): input 'image' (batch, 3, {size}, {size}) "
          f"normalised RGB, output 'person' (batch, {size}, {size}) probability")
    if args.int8:
        from ..training.quantize import quantize_int8
        int8_path = args.output.with_suffix(".int8.onnx")
        quantize_int8(args.output, int8_path, photos, size)
        print(f"wrote {int8_path} ({int8_path.stat().st_size / 1e6:.1f} MB), calibrated on {len(photos)} photos")
    return 0
