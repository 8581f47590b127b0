"""`portraitnet video IN -o OUT` for a video file, `portraitnet video --camera N` for a webcam.

blur and replace write a video (.mp4 or .avi); cutout writes a folder of RGBA PNG frames. Audio is not copied.
The webcam mode shows a live preview window where a display exists (close it or press q to stop) and records
to -o when given.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .checks import positive_int
from .look_options import add_look_arguments, look_from
from .model_options import add_model_arguments, open_segmenter

HELP = "Blur or replace the background of a video file or a webcam feed."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = __doc__
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("input", nargs="?", help="a video file (or use --camera)")
    parser.add_argument("--camera", type=int, metavar="N", help="webcam device number instead of a file")
    parser.add_argument("-o", "--output", type=Path, help="output video (.mp4/.avi), or a folder for cutout")
    parser.add_argument("-f", "--format", default="blur", choices=("blur", "replace", "cutout"))
    parser.add_argument("--smoothing", type=float, default=0.5,
                        help="temporal smoothing of the mask, 0 (off) to <1 (steadier, slower to follow); default 0.5")
    parser.add_argument("--smoothing-mode", choices=("ema", "uncertain"), default="ema",
                        help="ema: the same blend everywhere; uncertain: only pixels the model is unsure of lean on "
                             "the previous frame (follows motion faster, flickers more); default ema")
    add_look_arguments(parser, threshold=False)
    parser.add_argument("--max-frames", type=positive_int, help="stop after this many frames")
    add_model_arguments(parser)
    parser.add_argument("--no-preview", action="store_true", help="webcam: no window, only record")
    parser.add_argument("--no-progress", action="store_true")


class Preview:
    """A Tk window showing frames (Tk ships with Python; OpenCV's headless build has no GUI)."""

    def __init__(self, title: str) -> None:
        import tkinter

        from PIL import ImageTk  # noqa: F401  (fails early if Pillow lacks Tk support)
        self.root = tkinter.Tk()
        self.root.title(title)
        self.label = tkinter.Label(self.root)
        self.label.pack()
        self.open = True
        self.root.protocol("WM_DELETE_WINDOW", self.close)
        self.root.bind("q", lambda _event: self.close())

    def close(self) -> None:
        self.open = False

    def show(self, frame) -> bool:
        from PIL import Image, ImageTk
        if not self.open:
            self.root.destroy()
            return False
        image = ImageTk.PhotoImage(Image.fromarray(frame[..., :3]))
        self.label.configure(image=image)
        self.label.image = image
        self.root.update()
        return True


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ..inference.video import FrameEffect, process_video

    if (args.input is None) == (args.camera is None):
        raise ValueError("give a video file or --camera N (one of them)")
    if args.input is not None and args.output is None:
        raise ValueError("-o/--output is required for a video file")
    if args.input is not None and not Path(args.input).is_file():
        raise ValueError(f"{args.input}: no such video file")
    if args.input is not None and Path(args.output).resolve() == Path(args.input).resolve():
        raise ValueError(f"{args.output}: is the input video; name another file, the input is never written over")
    if args.output is not None and args.format == "cutout" and args.output.exists() and not args.output.is_dir():
        raise ValueError(f"{args.output}: exists and is not a folder (cut-out frames are written as PNG files "
                         "into a folder)")
    if args.output is not None and args.format != "cutout" and args.output.is_dir():
        raise ValueError(f"{args.output}: is a folder; name the video file to write (.mp4 or .avi)")
    look = look_from(args, [args.format], max_pixels=None)
    segmenter = open_segmenter(args)
    effect = FrameEffect(segmenter, args.format, look.background, args.smoothing, look.blur_strength,
                         args.smoothing_mode, look.main_person)

    on_frame = None
    if args.camera is not None and not args.no_preview:
        if not os.environ.get("DISPLAY") and sys.platform.startswith("linux"):
            raise ValueError("no display for a preview window: use --no-preview with -o to record")
        preview = Preview(f"portraitnet - camera {args.camera} - q to stop")
        on_frame = preview.show
    if args.camera is not None and on_frame is None and args.output is None:
        raise ValueError("with --no-preview, give -o to record the camera")

    source = args.camera if args.camera is not None else args.input
    with tqdm(unit="frame", disable=args.no_progress, desc="video") as bar:
        stats = process_video(source, args.output, effect, on_frame, args.max_frames,
                              progress=lambda _count: bar.update(1))
    print(f"{stats['frames']} frames at {stats['fps']:.1f} frames/s" +
          (f", written to {args.output}" if args.output else ""))
    return 0
