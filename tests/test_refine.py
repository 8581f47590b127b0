"""The edge-aware refinement: the mask's edge moves onto the photo's edge, and flat regions are left alone."""

import cv2
import numpy as np
import pytest

from portraitnet.inference import route
from portraitnet.inference.preprocess import Letterbox
from portraitnet.inference.refine import Refinement, grey, refined


def disc_photo(height: int = 800, width: int = 600) -> tuple[np.ndarray, np.ndarray]:
    """A bright person-like disc with a sharp edge on a dark textured background, and its true mask."""
    rng = np.random.default_rng(0)
    mask = np.zeros((height, width), np.uint8)
    cv2.ellipse(mask, (width // 2, height // 2), (width // 3, height // 3), 20, 0, 360, 1, -1)
    background = rng.integers(20, 60, (height, width, 3), dtype=np.uint8)
    person = np.full((height, width, 3), (200, 170, 150), np.uint8)
    return np.where(mask[..., None] > 0, person, background), mask


def coarse_model(batch: np.ndarray) -> np.ndarray:
    """A stand-in network whose mask is right but blurred: its edges are as coarse as a 224-px prediction's."""
    brightness = batch.mean(axis=1)
    probability = (brightness > 0.5).astype(np.float32)
    return np.stack([cv2.GaussianBlur(p, (0, 0), 1.5) for p in probability])


def edge_error(probability: np.ndarray, mask: np.ndarray) -> float:
    """Mean absolute error within 8 px of the true edge."""
    band = cv2.dilate(mask, np.ones((17, 17), np.uint8)) != cv2.erode(mask, np.ones((17, 17), np.uint8))
    return float(np.abs(probability - mask)[band].mean())


def test_the_refined_mask_follows_a_sharp_edge_closer_than_the_upsampled_one():
    photo, mask = disc_photo()
    plain = route.predict(coarse_model, [photo], 224, fit=True)[0]
    sharp = route.predict(coarse_model, [photo], 224, fit=True, refinement=Refinement())[0]
    assert sharp.shape == plain.shape == mask.shape
    assert edge_error(sharp, mask) < 0.8 * edge_error(plain, mask)  # measured: 0.67
    iou = lambda p: ((p > 0.5) & (mask > 0)).sum() / ((p > 0.5) | (mask > 0)).sum()
    assert iou(sharp) >= iou(plain)


def test_where_the_photo_is_flat_the_mask_stays_where_it_was():
    """No edge in the photo: the linear fit has no slope, so the mask's edge stays where the network put it."""
    photo = np.full((480, 640, 3), 90, np.uint8)
    probability = np.zeros((224, 224), np.float32)
    probability[80:150, 60:170] = 1
    probability = cv2.GaussianBlur(probability, (0, 0), 4)
    box = Letterbox.fit(480, 640, 224)
    plain = route.map_back([probability], [box])[0]
    sharp = refined(probability, box, grey(photo), Refinement())
    assert ((sharp > 0.5) & (plain > 0.5)).sum() / ((sharp > 0.5) | (plain > 0.5)).sum() > 0.99
    assert np.abs(sharp - plain).mean() < 0.005


def test_the_refined_mask_lands_at_the_size_asked_for():
    photo, _ = disc_photo(400, 300)
    probability = coarse_model(route.prepare_batch([photo], 224)[0])[0]
    box = Letterbox.fit(400, 300, 224)
    assert refined(probability, box, grey(photo), Refinement(), size=(800, 600)).shape == (800, 600)


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="radius"):
        Refinement(radius=0)
