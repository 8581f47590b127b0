"""The web page as static files anyone can host: the page, ONNX Runtime Web and the model, no Python behind it."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path


def static_folder() -> Path:
    return Path(str(resources.files("portraitnet.serving") / "static"))


def web_runtime_installed() -> bool:
    """tools/fetch_web_runtime.py writes ort/VERSION with the runtime's files and moves the folder in whole."""
    return (static_folder() / "ort" / "VERSION").is_file()


def write_site(out_dir: Path, model: Path) -> Path:
    """Copy the page and its runtime to out_dir, with `model` (an ONNX graph) as out_dir/model.onnx.

    The page runs the model in the browser there; threads need the host to send the cross-origin isolation headers
    (Cross-Origin-Opener-Policy: same-origin, Cross-Origin-Embedder-Policy: require-corp), else it runs on one."""
    if not web_runtime_installed():
        raise FileNotFoundError("ONNX Runtime Web is not installed beside the page: run "
                                "python tools/fetch_web_runtime.py in a clone of portraitnet (it needs npm)")
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"{out_dir}: exists and is not a folder")
    shutil.copytree(static_folder(), out_dir, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copyfile(model, out_dir / "model.onnx")
    return out_dir
