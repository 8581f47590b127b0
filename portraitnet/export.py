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
EXPORT_VERSION = 3  # bump when the exported graph changes, so cached exports are redone


class PersonProbability(nn.Module):
    """The person probability: softmax over two classes is sigmoid(l_person - l_background), far cheaper than a
    channel-axis softmax in runtimes."""

    def __init__(self, model: PortraitNet) -> None:
        super().__init__()
        self.model = model

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        logits = self.model(image)
        return torch.sigmoid(logits[:, 1] - logits[:, 0])


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


def quantize_int8(onnx_path: str | Path, output: str | Path, calibration: list[Path], input_size: int) -> Path:
    """Static int8 quantisation with ONNX Runtime (QDQ, per-channel weights), activations calibrated on real
    photos: the letterboxed, normalised inputs the model sees in use."""
    import numpy as np
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from .imageio import load_rgb
    from .preprocess import letterbox_image, normalize

    if not calibration:
        raise ValueError("int8 quantisation needs calibration photos (a folder of portraits)")

    class Photos(CalibrationDataReader):
        def __init__(self) -> None:
            self.paths = iter(calibration)

        def get_next(self) -> dict[str, np.ndarray] | None:
            path = next(self.paths, None)
            if path is None:
                return None
            square, _ = letterbox_image(load_rgb(path), input_size)
            return {"image": normalize(square[None]).numpy()}

    output = Path(output)
    with tempfile.TemporaryDirectory() as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            quant_pre_process(str(onnx_path), str(prepared))
            quantize_static(str(prepared), str(Path(tmp) / "int8.onnx"), Photos(), quant_format=QuantFormat.QDQ,
                            per_channel=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
        os.replace(Path(tmp) / "int8.onnx", output)
    return output
