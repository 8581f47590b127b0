"""Segmenter: load a model once, then predict person probabilities and apply background effects.

    from portraitnet import Segmenter
    seg = Segmenter()                      # the shipped ONNX model on ONNX Runtime: no torch needed
    probability = seg.predict("me.jpg")    # float32 (H, W) in 0..1 at the photo's own size
    seg.blur_background("me.jpg").save("me_blur.jpg")

A `.pt` file (a model you trained) needs torch (`pip install 'portraitnet[train]'`); it runs on ONNX Runtime through
a one-off export kept in the cache when `onnx` is installed too, else on torch.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from . import route
from .device import check_device, device_taken, providers_for
from .imageio import DEFAULT_MAX_PIXELS, ImageInput, like_input, load_rgb
from .refine import Refinement
from .route import Background, Look

SHIPPED_MODEL = "portraitnet.onnx"
SHIPPED_CHECKPOINT = "portraitnet.pt"  # the same model for training from (warm starts, fine-tuning)
TRAIN_EXTRA = "pip install 'portraitnet[train]'"
BACKENDS = ("auto", "onnx", "openvino", "torch")


def shipped_model() -> Path:
    """The ONNX graph of the model trained for this package (see portraitnet/weights/model.json)."""
    return Path(str(resources.files("portraitnet") / "weights" / SHIPPED_MODEL))


def shipped_weights() -> Path:
    """The same model as a checkpoint, for training and the torch backend."""
    return Path(str(resources.files("portraitnet") / "weights" / SHIPPED_CHECKPOINT))


def module_available(name: str) -> bool:
    import importlib.util
    return importlib.util.find_spec(name) is not None


def onnxruntime_available() -> bool:
    return module_available("onnxruntime")


class OnnxBackend:
    """An ONNX Runtime session. Its threads wait without spinning unless asked: spinning wins ~8% on an idle machine
    and loses 1.4-2x when other programs want the same cores (a video call beside a browser), so off by default
    (`portraitnet benchmark --busy` measures both)."""

    def __init__(self, path: Path, threads: int | None, spin: bool = False, device: str = "cpu") -> None:
        import onnxruntime as ort
        providers = providers_for(device, ort.get_available_providers())
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        try:
            self.session = ort.InferenceSession(str(path), options, providers=providers)
        except Exception as error:  # onnxruntime raises its own exception types
            raise ValueError(f"{path}: not a loadable ONNX model ({error})") from None
        self.device = device_taken(device, self.session.get_providers())
        self.input_name = self.session.get_inputs()[0].name

    def input_size(self) -> int:
        """The side the model was trained at: recorded by our export, else the graph's fixed side, else 224."""
        recorded = self.session.get_modelmeta().custom_metadata_map.get("input_size", "")
        side = self.session.get_inputs()[0].shape[-1]
        return int(recorded) if recorded.isdigit() else side if isinstance(side, int) else 224

    def fixed_shape(self) -> bool:
        """Whether the graph takes one input height and width only (exports before fit inputs)."""
        return any(isinstance(side, int) for side in self.session.get_inputs()[0].shape[2:])

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self.input_name: batch})[0]


class OpenVinoBackend:
    """The ONNX graph on OpenVINO's CPU plugin, which runs it in bfloat16 where the CPU has it (AMX, AVX-512 BF16;
    `portraitnet benchmark` measures it against ONNX Runtime). One compiled model per input shape."""

    def __init__(self, path: Path, threads: int | None) -> None:
        import openvino
        self.core = openvino.Core()
        self.config = {"PERFORMANCE_HINT": "LATENCY", **({"INFERENCE_NUM_THREADS": threads} if threads else {})}
        self.model = self.core.read_model(str(path))
        self.compiled: dict[tuple[int, ...], Any] = {}

    def input_size(self) -> int:
        recorded = self.model.get_rt_info(["framework", "input_size"]).astype(str) \
            if self.model.has_rt_info(["framework", "input_size"]) else ""
        return int(recorded) if recorded.isdigit() else 224

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        request = self.compiled.get(batch.shape)
        if request is None:
            model = self.model.clone()
            model.reshape({0: list(batch.shape)})
            request = self.core.compile_model(model, "CPU", self.config).create_infer_request()
            self.compiled[batch.shape] = request
        return request.infer({0: batch})[0].copy()


