"""The batched tensor augmentation draws what the NumPy augmentation draws, warps image and mask together, and
labels edges where the mask's edge is."""

from __future__ import annotations

from collections import defaultdict

import cv2
import numpy as np
import pytest
import torch

from portraitnet.training import augment
from portraitnet.training.augment import DeformationRanges, deformation_matrix, warp_pair
from portraitnet.training.data import list_samples
from portraitnet.training.dataset import Augmentation, FramedBatches, PortraitDataset
from portraitnet.training.losses import edge_from_mask
from portraitnet.training.tensor_augment import (TensorBatches, augment_batch, deformation_theta, draw_parameters,
                                                 edge_from_masks, warp)

DRAWS = 4000


def ks_statistic(a: np.ndarray, b: np.ndarray) -> float:
    """The two-sample Kolmogorov-Smirnov statistic: the largest gap between the two empirical CDFs."""
    values = np.sort(np.concatenate([a, b]))
    cdf_a = np.searchsorted(np.sort(a), values, side="right") / len(a)
    cdf_b = np.searchsorted(np.sort(b), values, side="right") / len(b)
    return float(np.abs(cdf_a - cdf_b).max())


# Above this the two samples differ at the 0.1% level (1.95 * sqrt(2 / n) for n = m = DRAWS).
KS_LIMIT = 1.95 * np.sqrt(2 / DRAWS)


def numpy_draws(monkeypatch) -> dict[str, np.ndarray]:
    """What augment.random_deformation and random_texture draw, caught at the functions they call."""
    seen: dict[str, list[float]] = defaultdict(list)

    def spy(module, name: str, **extract) -> None:
        original = getattr(module, name)

        def wrapper(*args, **kwargs):
            for key, get in extract.items():
                seen[key].append(float(get(args, kwargs)))
            return original(*args, **kwargs)
        monkeypatch.setattr(module, name, wrapper)

    spy(augment, "deformation_matrix", angle=lambda a, k: k["angle"], scale=lambda a, k: k["scale"])
    for key in ("colour", "brightness", "contrast", "sharpness"):
        spy(augment, f"enhance_{key}", **{key: lambda a, k: a[1]})
    for kind, name in enumerate(("GaussianBlur", "medianBlur", "blur")):
        spy(augment.cv2, name, blur_kind=lambda a, k, kind=kind: kind,
            blur_kernel=lambda a, k: a[1] if isinstance(a[1], int) else a[1][0])
    image = np.full((16, 16, 3), 100, np.uint8)
    for seed in range(DRAWS):
        rng = np.random.default_rng(seed)
        augment.random_deformation(image, np.zeros((16, 16), np.float32), 16, rng)
        augment.random_texture(image, rng)
    return {key: np.array(values) for key, values in seen.items()}


def test_the_parameters_are_drawn_from_the_numpy_augmentation_s_distributions(monkeypatch):
    ours = draw_parameters(DRAWS, torch.Generator().manual_seed(0))
    theirs = numpy_draws(monkeypatch)
    for key in ("angle", "scale", "colour", "brightness", "contrast", "sharpness"):
        assert ks_statistic(ours[key].numpy(), theirs[key]) < KS_LIMIT, key
    # how often each step happens: enhancements and blurs in about half the samples each
    assert abs(ours["enhance"].float().mean() - len(theirs["colour"]) / DRAWS) < 0.04
    assert abs(ours["blur"].float().mean() - len(theirs["blur_kind"]) / DRAWS) < 0.04
    blurred = ours["blur"]
    for key in ("blur_kind", "blur_kernel"):
        assert ks_statistic(ours[key][blurred].numpy().astype(float), theirs[key].astype(float)) < 0.06, key


