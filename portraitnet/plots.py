"""Figures: training curves and the paper-style prediction grid (matplotlib, drawn off-screen)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

LOSS_TERMS = ("loss", "ce", "ce_textured", "edge", "consistency")


def plot_curves(records: list[dict[str, Any]], path: Path) -> None:
    """Loss terms (log scale) and validation IoU per epoch, side by side."""
    if not records:
        return
    epochs = [r["epoch"] for r in records]
    fig, (ax_loss, ax_iou) = plt.subplots(1, 2, figsize=(11, 4))
    for term in LOSS_TERMS:
        if term in records[0]:
            ax_loss.plot(epochs, [r[term] for r in records], label=term)
    ax_loss.set_yscale("log")
    ax_loss.set_xlabel("epoch")
    ax_loss.set_title("training loss terms")
    ax_loss.legend()
    ax_iou.plot(epochs, [100 * r["val_iou"] for r in records], label="validation IoU")
    ax_iou.set_xlabel("epoch")
    ax_iou.set_ylabel("foreground IoU (%)")
    ax_iou.set_title(f"best {100 * max(r['val_iou'] for r in records):.2f}")
    ax_iou.grid(alpha=0.3)
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
