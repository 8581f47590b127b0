"""`portraitnet export`: fp32 and int8 ONNX files that ONNX Runtime runs, and clear errors before any work."""

import shutil

import pytest

from portraitnet.cli.main import main
from portraitnet.segmenter import Segmenter, onnxruntime_available

from conftest import REPO

SAMPLE = REPO / "examples" / "astronaut.jpg"

pytestmark = pytest.mark.skipif(not onnxruntime_available(),
                                reason="onnxruntime not installed (pip install 'portraitnet[onnx]')")


def test_export_int8_segments_like_fp32(tmp_path, capsys):
    photos = tmp_path / "photos"
    photos.mkdir()
    shutil.copy(SAMPLE, photos / "a.jpg")
    shutil.copy(SAMPLE, photos / "b.jpg")
    (photos / "notes.txt").write_text("not a photo")
    out = tmp_path / "out" / "m.onnx"
    assert main(["export", "-o", str(out), "--int8", "--calibration", str(photos)]) == 0
    assert "calibrated on 2 photos" in capsys.readouterr().out
    int8 = out.with_suffix(".int8.onnx")
    assert int8.stat().st_size < out.stat().st_size / 2  # int8 weights: about a quarter

    fp32_mask = Segmenter(out).predict(SAMPLE) > 0.5
    int8_mask = Segmenter(int8).predict(SAMPLE) > 0.5
    iou = (fp32_mask & int8_mask).sum() / (fp32_mask | int8_mask).sum()
    assert fp32_mask.mean() > 0.1 and iou > 0.95


@pytest.mark.parametrize("calibration, message", [
    (None, "--int8 needs --calibration FOLDER"),
    ("missing", "missing: not a folder of calibration photos"),
    ("empty", "empty: no photos to calibrate on"),
])
def test_int8_mistakes_are_reported_before_anything_is_written(tmp_path, capsys, calibration, message):
    (tmp_path / "empty").mkdir()
    args = ["export", "-o", str(tmp_path / "m.onnx"), "--int8"]
    if calibration:
        args += ["--calibration", str(tmp_path / calibration)]
    assert main(args) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "m.onnx").exists()