class TorchBackend:
    def __init__(self, model: Any, threads: int | None) -> None:
        import torch

        from ..model.inference_graph import PersonProbability
        if threads:
            torch.set_num_threads(threads)
        self.torch = torch
        self.model = PersonProbability(model).eval()  # the graph the ONNX export holds

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        with self.torch.inference_mode():
            return self.model(self.torch.from_numpy(batch)).numpy()


class Segmenter:
    """Person segmentation with a model loaded once.

    weights: an exported .onnx or .ort, or a .pt checkpoint or model file; None for the shipped model.
    backend: "onnx" (ONNX Runtime), "openvino" (the `openvino` extra), "torch", or "auto": ONNX Runtime, or torch
        for a .pt that cannot be exported.
    threads: CPU threads for inference (None: the runtime's default).
    max_pixels: larger inputs are refused before decoding (decompression bombs).
    spin: let ONNX Runtime's idle threads spin (a little faster on an idle machine, much slower on a busy one).
    fit_input: run each photo at its own shape rounded up to multiples of 32 (a 16:9 frame at 224 x 128) instead
        of letterboxing it into the input square: faster for wide or tall photos and video frames. None (the
        default): wherever the graph takes any shape; False: always the square.
    refine: move the mask's edges onto the photo's (a guided filter, `refine.py`); False: the network's
        probability upsampled as it is.
    device: "auto" (an NVIDIA GPU when ONNX Runtime can use one, else the CPU), "cpu" or "cuda" (ONNX Runtime's
        CUDA provider, the `gpu` extra; an error where it cannot start). `self.device` says which was taken.
    """

    def __init__(self, weights: str | Path | None = None, backend: str = "auto", threads: int | None = None,
                 input_size: int | None = None, max_pixels: int | None = DEFAULT_MAX_PIXELS,
                 spin: bool = False, fit_input: bool | None = None, device: str = "auto",
                 refine: bool = True) -> None:
        if backend not in BACKENDS:
            raise ValueError(f"backend must be {', '.join(BACKENDS)}, got {backend!r}")
        self.requested_device = check_device(device)
        if device == "cuda" and backend in ("openvino", "torch"):
            raise ValueError(f"device 'cuda' runs on ONNX Runtime, not backend {backend!r}")
        if weights is None:
            weights = shipped_weights() if backend == "torch" else shipped_model()
        path = Path(weights)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such model file")
        if path.suffix.lower() not in (".onnx", ".ort", ".pt", ".pth"):
            raise ValueError(f"{path}: not a model file (an exported .onnx or .ort, or a .pt checkpoint)")
        self.weights = path
        self.max_pixels = max_pixels
        self.refinement = Refinement() if refine else None
        self.onnx_path: Path | None = None
        if path.suffix.lower() in (".onnx", ".ort"):
            if backend == "torch":
                raise ValueError(f"{path}: an ONNX graph runs on ONNX Runtime or OpenVINO, not torch")
            self._use_onnx(path, threads, spin, backend == "openvino")
            self.input_size = input_size or self._model.input_size()
        else:
            self._use_checkpoint(path, backend, threads, input_size, spin)
        fixed = self.backend_name == "onnx" and self._model.fixed_shape()
        if fit_input and fixed:
            raise ValueError(f"{self.onnx_path}: this graph takes {self.input_size} x {self.input_size} inputs only; "
                             "export it again (portraitnet export) to run photos at their own shape")
        self.fit_input = not fixed if fit_input is None else fit_input

    def _use_onnx(self, path: Path, threads: int | None, spin: bool, openvino: bool = False) -> None:
        self.onnx_path = path
        if openvino:
            if not module_available("openvino"):
                raise ImportError("backend 'openvino' needs OpenVINO: pip install 'portraitnet[openvino]'")
            if path.suffix.lower() != ".onnx":
                raise ValueError(f"{path}: OpenVINO reads .onnx graphs, not {path.suffix}")
            self.backend_name = "openvino"
            self._model: Any = OpenVinoBackend(path, threads)
            return
        if not onnxruntime_available():
            raise ImportError("ONNX Runtime is missing: pip install onnxruntime")
        self.backend_name = "onnx"
        self._model = OnnxBackend(path, threads, spin, self.requested_device)

    def _use_checkpoint(self, path: Path, backend: str, threads: int | None, input_size: int | None,
                        spin: bool) -> None:
        """A .pt model: on ONNX Runtime through a cached export when onnx is installed, else on torch."""
        if not module_available("torch"):
            raise ImportError(f"{path}: a .pt model needs torch ({TRAIN_EXTRA}); "
                              "or use the shipped model or an exported .onnx")
        from ..training.checkpoint import load_model
        model, payload = load_model(path)
        self.input_size = input_size or int(payload["config"]["input_size"])
        exportable = onnxruntime_available() and module_available("onnx")
        if backend in ("onnx", "openvino") and not exportable:
            raise ImportError(f"backend '{backend}' for {path} needs onnx to export it ({TRAIN_EXTRA})")
        if backend == "torch" or not exportable:
            self.backend_name = "torch"
            self._model = TorchBackend(model, threads)
        else:
            from ..export.onnx_graph import exported_onnx
            self._use_onnx(exported_onnx(model, path, self.input_size), threads, spin, backend == "openvino")

    @property
    def device(self) -> str:
        """Where the model runs: 'cuda' or 'cpu'."""
        return getattr(self._model, "device", "cpu")

    def run_batch(self, batch: np.ndarray) -> np.ndarray:
        """The network alone: a normalised (B, 3, H, W) float32 batch -> person probability (B, H, W)."""
        return self._model(batch)

    def predict(self, image: ImageInput) -> np.ndarray:
        """Person probability, float32 (H, W) in 0..1, at the image's own size."""
        return self.predict_batch([image])[0]

    def predict_batch(self, images: Sequence[ImageInput]) -> list[np.ndarray]:
        """predict() for several images in one forward pass (faster per image)."""
        views = [route.model_view(image, self.input_size, self.max_pixels) for image in images]
        return self.predict_arrays([rgb for rgb, _ in views], [size for _, size in views])

    def predict_arrays(self, rgbs: Sequence[np.ndarray],
                       sizes: Sequence[tuple[int, int] | None] | None = None) -> list[np.ndarray]:
        """The same for RGB uint8 arrays already decoded (the fast path for video frames). `sizes` (height, width)
        per image asks for the probability at another size than the array's, such as the full size of an image
        decoded at a reduced scale."""
        return route.predict(self._model, rgbs, self.input_size, sizes, self.fit_input, self.refinement)

    # --- effects: same type in, same type out (a path gives a PIL image) ---

    def _effect(self, fmt: str, image: ImageInput, look: Look) -> Any:
        rgb = load_rgb(image, self.max_pixels)
        return like_input(route.render(fmt, rgb, self.predict(image), look), image)

    def cutout(self, image: ImageInput, main_person: bool = False) -> Any:
        return self._effect("cutout", image, Look(main_person=main_person))

    def blur_background(self, image: ImageInput, strength: float = 0.03, main_person: bool = False) -> Any:
        return self._effect("blur", image, Look(blur_strength=strength, main_person=main_person))

    def replace_background(self, image: ImageInput, background: ImageInput | tuple[int, int, int] | str,
                           main_person: bool = False) -> Any:
        """background: an image (scaled to cover) or a colour ((r, g, b), '#rrggbb', 'r,g,b', 'white'...).
        main_person keeps only the largest person region (the subject, not the people behind)."""
        return self._effect("replace", image, Look(background=self.background(background), main_person=main_person))

    def background(self, background: ImageInput | tuple[int, int, int] | str) -> Background:
        """A replacement background: an image file, bytes, PIL image or array, or a colour."""
        from .effects import parse_colour
        if isinstance(background, tuple):
            return background
        if isinstance(background, str) and not Path(background).exists():
            return parse_colour(background)
        return load_rgb(background, self.max_pixels)
