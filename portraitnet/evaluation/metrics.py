"""Segmentation metrics on binary masks (any non-zero value = person)."""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np


def foreground_iou(pred: np.ndarray, true: np.ndarray) -> float:
    """|P and T| / |P or T| of the person class; 1.0 when both masks are empty (nothing to find, nothing found)."""
    pred, true = pred > 0, true > 0
    union = np.logical_or(pred, true).sum()
    if union == 0:
        return 1.0
    return float(np.logical_and(pred, true).sum() / union)


def boundary(mask: np.ndarray) -> np.ndarray:
    """One-pixel inner boundary: mask pixels with a 4-neighbour outside the mask (image borders count as outside)."""
    mask = (mask > 0).astype(np.uint8)
    padded = np.pad(mask, 1)
    eroded = cv2.erode(padded, np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]], np.uint8))[1:-1, 1:-1]
    return mask.astype(bool) & ~eroded.astype(bool)


def boundary_f_score(pred: np.ndarray, true: np.ndarray, tolerance: float = 3.0) -> float:
    """F-score of boundary pixels: a predicted boundary pixel is right within `tolerance` px of the true boundary,
    a true one is found within `tolerance` px of the predicted boundary. 1.0 when both have no boundary."""
    pred_b, true_b = boundary(pred), boundary(true)
    if not pred_b.any() and not true_b.any():
        return 1.0
    if not pred_b.any() or not true_b.any():
        return 0.0
    # distance of every pixel to the nearest boundary pixel
    dist_to_true = cv2.distanceTransform((~true_b).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    dist_to_pred = cv2.distanceTransform((~pred_b).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    precision = float((dist_to_true[pred_b] <= tolerance).mean())
    recall = float((dist_to_pred[true_b] <= tolerance).mean())
    if precision + recall == 0:
        return 0.0
    return 2 * precision * recall / (precision + recall)


@dataclass
class DatasetIoU:
    """Two-class mIoU over a whole dataset (PaddleSeg / SINet style): pixels pooled, then IoU per class, then mean."""

    intersection: np.ndarray = field(default_factory=lambda: np.zeros(2, np.int64))
    union: np.ndarray = field(default_factory=lambda: np.zeros(2, np.int64))

    def update(self, pred: np.ndarray, true: np.ndarray) -> None:
        pred, true = pred > 0, true > 0
        for cls, (p, t) in enumerate(((~pred, ~true), (pred, true))):
            self.intersection[cls] += np.logical_and(p, t).sum()
            self.union[cls] += np.logical_or(p, t).sum()

    def per_class(self) -> np.ndarray:
        return self.intersection / np.maximum(self.union, 1)

    def mean(self) -> float:
        return float(self.per_class().mean())
