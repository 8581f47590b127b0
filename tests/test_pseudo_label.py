"""tools/pseudo_label.py: how the teachers' labels of a photo are combined."""

import numpy as np

from conftest import load_tool

pseudo_label = load_tool("pseudo_label")


def bright(image: np.ndarray) -> np.ndarray:
    """A stand-in teacher: the person is wherever the photo is bright."""
    return (image.mean(axis=2) > 128).astype(np.float32)


def test_flip_averaged_labels_are_mirrored_back_onto_the_photo(monkeypatch):
    monkeypatch.setattr(pseudo_label, "mediapipe_probabilities", lambda images, python: [bright(i) for i in images])
    photo = np.zeros((40, 60, 3), np.uint8)
    photo[5:30, 4:20] = 255  # the "person" on the left
    unsure_teacher = lambda image: 0.5 * bright(image) + 0.25  # a teacher less sure than the other

    plain = pseudo_label.teachers_mean([photo], "python", unsure_teacher, flip_average=False)[0]
    flipped = pseudo_label.teachers_mean([photo], "python", unsure_teacher, flip_average=True)[0]
    assert np.allclose(plain, (bright(photo) + unsure_teacher(photo)) / 2)
    assert np.allclose(flipped, plain)  # the mirrored photo's labels land where the person is
    assert flipped[10, 10] > 0.8 and flipped[10, 50] < 0.2
