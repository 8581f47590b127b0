"""`portraitnet export --format ort|tflite|web`: each format against the ONNX graph on sample photos."""

import hashlib

import numpy as np
import pytest

from portraitnet.cli.main import main
from portraitnet.inference.segmenter import Segmenter
from portraitnet.training.data import list_samples

from conftest import EG1800, REPO

pytestmark = pytest.mark.slow
SAMPLE = REPO / "examples" / "astronaut.jpg"


def sample_photos() -> list:
    """The shipped sample, and EG1800 test photos where ../shared has them."""
    photos = [SAMPLE]
    if (EG1800 / "images").is_dir():
        photos += [sample.image_path for sample in list_samples(EG1800, "eg1800_test_present.txt")[:8]]
    return photos


def agreement(reference: Segmenter, other, photos: list) -> tuple[float, float, float]:
    """The lowest and the median IoU of the two masks (threshold 0.5) over the photos, and the largest probability
    difference."""
    ious, differences = [], []
    for photo in photos:
        a, b = reference.predict(photo), other(photo)
        ious.append(((a > 0.5) & (b > 0.5)).sum() / max(1, ((a > 0.5) | (b > 0.5)).sum()))
        differences.append(float(np.abs(a - b).max()))
    return float(min(ious)), float(np.median(ious)), float(max(differences))


@pytest.fixture(scope="module")
def calibration(tmp_path_factory):
    """64 EG1800 training photos where ../shared has them, else three sizes of the sample."""
    import shutil

    import cv2
    folder = tmp_path_factory.mktemp("calibration")
    if (EG1800 / "images").is_dir():
        for sample in list_samples(EG1800, "eg1800_train_present.txt")[:64]:
            shutil.copy(sample.image_path, folder)
        return folder
    image = cv2.imread(str(SAMPLE))
    for index, scale in enumerate((1.0, 0.8, 0.6)):
        cv2.imwrite(str(folder / f"{index}.jpg"), cv2.resize(image, None, fx=scale, fy=scale))
    return folder


def test_ort_format_matches_the_onnx_graph_in_fp32_and_int8(tmp_path, calibration, capsys):
    for fmt in ("onnx", "ort"):
        assert main(["export", "--format", fmt, "-o", str(tmp_path / f"m.{fmt}"), "--int8",
                     "--calibration", str(calibration)]) == 0
    assert "m.int8.ort" in capsys.readouterr().out
    photos = sample_photos()
    for name in ("m", "m.int8"):
        iou, _, difference = agreement(Segmenter(tmp_path / f"{name}.onnx"),
                                       Segmenter(tmp_path / f"{name}.ort").predict, photos)
        print(f"{name}.ort against {name}.onnx on {len(photos)} photos: lowest IoU {iou:.4f}, "
              f"largest probability difference {difference:.2e}")
        assert iou >= 0.99
    assert Segmenter(tmp_path / "m.ort", fit_input=True).predict(SAMPLE).shape == (512, 512)


def test_tflite_format_matches_the_onnx_graph(tmp_path, calibration):
    pytest.importorskip("litert_torch", reason="LiteRT not installed (pip install 'portraitnet[tflite]')")
    from portraitnet.export.litert import TfliteModel
    assert main(["export", "--format", "tflite", "-o", str(tmp_path / "m.tflite"), "--int8",
                 "--calibration", str(calibration)]) == 0
    photos = sample_photos()
    reference = Segmenter()
    iou, _, difference = agreement(reference, TfliteModel(tmp_path / "m.tflite").predict, photos)
    print(f"m.tflite against the ONNX graph: lowest IoU {iou:.4f}, largest probability difference {difference:.2e}")
    assert iou >= 0.99
    # int8 is another quantiser's model (PT2E, not ONNX Runtime's): judged against fp32, as int8 ONNX is
    lowest, median, difference = agreement(reference, TfliteModel(tmp_path / "m.int8.tflite").predict, photos)
    print(f"m.int8.tflite against the ONNX graph (fp32): lowest IoU {lowest:.4f}, median {median:.4f}, "
          f"largest difference {difference:.2e}")
    assert median >= 0.95


def test_web_format_writes_a_page_that_runs_the_model(tmp_path, monkeypatch, capsys):
    from portraitnet.export import web as site
    monkeypatch.setattr(site, "web_runtime_installed", lambda: False)
    assert main(["export", "--format", "web", "-o", str(tmp_path / "none")]) == 2
    assert "ONNX Runtime Web is not installed beside the page" in capsys.readouterr().err
    monkeypatch.undo()
    if not site.web_runtime_installed():
        pytest.skip("ONNX Runtime Web not fetched (python tools/fetch_web_runtime.py, needs npm)")
    assert main(["export", "--format", "web", "-o", str(tmp_path / "site")]) == 0
    written = {p.relative_to(tmp_path / "site").as_posix() for p in (tmp_path / "site").rglob("*") if p.is_file()}
    assert {"index.html", "app.js", "segment.js", "effects.js", "model.onnx", "ort/ort.min.mjs"} <= written
    # the graph as the page runs it: the shipped graph with ONNX Runtime's hardware-independent optimisations applied
    written_graph = hashlib.sha256((tmp_path / "site" / "model.onnx").read_bytes()).hexdigest()
    assert written_graph == hashlib.sha256(site.browser_graph(Segmenter().onnx_path).read_bytes()).hexdigest()


def test_the_browser_graph_is_made_where_the_cache_cannot_be_written(tmp_path, monkeypatch):
    import onnx

    from portraitnet.export import web as site
    blocked = tmp_path / "a file"
    blocked.write_text("not a folder")
    monkeypatch.setattr(site, "cache_dir", lambda: blocked / "portraitnet")
    graph = site.browser_graph(Segmenter().onnx_path)
    assert graph.is_file() and blocked not in graph.parents
    assert "Cast" not in {node.op_type for node in onnx.load(str(graph)).graph.node}
