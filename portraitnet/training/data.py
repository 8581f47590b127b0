"""Reading a portrait dataset laid out as `images/<stem>.<jpg|png>` + `masks/<stem>.png`, with split lists.

A split list is a text file of stems, one per line (an extension, as in EG1800's official lists, is ignored).
Every problem raises DataError naming the file: nothing is silently dropped.
"""

from __future__ import annotations

import dataclasses
import hashlib
import random
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..inference.imageio import PHOTO_SUFFIXES, ImageError, load_rgb



class DataError(ValueError):
    """A dataset problem a user can fix; the message names the file."""


@dataclass(frozen=True)
class Sample:
    stem: str
    image_path: Path
    mask_path: Path
    teacher_path: Path | None = None  # teachers' soft mask (0..255) of the same image, for a blended target
    teacher_weight: float = 0.0  # the target is (1 - w) * mask + w * teacher
    doubt_band: float = 0.0  # pixels whose target lies within this of 0.5 are left out of the loss (the teachers'
    # doubt), the rest taught as hard labels


def read_image(path: Path) -> np.ndarray:
    """RGB uint8 (H, W, 3), decoded as users' photos are (`inference.imageio`: Pillow, EXIF orientation applied)."""
    try:
        return load_rgb(Path(path), max_pixels=None)
    except ImageError as error:
        raise DataError(str(error)) from None


def read_mask(path: Path) -> np.ndarray:
    """uint8 (H, W) in {0, 1}: any non-zero value counts as person."""
    data = _read_bytes(path)
    mask = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if mask is None:
        raise DataError(f"{path}: not a readable mask image")
    if mask.ndim == 3:
        mask = mask[..., :3].max(axis=2)
    return (mask > 0).astype(np.uint8)


