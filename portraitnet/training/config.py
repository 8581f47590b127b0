"""Every training knob in one dataclass; a TOML file and command-line flags fill it, checkpoints store it."""

from __future__ import annotations

import dataclasses
import math
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from .selection import POOL_WEIGHTINGS

# How the encoder's stride-2 3x3 convs pad (portraitnet/model/network.py): "symmetric" (one pixel on every side, the
# official code's) or "keras" (bottom and right only, as Keras's MobileNetV2 on even sizes; the ImageNet weights
# were trained that way, and only that padding reproduces their features).
ENCODER_PADDINGS = ("symmetric", "keras")


# Knobs of experiments that were tried and not kept (docs/results.md), removed on 2026-12-03 with their code. Configs
# and checkpoints that hold them at these values (off) still load; one that turned a knob on cannot be rerun here.
RETIRED_KNOBS = {"photometric_probability": 0.0, "edge_loss_on_original": False, "consistency_both_ways": False,
                 "iou_weight": 0.0}


def without_retired_knobs(values: dict[str, Any]) -> dict[str, Any]:
    for key, off in RETIRED_KNOBS.items():
        if key in values and values[key] != off:
            raise ValueError(f"{key} = {values[key]!r}: this knob was removed on 2026-12-03 (tried, not kept; see "
                             "docs/results.md); a run that used it can be rerun with an earlier release")
    return {key: value for key, value in values.items() if key not in RETIRED_KNOBS}


