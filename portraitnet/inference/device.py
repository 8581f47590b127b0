"""Where ONNX Runtime runs the model: the CPU, or an NVIDIA GPU through its CUDA execution provider.

`auto` takes the GPU when the installed ONNX Runtime has the CUDA provider (the `onnxruntime-gpu` wheel, the `gpu`
extra) and a session on it starts, else the CPU. `cuda` insists, and says what to install when it cannot.
"""

from __future__ import annotations

from importlib import metadata
from typing import Sequence

DEVICES = ("auto", "cpu", "cuda")
CUDA_PROVIDER = "CUDAExecutionProvider"
CPU_PROVIDER = "CPUExecutionProvider"
GPU_FIX = ("pip uninstall -y onnxruntime onnxruntime-gpu && pip install 'portraitnet[gpu]', "
           "with an NVIDIA driver and CUDA 12 libraries (the README's GPU section)")


def check_device(device: str) -> str:
    if device not in DEVICES:
        raise ValueError(f"device must be one of {', '.join(DEVICES)}, got {device!r}")
    return device


def providers_for(device: str, available: Sequence[str]) -> list[str]:
    """The execution providers to ask a session for, in order of preference."""
    check_device(device)
    if device == "cpu" or (device == "auto" and CUDA_PROVIDER not in available):
        return [CPU_PROVIDER]
    if CUDA_PROVIDER not in available:
        raise ValueError(f"device 'cuda': this ONNX Runtime has no CUDA provider{_conflict_note()}; "
                         f"to use the GPU: {GPU_FIX}")
    return [CUDA_PROVIDER, CPU_PROVIDER]


def device_taken(device: str, providers: Sequence[str]) -> str:
    """'cuda' or 'cpu', from the providers a session actually runs on; 'cuda' asked and not given is an error
    (ONNX Runtime falls back to the CPU in silence when no GPU is visible or the CUDA libraries do not load)."""
    taken = "cuda" if CUDA_PROVIDER in providers else "cpu"
    if device == "cuda" and taken != "cuda":
        raise ValueError("device 'cuda': ONNX Runtime could not start its CUDA provider (no GPU visible, or the "
                         f"CUDA libraries did not load); to use the GPU: {GPU_FIX}")
    return taken


def _conflict_note() -> str:
    """Both wheels install the same `onnxruntime` module, and the one installed last wins."""
    installed = {name for name in ("onnxruntime", "onnxruntime-gpu") if _installed(name)}
    if len(installed) == 2:
        return " (both onnxruntime and onnxruntime-gpu are installed, and the CPU one's files won)"
    return ""


def _installed(distribution: str) -> bool:
    try:
        metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return False
    return True
