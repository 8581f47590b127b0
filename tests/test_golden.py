"""The shipped model's mask of the sample photo, held to a stored copy (tests/golden/, written by
tools/ship_model.py when a model is shipped): a change to decoding, colour order, normalisation, letterboxing or
mapping back that alters what users get fails here, whichever way into the package it takes."""

import cv2
import numpy as np
import pytest

from portraitnet.cli.main import main
from portraitnet.inference.segmenter import Segmenter, module_available

from conftest import REPO

SAMPLE = REPO / "examples" / "astronaut.jpg"
GOLDEN = REPO / "tests" / "golden" / "astronaut_mask.png"
GOLDEN_UNREFINED = REPO / "tests" / "golden" / "astronaut_mask_unrefined.png"


def agreement(probability: np.ndarray, path=GOLDEN) -> tuple[float, float]:
    """IoU of the two masks at 0.5, and the mean absolute difference of the probabilities."""
    golden = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE).astype(np.float32) / 255
    assert probability.shape == golden.shape
    pred, true = probability >= 0.5, golden >= 0.5
    return (pred & true).sum() / (pred | true).sum(), float(np.abs(probability - golden).mean())


def assert_golden(probability: np.ndarray, path=GOLDEN) -> None:
    iou, difference = agreement(probability, path)
    assert iou >= 0.99 and difference < 0.01, f"IoU {iou:.4f} with the golden mask, mean |difference| {difference:.4f}"


def test_the_api_reproduces_the_golden_mask():
    assert_golden(Segmenter().predict(SAMPLE))


def test_without_the_refinement_the_api_reproduces_the_unrefined_golden_mask():
    """The route up to the refinement: the mask before the refinement became the default, unchanged since."""
    assert_golden(Segmenter(refine=False).predict(SAMPLE), GOLDEN_UNREFINED)


def test_segment_writes_the_golden_mask(tmp_path):
    assert main(["segment", str(SAMPLE), "-o", str(tmp_path), "--no-progress"]) == 0
    assert_golden(cv2.imread(str(tmp_path / "astronaut.png"), cv2.IMREAD_GRAYSCALE).astype(np.float32) / 255)


def test_segment_with_refine_off_writes_the_unrefined_golden_mask(tmp_path):
    assert main(["segment", str(SAMPLE), "-o", str(tmp_path), "--no-progress", "--refine", "off"]) == 0
    mask = cv2.imread(str(tmp_path / "astronaut.png"), cv2.IMREAD_GRAYSCALE).astype(np.float32) / 255
    assert_golden(mask, GOLDEN_UNREFINED)


def test_the_mask_does_not_depend_on_the_other_formats_asked_for(tmp_path):
    assert main(["segment", str(SAMPLE), "-o", str(tmp_path / "one"), "--no-progress"]) == 0
    assert main(["segment", str(SAMPLE), "-o", str(tmp_path / "all"), "--no-progress", "-f", "mask,cutout,blur"]) == 0
    alone = cv2.imread(str(tmp_path / "one" / "astronaut.png"), cv2.IMREAD_UNCHANGED)
    beside = cv2.imread(str(tmp_path / "all" / "astronaut.png"), cv2.IMREAD_UNCHANGED)
    alpha = cv2.imread(str(tmp_path / "all" / "astronaut_cutout.png"), cv2.IMREAD_UNCHANGED)[..., 3]
    assert np.array_equal(alone, beside) and np.array_equal(alone, alpha)


@pytest.mark.skipif(not module_available("torch"), reason="the .pt checkpoint needs torch (the train extra)")
def test_the_torch_backend_reproduces_the_golden_mask():
    assert_golden(Segmenter(backend="torch").predict(SAMPLE))


def test_evaluation_runs_what_inference_runs(monkeypatch):
    """`evaluate` scores at full size the probability users get, and feeds the graph the route's own batch."""
    pytest.importorskip("torch", reason="evaluation reads the .pt checkpoint")
    from portraitnet.evaluation.evaluate import predict_images
    from portraitnet.inference import route
    from portraitnet.inference.imageio import load_rgb

    segmenter = Segmenter()
    rgb = load_rgb(SAMPLE)
    evaluated = predict_images(segmenter, [rgb], segmenter.input_size)[0]
    assert np.abs(evaluated.full_probability - segmenter.predict(SAMPLE)).max() < 1e-6
    square = segmenter.run_batch(route.prepare_batch([rgb], segmenter.input_size)[0])[0]
    assert np.array_equal(evaluated.probability, square)
