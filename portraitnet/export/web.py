"""The web page as static files anyone can host: the page, ONNX Runtime Web and the model, no Python behind it."""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from importlib import resources
from pathlib import Path

from ..files import atomic_path, cache_dir


def static_folder() -> Path:
    return Path(str(resources.files("portraitnet.serving") / "static"))


def web_runtime_installed() -> bool:
    """tools/fetch_web_runtime.py writes ort/VERSION with the runtime's files and moves the folder in whole."""
    return (static_folder() / "ort" / "VERSION").is_file()


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
    """Copy the page and its runtime to out_dir, with `model` (an ONNX graph), as the page runs it, as
    out_dir/model.onnx.

    The page runs the model in the browser there; threads need the host to send the cross-origin isolation headers
    (Cross-Origin-Opener-Policy: same-origin, Cross-Origin-Embedder-Policy: require-corp), else it runs on one."""
    if not web_runtime_installed():
        raise FileNotFoundError("ONNX Runtime Web is not installed beside the page: run "
                                "python tools/fetch_web_runtime.py in a clone of portraitnet (it needs npm)")
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"{out_dir}: exists and is not a folder")
    shutil.copytree(static_folder(), out_dir, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copyfile(browser_graph(model), out_dir / "model.onnx")
    return out_dir
