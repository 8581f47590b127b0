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
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np

from ..inference.imageio import PHOTO_SUFFIXES

HELP = "Segment portraits: write masks, cut-outs, blurred or replaced backgrounds."
FORMATS = ("mask", "cutout", "blur", "replace")
OUTPUT_NAMES = {"mask": "{stem}.png", "cutout": "{stem}_cutout.png", "blur": "{stem}_blur.jpg",
                "replace": "{stem}_replace.jpg"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = __doc__
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="image files, folders, or - for stdin")
    parser.add_argument("-o", "--output", type=Path, help="output folder (required unless INPUT is -)")
    parser.add_argument("-f", "--format", default="mask",
                        help="one or more of mask,cutout,blur,replace, comma-separated (default mask)")
    parser.add_argument("--background", help="for replace: an image file or a colour (#rrggbb, r,g,b, white...)")
    parser.add_argument("--threshold", type=float, help="binarise at this probability (default: soft mask)")
    parser.add_argument("--blur-strength", type=float, default=0.03, help="blur sigma as a fraction of the longer side")
    parser.add_argument("-r", "--recursive", action="store_true", help="descend into sub-folders")
    parser.add_argument("--weights", type=Path, help="a .pt or .onnx model (default: the shipped model)")
    parser.add_argument("--backend", choices=("auto", "torch", "onnx"), default="auto")
    parser.add_argument("--threads", type=int, help="inference threads")
    parser.add_argument("--batch-size", type=int, default=16, help="images per forward pass")
    parser.add_argument("--max-pixels", type=int, default=50_000_000, help="refuse larger images")
    parser.add_argument("--no-progress", action="store_true")


def parse_formats(text: str) -> list[str]:
    formats = [f.strip() for f in text.split(",") if f.strip()]
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise ValueError(f"unknown format {', '.join(unknown) or text!r}: choose from {', '.join(FORMATS)}")
    return list(dict.fromkeys(formats))


def collect_inputs(inputs: list[str], recursive: bool) -> tuple[list[tuple[Path, Path]], list[str]]:
    """(file, path relative to the output folder without suffix) pairs, and inputs that do not exist."""
    files: list[tuple[Path, Path]] = []
    missing: list[str] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            pattern = "**/*" if recursive else "*"
            for file in sorted(path.glob(pattern)):
                if file.is_file() and file.suffix.lower() in PHOTO_SUFFIXES:
                    files.append((file, file.relative_to(path).with_suffix("")))
        elif path.is_file():
            files.append((path, Path(path.stem)))
        else:
            missing.append(f"{item}: no such file or folder")
    return files, missing


def drop_clashes(files: list[tuple[Path, Path]]) -> tuple[list[tuple[Path, Path]], list[str]]:
    """Inputs whose outputs would overwrite an earlier input's (a.jpg and a.png, or two folders' a.jpg)."""
    seen: dict[Path, Path] = {}
    kept, clashes = [], []
    for file, relative in files:
        if relative in seen:
            clashes.append(f"{file}: skipped, its output would overwrite that of {seen[relative]}")
        else:
            seen[relative] = file
            kept.append((file, relative))
    return kept, clashes


def render(fmt: str, rgb: np.ndarray, probability: np.ndarray, args: argparse.Namespace,
           background: np.ndarray | tuple[int, int, int] | None) -> np.ndarray:
    """The output array of one format (RGB/RGBA/grey, uint8)."""
    from ..inference import effects
    if args.threshold is not None:
        probability = (probability >= args.threshold).astype(np.float32)
    if fmt == "mask":
        return (probability * 255).round().astype(np.uint8)
    if fmt == "cutout":
        return effects.cutout(rgb, probability)
    if fmt == "blur":
        return effects.blur_background(rgb, probability, args.blur_strength)
    return effects.replace_background(rgb, probability, background)


def encode(array: np.ndarray, suffix: str) -> bytes:
    if array.ndim == 3:
        array = cv2.cvtColor(array, cv2.COLOR_RGBA2BGRA if array.shape[2] == 4 else cv2.COLOR_RGB2BGR)
    params = [cv2.IMWRITE_JPEG_QUALITY, 92] if suffix == ".jpg" else [cv2.IMWRITE_PNG_COMPRESSION, 1]
    ok, data = cv2.imencode(suffix, array, params)
    if not ok:
        raise ValueError(f"could not encode {suffix}")
    return data.tobytes()


