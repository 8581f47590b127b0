"""Training throughput at 224 on this machine: fp32 NCHW vs channels_last + bf16 autocast (the CPU default).

Each step is a full training step of the recipe (A and A' in one batch, all three losses, Adam). The two modes
are measured alternately, so load from other processes hits both alike; compare the ratio, not the absolutes.

    python benchmarks/train_throughput.py [--batch 32] [--rounds 3] [--steps 3]
"""

from __future__ import annotations

import argparse
import time

import torch

from portraitnet.training.config import TrainConfig
from portraitnet.training.model import PortraitNet
from portraitnet.training.train import autocast, compute_loss


def make_batch(batch: int, size: int) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    mask = (torch.rand(batch, size, size, generator=generator) > 0.5).long()
    return {"image": torch.randn(batch, 3, size, size, generator=generator),
            "textured": torch.randn(batch, 3, size, size, generator=generator), "mask": mask, "edge": mask,
            "target": mask.float(), "weight": torch.ones(batch, size, size)}


def timed_steps(model, optimizer, batch, config, channels_last: bool, dtype, steps: int) -> float:
    if channels_last:
        batch = {k: v.contiguous(memory_format=torch.channels_last) if v.ndim == 4 else v for k, v in batch.items()}
    device = torch.device("cpu")
    started = time.perf_counter()
    for _ in range(steps):
        with autocast(device, dtype):
            loss, _ = compute_loss(model, batch, config)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=32, help="image pairs per step")
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=3, help="timed steps per mode per round")
    args = parser.parse_args()
    config = TrainConfig()
    batch = make_batch(args.batch, args.size)
    modes = {"fp32 NCHW": (False, None), "channels_last + bf16": (True, torch.bfloat16)}
    setups = {}
    for name, (channels_last, dtype) in modes.items():
        model = PortraitNet().train()
        if channels_last:
            model = model.to(memory_format=torch.channels_last)
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
        timed_steps(model, optimizer, batch, config, channels_last, dtype, 2)  # warm-up
        setups[name] = (model, optimizer, channels_last, dtype)
    seconds = {name: 0.0 for name in modes}
    for _ in range(args.rounds):
        for name, (model, optimizer, channels_last, dtype) in setups.items():
            seconds[name] += timed_steps(model, optimizer, batch, config, channels_last, dtype, args.steps)
    pairs = args.batch * args.steps * args.rounds
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {args.batch} pairs at {args.size}")
    for name in modes:
        print(f"{name:>22}: {pairs / seconds[name]:6.1f} image pairs/s  ({2 * pairs / seconds[name]:6.1f} images/s)")
    base, fast = seconds["fp32 NCHW"], seconds["channels_last + bf16"]
    print(f"speed-up of channels_last + bf16: {base / fast:.2f}x")


if __name__ == "__main__":
    main()
