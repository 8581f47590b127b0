"""The paper's augmentation as batched tensor ops, for a data path that keeps a GPU busy (`data_path = "tensor"`).

The training set is decoded once into uint8 tensors on the device, letterboxed to the square; every batch is then
deformed, composited and texture-changed there with per-sample random parameters, the same distributions as the
per-sample NumPy/OpenCV augmentation (augment.py, dataset.py) draws. Device-agnostic: it runs on the CPU as well.

What differs from the NumPy path, by design: one bilinear warp for the soft target (a hard mask is thresholded
after it, where OpenCV warps masks nearest-neighbour); the composite pastes a sample onto another sample of the
same batch as deformed (the label is the union, as in scenes.py), without the scene search and the pasted edge's
blur; landscape frames and framed batches stay on the NumPy path (the config says so).
"""

from __future__ import annotations

from typing import Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Sampler

from ..inference.preprocess import MEAN, PAD_VALUE, STD, Letterbox, pad_to_input
from .augment import DeformationRanges
from .dataset import PortraitDataset
from .losses import EDGE_THICKNESS

_SMOOTH = torch.tensor([[1.0, 1.0, 1.0], [1.0, 5.0, 1.0], [1.0, 1.0, 1.0]]) / 13  # PIL's SMOOTH, as augment.py
_GREY = (0.299, 0.587, 0.114)


def draw_parameters(count: int, generator: torch.Generator, ranges: DeformationRanges = DeformationRanges(),
                    composite_probability: float = 0.0) -> dict[str, torch.Tensor]:
    """Every random choice of a batch, one value per sample, drawn on the CPU (the same stream on any device)."""
    def uniform(low: float, high: float) -> torch.Tensor:
        return low + (high - low) * torch.rand(count, generator=generator)

    def chance(probability: float) -> torch.Tensor:
        return torch.rand(count, generator=generator) < probability

    return {
        "angle": uniform(-ranges.rotation_degrees, ranges.rotation_degrees),
        "scale": uniform(ranges.scale_min, ranges.scale_max),
        "shift_x": uniform(-ranges.shift, ranges.shift),
        "shift_y": uniform(-ranges.shift, ranges.shift),
        "flip": chance(ranges.flip_probability),
        "composite": chance(composite_probability),
        "partner": torch.randint(0, max(1, count - 1), (count,), generator=generator),
        "enhance": chance(0.5),
        "colour": uniform(0.4, 1.6),
        "brightness": uniform(0.4, 1.6),
        "contrast": uniform(0.6, 1.4),
        "sharpness": uniform(0.8, 1.2),
        "blur": chance(0.5),
        "blur_kernel": 3 + 2 * torch.randint(0, 2, (count,), generator=generator),
        "blur_kind": torch.randint(0, 3, (count,), generator=generator),  # Gaussian, median, box (augment.py)
        "noise": chance(0.5),
        "noise_sigma": uniform(0.0, 10.0),
    }


def deformation_theta(params: dict[str, torch.Tensor]) -> torch.Tensor:
    """(B, 2, 3) for affine_grid: the inverse of augment.deformation_matrix about the square's centre, in the
    normalised coordinates of align_corners=False (a shift of s input sides is 2s there)."""
    theta = torch.deg2rad(params["angle"].double())
    scale = params["scale"].double()
    cos, sin = torch.cos(theta) * scale, torch.sin(theta) * scale
    sign = torch.where(params["flip"], -1.0, 1.0).double()
    # forward linear map [[cos, sin], [-sin, cos]] @ diag(sign, 1), as deformation_matrix builds it
    a, b, c, d = cos * sign, sin, -sin * sign, cos
    det = a * d - b * c
    inverse = torch.stack([torch.stack([d, -b], -1), torch.stack([-c, a], -1)], -2) / det[:, None, None]
    shift = 2 * torch.stack([params["shift_x"].double(), params["shift_y"].double()], -1)
    offset = -(inverse @ shift[..., None])
    return torch.cat([inverse, offset], -1).float()


