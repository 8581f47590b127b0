"""End-to-end training throughput on real data: augmentation, forward, backward and Adam, every mode side by side.

Each mode is a set of config changes over one base config (default configs/imagenet.toml) and trains its own model
on the same photos; the modes take turns for --rounds rounds of --steps steps, so load from other processes hits
all alike. Compare the ratios, not the absolutes. Samples/s counts photos drawn from the training set (a sample
with two views counts once).

    python benchmarks/train_throughput.py [--config configs/imagenet.toml] [--device cpu|cuda] [--modes ...]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

import torch

from portraitnet.training.config import TrainConfig
from portraitnet.training.dataset import FramedBatches
from portraitnet.model.network import PortraitNet
from portraitnet.training.train import autocast, build_datasets, compute_loss, resolve_precision, training_batches

TWO_VIEWS = {"consistency_loss": True, "single_view": False}
ONE_VIEW = {"consistency_loss": False, "single_view": True}
TENSOR = {"data_path": "tensor", "landscape_probability": 0.0}  # the tensor path frames no landscapes
MODES: dict[str, dict] = {
    "paper views, 224, fp32 NCHW": {**TWO_VIEWS, "precision": "fp32", "channels_last": False},
    "paper views, 224": TWO_VIEWS,  # the recipe before the fast one: A and A', consistency loss
    "one view, 224": ONE_VIEW,
    "one view, 160": {**ONE_VIEW, "input_size": 160},
    "one view, 160, tensor": {**ONE_VIEW, **TENSOR, "input_size": 160},
    "one view, 224, tensor": {**ONE_VIEW, **TENSOR},
}


class Mode:
    def __init__(self, name: str, config: TrainConfig, device: torch.device, samples: int) -> None:
        self.name, self.config, self.device = name, config, device
        train_set, _, _ = build_datasets(replace(config, max_train_samples=samples, max_val_samples=1))
        sampler = torch.utils.data.RandomSampler(train_set, replacement=True, num_samples=10 ** 9)
        self.batches = iter(training_batches(train_set, FramedBatches(sampler, config.batch_size, 0.0), config,
                                             device))
        self.model = PortraitNet(config.encoder_padding).to(device)
        if config.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=1e-4)
        self.dtype = resolve_precision(config.precision, device)
        self.seconds = 0.0
        self.samples = 0

    def run(self, steps: int) -> None:
        _synchronize(self.device)
        started = time.perf_counter()
        for _ in range(steps):
            batch = {k: v.to(self.device, non_blocking=True) for k, v in next(self.batches).items()}
            if self.config.channels_last:
                batch = {k: v.contiguous(memory_format=torch.channels_last) if v.ndim == 4 else v
                         for k, v in batch.items()}
            with autocast(self.device, self.dtype):
                loss, _ = compute_loss(self.model, batch, self.config)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            self.samples += len(batch["target"])
        _synchronize(self.device)
        self.seconds += time.perf_counter() - started


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=Path("configs/imagenet.toml"))
    parser.add_argument("--data-root", help="overrides the config's data_root")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch", type=int, help="samples per step (default: the config's batch_size)")
    parser.add_argument("--samples", type=int, default=256, help="training photos decoded per mode")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=3, help="timed steps per mode per round")
    parser.add_argument("--modes", nargs="*", default=list(MODES), choices=list(MODES))
    args = parser.parse_args()
    values = {**TrainConfig().to_dict(), **TrainConfig.read_file(args.config), "encoder_weights": ""}
    if args.data_root:
        values["data_root"] = args.data_root
    if args.batch:
        values["batch_size"] = args.batch
    device = torch.device(args.device)
    modes = [Mode(name, TrainConfig.from_dict({**values, **MODES[name]}), device, args.samples) for name in args.modes]
    for mode in modes:  # warm-up: first-step allocations, one-off kernel choices
        mode.run(1)
        mode.seconds, mode.samples = 0.0, 0
    for _ in range(args.rounds):
        for mode in modes:
            mode.run(args.steps)
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else f"{torch.get_num_threads()} threads"
    print(f"torch {torch.__version__}, {device.type} ({where}), {args.config}, batch {values['batch_size']}, "
          f"{args.rounds} x {args.steps} steps per mode")
    base = modes[0].samples / modes[0].seconds
    for mode in modes:
        rate = mode.samples / mode.seconds
        print(f"{mode.name:>28}: {rate:8.1f} samples/s  {rate / base:5.2f}x")


if __name__ == "__main__":
    main()
