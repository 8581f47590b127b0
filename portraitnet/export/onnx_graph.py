"""ONNX export: one input (B, 3, H, W) normalised image, one output (B, H, W) person probability; batch, height
and width are free (any multiple of 32), the square of `input_size` is the default the runtimes are fed."""

from __future__ import annotations

import hashlib
import logging
import tempfile
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..files import atomic_path, cache_dir
from ..model.inference_graph import PersonProbability
from ..model.network import PortraitNet

log = logging.getLogger(__name__)

ONNX_OPSET = 17
EXPORT_VERSION = 7  # bump when the exported graph changes, so cached exports are redone


def export_onnx(model: PortraitNet, path: str | Path, input_size: int = 224, opset: int = ONNX_OPSET) -> Path:
    """Write the model's person probability, rewritten for inference, as ONNX with free batch, height and width.

    BatchNorm stays unfolded in the file (ONNX Runtime folds it into the convs when it loads the graph), so the
    weights keep the values a float16 checkpoint gives them and are stored in half precision: half the size, the
    same numbers."""
    export_module(PersonProbability(model.float().eval()), path, input_size, opset, fold_constants=False)
    if model.encoder_padding == "keras":
        fold_bottom_right_pads(path)
    store_exact_weights_in_half(path, {"input_size": str(input_size)})
    return Path(path)


def onnx_to_ort(onnx_path: str | Path, ort_path: str | Path) -> Path:
    """The ONNX Runtime mobile format (.ort, for onnxruntime-android, -objc, -react-native): the graph with ONNX
    Runtime's hardware-independent optimisations applied, saved as a flatbuffer that loads without parsing ONNX."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED  # "all" adds x86-only layouts
    options.add_session_config_entry("session.save_model_format", "ORT")
    with atomic_path(ort_path) as tmp:
        options.optimized_model_filepath = str(tmp)
        ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
    return Path(ort_path)


def store_exact_weights_in_half(path: str | Path, metadata: dict[str, str] | None = None) -> None:
    """Store each float32 weight that float16 represents exactly as float16 behind a Cast (which ONNX Runtime folds
    when it loads the graph): a smaller file with identical numbers. Other weights stay float32. `metadata` goes
    into the file's metadata_props (the trained input size, which the free input shape no longer says)."""
    import numpy as np
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(path))
    graph = model.graph
    casts = []
    for weight in list(graph.initializer):
        values = numpy_helper.to_array(weight)
        if values.dtype != np.float32 or values.size <= 16:
            continue
        half = values.astype(np.float16)
        if np.array_equal(half.astype(np.float32), values):
            graph.initializer.remove(weight)
            graph.initializer.append(numpy_helper.from_array(half, f"{weight.name}_float16"))
            casts.append(onnx.helper.make_node("Cast", [f"{weight.name}_float16"], [weight.name],
                                               to=onnx.TensorProto.FLOAT))
    for cast in reversed(casts):
        graph.node.insert(0, cast)
    onnx.helper.set_model_props(model, metadata or {})
    with atomic_path(path) as tmp:
        onnx.save(model, str(tmp))


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


def export_module(module: nn.Module, path: str | Path, input_size: int = 224, opset: int = ONNX_OPSET,
                  fold_constants: bool = True) -> Path:
    """Write a module from a normalised image (B, 3, H, W) 'image' to a probability (B, H, W) 'person' as ONNX with
    free batch, height and width (written atomically)."""
    path = Path(path)
    example = torch.zeros(1, 3, input_size, input_size)
    with atomic_path(path) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracer notes
        torch.onnx.export(module.eval(), (example,), str(tmp), opset_version=opset, input_names=["image"],
                          output_names=["person"], dynamic_axes={"image": {0: "batch", 2: "height", 3: "width"},
                                                          "person": {0: "batch", 1: "height", 2: "width"}},
                          dynamo=False, do_constant_folding=fold_constants)
    return path


def exported_onnx(model: Any, weights: Path, input_size: int) -> Path:
    """A .pt model's ONNX graph, exported once per weights file and input size into the user's cache; where the
    cache cannot be written, into a temporary folder (and the log says so)."""
    digest = hashlib.sha1(weights.read_bytes()).hexdigest()[:16]
    name = f"{digest}-{input_size}-v{EXPORT_VERSION}.onnx"
    path = cache_dir() / name
    if path.is_file():
        return path
    try:
        export_onnx(model, path, input_size)
    except OSError as error:
        fallback = Path(tempfile.mkdtemp(prefix="portraitnet-")) / name
        log.warning("cache %s is not writable (%s); exporting %s to %s for this run only",
                    path.parent, error.strerror or error, weights, fallback)
        return export_onnx(model, fallback, input_size)
    for stale in path.parent.glob("*.onnx"):  # exports of an older graph are never read again
        if not stale.name.endswith(f"-v{EXPORT_VERSION}.onnx"):
            stale.unlink(missing_ok=True)
    return path
