"""Our photometric changes beyond the paper's texture set: light colour, tone curve, compression, camera motion.

Used on the texture copy A' when `photometric_probability` > 0, and by the robustness benchmark's lighting variants.
"""

from __future__ import annotations

import cv2
import numpy as np


def colour_temperature(image: np.ndarray, shift: float) -> np.ndarray:
    """shift > 0 warms (more red, less blue), < 0 cools; +-0.3 spans candle-light to shade."""
    gains = np.array([1 + shift, 1.0, 1 - shift], dtype=np.float32)
    return np.clip(image.astype(np.float32) * gains, 0, 255).round().astype(np.uint8)


def gamma_curve(image: np.ndarray, gamma: float) -> np.ndarray:
    table = (255 * (np.arange(256) / 255) ** gamma).round().astype(np.uint8)
    return cv2.LUT(image, table)


def jpeg_artefacts(image: np.ndarray, quality: int) -> np.ndarray:
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    return cv2.imdecode(encoded, cv2.IMREAD_UNCHANGED) if ok else image


def motion_blur(image: np.ndarray, length: int, angle: float) -> np.ndarray:
    """A straight streak of `length` px at `angle` degrees, as a moving webcam subject leaves."""
    kernel = np.zeros((length, length), np.float32)
    kernel[length // 2, :] = 1
    rotation = cv2.getRotationMatrix2D(((length - 1) / 2, (length - 1) / 2), angle, 1.0)
    kernel = cv2.warpAffine(kernel, rotation, (length, length))
    return cv2.filter2D(image, -1, kernel / max(kernel.sum(), 1e-6))


def random_photometric(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Colour temperature (p=0.4), gamma (p=0.4), motion blur (p=0.2), JPEG artefacts (p=0.3). uint8 in/out."""
    out = image
    if rng.random() < 0.4:
        out = colour_temperature(out, rng.uniform(-0.3, 0.3))
    if rng.random() < 0.4:
        out = gamma_curve(out, float(np.exp(rng.uniform(np.log(0.5), np.log(2.0)))))
    if rng.random() < 0.2:
        out = motion_blur(out, int(rng.integers(3, 10)), rng.uniform(0, 180))
    if rng.random() < 0.3:
        out = jpeg_artefacts(out, int(rng.integers(15, 80)))
    return out
