"""`portraitnet check-data ROOT [--split LIST ...]`: report every problem of a dataset folder with file names."""

from __future__ import annotations

import argparse

HELP = "Check a dataset folder (images/, masks/, split lists) and list every problem with its file."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("root", help="dataset folder with images/<stem>.jpg|png and masks/<stem>.png")
    parser.add_argument("--split", action="append", default=[], metavar="LIST",
                        help="a split list (path, or name for ROOT/NAME.txt); repeat for several")


def run(args: argparse.Namespace) -> int:
    from ..training.check import check_dataset
    report = check_dataset(args.root, args.split)
    splits = ", ".join(f"{name}: {count}" for name, count in report.split_sizes.items())
    print(f"{report.root}: {report.pairs} image/mask pairs" + (f" ({splits})" if splits else ""))
    for line in report.warnings:
        print(f"warning: {line}")
    for line in report.errors:
        print(f"error: {line}")
    print(f"{len(report.errors)} errors, {len(report.warnings)} warnings")
    return 0 if report.ok else 1
