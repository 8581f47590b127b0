"""Photometric changes for the robustness benchmark's lighting variants: light colour, tone curve, compression."""

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
