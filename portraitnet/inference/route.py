"""The one route of a photo through inference: decode -> letterbox -> run -> map back -> render -> encode.

`segment`, `video`, the server, the benchmark and evaluation all call these functions, so a photo's mask is the
same whichever of them made it and whatever other outputs were asked for beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import cv2
import numpy as np

from . import effects
from .imageio import ImageInput, load_rgb, load_rgb_reduced
from .preprocess import Letterbox, boxed_image, normalize, unletterbox
from .refine import Refinement, grey, refined

FORMATS = ("mask", "cutout", "blur", "replace")
SUFFIXES = {"mask": ".png", "cutout": ".png", "blur": ".jpg", "replace": ".jpg"}  # a format's own file type
JPEG_QUALITY = 92
PNG_COMPRESSION = 1  # fast; masks and cut-outs stay lossless either way

Background = np.ndarray | tuple[int, int, int]
Model = Callable[[np.ndarray], np.ndarray]  # normalised (B, 3, H, W) float32 -> person probability (B, H, W)


def check_formats(formats: Sequence[str]) -> list[str]:
    """The formats asked for, each once, in order; an unknown one is refused by name."""
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise ValueError(f"unknown format {', '.join(map(repr, unknown)) or '(none)'}: "
                         f"choose from {', '.join(FORMATS)}")
    return list(dict.fromkeys(formats))


@dataclass(frozen=True)
class Look:
    """How the outputs are drawn from the probability: a hard mask at `threshold` (None: soft), the blur's sigma as a
    fraction of the longer side, the replacement background (an RGB image or an (r, g, b) colour), and whether only
    the main (largest) person region is kept."""

    threshold: float | None = None
    blur_strength: float = 0.03
    background: Background | None = None
    main_person: bool = False

    def __post_init__(self) -> None:
        if self.threshold is not None and not 0 < self.threshold < 1:
            raise ValueError(f"threshold must be between 0 and 1 (a probability), got {self.threshold}")
        if not self.blur_strength > 0:
            raise ValueError(f"blur strength must be positive, got {self.blur_strength}")


# --- decode ---

def model_view(source: ImageInput, input_size: int, max_pixels: int | None,
               name: str | None = None) -> tuple[np.ndarray, tuple[int, int]]:
    """The photo as the model needs it, and the (height, width) the probability must have. A JPEG file or bytes
    decodes at a reduced scale (libjpeg's DCT scaling, several times faster) that keeps at least twice the input
    side, which the letterbox then shrinks anyway; arrays and PIL images are used as they are."""
    return load_rgb_reduced(source, 2 * input_size, max_pixels, name)


# --- letterbox, run, map back ---

def prepare_batch(rgbs: Sequence[np.ndarray], input_size: int,
                  fit: bool = False) -> tuple[np.ndarray, list[Letterbox]]:
    """RGB uint8 images of any sizes -> the normalised (B, 3, H, W) float32 batch every model here is fed: the
    S x S square, or with `fit` the smallest multiple-of-32 shape that holds every image fitted to S (a batch of
    16:9 frames at 224 runs as 224 x 128)."""
    boxes = [Letterbox.fit(rgb.shape[0], rgb.shape[1], input_size, fit) for rgb in rgbs]
    height, width = max(box.input_height for box in boxes), max(box.input_width for box in boxes)
    boxes = [box.placed(height, width) for box in boxes]
    return normalize(np.stack([boxed_image(rgb, box) for rgb, box in zip(rgbs, boxes)])), boxes


def map_back(probabilities: np.ndarray | Sequence[np.ndarray], boxes: Sequence[Letterbox],
             sizes: Sequence[tuple[int, int] | None] | None = None, rgbs: Sequence[np.ndarray] | None = None,
             refinement: Refinement | None = None) -> list[np.ndarray]:
    """Each probability cut out of its letterbox and brought to its image's (height, width), or to `sizes`: with a
    refinement, its edges moved onto those of its photo (`rgbs`), else resized bilinearly."""
    sizes = sizes or [None] * len(boxes)
    if refinement is None:
        return [unletterbox(p, box, size) for p, box, size in zip(probabilities, boxes, sizes)]
    if rgbs is None:
        raise ValueError("the refinement needs the photos")
    return [refined(p, box, grey(rgb), refinement, size)
            for p, box, size, rgb in zip(probabilities, boxes, sizes, rgbs)]


def predict(model: Model, rgbs: Sequence[np.ndarray], input_size: int,
            sizes: Sequence[tuple[int, int] | None] | None = None, fit: bool = False,
            refinement: Refinement | None = None) -> list[np.ndarray]:
    """Letterbox, run, map back: float32 probabilities at each image's size (or at `sizes`), refined on the photo
    when a refinement is given. One forward pass per input shape: with `fit`, portrait photos and landscape frames
    of one batch run apart, each at its own shape, not padded to a common one."""
    sizes = sizes or [None] * len(rgbs)
    groups: dict[tuple[int, int], list[int]] = {}
    for index, rgb in enumerate(rgbs):
        box = Letterbox.fit(rgb.shape[0], rgb.shape[1], input_size, fit)
        groups.setdefault((box.input_height, box.input_width), []).append(index)
    probabilities: list[np.ndarray] = [np.empty(0)] * len(rgbs)
    for members in groups.values():
        batch, boxes = prepare_batch([rgbs[i] for i in members], input_size, fit)
        mapped = map_back(model(batch), boxes, [sizes[i] for i in members], [rgbs[i] for i in members], refinement)
        for index, probability in zip(members, mapped):
            probabilities[index] = probability
    return probabilities


# --- render, encode ---

def render(fmt: str, rgb: np.ndarray | None, probability: np.ndarray, look: Look = Look()) -> np.ndarray:
    """One format's uint8 array: a grey mask, an RGBA cut-out, or an RGB effect (the effects need the photo)."""
    if look.main_person:
        probability = effects.keep_main_person(probability)
    if look.threshold is not None:
        probability = (probability >= look.threshold).astype(np.float32)
    if fmt == "mask":
        return (probability * 255).round().astype(np.uint8)
    if rgb is None:
        raise ValueError(f"the {fmt} format needs the photo")
    if fmt == "cutout":
        return effects.cutout(rgb, probability)
    if fmt == "blur":
        return effects.blur_background(rgb, probability, look.blur_strength)
    if fmt == "replace":
        if look.background is None:
            raise ValueError("the replace format needs a background image or colour")
        return effects.replace_background(rgb, probability, look.background)
    raise ValueError(f"unknown format {fmt!r}: choose from {', '.join(FORMATS)}")


def encode(array: np.ndarray, suffix: str) -> bytes:
    """PNG (grey, RGB or RGBA) or JPEG (RGB) bytes of an RGB-ordered array; suffix '.png' or '.jpg'."""
    if array.ndim == 3:
        array = cv2.cvtColor(array, cv2.COLOR_RGBA2BGRA if array.shape[2] == 4 else cv2.COLOR_RGB2BGR)
    params = [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY] if suffix == ".jpg" else [cv2.IMWRITE_PNG_COMPRESSION,
                                                                                  PNG_COMPRESSION]
    ok, data = cv2.imencode(suffix, array, params)
    if not ok:
        raise ValueError(f"could not encode {suffix}")
    return data.tobytes()


def outputs(source: ImageInput, probability: np.ndarray, formats: Sequence[str], look: Look = Look(),
            max_pixels: int | None = None, name: str | None = None,
            suffixes: dict[str, str] | None = None) -> dict[str, bytes]:
    """Every requested format of one photo, encoded; the full-size photo is decoded only when an effect needs it.
    `suffixes` overrides a format's file type (the server's PNG blur, say)."""
    rgb = load_rgb(source, max_pixels, name) if set(formats) - {"mask"} else None
    types = {**SUFFIXES, **(suffixes or {})}
    return {fmt: encode(render(fmt, rgb, probability, look), types[fmt]) for fmt in formats}
