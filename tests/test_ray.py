"""segment-dataset on a local Ray cluster started here: the same files as `segment`, bad photos as manifest rows,
re-runs that skip what is done, and a worker killed mid-run that Ray replaces."""

import json
import os
import shutil
import sys

import pytest

ray = pytest.importorskip("ray", reason="the ray extra is not installed (pip install 'portraitnet[ray]')")

from portraitnet.cli.main import main  # noqa: E402
from portraitnet.inference.ray_segment import SegmentWorker, segment_dataset  # noqa: E402

from conftest import REPO  # noqa: E402

SAMPLE = REPO / "examples" / "astronaut.jpg"


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    ray.data.DataContext.get_current().enable_progress_bars = False
    yield
    ray.shutdown()


@pytest.fixture
def photos(tmp_path):
    """Three good photos (one in a sub-folder) and one that is not an image."""
    folder = tmp_path / "photos"
    (folder / "nested").mkdir(parents=True)
    shutil.copy(SAMPLE, folder / "a.jpg")
    shutil.copy(SAMPLE, folder / "nested" / "b.jpg")
    from PIL import Image
    Image.open(SAMPLE).resize((300, 400)).save(folder / "c.png")
    (folder / "broken.jpg").write_bytes(b"not a photo")
    return folder


def manifest(out):
    return {json.loads(line)["input"].rsplit("/", 1)[1]: json.loads(line)
            for line in (out / "manifest.jsonl").read_text().splitlines()}


@pytest.mark.slow
def test_the_same_files_as_segment_a_complete_manifest_and_a_rerun_that_skips(cluster, photos, tmp_path, capsys):
    out = tmp_path / "ray"
    assert main(["segment-dataset", str(photos), "-o", str(out), "-f", "mask,cutout", "--actors", "2",
                 "--batch-size", "2"]) == 1  # the broken photo fails the run's exit code, not the job
    assert "broken.jpg: not an image" in capsys.readouterr().err
    rows = manifest(out)
    assert {name: row["status"] for name, row in rows.items()} == {"a.jpg": "ok", "b.jpg": "ok", "c.png": "ok",
                                                                   "broken.jpg": "failed"}
    assert main(["segment", str(photos), "-r", "-o", str(tmp_path / "plain"), "-f", "mask,cutout",
                 "--no-progress"]) == 1
    for name in ("a.png", "a_cutout.png", "nested/b.png", "nested/b_cutout.png", "c.png", "c_cutout.png"):
        assert (out / name).read_bytes() == (tmp_path / "plain" / name).read_bytes(), name

    (out / "a.png").unlink()  # a re-run trusts the manifest: done photos are skipped, failed ones retried
    report = segment_dataset(str(photos), str(out), ["mask", "cutout"], actors=1)
    assert (report.photos, report.skipped, report.done, len(report.failures)) == (4, 3, 0, 1)
    assert not (out / "a.png").exists() and len(manifest(out)) == 4


ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # Ray's workers cannot import this test module


class DiesOnce(SegmentWorker):
    """A worker whose process dies on its first batch (the marker file says whether one already has)."""

    marker = ""

    def __call__(self, batch):
        if not os.path.exists(self.marker):
            open(self.marker, "w").close()
            os._exit(1)
        return super().__call__(batch)


@pytest.mark.slow
def test_a_worker_killed_mid_run_is_replaced_and_nothing_is_lost(cluster, photos, tmp_path, monkeypatch):
    (photos / "broken.jpg").unlink()
    monkeypatch.setattr(DiesOnce, "marker", str(tmp_path / "died"))
    out = tmp_path / "ray"
    report = segment_dataset(str(photos), str(out), ["mask"], actors=1, batch_size=1, worker=DiesOnce)
    assert (tmp_path / "died").exists()  # it did die
    assert (report.done, report.failures) == (3, [])
    assert all(row["status"] == "ok" for row in manifest(out).values()) and len(manifest(out)) == 3