def warp(images: torch.Tensor, targets: torch.Tensor, theta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Image (B, 3, S, S) and target (B, 1, S, S), floats in 0..255 and 0..1, through one grid: the border is the
    pad value (image) and background (target)."""
    grid = F.affine_grid(theta.to(images.device), list(images.shape), align_corners=False)
    warped = F.grid_sample(images - PAD_VALUE, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    target = F.grid_sample(targets, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return warped + PAD_VALUE, target


def _grey(images: torch.Tensor) -> torch.Tensor:
    weights = torch.tensor(_GREY, device=images.device, dtype=images.dtype).view(1, 3, 1, 1)
    return (images * weights).sum(1, keepdim=True)


def _per_sample(values: torch.Tensor) -> torch.Tensor:
    return values.to(torch.float32).view(-1, 1, 1, 1)


def enhance(images: torch.Tensor, params: dict[str, torch.Tensor]) -> torch.Tensor:
    """PIL ImageEnhance's colour, brightness, contrast and sharpness, in that order, as augment.random_texture."""
    def blend(degenerate: torch.Tensor, image: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
        return degenerate + _per_sample(factor).to(image.device) * (image - degenerate)

    out = blend(_grey(images), images, params["colour"])
    out = out * _per_sample(params["brightness"]).to(out.device)
    out = blend(_grey(out).mean((1, 2, 3), keepdim=True).round(), out, params["contrast"])
    kernel = _SMOOTH.to(out).expand(3, 1, 3, 3)
    smooth = F.conv2d(F.pad(out, (1, 1, 1, 1), mode="replicate"), kernel, groups=3)
    return blend(smooth, out, params["sharpness"]).clamp(0, 255).round()


def _gaussian_kernel(size: int) -> torch.Tensor:
    """OpenCV's GaussianBlur(ksize, 0) kernel for ksize 3 or 5: its fixed binomial taps."""
    line = {3: torch.tensor([1.0, 2.0, 1.0]) / 4, 5: torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0]) / 16}[size]
    return line[:, None] * line[None, :]


def blur(images: torch.Tensor, size: int, kind: int) -> torch.Tensor:
    """One kernel size and kind for a few samples: 0 Gaussian, 1 median, 2 box, replicated borders."""
    half = size // 2
    padded = F.pad(images, (half,) * 4, mode="replicate" if kind == 1 else "reflect")
    if kind == 1:
        patches = F.unfold(padded, size).view(images.shape[0], 3, size * size, *images.shape[2:])
        return patches.median(dim=2).values
    kernel = _gaussian_kernel(size) if kind == 0 else torch.full((size, size), 1.0 / size ** 2)
    return F.conv2d(padded, kernel.to(images).expand(3, 1, size, size), groups=3).round()


def random_texture(images: torch.Tensor, params: dict[str, torch.Tensor], generator: torch.Generator) -> torch.Tensor:
    """A' of the consistency loss, a batch at a time: enhancements, a blur and Gaussian noise, each for about half
    the samples, rounded to 0..255 between steps as the uint8 NumPy path is."""
    out = images.clone()
    chosen = params["enhance"].to(images.device)
    if chosen.any():
        out[chosen] = enhance(out[chosen], {k: v[chosen.cpu()] for k, v in params.items()})
    for size in (3, 5):
        for kind in range(3):
            chosen = (params["blur"] & (params["blur_kernel"] == size) & (params["blur_kind"] == kind)).to(out.device)
            if chosen.any():
                out[chosen] = blur(out[chosen], size, kind)
    noise = torch.randn(out.shape, generator=generator).to(out.device)
    sigma = _per_sample(torch.where(params["noise"], params["noise_sigma"], 0.0)).to(out.device)
    return (out + sigma * noise).clamp(0, 255).round()


def edge_from_masks(masks: torch.Tensor, thickness: int = EDGE_THICKNESS) -> torch.Tensor:
    """(B, 1, S, S) {0, 1} float -> the boundary band, `thickness` px wide as losses.edge_from_mask draws it:
    pixels within thickness / 2 (a square's reach) of a pixel on the other side of the mask's edge."""
    reach = thickness // 2
    grown = F.max_pool2d(masks, 2 * reach + 1, stride=1, padding=reach)
    shrunk = -F.max_pool2d(-masks, 2 * reach + 1, stride=1, padding=reach)
    return grown - shrunk


