"""The window script packs data, trains until its time is nearly spent, brings back what it needs and resumes."""

import subprocess
import sys
import time

import pytest

from conftest import REPO
from portraitnet.training.checkpoint import load_checkpoint, load_model
from portraitnet.training.train import read_log

pytestmark = pytest.mark.slow


def window(*args: str) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, str(REPO / "tools" / "train_window.py"), *args], capture_output=True,
                            text=True, timeout=300, cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_a_window_trains_within_its_time_brings_results_back_and_the_next_resumes(synthetic_dataset, tmp_path):
    config = tmp_path / "tiny.toml"
    config.write_text(f'data_root = "{synthetic_dataset}"\ntrain_list = "train.txt"\ntest_list = "test.txt"\n'
                      'val_fraction = 0.25\ninput_size = 64\nbatch_size = 4\nepochs = 400\nema_decay = 0.9\n'
                      'consistency_loss = false\nsingle_view = true\ndata_path = "tensor"\n')
    archive = tmp_path / "pack" / "tiny.tgz"
    window("pack", "--config", str(config), "--out", str(archive), "--max-side", "64")
    assert archive.is_file()

    first, second = tmp_path / "first", tmp_path / "second"
    started = time.monotonic()
    window("run", "--config", str(config), "--data", str(archive), "--seconds", "20", "--reserve", "5",
           "--out", str(first), "--work", str(tmp_path / "work1"))
    assert time.monotonic() - started < 20 + 30  # the window, and the interpreter's start on a busy machine
    assert {"best_fp16.pt", "last.pt.part-00", "log.jsonl", "curves.png"} <= {p.name for p in first.iterdir()}
    done = len(read_log(first / "log.jsonl"))
    assert 1 <= done < 400  # it stopped on time, long before the schedule's end
    model, payload = load_model(first / "best_fp16.pt")
    assert payload["config"]["input_size"] == 64

    window("run", "--config", str(config), "--data", str(archive), "--seconds", "15", "--reserve", "5",
           "--out", str(second), "--state", str(first), "--work", str(tmp_path / "work2"))
    records = read_log(second / "log.jsonl")
    assert [r["epoch"] for r in records[:done]] == list(range(1, done + 1)) and len(records) > done
    joined = tmp_path / "last.pt"
    joined.write_bytes(b"".join(p.read_bytes() for p in sorted(second.glob("last.pt.part-*"))))
    assert load_checkpoint(joined)["epoch"] == len(records)
