"""The training recipe end to end: it learns, it resumes exactly, it runs under DDP."""

import hashlib
import math
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from portraitnet.training.checkpoint import load_checkpoint, load_model
from portraitnet.training.config import TrainConfig
from portraitnet.training.train import (WeightEMA, build_datasets, compute_loss, read_log, recalibrate_batchnorm, train,
                                        training_split)

pytestmark = pytest.mark.slow


def make_pool(tmp_path: Path, val: str = "00005", soft: bool = False) -> Path:
    """A pseudo-labelled pool of 8 synthetic photos: 5 for training, `val` (stems, one per line) held out; with
    `soft`, teachers' soft masks beside them (each mask's edge blurred: the teachers' doubt)."""
    from conftest import write_synthetic_dataset
    pool = write_synthetic_dataset(tmp_path / "pool_people", count=8, seed=3)
    (pool / "train.txt").write_text("00000\n00001\n00002\n00003\n00004\n")
    (pool / "val.txt").write_text(val + "\n")
    if soft:
        (pool / "soft").mkdir()
        for path in (pool / "masks").glob("*.png"):
            cv2.imwrite(str(pool / "soft" / path.name), cv2.GaussianBlur(cv2.imread(str(path), 0), (0, 0), 4))
    return pool


def tiny_config(root, out_dir, **overrides) -> TrainConfig:
    values = dict(data_root=str(root), train_list="train.txt", test_list="test.txt", val_fraction=0.25,
                  input_size=64, batch_size=4, epochs=2, out_dir=str(out_dir), ema_decay=0.9)
    values.update(overrides)
    return TrainConfig(**values)


@pytest.mark.data
def test_short_training_on_real_images_lowers_the_loss(eg1800, tmp_path):
    config = TrainConfig(data_root=str(eg1800), max_train_samples=16, max_val_samples=4, input_size=96,
                         batch_size=8, epochs=8, lr=3e-3, rotation_degrees=0, scale_min=1, scale_max=1, shift=0,
                         out_dir=str(tmp_path / "run"))
    train(config, show_progress=False)
    losses = [r["loss"] for r in read_log(tmp_path / "run" / "log.jsonl")]
    assert len(losses) == 8
    assert losses[-1] < 0.8 * losses[0], losses


@pytest.mark.parametrize("recipe", [{}, {"framed_batch_probability": 1.0, "input_size": 96},
                                    {"data_path": "tensor", "single_view": True, "consistency_loss": False,
                                     "composite_probability": 0.5, "early_input_size": 32, "early_epochs": 2}])
def test_resume_gives_the_same_state_as_an_uninterrupted_run(synthetic_dataset, tmp_path, recipe):
    straight = tiny_config(synthetic_dataset, tmp_path / "straight", epochs=3, **recipe)
    train(straight, show_progress=False)

    interrupted = tiny_config(synthetic_dataset, tmp_path / "resumed", epochs=1, **recipe)
    train(interrupted, show_progress=False)  # "killed" after epoch 1
    resumed = tiny_config(synthetic_dataset, tmp_path / "resumed", epochs=3, **recipe)
    train(resumed, resume=True, show_progress=False)

    a = load_checkpoint(tmp_path / "straight" / "last.pt")
    b = load_checkpoint(tmp_path / "resumed" / "last.pt")
    assert a["epoch"] == b["epoch"] == 3
    for key in a["model"]:
        assert torch.equal(a["model"][key], b["model"][key]), key
        assert torch.equal(a["ema"][key], b["ema"][key]), key
    assert a["optimizer"]["state"][0]["step"] == b["optimizer"]["state"][0]["step"]
    strip = lambda records: [{k: v for k, v in r.items() if k not in ("seconds", "images_per_s")} for r in records]
    assert strip(read_log(tmp_path / "straight" / "log.jsonl")) == strip(read_log(tmp_path / "resumed" / "log.jsonl"))


