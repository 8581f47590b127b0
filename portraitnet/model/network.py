"""PortraitNet: a MobileNetV2 encoder and a light U-shaped decoder with a mask head and an edge head.

The layout follows the paper and its official code: five encoder taps (strides 2..32), five D-blocks,
each followed by a learned 2x up-sampling, skips added (not concatenated) at strides 16, 8 and 4,
and two 3x3 heads at full input resolution.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..training.config import ENCODER_PADDINGS

# MobileNetV2 (expansion t, out channels c, repeats n, first stride s), width 1.0, no final 1280 conv.
MOBILENET_V2_STAGES: list[tuple[int, int, int, int]] = [
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
]
STEM_CHANNELS = 32
DECODER_CHANNELS = 8  # channels reaching the heads
NUM_CLASSES = 2


@dataclass(frozen=True)
class Tap:
    """One encoder feature handed to the decoder: after which stage, its channels and its stride."""

    stage: int
    channels: int
    stride: int


# Encoder outputs used by the decoder, shallow to deep.
ENCODER_TAPS: list[Tap] = [
    Tap(stage=0, channels=16, stride=2),
    Tap(stage=1, channels=24, stride=4),
    Tap(stage=2, channels=32, stride=8),
    Tap(stage=4, channels=96, stride=16),
    Tap(stage=6, channels=320, stride=32),
]


class BottomRightPaddedConv2d(nn.Conv2d):
    """A stride-2 3x3 conv padded like Keras's 'same' on even sizes: one zero row and column, bottom and right.

    The weights have the same names and shapes as nn.Conv2d's; the ONNX export gives the pad to the Conv as its
    own asymmetric padding (export.fold_bottom_right_pads), so inference costs what a symmetric conv costs."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._conv_forward(F.pad(x, (0, 1, 0, 1)), self.weight, self.bias)


def conv_bn_act(in_ch: int, out_ch: int, kernel: int, stride: int = 1, groups: int = 1,
                act: type[nn.Module] | None = nn.ReLU6, padding: str = "symmetric") -> nn.Sequential:
    if padding == "keras" and stride == 2:
        conv: nn.Conv2d = BottomRightPaddedConv2d(in_ch, out_ch, kernel, stride, 0, groups=groups, bias=False)
    else:
        conv = nn.Conv2d(in_ch, out_ch, kernel, stride, kernel // 2, groups=groups, bias=False)
    layers: list[nn.Module] = [conv, nn.BatchNorm2d(out_ch)]
    if act is not None:
        layers.append(act(inplace=True))
    return nn.Sequential(*layers)


class InvertedResidual(nn.Module):
    """MobileNetV2 block: 1x1 expand, 3x3 depthwise, 1x1 linear projection; identity skip when shapes match."""

    def __init__(self, in_ch: int, out_ch: int, stride: int, expansion: int, padding: str = "symmetric") -> None:
        super().__init__()
        hidden = in_ch * expansion
        self.conv_pw = conv_bn_act(in_ch, hidden, 1) if expansion != 1 else nn.Identity()
        self.conv_dw = conv_bn_act(hidden, hidden, 3, stride, groups=hidden, padding=padding)
        self.conv_pwl = conv_bn_act(hidden, out_ch, 1, act=None)
        self.has_skip = stride == 1 and in_ch == out_ch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv_pwl(self.conv_dw(self.conv_pw(x)))
        return x + out if self.has_skip else out


class MobileNetV2Encoder(nn.Module):
    """Returns the features listed in ENCODER_TAPS, shallow to deep."""

    out_channels = [tap.channels for tap in ENCODER_TAPS]
    strides = [tap.stride for tap in ENCODER_TAPS]

    def __init__(self, padding: str = "symmetric") -> None:
        super().__init__()
        if padding not in ENCODER_PADDINGS:
            raise ValueError(f"encoder padding must be one of {', '.join(ENCODER_PADDINGS)}, got {padding!r}")
        self.stem = conv_bn_act(3, STEM_CHANNELS, 3, stride=2, padding=padding)
        stages = []
        in_ch = STEM_CHANNELS
        for expansion, out_ch, repeats, stride in MOBILENET_V2_STAGES:
            blocks = []
            for i in range(repeats):
                blocks.append(InvertedResidual(in_ch, out_ch, stride if i == 0 else 1, expansion, padding))
                in_ch = out_ch
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.ModuleList(stages)
        self.tap_stages = {tap.stage for tap in ENCODER_TAPS}

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        features = []
        x = self.stem(x)
        for index, stage in enumerate(self.stages):
            x = stage(x)
            if index in self.tap_stages:
                features.append(x)
        return features


class DBlock(nn.Module):
    """The paper's decoder block: two depthwise-separable convs, with a 1x1 side branch when channels change."""

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__()
        self.main = nn.Sequential(
            conv_bn_act(in_ch, in_ch, 3, groups=in_ch, act=nn.ReLU),
            conv_bn_act(in_ch, out_ch, 1, act=nn.ReLU),
            conv_bn_act(out_ch, out_ch, 3, groups=out_ch, act=nn.ReLU),
            conv_bn_act(out_ch, out_ch, 1, act=None),
        )
        self.side = conv_bn_act(in_ch, out_ch, 1, act=None) if in_ch != out_ch else nn.Identity()
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.main(x) + self.side(x))


