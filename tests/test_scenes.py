import numpy as np
import pytest

from portraitnet.inference.preprocess import PAD_VALUE
from portraitnet.evaluation.photometric import colour_temperature, gamma_curve, jpeg_artefacts
from portraitnet.training.scenes import Placement, canvas_size, compose, person_matrix, random_placement, reframe

RED, BLUE, GREY = (220, 20, 20), (20, 20, 220), (90, 90, 90)


def person_photo(height=200, width=150, colour=RED):
    """A photo whose person (a block touching the bottom edge) is `colour` on a dark background."""
    image = np.full((height, width, 3), 10, np.uint8)
    mask = np.zeros((height, width), np.uint8)
    mask[60:, 40:110] = 1
    image[mask > 0] = colour
    return image, mask


def test_canvas_sizes_keep_the_aspect_and_the_longer_side():
    assert canvas_size(16 / 9, 224) == (224, 126)
    assert canvas_size(3 / 4, 224) == (168, 224)
    assert canvas_size(1.0, 64) == (64, 64)


def test_placement_sets_height_and_bottom():
    place = Placement(height_fraction=0.5, centre_x=0.5, bottom=1.0)
    m = person_matrix(200, 150, (300, 400), place)
    top = m @ np.array([75, 0, 1.0])
    bottom = m @ np.array([75, 200, 1.0])
    assert bottom[1] == pytest.approx(400, abs=1) and bottom[1] - top[1] == pytest.approx(200, abs=1)
    assert top[0] == pytest.approx(150, abs=1)


def test_composite_label_is_the_pasted_person_plus_the_visible_scene_person():
    person, person_mask = person_photo(colour=RED)
    scene = np.full((200, 150, 3), GREY, np.uint8)
    scene_mask = np.zeros((200, 150), np.uint8)
    scene_mask[:, :30] = 1  # the scene's own person along the left edge
    scene[scene_mask > 0] = BLUE
    place = Placement(height_fraction=0.6, centre_x=0.6, bottom=1.0)
    image, mask = compose(person, person_mask, scene, scene_mask, (150, 200), place, edge_sigma=0.0)
    red = np.all(image == RED, axis=2)
    blue = np.all(image == BLUE, axis=2)
    grey = np.all(image == GREY, axis=2)
    assert red.sum() > 500 and blue.sum() > 500
    assert mask[red].all() and mask[blue].all()  # both persons are labelled
    assert not mask[grey].any()  # the scene's background is not
    assert (red | blue | grey).mean() > 0.97  # only resampling seams are anything else


def test_soft_paste_edge_blends_but_keeps_the_label_hard():
    person, person_mask = person_photo()
    scene = np.full((200, 150, 3), GREY, np.uint8)
    place = Placement(height_fraction=1.0, centre_x=0.5, bottom=1.0)
    image, mask = compose(person, person_mask, scene, np.zeros((200, 150), np.uint8), (150, 200), place,
                          edge_sigma=1.0)
    assert set(np.unique(mask)) == {0, 1}
    row = image[150, 30:50, 0].astype(int)  # across the left side of the person: grey -> red, gradually
    assert row[0] == GREY[0] and row[-1] == RED[0]
    assert len(set(row.tolist())) > 3


def test_reframe_fills_the_uncovered_canvas_grey():
    person, person_mask = person_photo()
    image, mask = reframe(person, person_mask, (224, 126), Placement(0.6, 0.3, 1.0))
    assert image.shape == (126, 224, 3) and mask.shape == (126, 224)
    assert (image[:, -40:] == PAD_VALUE).all() and not mask[:, -40:].any()
    red = np.all(image == RED, axis=2)
    assert mask[red].all() and red.sum() > 100


def test_random_placements_stay_in_their_ranges():
    rng = np.random.default_rng(0)
    places = [random_placement(rng) for _ in range(300)]
    heights = [p.height_fraction for p in places]
    assert 0.35 <= min(heights) < 0.5 and 1.0 < max(heights) <= 1.3
    assert all(0.2 <= p.centre_x <= 0.8 for p in places)


def test_photometric_changes():
    image = np.full((32, 32, 3), 128, np.uint8)
    warm = colour_temperature(image, 0.2)
    assert warm[0, 0, 0] > 128 > warm[0, 0, 2]
    assert gamma_curve(image, 2.0)[0, 0, 0] < 128 < gamma_curve(image, 0.5)[0, 0, 0]
    noisy = np.random.default_rng(0).integers(0, 255, (32, 32, 3), dtype=np.uint8)
    assert not np.array_equal(jpeg_artefacts(noisy, 20), noisy)


def test_robustness_variants_are_deterministic_and_shaped_as_described():
    from portraitnet.evaluation.robustness import VARIANTS, make_variant
    pairs = [person_photo(colour=c) for c in (RED, BLUE, (20, 200, 20))]
    for variant in VARIANTS:
        a_image, a_mask = make_variant(variant, 0, pairs, seed=1)
        b_image, b_mask = make_variant(variant, 0, pairs, seed=1)
        assert np.array_equal(a_image, b_image) and np.array_equal(a_mask, b_mask)
        expected = (720, 1280) if variant == "landscape" else (200, 150)
        assert a_image.shape[:2] == a_mask.shape == expected
        assert a_mask.any()
    with pytest.raises(ValueError, match="unknown robustness variant"):
        make_variant("fog", 0, pairs)


def test_zoomed_in_variant_enlarges_the_photo_itself_and_keeps_the_mask_on_the_person():
    from portraitnet.evaluation.robustness import make_variant
    pairs = [person_photo(colour=c) for c in (RED, BLUE)]
    image, mask = make_variant("zoomed_in", 0, pairs, seed=3)
    assert mask.mean() > pairs[0][1].mean()  # the person covers more of the frame
    assert not (image == PAD_VALUE).all(axis=2).any()  # the photo still covers the whole frame: no padding
    assert (image[mask > 0] == RED).all(axis=1).mean() > 0.95  # the person is the photo's own, not another's
    assert not (image == BLUE).all(axis=2).any()
