"""The web page as static files anyone can host: the page, its runtimes and the model, no Python behind it.

Photos run on ONNX Runtime Web (model.onnx); webcam frames on LiteRT.js where the page has a .tflite of the model
for the frame's fitted shape (live-HxW.tflite, made for the shipped model by tools/ship_model.py), else on ONNX
Runtime Web too.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from importlib import resources
from pathlib import Path

from ..files import atomic_path, cache_dir, file_sha256

# The live mode's fitted input shapes (height, width) that get a .tflite: a 4:3 and a 16:9 landscape webcam frame
# (640 x 480 and 1280 x 720, Letterbox.fit at 224). Other frames run on ONNX Runtime Web.
LIVE_SHAPES = ((192, 224), (128, 224))
LIVE_RECORD = "live.json"  # in portraitnet/weights/: the graph the .tflite files were made from, by its sha256


def static_folder() -> Path:
    return Path(str(resources.files("portraitnet.serving") / "static"))


def web_runtime_installed(runtime: str = "ort") -> bool:
    """tools/fetch_web_runtime.py writes VERSION with a runtime's files ("ort" or "litert") and moves its folder in
    whole."""
    return (static_folder() / runtime / "VERSION").is_file()


def live_model_name(shape: tuple[int, int]) -> str:
    return f"live-{shape[0]}x{shape[1]}.tflite.gz"  # gzip: 9.4 -> 6.6 MB; the page unpacks it


def live_models(graph: Path | None) -> dict[str, Path]:
    """The .tflite files for the live mode, by the name the page asks for, when they were made from `graph` (the
    ONNX graph the page runs photos on); none for any other model, or for shipped files left behind by a newer
    graph, so that live frames never run another model than photos."""
    weights = Path(str(resources.files("portraitnet") / "weights"))
    record = weights / LIVE_RECORD
    if graph is None or not record.is_file():
        return {}
    made = json.loads(record.read_text())
    if made["sha256"] != file_sha256(graph):
        return {}
    return {name: weights / name for name in made["files"] if (weights / name).is_file()}


def browser_graph(model: Path) -> Path:
    """The ONNX graph as the page runs it, made once per model into the user's cache: ONNX Runtime's
    hardware-independent optimisations applied ahead of time (float16 weights cast once, batch norms folded into
    their convolutions). ONNX Runtime Web leaves them to every frame: the shipped graph took 92 ms a frame in the
    page, this one 50 (docs/results.md)."""
    import onnxruntime as ort
    digest = hashlib.sha1(Path(model).read_bytes()).hexdigest()[:16]
    path = cache_dir() / f"{digest}-web.onnx"
    if path.is_file():
        return path
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    try:
        with atomic_path(path) as tmp:
            options.optimized_model_filepath = str(tmp)
            ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
    except OSError:  # a cache that cannot be written: this run's own copy
        path = Path(tempfile.mkdtemp(prefix="portraitnet-")) / path.name
        options.optimized_model_filepath = str(path)
        ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
    return path


def write_site(out_dir: Path, model: Path) -> Path:
    """Copy the page and its runtimes to out_dir, with `model` (an ONNX graph), as the page runs it, as
    out_dir/model.onnx, and the live mode's .tflite files made from it, where there are any.

    The page runs the model in the browser there; threads need the host to send the cross-origin isolation headers
    (Cross-Origin-Opener-Policy: same-origin, Cross-Origin-Embedder-Policy: require-corp), else it runs on one."""
    if not web_runtime_installed():
        raise FileNotFoundError("ONNX Runtime Web is not installed beside the page: run "
                                "python tools/fetch_web_runtime.py in a clone of portraitnet (it needs npm)")
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"{out_dir}: exists and is not a folder")
    shutil.copytree(static_folder(), out_dir, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copyfile(browser_graph(model), out_dir / "model.onnx")
    for name, path in live_models(model).items():
        shutil.copyfile(path, out_dir / name)
    return out_dir
