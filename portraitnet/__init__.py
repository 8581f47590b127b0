"""PortraitNet portrait segmentation: the model, its training recipe, and tools to use it.

Importing the package stays light; the heavy modules load when used.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["PortraitNet", "Segmenter", "TrainConfig", "load_model"]


def __getattr__(name: str) -> Any:
    if name == "PortraitNet":
        from .model.network import PortraitNet
        return PortraitNet
    if name == "Segmenter":
        from .inference.segmenter import Segmenter
        return Segmenter
    if name == "TrainConfig":
        from .training.config import TrainConfig
        return TrainConfig
    if name == "load_model":
        from .training.checkpoint import load_model
        return load_model
    raise AttributeError(f"module 'portraitnet' has no attribute {name!r}")
