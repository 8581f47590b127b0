"""Train in a short window on a rented machine (a GPU node, say) and bring everything back, then go on next time.

    # here: the config's data and split as one archive that travels (at most 64 MiB)
    python tools/train_window.py pack --config configs/imagenet.toml --out data_pack/eg1800.tgz
    # there, inside the window: train until SECONDS are nearly spent; OUT gets the results
    python tools/train_window.py run --config configs/imagenet.toml --data data_pack/eg1800.tgz \\
        --seconds 480 --out "$OUT" [--state PREVIOUS_OUT] [--set device=cuda num_workers=8 ...]

`run` unpacks the archive, resumes from the previous window's state when --state names its folder (the
last.pt.part-* files it brought back), trains with the config's schedule until the time left would not hold another
epoch, then writes into OUT: best_fp16.pt (the best model, float16, as `portraitnet evaluate` and
tools/ship_model.py take it), last.pt.part-00, -01, ... (the full training state in parts under 16 MiB), log.jsonl
and curves.png. The schedule spans the config's epochs however many windows it takes.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from portraitnet.training.config import TrainConfig  # noqa: E402

PART_BYTES = 15 * 2 ** 20  # what comes back from a window: files of at most 16 MiB
PACK_LIMIT = 64 * 2 ** 20  # what travels to it
RESERVE_SECONDS = 20  # kept at the end of a window for writing the results (--reserve)


def pack(config: Path, out: Path, max_side: int, pools: list[Path]) -> None:
    """The config's training and validation split, shrunk (tools/portable_dataset.py), as one .tgz."""
    folder = out.with_suffix("").with_suffix("")
    shutil.rmtree(folder, ignore_errors=True)
    command = [sys.executable, str(Path(__file__).with_name("portable_dataset.py")), "--config", str(config),
               "--out", str(folder), "--max-side", str(max_side)] + (["--pools", *map(str, pools)] if pools else [])
    subprocess.run(command, check=True)
    with tarfile.open(out, "w:gz") as archive:
        archive.add(folder, arcname="data")
    size = out.stat().st_size
    print(f"{out}: {size / 2 ** 20:.1f} MiB")
    if size > PACK_LIMIT:
        raise SystemExit(f"{out}: {size / 2 ** 20:.1f} MiB is over the {PACK_LIMIT // 2 ** 20} MiB that travels; "
                         "lower --max-side or take fewer pool photos")


def window_config(config: Path, data: Path, run_dir: Path, overrides: list[str]) -> TrainConfig:
    """The config, reading the unpacked copy: its fixed split, and its pools where they travelled."""
    values = {**TrainConfig().to_dict(), **TrainConfig.read_file(config)}
    values.update(data_root=str(data), train_list="train.txt", val_list="val.txt", test_list="",
                  out_dir=str(run_dir))
    values["pools"] = [str(data / "pools" / Path(pool).name) for pool in values["pools"]]
    for item in overrides:
        key, _, text = item.partition("=")
        kind = type(values[key]) if key in values else str
        values[key] = text.lower() in ("1", "true", "yes") if kind is bool else kind(text)
    return TrainConfig.from_dict(values)


def run(config: Path, data: Path, seconds: float, out: Path, state: Path | None, work: Path,
        overrides: list[str], reserve: float = RESERVE_SECONDS) -> None:
    import torch

    from portraitnet.training.checkpoint import load_checkpoint, model_payload, save_atomic
    from portraitnet.training.train import train

    started = time.monotonic()
    shutil.rmtree(work / "data", ignore_errors=True)
    with tarfile.open(data) as archive:
        archive.extractall(work, filter="data")
    run_dir = work / "run"
    run_dir.mkdir(parents=True, exist_ok=True)
    parts = sorted(state.glob("last.pt.part-*")) if state else []
    if parts:
        with open(run_dir / "last.pt", "wb") as joined:
            for part in parts:
                joined.write(part.read_bytes())
        shutil.copyfile(state / "log.jsonl", run_dir / "log.jsonl")
        shutil.copyfile(state / "best_fp16.pt", run_dir / "best.pt")  # the best so far, unless this window beats it
    train_config = window_config(config, work / "data", run_dir, overrides)
    print(f"torch {torch.__version__}, {train_config.device}, "
          f"{torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'CPU'}", flush=True)
    left = seconds - (time.monotonic() - started) - reserve
    summary = train(train_config, resume=(run_dir / "last.pt").is_file(), show_progress=False, time_limit=left)

    out.mkdir(parents=True, exist_ok=True)
    best = load_checkpoint(run_dir / "best.pt")
    save_atomic(model_payload(best["model"], best["config"], half=True,
                              **{k: v for k, v in best.items() if k not in ("model", "config", "format")}),
                out / "best_fp16.pt")
    with open(run_dir / "last.pt", "rb") as whole:
        number = 0
        while chunk := whole.read(PART_BYTES):
            (out / f"last.pt.part-{number:02d}").write_bytes(chunk)
            number += 1
    for name in ("log.jsonl", "curves.png"):
        if (run_dir / name).is_file():
            shutil.copyfile(run_dir / name, out / name)
    print(f"{summary['epochs_done']} of {summary['epochs']} epochs done, best validation IoU "
          f"{summary['best_val_iou']:.4f} at epoch {summary['best_epoch']}; {time.monotonic() - started:.0f} s; "
          f"results in {out}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    verbs = parser.add_subparsers(dest="verb", required=True)
    packing = verbs.add_parser("pack", help="the config's data as one archive that travels")
    packing.add_argument("--config", type=Path, required=True)
    packing.add_argument("--out", type=Path, required=True, help="the archive, NAME.tgz")
    packing.add_argument("--max-side", type=int, default=336)
    packing.add_argument("--pools", type=Path, nargs="*", default=[])
    running = verbs.add_parser("run", help="train inside the window, results into --out")
    running.add_argument("--config", type=Path, required=True)
    running.add_argument("--data", type=Path, required=True, help="the archive `pack` wrote")
    running.add_argument("--seconds", type=float, required=True, help="the window's length, from now")
    running.add_argument("--out", type=Path, required=True)
    running.add_argument("--state", type=Path, help="the folder a previous window's --out came back to")
    running.add_argument("--work", type=Path, default=Path("runs/window"), help="scratch: unpacked data, the run")
    running.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="config values (device=cuda ...)")
    running.add_argument("--reserve", type=float, default=RESERVE_SECONDS,
                         help="seconds kept at the end for writing the results")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.verb == "pack":
        pack(args.config, args.out, args.max_side, args.pools)
    else:
        run(args.config, args.data, args.seconds, args.out, args.state, args.work, args.set, args.reserve)


if __name__ == "__main__":
    main()
