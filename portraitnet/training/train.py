"""The training recipe: data, the loss written out in plain sight, the loop, validation, checkpoints.

Runs on one CPU or GPU, or under `torchrun --nproc_per_node=N` with DistributedDataParallel (gloo on CPU,
nccl on CUDA); only rank 0 logs and saves.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import math
import os
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler
from tqdm import tqdm

from ..evaluation.metrics import foreground_iou
from ..files import file_sha256
from .augment import DeformationRanges
from .checkpoint import TRAINING_FORMAT, load_checkpoint, model_payload, model_weights, save_atomic
from .config import TrainConfig
from .data import Sample, image_hashes, list_samples, remove_duplicates, split_validation, with_teacher
from .dataset import Augmentation, FramedBatches, PortraitDataset
from .losses import consistency_loss, focal_loss, weighted_mean
from ..model.network import PortraitNet
from .selection import selection_score
from .tensor_augment import TensorBatches

log = logging.getLogger("portraitnet")


# --- machinery: device, precision, distributed ---

def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def resolve_precision(precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype, or None for plain fp32."""
    if precision == "fp32":
        return None
    if precision == "auto":
        if device.type == "cuda":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        cpu_bf16 = torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()
        return torch.bfloat16 if cpu_bf16 else None
    return torch.bfloat16 if precision == "bf16" else torch.float16


def autocast(device: torch.device, dtype: torch.dtype | None) -> contextlib.AbstractContextManager:
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=dtype)


