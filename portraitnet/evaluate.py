"""Evaluation of a model on a split: the paper's metric and three more, a JSON report and a figure.

Metrics:
- official: foreground IoU per image at the input size on the padded square, averaged over images;
- dataset_miou: two-class mIoU with pixels pooled over the split (PaddleSeg / SINet), on the same squares;
- full_resolution_iou: foreground IoU per image at the original size, the prediction mapped back;
- boundary_f: boundary F-score at the input size, within `tolerance` px.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .augment import edge_from_mask
from .checkpoint import load_model
from .data import DataError, Sample, list_samples, load_pair
from .metrics import DatasetIoU, boundary_f_score, foreground_iou
from .model import PortraitNet
from .preprocess import letterbox_image, letterbox_mask, normalize, unletterbox


@dataclass
class Prediction:
    """One image's predictions: person and edge probabilities at the input size, and the person probability
    mapped back to the original size."""

    probability: np.ndarray  # (S, S) float32
    edge: np.ndarray  # (S, S) float32
    full_probability: np.ndarray  # (H, W) float32


@torch.no_grad()
def predict_images(model: PortraitNet, images: list[np.ndarray], size: int) -> list[Prediction]:
    """Letterbox, predict in one batch (fp32, the reported numbers), and map back."""
    squares, boxes = zip(*(letterbox_image(image, size) for image in images))
    batch = normalize(np.stack(squares))
    mask_logits, edge_logits = model(batch, with_edge=True)
    probabilities = torch.softmax(mask_logits, 1)[:, 1].numpy()
    edges = torch.softmax(edge_logits, 1)[:, 1].numpy()
    return [Prediction(p, e, unletterbox(p, box)) for p, e, box in zip(probabilities, edges, boxes)]


def split_samples(root: Path, split: str, payload: dict[str, Any]) -> list[Sample]:
    """`val` means the validation stems the checkpoint was selected on; anything else is a split list."""
    if split == "val":
        stems = payload.get("data", {}).get("val_stems")
        if not stems:
            raise DataError(f"{root}: this checkpoint records no validation split; give a split list instead")
        by_stem = {s.stem: s for s in list_samples(root)}
        missing = [stem for stem in stems if stem not in by_stem]
        if missing:
            raise DataError(f"{root}: validation images missing: {', '.join(missing[:5])}")
        return [by_stem[stem] for stem in stems]
    return list_samples(root, split)


def evaluate(checkpoint: str | Path, data_root: str | Path | None = None, split: str | None = None,
             out_dir: str | Path | None = None, batch_size: int = 16, tolerance: float = 3.0,
             figure_rows: int = 6, show_progress: bool = False) -> dict[str, Any]:
    """Score a checkpoint on a split; data_root and split default to the ones it was trained with (test split).

    Writes report.json and predictions.png into out_dir when given. Returns the report.
    """
    model, payload = load_model(checkpoint)
    config = payload["config"]
    root = Path(data_root or config["data_root"])
    split = split or config["test_list"]
    size = config["input_size"]
    samples = split_samples(root, split, payload)

    per_image: list[dict[str, Any]] = []
    pooled = DatasetIoU()
    figure: list[dict[str, np.ndarray]] = []
    figure_stems: list[str] = []
    figure_every = max(1, len(samples) // max(1, figure_rows))
    from tqdm import tqdm
    with ThreadPoolExecutor(2) as pool, tqdm(total=len(samples), disable=not show_progress, desc="evaluate") as bar:
        for start in range(0, len(samples), batch_size):
            chunk = samples[start:start + batch_size]
            pairs = list(pool.map(load_pair, chunk))
            predictions = predict_images(model, [image for image, _ in pairs], size)
            for index, (sample, (image, mask), pred) in enumerate(zip(chunk, pairs, predictions), start):
                true_square = letterbox_mask(mask, size)
                pred_square = pred.probability > 0.5
                pooled.update(pred_square, true_square)
                per_image.append({
                    "stem": sample.stem,
                    "iou": foreground_iou(pred_square, true_square),
                    "full_resolution_iou": foreground_iou(pred.full_probability > 0.5, mask),
                    "boundary_f": boundary_f_score(pred_square, true_square, tolerance),
                })
                if out_dir is not None and index % figure_every == 0 and len(figure) < figure_rows:
                    figure.append({"image": letterbox_image(image, size)[0], "pred_mask": pred.probability,
                                   "true_mask": true_square.astype(np.float32), "pred_edge": pred.edge,
                                   "true_edge": edge_from_mask(true_square).astype(np.float32)})
                    figure_stems.append(sample.stem)
            bar.update(len(chunk))

    def mean(key: str) -> float:
        return float(np.mean([row[key] for row in per_image]))

    report = {
        "checkpoint": str(checkpoint), "data_root": str(root), "split": str(split), "images": len(per_image),
        "input_size": size, "boundary_tolerance_px": tolerance,
        "official_iou": mean("iou"), "dataset_miou": pooled.mean(),
        "full_resolution_iou": mean("full_resolution_iou"), "boundary_f": mean("boundary_f"),
        "per_image": per_image,
    }
    if out_dir is not None:
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "report.json").write_text(json.dumps(report, indent=1))
        from .plots import plot_prediction_grid
        plot_prediction_grid(figure, out_dir / "predictions.png", figure_stems)
    return report
