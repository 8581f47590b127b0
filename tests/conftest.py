"""Shared fixtures: a small synthetic dataset made on the fly, and the real EG1800 when ../shared has it."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import cv2
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
EG1800 = REPO.parent / "shared" / "data" / "eg1800"


def load_tool(name: str) -> ModuleType:
    """A script of tools/ (not a package) imported as a module, so that tests can call its functions."""
    spec = importlib.util.spec_from_file_location(name, REPO / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_synthetic_dataset(root: Path, count: int = 12, size: tuple[int, int] = (90, 120), seed: int = 0) -> Path:
    """A 'person' (head disc + shoulders ellipse) on a noisy background; split lists train.txt and test.txt."""
    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    width, height = size
    stems = []
    for i in range(count):
        image = rng.integers(0, 255, (height, width, 3), dtype=np.uint8)
        image = cv2.GaussianBlur(image, (9, 9), 0)
        mask = np.zeros((height, width), np.uint8)
        cx = int(width * rng.uniform(0.35, 0.65))
        cv2.circle(mask, (cx, int(height * 0.4)), int(width * rng.uniform(0.15, 0.22)), 255, -1)
        cv2.ellipse(mask, (cx, height), (int(width * 0.4), int(height * 0.3)), 0, 0, 360, 255, -1)
        image[mask > 0] = (np.array([200, 150, 120]) + rng.integers(-20, 20, 3)).astype(np.uint8)
        stem = f"{i:05d}"
        cv2.imwrite(str(root / "images" / f"{stem}.jpg"), image[..., ::-1])
        cv2.imwrite(str(root / "masks" / f"{stem}.png"), mask)
        stems.append(stem)
    (root / "train.txt").write_text("\n".join(stems[: count * 3 // 4]) + "\n")
    (root / "test.txt").write_text("\n".join(stems[count * 3 // 4:]) + "\n")
    return root


@pytest.fixture
def synthetic_dataset(tmp_path: Path) -> Path:
    return write_synthetic_dataset(tmp_path / "data")


@pytest.fixture
def eg1800() -> Path:
    if not (EG1800 / "images").is_dir():
        pytest.skip(f"EG1800 not found at {EG1800} (it lives in the team's shared folder, not in a clone)")
    return EG1800
