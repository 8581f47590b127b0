"""ONNX export: one input (B, 3, S, S) normalised image, one output (B, S, S) person probability."""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path

import torch
from torch import nn

from .model import PortraitNet

ONNX_OPSET = 17


class PersonProbability(nn.Module):
    """The mask head's softmax, person channel only: what inference needs, nothing else."""

    def __init__(self, model: PortraitNet) -> None:
        super().__init__()
        self.model = model

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.model(image), dim=1)[:, 1]


def export_onnx(model: PortraitNet, path: str | Path, input_size: int = 224, opset: int = ONNX_OPSET) -> Path:
    """Write the model as ONNX with a dynamic batch axis (written atomically)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wrapper = PersonProbability(model.float().eval())
    example = torch.zeros(1, 3, input_size, input_size)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracer notes
            torch.onnx.export(wrapper, (example,), tmp, opset_version=opset, input_names=["image"],
                              output_names=["person"], dynamic_axes={"image": {0: "batch"}, "person": {0: "batch"}},
                              dynamo=False)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return path
