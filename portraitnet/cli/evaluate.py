"""`portraitnet evaluate CHECKPOINT`: the paper's metric and more, a JSON report and a figure."""

from __future__ import annotations

import argparse
from pathlib import Path

from .checks import positive_int

HELP = "Evaluate a checkpoint on a split (default: the test split it was trained for)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", type=Path, help="a best.pt / last.pt or the shipped model file")
    parser.add_argument("--data-root", help="dataset folder (default: the checkpoint's)")
    parser.add_argument("--split", help="split list path or name, 'val' (the checkpoint's validation images) or 'all' (every "
                        "image, e.g. --data-root ../shared/data/vk290) (default: the checkpoint's test list)")
    parser.add_argument("--out", type=Path, help="folder for report.json and predictions.png")
    parser.add_argument("--batch-size", type=positive_int, default=16)
    parser.add_argument("--tolerance", type=float, default=3.0, help="boundary F-score tolerance in px")
    parser.add_argument("--robustness", action="store_true",
                        help="also score the robustness benchmark built from the split (composites, framings, light)")
    parser.add_argument("--no-progress", action="store_true")


def run(args: argparse.Namespace) -> int:
    from ..evaluation.evaluate import evaluate
    report = evaluate(args.checkpoint, args.data_root, args.split, args.out, args.batch_size, args.tolerance,
                      robustness=args.robustness, show_progress=not args.no_progress)
    print(f"{report['images']} images of {report['split']} at {report['input_size']}x{report['input_size']}; "
          f"boundary F within {report['boundary_tolerance_px']:g} px")
    rows = [("plain", report)] + list(report.get("robustness", {}).items())
    print(f"{'':>12} {'official IoU':>13} {'dataset mIoU':>13} {'full-res IoU':>13} {'boundary F':>11}")
    for name, row in rows:
        print(f"{name:>12} {100 * row['official_iou']:13.2f} {100 * row['dataset_miou']:13.2f} "
              f"{100 * row['full_resolution_iou']:13.2f} {100 * row['boundary_f']:11.2f}")
    if args.out:
        print(f"report: {args.out / 'report.json'}, figure: {args.out / 'predictions.png'}")
    return 0
