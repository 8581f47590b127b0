"""tools/average_models.py: the selection score a cycle is shipped on, scored on the original data."""

import sys

import pytest
import torch

from portraitnet.evaluation.evaluate import evaluate
from portraitnet.training.checkpoint import load_checkpoint, model_payload, save_atomic
from portraitnet.training.config import TrainConfig
from portraitnet.model.network import PortraitNet

from conftest import load_tool, write_synthetic_dataset


@pytest.mark.parametrize("weighting", ["equal", "size"])
def test_pool_root_and_robustness_terms_join_the_selection_score(tmp_path, monkeypatch, weighting):
    main_data = write_synthetic_dataset(tmp_path / "main")
    people = write_synthetic_dataset(tmp_path / "pools" / "people", count=8, seed=3)
    (people / "val.txt").write_text("00004\n00005\n00006\n")
    faces = write_synthetic_dataset(tmp_path / "pools" / "faces", count=6, seed=5)
    (faces / "val.txt").write_text("00005\n")
    config = TrainConfig(data_root=str(main_data), input_size=64, pool_weighting=weighting).to_dict()
    # the run trained on a copy whose pool folders are not here: --pool-root points at the originals
    data = {"val_stems": ["00009", "00010", "00011"],
            "pools": {"people": {"path": str(tmp_path / "copy" / "people"), "train": 5, "val": 3},
                      "faces": {"path": str(tmp_path / "copy" / "faces"), "train": 5, "val": 1}}}
    for seed, name in ((0, "first.pt"), (1, "second.pt")):
        torch.manual_seed(seed)
        save_atomic(model_payload(PortraitNet().state_dict(), config, epoch=3, metrics={}, data=data), tmp_path / name)
    monkeypatch.setattr(sys, "argv", ["average_models.py", str(tmp_path / "first.pt"), str(tmp_path / "second.pt"),
                                      "--weight", "0.5", "-o", str(tmp_path / "out"),
                                      "--pool-root", str(tmp_path / "pools"), "--robustness"])
    load_tool("average_models").main()

    written = load_checkpoint(tmp_path / "out" / "best.pt")
    assert written["data"]["pools"]["people"]["path"] == str(people)
    metrics = written["metrics"]
    assert set(metrics) == {"val_iou", "val_iou_main", "val_iou_main_robustness", "val_iou_people", "val_iou_faces"}
    report = evaluate(tmp_path / "out" / "best.pt", split="val", robustness=True)
    variants = [result["official_iou"] for result in report["robustness"].values()]
    assert len(variants) == 5 and len(set(variants)) > 1  # the variants differ, so the term below tells them apart
    robustness = sum(variants) / 5
    assert metrics["val_iou_main_robustness"] == pytest.approx(robustness)
    assert metrics["val_iou_main"] == pytest.approx(report["official_iou"])
    people_iou, faces_iou = (evaluate(tmp_path / "out" / "best.pt", data_root=pool, split=str(pool / "val.txt"))
                             ["official_iou"] for pool in (people, faces))
    assert people_iou != pytest.approx(faces_iou)  # so the two weightings give different scores
    assert (metrics["val_iou_people"], metrics["val_iou_faces"]) == pytest.approx((people_iou, faces_iou))
    if weighting == "equal":  # each pool one term
        expected = (report["official_iou"] + robustness + people_iou + faces_iou) / 4
    else:  # the pools' four held-out photos one term: the pool of three counts three times the pool of one
        expected = (report["official_iou"] + robustness + (3 * people_iou + faces_iou) / 4) / 3
    assert metrics["val_iou"] == pytest.approx(expected)


def test_three_models_get_equal_shares_and_the_last_runs_log_goes_along(tmp_path, monkeypatch):
    main_data = write_synthetic_dataset(tmp_path / "main")
    config = TrainConfig(data_root=str(main_data), input_size=64).to_dict()
    paths, weights = [], []
    for seed in range(3):
        torch.manual_seed(seed)
        weights.append(PortraitNet().state_dict())
        paths.append(tmp_path / f"run{seed}" / "best.pt")
        paths[-1].parent.mkdir()
        save_atomic(model_payload(weights[-1], config, epoch=seed, metrics={}, data={"val_stems": ["00009"]}),
                    paths[-1])
    (paths[-1].parent / "log.jsonl").write_text('{"epoch": 2}\n')
    monkeypatch.setattr(sys, "argv", ["average_models.py", *map(str, paths), "-o", str(tmp_path / "soup")])
    load_tool("average_models").main()

    written = load_checkpoint(tmp_path / "soup" / "best.pt")
    name = "mask_head.weight"
    assert torch.allclose(written["model"][name], sum(w[name] for w in weights) / 3, atol=1e-7)
    assert written["epoch"] == 2 and (tmp_path / "soup" / "log.jsonl").read_text() == '{"epoch": 2}\n'
