"""Ship a trained model inside the package: half-precision weights plus a record of how they were trained.

    python tools/ship_model.py runs/cpu [--report reports/cpu/report.json] [--note 'what changed when' ...]

Writes portraitnet/weights/portraitnet.pt (the best validation epoch's weights, float16, with its config),
portraitnet/weights/model.json (recipe, epochs, wall-clock hours, validation and, when given, test metrics), and the
training log and curve of the whole lineage to docs/training_log.jsonl and docs/curves.png. A run warm-started from
the shipped model (`init_from = "portraitnet/weights/portraitnet.pt"`) continues that model's record: its epochs
are counted after the previous model's, and model.json keeps the previous record under "warm_start".
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from portraitnet.checkpoint import load_checkpoint, model_payload, save_atomic
from portraitnet.files import write_bytes_atomic
from portraitnet.plots import plot_curves
from portraitnet.train import read_log

REPO = Path(__file__).resolve().parents[1]
WEIGHTS = REPO / "portraitnet" / "weights"
DOCS = REPO / "docs"


def previous_record(config: dict[str, Any]) -> dict[str, Any] | None:
    """The shipped model's record when this run was warm-started from the shipped weights, else None."""
    init_from = config.get("init_from")
    if not init_from or (REPO / init_from).resolve() != (WEIGHTS / "portraitnet.pt").resolve():
        return None
    return json.loads((WEIGHTS / "model.json").read_text())


def lineage_totals(previous: dict[str, Any] | None) -> tuple[int, float]:
    """Epochs and wall-clock hours of the lineage up to and including the previous model (0, 0 without one)."""
    if previous is None:
        return 0, 0.0
    return (previous.get("total_epochs", previous["epochs_trained"]),
            previous.get("total_wall_clock_hours", previous["wall_clock_hours"]))


def lineage_log(log: list[dict[str, Any]], previous: dict[str, Any] | None) -> list[dict[str, Any]]:
    """This run's log, after the previous model's lineage log when it continues one (epochs renumbered, each record
    tagged with its cycle)."""
    if previous is None:
        return [{**r, "cycle": 1} for r in log]
    earlier = read_log(DOCS / "training_log.jsonl")
    total = lineage_totals(previous)[0]
    if len(earlier) != total:
        raise SystemExit(f"docs/training_log.jsonl has {len(earlier)} epochs, the shipped model's record {total}")
    cycle = earlier[-1].get("cycle", 1) + 1
    earlier = [{**r, "cycle": r.get("cycle", 1)} for r in earlier]
    return earlier + [{**r, "epoch": total + r["epoch"], "cycle": cycle} for r in log]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a training run folder (best.pt, log.jsonl)")
    parser.add_argument("--report", type=Path, help="an `evaluate` report.json of best.pt on the test split")
    parser.add_argument("--note", action="append", default=[],
                        help="a line for the record, such as a recipe change during the run (repeatable)")
    args = parser.parse_args()

    best = load_checkpoint(args.run / "best.pt")
    log = read_log(args.run / "log.jsonl")
    previous = previous_record(best["config"])
    hours = round(sum(r["seconds"] for r in log) / 3600, 2)
    earlier_epochs, earlier_hours = lineage_totals(previous)
    record: dict[str, Any] = {
        "source_run": str(args.run),
        "best_epoch": best["epoch"],
        "epochs_trained": len(log),
        "wall_clock_hours": hours,
        "total_epochs": earlier_epochs + len(log),
        "total_wall_clock_hours": round(earlier_hours + hours, 2),
        "validation_iou": best["metrics"]["val_iou"],
        "training_images": best["data"]["train"],
        "validation_images": best["data"]["val"],
        "left_out_test_duplicates": best["data"]["dropped_test_duplicates"],
        "config": best["config"],
        "notes": args.note,
    }
    if previous is not None:
        record["warm_start"] = previous
    if args.report:
        report = json.loads(args.report.read_text())
        record["test"] = {k: report[k] for k in ("split", "images", "official_iou", "dataset_miou",
                                                 "full_resolution_iou", "boundary_f")}
        if "robustness" in report:
            record["test"]["robustness"] = report["robustness"]

    lineage = lineage_log(log, previous)
    save_atomic(model_payload(best["model"], best["config"], half=True, epoch=best["epoch"],
                              metrics=best["metrics"]), WEIGHTS / "portraitnet.pt")
    write_bytes_atomic(WEIGHTS / "model.json", (json.dumps(record, indent=1) + "\n").encode())
    write_bytes_atomic(DOCS / "training_log.jsonl", "".join(json.dumps(r) + "\n" for r in lineage).encode())
    plot_curves(lineage, DOCS / "curves.png")
    size = (WEIGHTS / "portraitnet.pt").stat().st_size / 1e6
    print(f"shipped epoch {best['epoch']} (validation IoU {best['metrics']['val_iou']:.4f}), {size:.1f} MB; "
          f"{record['total_epochs']} epochs, {record['total_wall_clock_hours']} h in all")


if __name__ == "__main__":
    main()
