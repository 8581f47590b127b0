"""Ship a trained model inside the package: half-precision weights plus a record of how they were trained.

    python tools/ship_model.py runs/cpu [--report reports/cpu/report.json] [--note 'what changed when' ...]

Writes portraitnet/weights/portraitnet.pt (the best validation epoch's weights, float16, with its config and
split, so that `portraitnet evaluate portraitnet/weights/portraitnet.pt --split val` works), its ONNX graph
portraitnet/weights/portraitnet.onnx (what the package segments with, no torch needed), the golden mask of the
sample photo that tests/test_golden.py holds the package to,
the live mode's .tflite files for the web page (with the tflite extra; `--live-models-only` makes just those),
portraitnet/weights/model.json (recipe, epochs, wall-clock hours, validation and, when given, test metrics), and the
training log and curve of the whole lineage to docs/training_log.jsonl and docs/curves.png. A run warm-started from
the shipped model (`init_from = "portraitnet/weights/portraitnet.pt"`), or from a cycle's model file kept beside its
log.jsonl that was itself warm-started so, continues that lineage: its epochs are counted after the earlier ones,
and model.json nests the earlier records under "warm_start".
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import json
import tempfile
from pathlib import Path
from typing import Any

from portraitnet.evaluation.plots import plot_curves
from portraitnet.files import file_sha256, write_bytes_atomic
from portraitnet.inference.route import encode
from portraitnet.inference.segmenter import Segmenter
from portraitnet.training.checkpoint import load_checkpoint, load_model, model_payload, save_atomic
from portraitnet.training.config import TrainConfig
from portraitnet.export.onnx_graph import export_onnx
from portraitnet.export.web import LIVE_RECORD, LIVE_SHAPES, live_model_name
from portraitnet.training.train import read_log, training_split

REPO = Path(__file__).resolve().parents[1]
WEIGHTS = REPO / "portraitnet" / "weights"
DOCS = REPO / "docs"
SAMPLE = REPO / "examples" / "astronaut.jpg"
GOLDEN = REPO / "tests" / "golden" / "astronaut_mask.png"
GOLDEN_UNREFINED = REPO / "tests" / "golden" / "astronaut_mask_unrefined.png"


def ship_onnx_and_golden_mask() -> None:
    """The ONNX graph of the shipped checkpoint (its float16 weights, as the torch backend sees them), and the
    sample photo's mask through the package's inference route, refined and not, which later changes must
    reproduce."""
    model, payload = load_model(WEIGHTS / "portraitnet.pt")
    export_onnx(model, WEIGHTS / "portraitnet.onnx", payload["config"]["input_size"])
    for refine, path in ((True, GOLDEN), (False, GOLDEN_UNREFINED)):
        probability = Segmenter(WEIGHTS / "portraitnet.onnx", refine=refine).predict(SAMPLE)
        write_bytes_atomic(path, encode((probability * 255).round().astype("uint8"), ".png"))


def ship_live_models() -> None:
    """The shipped checkpoint as .tflite files for the page's live shapes (LiteRT.js runs webcam frames about twice
    as fast as ONNX Runtime Web), and live.json, which ties them to the ONNX graph they match. They need litert-torch
    (the tflite extra). Without it the old ones are removed, so the page runs live frames on ONNX Runtime Web rather
    than on an older model."""
    record = WEIGHTS / LIVE_RECORD
    if importlib.util.find_spec("litert_torch") is None:
        for path in [record, *(WEIGHTS / live_model_name(shape) for shape in LIVE_SHAPES)]:
            path.unlink(missing_ok=True)
        print("no live models (litert-torch is not installed): run `python tools/ship_model.py --live-models-only` "
              "where `pip install 'portraitnet[tflite]'` is, or the page runs webcam frames on ONNX Runtime Web")
        return
    from importlib.metadata import version

    from portraitnet.export.litert import export_tflite
    model, _ = load_model(WEIGHTS / "portraitnet.pt")
    names = []
    for shape in LIVE_SHAPES:
        names.append(live_model_name(shape))
        with tempfile.TemporaryDirectory() as tmp:
            export_tflite(model, Path(tmp) / "live.tflite", shape)
            write_bytes_atomic(WEIGHTS / names[-1], gzip.compress((Path(tmp) / "live.tflite").read_bytes(), 9, mtime=0))
    made = {"made_from": "portraitnet.onnx", "sha256": file_sha256(WEIGHTS / "portraitnet.onnx"), "files": names,
            "made_with": f"litert-torch {version('litert-torch')}",
            "note": "input (1, H, W, 3) normalised RGB, output (1, H, W) person probability, float32"}
    write_bytes_atomic(record, (json.dumps(made, indent=1) + "\n").encode())
    print(f"live models: {', '.join(names)}")


def warm_start_lineage(model: dict[str, Any]) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The record and per-epoch log of the model a run's model file was warm-started from, or (None, []) for a
    fresh lineage.

    That model is the shipped one (model.json, docs/training_log.jsonl), or a model file beside the log of the run
    that made it (a cycle that was not shipped, kept in checkpoints/<run>/), followed back the same way. A run
    records the hash of the file it started from: when that path now holds other weights (the shipped model was
    replaced since), the lineage cannot be read from it, and the tool stops rather than count another one.
    """
    init_from = model["config"].get("init_from")
    if not init_from:
        return None, []
    path = (REPO / init_from).resolve()
    started = model.get("data", {}).get("warm_start")
    if started and (not path.is_file() or started["sha256"] != file_sha256(path)):
        raise SystemExit(f"{init_from} no longer holds the weights the run started from (sha256 "
                         f"{started['sha256'][:12]}...): put those weights and their record back before shipping")
    if path == (WEIGHTS / "portraitnet.pt").resolve():
        record = json.loads((WEIGHTS / "model.json").read_text())
        log = [{**r, "cycle": r.get("cycle", 1)} for r in read_log(DOCS / "training_log.jsonl")]
        if len(log) != lineage_totals(record)[0]:
            raise SystemExit(f"docs/training_log.jsonl has {len(log)} epochs, the shipped model's record "
                             f"{lineage_totals(record)[0]}")
        return record, log
    if not (path.parent / "log.jsonl").is_file():
        print(f"note: {init_from} has no log.jsonl beside it; the record starts with this run")
        return None, []
    model = load_checkpoint(path)
    previous, earlier = warm_start_lineage(model)
    run_log = read_log(path.parent / "log.jsonl")
    notes = [f"{len(run_log)} epochs were run; the lineage counts the {model['epoch']} that led to these weights"]
    source = path.parent.relative_to(REPO) if path.is_relative_to(REPO) else path.parent
    record = cycle_record(str(source), model, run_log[:model["epoch"]], previous, notes)
    return record, continue_log(earlier, run_log[:model["epoch"]])