@dataclass(frozen=True)
class Distributed:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def setup_distributed(device_name: str) -> tuple[Distributed, torch.device]:
    """Read the environment torchrun sets; start the process group when there is more than one process."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size == 1:
        return Distributed(), resolve_device(device_name)
    ddp = Distributed(int(os.environ["RANK"]), world_size, int(os.environ.get("LOCAL_RANK", "0")))
    device = resolve_device(device_name)
    if device.type == "cuda":
        device = torch.device("cuda", ddp.local_rank)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return ddp, device


# --- exponential moving average of the weights ---

class WeightEMA:
    """A shadow copy of the model, averaged over steps. With `ramp` the decay ramps up early in training, so that
    the average of a run from random weights is useful from the first epochs; without it the average starts at
    the weights the run starts from and leaves them slowly (a warm start from a good model). Buffers (BatchNorm
    statistics) are averaged too."""

    def __init__(self, model: nn.Module, decay: float, ramp: bool = True) -> None:
        self.decay = decay
        self.ramp = ramp
        self.shadow = {k: v.detach().float().clone() for k, v in model.state_dict().items()}
        self.updates = 0

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        self.updates += 1
        decay = min(self.decay, (1 + self.updates) / (10 + self.updates)) if self.ramp else self.decay
        for key, value in model.state_dict().items():
            if value.is_floating_point():
                self.shadow[key].mul_(decay).add_(value.detach().float(), alpha=1 - decay)
            else:
                self.shadow[key].copy_(value)

    def state_dict(self) -> dict[str, Any]:
        return {"shadow": self.shadow, "updates": self.updates}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        device = next(iter(self.shadow.values())).device  # checkpoints load on the CPU; the model may be on a GPU
        self.shadow = {k: (v.float() if v.is_floating_point() else v).to(device, copy=True)
                       for k, v in state["shadow"].items()}
        self.updates = int(state["updates"])


# --- data ---

def training_split(config: TrainConfig, threads: int = 2) -> tuple[list[Sample], list[Sample], list[str]]:
    """Training and validation samples, and the training stems left out as pixel-identical copies of test images.

    Validation is config.val_list when given, else a seeded config.val_fraction of the training list; either way
    no image of it (nor a copy) stays in training."""
    root = Path(config.data_root)
    train_samples = list_samples(root, config.train_list)
    train_hashes = image_hashes(train_samples, threads)
    dropped: list[str] = []
    if config.test_list:
        test_hashes = image_hashes(list_samples(root, config.test_list), threads)
        train_samples, dropped = remove_duplicates(train_samples, train_hashes, test_hashes)
    if config.val_list:
        val_samples = list_samples(root, config.val_list)
        val_stems = {s.stem for s in val_samples}
        train_samples, _ = remove_duplicates([s for s in train_samples if s.stem not in val_stems],
                                             train_hashes, image_hashes(val_samples, threads))
    else:
        train_samples, val_samples = split_validation(train_samples, train_hashes, config.val_fraction,
                                                      config.split_seed)
    return train_samples, val_samples, dropped


def build_datasets(config: TrainConfig, threads: int = 2,
                   train_size: int = 0) -> tuple[PortraitDataset, dict[str, PortraitDataset], dict[str, Any]]:
    """The training set (EG1800's training split and the pools' train parts) at train_size (default: the input
    size) and the validation sets at the input size, by name: 'main' (held out from EG1800's training list, test
    duplicates left out) and each pool's folder name."""
    train_samples, val_samples, dropped = training_split(config, threads)
    if config.max_train_samples:
        train_samples = train_samples[:config.max_train_samples]
    if config.max_val_samples:
        val_samples = val_samples[:config.max_val_samples]
    if not train_samples:
        raise ValueError(f"{config.data_root}: no training samples left after the validation split")
    augmentation = Augmentation(
        deformation=DeformationRanges(config.rotation_degrees, config.scale_min, config.scale_max, config.shift,
                                      config.flip_probability),
        composite_probability=config.composite_probability, landscape_probability=config.landscape_probability,
        framed_scene_probability=config.framed_scene_probability)
    val_sets = {"main": PortraitDataset(val_samples, config.input_size, augment=False, threads=threads)}
    info: dict[str, Any] = {"train": len(train_samples), "val": len(val_samples), "dropped_test_duplicates": dropped,
                            "val_stems": [s.stem for s in val_samples], "pools": {}}
    if config.teacher_weight > 0:
        train_samples = with_teacher(train_samples, Path(config.teacher_dir), config.teacher_weight)
        info["teacher"] = {"dir": config.teacher_dir, "weight": config.teacher_weight}
    train_samples = train_samples * config.main_repeat
    for pool in config.pools:
        pool_train, pool_val = list_samples(Path(pool), "train.txt"), list_samples(Path(pool), "val.txt")
        if config.pool_targets in ("soft", "banded"):
            pool_train = with_teacher(pool_train, Path(pool) / "soft", 1.0)
        if config.pool_targets == "banded":
            pool_train = [replace(s, doubt_band=config.pool_doubt_band) for s in pool_train]
        train_samples = train_samples + pool_train
        val_sets[Path(pool).name] = PortraitDataset(pool_val, config.input_size, augment=False, threads=threads)
        info["pools"][Path(pool).name] = {"path": pool, "train": len(pool_train), "val": len(pool_val)}
    train_set = PortraitDataset(train_samples, train_size or config.input_size, augment=True, seed=config.seed,
                                augmentation=augmentation, threads=threads)
    return train_set, val_sets, info


# --- the loss ---

