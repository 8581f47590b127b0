import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portraitnet.inference.preprocess import (MEAN, PAD_VALUE, STD, Letterbox, letterbox_image, letterbox_mask,
                                              normalize, resize_image, unletterbox)
from portraitnet.inference.route import prepare_batch

from conftest import REPO


def test_portrait_image_is_fitted_centred_and_padded_grey():
    image = np.full((800, 600, 3), 7, np.uint8)
    square, box = letterbox_image(image, 224)
    assert square.shape == (224, 224, 3)
    assert (box.fitted_height, box.fitted_width) == (224, 168)
    assert box.left == 28 and box.top == 0
    assert (square[:, :28] == PAD_VALUE).all() and (square[:, -28:] == PAD_VALUE).all()
    assert (square[:, 28:-28] == 7).all()


def test_mask_letterbox_pads_with_background_and_counts_any_nonzero_as_person():
    mask = np.zeros((100, 200), np.uint8)
    mask[:, :100] = 3
    square = letterbox_mask(mask, 64)
    assert set(np.unique(square)) == {0, 1}
    assert square[:16].sum() == 0 and square[-16:].sum() == 0  # padding rows
    assert square[20:44, :30].all() and not square[20:44, 34:].any()


def test_pad_value_normalises_to_about_zero():
    batch, _ = prepare_batch([np.full((64, 64, 3), PAD_VALUE, np.uint8)], 64)
    tensor = batch[0]
    assert batch.shape == (1, 3, 64, 64) and batch.dtype == np.float32
    assert np.allclose(tensor, ((PAD_VALUE - MEAN) / STD)[:, None, None], atol=1e-6)
    assert abs(float(tensor.mean())) < 0.3


def test_normalize_handles_batches():
    assert normalize(np.zeros((5, 32, 32, 3), np.uint8)).shape == (5, 3, 32, 32)


def test_wrong_image_kinds_are_refused():
    with pytest.raises(ValueError, match="multiple of 32"):
        Letterbox.fit(10, 10, 100)


@settings(max_examples=40, deadline=None)
@given(height=st.integers(8, 900), width=st.integers(8, 900), size=st.sampled_from([64, 224]))
def test_a_mask_survives_letterbox_and_back(height, width, size):
    """A half-and-half mask, letterboxed then mapped back, lands at the original size with the split in place."""
    mask = np.zeros((height, width), np.float32)
    mask[:, : width // 2] = 1
    box = Letterbox.fit(height, width, size)
    square = np.zeros((size, size), np.float32)
    square[box.top:box.top + box.fitted_height, box.left:box.left + box.fitted_width] = \
        letterbox_mask(mask, size)[box.top:box.top + box.fitted_height, box.left:box.left + box.fitted_width]
    back = unletterbox(square, box) > 0.5
    assert back.shape == (height, width)
    # columns well inside either half are right, whatever the scale
    margin = int(np.ceil(2 / box.scale)) + 1
    if width // 2 - margin > 0:
        assert back[:, : width // 2 - margin].all()
    if width // 2 + margin < width:
        assert not back[:, width // 2 + margin:].any()


def test_fit_input_is_the_fitted_image_rounded_up_to_multiples_of_32():
    box = Letterbox.fit(720, 1280, 224, fit=True)
    assert (box.input_height, box.input_width, box.fitted_height, box.fitted_width) == (128, 224, 126, 224)
    assert (box.top, box.left) == (1, 0)
    assert Letterbox.fit(800, 600, 224, fit=True).input_width == 192  # 168 rounds up to 192
    batch, boxes = prepare_batch([np.zeros((720, 1280, 3), np.uint8), np.zeros((800, 600, 3), np.uint8)], 224,
                                 fit=True)
    assert batch.shape == (2, 3, 224, 224)  # one shape per batch: the smallest that holds both
    assert (boxes[0].top, boxes[1].left) == (49, 28)
    assert prepare_batch([np.zeros((720, 1280, 3), np.uint8)] * 2, 224, fit=True)[0].shape == (2, 3, 128, 224)


def test_a_large_shrink_halves_first_and_stays_an_area_average():
    """A 1920 x 1080 frame goes to 224 x 126 through two 2 x 2 halvings (OpenCV's fast path) and one area resize,
    an 854 x 480 one through one; the result must stay within a grey level or so of one direct area resize, and be
    exactly it where no halving applies (less than three times the size wanted, or an odd side)."""
    photo = cv2.cvtColor(cv2.imread(str(REPO / "examples" / "astronaut.jpg")), cv2.COLOR_BGR2RGB)
    for size, halved in (((1920, 1080), True), ((854, 480), True), ((600, 338), False), ((1281, 721), False)):
        frame = cv2.resize(photo, size, interpolation=cv2.INTER_CUBIC)
        fitted = (224, round(224 * size[1] / size[0]))
        ours = resize_image(frame, *fitted).astype(np.float32)
        direct = cv2.resize(frame, fitted, interpolation=cv2.INTER_AREA).astype(np.float32)
        assert ours.shape == direct.shape
        difference = np.abs(ours - direct)
        if halved:
            assert 0 < difference.mean() < 1.5, difference.mean()
        else:
            assert difference.max() == 0
