import numpy as np
import pytest

from portraitnet.evaluation.metrics import DatasetIoU, boundary, boundary_f_score, foreground_iou


def test_foreground_iou_on_hand_made_masks():
    a = np.zeros((10, 10), np.uint8)
    b = np.zeros((10, 10), np.uint8)
    a[:, :5] = 1  # 50 px
    b[:, 3:8] = 255  # 50 px, overlap 20
    assert foreground_iou(a, b) == pytest.approx(20 / 80)
    assert foreground_iou(a, a) == 1.0
    assert foreground_iou(a, np.zeros_like(a)) == 0.0
    assert foreground_iou(np.zeros_like(a), np.zeros_like(a)) == 1.0


def test_dataset_miou_pools_pixels_then_averages_the_two_classes():
    pred = np.zeros((2, 4), np.uint8)
    true = np.zeros((2, 4), np.uint8)
    pred[:, :2] = 1  # 4 px person
    true[:, :3] = 1  # 6 px person
    pooled = DatasetIoU()
    pooled.update(pred, true)
    # person: 4 / 6; background: 2 / 4
    assert pooled.per_class() == pytest.approx([2 / 4, 4 / 6])
    pooled.update(true, true)  # a perfect second image: person 10 / 12, background 4 / 6
    assert pooled.mean() == pytest.approx((4 / 6 + 10 / 12) / 2)


def test_boundary_is_the_inner_rim():
    mask = np.zeros((7, 7), np.uint8)
    mask[1:6, 1:6] = 1
    rim = boundary(mask)
    assert rim.sum() == 16 and not rim[3, 3] and rim[1, 1]


def test_boundary_f_score_tolerance():
    true = np.zeros((50, 50), np.uint8)
    true[10:40, 10:40] = 1
    assert boundary_f_score(true, true) == 1.0
    shifted = np.roll(true, 2, axis=1)  # every boundary pixel within 2 px
    assert boundary_f_score(shifted, true, tolerance=3) == 1.0
    assert boundary_f_score(shifted, true, tolerance=1) < 0.6  # the vertical sides now miss
    far = np.roll(true, 8, axis=0)
    assert boundary_f_score(far, true, tolerance=3) < 0.6
    assert boundary_f_score(np.zeros_like(true), true) == 0.0
    assert boundary_f_score(np.zeros_like(true), np.zeros_like(true)) == 1.0
