"""ONNX export: one input (B, 3, S, S) normalised image, one output (B, S, S) person probability."""

from __future__ import annotations

import copy
import itertools
import shutil
import tempfile
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..files import atomic_path
from .model import LearnedUpsample, PortraitNet, check_input_size

ONNX_OPSET = 17
EXPORT_VERSION = 5  # bump when the exported graph changes, so cached exports are redone


def subpixel_weight(weight: torch.Tensor) -> torch.Tensor:
    """A ConvTranspose2d(kernel 4, stride 2, padding 1) weight (in, out, 4, 4) as the weight (out * 4, in, 3, 3) of
    a 3x3 conv whose output, pixel-shuffled by 2, is the same up-sampling, borders included.

    Output pixel (2y + py, 2x + px) reads input rows y + dy with kernel row ky = py + 1 - 2 dy, for the dy where
    ky lands in 0..3 (the same for columns); pixel_shuffle takes channel o * 4 + py * 2 + px to phase (py, px) of o.
    """
    in_ch, out_ch = weight.shape[:2]
    conv = weight.new_zeros(out_ch, 2, 2, in_ch, 3, 3)
    for py, px, dy, dx in itertools.product((0, 1), (0, 1), (-1, 0, 1), (-1, 0, 1)):
        ky, kx = py + 1 - 2 * dy, px + 1 - 2 * dx
        if 0 <= ky < 4 and 0 <= kx < 4:
            conv[:, py, px, :, dy + 1, dx + 1] = weight[:, :, ky, kx].T
    return conv.reshape(out_ch * 4, in_ch, 3, 3)


