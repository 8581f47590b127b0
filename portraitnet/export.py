"""ONNX export: one input (B, 3, S, S) normalised image, one output (B, S, S) person probability."""

from __future__ import annotations

import copy
import os
import tempfile
import warnings
from pathlib import Path

import torch
from torch import nn

from .model import LearnedUpsample, PortraitNet

ONNX_OPSET = 17
EXPORT_VERSION = 2  # bump when the exported graph changes, so cached exports are redone


class SubPixelUpsample(nn.Module):
    """The same map as a kernel-4, stride-2, padding-1 transposed conv, computed as a 3x3 conv to 4x the
    channels followed by a pixel shuffle. Runtimes optimise plain convs far better (ONNX Runtime: 3.2 ms of
    transposed convs per frame here before the rewrite)."""

    def __init__(self, upsample: nn.ConvTranspose2d) -> None:
        super().__init__()
        weight = upsample.weight.detach()  # (C_in, C_out, 4, 4)
        c_in, c_out = weight.shape[:2]
        # output phase a (row or column parity) reads input offsets -1, 0, +1 through these kernel taps
        taps = {0: {0: 3, 1: 1}, 1: {1: 2, 2: 0}}  # phase -> {3x3 index: 4x4 index}
        conv_weight = torch.zeros(c_out, 2, 2, c_in, 3, 3)
        for a_y, rows in taps.items():
            for a_x, cols in taps.items():
                for dy, ky in rows.items():
                    for dx, kx in cols.items():
                        conv_weight[:, a_y, a_x, :, dy, dx] = weight[:, :, ky, kx].t()
        self.conv = nn.Conv2d(c_in, 4 * c_out, 3, padding=1, bias=False)
        self.conv.weight.data.copy_(conv_weight.reshape(4 * c_out, c_in, 3, 3))
        self.shuffle = nn.PixelShuffle(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shuffle(self.conv(x))


def inference_form(model: PortraitNet) -> PortraitNet:
    """A copy of the model with the transposed convs rewritten as sub-pixel convs (same outputs to ~1e-6)."""
    model = copy.deepcopy(model).float().eval()
    model.decoder.upsamples = nn.ModuleList(
        SubPixelUpsample(up) if isinstance(up, LearnedUpsample) else up for up in model.decoder.upsamples)
    return model


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
    wrapper = PersonProbability(inference_form(model))
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
