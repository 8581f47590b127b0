"""`portraitnet export -o model.onnx`: the model for other runtimes.

onnx: opset 17, free batch, height and width, one output (person probability); ort: the same graph in ONNX Runtime's
mobile format; tflite: LiteRT (the `tflite` extra), at a fixed input shape; web: the web page as static files that
run the model in the browser. --int8 adds an int8 copy where the format has one (onnx, ort, tflite).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

HELP = "Export a model to ONNX, ONNX Runtime mobile (.ort), LiteRT (.tflite), or the web page as static files."
FORMATS = ("onnx", "ort", "tflite", "web")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--output", type=Path, required=True,
                        help="the file to write (--format web: the folder)")
    parser.add_argument("--format", choices=FORMATS, default="onnx",
                        help="onnx, ort (ONNX Runtime mobile), tflite (LiteRT), or web (page, runtime and model)")
    parser.add_argument("--weights", type=Path, help="a .pt checkpoint or model file (default: the shipped model); "
                                                     "for web also an .onnx")
    parser.add_argument("--input-size", type=int, help="the input side the model expects (default: the model's)")
    parser.add_argument("--input-shape", type=int, nargs=2, metavar=("HEIGHT", "WIDTH"),
                        help="tflite: the fixed input shape (default: the square of --input-size); "
                             "e.g. 128 224 for 16:9 frames")
    parser.add_argument("--opset", type=int, default=17)
    parser.add_argument("--int8", action="store_true", help="also an int8 copy (OUTPUT with .int8 before the suffix)")
    parser.add_argument("--calibration", type=Path, help="folder of portrait photos to calibrate int8 on")
    parser.add_argument("--calibration-count", type=int, default=64, help="photos used for calibration")


def int8_path(output: Path) -> Path:
    return output.with_suffix(".int8" + output.suffix)


def calibration(args: argparse.Namespace) -> list[Path]:
    """The int8 calibration photos, checked before any slow work starts."""
    if not args.int8:
        return []
    from ..inference.imageio import PHOTO_SUFFIXES
    from ..export.quantize import calibration_photos
    if args.calibration_count < 1:
        raise ValueError(f"--calibration-count must be at least 1, got {args.calibration_count}")
    if args.calibration is None:
        raise ValueError("--int8 needs --calibration FOLDER (portrait photos like the ones you will segment)")
    if not args.calibration.is_dir():
        raise ValueError(f"{args.calibration}: not a folder of calibration photos")
    photos = calibration_photos(args.calibration, args.calibration_count)
    if not photos:
        raise ValueError(f"{args.calibration}: no photos to calibrate on ({', '.join(sorted(PHOTO_SUFFIXES))})")
    return photos


def run(args: argparse.Namespace) -> int:
    if args.format == "web":
        return export_web(args)
    from ..inference.segmenter import shipped_weights
    from ..training.checkpoint import load_model
    from ..export.onnx_graph import export_onnx, onnx_to_ort
    weights = args.weights or shipped_weights()
    if weights.suffix.lower() in (".onnx", ".ort"):
        raise ValueError(f"{weights}: export starts from a .pt checkpoint or model file")
    model, payload = load_model(weights)
    size = args.input_size or int(payload["config"]["input_size"])
    if size % 32:
        raise ValueError(f"--input-size must be a multiple of 32, got {size}")
    if args.opset < 17:
        raise ValueError(f"--opset must be 17 or newer, got {args.opset}")
    photos = calibration(args)
    if args.format == "tflite":
        return export_tflite(args, model, size, photos)
    with tempfile.TemporaryDirectory() as tmp:
        onnx_file = args.output if args.format == "onnx" else Path(tmp) / "model.onnx"
        export_onnx(model, onnx_file, size, args.opset)
        written = [args.output if args.format == "onnx" else onnx_to_ort(onnx_file, args.output)]
        if args.int8:
            from ..export.quantize import quantize_int8
            int8_onnx = int8_path(onnx_file)
            quantize_int8(onnx_file, int8_onnx, photos, size)
            written.append(int8_onnx if args.format == "onnx" else onnx_to_ort(int8_onnx, int8_path(args.output)))
    for path in written:
        print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB): input 'image' (batch, 3, height, width) normalised "
              f"RGB, output 'person' (batch, height, width) probability; height and width any multiples of 32, "
              f"{size} x {size} as trained{int8_note(path, photos)}")
    return 0


def export_tflite(args: argparse.Namespace, model, size: int, photos: list[Path]) -> int:
    from ..export.litert import export_tflite as convert
    height, width = args.input_shape or (size, size)
    if height % 32 or width % 32:
        raise ValueError(f"--input-shape must be multiples of 32, got {height} {width}")
    written = convert(model, args.output, (height, width), photos, int8_path(args.output) if args.int8 else None)
    for path in written:
        print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB): input (1, {height}, {width}, 3) normalised RGB, "
              f"output (1, {height}, {width}) person probability{int8_note(path, photos)}")
    return 0


def int8_note(path: Path, photos: list[Path]) -> str:
    return f" (int8, calibrated on {len(photos)} photos)" if ".int8" in path.name else ""


def export_web(args: argparse.Namespace) -> int:
    from ..inference.segmenter import Segmenter
    from ..export.web import write_site
    segmenter = Segmenter(args.weights)  # a .pt goes through the cached ONNX export
    if segmenter.onnx_path is None:
        raise ValueError(f"{args.weights}: the web page needs an ONNX graph (pip install 'portraitnet[train]' to "
                         "export a .pt)")
    site = write_site(args.output, segmenter.onnx_path)
    print(f"wrote the page to {site}: serve that folder over HTTP (python -m http.server -d {site}) and open it; "
          "for threads, send Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp")
    return 0