def lineage_totals(previous: dict[str, Any] | None) -> tuple[int, float]:
    """Epochs and wall-clock hours of the lineage up to and including the previous model (0, 0 without one)."""
    if previous is None:
        return 0, 0.0
    return (previous.get("total_epochs", previous["epochs_trained"]),
            previous.get("total_wall_clock_hours", previous["wall_clock_hours"]))


def continue_log(earlier: list[dict[str, Any]], log: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A cycle's log after the lineage's, epochs renumbered and each record tagged with its cycle."""
    cycle = earlier[-1]["cycle"] + 1 if earlier else 1
    return earlier + [{**r, "epoch": len(earlier) + r["epoch"], "cycle": cycle} for r in log]


def cycle_record(source: str, model: dict[str, Any], log: list[dict[str, Any]], previous: dict[str, Any] | None,
                 notes: list[str]) -> dict[str, Any]:
    """How a model file was trained: its run, epochs and hours, those of its lineage, and the previous record."""
    hours = round(sum(r["seconds"] for r in log) / 3600, 2)
    earlier_epochs, earlier_hours = lineage_totals(previous)
    record: dict[str, Any] = {
        "source_run": source,
        "best_epoch": model["epoch"],
        "epochs_trained": len(log),
        "wall_clock_hours": hours,
        "total_epochs": earlier_epochs + len(log),
        "total_wall_clock_hours": round(earlier_hours + hours, 2),
        "validation_iou": model["metrics"]["val_iou"],
    }
    if "data" in model:
        record.update(training_images=model["data"]["train"], validation_images=model["data"]["val"],
                      left_out_test_duplicates=model["data"]["dropped_test_duplicates"])
        if model["data"].get("encoder_source"):
            record["encoder_weights"] = model["data"]["encoder_source"]
        if model["data"].get("pools"):
            record["pseudo_labelled_pools"] = {name: {**pool, **pool_teachers(Path(pool["path"]))}
                                               for name, pool in model["data"]["pools"].items()}
        if model["data"].get("teacher"):  # the teachers' soft masks blended into EG1800's targets
            teacher = model["data"]["teacher"]
            record["teacher_targets"] = {**teacher, **pool_teachers(Path(teacher["dir"]).parent)}
    record.update(config=model["config"], notes=notes)
    if previous is not None:
        record["warm_start"] = previous
    return record


def pool_teachers(pool: Path) -> dict[str, Any]:
    """What tools/pseudo_label.py recorded of a pool: its source photos and the teachers that labelled them."""
    record = pool / "teachers.json"
    if not record.is_file():
        return {"teachers": f"unknown ({record} not found)"}
    labels = json.loads(record.read_text())
    return {"source": labels["source"], "teachers": labels["teachers"], "combine": labels["combine"]}


def restore_original_data(best: dict[str, Any], config_path: Path) -> None:
    """For a run trained on a copy made by tools/portable_dataset.py: check that the original data of config_path
    gives the run's split, then record the original's data settings in the model's config and data."""
    original = TrainConfig.from_dict(TrainConfig.read_file(config_path))
    train, val, dropped = training_split(original)
    if len(train) != best["data"]["train"] or sorted(s.stem for s in val) != sorted(best["data"]["val_stems"]):
        raise SystemExit(f"{config_path}: its data gives {len(train)} training and {len(val)} validation samples, "
                         f"not the run's split ({best['data']['train']} and {best['data']['val']})")
    for key in ("data_root", "train_list", "test_list", "val_fraction", "val_list"):
        best["config"][key] = getattr(original, key)
    best["data"]["dropped_test_duplicates"] = dropped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, nargs="?", help="a training run folder (best.pt, log.jsonl)")
    parser.add_argument("--report", type=Path, help="an `evaluate` report.json of best.pt on the test split")
    parser.add_argument("--note", action="append", default=[],
                        help="a line for the record, such as a recipe change during the run (repeatable)")
    parser.add_argument("--data-config", type=Path,
                        help="the run trained on a tools/portable_dataset.py copy of this config's data: record the "
                             "original data (its split is checked to match the run's)")
    parser.add_argument("--live-models-only", action="store_true",
                        help="make only the live mode's .tflite files of the model shipped now")
    args = parser.parse_args()
    if args.live_models_only:
        ship_live_models()
        return
    if args.run is None:
        parser.error("a run folder is needed (or --live-models-only)")

    best = load_checkpoint(args.run / "best.pt")
    if args.data_config:
        restore_original_data(best, args.data_config)
    previous, earlier = warm_start_lineage(best)
    log = read_log(args.run / "log.jsonl")
    record = cycle_record(str(args.run), best, log, previous, args.note)
    if args.report:
        report = json.loads(args.report.read_text())
        record["test"] = {k: report[k] for k in ("split", "images", "official_iou", "dataset_miou",
                                                 "full_resolution_iou", "boundary_f")}
        if "robustness" in report:
            record["test"]["robustness"] = report["robustness"]

    lineage = continue_log(earlier, log)
    save_atomic(model_payload(best["model"], best["config"], half=True, epoch=best["epoch"],
                              metrics=best["metrics"], data=best["data"]), WEIGHTS / "portraitnet.pt")
    ship_onnx_and_golden_mask()
    ship_live_models()
    write_bytes_atomic(WEIGHTS / "model.json", (json.dumps(record, indent=1) + "\n").encode())
    write_bytes_atomic(DOCS / "training_log.jsonl", "".join(json.dumps(r) + "\n" for r in lineage).encode())
    plot_curves(lineage, DOCS / "curves.png")
    size = (WEIGHTS / "portraitnet.pt").stat().st_size / 1e6
    print(f"shipped epoch {best['epoch']} (validation IoU {best['metrics']['val_iou']:.4f}), {size:.1f} MB; "
          f"{record['total_epochs']} epochs, {record['total_wall_clock_hours']} h in all")


if __name__ == "__main__":
    main()
