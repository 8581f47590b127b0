"""Figures: training curves and the paper-style prediction grid (matplotlib, drawn off-screen)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

LOSS_TERMS = ("loss", "ce", "ce_textured", "edge", "consistency", "iou")


def plot_curves(records: list[dict[str, Any]], path: Path) -> None:
    """Loss terms (log scale) and validation IoU per epoch, side by side; dashed lines where a record's "cycle"
    changes (a run warm-started from the previous one's model)."""
    if not records:
        return
    epochs = [r["epoch"] for r in records]
    fig, (ax_loss, ax_iou) = plt.subplots(1, 2, figsize=(11, 4))
    for term in LOSS_TERMS:  # a term a run had off (or a lineage's earlier runs lacked) leaves a gap
        if any(term in r for r in records):
            ax_loss.plot(epochs, [r.get(term, np.nan) for r in records], label=term)
    ax_loss.set_yscale("log")
    ax_loss.set_xlabel("epoch")
    ax_loss.set_title("training loss terms")
    ax_loss.legend()
    ious = [100 * r["val_iou"] for r in records]
    ax_iou.plot(epochs, ious, label="validation IoU")
    if len(ious) >= 20:  # the late epochs are what matters: let the first ones leave the plot
        ax_iou.set_ylim(max(0.0, float(np.percentile(ious, 10)) - 1), max(ious) + 0.5)
    ax_iou.set_xlabel("epoch")
    ax_iou.set_ylabel("foreground IoU (%)")
    ax_iou.set_title(f"best {max(ious):.2f}")
    ax_iou.grid(alpha=0.3)
    restarts = [b["epoch"] - 0.5 for a, b in zip(records, records[1:]) if a.get("cycle") != b.get("cycle")]
    for i, x in enumerate(restarts):  # a warm start from an earlier run's model: the schedule starts again
        for ax in (ax_loss, ax_iou):
            ax.axvline(x, color="grey", linestyle="--", linewidth=1, label="warm restart" if i == 0 else None)
    if restarts:
        ax_loss.legend()
        ax_iou.legend()
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
