"""tools/average_models.py: the selection score a cycle is shipped on, scored on the original data."""

import sys

import pytest
import torch

from portraitnet.evaluation.evaluate import evaluate
from portraitnet.training.checkpoint import load_checkpoint, model_payload, save_atomic
from portraitnet.training.config import TrainConfig
from portraitnet.training.model import PortraitNet

from conftest import load_tool, write_synthetic_dataset


def test_pool_root_and_robustness_terms_join_the_selection_score(tmp_path, monkeypatch):
    main_data = write_synthetic_dataset(tmp_path / "main")
    pool = write_synthetic_dataset(tmp_path / "pools" / "people", count=8, seed=3)
    (pool / "val.txt").write_text("00005\n00006\n")
    config = TrainConfig(data_root=str(main_data), input_size=64).to_dict()
    # the run trained on a copy whose pool folder is not here: --pool-root points at the original
    data = {"val_stems": ["00009", "00010", "00011"],
            "pools": {"people": {"path": str(tmp_path / "copy" / "people"), "train": 5, "val": 2}}}
    for seed, name in ((0, "first.pt"), (1, "second.pt")):
        torch.manual_seed(seed)
        save_atomic(model_payload(PortraitNet().state_dict(), config, epoch=3, metrics={}, data=data), tmp_path / name)
    monkeypatch.setattr(sys, "argv", ["average_models.py", str(tmp_path / "first.pt"), str(tmp_path / "second.pt"),
                                      "--weight", "0.5", "-o", str(tmp_path / "out"),
                                      "--pool-root", str(tmp_path / "pools"), "--robustness"])
    load_tool("average_models").main()

    written = load_checkpoint(tmp_path / "out" / "best.pt")
    assert written["data"]["pools"]["people"]["path"] == str(pool)
    metrics = written["metrics"]
    assert set(metrics) == {"val_iou", "val_iou_main", "val_iou_main_robustness", "val_iou_people"}
    report = evaluate(tmp_path / "out" / "best.pt", split="val", robustness=True)
    variants = [result["official_iou"] for result in report["robustness"].values()]
    assert len(variants) == 5 and len(set(variants)) > 1  # the variants differ, so the term below tells them apart
    assert metrics["val_iou_main_robustness"] == pytest.approx(sum(variants) / 5)
    assert metrics["val_iou_main"] == pytest.approx(report["official_iou"])
    pool_iou = evaluate(tmp_path / "out" / "best.pt", data_root=pool, split=str(pool / "val.txt"))["official_iou"]
    assert metrics["val_iou_people"] == pytest.approx(pool_iou)
    assert metrics["val_iou"] == pytest.approx((report["official_iou"] + sum(variants) / 5 + pool_iou) / 3)