def compute_loss(model: nn.Module, batch: dict[str, torch.Tensor],
                 config: TrainConfig) -> tuple[torch.Tensor, dict[str, float]]:
    """L = CE(mask(A), m) + CE(mask(A'), m) + lambda * Focal(edge(A'), e) + alpha * KL(q(A) || q(A')) * T^2.

    A and its texture-changed copy A' go through the network as one batch. m is the target probability of person:
    0 or 1 from a true mask (plain cross-entropy), in between where the teachers' soft masks are blended in. The
    mask and edge terms average over the pixels the batch's weight counts (all of them unless a pool is banded).
    With single_view only A' goes through the network: L = CE(mask(A'), m) + lambda * Focal(edge(A'), e).
    """
    views = [batch["textured"]] if config.single_view else [batch["image"], batch["textured"]]
    images = torch.cat(views)  # (2B, 3, S, S), or (B, 3, S, S) with one view
    person, edge, weight = batch["target"].float(), batch["edge"], batch["weight"].float()  # (B, S, S) each
    target = torch.stack([1 - person, person], dim=1)  # (B, 2, S, S): class probabilities
    outputs = model(images, with_edge=True) if config.edge_loss else (model(images),)  # (2B or B, 2, S, S) each
    mask_views, *edge_views = [output.float().chunk(len(views)) for output in outputs]  # (A, A') or (A',)
    mask_a, mask_t = (None, *mask_views) if config.single_view else mask_views
    edge_t = edge_views[0][-1] if config.edge_loss else None

    terms: dict[str, torch.Tensor] = {}
    if mask_a is not None:
        terms["ce"] = weighted_mean(F.cross_entropy(mask_a, target, reduction="none"), weight)
    terms["ce_textured"] = weighted_mean(F.cross_entropy(mask_t, target, reduction="none"), weight)
    loss = sum(terms.values())
    if config.edge_loss:
        terms["edge"] = focal_loss(edge_t, edge, config.focal_gamma, weight)
        loss = loss + config.edge_weight * terms["edge"]
    if config.consistency_loss:
        terms["consistency"] = consistency_loss(mask_a, mask_t, config.temperature)
        loss = loss + config.consistency_weight * terms["consistency"]
    return loss, {name: float(value.detach()) for name, value in terms.items()}


# --- validation ---

def recalibrate_batchnorm(model: nn.Module, loader: Any, config: TrainConfig, device: torch.device,
                          dtype: torch.dtype | None) -> None:
    """Recompute model's BatchNorm statistics on the first training batches of the epoch (augmented as trained).

    The weight average carries averaged statistics, which stop matching the averaged weights once the weights move
    fast: the long run's held-out IoU fell epoch after epoch while its loss held, and came back with fresh statistics
    (docs/runs/long_imagenet/run.txt)."""
    layers = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    momenta = [layer.momentum for layer in layers]
    for layer in layers:
        layer.reset_running_stats()
        layer.momentum = None  # a plain mean over the batches
    model.train()
    with torch.no_grad():  # as torch.optim.swa_utils.update_bn, with autocast round the model alone
        for batch in itertools.islice(loader, math.ceil(config.bn_recalibration_samples / config.batch_size)):
            views = [batch["textured"]] if config.single_view else [batch["image"], batch["textured"]]
            images = torch.cat(views).to(device)
            with autocast(device, dtype):
                model(images.contiguous(memory_format=torch.channels_last) if config.channels_last else images)
    for layer, momentum in zip(layers, momenta):
        layer.momentum = momentum


@torch.no_grad()
def predict_masks(model: nn.Module, loader: DataLoader, device: torch.device, dtype: torch.dtype | None,
                  channels_last: bool) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(predicted mask, true mask) pairs at the input size, one per image."""
    model.eval()
    for batch in loader:
        images = batch["image"].to(device)
        if channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        with autocast(device, dtype):
            logits = model(images)
        predicted = logits.float().argmax(1).cpu().numpy()
        for pred, true in zip(predicted, batch["mask"].numpy()):
            yield pred, true


def validation_iou(model: nn.Module, dataset: PortraitDataset, config: TrainConfig, device: torch.device,
                   dtype: torch.dtype | None, ddp: Distributed) -> float:
    """Mean per-image foreground IoU at the input size; under DDP each rank takes a shard and the sums are pooled."""
    indices = list(range(ddp.rank, len(dataset), ddp.world_size))
    loader = DataLoader(torch.utils.data.Subset(dataset, indices), batch_size=config.batch_size,
                        num_workers=config.num_workers)
    ious = [foreground_iou(p, t) for p, t in predict_masks(model, loader, device, dtype, config.channels_last)]
    totals = torch.tensor([sum(ious), len(ious)], dtype=torch.float64)
    if ddp.enabled:
        dist.all_reduce(totals)
    return float(totals[0] / max(1.0, float(totals[1])))


# --- logging and curves ---

def append_log(path: Path, record: dict[str, Any]) -> None:
    with path.open("a") as handle:
        handle.write(json.dumps(record) + "\n")


def read_log(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def truncate_log(path: Path, epochs_done: int) -> None:
    """After a resume, drop records of epochs the checkpoint does not contain."""
    records = [r for r in read_log(path) if r["epoch"] <= epochs_done]
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


# --- the loop ---

def training_batches(train_set: PortraitDataset, batches: FramedBatches, config: TrainConfig,
                     device: torch.device) -> DataLoader | TensorBatches:
    """The epoch's batches: per-sample NumPy augmentation in a DataLoader, or batched tensor augmentation on the
    device. DataLoader workers are not persistent: each epoch's workers must copy the dataset after set_epoch, or
    they would draw the first epoch's augmentation forever."""
    if config.data_path == "tensor":
        return TensorBatches(train_set, batches, device, config.single_view)
    return DataLoader(train_set, batch_sampler=batches, num_workers=config.num_workers,
                      pin_memory=device.type == "cuda")