def test_a_run_stopped_by_until_epoch_keeps_its_schedule_and_resumes_as_if_uninterrupted(synthetic_dataset,
                                                                                       tmp_path):
    cosine = dict(epochs=3, lr_schedule="cosine", warmup_epochs=1)
    train(tiny_config(synthetic_dataset, tmp_path / "straight", **cosine), show_progress=False)
    branch = tiny_config(synthetic_dataset, tmp_path / "stopped", **cosine)
    summary = train(branch, show_progress=False, until_epoch=2)
    assert summary["epochs_done"] == 2
    assert load_checkpoint(tmp_path / "stopped" / "last.pt")["epoch"] == 2
    train(branch, resume=True, show_progress=False)

    a = load_checkpoint(tmp_path / "straight" / "last.pt")
    b = load_checkpoint(tmp_path / "stopped" / "last.pt")
    for key in a["model"]:
        assert torch.equal(a["model"][key], b["model"][key]), key
    lrs = lambda run: [r["lr"] for r in read_log(tmp_path / run / "log.jsonl")]
    assert lrs("straight") == lrs("stopped")


def test_training_writes_checkpoints_log_and_curves(synthetic_dataset, tmp_path):
    config = tiny_config(synthetic_dataset, tmp_path / "run", edge_loss=False, consistency_loss=False)
    summary = train(config, show_progress=False)
    out = tmp_path / "run"
    assert {"last.pt", "best.pt", "log.jsonl", "curves.png"} <= {p.name for p in out.iterdir()}
    records = read_log(out / "log.jsonl")
    assert [r["epoch"] for r in records] == [1, 2]
    assert "edge" not in records[0] and "consistency" not in records[0]  # switched off for the ablation
    model, payload = load_model(out / "best.pt")
    assert payload["config"]["input_size"] == 64 and payload["epoch"] == summary["best_epoch"]
    assert not any(p.name.endswith(".tmp") for p in out.iterdir())


def test_loader_workers_give_the_same_run_as_the_main_process(synthetic_dataset, tmp_path):
    # Each item's augmentation is seeded by (seed, epoch, index): workers must see every epoch, not only the first.
    train(tiny_config(synthetic_dataset, tmp_path / "main", epochs=2), show_progress=False)
    train(tiny_config(synthetic_dataset, tmp_path / "workers", epochs=2, num_workers=2), show_progress=False)
    a = load_checkpoint(tmp_path / "main" / "last.pt")["model"]
    b = load_checkpoint(tmp_path / "workers" / "last.pt")["model"]
    assert all(torch.equal(a[key], b[key]) for key in a)


def test_a_validation_list_takes_its_images_and_their_copies_out_of_training(synthetic_dataset):
    (synthetic_dataset / "images" / "copy.jpg").write_bytes((synthetic_dataset / "images" / "00001.jpg").read_bytes())
    (synthetic_dataset / "masks" / "copy.png").write_bytes((synthetic_dataset / "masks" / "00001.png").read_bytes())
    with (synthetic_dataset / "train.txt").open("a") as handle:
        handle.write("copy\n")
    (synthetic_dataset / "val.txt").write_text("00001\n00002\n")
    train_samples, val_samples, _ = training_split(tiny_config(synthetic_dataset, "unused", val_list="val.txt"))
    assert [s.stem for s in val_samples] == ["00001", "00002"]
    assert [s.stem for s in train_samples] == ["00000", "00003", "00004", "00005", "00006", "00007", "00008"]


def test_two_process_ddp_run(synthetic_dataset, tmp_path):
    out = tmp_path / "ddp"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
               "-m", "portraitnet.cli.main", "train", "--data-root", str(synthetic_dataset),
               "--train-list", "train.txt", "--test-list", "test.txt", "--val-fraction", "0.25",
               "--input-size", "64", "--batch-size", "4", "--epochs", "2", "--out-dir", str(out), "--no-progress"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, capture_output=True, text=True, timeout=240, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    records = read_log(out / "log.jsonl")
    assert [r["epoch"] for r in records] == [1, 2]  # rank 0 alone writes the log
    assert result.stdout.count("epoch 2/2") == 1 and result.stdout.count("best validation IoU") == 1
    state = load_checkpoint(out / "last.pt")
    assert state["epoch"] == 2 and not any(k.startswith("module.") for k in state["model"])


