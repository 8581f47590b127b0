"""The paper's augmentation, with the official code's ranges.

Deformation moves image and mask together (one affine warp); texture changes touch the image only and make the
second input A' of the consistency loss. Every function takes a NumPy Generator, so a sample's augmentation is
fixed by (seed, epoch, index) and a resumed run sees exactly the same data.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..inference.preprocess import PAD_VALUE


@dataclass(frozen=True)
class DeformationRanges:
    rotation_degrees: float = 45.0
    scale_min: float = 0.5
    scale_max: float = 1.5
    shift: float = 0.25  # fraction of the input side
    flip_probability: float = 0.5


def deformation_matrix(fitted_height: int, fitted_width: int, size: int, angle: float, scale: float,
                       shift_x: float, shift_y: float, flip: bool) -> np.ndarray:
    """2x3 affine: the fitted image's centre goes to the square's centre plus the shift, then rotate and scale."""
    cx, cy = (fitted_width - 1) / 2, (fitted_height - 1) / 2
    theta = np.deg2rad(angle)
    cos, sin = np.cos(theta) * scale, np.sin(theta) * scale
    linear = np.array([[cos, sin], [-sin, cos]])
    if flip:
        linear = linear @ np.array([[-1.0, 0.0], [0.0, 1.0]])
    target = np.array([(size - 1) / 2 + shift_x * size, (size - 1) / 2 + shift_y * size])
    offset = target - linear @ np.array([cx, cy])
    return np.hstack([linear, offset[:, None]])


def warp_pair(image: np.ndarray, mask: np.ndarray, matrix: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Bilinear for the image, nearest for the mask; the border is the pad value (image) and background (mask)."""
    warped_image = cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_LINEAR,
                                  borderMode=cv2.BORDER_CONSTANT, borderValue=(PAD_VALUE,) * 3)
    warped_mask = cv2.warpAffine(mask, matrix, (size, size), flags=cv2.INTER_NEAREST,
                                 borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return warped_image, warped_mask


def random_deformation(image: np.ndarray, mask: np.ndarray, size: int, rng: np.random.Generator,
                       ranges: DeformationRanges = DeformationRanges()) -> tuple[np.ndarray, np.ndarray]:
    """Image and mask already fitted to the input size (longer side = size) -> deformed size x size pair."""
    matrix = deformation_matrix(
        image.shape[0], image.shape[1], size,
        angle=rng.uniform(-ranges.rotation_degrees, ranges.rotation_degrees),
        scale=rng.uniform(ranges.scale_min, ranges.scale_max),
        shift_x=rng.uniform(-ranges.shift, ranges.shift),
        shift_y=rng.uniform(-ranges.shift, ranges.shift),
        flip=bool(rng.random() < ranges.flip_probability),
    )
    return warp_pair(image, mask, matrix, size)


# --- texture: PIL ImageEnhance semantics (blend towards a degenerate image), done in float32 with OpenCV ---

def _blend(degenerate: np.ndarray, image: np.ndarray, factor: float) -> np.ndarray:
    return degenerate + factor * (image - degenerate)


def _grey(image: np.ndarray) -> np.ndarray:
    return image @ np.array([0.299, 0.587, 0.114], dtype=np.float32)


def enhance_colour(image: np.ndarray, factor: float) -> np.ndarray:
    return _blend(_grey(image)[..., None], image, factor)


def enhance_brightness(image: np.ndarray, factor: float) -> np.ndarray:
    return image * factor


def enhance_contrast(image: np.ndarray, factor: float) -> np.ndarray:
    return _blend(np.float32(round(float(_grey(image).mean()))), image, factor)


_SMOOTH = np.array([[1, 1, 1], [1, 5, 1], [1, 1, 1]], dtype=np.float32) / 13


def enhance_sharpness(image: np.ndarray, factor: float) -> np.ndarray:
    return _blend(cv2.filter2D(image, -1, _SMOOTH, borderType=cv2.BORDER_REPLICATE), image, factor)


def random_blur(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    kernel = int(rng.choice([3, 5]))
    kind = int(rng.integers(3))
    if kind == 0:
        return cv2.GaussianBlur(image, (kernel, kernel), 0)
    if kind == 1:
        return cv2.medianBlur(image, kernel)
    return cv2.blur(image, (kernel, kernel))


def random_texture(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A' of the consistency loss: enhancements (p=0.5), a blur (p=0.5), Gaussian noise (p=0.5). uint8 in/out."""
    out = image
    if rng.random() < 0.5:
        work = image.astype(np.float32)
        work = enhance_colour(work, rng.uniform(0.4, 1.6))
        work = enhance_brightness(work, rng.uniform(0.4, 1.6))
        work = enhance_contrast(work, rng.uniform(0.6, 1.4))
        work = enhance_sharpness(work, rng.uniform(0.8, 1.2))
        out = np.clip(work, 0, 255).round().astype(np.uint8)
    if rng.random() < 0.5:
        out = random_blur(out, rng)
    if rng.random() < 0.5:
        sigma = rng.uniform(0, 10)
        noisy = out.astype(np.float32) + rng.normal(0, sigma, out.shape).astype(np.float32)
        out = np.clip(noisy, 0, 255).round().astype(np.uint8)
    return out
