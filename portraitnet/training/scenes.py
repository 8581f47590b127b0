"""Scenes EG1800 does not show: a person pasted onto another photo's scene, framed wider, tighter, off-centre,
or in a landscape frame. Labels stay exact: the pasted person plus what remains visible of the scene's own person.

Works at any resolution: training composes on a canvas that fits the input square; the robustness benchmark
composes full-size test images.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..inference.preprocess import PAD_VALUE

ASPECT_RATIOS = (16 / 9, 4 / 3, 1.0, 3 / 4, 9 / 16)  # width / height


@dataclass(frozen=True)
class Placement:
    """Where the person layer goes on the canvas.

    height_fraction: the person photo's height as a fraction of the canvas height (0.35 = zoomed far out,
    1.3 = zoomed in so part of the head or shoulders leaves the frame); centre_x: the photo's centre as a
    fraction of the canvas width; bottom: where the photo's bottom edge lands, as a fraction of the canvas
    height (1.0 = on the bottom edge, as head-and-shoulders portraits are cut; more = cut lower).
    """

    height_fraction: float
    centre_x: float
    bottom: float
    angle: float = 0.0
    flip: bool = False


def canvas_size(aspect: float, longest: int) -> tuple[int, int]:
    """(width, height) with the given width/height ratio and the longer side `longest`."""
    if aspect >= 1:
        return longest, max(1, round(longest / aspect))
    return max(1, round(longest * aspect)), longest


def person_matrix(height: int, width: int, canvas: tuple[int, int], place: Placement) -> np.ndarray:
    """2x3 affine from the person photo to the canvas for a placement (rotation about the photo's centre)."""
    canvas_w, canvas_h = canvas
    scale = place.height_fraction * canvas_h / height
    theta = np.deg2rad(place.angle)
    linear = scale * np.array([[np.cos(theta), np.sin(theta)], [-np.sin(theta), np.cos(theta)]])
    if place.flip:
        linear = linear @ np.array([[-1.0, 0.0], [0.0, 1.0]])
    centre = np.array([(width - 1) / 2, (height - 1) / 2])
    target = np.array([place.centre_x * canvas_w, place.bottom * canvas_h - scale * height / 2])
    return np.hstack([linear, (target - linear @ centre)[:, None]])


def cover_matrix(height: int, width: int, canvas: tuple[int, int], zoom: float, offset_x: float,
                 offset_y: float, flip: bool) -> np.ndarray:
    """2x3 affine that scales a scene to cover the canvas (times zoom >= 1) and picks the visible window;
    offsets in [0, 1] slide the window across the overflow."""
    canvas_w, canvas_h = canvas
    scale = max(canvas_w / width, canvas_h / height) * zoom
    sx = -scale if flip else scale
    tx = -(width * scale - canvas_w) * offset_x + (width * scale - 1 if flip else 0)
    ty = -(height * scale - canvas_h) * offset_y
    return np.array([[sx, 0, tx], [0, scale, ty]], dtype=np.float64)


def soft_alpha(mask: np.ndarray, sigma: float) -> np.ndarray:
    """The paste's alpha: the mask with its edge blurred by sigma px, so the seam is not a give-away."""
    alpha = mask.astype(np.float32)
    if sigma > 0:
        alpha = cv2.GaussianBlur(alpha, (0, 0), sigma)
    return alpha


def compose(person: np.ndarray, person_mask: np.ndarray, scene: np.ndarray, scene_mask: np.ndarray,
            canvas: tuple[int, int], place: Placement, scene_zoom: float = 1.0, scene_offset: tuple[float, float] = (0.5, 0.5),
            scene_flip: bool = False, edge_sigma: float = 0.8) -> tuple[np.ndarray, np.ndarray]:
    """Paste the person of `person` onto `scene` (covering the canvas); returns the image and its exact mask
    (the masks may be 0/1 or person probabilities; the result is of their kind)."""
    person_warp = person_matrix(person.shape[0], person.shape[1], canvas, place)
    pasted = cv2.warpAffine(person, person_warp, canvas, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    pasted_mask = cv2.warpAffine(person_mask, person_warp, canvas, flags=cv2.INTER_NEAREST,
                                 borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    scene_warp = cover_matrix(scene.shape[0], scene.shape[1], canvas, scene_zoom, *scene_offset, scene_flip)
    background = cv2.warpAffine(scene, scene_warp, canvas, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    background_mask = cv2.warpAffine(scene_mask, scene_warp, canvas, flags=cv2.INTER_NEAREST,
                                     borderMode=cv2.BORDER_REFLECT)
    alpha = soft_alpha(pasted_mask, edge_sigma)[..., None]
    image = (alpha * pasted + (1 - alpha) * background).round().astype(np.uint8)
    return image, np.maximum(pasted_mask, background_mask)  # the union; probabilities (soft targets) stay so


def reframe(image: np.ndarray, mask: np.ndarray, canvas: tuple[int, int], place: Placement,
            fill: int = PAD_VALUE) -> tuple[np.ndarray, np.ndarray]:
    """The photo itself moved and scaled in a new frame (no other scene): uncovered canvas is `fill` grey."""
    warp = person_matrix(image.shape[0], image.shape[1], canvas, place)
    out = cv2.warpAffine(image, warp, canvas, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                         borderValue=(fill,) * 3)
    out_mask = cv2.warpAffine(mask, warp, canvas, flags=cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT,
                              borderValue=0)
    return out, out_mask


@dataclass(frozen=True)
class FramingRanges:
    """The training distribution of placements (the robustness benchmark draws from its own, fixed ones)."""

    height_min: float = 0.35
    height_max: float = 1.3
    centre_x_spread: float = 0.3  # centre in 0.5 +- spread
    bottom_anchored_probability: float = 0.75
    rotation_degrees: float = 15.0


def random_placement(rng: np.random.Generator, ranges: FramingRanges = FramingRanges()) -> Placement:
    height = float(np.exp(rng.uniform(np.log(ranges.height_min), np.log(ranges.height_max))))
    if rng.random() < ranges.bottom_anchored_probability:
        bottom = 1.0 + rng.uniform(0.0, 0.15) * height
    else:
        bottom = rng.uniform(0.4, 0.9) + height / 2
    return Placement(height_fraction=height, centre_x=0.5 + rng.uniform(-1, 1) * ranges.centre_x_spread,
                     bottom=bottom, angle=rng.uniform(-1, 1) * ranges.rotation_degrees, flip=bool(rng.random() < 0.5))


def random_scene(person: np.ndarray, person_mask: np.ndarray, scenes: list[tuple[np.ndarray, np.ndarray]],
                 longest: int, aspect: float, rng: np.random.Generator,
                 ranges: FramingRanges = FramingRanges()) -> tuple[np.ndarray, np.ndarray]:
    """A training composite on a canvas of the given aspect whose longer side is `longest`, on the best of the
    candidate scenes (see pick_scene)."""
    canvas = canvas_size(aspect, longest)
    index, zoom, offset, flip = pick_scene([mask for _, mask in scenes], canvas, rng)
    scene, scene_mask = scenes[index]
    return compose(person, person_mask, scene, scene_mask, canvas, random_placement(rng, ranges),
                   scene_zoom=zoom, scene_offset=offset, scene_flip=flip, edge_sigma=float(rng.uniform(0.4, 1.2)))


def pick_scene(scene_masks: list[np.ndarray], canvas: tuple[int, int], rng: np.random.Generator,
               windows_per_scene: int = 4, max_zoom: float = 3.0) -> tuple[int, float, tuple[float, float], bool]:
    """(scene index, zoom, offset, flip): of a few random windows into each candidate scene, the one showing the
    least of that scene's own person. EG1800 scenes are mostly their person; this way a composite shows real
    background rather than a crowd."""
    small = max(1.0, max(canvas) / 128)  # judge on a small canvas: nearly the same choice, far cheaper
    small_canvas = (max(1, round(canvas[0] / small)), max(1, round(canvas[1] / small)))
    candidates = [(index, float(rng.uniform(1.0, max_zoom)), (float(rng.random()), float(rng.random())),
                   bool(rng.random() < 0.5))
                  for index in range(len(scene_masks)) for _ in range(windows_per_scene)]
    return min(candidates, key=lambda c: person_fraction(scene_masks[c[0]], small_canvas, *c[1:]))


def person_fraction(scene_mask: np.ndarray, canvas: tuple[int, int], zoom: float, offset: tuple[float, float],
                    flip: bool) -> float:
    """How much of the canvas the scene's own person would cover through this window."""
    warp = cover_matrix(scene_mask.shape[0], scene_mask.shape[1], canvas, zoom, *offset, flip)
    return float(cv2.warpAffine(scene_mask, warp, canvas, flags=cv2.INTER_NEAREST,
                                borderMode=cv2.BORDER_REFLECT).mean())
