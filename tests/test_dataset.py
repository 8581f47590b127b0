import numpy as np
import pytest
import torch

from portraitnet.inference.preprocess import MEAN, PAD_VALUE, STD
from portraitnet.training.data import list_samples
from portraitnet.training.dataset import Augmentation, FramedBatches, PortraitDataset


def test_evaluation_items_are_letterboxed_and_unchanged(synthetic_dataset):
    dataset = PortraitDataset(list_samples(synthetic_dataset, "train"), 64, augment=False)
    item = dataset[0]
    assert item["image"].shape == (3, 64, 64) and item["mask"].shape == item["edge"].shape == (64, 64)
    assert torch.equal(item["image"], item["textured"])
    grey = torch.from_numpy(((PAD_VALUE - MEAN) / STD).astype(np.float32))
    assert torch.allclose(item["image"][:, :, 0], grey[:, None].expand(3, 64), atol=1e-5)  # side padding


@pytest.mark.parametrize("augmentation", [
    Augmentation(),
    Augmentation(composite_probability=1.0, landscape_probability=1.0),
])
def test_training_items_are_reproducible_per_epoch_and_vary_across_epochs(synthetic_dataset, augmentation):
    dataset = PortraitDataset(list_samples(synthetic_dataset, "train"), 64, augment=True, seed=3,
                              augmentation=augmentation)
    first = dataset[1]
    again = dataset[1]
    dataset.set_epoch(1)
    later = dataset[1]
    assert torch.equal(first["image"], again["image"]) and torch.equal(first["mask"], again["mask"])
    assert not torch.equal(first["image"], later["image"])
    assert set(first["mask"].unique().tolist()) <= {0, 1} and first["mask"].any()


def test_landscape_frames_are_letterboxed_into_the_square(synthetic_dataset):
    dataset = PortraitDataset(list_samples(synthetic_dataset, "train"), 64, augment=True,
                              augmentation=Augmentation(landscape_probability=1.0))
    pad = torch.from_numpy(((PAD_VALUE - MEAN) / STD).astype(np.float32))[:, None]
    padded_rows = 0
    for index in range(len(dataset)):
        image = dataset[index]["image"]
        padded_rows += sum(torch.allclose(image[:, row, :], pad.expand(3, 64), atol=1e-5) for row in (0, 63))
    assert padded_rows > 0  # wide frames leave grey bands above and below


def test_framed_batches_come_at_one_multiple_of_32_shape_each(synthetic_dataset):
    """A framed batch's items share the shape of their frame (16:9 at 224 -> 224 x 128), and batch numbers, not
    items, pick the frame; with probability 0 the batches are a plain BatchSampler's."""
    dataset = PortraitDataset(list_samples(synthetic_dataset, "train"), 224, augment=True,
                              augmentation=Augmentation(composite_probability=0.5))
    order = list(range(len(dataset)))
    framed = FramedBatches(order, 3, probability=1.0, seed=1)
    shapes = set()
    for keys in framed:
        items = [dataset[key] for key in keys]
        assert len({item["image"].shape for item in items}) == 1
        height, width = items[0]["image"].shape[1:]
        assert height % 32 == 0 and width % 32 == 0 and (height, width) != (224, 224) and max(height, width) == 224
        assert items[0]["mask"].shape == (height, width) and items[0]["mask"].any()
        shapes.add((height, width))
    assert (128, 224) in shapes or (192, 224) in shapes or (224, 128) in shapes or (224, 192) in shapes
    plain = FramedBatches(order, 3, probability=0.0)
    assert list(plain) == [[(i, None) for i in order[k:k + 3]] for k in range(0, len(order) - 2, 3)]
    assert dataset[(0, None)]["image"].shape == (3, 224, 224)
    assert torch.equal(dataset[(0, None)]["image"], dataset[0]["image"])


def test_framed_scenes_fill_the_frame_to_its_edges(synthetic_dataset):
    """framed_scene_probability 1: every framed sample is a scene to the frame's edges (grey only in the band that
    rounds the frame up to multiples of 32, at most 24 of 192 rows, and a stray scene pixel of that colour), as a
    webcam frame is; at 0 the photo is reframed with grey around it. Square batches are untouched: the same items,
    draw for draw."""
    samples = list_samples(synthetic_dataset, "train")
    pad = torch.from_numpy(((PAD_VALUE - MEAN) / STD).astype(np.float32))[:, None, None]

    def grey_shares(dataset: PortraitDataset) -> list[float]:
        keys = [key for batch in FramedBatches(list(range(len(dataset))), 3, probability=1.0, seed=1) for key in batch]
        return [float((dataset[key]["image"] - pad).abs().amax(0).lt(1e-5).float().mean()) for key in keys]

    photos = PortraitDataset(samples, 224, augment=True, augmentation=Augmentation())
    scenes = PortraitDataset(samples, 224, augment=True, augmentation=Augmentation(framed_scene_probability=1.0))
    assert max(grey_shares(scenes)) < 24 / 192 + 0.001
    assert np.mean(grey_shares(photos)) > 0.25
    assert all(torch.equal(photos[(i, None)]["image"], scenes[(i, None)]["image"]) for i in range(len(photos)))
