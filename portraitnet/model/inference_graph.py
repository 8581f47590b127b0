"""The model rewritten for inference: the same numbers as softmax(model(x))[:, 1], in the ops runtimes run fastest.

The ONNX export (portraitnet/export/onnx_graph.py) and the torch backend of the Segmenter run this graph.
"""

from __future__ import annotations

import copy
import itertools

import torch
import torch.nn.functional as F
from torch import nn

from .network import LearnedUpsample, PortraitNet, check_input_size


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
