"""Edge-aware refinement: the network's coarse probability made to follow the photo's own edges.

A fast guided filter (He and Sun, 2015): at the network's resolution, fit the probability locally as a linear
function of the photo's grey level (a * grey + b in every window of the given radius), then upsample the
coefficients and apply them to the photo at full size. Where the photo has an edge (hair against sky, a collar
against a wall) the mask's edge moves onto it; where the photo is flat the mask's edge stays where the network
put it.
The coefficients are computed on the fitted part of the letterboxed input only, never on the grey padding.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .preprocess import Letterbox, resize_image


@dataclass(frozen=True)
class Refinement:
    """The guided filter's settings, in pixels of the network's input and grey levels in 0..1. Chosen on held-out
    data (`benchmarks/refinement.py`, docs/results.md)."""

    radius: int = 2
    eps: float = 1e-3

    def __post_init__(self) -> None:
        if self.radius < 1 or not self.eps > 0:
            raise ValueError(f"refinement needs a radius of at least 1 and a positive eps, got {self}")


def grey(rgb: np.ndarray) -> np.ndarray:
    """uint8 (H, W) luma of an RGB uint8 photo (the guide)."""
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)


def _mean(image: np.ndarray, radius: int) -> np.ndarray:
    return cv2.boxFilter(image, cv2.CV_32F, (2 * radius + 1, 2 * radius + 1), borderType=cv2.BORDER_REFLECT)


def coefficients(probability: np.ndarray, guide: np.ndarray, refinement: Refinement) -> tuple[np.ndarray, np.ndarray]:
    """The local linear fit probability ~ a * guide + b (both float32 (h, w), guide in 0..1), averaged over each
    pixel's windows, at the network's resolution."""
    r = refinement.radius
    mean_guide, mean_p = _mean(guide, r), _mean(probability, r)
    covariance = _mean(guide * probability, r) - mean_guide * mean_p
    variance = _mean(guide * guide, r) - mean_guide * mean_guide
    a = covariance / (variance + refinement.eps)
    b = mean_p - a * mean_guide
    return _mean(a, r), _mean(b, r)


def refined(probability: np.ndarray, box: Letterbox, photo_grey: np.ndarray, refinement: Refinement,
            size: tuple[int, int] | None = None) -> np.ndarray:
    """A probability predicted on the letterboxed input -> float32 (H, W) at the photo's size (or `size`), its
    edges on the photo's. `photo_grey` is the photo (or the reduced copy the model saw) as uint8 grey."""
    inside = probability[box.top:box.top + box.fitted_height, box.left:box.left + box.fitted_width]
    guide_small = resize_image(photo_grey, box.fitted_width, box.fitted_height).astype(np.float32) / 255
    a, b = coefficients(np.ascontiguousarray(inside, dtype=np.float32), guide_small, refinement)
    height, width = photo_grey.shape  # at full size, OpenCV's calls only: numpy's would take several times longer
    a = cv2.resize(a * np.float32(1 / 255), (width, height), interpolation=cv2.INTER_LINEAR)
    result = cv2.multiply(a, photo_grey, dtype=cv2.CV_32F)
    cv2.add(result, cv2.resize(b, (width, height), interpolation=cv2.INTER_LINEAR), result)
    cv2.threshold(result, 1, 1, cv2.THRESH_TRUNC, result)
    cv2.max(result, 0, result)
    if size is not None and size != (height, width):
        result = cv2.resize(result, (size[1], size[0]), interpolation=cv2.INTER_LINEAR)
    return result