def load_background(text: str | None, formats: list[str], max_pixels: int | None):
    """The replace background: an image file or a colour; None when no format needs one."""
    from ..inference.effects import parse_colour
    from ..inference.imageio import load_rgb
    if "replace" not in formats:
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

    from ..files import write_bytes_atomic
    from ..inference.imageio import ImageError, load_rgb, load_rgb_reduced
    from ..inference.segmenter import Segmenter

    formats = parse_formats(args.format)
    if args.threshold is not None and not 0 < args.threshold < 1:
        raise ValueError(f"--threshold must be between 0 and 1 (a probability), got {args.threshold}")
    if args.output is not None and args.output.exists() and not args.output.is_dir():
        raise ValueError(f"{args.output}: exists and is not a folder (-o names the output folder)")
    background = load_background(args.background, formats, args.max_pixels)
    segmenter = Segmenter(args.weights, backend=args.backend, threads=args.threads, max_pixels=args.max_pixels)

    if args.inputs == ["-"]:
        if len(formats) != 1:
            raise ValueError("with stdin input, choose exactly one --format")
        rgb = load_rgb(sys.stdin.buffer.read(), args.max_pixels)
        out = render(formats[0], rgb, segmenter.predict_arrays([rgb])[0], args, background)
        sys.stdout.buffer.write(encode(out, Path(OUTPUT_NAMES[formats[0]]).suffix))
        sys.stdout.buffer.flush()
        return 0
    if args.output is None:
        raise ValueError("-o/--output is required (a folder) unless the input is -")

    files, failures = collect_inputs(args.inputs, args.recursive)
    files, clashes = drop_clashes(files)
    failures.extend(clashes)
    image_failures = 0
    written = 0

    masks_only = formats == ["mask"]
    full_sizes: dict[Path, tuple[int, int]] = {}

    def decode(item: tuple[Path, Path]) -> tuple[Path, Path, np.ndarray | str]:
        try:
            if masks_only:  # the mask comes from a small input: decode JPEGs at a reduced scale
                rgb, full_sizes[item[1]] = load_rgb_reduced(item[0], 2 * segmenter.input_size, args.max_pixels)
                return item[0], item[1], rgb
            return item[0], item[1], load_rgb(item[0], args.max_pixels)
        except ImageError as error:
            return item[0], item[1], str(error)

    def save(job: tuple[Path, np.ndarray, np.ndarray]) -> tuple[int, str | None]:
        """Files written for one image, and why the rest could not be (a full disk, a read-only folder...)."""
        relative, rgb, probability = job
        for count, fmt in enumerate(formats):
            target = args.output / relative.parent / OUTPUT_NAMES[fmt].format(stem=relative.name)
            try:
                write_bytes_atomic(target, encode(render(fmt, rgb, probability, args, background), target.suffix))
            except OSError as error:
                return count, f"{target}: could not write ({error.strerror or error})"
        return len(formats), None

    def collect(futures: list) -> None:
        nonlocal written, image_failures
        for future in futures:
            count, error = future.result()
            written += count
            if error:
                failures.append(error)
                image_failures += 1

    # decode and encode in threads (OpenCV and Pillow release the GIL) around batched inference
    with ThreadPoolExecutor(2) as pool, tqdm(total=len(files), unit="img", disable=args.no_progress,
                                             desc="segment") as bar:
        pending = []
        batches = [files[start:start + args.batch_size] for start in range(0, len(files), args.batch_size)]
        upcoming = [pool.submit(decode, item) for item in batches[0]] if batches else []
        for index in range(len(batches)):
            decoded = [future.result() for future in upcoming]
            # decode the next batch while this one is predicted and the last one is written
            upcoming = [pool.submit(decode, item) for item in batches[index + 1]] if index + 1 < len(batches) else []
            good = [(rel, rgb) for _, rel, rgb in decoded if not isinstance(rgb, str)]
            errors = [rgb for _, _, rgb in decoded if isinstance(rgb, str)]
            failures.extend(errors)
            image_failures += len(errors)
            sizes = [full_sizes[rel] for rel, _ in good] if masks_only else None
            probabilities = segmenter.predict_arrays([rgb for _, rgb in good], sizes)
            collect(pending)
            pending = [pool.submit(save, (rel, rgb, p)) for (rel, rgb), p in zip(good, probabilities)]
            bar.update(len(decoded))
        collect(pending)

    print(f"{len(files) - image_failures} of {len(files)} images done, "
          f"{written} files written to {args.output}")
    if failures:
        print(f"{len(failures)} failed:", file=sys.stderr)
        for line in failures:
            print(f"  {line}", file=sys.stderr)
        return 1
    return 0
