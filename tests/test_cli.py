"""The `portraitnet` command end to end, and its answers to user mistakes."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from portraitnet.cli.main import main
from portraitnet.training.checkpoint import load_checkpoint


def train_args(root, out):
    return ["train", "--data-root", str(root), "--train-list", "train.txt", "--test-list", "test.txt",
            "--val-fraction", "0.25", "--input-size", "64", "--batch-size", "4", "--epochs", "2",
            "--out-dir", str(out), "--no-progress"]


@pytest.mark.slow
def test_check_train_evaluate(synthetic_dataset, tmp_path, capsys):
    assert main(["check-data", str(synthetic_dataset), "--split", "train", "--split", "test"]) == 0
    assert "12 image/mask pairs" in capsys.readouterr().out

    out = tmp_path / "run"
    assert main(train_args(synthetic_dataset, out)) == 0
    assert "best validation IoU" in capsys.readouterr().out

    report_dir = tmp_path / "report"
    assert main(["evaluate", str(out / "best.pt"), "--out", str(report_dir), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "3 images of test.txt at 64x64" in printed and "official IoU" in printed and "plain" in printed
    report = json.loads((report_dir / "report.json").read_text())
    assert report["images"] == 3 and len(report["per_image"]) == 3
    for key in ("official_iou", "dataset_miou", "full_resolution_iou", "boundary_f"):
        assert 0.0 <= report[key] <= 1.0
    assert (report_dir / "predictions.png").stat().st_size > 1000

    assert main(["evaluate", str(out / "best.pt"), "--split", "val", "--no-progress"]) == 0
    assert "2 images of val" in capsys.readouterr().out


@pytest.mark.slow
def test_resume_extends_a_finished_run_and_keeps_its_config(synthetic_dataset, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(train_args(synthetic_dataset, out)) == 0
    # a config file naming a warm start, given again on resume, does not rewrite where the run started
    (tmp_path / "again.toml").write_text('init_from = "elsewhere.pt"\n')
    assert main(["train", "--resume", "--config", str(tmp_path / "again.toml"), "--out-dir", str(out),
                 "--epochs", "3", "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "resumed from" in printed and "epoch 3/3" in printed
    assert [json.loads(line)["epoch"] for line in (out / "log.jsonl").read_text().splitlines()] == [1, 2, 3]
    assert load_checkpoint(out / "last.pt")["config"]["init_from"] == ""


def test_resume_with_a_mistyped_out_dir_is_refused(tmp_path, capsys):
    assert main(["train", "--resume", "--out-dir", str(tmp_path / "rnus" / "cpu")]) == 2
    assert "last.pt not found, nothing to resume" in capsys.readouterr().err
    assert not (tmp_path / "rnus").exists()


def test_missing_checkpoint_is_a_message_not_a_traceback(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path / "nope.pt")]) == 2
    err = capsys.readouterr().err
    assert "nope.pt: checkpoint not found" in err and "Traceback" not in err


def test_foreign_file_as_checkpoint(tmp_path, capsys):
    bogus = tmp_path / "bogus.pt"
    bogus.write_bytes(b"not a checkpoint")
    assert main(["evaluate", str(bogus)]) == 2
    assert "bogus.pt: not a readable PyTorch checkpoint" in capsys.readouterr().err


def test_training_on_a_split_naming_a_missing_file(synthetic_dataset, tmp_path, capsys):
    (synthetic_dataset / "train.txt").write_text("00001\n00002\nghost\n")
    assert main(train_args(synthetic_dataset, tmp_path / "run")) == 2
    assert "train.txt: names 'ghost'" in capsys.readouterr().err


def test_bad_config_file_and_values(tmp_path, capsys):
    config = tmp_path / "bad.toml"
    config.write_text('learning_rate = 0.1\n')
    assert main(["train", "--config", str(config)]) == 2
    assert "bad.toml: unknown config keys: learning_rate" in capsys.readouterr().err
    assert main(["train", "--input-size", "100", "--data-root", str(tmp_path)]) == 2
    assert "multiple of 32" in capsys.readouterr().err


def test_check_data_exits_nonzero_on_errors(synthetic_dataset, capsys):
    (synthetic_dataset / "masks" / "00003.png").unlink()
    assert main(["check-data", str(synthetic_dataset)]) == 1
    assert "00003.png: missing mask" in capsys.readouterr().out


def test_console_script_is_installed():
    script = Path(sys.executable).with_name("portraitnet")  # where pip puts this interpreter's scripts
    assert script.is_file(), f"{script}: the console script is missing (pip install -e .)"
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    for verb in ("train", "evaluate", "check-data"):
        assert verb in result.stdout


def test_the_commands_that_draw_outputs_share_one_set_of_look_options():
    from portraitnet.cli.main import build_parser
    parser = build_parser()
    look = ["--background", "white", "--blur-strength", "0.1", "--main-person"]
    for argv in (["segment", "a.jpg", "-o", "out"], ["segment-dataset", "photos", "-o", "out", "--fit-input"],
                 ["video", "clip.mp4", "-o", "out.mp4"]):
        args = parser.parse_args(argv + look)
        assert (args.background, args.blur_strength, args.main_person) == ("white", 0.1, True), argv[0]
    assert parser.parse_args(["segment-dataset", "photos", "-o", "out", "--fit-input"]).fit_input


def test_a_blur_strength_out_of_range_is_one_line(tmp_path, capsys):
    from conftest import REPO
    assert main(["segment", str(REPO / "examples" / "astronaut.jpg"), "-o", str(tmp_path), "-f", "blur",
                 "--blur-strength", "0"]) == 2
    assert "--blur-strength must be above 0" in capsys.readouterr().err
