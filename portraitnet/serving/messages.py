"""The schema of the live mode's settings message (pydantic, which the `serve` extra brings with FastAPI)."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class LiveSettings(BaseModel):
    """{"format": "blur", "background": "#00b140", "smoothing": 0.5, "smoothing_mode": "ema"}: every key optional,
    no other key allowed."""

    model_config = ConfigDict(extra="forbid")

    format: Literal["blur", "replace", "cutout"] = "blur"
    background: str = Field("#00b140", max_length=64, description="for replace: #rrggbb, r,g,b or a name")
    smoothing: float = Field(0.5, ge=0, le=1)
    smoothing_mode: Literal["ema", "uncertain"] = "ema"
