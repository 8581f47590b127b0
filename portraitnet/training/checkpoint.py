"""Saving and loading checkpoints: atomic writes, safe loads, and the config stored beside the weights.

Two kinds of file, both plain dicts:
- a training checkpoint (`last.pt`): weights, EMA weights, optimiser, epoch, best score, RNG; enough to resume;
- a model file (`best.pt`, the shipped model): the weights to predict with, the config and the metrics.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from ..files import atomic_path
from ..model.network import PortraitNet

MODEL_FORMAT = "portraitnet-model/1"
TRAINING_FORMAT = "portraitnet-training/1"


class CheckpointError(ValueError):
    """A checkpoint that cannot be used; the message names the file."""


def save_atomic(payload: dict[str, Any], path: str | Path) -> None:
    """Write beside the target, then rename: a crash never leaves a half-written checkpoint."""
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        torch.save(payload, handle)
        handle.flush()
        os.fsync(handle.fileno())


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load with weights_only=True: a checkpoint can carry tensors and plain data, never code."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint not found")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises several types for corrupt or foreign files
        first_line = (str(error).strip().splitlines() or [""])[0][:160]  # torch's texts run to many lines
        raise CheckpointError(f"{path}: not a readable PyTorch checkpoint ({type(error).__name__}: {first_line})"
                              ) from None
    if not isinstance(payload, dict) or payload.get("format") not in (MODEL_FORMAT, TRAINING_FORMAT):
        raise CheckpointError(f"{path}: not a portraitnet checkpoint")
    return payload


def model_weights(payload: dict[str, Any]) -> dict[str, torch.Tensor]:
    """The weights to predict with: the EMA weights when a training checkpoint has them."""
    if payload["format"] == TRAINING_FORMAT and payload.get("ema") is not None:
        return payload["ema"]
    return payload["model"]


def load_model(path: str | Path) -> tuple[PortraitNet, dict[str, Any]]:
    """A ready-to-run model (eval mode, float32, CPU) and the checkpoint's other contents."""
    payload = load_checkpoint(path)
    model = PortraitNet(payload.get("config", {}).get("encoder_padding", "symmetric"))
    weights = {k: v.float() if v.is_floating_point() else v for k, v in model_weights(payload).items()}
    try:
        model.load_state_dict(weights)
    except RuntimeError as error:
        raise CheckpointError(f"{path}: weights do not fit PortraitNet ({error})") from None
    return model.eval(), payload


def model_payload(state_dict: dict[str, torch.Tensor], config: dict[str, Any], half: bool = False,
                  **extra: Any) -> dict[str, Any]:
    """A model file; half=True stores floating weights as float16 (half the size, same predictions to ~1e-3)."""
    weights = {k: (v.detach().half() if half and v.is_floating_point() else v.detach()).cpu().clone()
               for k, v in state_dict.items()}
    return {"format": MODEL_FORMAT, "config": config, "model": weights, **extra}
