"""tools/ablation.py: every row once per seed, all seeds of a row chosen on the same validation photos."""

import sys

import pytest

from portraitnet.training.checkpoint import load_checkpoint

from conftest import load_tool

pytestmark = pytest.mark.slow


def run_ablation(monkeypatch, *flags: str) -> None:
    monkeypatch.setattr(sys, "argv", ["ablation.py", "losses", *flags])
    load_tool("ablation").main()


def test_seeds_share_the_validation_split_and_the_table_gives_their_spread(synthetic_dataset, tmp_path, monkeypatch,
                                                                            capsys):
    config = tmp_path / "tiny.toml"
    config.write_text(f'data_root = "{synthetic_dataset}"\ntrain_list = "train.txt"\ntest_list = "test.txt"\n'
                      "val_fraction = 0.25\ninput_size = 64\nbatch_size = 4\n")
    flags = ["--config", str(config), "--epochs", "1", "--out", str(tmp_path / "study"),
             "--rows", "no auxiliary loss", "--seeds", "0", "1"]
    run_ablation(monkeypatch, *flags)

    root = tmp_path / "study" / "losses"
    runs = {seed: load_checkpoint(root / name / "best.pt")
            for seed, name in ((0, "no_auxiliary_loss"), (1, "no_auxiliary_loss_seed1"))}
    assert (runs[0]["config"]["seed"], runs[1]["config"]["seed"]) == (0, 1)
    assert runs[0]["data"]["val_stems"] == runs[1]["data"]["val_stems"]
    assert runs[1]["config"]["edge_loss"] is False  # the row's own change
    assert not (root / "both_paper").exists()  # a row not asked for is not trained
    table = (root / "table.md").read_text()
    assert "| no auxiliary loss | 2 | " in table and "±" in table

    # --score-only trains nothing and reuses each run's report
    before = {path: path.stat().st_mtime_ns for path in root.rglob("*") if path.is_file()}
    capsys.readouterr()
    run_ablation(monkeypatch, *flags, "--score-only")
    assert table in capsys.readouterr().out
    after = {path: path.stat().st_mtime_ns for path in root.rglob("*") if path.is_file()}
    assert {p: t for p, t in after.items() if p.name not in ("table.md", "results.json")} == \
        {p: t for p, t in before.items() if p.name not in ("table.md", "results.json")}
