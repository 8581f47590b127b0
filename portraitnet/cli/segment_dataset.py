"""`portraitnet segment-dataset SOURCE -o OUT`: a folder or bucket of photos on a Ray cluster (the `ray` extra).

SOURCE and OUT are folders or URIs that pyarrow reads (s3://bucket/photos, gs://...). Outputs are named as by
`segment`; OUT/manifest.jsonl has one row per photo (input, outputs, status, error), so running the command again
skips what is done and retries what failed. The exit code is 1 when any photo failed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..inference.imageio import DEFAULT_MAX_PIXELS
from ..inference.route import FORMATS
from .checks import positive_int
from .look_options import add_look_arguments, look_from, parse_formats
from .model_options import add_device_argument, add_input_arguments

HELP = "Segment a folder or bucket of photos on a Ray cluster, with a manifest that makes re-runs resume."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = __doc__
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("source", help="a folder or URI of photos (searched recursively)")
    parser.add_argument("-o", "--output", required=True, help="the output folder or URI")
    parser.add_argument("-f", "--format", default="mask", help=f"one or more of {','.join(FORMATS)}, comma-separated")
    add_look_arguments(parser)
    parser.add_argument("--weights", type=Path, help="a .onnx model (default: the shipped model)")
    parser.add_argument("--address", help="a Ray cluster to join (default: RAY_ADDRESS, else a local one)")
    parser.add_argument("--actors", type=positive_int, help="model actors (default: the cluster's CPUs / --threads-per-actor)")
    parser.add_argument("--threads-per-actor", type=positive_int, default=1, help="CPU threads of each actor's session")
    add_device_argument(parser)
    add_input_arguments(parser)
    parser.add_argument("--gpus-per-actor", type=float, default=0.0,
                        help="a GPU actor's share of a GPU (default with a GPU: 1; 0.5 puts two actors on each)")
    parser.add_argument("--batch-size", type=positive_int, default=16, help="photos per forward pass")
    parser.add_argument("--max-pixels", type=positive_int, default=DEFAULT_MAX_PIXELS, help="refuse larger images")


def run(args: argparse.Namespace) -> int:
    from ..inference.ray_segment import segment_dataset

    formats = parse_formats(args.format)
    look = look_from(args, formats, args.max_pixels)
    if args.address:
        import ray
        ray.init(address=args.address)
    report = segment_dataset(args.source, args.output, formats, look, str(args.weights) if args.weights else None,
                             args.actors, args.batch_size, args.threads_per_actor, args.gpus_per_actor, args.max_pixels,
                             device=args.device, fit_input=args.fit_input,
                             refine=args.refine == "on")
    print(f"{report.photos} photos: {report.skipped} done before, {report.done} done now, "
          f"{len(report.failures)} failed; manifest: {args.output}/manifest.jsonl")
    for path, error in report.failures:
        print(f"  {error or path}", file=sys.stderr)
    return 1 if report.failures else 0
