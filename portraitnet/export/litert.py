"""LiteRT (.tflite, the TensorFlow Lite format phones run) export with litert-torch, and a runner on LiteRT's own
interpreter for the parity check. The `tflite` extra; inference never needs it.

The graph is the same inference rewrite as the ONNX export (PersonProbability), with the input turned channel-last,
(1, H, W, 3) normalised RGB, as TFLite delegates expect; the output is the person probability (1, H, W). TFLite
graphs have one fixed input shape: 224 x 224 by default, or e.g. 128 x 224 for 16:9 frames.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from ..files import atomic_path
from ..inference import route
from ..inference.imageio import ImageInput, load_rgb
from ..model.inference_graph import PersonProbability
from ..model.network import PortraitNet


def calibration_batches(photos: Sequence[Path], shape: tuple[int, int]) -> list[torch.Tensor]:
    """Calibration inputs (1, H, W, 3) from photos, letterboxed as inference does; a photo that does not fit the
    shape's aspect is stretched to it (calibration needs the range of values, not the framing)."""
    height, width = shape
    batches = []
    for photo in photos:
        rgb = load_rgb(photo)
        if height == width:
            batch, _ = route.prepare_batch([rgb], height)
        else:
            import cv2
            batch, _ = route.prepare_batch([cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA)],
                                           max(height, width), fit=True)
        batches.append(torch.from_numpy(batch.transpose(0, 2, 3, 1).copy()))
    return batches


def export_tflite(model: PortraitNet, output: Path, shape: tuple[int, int], calibration: Sequence[Path] = (),
                  int8_output: Path | None = None) -> list[Path]:
    """Write the float32 .tflite, and with int8_output an int8 one (PT2E static quantisation, per-channel weights,
    activations calibrated on the photos)."""
    import litert_torch
    from litert_torch.quantize import pt2e_quantizer
    from litert_torch.quantize.quant_config import QuantConfig
    from torchao.quantization.pt2e import quantize_pt2e

    module = litert_torch.to_channel_last_io(PersonProbability(model.float().eval()), args=[0]).eval()
    example = (torch.zeros(1, *shape, 3),)
    with atomic_path(output) as tmp:
        litert_torch.convert(module, example).export(str(tmp))
    written = [Path(output)]
    if int8_output is not None:
        if not calibration:
            raise ValueError("int8 needs calibration photos")
        quantizer = pt2e_quantizer.PT2EQuantizer().set_global(
            pt2e_quantizer.get_symmetric_quantization_config(is_per_channel=True))
        prepared = quantize_pt2e.prepare_pt2e(torch.export.export(module, example).module(), quantizer)
        with torch.no_grad():
            for batch in calibration_batches(calibration, shape):
                prepared(batch)
        quantized = quantize_pt2e.convert_pt2e(prepared, fold_quantize=False)
        with atomic_path(int8_output) as tmp:
            litert_torch.convert(quantized, example, quant_config=QuantConfig(pt2e_quantizer=quantizer)).export(str(tmp))
        written.append(Path(int8_output))
    return written


def quantized(values: np.ndarray, tensor: dict) -> np.ndarray:
    """Float values as the tensor takes them: as they are, or in an int8 graph as int8 with its scale and zero."""
    if tensor["dtype"] == np.float32:
        return np.ascontiguousarray(values, np.float32)
    scale, zero = tensor["quantization"]
    limits = np.iinfo(tensor["dtype"])
    return np.clip(np.round(values / scale) + zero, limits.min, limits.max).astype(tensor["dtype"])


def dequantized(values: np.ndarray, tensor: dict) -> np.ndarray:
    if tensor["dtype"] == np.float32:
        return values
    scale, zero = tensor["quantization"]
    return ((values.astype(np.float32) - zero) * scale).astype(np.float32)


class TfliteModel:
    """A .tflite export on LiteRT's interpreter, fed through the package's inference route (for parity checks)."""

    def __init__(self, path: str | Path, threads: int = 2) -> None:
        from ai_edge_litert.interpreter import Interpreter
        self.interpreter = Interpreter(model_path=str(path), num_threads=threads)
        self.interpreter.allocate_tensors()
        self.input = self.interpreter.get_input_details()[0]
        self.output = self.interpreter.get_output_details()[0]
        self.shape = tuple(int(side) for side in self.input["shape"][1:3])

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        """Normalised (B, 3, H, W) -> probability (B, H, W), one image at a time (the graph's batch is 1)."""
        if tuple(batch.shape[2:]) != self.shape:
            raise ValueError(f"this .tflite takes {self.shape[0]} x {self.shape[1]} inputs, got {batch.shape[2:]}")
        out = []
        for image in batch:
            self.interpreter.set_tensor(self.input["index"], quantized(image.transpose(1, 2, 0)[None], self.input))
            self.interpreter.invoke()
            out.append(dequantized(self.interpreter.get_tensor(self.output["index"])[0], self.output))
        return np.stack(out)

    def predict(self, image: ImageInput) -> np.ndarray:
        """Person probability at the image's size; the image must fit the graph's shape as `fit` inputs do."""
        height, width = self.shape
        return route.predict(self, [load_rgb(image)], max(height, width), fit=height != width)[0]
