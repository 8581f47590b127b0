"""Training and evaluation datasets: decode and fit every image once, then augment from memory.

Each item is drawn with a generator seeded by (seed, epoch, index), so augmentation is reproducible across
resumes, worker counts and distributed ranks.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
from torch.utils.data import Dataset

from .augment import DeformationRanges, edge_from_mask, random_deformation, random_texture
from .data import Sample, load_pair
from .preprocess import PAD_VALUE, Letterbox, normalize, pad_to_square, resize_image, resize_mask


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
                 ranges: DeformationRanges = DeformationRanges(), texture: bool = True, threads: int = 2) -> None:
        self.samples = samples
        self.size = size
        self.augment = augment
        self.seed = seed
        self.ranges = ranges
        self.texture = texture
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
            image, mask = random_deformation(image, mask, self.size, rng, self.ranges)
            textured = random_texture(image, rng) if self.texture else image
        else:
            box = Letterbox.fit(image.shape[0], image.shape[1], self.size)
            image, mask = pad_to_square(image, box, PAD_VALUE), pad_to_square(mask, box, 0)
            textured = image
        return {
            "image": normalize(image),
            "textured": normalize(textured),
            "mask": torch.from_numpy(mask.astype(np.int64)),
            "edge": torch.from_numpy(edge_from_mask(mask).astype(np.int64)),
        }