def _read_bytes(path: Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except OSError as error:
        raise DataError(f"{path}: cannot read ({error.strerror})") from None


def load_pair(sample: Sample) -> tuple[np.ndarray, np.ndarray]:
    """The image and its mask, checked to be the same size."""
    image, mask = read_image(sample.image_path), read_mask(sample.mask_path)
    if image.shape[:2] != mask.shape:
        raise DataError(f"{sample.mask_path}: mask is {mask.shape[1]}x{mask.shape[0]} but its image "
                        f"{sample.image_path.name} is {image.shape[1]}x{image.shape[0]}")
    return image, mask


def read_probability(path: Path) -> np.ndarray:
    """float32 (H, W) in [0, 1] from a grey 0..255 image (the teachers' soft masks)."""
    data = _read_bytes(path)
    soft = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    if soft is None:
        raise DataError(f"{path}: not a readable soft mask image")
    return soft.astype(np.float32) / 255


def load_target(sample: Sample) -> tuple[np.ndarray, np.ndarray]:
    """The image and its training target, the person probability float32 (H, W): the mask (0 or 1), blended with
    the teachers' soft mask when the sample has one."""
    image, mask = load_pair(sample)
    target = mask.astype(np.float32)
    if sample.teacher_path is not None and sample.teacher_weight > 0:
        teacher = read_probability(sample.teacher_path)
        if teacher.shape != mask.shape:
            raise DataError(f"{sample.teacher_path}: soft mask is {teacher.shape[1]}x{teacher.shape[0]} but its "
                            f"image {sample.image_path.name} is {mask.shape[1]}x{mask.shape[0]}")
        target = (1 - sample.teacher_weight) * target + sample.teacher_weight * teacher
    return image, target


def with_teacher(samples: list[Sample], folder: Path, weight: float) -> list[Sample]:
    """The samples with the teachers' soft mask `<folder>/<stem>.png` blended into their targets by `weight`."""
    folder = Path(folder)
    blended = []
    for sample in samples:
        path = folder / f"{sample.stem}.png"
        if not path.is_file():
            raise DataError(f"{path}: missing teachers' soft mask for image {sample.image_path.name}")
        blended.append(dataclasses.replace(sample, teacher_path=path, teacher_weight=weight))
    return blended


def find_image(images_dir: Path, stem: str) -> Path | None:
    for suffix in PHOTO_SUFFIXES:
        for candidate in (images_dir / f"{stem}{suffix}", images_dir / f"{stem}{suffix.upper()}"):
            if candidate.is_file():
                return candidate
    return None


def read_split_list(path: Path) -> list[str]:
    """Stems named in a split list; extensions dropped, blank lines and '#' comments ignored."""
    try:
        lines = Path(path).read_text().splitlines()
    except FileNotFoundError:
        raise DataError(f"{path}: split list not found") from None
    stems = [Path(line.strip()).stem for line in lines if line.strip() and not line.startswith("#")]
    if not stems:
        raise DataError(f"{path}: split list is empty")
    return stems


def resolve_split(root: Path, split: str | Path) -> Path:
    """A split given as a path (absolute or relative to root) or a name: `<root>/<name>.txt`."""
    root = Path(root)
    for candidate in (Path(split), root / split, root / f"{split}.txt"):
        if candidate.is_file():
            return candidate
    raise DataError(f"{root / split}: split list not found (give a path or a name with <root>/<name>.txt)")


def list_samples(root: Path, split: str | Path | None = None) -> list[Sample]:
    """The samples of a split (or every image under images/ when split is None), in list order."""
    root = Path(root)
    images_dir, masks_dir = root / "images", root / "masks"
    if not images_dir.is_dir():
        raise DataError(f"{images_dir}: no images folder (expected images/<stem>.jpg and masks/<stem>.png)")
    if split is None:
        stems = sorted(p.stem for p in images_dir.iterdir() if p.suffix.lower() in PHOTO_SUFFIXES)
        if not stems:
            raise DataError(f"{images_dir}: no images found")
        source = images_dir
    else:
        source = resolve_split(root, split)
        stems = read_split_list(source)
    samples = []
    for stem in stems:
        image_path = find_image(images_dir, stem)
        if image_path is None:
            raise DataError(f"{source}: names '{stem}' but {images_dir}/{stem}.jpg|png does not exist")
        mask_path = masks_dir / f"{stem}.png"
        if not mask_path.is_file():
            raise DataError(f"{mask_path}: missing mask for image {image_path.name}")
        samples.append(Sample(stem, image_path, mask_path))
    return samples


def pixel_hash(image: np.ndarray) -> str:
    """Identifies pixel-identical images whatever their file names or encodings."""
    return hashlib.sha1(np.ascontiguousarray(image).tobytes() + str(image.shape).encode()).hexdigest()


def image_hashes(samples: list[Sample], threads: int = 2) -> dict[str, str]:
    """Pixel hash of every sample's image, by stem (decoding in threads: OpenCV releases the GIL)."""
    with ThreadPoolExecutor(max(1, threads)) as pool:
        hashes = pool.map(lambda s: pixel_hash(read_image(s.image_path)), samples)
        return dict(zip((s.stem for s in samples), hashes))


def remove_duplicates(samples: list[Sample], hashes: dict[str, str],
                      held_out_hashes: dict[str, str]) -> tuple[list[Sample], list[str]]:
    """Leave out every sample whose pixels equal a held-out (test or validation) image's; return kept samples and
    dropped stems."""
    held_out = set(held_out_hashes.values())
    kept = [s for s in samples if hashes[s.stem] not in held_out]
    dropped = [s.stem for s in samples if hashes[s.stem] in held_out]
    return kept, dropped


def split_validation(samples: list[Sample], hashes: dict[str, str], fraction: float,
                     seed: int) -> tuple[list[Sample], list[Sample]]:
    """Hold out about `fraction` of samples; identical images stay on the same side so validation stays unseen."""
    groups: dict[str, list[Sample]] = {}
    for sample in samples:
        groups.setdefault(hashes[sample.stem], []).append(sample)
    keys = sorted(groups)
    random.Random(seed).shuffle(keys)
    target = round(len(samples) * fraction)
    val: list[Sample] = []
    for key in keys:
        if len(val) >= target:
            break
        val.extend(groups[key])
    val_stems = {s.stem for s in val}
    return [s for s in samples if s.stem not in val_stems], [s for s in samples if s.stem in val_stems]
