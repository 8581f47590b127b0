"""The one preprocessing path shared by training, evaluation and inference (NumPy and OpenCV only).

An image is scaled so its longer side equals the input size, centred, padded with PAD_VALUE, then normalised.
The input is the size x size square, or with `fit` the image's own shape rounded up to multiples of 32 (a 16:9
webcam frame at 224 runs as 224 x 128, not 224 x 224: the network takes any multiple of 32).
`Letterbox` remembers the placement so a prediction can be mapped back to the original image size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

PAD_VALUE = 128  # grey, in 0..255 before normalisation
MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32) * 255
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32) * 255


@dataclass(frozen=True)
class Letterbox:
    """Where an original (height x width) image sits inside the input_height x input_width input."""

    height: int
    width: int
    input_height: int
    input_width: int
    scale: float
    fitted_height: int
    fitted_width: int
    top: int
    left: int

    @classmethod
    def fit(cls, height: int, width: int, size: int, fit: bool = False) -> "Letterbox":
        """Longer side scaled to `size`; the input is size x size, or with `fit` the fitted image rounded up to
        multiples of 32."""
        if size <= 0 or size % 32:
            raise ValueError(f"input size must be a positive multiple of 32, got {size}")
        scale = size / max(height, width)
        fitted_height = min(size, max(1, round(height * scale)))
        fitted_width = min(size, max(1, round(width * scale)))
        box = cls(height, width, size, size, scale, fitted_height, fitted_width, 0, 0)
        return box.placed(_multiple_of_32(fitted_height), _multiple_of_32(fitted_width)) if fit else \
            box.placed(size, size)

    def placed(self, input_height: int, input_width: int) -> "Letterbox":
        """The same fitted image centred in an input of another shape (a batch's common one)."""
        return Letterbox(self.height, self.width, input_height, input_width, self.scale, self.fitted_height,
                         self.fitted_width, (input_height - self.fitted_height) // 2,
                         (input_width - self.fitted_width) // 2)

    def matrix(self) -> np.ndarray:
        """2x3 affine taking original pixel coordinates to input coordinates (for cv2.warpAffine)."""
        sx = self.fitted_width / self.width
        sy = self.fitted_height / self.height
        # pixel centres map to pixel centres
        return np.array([[sx, 0, self.left + 0.5 * sx - 0.5],
                         [0, sy, self.top + 0.5 * sy - 0.5]], dtype=np.float64)


def resize_image(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Area averaging when shrinking (no aliasing), bilinear when enlarging. A shrink first halves the image by
    2 x 2 means while it is at least three times the size wanted (even sides only): OpenCV's area resize has a fast
    path for exactly 2x and a slow general one, which took 1.7 ms of an 800 x 600 photo's shrink to 224 x 168 (0.75
    ms halved first) and 2.5 ms of a 1280 x 720 frame's. The last step still averages over 1.5 to 3 pixels; the
    result is about a grey level from one direct area resize on average."""
    shrinking = width < image.shape[1] or height < image.shape[0]
    if not shrinking:
        return cv2.resize(image, (width, height), interpolation=cv2.INTER_LINEAR)
    while image.shape[1] >= 3 * width and image.shape[0] >= 3 * height and not (image.shape[0] | image.shape[1]) & 1:
        image = cv2.resize(image, (image.shape[1] // 2, image.shape[0] // 2), interpolation=cv2.INTER_AREA)
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)


def resize_mask(mask: np.ndarray, width: int, height: int) -> np.ndarray:
    """A binary mask resized by area coverage, kept where at least half a pixel is person."""
    soft = resize_image((mask > 0).astype(np.float32), width, height)
    return (soft >= 0.5).astype(np.uint8)


def _multiple_of_32(length: int) -> int:
    return 32 * math.ceil(length / 32)


def pad_to_input(fitted: np.ndarray, box: Letterbox, value: int) -> np.ndarray:
    """The fitted image (or mask) placed in its input: pad around it with `value`."""
    bottom = box.input_height - box.fitted_height - box.top
    right = box.input_width - box.fitted_width - box.left
    return cv2.copyMakeBorder(fitted, box.top, bottom, box.left, right, cv2.BORDER_CONSTANT,
                              value=(value, value, value) if fitted.ndim == 3 else value)


def boxed_image(image: np.ndarray, box: Letterbox) -> np.ndarray:
    """RGB uint8 (H, W, 3) -> the (input_height, input_width, 3) uint8 input its box describes: fitted, placed,
    padded with PAD_VALUE."""
    return pad_to_input(resize_image(image, box.fitted_width, box.fitted_height), box, PAD_VALUE)


def letterbox_image(image: np.ndarray, size: int) -> tuple[np.ndarray, Letterbox]:
    """RGB uint8 (H, W, 3) -> (size, size, 3) uint8, fitted, centred and padded with PAD_VALUE."""
    box = Letterbox.fit(image.shape[0], image.shape[1], size)
    return boxed_image(image, box), box


def letterbox_mask(mask: np.ndarray, size: int) -> np.ndarray:
    """Mask (H, W), any non-zero = person -> (size, size) uint8 in {0, 1}, padded with background."""
    box = Letterbox.fit(mask.shape[0], mask.shape[1], size)
    return pad_to_input(resize_mask(mask, box.fitted_width, box.fitted_height), box, 0)


def normalize(images: np.ndarray) -> np.ndarray:
    """uint8 RGB (H, W, 3) or (B, H, W, 3) -> float32 (3, H, W) or (B, 3, H, W), ImageNet mean and std."""
    scaled = (np.asarray(images, dtype=np.float32) - MEAN) / STD
    return np.ascontiguousarray(np.moveaxis(scaled, -1, -3))


def unletterbox(probability: np.ndarray, box: Letterbox, size: tuple[int, int] | None = None) -> np.ndarray:
    """A map predicted on the letterboxed input -> the original (height, width), or `size` (height,
    width) when the input was a reduced copy of a larger image: one resize, straight to the size wanted."""
    height, width = size or (box.height, box.width)
    inside = probability[box.top:box.top + box.fitted_height, box.left:box.left + box.fitted_width]
    return cv2.resize(np.ascontiguousarray(inside, dtype=np.float32), (width, height),
                      interpolation=cv2.INTER_LINEAR)
