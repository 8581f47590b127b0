"""Training and evaluation datasets: decode and fit every image once, then augment from memory.

Each item is drawn with a generator seeded by (seed, epoch, index), so augmentation is reproducible across
resumes, worker counts and distributed ranks. `FramedBatches` makes some batches non-square: every item of such a
batch is framed at one aspect ratio and fed at that frame's multiple-of-32 shape, as `fit` inference feeds it.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np
import torch
from torch.utils.data import BatchSampler, Dataset, Sampler

from ..inference.preprocess import PAD_VALUE, Letterbox, normalize, pad_to_input, resize_image
from .augment import DeformationRanges, random_deformation, random_texture
from .data import Sample, load_target
from .losses import edge_from_mask
from .scenes import ASPECT_RATIOS, FramingRanges, canvas_size, random_placement, random_scene, reframe


@dataclass(frozen=True)
class Augmentation:
    """What the training set does to a sample. The defaults are the paper's: deformation and texture only."""

    deformation: DeformationRanges = field(default_factory=DeformationRanges)
    texture: bool = True
    composite_probability: float = 0.0  # paste the person onto another training image's scene
    landscape_probability: float = 0.0  # a frame of another aspect ratio (16:9 ... 9:16) instead of the photo's
    framed_scene_probability: float = 0.0  # in a framed batch, a composite even where composite_probability said no
    framing: FramingRanges = field(default_factory=FramingRanges)


def fit_pair(image: np.ndarray, target: np.ndarray, size: int, soft: bool) -> tuple[np.ndarray, np.ndarray]:
    """Scale image and target so the longer side equals size (the letterbox content, before padding). A soft
    target keeps its area-averaged probabilities; a hard one (a mask) stays 0 or 1, where half a pixel is person."""
    box = Letterbox.fit(image.shape[0], image.shape[1], size)
    target = resize_image(target, box.fitted_width, box.fitted_height)
    return (resize_image(image, box.fitted_width, box.fitted_height),
            target if soft else (target >= 0.5).astype(np.float32))


def load_fitted(samples: list[Sample], size: int, threads: int = 2) -> list[tuple[np.ndarray, np.ndarray]]:
    """Decode every pair once (OpenCV releases the GIL, so threads help)."""
    def one(sample: Sample) -> tuple[np.ndarray, np.ndarray]:
        return fit_pair(*load_target(sample), size, soft=sample.teacher_weight > 0)
    with ThreadPoolExecutor(max(1, threads)) as pool:
        return list(pool.map(one, samples))


class PortraitDataset(Dataset):
    """Items: image A (3, S, S) float, texture-changed A' (3, S, S), target (S, S) float (the person probability
    the loss aims at: the mask, or its blend with the teachers' soft mask), mask (S, S) long (target >= 0.5, what
    validation scores against), edge (S, S) long (the mask's contour) and weight (S, S) float (1 where the loss
    counts a pixel: everywhere, but for a banded sample's doubtful pixels).

    With augment=False the image is only letterboxed and A' equals A.
    """

    def __init__(self, samples: list[Sample], size: int, augment: bool, seed: int = 0,
                 augmentation: Augmentation = Augmentation(), threads: int = 2) -> None:
        self.samples = samples
        self.size = size
        self.augment = augment
        self.seed = seed
        self.augmentation = augmentation
        self.epoch = 0
        self.fitted = load_fitted(samples, size, threads)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, key: int | tuple[int, float | None]) -> dict[str, torch.Tensor]:
        """key: an index, or (index, aspect) from FramedBatches (aspect None: the usual square item)."""
        index, aspect = key if isinstance(key, tuple) else (key, None)
        image, target = self.fitted[index]
        if self.augment:
            rng = np.random.default_rng([self.seed, self.epoch, index])
            image, target = self._deform(index, rng, aspect)
            textured = random_texture(image, rng) if self.augmentation.texture else image
        else:
            box = Letterbox.fit(image.shape[0], image.shape[1], self.size)
            image, target = pad_to_input(image, box, PAD_VALUE), pad_to_input(target, box, 0)
            textured = image
        weight = np.ones_like(target)
        band = self.samples[index].doubt_band
        if band:  # the teachers' doubt is not taught; what they agree on is, as hard labels
            weight = (np.abs(target - 0.5) >= band).astype(np.float32)
            target = (target >= 0.5).astype(np.float32)
        mask = (target >= 0.5).astype(np.uint8)
        return {
            "image": torch.from_numpy(normalize(image)),
            "textured": torch.from_numpy(normalize(textured)),
            "target": torch.from_numpy(target),
            "mask": torch.from_numpy(mask.astype(np.int64)),
            "edge": torch.from_numpy(edge_from_mask(mask).astype(np.int64)),
            "weight": torch.from_numpy(weight),
        }

    def _deform(self, index: int, rng: np.random.Generator,
                framed_aspect: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The paper's deformation, or a new scene: a composite and/or another frame, letterboxed to the square;
        with framed_aspect, a scene in a frame of that aspect, letterboxed to the frame's multiple-of-32 shape."""
        image, target = self.fitted[index]
        settings = self.augmentation
        # a framed sample may get a scene anyway: a webcam frame shows one to its edges, not grey around a photo
        composite = len(self) > 1 and (_chance(rng, settings.composite_probability) or
                                       bool(framed_aspect) and _chance(rng, settings.framed_scene_probability))
        landscape = _chance(rng, settings.landscape_probability)
        if not (composite or landscape or framed_aspect):
            return random_deformation(image, target, self.size, rng, settings.deformation)
        aspect = float(rng.choice(ASPECT_RATIOS)) if landscape else image.shape[1] / image.shape[0]
        aspect = framed_aspect or aspect
        if composite:
            others = (index + 1 + rng.choice(len(self) - 1, min(4, len(self) - 1), replace=False)) % len(self)
            scenes = [self.fitted[other] for other in others]
            image, target = random_scene(image, target, scenes, self.size, aspect, rng, settings.framing)
        else:
            canvas = canvas_size(aspect, self.size)
            image, target = reframe(image, target, canvas, random_placement(rng, settings.framing))
        box = Letterbox.fit(image.shape[0], image.shape[1], self.size, fit=framed_aspect is not None)
        return pad_to_input(image, box, PAD_VALUE), pad_to_input(target, box, 0)


class FramedBatches(Sampler):
    """Batches of (index, aspect) keys: with `probability` a batch is framed at one of the non-square
    ASPECT_RATIOS (16:9 224 x 128, 4:3 224 x 192, and their portrait turns), else aspect None (square).

    The choice is seeded by (seed, epoch, batch number), and nothing is drawn when the probability is 0, so the
    batches are those of a plain BatchSampler over the same sampler."""

    def __init__(self, sampler: Sampler, batch_size: int, probability: float, seed: int = 0) -> None:
        self.batches = BatchSampler(sampler, batch_size, drop_last=True)
        self.probability = probability
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.batches)

    def __iter__(self) -> Iterator[list[tuple[int, float | None]]]:
        aspects = [a for a in ASPECT_RATIOS if a != 1.0]
        for number, indices in enumerate(self.batches):
            rng = np.random.default_rng([self.seed, self.epoch, number])
            aspect = float(rng.choice(aspects)) if _chance(rng, self.probability) else None
            yield [(index, aspect) for index in indices]


def _chance(rng: np.random.Generator, probability: float) -> bool:
    """A coin flip that draws nothing when the probability is 0, so the paper's recipe keeps its random stream."""
    return probability > 0 and rng.random() < probability
