"""Score checkpoints on a run's validation sets with the BatchNorm statistics they carry and with fresh ones.

    python tools/rescore.py --config configs/imagenet_pools.toml runs/long_imagenet/last.pt runs/long_imagenet/best.pt

Each checkpoint's weights (the average where a run keeps one) are scored as stored, then after
recalibrate_batchnorm on the recipe's bn_recalibration_samples training samples (a seeded shuffle, square batches,
augmented as at the checkpoint's epoch). Prints each validation set's IoU and the selection score. This is how the
long run's fall from epoch 13 was traced to stale statistics (docs/runs/long_imagenet/run.txt).

With --curve LOG PNG it also redraws a run's curves with the first checkpoint's scores (as stored) as flat lines,
to show where the run stands against, say, the shipped model (docs/runs/anneal_1m):

    python tools/rescore.py --config configs/imagenet_pools.toml portraitnet/weights/portraitnet.pt \
        --curve docs/runs/anneal_1m/log.jsonl docs/runs/anneal_1m/curves_against_shipped.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from portraitnet.evaluation.plots import plot_curves
from portraitnet.model.network import PortraitNet
from portraitnet.training.checkpoint import load_checkpoint, model_weights
from portraitnet.training.config import TrainConfig
from portraitnet.training.selection import selection_score
from portraitnet.training.train import (Distributed, build_datasets, recalibrate_batchnorm, resolve_device,
                                        read_log, resolve_precision, validation_iou)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", type=Path, nargs="+", help="training states (last.pt) or model files")
    parser.add_argument("--config", type=Path, required=True, help="the run's recipe (its data and validation sets)")
    parser.add_argument("--curve", type=Path, nargs=2, metavar=("LOG", "PNG"),
                        help="redraw this run log's curves into PNG against the first checkpoint's stored scores")
    args = parser.parse_args()

    config = TrainConfig.from_dict(TrainConfig.read_file(args.config))
    device = resolve_device(config.device)
    dtype = resolve_precision(config.precision, device)
    single = Distributed()
    reference: dict[str, float] = {}
    for path in args.checkpoints:
        payload = load_checkpoint(path)
        epoch = int(payload.get("epoch", config.epochs))
        train_set, val_sets, _ = build_datasets(config, train_size=config.train_size(max(0, epoch - 1)))
        train_set.set_epoch(epoch - 1)
        loader = DataLoader(train_set, batch_size=config.batch_size, shuffle=True,
                            generator=torch.Generator().manual_seed(config.seed))
        model = PortraitNet(config.encoder_padding).to(device)
        model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in model_weights(payload).items()})
        if config.channels_last:
            model = model.to(memory_format=torch.channels_last)
        for label in ("stored", "fresh"):
            if label == "fresh":
                recalibrate_batchnorm(model, loader, config, device, dtype)
            scores = {name: validation_iou(model, dataset, config, device, dtype, single)
                      for name, dataset in val_sets.items()}
            pools = {name: (iou, len(val_sets[name])) for name, iou in scores.items() if name != "main"}
            score = selection_score(scores["main"], pools, config.pool_weighting)
            terms = "  ".join(f"{name} {100 * iou:.2f}" for name, iou in scores.items())
            print(f"{path} (epoch {epoch}), {label} statistics: selection {100 * score:.2f}  {terms}", flush=True)
            if path == args.checkpoints[0] and label == "stored":  # what --curve draws the run against
                reference = {"val_iou": score} | {f"val_iou_{name}": iou for name, iou in scores.items()}
    if args.curve:
        log, figure = args.curve
        plot_curves(read_log(log), figure, reference, reference_name=str(args.checkpoints[0]))
        print(f"wrote {figure}")


if __name__ == "__main__":
    main()
