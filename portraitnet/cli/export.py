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


def run(args: argparse.Namespace) -> int:
    from ..checkpoint import load_model
    from ..export import export_onnx
    from ..segmenter import shipped_weights
    weights = args.weights or shipped_weights()
    model, payload = load_model(weights)
    size = args.input_size or int(payload["config"]["input_size"])
    if size % 32:
        raise ValueError(f"--input-size must be a multiple of 32, got {size}")
    if args.opset < 17:
        raise ValueError(f"--opset must be 17 or newer, got {args.opset}")
    export_onnx(model, args.output, size, args.opset)
    print(f"wrote {args.output} ({args.output.stat().st_size / 1e6:.1f} MB): input 'image' (batch, 3, {size}, {size}) "
          f"normalised RGB, output 'person' (batch, {size}, {size}) probability")
    return 0
