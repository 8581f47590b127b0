"""int8 quantisation of an exported ONNX graph with ONNX Runtime's tools (no torch needed), calibrated on photos."""

from __future__ import annotations

import shutil
import tempfile
import warnings
from pathlib import Path

import numpy as np

from ..files import atomic_path
from ..inference.imageio import PHOTO_SUFFIXES, load_rgb
from ..inference.route import prepare_batch


# Left in float: the encoder's layers at a half and a quarter of the input's resolution (the stem and the first two
# stages). Quantised, their rounding erased the detail small people depend on: int8 lost 4.3 points on EG1800's
# zoomed-out variant and 2.6 on composites, and no calibration method recovered it; with these in float it loses 0.2
# and 0.1 (docs/results.md, "int8"). Node names are the module paths the ONNX export writes.
FLOAT_NODE_PREFIXES = ("/encoder/stem/", "/encoder/stages.0/", "/encoder/stages.1/")


def calibration_photos(folder: Path, count: int = 64) -> list[Path]:
    """`count` photos spread evenly over a folder (sorted by name): int8 calibration sees the whole folder's range."""
    photos = sorted(p for p in folder.iterdir() if p.suffix.lower() in PHOTO_SUFFIXES)
    return photos[:: max(1, len(photos) // count)][:count]


def quantize_int8(onnx_path: str | Path, output: str | Path, calibration: list[Path], input_size: int) -> Path:
    """Static int8 quantisation with ONNX Runtime (QDQ, per-channel weights), activations calibrated on real
    photos: the letterboxed, normalised inputs the model sees in use. The first layers stay in float."""
    import onnx
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    if not calibration:
        raise ValueError("int8 quantisation needs calibration photos (a folder of portraits)")

    class Photos(CalibrationDataReader):
        def __init__(self) -> None:
            self.paths = iter(calibration)

        def get_next(self) -> dict[str, np.ndarray] | None:
            path = next(self.paths, None)
            if path is None:
                return None
            return {"image": prepare_batch([load_rgb(path)], input_size)[0]}

    output = Path(output)
    with tempfile.TemporaryDirectory() as tmp, atomic_path(output) as written:
        prepared = Path(tmp) / "prepared.onnx"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            quant_pre_process(str(onnx_path), str(prepared), skip_symbolic_shape=True)  # free height and width
            # 7-bit weights (reduce_range): on CPUs without VNNI (AVX2 only: many AMD and older Intel chips) ONNX
            # Runtime's u8 x s8 kernels saturate with 8-bit weights; EG1800 test on such a CPU fell 1.85 points below
            # fp32 without it, 0.19 with it (docs/results.md)
            in_float = [node.name for node in onnx.load(str(prepared)).graph.node
                        if node.name.startswith(FLOAT_NODE_PREFIXES)]
            quantize_static(str(prepared), str(Path(tmp) / "int8.onnx"), Photos(), quant_format=QuantFormat.QDQ,
                            per_channel=True, reduce_range=True, activation_type=QuantType.QUInt8,
                            weight_type=QuantType.QInt8, nodes_to_exclude=in_float)
        shutil.copyfile(Path(tmp) / "int8.onnx", written)  # the temporary folder may be on another file system
    return output