def test_warm_start_takes_the_weights_of_another_model(synthetic_dataset, tmp_path):
    train(tiny_config(synthetic_dataset, tmp_path / "first", epochs=1), show_progress=False)
    source = load_checkpoint(tmp_path / "first" / "best.pt")["model"]
    warm = tiny_config(synthetic_dataset, tmp_path / "warm", epochs=1, lr=0.0, weight_decay=0.0,
                       init_from=str(tmp_path / "first" / "best.pt"))
    train(warm, resume=True, show_progress=False)  # --resume with no checkpoint yet still warm-starts
    after = load_checkpoint(tmp_path / "warm" / "last.pt")["model"]
    key = "encoder.stem.0.weight"
    assert torch.equal(after[key].float(), source[key].float())  # lr 0: the warm-start weights, untouched

    # The run records which file it started from, by content, and keeps that record when it resumes.
    train(replace(warm, epochs=2), resume=True, show_progress=False)
    started = {"path": warm.init_from,
               "sha256": hashlib.sha256((tmp_path / "first" / "best.pt").read_bytes()).hexdigest()}
    assert load_checkpoint(tmp_path / "warm" / "last.pt")["warm_start"] == started
    assert load_checkpoint(tmp_path / "warm" / "best.pt")["data"]["warm_start"] == started


REPO_ROOT = Path(__file__).parents[1]
CONFIGS = sorted((REPO_ROOT / "configs").glob("*.toml")) + sorted((REPO_ROOT / "docs" / "runs").glob("*/config.toml"))


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_shipped_configs_are_valid(path):
    """The recipes in configs/, and the experiments' configs beside their records, still load and run."""
    config = TrainConfig.from_dict(TrainConfig.read_file(path))
    config.validate()
    if config.init_from:  # a warm start names a file that exists in a clone, not a run output of this machine
        root = Path(__file__).parents[1]
        assert (root / config.init_from).is_file()
        ignored = subprocess.run(["git", "check-ignore", "-q", config.init_from], cwd=root)
        assert ignored.returncode != 0, f"{config.init_from} is git-ignored: a clone lacks it"


def test_pools_join_training_and_their_held_out_parts_are_scored(synthetic_dataset, tmp_path):
    pool = make_pool(tmp_path, val="00005\n00006\n00007")
    config = tiny_config(synthetic_dataset, tmp_path / "run", epochs=1, pools=[str(pool)])
    train(config, show_progress=False)
    record = read_log(tmp_path / "run" / "log.jsonl")[0]
    # the score that picks the checkpoint is the mean over EG1800's validation split and each pool's held-out part
    assert record["val_iou"] == pytest.approx((record["val_iou_main"] + record["val_iou_pool_people"]) / 2)
    payload = load_checkpoint(tmp_path / "run" / "best.pt")
    assert payload["data"]["pools"]["pool_people"] == {"path": str(pool), "train": 5, "val": 3}
    assert set(payload["metrics"]) == {"val_iou", "val_iou_main", "val_iou_pool_people"}


def test_main_repeat_lists_the_true_masks_again_beside_the_pools(synthetic_dataset, tmp_path):
    pool = make_pool(tmp_path)
    config = tiny_config(synthetic_dataset, tmp_path / "run", pools=[str(pool)], main_repeat=3)
    train_set, _, info = build_datasets(config)
    assert len(train_set) == 3 * info["train"] + 5


def test_pools_can_teach_their_soft_masks_and_the_teachers_blend_into_eg1800s_targets(synthetic_dataset, tmp_path):
    pool = make_pool(tmp_path, soft=True)
    teachers = tmp_path / "teachers"
    teachers.mkdir()
    for path in (synthetic_dataset / "images").glob("*.jpg"):  # teachers that call everything a person
        cv2.imwrite(str(teachers / f"{path.stem}.png"), np.full((120, 90), 255, np.uint8))
    config = tiny_config(synthetic_dataset, tmp_path / "run", epochs=1, pools=[str(pool)], pool_targets="soft",
                         teacher_dir=str(teachers), teacher_weight=0.25)
    train_set, _, info = build_datasets(config)
    hard_set, _, _ = build_datasets(tiny_config(synthetic_dataset, tmp_path / "hard", pools=[str(pool)]))
    main = [target for _, target in train_set.fitted[:info["train"]]]
    assert min(float(t.min()) for t in main) == pytest.approx(0.25)  # background: 0.75 * 0 + 0.25 * 1
    for (_, target), (_, hard) in zip(train_set.fitted[:info["train"]], hard_set.fitted):
        assert ((target >= 0.5) == (hard >= 0.5)).mean() > 0.97  # below weight 0.5 the classes stay the mask's
    for (_, soft), (_, hard) in zip(train_set.fitted[info["train"]:], hard_set.fitted[info["train"]:]):
        assert ((soft > 0.05) & (soft < 0.95)).sum() > ((hard > 0.05) & (hard < 0.95)).sum()
    train(config, show_progress=False)
    assert load_checkpoint(tmp_path / "run" / "best.pt")["data"]["teacher"] == {"dir": str(teachers), "weight": 0.25}


