"""The options that say how the outputs look, one definition for the commands that draw them (segment,
segment-dataset, video), and the Look they make."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..inference.route import Look


def add_look_arguments(parser: argparse.ArgumentParser, threshold: bool = True) -> None:
    parser.add_argument("--background", help="for replace: an image file or a colour (#rrggbb, r,g,b, white...)")
    if threshold:
        parser.add_argument("--threshold", type=float, help="binarise at this probability (default: soft mask)")
    parser.add_argument("--blur-strength", type=float, default=0.03,
                        help="blur sigma as a fraction of the longer side (default 0.03)")
    parser.add_argument("--main-person", action="store_true",
                        help="keep only the largest person region (the subject, not the people behind)")


def parse_formats(text: str) -> list[str]:
    from ..inference.route import check_formats
    return check_formats([f.strip() for f in text.split(",") if f.strip()])


def look_from(args: argparse.Namespace, formats: list[str], max_pixels: int | None) -> Look:
    """The Look the options describe (a threshold or blur strength out of range is a ValueError naming it)."""
    threshold = getattr(args, "threshold", None)
    if threshold is not None and not 0 < threshold < 1:
        raise ValueError(f"--threshold must be between 0 and 1 (a probability), got {threshold}")
    if not args.blur_strength > 0:
        raise ValueError(f"--blur-strength must be above 0, got {args.blur_strength}")
    return Look(threshold, args.blur_strength, load_background(args.background, formats, max_pixels),
                args.main_person)


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
