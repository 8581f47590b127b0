"""The robustness benchmark: EG1800's test people in scenes, framings and light the test split does not show.

Built deterministically (a fixed seed per variant and image) from a split's own images at full resolution, so
nothing in it was ever trained on and every run scores the same pictures:
- composite:  each person pasted onto another test image's scene, framed as a portrait;
- zoomed_out: the person small (35-60% of the frame height) and off-centre on another scene;
- lighting:   the photo itself under other light: colour temperature, gamma, brightness, contrast, noise, JPEG;
- landscape:  a 16:9 webcam-like frame (1280x720) of the person on another scene;
- zoomed_in:  the photo itself framed closer, as selfies are (the person 1.15-1.4x larger, the head kept in frame,
              the body cut lower); its scene is the photo's own, so no compositing is involved.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np

from ..training.augment import enhance_brightness, enhance_contrast
from .photometric import colour_temperature, gamma_curve, jpeg_artefacts
from ..training.scenes import Placement, compose, pick_scene, reframe

VARIANTS = ("composite", "zoomed_out", "lighting", "landscape", "zoomed_in")
SCENE_CANDIDATES = 8  # other images a scene is chosen from (the one showing least of its own person)


def relight(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    out = colour_temperature(image, rng.uniform(-0.25, 0.25))
    out = gamma_curve(out, float(np.exp(rng.uniform(np.log(0.6), np.log(1.6)))))
    work = enhance_contrast(enhance_brightness(out.astype(np.float32), rng.uniform(0.6, 1.4)), rng.uniform(0.7, 1.3))
    work = work + rng.normal(0, rng.uniform(0, 6), work.shape).astype(np.float32)
    return jpeg_artefacts(np.clip(work, 0, 255).round().astype(np.uint8), int(rng.integers(30, 80)))


def make_variant(variant: str, index: int, pairs: list[tuple[np.ndarray, np.ndarray]],
                 seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The variant of pair `index`; scenes come from other pairs of the same list."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown robustness variant {variant!r} (known: {', '.join(VARIANTS)})")
    rng = np.random.default_rng([seed, VARIANTS.index(variant), index])
    image, mask = pairs[index]
    if variant == "lighting":
        return relight(image, rng), mask
    if variant == "zoomed_in":
        height = rng.uniform(1.15, 1.4)  # the photo's top stays at or just above the frame's top: the head stays in
        place = Placement(height, 0.5 + rng.uniform(-0.1, 0.1), height * (1 - rng.uniform(0, 0.08)))
        return reframe(image, mask, (image.shape[1], image.shape[0]), place)
    if len(pairs) < 2:
        raise ValueError("composite variants need at least two images")
    others = (index + 1 + rng.choice(len(pairs) - 1, min(SCENE_CANDIDATES, len(pairs) - 1), replace=False)) % len(pairs)
    if variant == "landscape":
        canvas = (1280, 720)
        place = Placement(rng.uniform(0.8, 1.1), rng.uniform(0.35, 0.65), 1.0 + rng.uniform(0, 0.05))
    elif variant == "zoomed_out":
        canvas = (image.shape[1], image.shape[0])
        place = Placement(rng.uniform(0.35, 0.6), rng.choice([-1, 1]) * rng.uniform(0.1, 0.25) + 0.5, 1.0)
    else:
        canvas = (image.shape[1], image.shape[0])
        place = Placement(rng.uniform(0.7, 1.0), rng.uniform(0.4, 0.6), 1.0 + rng.uniform(0, 0.05))
    chosen, zoom, offset, flip = pick_scene([pairs[o][1] for o in others], canvas, rng)
    scene, scene_mask = pairs[others[chosen]]
    return compose(image, mask, scene, scene_mask, canvas, place, scene_zoom=zoom, scene_offset=offset,
                   scene_flip=flip, edge_sigma=1.5)


def variant_pairs(variant: str, pairs: list[tuple[np.ndarray, np.ndarray]],
                  seed: int = 0) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    for index in range(len(pairs)):
        yield make_variant(variant, index, pairs, seed)