def test_a_warped_image_and_its_mask_stay_aligned_and_match_opencv():
    size = 96
    image = np.full((size, size, 3), 128, np.uint8)
    mask = np.zeros((size, size), np.float32)
    cv2.rectangle(image, (30, 20), (60, 80), (250, 30, 30), -1)
    mask[20:81, 30:61] = 1
    generator = torch.Generator().manual_seed(1)
    params = draw_parameters(8, generator, DeformationRanges())
    images = torch.from_numpy(image).permute(2, 0, 1)[None].float().expand(8, -1, -1, -1)
    warped, target = warp(images, torch.from_numpy(mask)[None, None].expand(8, -1, -1, -1), deformation_theta(params))
    for i in range(8):
        red = warped[i, 0].numpy() > 190  # the rectangle's pixels, as the image shows them
        hard = target[i, 0].numpy() >= 0.5
        assert (red != hard).sum() <= 0.02 * max(1, hard.sum()) + 4, i  # the mask covers the rectangle
        matrix = deformation_matrix(size, size, size, float(params["angle"][i]), float(params["scale"][i]),
                                    float(params["shift_x"][i]), float(params["shift_y"][i]), bool(params["flip"][i]))
        _, opencv_mask = warp_pair(image, mask, matrix, size)
        assert (hard != (opencv_mask >= 0.5)).sum() <= 0.01 * max(1, hard.sum()) + 2, i  # one pixel at most


def test_the_edge_label_follows_the_mask():
    mask = np.zeros((96, 96), np.uint8)
    cv2.ellipse(mask, (48, 40), (22, 30), 20, 0, 360, 1, -1)
    edge = edge_from_masks(torch.from_numpy(mask).float()[None, None])[0, 0].numpy()
    distance_outside = cv2.distanceTransform(1 - mask, cv2.DIST_L2, 3)
    distance_inside = cv2.distanceTransform(mask, cv2.DIST_L2, 3)
    assert np.maximum(distance_outside, distance_inside)[edge > 0].max() <= 3  # only near the mask's edge
    reference = edge_from_mask(mask)
    assert (edge * reference).sum() / ((edge + reference) > 0).sum() > 0.6
    assert edge_from_masks(torch.zeros(1, 1, 32, 32)).sum() == 0


def test_tensor_batches_are_the_dataset_s_items_and_reproducible(synthetic_dataset):
    dataset = PortraitDataset(list_samples(synthetic_dataset, "train"), 64, augment=True, seed=2,
                              augmentation=Augmentation(composite_probability=0.5))
    batches = FramedBatches(torch.utils.data.SequentialSampler(dataset), 4, 0.0)
    loader = TensorBatches(dataset, batches, torch.device("cpu"))
    first, again = next(iter(loader)), next(iter(loader))
    reference = dataset[0]
    assert set(first) == set(reference)
    for key, value in reference.items():
        assert first[key].shape[1:] == value.shape and first[key].dtype == value.dtype, key
    for key in first:
        assert torch.equal(first[key], again[key]), key
    loader.set_epoch(1)
    assert not torch.equal(next(iter(loader))["image"], first["image"])
    assert set(first["mask"].unique().tolist()) <= {0, 1}
    assert torch.equal(first["mask"], (first["target"] >= 0.5).long())


def test_a_banded_sample_teaches_only_where_the_teachers_agree():
    images = torch.full((1, 3, 32, 32), 128, dtype=torch.uint8)
    targets = torch.zeros((1, 1, 32, 32), dtype=torch.uint8)
    targets[..., 8:24, 8:24] = 255
    targets[..., 8:24, 14:18] = 128  # the teachers' doubt
    params = draw_parameters(1, torch.Generator().manual_seed(0), DeformationRanges(0, 1, 1, 0, 0))
    batch = augment_batch(images, targets, torch.tensor([True]), torch.tensor([0.3]), params,
                          torch.Generator().manual_seed(0), single_view=True)
    assert "image" not in batch  # one view: A is not made
    assert batch["weight"][0, 8:24, 14:18].sum() == 0 and batch["weight"][0, 10, 10] == 1
    assert set(batch["target"].unique().tolist()) <= {0.0, 1.0}


@pytest.mark.parametrize("kind", [0, 1, 2])
def test_each_blur_matches_opencv(kind):
    from portraitnet.training.tensor_augment import blur
    image = np.random.default_rng(0).integers(0, 255, (20, 24, 3), dtype=np.uint8)
    ours = blur(torch.from_numpy(image).permute(2, 0, 1)[None].float(), 5, kind)[0].permute(1, 2, 0).numpy()
    theirs = [cv2.GaussianBlur(image, (5, 5), 0), cv2.medianBlur(image, 5), cv2.blur(image, (5, 5))][kind]
    assert np.abs(ours - theirs).max() <= 1
