"""Ship a trained model inside the package: half-precision weights plus a record of how they were trained.

    python tools/ship_model.py runs/cpu [--report reports/cpu/report.json] [--note 'what changed when' ...]

Writes portraitnet/weights/portraitnet.pt (the best validation epoch's weights, float16, with its config) and
portraitnet/weights/model.json (recipe, epochs, wall-clock hours, validation and, when given, test metrics).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from portraitnet.checkpoint import load_checkpoint, model_payload, save_atomic
from portraitnet.train import read_log

WEIGHTS = Path(__file__).resolve().parents[1] / "portraitnet" / "weights"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a training run folder (best.pt, log.jsonl)")
    parser.add_argument("--report", type=Path, help="an `evaluate` report.json of best.pt on the test split")
    parser.add_argument("--note", action="append", default=[],
                        help="a line for the record, such as a recipe change during the run (repeatable)")
    args = parser.parse_args()

    best = load_checkpoint(args.run / "best.pt")
    log = read_log(args.run / "log.jsonl")
    record = {
        "source_run": str(args.run),
        "best_epoch": best["epoch"],
        "epochs_trained": len(log),
        "wall_clock_hours": round(sum(r["seconds"] for r in log) / 3600, 2),
        "validation_iou": best["metrics"]["val_iou"],
        "training_images": best["data"]["train"],
        "validation_images": best["data"]["val"],
        "left_out_test_duplicates": best["data"]["dropped_test_duplicates"],
        "config": best["config"],
        "notes": args.note,
    }
    if args.report:
        report = json.loads(args.report.read_text())
        record["test"] = {k: report[k] for k in ("split", "images", "official_iou", "dataset_miou",
                                                 "full_resolution_iou", "boundary_f")}
        if "robustness" in report:
            record["test"]["robustness"] = report["robustness"]
    save_atomic(model_payload(best["model"], best["config"], half=True, epoch=best["epoch"],
                              metrics=best["metrics"]), WEIGHTS / "portraitnet.pt")
    (WEIGHTS / "model.json").write_text(json.dumps(record, indent=1) + "\n")
    size = (WEIGHTS / "portraitnet.pt").stat().st_size / 1e6
    print(f"shipped epoch {best['epoch']} (validation IoU {best['metrics']['val_iou']:.4f}), {size:.1f} MB")


if __name__ == "__main__":
    main()
