import numpy as np
import pytest

from portraitnet.inference.preprocess import PAD_VALUE
from portraitnet.training.augment import (DeformationRanges, deformation_matrix, random_deformation, random_texture,
                                          warp_pair)
from portraitnet.training.losses import edge_from_mask


def shape_pair(height=224, width=168):
    """An asymmetric shape (an L) painted red in the image and 1 in the mask."""
    image = np.full((height, width, 3), 30, np.uint8)
    mask = np.zeros((height, width), np.uint8)
    mask[40:180, 30:70] = 1
    mask[140:180, 30:140] = 1
    image[mask > 0] = (220, 20, 20)
    return image, mask


@pytest.mark.parametrize("seed", range(8))
def test_deformation_keeps_image_and_mask_aligned(seed):
    image, mask = shape_pair()
    out_image, out_mask = random_deformation(image, mask, 224, np.random.default_rng(seed))
    red = (out_image[..., 0] > 160) & (out_image[..., 1] < 80)
    union = (red | (out_mask > 0)).sum()
    assert union > 0
    # bilinear vs nearest differ only on a one-pixel rim
    assert (red & (out_mask > 0)).sum() / union > 0.9


def test_deformation_fills_the_border_with_the_pad_value():
    image, mask = shape_pair()
    ranges = DeformationRanges(rotation_degrees=0, scale_min=0.5, scale_max=0.5, shift=0, flip_probability=0)
    out_image, out_mask = random_deformation(image, mask, 224, np.random.default_rng(0), ranges)
    assert (out_image[:40] == PAD_VALUE).all() and out_mask[:40].sum() == 0


def test_flip_mirrors_horizontally():
    image, mask = shape_pair(224, 224)
    matrix = deformation_matrix(224, 224, 224, angle=0, scale=1, shift_x=0, shift_y=0, flip=True)
    _, flipped = warp_pair(image, mask, matrix, 224)
    assert (flipped == mask[:, ::-1]).all()


def test_rotation_by_90_degrees_turns_the_mask():
    image, mask = shape_pair(224, 224)
    matrix = deformation_matrix(224, 224, 224, angle=90, scale=1, shift_x=0, shift_y=0, flip=False)
    _, turned = warp_pair(image, mask, matrix, 224)
    assert (turned == np.rot90(mask)).mean() > 0.999


def test_texture_changes_the_image_only_in_value():
    image, _ = shape_pair()
    changed = [random_texture(image, np.random.default_rng(seed)) for seed in range(10)]
    assert all(c.shape == image.shape and c.dtype == np.uint8 for c in changed)
    assert sum(not np.array_equal(c, image) for c in changed) >= 5


def test_texture_is_reproducible_from_the_seed():
    image, _ = shape_pair()
    a = random_texture(image, np.random.default_rng(3))
    b = random_texture(image, np.random.default_rng(3))
    assert np.array_equal(a, b)


def test_edge_is_a_band_about_four_pixels_wide_on_the_contour():
    mask = np.zeros((100, 100), np.uint8)
    mask[20:80, 20:80] = 1
    edge = edge_from_mask(mask)
    row = edge[50]
    band = np.flatnonzero(row[:50])
    assert 4 <= len(band) <= 5  # cv2 draws thickness 4 as 4-5 px
    assert band.min() <= 20 <= band.max()  # centred on the boundary
    assert edge[50, 50] == 0 and edge[5, 5] == 0
    assert not edge_from_mask(np.zeros((10, 10), np.uint8)).any()
