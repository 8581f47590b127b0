"""Background effects from an RGB image and the person probability (both at the image's size)."""

from __future__ import annotations

import cv2
import numpy as np


def _alpha(probability: np.ndarray, image: np.ndarray) -> np.ndarray:
    if probability.shape != image.shape[:2]:
        raise ValueError(f"probability {probability.shape} does not match the image {image.shape[:2]}")
    return probability.astype(np.float32)[..., None].clip(0, 1)


def cutout(image: np.ndarray, probability: np.ndarray) -> np.ndarray:
    """RGBA uint8: the image with the person probability as its alpha."""
    alpha = (_alpha(probability, image) * 255).round().astype(np.uint8)
    return np.concatenate([image, alpha], axis=2)


def blend(foreground: np.ndarray, background: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    mixed = alpha * foreground.astype(np.float32) + (1 - alpha) * background.astype(np.float32)
    return mixed.round().astype(np.uint8)


def blur_background(image: np.ndarray, probability: np.ndarray, strength: float = 0.03) -> np.ndarray:
    """The background blurred with a Gaussian of sigma = strength x the longer side; the person kept sharp."""
    sigma = max(1.0, strength * max(image.shape[:2]))
    # blur a small copy and scale it back up: the same look at a fraction of the cost for large sigmas
    factor = max(1, int(sigma // 4))
    small = cv2.resize(image, (max(1, image.shape[1] // factor), max(1, image.shape[0] // factor)),
                       interpolation=cv2.INTER_AREA)
    blurred = cv2.GaussianBlur(small, (0, 0), sigma / factor)
    blurred = cv2.resize(blurred, (image.shape[1], image.shape[0]), interpolation=cv2.INTER_LINEAR)
    return blend(image, blurred, _alpha(probability, image))


def parse_colour(text: str) -> tuple[int, int, int]:
    """An (r, g, b) colour from '#00ff00', '00ff00', '0,255,0' or one of a few names."""
    named = {"white": (255, 255, 255), "black": (0, 0, 0), "green": (0, 177, 64), "blue": (0, 71, 187),
             "red": (220, 30, 30), "grey": (128, 128, 128), "gray": (128, 128, 128)}
    value = text.strip().lower()
    if value in named:
        return named[value]
    if "," in value:
        parts = value.split(",")
        if len(parts) == 3 and all(p.strip().isdigit() and int(p) <= 255 for p in parts):
            return tuple(int(p) for p in parts)  # type: ignore[return-value]
    hex_digits = value.lstrip("#")
    if len(hex_digits) == 6 and all(c in "0123456789abcdef" for c in hex_digits):
        return tuple(int(hex_digits[i:i + 2], 16) for i in (0, 2, 4))  # type: ignore[return-value]
    raise ValueError(f"{text!r} is not a colour: use #rrggbb, r,g,b or one of {', '.join(named)}")


def cover(background: np.ndarray, width: int, height: int) -> np.ndarray:
    """Scale a background to cover width x height and crop the centre."""
    scale = max(width / background.shape[1], height / background.shape[0])
    resized = cv2.resize(background, (max(width, round(background.shape[1] * scale)),
                                      max(height, round(background.shape[0] * scale))),
                         interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    top = (resized.shape[0] - height) // 2
    left = (resized.shape[1] - width) // 2
    return resized[top:top + height, left:left + width]


def replace_background(image: np.ndarray, probability: np.ndarray,
                       background: np.ndarray | tuple[int, int, int]) -> np.ndarray:
    """The person over a new background: an RGB image (scaled to cover, centred) or an (r, g, b) colour."""
    if isinstance(background, np.ndarray):
        new = cover(background, image.shape[1], image.shape[0])
    else:
        new = np.empty_like(image)
        new[:] = np.array(background, dtype=np.uint8)
    return blend(image, new, _alpha(probability, image))


def keep_main_person(probability: np.ndarray) -> np.ndarray:
    """The probability with every person region but the largest set to 0 (for the subject, not the crowd behind).

    Regions are the connected parts of probability >= 0.5; the soft edge around the kept region (a band of about 2%
    of the longer side) keeps its values."""
    regions, labels, stats, _ = cv2.connectedComponentsWithStats((probability >= 0.5).astype(np.uint8), 8)
    if regions <= 2:  # background and at most one region
        return probability
    main = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    band = max(3, round(0.02 * max(probability.shape)) | 1)
    keep = cv2.dilate((labels == main).astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (band, band)))
    return probability * keep
