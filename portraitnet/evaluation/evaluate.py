"""Evaluation of a model on a split: the paper's metric and three more, a JSON report and a figure.

Metrics:
- official: foreground IoU per image at the input size on the padded square, averaged over images;
- dataset_miou: two-class mIoU with pixels pooled over the split (PaddleSeg / SINet), on the same squares;
- full_resolution_iou: foreground IoU per image at the original size, the prediction mapped back;
- boundary_f: boundary F-score at the input size, within `tolerance` px.
Optionally the same four on every variant of the robustness benchmark (robustness.py).
"""

from __future__ import annotations

import itertools
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import torch

from ..inference import route
from ..inference.preprocess import letterbox_image, letterbox_mask
from ..inference.segmenter import Segmenter
from ..training.checkpoint import load_model
from ..training.data import DataError, Sample, list_samples, load_pair
from ..training.losses import edge_from_mask
from ..model.network import PortraitNet
from .metrics import DatasetIoU, boundary_f_score, foreground_iou
from .robustness import VARIANTS, variant_pairs


@dataclass
class Prediction:
    """One image's person probability on the padded square, and at the original size as users get it."""

    probability: np.ndarray  # (S, S) float32
    full_probability: np.ndarray  # (H, W) float32


def predict_images(segmenter: Segmenter, images: list[np.ndarray], size: int) -> list[Prediction]:
    """The probability on the paper's padded square (its metrics), and at full size as users get it: the route's
    own input shape and refinement (`Segmenter.predict_arrays`)."""
    batch, _ = route.prepare_batch(images, size)
    return [Prediction(p, f) for p, f in zip(segmenter.run_batch(batch), segmenter.predict_arrays(images))]


@torch.no_grad()
def predicted_edge(model: PortraitNet, image: np.ndarray, size: int) -> np.ndarray:
    """The boundary head's probability for the figure: the head trains the network and is not in the exported graph."""
    batch, _ = route.prepare_batch([image], size)
    _, edge_logits = model(torch.from_numpy(batch), with_edge=True)
    return torch.softmax(edge_logits, 1)[0, 1].numpy()


def split_samples(root: Path, split: str, payload: dict[str, Any]) -> list[Sample]:
    """`val` means the validation stems the checkpoint was selected on, `all` every image of the folder (vk290,
    davis_person); anything else is a split list."""
    if split == "all":
        return list_samples(root)
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


@dataclass
class Scores:
    """Per-image rows, the pooled two-class counts, and a few rows for the figure."""

    per_image: list[dict[str, Any]]
    pooled: DatasetIoU
    figure: list[dict[str, np.ndarray]]
    figure_stems: list[str]

    def summary(self) -> dict[str, float]:
        def mean(key: str) -> float:
            return float(np.mean([row[key] for row in self.per_image])) if self.per_image else float("nan")
        return {"images": len(self.per_image), "official_iou": mean("iou"), "dataset_miou": self.pooled.mean(),
                "full_resolution_iou": mean("full_resolution_iou"), "boundary_f": mean("boundary_f")}


def score(segmenter: Segmenter, model: PortraitNet, stems: list[str], pairs: Iterable[tuple[np.ndarray, np.ndarray]],
          size: int, tolerance: float = 3.0, batch_size: int = 16, figure_rows: int = 0, bar: Any = None) -> Scores:
    """Predict every (image, mask) pair with the segmenter's graph and score it against its mask; `model` draws
    the figure's boundary column."""
    scores = Scores([], DatasetIoU(), [], [])
    figure_every = max(1, len(stems) // max(1, figure_rows))
    iterator = iter(zip(stems, pairs))
    index = 0
    while chunk := list(itertools.islice(iterator, batch_size)):
        predictions = predict_images(segmenter, [image for _, (image, _) in chunk], size)
        for (stem, (image, mask)), pred in zip(chunk, predictions):
            true_square = letterbox_mask(mask, size)
            pred_square = pred.probability > 0.5
            scores.pooled.update(pred_square, true_square)
            scores.per_image.append({
                "stem": stem,
                "iou": foreground_iou(pred_square, true_square),
                "full_resolution_iou": foreground_iou(pred.full_probability > 0.5, mask),
                "boundary_f": boundary_f_score(pred_square, true_square, tolerance),
            })
            if index % figure_every == 0 and len(scores.figure) < figure_rows:
                scores.figure.append({"image": letterbox_image(image, size)[0], "pred_mask": pred.probability,
                                      "true_mask": true_square.astype(np.float32),
                                      "pred_edge": predicted_edge(model, image, size),
                                      "true_edge": edge_from_mask(true_square).astype(np.float32)})
                scores.figure_stems.append(stem)
            index += 1
        if bar is not None:
            bar.update(len(chunk))
    return scores


def evaluate(checkpoint: str | Path, data_root: str | Path | None = None, split: str | None = None,
             out_dir: str | Path | None = None, batch_size: int = 16, tolerance: float = 3.0,
             robustness: bool = False, figure_rows: int = 6, show_progress: bool = False) -> dict[str, Any]:
    """Score a checkpoint on a split; data_root and split default to the ones it was trained with (test split).

    The checkpoint runs as users run it: its ONNX export on ONNX Runtime, photos decoded by the package's reader.

    With robustness=True, also on each variant of the robustness benchmark built from the same split.
    Writes report.json and predictions.png into out_dir when given. Returns the report.
    """
    from tqdm import tqdm
    model, payload = load_model(checkpoint)
    segmenter = Segmenter(checkpoint, backend="onnx")
    config = payload["config"]
    root = Path(data_root or config["data_root"])
    split = split or config["test_list"]
    size = config["input_size"]
    samples = split_samples(root, split, payload)
    stems = [s.stem for s in samples]
    with ThreadPoolExecutor(2) as pool:
        pairs = list(pool.map(load_pair, samples))

    variants = VARIANTS if robustness else ()
    with tqdm(total=len(samples) * (1 + len(variants)), disable=not show_progress, desc="evaluate") as bar:
        plain = score(segmenter, model, stems, pairs, size, tolerance, batch_size, figure_rows if out_dir else 0,
                      bar)
        report = {"checkpoint": str(checkpoint), "data_root": str(root), "split": str(split), "input_size": size,
                  "boundary_tolerance_px": tolerance, **plain.summary()}
        if variants:
            report["robustness"] = {
                variant: score(segmenter, model, stems, variant_pairs(variant, pairs), size, tolerance, batch_size,
                               bar=bar).summary()
                for variant in variants}
    report["per_image"] = plain.per_image
    if out_dir is not None:
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "report.json").write_text(json.dumps(report, indent=1))
        from .plots import plot_prediction_grid
        plot_prediction_grid(plain.figure, out_dir / "predictions.png", plain.figure_stems)
    return report
