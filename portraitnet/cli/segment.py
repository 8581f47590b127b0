"""`portraitnet segment INPUT... -o OUT`: masks, cut-outs and background effects for files, folders or stdin.

Output names, for an input `<stem>.<ext>`:
  mask     OUT/<stem>.png          single-channel 8-bit, the input's size (soft unless --threshold)
  cutout   OUT/<stem>_cutout.png   RGBA, the mask as alpha
  blur     OUT/<stem>_blur.jpg     background blurred
  replace  OUT/<stem>_replace.jpg  background replaced by --background
Folder inputs keep their sub-folders under OUT. With INPUT '-', the image is read from stdin and the one
requested format is written to stdout (PNG, or JPEG for blur/replace).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..inference.imageio import DEFAULT_MAX_PIXELS
from ..inference.route import FORMATS
from .checks import positive_int
from .model_options import add_model_arguments, open_segmenter

HELP = "Segment portraits: write masks, cut-outs, blurred or replaced backgrounds."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = __doc__
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="image files, folders, or - for stdin")
    parser.add_argument("-o", "--output", type=Path, help="output folder (required unless INPUT is -)")
    parser.add_argument("-f", "--format", default="mask",
                        help=f"one or more of {','.join(FORMATS)}, comma-separated (default mask)")
    parser.add_argument("--background", help="for replace: an image file or a colour (#rrggbb, r,g,b, white...)")
    parser.add_argument("--threshold", type=float, help="binarise at this probability (default: soft mask)")
    parser.add_argument("--blur-strength", type=float, default=0.03, help="blur sigma as a fraction of the longer side")
    parser.add_argument("--main-person", action="store_true",
                        help="keep only the largest person region (the subject, not the people behind)")
    parser.add_argument("-r", "--recursive", action="store_true", help="descend into sub-folders")
    add_model_arguments(parser)
    parser.add_argument("--batch-size", type=positive_int, default=16, help="images per forward pass")
    parser.add_argument("--max-pixels", type=positive_int, default=DEFAULT_MAX_PIXELS, help="refuse larger images")
    parser.add_argument("--no-progress", action="store_true")


def parse_formats(text: str) -> list[str]:
    from ..inference.route import check_formats
    return check_formats([f.strip() for f in text.split(",") if f.strip()])


def load_background(text: str | None, formats: list[str], max_pixels: int | None):
    """The replace background: an image file or a colour; None when no format needs one."""
    from ..inference.effects import parse_colour
    from ..inference.imageio import load_rgb
    if "replace" not in formats:
        if text:
            print(f"portraitnet: warning: --background is for --format replace; ignored with {','.join(formats)}",
                  file=sys.stderr)
        return None
    if not text:
        raise ValueError("--format replace needs --background IMAGE or COLOR")
    if Path(text).is_file():
        return load_rgb(Path(text), max_pixels)
    try:
        return parse_colour(text)
    except ValueError:
        raise ValueError(f"--background {text!r}: not an image file, nor a colour "
                         "(#rrggbb, r,g,b, white, black, green, blue, red, grey)") from None


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ..inference import route
    from ..inference.batch import collect_inputs, segment_files

    formats = parse_formats(args.format)
    if args.threshold is not None and not 0 < args.threshold < 1:
        raise ValueError(f"--threshold must be between 0 and 1 (a probability), got {args.threshold}")
    if args.output is not None and args.output.exists() and not args.output.is_dir():
        raise ValueError(f"{args.output}: exists and is not a folder (-o names the output folder)")
    if args.inputs != ["-"] and args.output is None:
        raise ValueError("-o/--output is required (a folder) unless the input is -")
    if "-" in args.inputs and args.inputs != ["-"]:
        raise ValueError("- (stdin) is an input on its own, not beside files or folders")
    look = route.Look(args.threshold, args.blur_strength, load_background(args.background, formats, args.max_pixels),
                      args.main_person)
    segmenter = open_segmenter(args, args.max_pixels)

    if args.inputs == ["-"]:
        if len(formats) != 1:
            raise ValueError("with stdin input, choose exactly one --format")
        if args.output is not None:
            raise ValueError(f"-o {args.output}: with stdin input the result goes to stdout; redirect it "
                             "(portraitnet segment - < photo.jpg > mask.png), or give a file instead of -")
        if sys.stdout.isatty():
            raise ValueError("stdout is a terminal, and the result is image bytes: redirect it to a file "
                             "(portraitnet segment - < photo.jpg > mask.png)")
        data = sys.stdin.buffer.read()
        probability = segmenter.predict(data)
        sys.stdout.buffer.write(route.outputs(data, probability, formats, look, args.max_pixels, "stdin")[formats[0]])
        sys.stdout.buffer.flush()
        return 0

    files, failures = collect_inputs(args.inputs, args.recursive, args.output)
    with tqdm(total=len(files), unit="img", disable=args.no_progress, desc="segment") as bar:
        report = segment_files(segmenter, files, args.output, formats, look, args.batch_size, bar.update)
    failures += report.failures
    print(f"{report.done} of {report.photos} images done, {report.written} files written to {args.output}")
    if failures:
        print(f"{len(failures)} failed:", file=sys.stderr)
        for line in failures:
            print(f"  {line}", file=sys.stderr)
        return 1
    return 0
