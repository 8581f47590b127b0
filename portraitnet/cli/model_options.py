"""The options that choose and run the model, shared by the commands that segment (segment, video, serve)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..inference.device import DEVICES
from ..inference.imageio import DEFAULT_MAX_PIXELS
from ..inference.segmenter import BACKENDS, Segmenter
from .checks import positive_int


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--weights", type=Path, help="a .onnx or .pt model (default: the shipped model)")
    parser.add_argument("--backend", choices=BACKENDS, default="auto",
                        help="auto (ONNX Runtime), onnx, openvino (the openvino extra) or torch")
    add_device_argument(parser)
    parser.add_argument("--threads", type=positive_int, help="inference threads")
    add_fit_input_argument(parser)


def add_fit_input_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--fit-input", action=argparse.BooleanOptionalAction, default=False,
                        help="run each photo at its own shape in multiples of 32 (a 16:9 frame as 224 x 128) instead "
                             "of letterboxed into the square: faster for wide or tall photos")


def add_device_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", choices=DEVICES, default="auto",
                        help="auto (an NVIDIA GPU when ONNX Runtime can use one, else the CPU), cpu, or cuda "
                             "(the gpu extra: pip install 'portraitnet[gpu]')")


def open_segmenter(args: argparse.Namespace, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> Segmenter:
    """The Segmenter those options describe."""
    return Segmenter(args.weights, backend=args.backend, threads=args.threads, max_pixels=max_pixels,
                     fit_input=args.fit_input, device=args.device)