def phase_conv_weight(weight: torch.Tensor) -> torch.Tensor:
    """A 3x3 conv weight (out, in, 3, 3) meant for a 2x up-sampled map, rewritten to act on that map's four phases
    before the shuffle: (out * 4, in * 4, 3, 3), input and output channels in pixel_shuffle order.

    Output phase q at (y, x) reads the up-sampled pixel 2y + q + d, which is phase (q + d) mod 2 at offset
    floor((q + d) / 2); zero padding of the phases is zero padding of the up-sampled map, so borders stay exact.
    """
    out_ch, in_ch = weight.shape[:2]
    conv = weight.new_zeros(out_ch, 2, 2, in_ch, 2, 2, 3, 3)
    for qy, qx, dy, dx in itertools.product((0, 1), (0, 1), (-1, 0, 1), (-1, 0, 1)):
        sy, sx = qy + dy, qx + dx
        conv[:, qy, qx, :, sy % 2, sx % 2, sy // 2 + 1, sx // 2 + 1] += weight[:, :, dy + 1, dx + 1]
    return conv.reshape(out_ch * 4, in_ch * 4, 3, 3)


class SubPixelUpsample(nn.Module):
    """A LearnedUpsample computed as a 3x3 conv and a pixel shuffle: the same numbers, but runtimes run convs in
    their fast blocked layouts, where transposed convs fall back to a slow col2im path."""

    def __init__(self, upsample: LearnedUpsample) -> None:
        super().__init__()
        weight = upsample.weight.detach().float()
        self.conv = nn.Conv2d(weight.shape[0], weight.shape[1] * 4, 3, padding=1, bias=False)
        self.conv.weight.data.copy_(subpixel_weight(weight))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.pixel_shuffle(self.conv(x), 2)


class PhaseHead(nn.Module):
    """The last up-sampling and the mask head, folded to the person-minus-background logit and computed on the four
    phases at half resolution; only the one-channel result is shuffled up to full resolution."""

    def __init__(self, upsample: LearnedUpsample, mask_head: nn.Conv2d) -> None:
        super().__init__()
        self.upsample = SubPixelUpsample(upsample).conv  # the four phases, left unshuffled
        head = mask_head.weight.detach().float()
        difference = head[1:2] - head[0:1]  # softmax over two classes = sigmoid(l_person - l_background)
        self.head = nn.Conv2d(self.upsample.out_channels, 4, 3, padding=1, bias=False)
        self.head.weight.data.copy_(phase_conv_weight(difference))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(F.pixel_shuffle(self.head(self.upsample(x)), 2))[:, 0]


class PersonProbability(nn.Module):
    """The person probability (B, H, W) of a PortraitNet, the same numbers as softmax(model(x))[:, 1], rewritten for
    inference: transposed convs as sub-pixel convs, and the full-resolution tail (last up-sampling, mask head,
    two-class softmax) as one-channel work at half resolution. The edge head is not needed and is left out.
    The rewritten layers are copies: build it from the finished model, after training."""

    def __init__(self, model: PortraitNet) -> None:
        super().__init__()
        decoder = copy.deepcopy(model.decoder).float()
        if decoder.skip_count >= len(decoder.upsamples):
            raise ValueError("the folded head needs the last up-sampling to feed the mask head directly")
        last = decoder.upsamples[-1]
        decoder.upsamples = nn.ModuleList([SubPixelUpsample(up) for up in decoder.upsamples[:-1]] + [nn.Identity()])
        self.encoder = model.encoder
        self.decoder = decoder
        self.head = PhaseHead(last, model.mask_head)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        check_input_size(image)
        return self.head(self.decoder(self.encoder(image)))


def export_onnx(model: PortraitNet, path: str | Path, input_size: int = 224, opset: int = ONNX_OPSET) -> Path:
    """Write the model's person probability, rewritten for inference, as ONNX with a dynamic batch axis."""
    export_module(PersonProbability(model.float().eval()), path, input_size, opset)
    if model.encoder_padding == "keras":
        fold_bottom_right_pads(path)
    return Path(path)


def fold_bottom_right_pads(path: str | Path) -> None:
    """Give each Pad that feeds a Conv (the Keras-padded stride-2 convs: F.pad exports as a Pad whose amounts are
    computed by a chain of shape ops) to the Conv as its own asymmetric `pads` attribute, (top, left, bottom, right)
    = (0, 0, 1, 1). ONNX Runtime does not fuse the exported Pad, which made the graph 20-35% slower."""
    import onnx

    model = onnx.load(str(path))
    graph = model.graph
    consumers = {name: [n for n in graph.node if name in n.input] for node in graph.node for name in node.output}
    folded = []
    for pad in [n for n in graph.node if n.op_type == "Pad"]:
        (conv,) = consumers[pad.output[0]]
        if conv.op_type != "Conv" or any(a.name == "pads" and any(a.ints) for a in conv.attribute):
            raise ValueError(f"{path}: a Pad feeds {conv.op_type} {conv.name}, not an unpadded Conv")
        conv.input[0] = pad.input[0]
        for attribute in [a for a in conv.attribute if a.name == "pads"]:
            conv.attribute.remove(attribute)
        conv.attribute.append(onnx.helper.make_attribute("pads", [0, 0, 1, 1]))
        folded.append(pad)
    for pad in folded:
        graph.node.remove(pad)
    # drop the shape ops that only computed the removed Pads' amounts
    outputs = {out.name for out in graph.output}
    while True:
        used = {name for node in graph.node for name in node.input} | outputs
        dead = [n for n in graph.node if not used & set(n.output)]
        if not dead:
            break
        for node in dead:
            graph.node.remove(node)
    with atomic_path(path) as tmp:
        onnx.save(model, str(tmp))


def export_module(module: nn.Module, path: str | Path, input_size: int = 224, opset: int = ONNX_OPSET) -> Path:
    """Write a module from a normalised image (B, 3, S, S) 'image' to a probability (B, S, S) 'person' as ONNX with
    a dynamic batch axis (written atomically)."""
    path = Path(path)
    example = torch.zeros(1, 3, input_size, input_size)
    with atomic_path(path) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracer notes
        torch.onnx.export(module.eval(), (example,), str(tmp), opset_version=opset, input_names=["image"],
                          output_names=["person"], dynamic_axes={"image": {0: "batch"}, "person": {0: "batch"}},
                          dynamo=False)
    return path


def calibration_photos(folder: Path, count: int = 64) -> list[Path]:
    """`count` photos spread evenly over a folder (sorted by name): int8 calibration sees the whole folder's range."""
    from ..inference.imageio import PHOTO_SUFFIXES
    photos = sorted(p for p in folder.iterdir() if p.suffix.lower() in PHOTO_SUFFIXES)
    return photos[:: max(1, len(photos) // count)][:count]


def quantize_int8(onnx_path: str | Path, output: str | Path, calibration: list[Path], input_size: int) -> Path:
    """Static int8 quantisation with ONNX Runtime (QDQ, per-channel weights), activations calibrated on real
    photos: the letterboxed, normalised inputs the model sees in use."""
    import numpy as np
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from ..inference.imageio import load_rgb
    from ..inference.preprocess import letterbox_image, normalize

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
    with tempfile.TemporaryDirectory() as tmp, atomic_path(output) as written:
        prepared = Path(tmp) / "prepared.onnx"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            quant_pre_process(str(onnx_path), str(prepared))
            quantize_static(str(prepared), str(Path(tmp) / "int8.onnx"), Photos(), quant_format=QuantFormat.QDQ,
                            per_channel=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
        shutil.copyfile(Path(tmp) / "int8.onnx", written)  # the temporary folder may be on another file system
    return output
