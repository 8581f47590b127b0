"""Segmenter: load a model once, then predict person probabilities and apply background effects.

    from portraitnet import Segmenter
    seg = Segmenter()                      # the shipped model; ONNX Runtime on CPU when installed
    probability = seg.predict("me.jpg")    # float32 (H, W) in 0..1 at the photo's own size
    seg.blur_background("me.jpg").save("me_blur.jpg")
"""

from __future__ import annotations

import hashlib
from importlib import resources
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from . import effects
from ..training.checkpoint import load_model
from ..files import cache_dir
from .imageio import DEFAULT_MAX_PIXELS, ImageInput, load_rgb, like_input
from .preprocess import letterbox_image, normalize, unletterbox

SHIPPED_WEIGHTS = "portraitnet.pt"


def shipped_weights() -> Path:
    """The model trained for this package (see portraitnet/weights/MODEL.md)."""
    return Path(str(resources.files("portraitnet") / "weights" / SHIPPED_WEIGHTS))


def onnxruntime_available() -> bool:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


class TorchBackend:
    def __init__(self, model: torch.nn.Module, threads: int | None) -> None:
        from ..training.export import PersonProbability
        if threads:
            torch.set_num_threads(threads)
        self.model = PersonProbability(model).eval()  # the graph ONNX Runtime runs

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return self.model(torch.from_numpy(batch)).numpy()


class OnnxBackend:
    def __init__(self, path: Path, threads: int | None) -> None:
        import onnxruntime as ort
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        try:
            self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as error:  # onnxruntime raises its own exception types
            raise ValueError(f"{path}: not a loadable ONNX model ({error})") from None
        self.input_name = self.session.get_inputs()[0].name

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self.input_name: batch})[0]


class Segmenter:
    """Person segmentation with a model loaded once.

    weights: a .pt checkpoint or model file, or an exported .onnx; None for the shipped model.
    backend: "torch", "onnx" (ONNX Runtime), or "auto": ONNX Runtime on CPU when installed, else torch.
    threads: CPU threads for inference (None: the library's default).
    max_pixels: larger inputs are refused before decoding (decompression bombs).
    """

    def __init__(self, weights: str | Path | None = None, backend: str = "auto", threads: int | None = None,
                 input_size: int | None = None, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> None:
        if backend not in ("auto", "torch", "onnx"):
            raise ValueError(f"backend must be auto, torch or onnx, got {backend!r}")
        path = Path(weights) if weights is not None else shipped_weights()
        self.weights = path
        self.max_pixels = max_pixels
        if path.suffix == ".onnx":
            if backend == "torch":
                raise ValueError(f"{path}: an ONNX file needs backend='onnx' (or 'auto')")
            if not onnxruntime_available():
                raise ImportError("ONNX Runtime is needed for .onnx models: pip install 'portraitnet[onnx]'")
            self.input_size = input_size or _onnx_input_size(path)
            self.backend_name = "onnx"
            self.onnx_path: Path | None = path
            self._run = OnnxBackend(path, threads)
            return
        model, payload = load_model(path)
        self.input_size = input_size or int(payload["config"]["input_size"])
        use_onnx = backend == "onnx" or (backend == "auto" and onnxruntime_available())
        if backend == "onnx" and not onnxruntime_available():
            raise ImportError("backend='onnx' needs ONNX Runtime: pip install 'portraitnet[onnx]'")
        if use_onnx:
            self.backend_name = "onnx"
            self.onnx_path = _cached_onnx(model, path, self.input_size)
            self._run = OnnxBackend(self.onnx_path, threads)
        else:
            self.backend_name = "torch"
            self.onnx_path = None
            self._run = TorchBackend(model, threads)

    def predict(self, image: ImageInput) -> np.ndarray:
        """Person probability, float32 (H, W) in 0..1, at the image's own size."""
        return self.predict_batch([image])[0]

    def predict_batch(self, images: Sequence[ImageInput]) -> list[np.ndarray]:
        """predict() for several images in one forward pass (faster per image)."""
        rgbs = [load_rgb(image, self.max_pixels) for image in images]
        return self.predict_arrays(rgbs)

    def predict_arrays(self, rgbs: Sequence[np.ndarray],
                       sizes: Sequence[tuple[int, int]] | None = None) -> list[np.ndarray]:
        """The same for RGB uint8 arrays already decoded (the fast path for video frames). `sizes` (height, width)
        per image asks for the probability at another size than the array's, such as the full size of an image
        decoded at a reduced scale."""
        if not rgbs:
            return []
        squares, boxes = zip(*(letterbox_image(rgb, self.input_size) for rgb in rgbs))
        batch = normalize(np.stack(squares)).numpy()
        probabilities = self._run(batch)
        sizes = sizes or [None] * len(rgbs)
        return [unletterbox(p, box, size) for p, box, size in zip(probabilities, boxes, sizes)]

    # --- effects: same type in, same type out (a path gives a PIL image) ---

    def cutout(self, image: ImageInput) -> Any:
        rgb = load_rgb(image, self.max_pixels)
        return like_input(effects.cutout(rgb, self.predict_arrays([rgb])[0]), image)

    def blur_background(self, image: ImageInput, strength: float = 0.03) -> Any:
        rgb = load_rgb(image, self.max_pixels)
        return like_input(effects.blur_background(rgb, self.predict_arrays([rgb])[0], strength), image)

    def replace_background(self, image: ImageInput, background: ImageInput | tuple[int, int, int] | str) -> Any:
        """background: an image (scaled to cover) or a colour ((r, g, b), '#rrggbb', 'r,g,b', 'white'...)."""
        rgb = load_rgb(image, self.max_pixels)
        if isinstance(background, str) and not Path(background).exists():
            new: Any = effects.parse_colour(background)
        elif isinstance(background, tuple):
            new = background
        else:
            new = load_rgb(background, self.max_pixels)
        return like_input(effects.replace_background(rgb, self.predict_arrays([rgb])[0], new), image)


def _onnx_input_size(path: Path) -> int:
    import onnx
    dims = onnx.load(str(path), load_external_data=False).graph.input[0].type.tensor_type.shape.dim
    return int(dims[-1].dim_value) or 224


def _cached_onnx(model: torch.nn.Module, weights: Path, input_size: int) -> Path:
    """Export once per weights file and input size into the user's cache; later loads reuse it."""
    from ..training.export import EXPORT_VERSION, export_onnx
    digest = hashlib.sha1(weights.read_bytes()).hexdigest()[:16]
    path = cache_dir() / f"{digest}-{input_size}-v{EXPORT_VERSION}.onnx"
    if not path.is_file():
        export_onnx(model, path, input_size)
        for stale in path.parent.glob("*.onnx"):  # exports of an older graph are never read again
            if not stale.name.endswith(f"-v{EXPORT_VERSION}.onnx"):
                stale.unlink(missing_ok=True)
    return path