def bilinear_upsampling_kernel(channels: int, kernel: int = 4) -> torch.Tensor:
    """Weights that make a stride-2 transposed conv start as per-channel bilinear up-sampling."""
    factor = (kernel + 1) // 2
    center = factor - 1 if kernel % 2 == 1 else factor - 0.5
    ramp = 1 - torch.abs(torch.arange(kernel, dtype=torch.float32) - center) / factor
    weight = torch.zeros(channels, channels, kernel, kernel)
    weight[range(channels), range(channels)] = ramp[:, None] * ramp[None, :]
    return weight


class LearnedUpsample(nn.ConvTranspose2d):
    """Transposed conv, kernel 4, stride 2, padding 1: exactly doubles height and width."""

    def __init__(self, channels: int) -> None:
        super().__init__(channels, channels, kernel_size=4, stride=2, padding=1, bias=False)
        with torch.no_grad():
            self.weight.copy_(bilinear_upsampling_kernel(channels))


class PortraitNetDecoder(nn.Module):
    """Deep to shallow: D-block, 2x up-sampling, then add the encoder tap of the new stride (16, 8, 4)."""

    def __init__(self, encoder_channels: list[int], out_channels: int = DECODER_CHANNELS) -> None:
        super().__init__()
        # 320->96, 96->32, 32->24, 24->16, 16->8: each block lands on the next shallower tap's width.
        widths = list(reversed(encoder_channels)) + [out_channels]
        self.blocks = nn.ModuleList(DBlock(a, b) for a, b in zip(widths[:-1], widths[1:]))
        self.upsamples = nn.ModuleList(LearnedUpsample(b) for b in widths[1:])
        self.skip_count = 3  # skips at strides 16, 8, 4; the stride-2 tap is not added

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        deep_to_shallow = list(reversed(features))  # strides 32, 16, 8, 4, 2
        x = deep_to_shallow[0]
        for index, (block, upsample) in enumerate(zip(self.blocks, self.upsamples)):
            x = upsample(block(x))  # stride halves
            if index < self.skip_count:
                x = x + deep_to_shallow[index + 1]
        return x  # (B, out_channels, H, W)


def check_input_size(x: torch.Tensor) -> None:
    """The encoder halves the size five times and the decoder doubles it back: H and W must divide by 32."""
    if x.shape[-1] % 32 or x.shape[-2] % 32:
        raise ValueError(f"input height and width must be multiples of 32, got {tuple(x.shape[-2:])}")


class PortraitNet(nn.Module):
    """forward(x) returns mask logits (B, 2, H, W); with_edge=True also returns edge logits (B, 2, H, W).

    H and W must be multiples of 32. encoder_padding is one of ENCODER_PADDINGS; checkpoints record it.
    """

    def __init__(self, encoder_padding: str = "symmetric") -> None:
        super().__init__()
        self.encoder_padding = encoder_padding
        self.encoder = MobileNetV2Encoder(encoder_padding)
        self.decoder = PortraitNetDecoder(self.encoder.out_channels)
        self.mask_head = nn.Conv2d(DECODER_CHANNELS, NUM_CLASSES, 3, padding=1, bias=False)
        self.edge_head = nn.Conv2d(DECODER_CHANNELS, NUM_CLASSES, 3, padding=1, bias=False)
        self._init_weights()

    def _init_weights(self) -> None:
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
        for head in (self.mask_head, self.edge_head):
            nn.init.normal_(head.weight, std=0.01)

    def forward(self, x: torch.Tensor, with_edge: bool = False):
        check_input_size(x)
        features = self.encoder(x)  # strides 2, 4, 8, 16, 32
        decoded = self.decoder(features)  # (B, 8, H, W)
        mask = self.mask_head(decoded)  # (B, 2, H, W)
        if not with_edge:
            return mask
        return mask, self.edge_head(decoded)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
