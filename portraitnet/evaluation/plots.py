"""Figures: training curves and the paper-style prediction grid (matplotlib, drawn off-screen)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

LOSS_TERMS = ("loss", "ce", "ce_textured", "edge", "consistency", "iou")


def plot_curves(records: list[dict[str, Any]], path: Path, reference: Mapping[str, float] | None = None,
                reference_name: str = "reference") -> None:
    """Loss terms (log scale) and the validation (selection) score, and where a run scores several held-out sets
    each set's IoU, side by side; against samples seen where the records say (a single run), else per epoch. Dashed
    lines where a record's "cycle" changes (a run warm-started from the previous one's model), dotted where
    validation starts recomputing the average's BatchNorm statistics (scores jump there: docs/training.md).
    A reference (another model's scores under the records' keys: val_iou, val_iou_<set>) is drawn as flat
    dash-dotted lines, so that the figure shows where the run stands against, say, the shipped model."""
    reference = reference or {}
    if not records:
        return
    seen = [r.get("samples_seen") for r in records]
    by_samples = None not in seen and all(a < b for a, b in zip(seen, seen[1:]))
    xs = [x / 1000 for x in seen] if by_samples else [r["epoch"] for r in records]
    x_label = "samples seen (thousands)" if by_samples else "epoch"
    terms = sorted({k for r in records for k in r if k.startswith("val_iou_")})
    fig, axes = plt.subplots(1, 3 if terms else 2, figsize=(16.5 if terms else 11, 4))
    ax_loss, ax_iou = axes[0], axes[1]
    for term in LOSS_TERMS:  # a term a run had off (or a lineage's earlier runs lacked) leaves a gap
        if any(term in r for r in records):
            ax_loss.plot(xs, [r.get(term, np.nan) for r in records], label=term)
    ax_loss.set_yscale("log")
    ax_loss.set_title("training loss terms")
    ax_loss.legend()
    ious = [100 * r["val_iou"] for r in records]
    ax_iou.plot(xs, ious, label="validation IoU")
    if "val_iou" in reference:
        ax_iou.axhline(100 * reference["val_iou"], color="black", linestyle="-.", linewidth=1,
                       label=f"{reference_name}: {100 * reference['val_iou']:.2f}")
        ax_iou.legend(fontsize=8)
    if len(ious) >= 20:  # the late epochs are what matters: let the first ones leave the plot
        levels = ious + ([100 * reference["val_iou"]] if "val_iou" in reference else [])
        ax_iou.set_ylim(max(0.0, float(np.percentile(ious, 10)) - 1), max(levels) + 0.5)
    ax_iou.set_ylabel("foreground IoU (%)")
    ax_iou.set_title(f"{'selection score' if terms else 'validation IoU'}: best {max(ious):.2f}")
    if terms:
        for term in terms:
            line, = axes[2].plot(xs, [100 * r.get(term, np.nan) for r in records], label=term.removeprefix("val_iou_"))
            if term in reference:
                axes[2].axhline(100 * reference[term], color=line.get_color(), linestyle="-.", linewidth=1)
        if any(term in reference for term in terms):
            axes[2].plot([], [], color="black", linestyle="-.", linewidth=1, label=f"{reference_name} (same colours)")
        axes[2].set_ylabel("foreground IoU (%)")
        axes[2].set_title("each held-out set")
        axes[2].legend(fontsize=8)
    for ax in axes:
        ax.set_xlabel(x_label)
        ax.grid(alpha=0.3)
    pairs = list(enumerate(zip(records, records[1:]), start=1))
    marks = [(i, "--", "warm restart") for i, (a, b) in pairs if a.get("cycle") != b.get("cycle")]
    marks += [(i, ":", "fresh BatchNorm statistics from here") for i, (a, b) in pairs
              if b.get("fresh_bn_statistics") and not a.get("fresh_bn_statistics")]
    labelled = set()
    for index, style, label in marks:  # halfway between the two records
        for ax in axes:
            ax.axvline((xs[index - 1] + xs[index]) / 2, color="grey", linestyle=style, linewidth=1,
                       label=None if label in labelled else label)
        labelled.add(label)
    if marks:
        for ax in axes:
            ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_prediction_grid(rows: Sequence[dict[str, np.ndarray]], path: Path, titles: Sequence[str]) -> None:
    """One row per image: image, predicted mask, true mask, predicted edge, true edge (the paper's figure)."""
    columns = ["image", "predicted mask", "true mask", "predicted edge", "true edge"]
    keys = ["image", "pred_mask", "true_mask", "pred_edge", "true_edge"]
    fig, axes = plt.subplots(len(rows), len(columns), figsize=(2.2 * len(columns), 2.2 * len(rows)), squeeze=False)
    for r, (row, title) in enumerate(zip(rows, titles)):
        for c, key in enumerate(keys):
            ax = axes[r, c]
            ax.imshow(row[key], cmap=None if row[key].ndim == 3 else "gray", vmin=0, vmax=1 if row[key].ndim == 2 else None)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(columns[c], fontsize=9)
            if c == 0:
                ax.set_ylabel(title, fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
