"""`portraitnet train`: every TrainConfig field is a flag; a TOML config file sets many at once."""

from __future__ import annotations

import argparse
from dataclasses import fields
from pathlib import Path

from ..training.config import TrainConfig

HELP = "Train PortraitNet (the paper's recipe by default); resume a stopped run with --resume."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, help="TOML file of config values (flags override it)")
    parser.add_argument("--resume", action="store_true",
                        help="continue from OUT_DIR/last.pt with its saved config (flags given here override it, "
                             "but for init_from: the run keeps the record of the weights it started from)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--time-limit", type=float, default=0.0, metavar="SECONDS",
                        help="stop after the last epoch that fits in SECONDS (the schedule stays that of --epochs; "
                             "--resume goes on)")
    parser.add_argument("--until-epoch", type=int, default=0, metavar="N",
                        help="stop after epoch N (the schedule stays that of --epochs; --resume goes on)")
    knobs = parser.add_argument_group("config (defaults shown are the paper's)")
    for field in fields(TrainConfig):
        flag = "--" + field.name.replace("_", "-")
        if field.type in ("bool", bool):
            knobs.add_argument(flag, action=argparse.BooleanOptionalAction, default=None,
                               help=f"(default {field.default})")
        elif str(field.type).startswith("list"):
            knobs.add_argument(flag, nargs="*", default=None, metavar=field.name.upper(), help="(default none)")
        else:
            kind = {"int": int, "float": float}.get(str(field.type), str)
            knobs.add_argument(flag, type=kind, default=None, metavar=field.name.upper(),
                               help=f"(default {field.default!r})")


def resolve_config(args: argparse.Namespace) -> TrainConfig:
    """Precedence: defaults, or the resumed run's saved config < config file < flags."""
    flags = {f.name: getattr(args, f.name) for f in fields(TrainConfig) if getattr(args, f.name) is not None}
    from_file = TrainConfig.read_file(args.config) if args.config is not None else {}
    values = TrainConfig().to_dict()
    if args.resume:
        last = Path(flags.get("out_dir") or from_file.get("out_dir") or values["out_dir"]) / "last.pt"
        if not last.is_file():  # a mistyped --out-dir must not start a fresh run in silence
            raise ValueError(f"--resume: {last} not found, nothing to resume (check --out-dir, or drop --resume "
                             "to start a new run)")
        from ..training.checkpoint import load_checkpoint
        saved = load_checkpoint(last)["config"]
        # init_from is history, not a knob: a resumed run keeps the record of the weights it started from.
        return TrainConfig.from_dict({**saved, **from_file, **flags, "init_from": saved["init_from"]})
    return TrainConfig.from_dict({**values, **from_file, **flags})


def run(args: argparse.Namespace) -> int:
    from ..training.train import train  # torch-heavy import only when training
    config = resolve_config(args)
    if args.time_limit < 0:
        raise ValueError(f"--time-limit must be at least 0 seconds, got {args.time_limit}")
    if args.until_epoch < 0:
        raise ValueError(f"--until-epoch must be at least 0, got {args.until_epoch}")
    summary = train(config, resume=args.resume, show_progress=not args.no_progress, time_limit=args.time_limit,
                    until_epoch=args.until_epoch)
    if summary["rank"] == 0:
        print(f"best validation IoU {summary['best_val_iou']:.4f} at epoch {summary['best_epoch']} "
              f"({summary['epochs_done']} of {summary['epochs']} epochs done); model: {summary['out_dir']}/best.pt")
    return 0
