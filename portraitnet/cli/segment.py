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
from .look_options import add_look_arguments, look_from, parse_formats
from .model_options import add_model_arguments, open_segmenter

HELP = "Segment portraits: write masks, cut-outs, blurred or replaced backgrounds."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = __doc__
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="image files, folders, or - for stdin")
    parser.add_argument("-o", "--output", type=Path, help="output folder (required unless INPUT is -)")
    parser.add_argument("-f", "--format", default="mask",
                        help=f"one or more of {','.join(FORMATS)}, comma-separated (default mask)")
    add_look_arguments(parser)
    parser.add_argument("-r", "--recursive", action="store_true", help="descend into sub-folders")
    add_model_arguments(parser)
    parser.add_argument("--batch-size", type=positive_int, default=16, help="images per forward pass")
    parser.add_argument("--max-pixels", type=positive_int, default=DEFAULT_MAX_PIXELS, help="refuse larger images")
    parser.add_argument("--no-progress", action="store_true")


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ..inference import route
    from ..inference.batch import collect_inputs, segment_files

    formats = parse_formats(args.format)
    if args.output is not None and args.output.exists() and not args.output.is_dir():
        raise ValueError(f"{args.output}: exists and is not a folder (-o names the output folder)")
    if args.inputs != ["-"] and args.output is None:
        raise ValueError("-o/--output is required (a folder) unless the input is -")
    if "-" in args.inputs and args.inputs != ["-"]:
        raise ValueError("- (stdin) is an input on its own, not beside files or folders")
    look = look_from(args, formats, args.max_pixels)
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