def test_banded_pools_teach_what_the_teachers_agree_on_and_leave_their_doubt_out(synthetic_dataset, tmp_path):
    pool = make_pool(tmp_path, soft=True)
    config = tiny_config(synthetic_dataset, tmp_path / "run", epochs=1, pools=[str(pool)], pool_targets="banded",
                         pool_doubt_band=0.3)
    banded, _, info = build_datasets(config)
    soft, _, _ = build_datasets(tiny_config(synthetic_dataset, tmp_path / "soft", pools=[str(pool)],
                                            pool_targets="soft"))
    banded.augment = soft.augment = False  # letterboxed only: each item's target is its soft mask as fitted
    for index in range(len(banded)):
        item = banded[index]
        if index < info["train"]:  # EG1800's true masks: every pixel counts
            assert item["weight"].min() == 1
            continue
        teachers = soft[index]["target"].numpy()
        doubtful = item["weight"].numpy() == 0
        assert 0 < doubtful.mean() < 0.5
        assert np.array_equal(doubtful, np.abs(teachers - 0.5) < 0.3)
        assert np.array_equal(item["target"].numpy(), (teachers >= 0.5).astype(np.float32))  # taught as hard
    train(config, show_progress=False)


def test_pixels_the_weight_leaves_out_do_not_move_the_loss():
    """Whatever the model predicts where the weight is 0, the loss is the same; with all weights 1 it is the mean."""
    config = TrainConfig(consistency_loss=False)
    weight = torch.ones(1, 4, 4)
    weight[..., :2] = 0

    def loss_with(left_logit: float, weights: torch.Tensor) -> float:
        logits = torch.zeros(2, 2, 4, 4)
        logits[:, 1, :, :2] = left_logit
        model = lambda images, with_edge=False: (logits, logits) if with_edge else logits
        batch = {"image": torch.zeros(1, 3, 4, 4), "textured": torch.zeros(1, 3, 4, 4), "target": torch.ones(1, 4, 4),
                 "edge": torch.zeros(1, 4, 4, dtype=torch.long), "weight": weights}
        return compute_loss(model, batch, config)[0].item()

    assert loss_with(-5.0, weight) == pytest.approx(loss_with(5.0, weight))
    assert loss_with(-5.0, torch.ones(1, 4, 4)) > loss_with(5.0, torch.ones(1, 4, 4))
    expected = 2 * math.log(2) + config.edge_weight * 0.25 * math.log(2)  # p = 0.5 on every pixel counted
    assert loss_with(0.0, weight) == pytest.approx(expected, rel=1e-5)


def test_retired_knobs_load_when_off_and_are_refused_when_on():
    """Configs and checkpoints written before 2026-12-03 hold the retired knobs; off, they load as ever."""
    old = {**TrainConfig().to_dict(), "iou_weight": 0.0, "photometric_probability": 0.0,
           "edge_loss_on_original": False, "consistency_both_ways": False}
    assert TrainConfig.from_dict(old) == TrainConfig()
    with pytest.raises(ValueError, match="iou_weight = 0.5: this knob was removed"):
        TrainConfig.from_dict({**old, "iou_weight": 0.5})

def test_the_weight_average_without_its_ramp_keeps_the_weights_it_started_from():
    start, moved = torch.nn.Linear(2, 1), torch.nn.Linear(2, 1)
    for ramp, expected in ((True, 2 / 11), (False, 0.99)):  # the start's share after one step: the decay
        ema = WeightEMA(start, 0.99, ramp=ramp)
        ema.update(moved)
        assert torch.allclose(ema.shadow["weight"], expected * start.weight + (1 - expected) * moved.weight)


