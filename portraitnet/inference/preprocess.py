"""The one preprocessing path shared by training, evaluation and inference (NumPy and OpenCV only).

An image is scaled so its longer side fits the square input, centred, padded with PAD_VALUE, then normalised.
`Letterbox` remembers the placement so a prediction can be mapped back to the original image size.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

PAD_VALUE = 128  # grey, in 0..255 before normalisation
MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32) * 255
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32) * 255


@dataclass(frozen=True)
class Letterbox:
    """Where an original (height x width) image sits inside the size x size input."""

    height: int
    width: int
    size: int
    scale: float
    fitted_height: int
    fitted_width: int
    top: int
    left: int

    @classmethod
    def fit(cls, height: int, width: int, size: int) -> "Letterbox":
        if size <= 0 or size % 32:
            raise ValueError(f"input size must be a positive multiple of 32, got {size}")
        scale = size / max(height, width)
        fitted_height = min(size, max(1, round(height * scale)))
        fitted_width = min(size, max(1, round(width * scale)))
        return cls(height, width, size, scale, fitted_height, fitted_width,
                   (size - fitted_height) // 2, (size - fitted_width) // 2)

    def matrix(self) -> np.ndarray:
        """2x3 affine taking original pixel coordinates to input coordinates (for cv2.warpAffine)."""
        sx = self.fitted_width / self.width
        sy = self.fitted_height / self.height
        # pixel centres map to pixel centres
        return np.array([[sx, 0, self.left + 0.5 * sx - 0.5],
                         [0, sy, self.top + 0.5 * sy - 0.5]], dtype=np.float64)


def resize_image(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Area averaging when shrinking (no aliasing), bilinear when enlarging."""
    shrinking = width < image.shape[1] or height < image.shape[0]
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)


def resize_mask(mask: np.ndarray, width: int, height: int) -> np.ndarray:
    """A binary mask resized by area coverage, kept where at least half a pixel is person."""
    soft = resize_image((mask > 0).astype(np.float32), width, height)
    return (soft >= 0.5).astype(np.uint8)


def pad_to_square(fitted: np.ndarray, box: Letterbox, value: int) -> np.ndarray:
    bottom = box.size - box.fitted_height - box.top
    right = box.size - box.fitted_width - box.left
    return cv2.copyMakeBorder(fitted, box.top, bottom, box.left, right, cv2.BORDER_CONSTANT,
                              value=(value, value, value) if fitted.ndim == 3 else value)


def letterbox_image(image: np.ndarray, size: int) -> tuple[np.ndarray, Letterbox]:
    """RGB uint8 (H, W, 3) -> (size, size, 3) uint8, fitted, centred and padded with PAD_VALUE."""
    box = Letterbox.fit(image.shape[0], image.shape[1], size)
    fitted = resize_image(image, box.fitted_width, box.fitted_height)
    return pad_to_square(fitted, box, PAD_VALUE), box


def letterbox_mask(mask: np.ndarray, size: int) -> np.ndarray:
    """Mask (H, W), any non-zero = person -> (size, size) uint8 in {0, 1}, padded with background."""
    box = Letterbox.fit(mask.shape[0], mask.shape[1], size)
    return pad_to_square(resize_mask(mask, box.fitted_width, box.fitted_height), box, 0)


def normalize(images: np.ndarray) -> np.ndarray:
    """uint8 RGB (H, W, 3) or (B, H, W, 3) -> float32 (3, H, W) or (B, 3, H, W), ImageNet mean and std."""
    scaled = (np.asarray(images, dtype=np.float32) - MEAN) / STD
    return np.ascontiguousarray(np.moveaxis(scaled, -1, -3))


def unletterbox(probability: np.ndarray, box: Letterbox, size: tuple[int, int] | None = None) -> np.ndarray:
    """A (size, size) map predicted on the letterboxed input -> the original (height, width), or `size` (height,
    width) when the input was a reduced copy of a larger image: one resize, straight to the size wanted."""
    height, width = size or (box.height, box.width)
    inside = probability[box.top:box.top + box.fitted_height, box.left:box.left + box.fitted_width]
    return cv2.resize(np.ascontiguousarray(inside, dtype=np.float32), (width, height),
                      interpolation=cv2.INTER_LINEAR)
