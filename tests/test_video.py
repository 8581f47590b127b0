"""Video files: effects per frame, temporal smoothing that measurably steadies the mask, and clear errors."""

import cv2
import numpy as np
import pytest

from portraitnet.cli.main import main
from portraitnet.evaluation.benchmark import static_clip
from portraitnet.inference.imageio import load_rgb
from portraitnet.inference.segmenter import Segmenter
from portraitnet.inference.video import FrameEffect, TemporalSmoother, VideoError, flicker, process_video

from conftest import REPO

SAMPLE = REPO / "examples" / "astronaut.jpg"


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return static_clip(load_rgb(SAMPLE), tmp_path_factory.mktemp("video") / "still.avi", frames=12, size=(160, 120),
                       noise=6.0)


@pytest.fixture(scope="module")
def segmenter():
    return Segmenter(backend="torch")


def test_smoother_blends_with_the_previous_frame():
    smoother = TemporalSmoother(0.75)
    first = smoother(np.zeros((2, 2), np.float32))
    second = smoother(np.ones((2, 2), np.float32))
    assert np.allclose(first, 0) and np.allclose(second, 0.25)
    assert np.allclose(smoother(np.ones((3, 3), np.float32)), 1)  # a new size starts afresh
    with pytest.raises(ValueError):
        TemporalSmoother(1.0)


def test_uncertain_smoothing_leaves_confident_pixels_alone():
    smoother = TemporalSmoother(0.5, "uncertain")
    smoother(np.array([0.0, 0.0, 1.0], np.float32))
    out = smoother(np.array([1.0, 0.5, 0.5], np.float32))
    # sure now (1.0): follows at once; undecided (0.5): half the previous frame's value blended in
    assert np.allclose(out, [1.0, 0.25, 0.75])
    with pytest.raises(ValueError, match="smoothing mode"):
        TemporalSmoother(0.5, "median")


def test_a_scene_cut_starts_the_smoothing_afresh(segmenter):
    from portraitnet.inference.video import SceneCut
    photo = cv2.resize(load_rgb(SAMPLE), (160, 120))
    noisy = np.clip(photo + np.random.default_rng(0).normal(0, 3, photo.shape), 0, 255).astype(np.uint8)
    other_shot = np.full_like(photo, 20)
    detector = SceneCut()
    assert [detector(frame) for frame in (photo, noisy, other_shot, other_shot)] == [False, False, True, False]
    effect = FrameEffect(segmenter, "blur", smoothing=0.9)
    effect.probability(photo)
    after_cut = effect.probability(other_shot)
    assert np.allclose(after_cut, segmenter.predict_arrays([other_shot])[0])  # no ghost of the person


def test_smoothing_lowers_flicker_on_a_still_scene(clip, segmenter):
    measured = {}
    for strength in (0.0, 0.6):
        effect = FrameEffect(segmenter, "blur", smoothing=strength)
        capture = cv2.VideoCapture(str(clip))
        probabilities = []
        ok, frame = capture.read()
        while ok:
            probabilities.append(effect.probability(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)))
            ok, frame = capture.read()
        measured[strength] = flicker(probabilities)
    assert measured[0.0] > 0
    assert measured[0.6] < 0.7 * measured[0.0]


@pytest.mark.parametrize("fmt", ["blur", "replace", "cutout"])
def test_formats_write_every_frame(clip, segmenter, tmp_path, fmt):
    output = tmp_path / ("frames" if fmt == "cutout" else "out.avi")
    effect = FrameEffect(segmenter, fmt, background=(0, 255, 0) if fmt == "replace" else None)
    stats = process_video(str(clip), output, effect)
    assert stats["frames"] == 12
    if fmt == "cutout":
        frames = sorted(output.glob("frame_*.png"))
        assert len(frames) == 12 and cv2.imread(str(frames[0]), cv2.IMREAD_UNCHANGED).shape == (120, 160, 4)
    else:
        capture = cv2.VideoCapture(str(output))
        assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 12
        assert (int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))) == (160, 120)


def test_video_command_and_its_errors(clip, tmp_path, capsys):
    out = tmp_path / "blurred.avi"
    assert main(["video", str(clip), "-o", str(out), "--backend", "torch", "--no-progress"]) == 0
    assert "12 frames" in capsys.readouterr().out and out.stat().st_size > 0
    assert main(["video", str(tmp_path / "none.mp4"), "-o", str(out)]) == 2
    assert "none.mp4: no such video file" in capsys.readouterr().err
    not_video = tmp_path / "notes.mp4"
    not_video.write_text("hello")
    assert main(["video", str(not_video), "-o", str(out), "--backend", "torch"]) == 2
    assert "notes.mp4: cannot open" in capsys.readouterr().err
    assert main(["video", str(clip), "-o", str(out), "--format", "replace"]) == 2
    assert "needs --background" in capsys.readouterr().err
    assert main(["video", "--camera", "7", "--no-preview"]) == 2
    assert "give -o to record" in capsys.readouterr().err
    assert main(["video", str(clip), "-o", str(out), "--format", "cutout"]) == 2  # a file where frames would go
    assert "blurred.avi: exists and is not a folder" in capsys.readouterr().err
    assert main(["video", str(clip), "-o", str(tmp_path)]) == 2
    assert "is a folder; name the video file" in capsys.readouterr().err


def test_missing_camera_is_an_error(segmenter):
    with pytest.raises(VideoError, match="camera 9"):
        process_video(9, None, FrameEffect(segmenter, "blur"))


@pytest.mark.slow
def test_benchmark_command_prints_every_figure(tmp_path, capsys):
    import json
    import shutil
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("a.jpg", "b.jpg"):
        shutil.copy(SAMPLE, folder / name)
    report = tmp_path / "bench.json"
    assert main(["benchmark", "--repeats", "3", "--folder", str(folder), "--int8", "--busy", "--json",
                 str(report)]) == 0
    printed = capsys.readouterr().out
    assert "onnx, busy, no spinning (default)" in printed and "onnx, idle, spinning" in printed
    assert "torch (224px)" in printed and "frames/s" in printed and "flicker" in printed
    assert "onnx int8 (224px)" in printed
    assert "segment 2 images" in printed
    assert "portrait 512x512: portraitnet" in printed and "frame 854x480: portraitnet" in printed
    figures = json.loads(report.read_text())
    assert figures["segment_folder"]["images"] == 2 and figures["video"]["video_640x480_blur_fps"] > 0
    assert figures["latency"]["onnx int8 (224px)"]["median_ms"] > 0


def test_benchmark_int8_needs_photos_to_calibrate_on(capsys):
    assert main(["benchmark", "--repeats", "1", "--int8"]) != 0
    assert "--folder" in capsys.readouterr().err


def test_benchmark_checks_its_folder_before_timing_anything(tmp_path, capsys):
    assert main(["benchmark", "--repeats", "1", "--folder", str(tmp_path / "missing")]) == 2
    assert "missing: no such folder" in capsys.readouterr().err
