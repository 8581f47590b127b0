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
    add_input_arguments(parser)


def add_input_arguments(parser: argparse.ArgumentParser) -> None:
    """How a photo goes in (its own shape or the square) and how the mask comes out (refined or not)."""
    parser.add_argument("--fit-input", action=argparse.BooleanOptionalAction, default=None,
                        help="run each photo at its own shape in multiples of 32 (a 16:9 frame as 224 x 128), the "
                             "default wherever the model allows; --no-fit-input letterboxes it into the square")
    parser.add_argument("--refine", choices=("on", "off"), default="on",
                        help="on (default): move the mask's edges onto the photo's (a guided filter); off: the "
                             "network's mask upsampled as it is")


def add_device_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", choices=DEVICES, default="auto",
                        help="auto (an NVIDIA GPU when ONNX Runtime can use one, else the CPU), cpu, or cuda "
                             "(the gpu extra: pip install 'portraitnet[gpu]')")


def open_segmenter(args: argparse.Namespace, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> Segmenter:
    """The Segmenter those options describe."""
    return Segmenter(args.weights, backend=args.backend, threads=args.threads, max_pixels=max_pixels,
                     fit_input=args.fit_input, device=args.device, refine=args.refine == "on")
