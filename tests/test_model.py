import pytest
import torch
import torch.nn.functional as F

from portraitnet.model.network import ENCODER_TAPS, PortraitNet, bilinear_upsampling_kernel, count_parameters


def test_parameter_count_matches_the_paper():
    assert count_parameters(PortraitNet()) == pytest.approx(2.08e6, rel=0.01)


def test_encoder_taps_have_the_recorded_channels_and_strides():
    model = PortraitNet().eval()
    x = torch.randn(1, 3, 224, 224)
    features = model.encoder(x)
    assert len(features) == len(ENCODER_TAPS)
    for feature, tap in zip(features, ENCODER_TAPS):
        assert feature.shape[1] == tap.channels
        assert feature.shape[2] == 224 // tap.stride and feature.shape[3] == 224 // tap.stride
    assert model.encoder.out_channels == [16, 24, 32, 96, 320]


@pytest.mark.parametrize("height,width", [(224, 224), (256, 160), (64, 96)])
def test_heads_are_at_full_input_resolution(height, width):
    model = PortraitNet().eval()
    mask, edge = model(torch.randn(2, 3, height, width), with_edge=True)
    assert mask.shape == edge.shape == (2, 2, height, width)
    assert model(torch.randn(1, 3, height, width)).shape == (1, 2, height, width)


def test_input_not_a_multiple_of_32_is_refused():
    with pytest.raises(ValueError, match="multiples of 32"):
        PortraitNet()(torch.randn(1, 3, 100, 224))


def test_backward_reaches_every_parameter():
    model = PortraitNet()
    mask, edge = model(torch.randn(2, 3, 64, 64), with_edge=True)
    (mask.sum() + edge.sum()).backward()
    assert all(p.grad is not None for p in model.parameters())


def test_upsampling_starts_as_bilinear():
    """Initialised transposed conv doubles a smooth ramp like bilinear interpolation (away from the border)."""
    model = PortraitNet()
    upsample = model.decoder.upsamples[0]
    channels = upsample.in_channels
    ramp = torch.arange(8.0).repeat(8, 1)[None, None].repeat(1, channels, 1, 1)
    out = upsample(ramp)
    expected = F.interpolate(ramp, scale_factor=2, mode="bilinear", align_corners=False)
    assert out.shape == (1, channels, 16, 16)
    assert torch.allclose(out[..., 2:-2, 2:-2], expected[..., 2:-2, 2:-2], atol=1e-5)
    kernel = bilinear_upsampling_kernel(2)
    assert kernel[0, 1].abs().sum() == 0  # channels do not mix at start
