"""Training and evaluation datasets: decode and fit every image once, then augment from memory.

Each item is drawn with a generator seeded by (seed, epoch, index), so augmentation is reproducible across
resumes, worker counts and distributed ranks.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import torch
from torch.utils.data import Dataset

from ..inference.preprocess import PAD_VALUE, Letterbox, normalize, pad_to_square, resize_image, resize_mask
from .augment import DeformationRanges, random_deformation, random_texture
from .data import Sample, load_pair
from .losses import edge_from_mask
from .photometric import random_photometric
from .scenes import ASPECT_RATIOS, FramingRanges, canvas_size, random_placement, random_scene, reframe


@dataclass(frozen=True)
class Augmentation:
    """What the training set does to a sample. The defaults are the paper's: deformation and texture only."""

    deformation: DeformationRanges = field(default_factory=DeformationRanges)
    texture: bool = True
    composite_probability: float = 0.0  # paste the person onto another training image's scene
    landscape_probability: float = 0.0  # a frame of another aspect ratio (16:9 ... 9:16) instead of the photo's
    photometric_probability: float = 0.0  # colour temperature, gamma, motion blur, JPEG on A'
    framing: FramingRanges = field(default_factory=FramingRanges)


def fit_pair(image: np.ndarray, mask: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Scale image and mask so the longer side equals size (the letterbox content, before padding)."""
    box = Letterbox.fit(image.shape[0], image.shape[1], size)
    return (resize_image(image, box.fitted_width, box.fitted_height),
            resize_mask(mask, box.fitted_width, box.fitted_height))


def load_fitted(samples: list[Sample], size: int, threads: int = 2) -> list[tuple[np.ndarray, np.ndarray]]:
    """Decode every pair once (OpenCV releases the GIL, so threads help)."""
    def one(sample: Sample) -> tuple[np.ndarray, np.ndarray]:
        return fit_pair(*load_pair(sample), size)
    with ThreadPoolExecutor(max(1, threads)) as pool:
        return list(pool.map(one, samples))


class PortraitDataset(Dataset):
    """Items: image A (3, S, S) float, texture-changed A' (3, S, S), mask (S, S) long, edge (S, S) long.

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

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        image, mask = self.fitted[index]
        if self.augment:
            rng = np.random.default_rng([self.seed, self.epoch, index])
            image, mask = self._deform(index, rng)
            textured = random_texture(image, rng) if self.augmentation.texture else image
            if _chance(rng, self.augmentation.photometric_probability):
                textured = random_photometric(textured, rng)
        else:
            box = Letterbox.fit(image.shape[0], image.shape[1], self.size)
            image, mask = pad_to_square(image, box, PAD_VALUE), pad_to_square(mask, box, 0)
            textured = image
        return {
            "image": torch.from_numpy(normalize(image)),
            "textured": torch.from_numpy(normalize(textured)),
            "mask": torch.from_numpy(mask.astype(np.int64)),
            "edge": torch.from_numpy(edge_from_mask(mask).astype(np.int64)),
        }

    def _deform(self, index: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """The paper's deformation, or a new scene: a composite and/or another frame, letterboxed to the square."""
        image, mask = self.fitted[index]
        settings = self.augmentation
        composite = len(self) > 1 and _chance(rng, settings.composite_probability)
        landscape = _chance(rng, settings.landscape_probability)
        if not (composite or landscape):
            return random_deformation(image, mask, self.size, rng, settings.deformation)
        aspect = float(rng.choice(ASPECT_RATIOS)) if landscape else image.shape[1] / image.shape[0]
        if composite:
            others = (index + 1 + rng.choice(len(self) - 1, min(4, len(self) - 1), replace=False)) % len(self)
            scenes = [self.fitted[other] for other in others]
            image, mask = random_scene(image, mask, scenes, self.size, aspect, rng, settings.framing)
        else:
            canvas = canvas_size(aspect, self.size)
            image, mask = reframe(image, mask, canvas, random_placement(rng, settings.framing))
        box = Letterbox.fit(image.shape[0], image.shape[1], self.size)
        return pad_to_square(image, box, PAD_VALUE), pad_to_square(mask, box, 0)


def _chance(rng: np.random.Generator, probability: float) -> bool:
    """A coin flip that draws nothing when the probability is 0, so the paper's recipe keeps its random stream."""
    return probability > 0 and rng.random() < probability