def test_fresh_batchnorm_statistics_describe_the_batches_they_were_taken_from():
    """After recalibration the model in eval mode predicts as it does from the batch's own statistics, whatever
    statistics it carried before."""
    from portraitnet.model.network import PortraitNet
    torch.manual_seed(0)
    model = PortraitNet()
    images = torch.rand(8, 3, 64, 64)
    with torch.no_grad():
        expected = model.train()(images).softmax(1)  # normalised by the batch's own statistics
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):  # statistics that describe nothing seen
                module.running_mean.uniform_(-3, 3)
                module.running_var.uniform_(0.1, 10)
        stale = model.eval()(images).softmax(1)
        config = TrainConfig(batch_size=4, bn_recalibration_samples=8, consistency_loss=False, single_view=True,
                             channels_last=False)
        recalibrate_batchnorm(model, [{"textured": images[:4]}, {"textured": images[4:]}, {"textured": images * 0}],
                              config, torch.device("cpu"), None)
        fresh = model.eval()(images).softmax(1)
    assert (stale - expected).abs().mean() > 0.05
    assert (fresh - expected).abs().mean() < 0.01


def test_the_cross_entropy_aims_at_the_target_probability():
    """With a soft target of 0.3 the loss is lowest where the prediction is 0.3, not at the hard class 0."""
    config = TrainConfig(edge_loss=False, consistency_loss=False)

    def loss_at(probability: float) -> float:
        logit = math.log(probability / (1 - probability))
        model = lambda images: torch.zeros(images.shape[0], 2, 4, 4) + torch.tensor([0.0, logit])[:, None, None]
        batch = {"image": torch.zeros(1, 3, 4, 4), "textured": torch.zeros(1, 3, 4, 4),
                 "target": torch.full((1, 4, 4), 0.3), "edge": torch.zeros(1, 4, 4, dtype=torch.long),
                 "weight": torch.ones(1, 4, 4)}
        return compute_loss(model, batch, config)[0].item()

    assert loss_at(0.3) < loss_at(0.2) and loss_at(0.3) < loss_at(0.4) and loss_at(0.3) < loss_at(0.01)


def test_one_view_sends_only_the_textured_copy_through_the_network():
    config = TrainConfig(consistency_loss=False, single_view=True)
    generator = torch.Generator().manual_seed(0)
    mask_logits, edge_logits = torch.randn(2, 1, 2, 4, 4, generator=generator)
    seen = []

    def model(images, with_edge=False):
        seen.append(images)
        return mask_logits, edge_logits

    target = (torch.arange(16).view(1, 4, 4) % 3 == 0).float()
    batch = {"image": torch.zeros(1, 3, 4, 4), "textured": torch.ones(1, 3, 4, 4), "target": target,
             "edge": target.long(), "weight": torch.ones(1, 4, 4)}
    loss, terms = compute_loss(model, batch, config)
    assert len(seen) == 1 and torch.equal(seen[0], batch["textured"])  # A' alone, one sample
    assert set(terms) == {"ce_textured", "edge"}
    expected = torch.nn.functional.cross_entropy(mask_logits, torch.stack([1 - target, target], 1))
    assert terms["ce_textured"] == pytest.approx(expected.item(), rel=1e-6)
    assert loss.item() == pytest.approx(expected.item() + 0.1 * terms["edge"], rel=1e-6)
    with pytest.raises(ValueError, match="single_view"):
        TrainConfig.from_dict({"single_view": True})  # the consistency loss needs both views


@pytest.mark.parametrize("data_path", ["numpy", "tensor"])
def test_the_early_epochs_train_at_the_smaller_size(synthetic_dataset, tmp_path, monkeypatch, data_path):
    from portraitnet.training import train as training
    sizes = []
    real = training.compute_loss
    monkeypatch.setattr(training, "compute_loss",
                        lambda model, batch, config: (sizes.append(batch["textured"].shape[-1]),
                                                      real(model, batch, config))[1])
    config = tiny_config(synthetic_dataset, tmp_path / "run", epochs=3, early_input_size=32, early_epochs=2,
                         data_path=data_path)
    train(config, show_progress=False)
    steps = len(sizes) // 3
    assert sizes == [32] * 2 * steps + [64] * steps
    assert load_checkpoint(tmp_path / "run" / "best.pt")["config"]["input_size"] == 64