def parameter_groups(model: PortraitNet, config: TrainConfig) -> list[dict[str, Any]]:
    """One group, or the encoder's and the rest's when the encoder learns at its own rate."""
    if config.encoder_lr_ratio == 1.0:
        return [{"params": list(model.parameters()), "lr_scale": 1.0}]
    encoder = list(model.encoder.parameters())
    encoder_ids = {id(p) for p in encoder}
    rest = [p for p in model.parameters() if id(p) not in encoder_ids]
    return [{"params": encoder, "lr_scale": config.encoder_lr_ratio}, {"params": rest, "lr_scale": 1.0}]


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr * group.get("lr_scale", 1.0)


def train(config: TrainConfig, resume: bool = False, show_progress: bool = True,
          time_limit: float = 0.0, until_epoch: int = 0) -> dict[str, Any]:
    """Train for config.epochs epochs (continuing from out_dir/last.pt when resume is set).

    Writes out_dir/last.pt (full state), out_dir/best.pt (model file of the best validation epoch),
    out_dir/log.jsonl and out_dir/curves.png. Returns a summary. With a time_limit (seconds from this call) the
    run stops after the last epoch that fits, its schedule unchanged: a later call with resume goes on from there.
    With until_epoch it stops after that epoch, the schedule unchanged too (a branch of a run, trained for a few
    epochs with one thing changed, is an A/B against the run's own epochs).
    """
    called = time.monotonic()
    config.validate()
    ddp, device = setup_distributed(config.device)
    out_dir = Path(config.out_dir)
    last_path, best_path, log_path = out_dir / "last.pt", out_dir / "best.pt", out_dir / "log.jsonl"
    torch.manual_seed(config.seed)

    train_set, val_sets, data_info = build_datasets(config, train_size=config.train_size(0))
    if ddp.is_main:
        log.info("data: %d train, %d validation; left out as duplicates of test images: %s",
                 data_info["train"], data_info["val"], ", ".join(data_info["dropped_test_duplicates"]) or "none")
        for name, pool in data_info["pools"].items():
            log.info("pool %s: %d train, %d validation", name, pool["train"], pool["val"])
    per_rank_batch = max(1, config.batch_size // ddp.world_size)
    sampler = DistributedSampler(train_set, num_replicas=ddp.world_size, rank=ddp.rank, shuffle=True,
                                 seed=config.seed, drop_last=False)
    batches = FramedBatches(sampler, per_rank_batch, config.framed_batch_probability, config.seed)
    if len(batches) == 0:
        raise ValueError(f"batch size {per_rank_batch} per process exceeds the {len(train_set) // ddp.world_size} "
                         "training samples each process gets; lower batch_size")
    loader = training_batches(train_set, batches, config, device)
    model = PortraitNet(config.encoder_padding).to(device)
    if config.channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(parameter_groups(model, config), lr=config.lr, weight_decay=config.weight_decay)
    dtype = resolve_precision(config.precision, device)
    scaler = torch.amp.GradScaler(device.type, enabled=dtype == torch.float16)

    start_epoch, best_iou, best_epoch = 0, -1.0, -1
    resumed = resume and last_path.is_file()
    if resumed:
        state = load_checkpoint(last_path)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scaler.load_state_dict(state["scaler"])
        torch.set_rng_state(state["torch_rng"])
        start_epoch, best_iou, best_epoch = state["epoch"], state["best_val_iou"], state["best_epoch"]
        for key in ("encoder_source", "warm_start"):  # records of where the run's weights came from
            if state.get(key):
                data_info[key] = state[key]
        if ddp.is_main:
            truncate_log(log_path, start_epoch)
            log.info("resumed from %s after epoch %d (best validation IoU %.4f at epoch %d)",
                     last_path, start_epoch, best_iou, best_epoch)
    else:
        if resume and ddp.is_main:
            log.info("no checkpoint at %s: starting a new run", last_path)
        if config.encoder_weights == "imagenet" and not config.init_from:
            from .imagenet import imagenet_encoder_weights
            encoder_state, data_info["encoder_source"] = imagenet_encoder_weights()
            missing, unexpected = model.load_state_dict(encoder_state, strict=False)
            if unexpected or any(key.startswith("encoder.") for key in missing):
                raise ValueError(f"ImageNet weights do not fit the encoder (unexpected {unexpected}, missing "
                                 f"{[k for k in missing if k.startswith('encoder.')]})")
            if ddp.is_main:
                log.info("encoder from ImageNet: %s", data_info["encoder_source"]["source"])
        if config.init_from:
            start = load_checkpoint(config.init_from)
            model.load_state_dict({k: v.float() if v.is_floating_point() else v
                                   for k, v in model_weights(start).items()})
            if start.get("data", {}).get("encoder_source"):  # where the lineage's encoder came from
                data_info["encoder_source"] = start["data"]["encoder_source"]
            # The file's hash, so that tools/ship_model.py can tell when a path (the shipped model's) has since
            # been overwritten and no longer holds the weights this run started from.
            data_info["warm_start"] = {"path": config.init_from, "sha256": file_sha256(config.init_from)}
            if ddp.is_main:
                log.info("warm start: weights from %s (optimiser and schedule start afresh)", config.init_from)
        if ddp.is_main:
            out_dir.mkdir(parents=True, exist_ok=True)
            log_path.unlink(missing_ok=True)
    ema = WeightEMA(model, config.ema_decay, config.ema_ramp) if config.ema_decay else None  # from the start weights
    if resumed and ema is not None and state.get("ema_state") is not None:
        ema.load_state_dict(state["ema_state"])

    net: nn.Module = model
    if ddp.enabled:
        net = nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None,
                                                  find_unused_parameters=not config.edge_loss)
    eval_model = PortraitNet(config.encoder_padding).to(device)
    if config.channels_last:
        eval_model = eval_model.to(memory_format=torch.channels_last)

    interactive = sys.stderr.isatty()
    last_plot = -math.inf
    longest_epoch = 0.0
    epochs_done = start_epoch
    for epoch in range(start_epoch, config.epochs):
        if time_limit and time.monotonic() - called + longest_epoch > time_limit:
            if ddp.is_main:
                log.info("time limit: stopping after epoch %d of %d (resume to go on)", epoch, config.epochs)
            break
        if until_epoch and epoch >= until_epoch:
            break
        lr = config.lr * config.lr_factor(epoch)
        set_lr(optimizer, lr)
        if config.train_size(epoch) != train_set.size:  # the early epochs are over: the same samples, full size
            train_set = PortraitDataset(train_set.samples, config.train_size(epoch), augment=True, seed=config.seed,
                                        augmentation=train_set.augmentation)
            loader = training_batches(train_set, batches, config, device)
        sampler.set_epoch(epoch)
        batches.set_epoch(epoch)
        train_set.set_epoch(epoch)
        if isinstance(loader, TensorBatches):
            loader.set_epoch(epoch)
        net.train()
        sums: dict[str, float] = {}
        steps = 0
        started = time.perf_counter()
        bar = tqdm(loader, desc=f"epoch {epoch + 1}/{config.epochs}", disable=not (show_progress and ddp.is_main),
                   mininterval=0.5 if interactive else 30, leave=False)
        for batch in bar:
            batch = {k: v.to(device, non_blocking=True) for k, v in batch.items()}
            if config.channels_last:
                for key in ("image", "textured"):
                    if key in batch:
                        batch[key] = batch[key].contiguous(memory_format=torch.channels_last)
            with autocast(device, dtype):
                loss, terms = compute_loss(net, batch, config)
            if not math.isfinite(loss.item()):
                raise FloatingPointError(f"loss became {loss.item()} at epoch {epoch + 1}, step {steps + 1}")
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            if ema is not None:
                ema.update(model)
            steps += 1
            sums["loss"] = sums.get("loss", 0.0) + loss.item()
            for name, value in terms.items():
                sums[name] = sums.get(name, 0.0) + value
            bar.set_postfix(loss=f"{sums['loss'] / steps:.4f}")
        train_seconds = time.perf_counter() - started

        eval_model.load_state_dict(ema.shadow if ema is not None else model.state_dict())
        if ema is not None and config.bn_recalibration_samples:
            recalibrate_batchnorm(eval_model, loader, config, device, dtype)
        scores = {f"val_iou_{name}": validation_iou(eval_model, dataset, config, device, dtype, ddp)
                  for name, dataset in val_sets.items()}
        # The score that picks the best epoch: EG1800 validation alone, or with the pools' held-out parts.
        val_iou = selection_score(scores["val_iou_main"],
                                  {name: (scores[f"val_iou_{name}"], len(dataset))
                                   for name, dataset in val_sets.items() if name != "main"},
                                  config.pool_weighting)
        seconds = time.perf_counter() - started
        longest_epoch = max(longest_epoch, seconds)
        epochs_done = epoch + 1
        improved = val_iou > best_iou
        if improved:
            best_iou, best_epoch = val_iou, epochs_done
        if ddp.is_main:
            record = {"epoch": epochs_done, "lr": lr, **{k: v / steps for k, v in sums.items()},
                      **(scores if len(scores) > 1 else {}), "val_iou": val_iou, "best_val_iou": best_iou,
                      "samples_seen": epochs_done * len(sampler) * ddp.world_size,  # every epoch: the whole set
                      "fresh_bn_statistics": ema is not None and config.bn_recalibration_samples > 0,
                      "images_per_s": steps * per_rank_batch * ddp.world_size / train_seconds,
                      "seconds": seconds}
            if improved:
                save_atomic(model_payload(eval_model.state_dict(), config.to_dict(), epoch=epochs_done,
                                          metrics={"val_iou": val_iou, **scores}, data=data_info), best_path)
            save_atomic({
                "format": TRAINING_FORMAT, "config": config.to_dict(), "epoch": epochs_done,
                "model": model.state_dict(), "ema": ema.shadow if ema is not None else None,
                "ema_state": ema.state_dict() if ema is not None else None,
                "optimizer": optimizer.state_dict(), "scaler": scaler.state_dict(),
                "torch_rng": torch.get_rng_state(), "best_val_iou": best_iou, "best_epoch": best_epoch,
                "encoder_source": data_info.get("encoder_source"),
                "warm_start": data_info.get("warm_start"),
            }, last_path)
            append_log(log_path, record)
            # Drawing costs about a second: every epoch on a CPU, at most twice a minute on a fast GPU.
            if time.monotonic() - last_plot > 30 or epochs_done == config.epochs:
                from ..evaluation.plots import plot_curves  # matplotlib only where curves are drawn
                plot_curves(read_log(log_path), out_dir / "curves.png")
                last_plot = time.monotonic()
            log.info("epoch %d/%d  loss %.4f  val IoU %.4f  best %.4f (epoch %d)  %.0f img/s  %.0fs",
                     epochs_done, config.epochs, record["loss"], val_iou, best_iou, best_epoch,
                     record["images_per_s"], seconds)
        if ddp.enabled:
            dist.barrier()
    if ddp.enabled:
        dist.destroy_process_group()
    return {
        "rank": ddp.rank,
        "epochs": config.epochs,
        "epochs_done": epochs_done,
        "best_val_iou": best_iou,
        "best_epoch": best_epoch,
        "out_dir": str(out_dir),
    }