@dataclass
class TrainConfig:
    # data
    data_root: str = "../shared/data/eg1800"
    train_list: str = "eg1800_train_present.txt"
    test_list: str = "eg1800_test_present.txt"  # only used to leave duplicates of test images out of training
    val_fraction: float = 0.1
    split_seed: int = 0  # the val_fraction split's seed, apart from `seed`: other seeds hold out the same photos
    val_list: str = ""  # a split list of validation stems; when set, val_fraction is not used
    max_train_samples: int = 0  # 0 = all; small values are for smoke tests
    max_val_samples: int = 0
    input_size: int = 224  # validation's size, and training's after the early epochs
    early_input_size: int = 0  # 0 = off; else the first early_epochs train at this smaller size (a fully
    # convolutional network learns most of what it learns at 160 px at about half the cost per sample at 224)
    early_epochs: int = 0
    # pseudo-labelled pools (tools/pseudo_label.py): folders with images/, masks/, train.txt and val.txt. Their
    # train parts join the training set; each val part is scored against the teachers' masks, and the checkpoint
    # kept as best is the one with the highest mean over EG1800's validation split and the pools' val parts.
    pools: list[str] = dataclasses.field(default_factory=list)
    pool_weighting: str = "equal"  # in that mean: each pool one term ("equal"), or the pools' held-out photos as one
    # term, each pool weighted by its size ("size"; portraitnet/training/selection.py)
    main_repeat: int = 1  # EG1800's training split is listed this many times per epoch, so that its true masks
    # keep their share of the steps when the pools outnumber it
    pool_targets: str = "hard"  # what the pools' train parts teach: "hard" (masks/, the teachers' mean >= 0.5),
    # "soft" (soft/, the teachers' mean probability itself: their doubt at hair and edges carries over) or
    # "banded" (hard where the teachers' mean is at least pool_doubt_band from 0.5, left out of the loss elsewhere:
    # where the teachers disagree, on an edge or a whole limb, nothing is taught)
    pool_doubt_band: float = 0.3
    teacher_dir: str = ""  # the teachers' soft masks of EG1800's training images (<stem>.png, 0..255, made by
    # tools/pseudo_label.py); with teacher_weight > 0 each target is (1 - w) * true mask + w * teachers' mask
    teacher_weight: float = 0.0
    # model
    encoder_weights: str = ""  # "" (random) or "imagenet" (portraitnet/training/imagenet.py; needs encoder_padding "keras")
    encoder_padding: str = "symmetric"  # "symmetric" or "keras": how the encoder's stride-2 convs pad
    # augmentation (the official code's ranges)
    rotation_degrees: float = 45.0
    scale_min: float = 0.5
    scale_max: float = 1.5
    shift: float = 0.25
    flip_probability: float = 0.5
    # beyond the paper (0 = off): scenes and light EG1800 does not show
    composite_probability: float = 0.0  # paste the person onto another training image's scene
    landscape_probability: float = 0.0  # frame of another aspect ratio (16:9, 4:3, 1:1, 9:16) instead of 3:4
    framed_batch_probability: float = 0.0  # a batch at a non-square input (16:9 as 224 x 128 ...), for fit inference
    framed_scene_probability: float = 0.0  # in a framed batch, a sample not drawn for a composite gets one anyway
    # losses: L = CE(A) + CE(A') + edge_weight * Focal(edge(A')) + consistency_weight * KL(q(A) || q(A')) * T^2
    edge_loss: bool = True
    edge_weight: float = 0.1
    focal_gamma: float = 2.0
    consistency_loss: bool = True
    consistency_weight: float = 2.0
    temperature: float = 1.0
    single_view: bool = False  # only A' goes through the network (half the cost of a sample); needs the
    # consistency loss off, which is the only term that compares A with A'
    # optimisation (the paper's: Adam 1e-3, wd 5e-4, batch 64, lr x0.95 every 20 epochs)
    epochs: int = 2000
    batch_size: int = 64
    lr: float = 1e-3
    encoder_lr_ratio: float = 1.0  # the encoder's lr as a fraction of lr (below 1 keeps pretrained features longer)
    weight_decay: float = 5e-4
    lr_schedule: str = "step"  # "step" or "cosine"
    lr_step_epochs: int = 20
    lr_gamma: float = 0.95
    lr_min_ratio: float = 0.01  # cosine floor, as a fraction of lr
    warmup_epochs: int = 0
    ema_decay: float = 0.0  # 0 = off; e.g. 0.999 keeps an exponential moving average of the weights
    ema_ramp: bool = True  # the average's decay ramps up from 0.18 over the first steps (a run from random
    # weights); off: the full decay from the first step, so a warm start's average keeps the weights it started from
    bn_recalibration_samples: int = 1024  # with ema_decay: the average's BatchNorm statistics are recomputed on this
    # many training samples before each validation (0 = the averaged statistics). Averaged statistics stop describing
    # averaged weights once the weights move fast: docs/runs/long_imagenet/run.txt
    # machinery
    data_path: str = "numpy"  # "numpy": OpenCV augmentation per sample in the DataLoader; "tensor": the decoded
    # set as uint8 tensors on the device, augmented a batch at a time (portraitnet/training/tensor_augment.py)
    precision: str = "auto"  # auto: bf16 autocast on a CPU that supports it, fp16 AMP on CUDA; or "fp32"
    channels_last: bool = True
    device: str = "auto"
    num_workers: int = 0
    seed: int = 0
    out_dir: str = "runs/paper"
    init_from: str = ""  # warm start: take model weights from this checkpoint, nothing else

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "TrainConfig":
        values = without_retired_knobs(values)
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown config keys: {', '.join(unknown)} (known: {', '.join(sorted(known))})")
        config = cls(**values)
        config.validate()
        return config

    @staticmethod
    def read_file(path: str | Path) -> dict[str, Any]:
        """The values a TOML file sets (checked against the known keys), without filling in defaults."""
        path = Path(path)
        try:
            values = tomllib.loads(path.read_text())
        except FileNotFoundError:
            raise ValueError(f"{path}: config file not found") from None
        except tomllib.TOMLDecodeError as error:
            raise ValueError(f"{path}: not valid TOML ({error})") from None
        try:
            TrainConfig.from_dict({**TrainConfig().to_dict(), **values})
        except (TypeError, ValueError) as error:
            raise ValueError(f"{path}: {error}") from None
        return values

    def validate(self) -> None:
        if self.input_size <= 0 or self.input_size % 32:
            raise ValueError(f"input_size must be a positive multiple of 32, got {self.input_size}")
        if self.early_input_size and (self.early_input_size < 0 or self.early_input_size % 32):
            raise ValueError(f"early_input_size must be 0 or a positive multiple of 32, got {self.early_input_size}")
        if self.early_epochs < 0 or (self.early_epochs and not self.early_input_size):
            raise ValueError("early_epochs must be at least 0, and needs early_input_size")
        if self.single_view and self.consistency_loss:
            raise ValueError("single_view needs consistency_loss off: the consistency loss compares A with A'")
        if self.data_path not in ("numpy", "tensor"):
            raise ValueError(f"data_path must be 'numpy' or 'tensor', got {self.data_path!r}")
        if self.data_path == "tensor" and (self.framed_batch_probability or self.landscape_probability):
            raise ValueError("data_path 'tensor' batches square samples only: framed batches and landscape frames "
                             "need data_path 'numpy'")
        if self.lr_schedule not in ("step", "cosine"):
            raise ValueError(f"lr_schedule must be 'step' or 'cosine', got {self.lr_schedule!r}")
        if self.precision not in ("auto", "fp32", "bf16", "fp16"):
            raise ValueError(f"precision must be auto, fp32, bf16 or fp16, got {self.precision!r}")
        if not 0 <= self.val_fraction < 1:
            raise ValueError(f"val_fraction must be in [0, 1), got {self.val_fraction}")
        if self.epochs < 1 or self.batch_size < 1 or self.main_repeat < 1:
            raise ValueError("epochs, batch_size and main_repeat must be at least 1")
        if self.encoder_weights not in ("", "imagenet"):
            raise ValueError(f"encoder_weights must be '' or 'imagenet', got {self.encoder_weights!r}")
        if self.encoder_padding not in ENCODER_PADDINGS:
            raise ValueError(f"encoder_padding must be one of {', '.join(ENCODER_PADDINGS)}, "
                             f"got {self.encoder_padding!r}")
        if self.encoder_weights == "imagenet" and self.encoder_padding != "keras":
            raise ValueError("encoder_weights 'imagenet' needs encoder_padding 'keras': the weights were trained "
                             "with Keras's bottom-right padding, and only it reproduces their features")
        for name in ("composite_probability", "landscape_probability",
                     "framed_batch_probability", "framed_scene_probability"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if self.pool_weighting not in POOL_WEIGHTINGS:
            raise ValueError(f"pool_weighting must be one of {', '.join(POOL_WEIGHTINGS)}, got {self.pool_weighting!r}")
        if self.pool_targets not in ("hard", "soft", "banded"):
            raise ValueError(f"pool_targets must be 'hard', 'soft' or 'banded', got {self.pool_targets!r}")
        if not 0 < self.pool_doubt_band < 0.5:
            raise ValueError(f"pool_doubt_band must be in (0, 0.5), got {self.pool_doubt_band}")
        if not 0 <= self.teacher_weight <= 1:
            raise ValueError(f"teacher_weight must be in [0, 1], got {self.teacher_weight}")
        if self.teacher_weight > 0 and not self.teacher_dir:
            raise ValueError("teacher_weight > 0 needs teacher_dir (the teachers' soft masks of the training images)")
        if not 0 <= self.ema_decay < 1:
            raise ValueError(f"ema_decay must be in [0, 1), got {self.ema_decay}")
        if self.bn_recalibration_samples < 0:
            raise ValueError(f"bn_recalibration_samples must be 0 or more, got {self.bn_recalibration_samples}")

    def train_size(self, epoch: int) -> int:
        """The square input size training uses in `epoch` (0-based)."""
        return self.early_input_size if epoch < self.early_epochs else self.input_size

    def lr_factor(self, epoch: int) -> float:
        """Multiplier of lr during `epoch` (0-based)."""
        if epoch < self.warmup_epochs:
            return (epoch + 1) / (self.warmup_epochs + 1)
        if self.lr_schedule == "step":
            return self.lr_gamma ** (epoch // self.lr_step_epochs)
        progress = (epoch - self.warmup_epochs) / max(1, self.epochs - self.warmup_epochs)
        return self.lr_min_ratio + (1 - self.lr_min_ratio) * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))
