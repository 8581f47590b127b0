"""`check-data`: everything wrong with a dataset folder, listed with file names, before a training run finds it."""

from __future__ import annotations

from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from ..inference.imageio import PHOTO_SUFFIXES
from .data import DataError, pixel_hash, read_image, read_split_list, resolve_split


@dataclass
class DataReport:
    root: Path
    pairs: int = 0
    split_sizes: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)  # problems that stop training
    warnings: list[str] = field(default_factory=list)  # worth knowing, handled by training

    @property
    def ok(self) -> bool:
        return not self.errors


def _mask_values(path: Path) -> np.ndarray:
    mask = cv2.imdecode(np.fromfile(path, np.uint8), cv2.IMREAD_UNCHANGED)
    if mask is None:
        raise DataError(f"{path}: not a readable mask image")
    return mask


def _inspect(image_path: Path, mask_path: Path) -> tuple[str | None, list[str], list[str]]:
    """(pixel hash or None, errors, warnings) for one pair."""
    errors, warnings = [], []
    digest = None
    try:
        image = read_image(image_path)
        digest = pixel_hash(image)
    except DataError as error:
        return None, [str(error)], []
    try:
        mask = _mask_values(mask_path)
    except DataError as error:
        return digest, [str(error)], []
    if mask.shape[:2] != image.shape[:2]:
        errors.append(f"{mask_path}: mask is {mask.shape[1]}x{mask.shape[0]} but its image "
                      f"{image_path.name} is {image.shape[1]}x{image.shape[0]}")
    values = np.unique(mask)
    if len(values) > 2 or (len(values) == 2 and values[0] != 0):
        shown = ", ".join(str(v) for v in values[:6]) + (" ..." if len(values) > 6 else "")
        warnings.append(f"{mask_path}: not binary (values {shown}); every non-zero value counts as person")
    if not values.any():
        warnings.append(f"{mask_path}: no person pixels")
    return digest, errors, warnings


def check_dataset(root: str | Path, splits: list[str], threads: int = 2) -> DataReport:
    """Pairs, missing masks or images, size mismatches, unreadable files, non-binary masks, split lists naming
    missing files, and pixel-identical images within and across splits."""
    root = Path(root)
    report = DataReport(root)
    images_dir, masks_dir = root / "images", root / "masks"
    if not images_dir.is_dir():
        report.errors.append(f"{images_dir}: no images folder (expected images/<stem>.jpg and masks/<stem>.png)")
        return report
    images = {p.stem: p for p in sorted(images_dir.iterdir()) if p.suffix.lower() in PHOTO_SUFFIXES}
    masks = {p.stem: p for p in sorted(masks_dir.glob("*.png"))} if masks_dir.is_dir() else {}
    others = sorted(p.name for p in images_dir.iterdir() if p.is_file() and p.suffix.lower() not in PHOTO_SUFFIXES)
    if others:
        report.warnings.append(f"{images_dir}: files that are not .jpg/.jpeg/.png are ignored: {', '.join(others[:10])}")
    for stem in sorted(set(images) - set(masks)):
        report.errors.append(f"{masks_dir / (stem + '.png')}: missing mask for image {images[stem].name}")
    for stem in sorted(set(masks) - set(images)):
        report.warnings.append(f"{masks[stem]}: mask without an image")
    paired = sorted(set(images) & set(masks))
    report.pairs = len(paired)

    with ThreadPoolExecutor(max(1, threads)) as pool:
        results = list(pool.map(lambda stem: _inspect(images[stem], masks[stem]), paired))
    hashes: dict[str, str] = {}
    for stem, (digest, errors, warnings) in zip(paired, results):
        report.errors.extend(errors)
        report.warnings.extend(warnings)
        if digest is not None:
            hashes[stem] = digest

    membership: dict[str, list[str]] = defaultdict(list)  # stem -> splits naming it
    for split in splits:
        try:
            path = resolve_split(root, split)
            stems = read_split_list(path)
        except DataError as error:
            report.errors.append(str(error))
            continue
        report.split_sizes[split] = len(stems)
        missing = [s for s in stems if s not in images or s not in masks]
        if missing:
            report.errors.append(f"{path}: names {len(missing)} stems without an image/mask pair: "
                                 f"{', '.join(missing[:10])}{' ...' if len(missing) > 10 else ''}")
        for stem in stems:
            membership[stem].append(split)
    for stem, named_by in membership.items():
        if len(set(named_by)) > 1:
            report.errors.append(f"{stem}: listed in several splits ({', '.join(sorted(set(named_by)))})")

    groups: dict[str, list[str]] = defaultdict(list)
    for stem, digest in hashes.items():
        groups[digest].append(stem)
    for stems in groups.values():
        if len(stems) < 2:
            continue
        where = [f"{s} ({'/'.join(membership.get(s, [])) or 'no split'})" for s in stems]
        crossing = len({tuple(membership.get(s, [])) for s in stems}) > 1
        kind = "duplicate images across splits" if crossing else "duplicate images"
        report.warnings.append(f"{kind}: {', '.join(where)}")
    return report
