"""Average the weights of a fine-tuned model and the model it started from, or of several fine-tunes of one start
(see portraitnet/training/average.py for why).

    python tools/average_models.py EARLIER.pt runs/RUN/best.pt --weight 0.5 -o runs/RUN_average \
        [--data-root ../shared/data/eg1800] [--pool-root /work/pools] [--robustness] [--pool-weighting size]
    python tools/average_models.py runs/A/best.pt runs/B/best.pt runs/C/best.pt -o runs/soup ...   (equal shares)

Writes OUT/best.pt (a model file: the last model's config, epoch and split, the averaged weights, and the
average's own validation IoU) with the last run's log.jsonl and curves.png beside it, so that
tools/ship_model.py can ship it as that run's result.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from portraitnet.evaluation.evaluate import evaluate
from portraitnet.training.average import average_weights, uniform_average
from portraitnet.training.checkpoint import load_checkpoint, model_payload, model_weights, save_atomic
from portraitnet.training.selection import POOL_WEIGHTINGS, selection_score


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", type=Path, nargs="+",
                        help="two or more models (model files or checkpoints), the earliest first; the last is a "
                             "run's best.pt, whose folder's log.jsonl goes along")
    parser.add_argument("--weight", type=float,
                        help="the last model's share; the others share the rest equally (default: all equal)")
    parser.add_argument("-o", "--out", type=Path, required=True, help="folder to write best.pt into")
    parser.add_argument("--data-root", type=Path,
                        help="score the recorded validation images from this dataset rather than the last "
                             "model's, e.g. the original of a tools/portable_dataset.py copy")
    parser.add_argument("--pool-root", type=Path,
                        help="score each pool's held-out part from DIR/<pool name> (the originals of a portable "
                             "copy's pools) and record those folders in the written model")
    parser.add_argument("--robustness", action="store_true",
                        help="add one more term: the mean over the five robustness variants built from EG1800's "
                             "validation images, so that the score also asks about other framings and scenes")
    parser.add_argument("--pool-weighting", choices=POOL_WEIGHTINGS,
                        help="how the pools' terms count (portraitnet/training/selection.py); default: the last "
                             "model's config, so that a candidate and the shipped model are scored alike")
    args = parser.parse_args()
    if len(args.models) < 2:
        parser.error("give at least two models to average")

    checkpoints = [load_checkpoint(path) for path in args.models]
    weights = [model_weights(checkpoint) for checkpoint in checkpoints]
    last_share = 1 / len(weights) if args.weight is None else args.weight
    shares = [(1 - last_share) / (len(weights) - 1)] * (len(weights) - 1) + [last_share]
    averaged = average_weights(uniform_average(weights[:-1]), weights[-1], last_share)
    last = checkpoints[-1]
    data = last["data"]
    if args.pool_root:
        data = {**data, "pools": {name: {**pool, "path": str(args.pool_root / name)}
                                  for name, pool in data.get("pools", {}).items()}}
    payload = model_payload(averaged, last["config"], epoch=last["epoch"], metrics={}, data=data)
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp) / "average.pt"
        save_atomic(payload, scratch)
        # The training run's selection score: EG1800's validation images and each pool's held-out part
        validation = evaluate(scratch, data_root=args.data_root, split="val", robustness=args.robustness)
        scores = {"val_iou_main": validation["official_iou"]}
        robustness = None
        if args.robustness:
            variants = [result["official_iou"] for result in validation["robustness"].values()]
            robustness = scores["val_iou_main_robustness"] = sum(variants) / len(variants)
        pools = {}
        for name, pool in data.get("pools", {}).items():
            report = evaluate(scratch, data_root=pool["path"], split=str(Path(pool["path"]) / "val.txt"))
            pools[name] = (report["official_iou"], report["images"])
            scores[f"val_iou_{name}"] = report["official_iou"]
        weighting = args.pool_weighting or last["config"].get("pool_weighting", "equal")
        val_iou = selection_score(scores["val_iou_main"], pools, weighting, robustness)
        without = selection_score(scores["val_iou_main"], pools, weighting)

    args.out.mkdir(parents=True, exist_ok=True)
    save_atomic({**payload, "metrics": {"val_iou": val_iou, **scores}}, args.out / "best.pt")
    for name in ("log.jsonl", "curves.png"):
        if (args.models[-1].parent / name).is_file():
            shutil.copyfile(args.models[-1].parent / name, args.out / name)
    mix = " + ".join(f"{share:g} x {path}" for share, path in zip(shares, args.models))
    print(f"wrote {args.out / 'best.pt'}: {mix}, "
          f"validation IoU {100 * val_iou:.2f}"
          + (f" (without the robustness term {100 * without:.2f})" if args.robustness else "")
          + f", pools weighted {weighting} ({', '.join(f'{k} {100 * v:.2f}' for k, v in scores.items())})")


if __name__ == "__main__":
    main()
