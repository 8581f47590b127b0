import shutil

import cv2
import numpy as np
import pytest

from portraitnet.training.check import check_dataset
from portraitnet.training.data import (DataError, image_hashes, list_samples, load_pair, load_target,
                                       remove_duplicates, split_validation, with_teacher)


def test_reads_pairs_in_split_order(synthetic_dataset):
    samples = list_samples(synthetic_dataset, "train")
    assert [s.stem for s in samples] == [f"{i:05d}" for i in range(9)]
    image, mask = load_pair(samples[0])
    assert image.shape == (120, 90, 3) and image.dtype == np.uint8
    assert set(np.unique(mask)) == {0, 1}
    assert len(list_samples(synthetic_dataset)) == 12  # no split: every image


def test_split_entries_with_extensions_are_read_as_stems(synthetic_dataset):
    (synthetic_dataset / "official.txt").write_text("00001.png\n00002.png\n")
    assert [s.stem for s in list_samples(synthetic_dataset, "official.txt")] == ["00001", "00002"]


def test_missing_mask_is_named(synthetic_dataset):
    (synthetic_dataset / "masks" / "00003.png").unlink()
    with pytest.raises(DataError, match=r"00003\.png: missing mask"):
        list_samples(synthetic_dataset, "train")


def test_split_naming_a_missing_image_is_named(synthetic_dataset):
    (synthetic_dataset / "train.txt").write_text("00001\nghost\n")
    with pytest.raises(DataError, match="names 'ghost'"):
        list_samples(synthetic_dataset, "train")


def test_empty_or_absent_split_is_refused(synthetic_dataset):
    (synthetic_dataset / "empty.txt").write_text("\n\n")
    with pytest.raises(DataError, match="empty.txt: split list is empty"):
        list_samples(synthetic_dataset, "empty")
    with pytest.raises(DataError, match="split list not found"):
        list_samples(synthetic_dataset, "nope")


def test_size_mismatch_is_named(synthetic_dataset):
    cv2.imwrite(str(synthetic_dataset / "masks" / "00002.png"), np.zeros((10, 10), np.uint8))
    sample = list_samples(synthetic_dataset, "train")[2]
    with pytest.raises(DataError, match=r"00002\.png: mask is 10x10 but its image 00002\.jpg is 90x120"):
        load_pair(sample)


def test_teachers_soft_masks_blend_into_the_target_and_missing_ones_are_named(synthetic_dataset, tmp_path):
    teachers = tmp_path / "teachers"
    teachers.mkdir()
    samples = list_samples(synthetic_dataset, "train")[:2]
    for sample in samples:
        cv2.imwrite(str(teachers / f"{sample.stem}.png"), np.full((120, 90), 204, np.uint8))  # 0.8 everywhere
    _, mask = load_pair(samples[0])
    _, target = load_target(with_teacher(samples, teachers, 0.25)[0])
    assert target.dtype == np.float32
    np.testing.assert_allclose(target, 0.75 * mask + 0.25 * 0.8, atol=1e-6)
    np.testing.assert_array_equal(load_target(samples[0])[1], mask)  # no teacher: the mask itself
    with pytest.raises(DataError, match=r"teachers/00002\.png: missing teachers' soft mask for image 00002\.jpg"):
        with_teacher(list_samples(synthetic_dataset, "train")[:3], teachers, 0.25)
    cv2.imwrite(str(teachers / "00001.png"), np.zeros((10, 10), np.uint8))
    with pytest.raises(DataError, match=r"00001\.png: soft mask is 10x10 but its image 00001\.jpg is 90x120"):
        load_target(with_teacher(samples, teachers, 0.25)[1])


def test_unreadable_image_is_named(synthetic_dataset):
    (synthetic_dataset / "images" / "00004.jpg").write_text("this is not a jpeg")
    sample = list_samples(synthetic_dataset, "train")[4]
    with pytest.raises(DataError, match=r"00004\.jpg: not an image"):
        load_pair(sample)


def test_test_duplicates_leave_training_and_duplicates_share_a_side(synthetic_dataset):
    images = synthetic_dataset / "images"
    shutil.copy(images / "00010.jpg", images / "00001.jpg")  # a train image equal to a test image
    shutil.copy(images / "00005.jpg", images / "00006.jpg")  # two equal train images
    train, test = list_samples(synthetic_dataset, "train"), list_samples(synthetic_dataset, "test")
    train_hashes, test_hashes = image_hashes(train), image_hashes(test)
    kept, dropped = remove_duplicates(train, train_hashes, test_hashes)
    assert dropped == ["00001"] and len(kept) == 8
    for seed in range(10):
        fit, val = split_validation(kept, train_hashes, 0.25, seed)
        assert len(fit) + len(val) == 8 and len(val) >= 2
        val_stems = {s.stem for s in val}
        assert ("00005" in val_stems) == ("00006" in val_stems)


def test_check_data_lists_every_problem(synthetic_dataset):
    root = synthetic_dataset
    (root / "masks" / "00000.png").unlink()
    cv2.imwrite(str(root / "masks" / "00002.png"), np.zeros((10, 10), np.uint8))
    cv2.imwrite(str(root / "masks" / "00003.png"), np.arange(90 * 120, dtype=np.uint8).reshape(120, 90))
    (root / "images" / "00004.jpg").write_bytes(b"garbage")
    shutil.copy(root / "images" / "00010.jpg", root / "images" / "00001.jpg")
    (root / "extra.txt").write_text("00005\nghost\n")
    report = check_dataset(root, ["train", "test", "extra"])
    text = "\n".join(report.errors + report.warnings)
    assert not report.ok
    assert "00000.png: missing mask" in text
    assert "00002.png: mask is 10x10" in text
    assert "00003.png: not binary" in text
    assert "00004.jpg: not an image" in text
    assert "duplicate images across splits: 00001 (train), 00010 (test)" in text
    assert "names 1 stems without an image/mask pair: ghost" in text
    assert "00005: listed in several splits (extra, train)" in text


def test_check_data_passes_a_clean_dataset(synthetic_dataset):
    report = check_dataset(synthetic_dataset, ["train", "test"])
    assert report.ok and report.pairs == 12 and report.split_sizes == {"train": 9, "test": 3}