def normalize(images: torch.Tensor) -> torch.Tensor:
    mean = torch.as_tensor(MEAN, device=images.device).view(1, 3, 1, 1)
    std = torch.as_tensor(STD, device=images.device).view(1, 3, 1, 1)
    return (images - mean) / std


def augment_batch(images: torch.Tensor, targets: torch.Tensor, soft: torch.Tensor, bands: torch.Tensor,
                  params: dict[str, torch.Tensor], generator: torch.Generator,
                  single_view: bool = False) -> dict[str, torch.Tensor]:
    """uint8 images (B, 3, S, S) and targets (B, 1, S, S, 0..255), letterboxed -> the batch PortraitDataset's
    items make, on the images' device: image (A), textured (A'), target, mask, edge, weight."""
    image, target = warp(images.float(), targets.float() / 255, deformation_theta(params))
    hard = ~soft.to(target.device)
    target[hard] = (target[hard] >= 0.5).float()
    composite = params["composite"].to(image.device)
    if composite.any() and len(image) > 1:  # onto another sample's deformed photo; the label is the union
        others = (torch.arange(len(image)) + 1 + params["partner"]) % len(image)
        alpha, scene, scene_target = target[composite], image[others][composite], target[others][composite]
        image[composite] = (alpha * image[composite] + (1 - alpha) * scene).round()
        target[composite] = alpha + (1 - alpha) * scene_target
    textured = random_texture(image, params, generator)
    bands = bands.to(target.device).view(-1, 1, 1, 1)
    weight = torch.where(bands > 0, ((target - 0.5).abs() >= bands).float(), torch.ones_like(target))
    target = torch.where(bands > 0, (target >= 0.5).float(), target)
    mask = (target >= 0.5).float()
    batch = {"textured": normalize(textured), "target": target[:, 0], "mask": mask[:, 0].long(),
             "edge": edge_from_masks(mask)[:, 0].long(), "weight": weight[:, 0]}
    if not single_view:
        batch["image"] = normalize(image)
    return batch


class TensorBatches:
    """Batches of a PortraitDataset's training samples, augmented as tensors on `device`. Each batch's draws come
    from a generator seeded by (seed, epoch, batch number), so a resumed run sees the same data."""

    def __init__(self, dataset: PortraitDataset, batch_sampler: Sampler, device: torch.device,
                 single_view: bool = False) -> None:
        images, targets = [], []
        for image, target in dataset.fitted:  # letterboxed to the square, as the NumPy path does before warping
            box = Letterbox.fit(image.shape[0], image.shape[1], dataset.size)
            images.append(pad_to_input(image, box, PAD_VALUE))
            targets.append(np.round(pad_to_input(target, box, 0) * 255).astype(np.uint8))
        self.images = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous().to(device)
        self.targets = torch.from_numpy(np.stack(targets))[:, None].to(device)
        self.soft = torch.tensor([s.teacher_weight > 0 for s in dataset.samples])
        self.bands = torch.tensor([s.doubt_band for s in dataset.samples], dtype=torch.float32)
        self.device, self.seed = device, dataset.seed
        self.ranges = dataset.augmentation.deformation
        self.composite_probability = dataset.augmentation.composite_probability
        self.single_view = single_view
        self.batch_sampler = batch_sampler
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.batch_sampler)

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        for number, keys in enumerate(self.batch_sampler):
            indices = torch.tensor([key[0] if isinstance(key, tuple) else key for key in keys])
            generator = torch.Generator().manual_seed(_seed(self.seed, self.epoch, number))
            params = draw_parameters(len(indices), generator, self.ranges, self.composite_probability)
            on_device = indices.to(self.device)
            yield augment_batch(self.images[on_device], self.targets[on_device], self.soft[indices],
                                self.bands[indices], params, generator, self.single_view)


def _seed(*values: int) -> int:
    return int(np.random.SeedSequence(list(values)).generate_state(1, np.uint64)[0] % (2 ** 63))
