"""Reading user images of any kind into RGB uint8 arrays, and giving results back in the kind they came in.

Pillow decodes (it knows EXIF orientation, palettes, CMYK, 16-bit); the pixel limit is checked from the header,
before any pixel is decoded, so a decompression bomb costs nothing.
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path
from typing import Any, Iterator, Union

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

DEFAULT_MAX_PIXELS = 50_000_000  # about 8660 x 5770; raise it for huge scans
# What a folder run, a dataset and a pool pick up, in the order a stem's file is looked for.
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff")

ImageInput = Union[str, Path, bytes, Image.Image, np.ndarray]


class ImageError(ValueError):
    """An input that is not a usable image; the message names it."""


def _name(source: Any) -> str:
    if isinstance(source, (str, Path)):
        return str(source)
    if isinstance(source, bytes):
        return f"<{len(source)} bytes>"
    if isinstance(source, Image.Image):
        return f"<PIL image {source.mode} {source.size[0]}x{source.size[1]}>"
    if isinstance(source, np.ndarray):
        return f"<array {source.dtype} {source.shape}>"
    return f"<{type(source).__name__}>"


def _check_pixels(width: int, height: int, max_pixels: int | None, name: str) -> None:
    if max_pixels and width * height > max_pixels:
        raise ImageError(f"{name}: {width}x{height} is {width * height:,} pixels, over the limit of "
                         f"{max_pixels:,} (raise max_pixels to allow it)")


def _pil_to_rgb(image: Image.Image, name: str) -> np.ndarray:
    image = ImageOps.exif_transpose(image)
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        array = np.asarray(image, dtype=np.float64)
        peak = 65535.0 if array.max() > 255 else 255.0
        image = Image.fromarray((array / peak * 255).round().clip(0, 255).astype(np.uint8))
    if image.mode == "P" or image.mode == "PA":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA"):
        # transparent pixels become white, as a viewer shows them on a page
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, image.convert("RGBA"))
    try:
        return np.asarray(image.convert("RGB"), dtype=np.uint8).copy()
    except (OSError, ValueError) as error:
        raise ImageError(f"{name}: cannot convert {image.mode} to RGB ({error})") from None


def _array_to_rgb(array: np.ndarray, name: str) -> np.ndarray:
    if array.ndim in (2, 3) and 0 in array.shape[:2]:
        raise ImageError(f"{name}: an empty image ({array.shape[1]}x{array.shape[0]} pixels)")
    if array.ndim == 2:
        array = array[..., None].repeat(3, axis=2)
    if array.ndim != 3 or array.shape[2] not in (1, 3, 4):
        raise ImageError(f"{name}: expected an (H, W), (H, W, 3) or (H, W, 4) array")
    if array.shape[2] == 1:
        array = array.repeat(3, axis=2)
    array = array[..., :3]
    if array.dtype == np.uint8:
        return np.ascontiguousarray(array)
    if array.dtype == np.uint16:
        return (array / 257).round().astype(np.uint8)
    if np.issubdtype(array.dtype, np.floating):
        if not np.isfinite(array).all():
            raise ImageError(f"{name}: contains NaN or infinite values")
        if array.min() < 0 or array.max() > 1:
            raise ImageError(f"{name}: float values from {array.min():g} to {array.max():g}; float images must be in "
                             "0..1 (for 0..255, pass a uint8 array: array.astype(np.uint8))")
        return (array * 255).round().astype(np.uint8)
    raise ImageError(f"{name}: unsupported array type {array.dtype} (use uint8, uint16 or float in 0..1)")


@contextlib.contextmanager
def _opened(opener: Any, name: str, max_pixels: int | None) -> Iterator[Image.Image]:
    """Image.open with the pixel limit checked from the header and Pillow's errors turned into ImageError."""
    try:
        with Image.open(opener) as image:
            _check_pixels(*image.size, max_pixels, name)
            yield image
    except UnidentifiedImageError:
        raise ImageError(f"{name}: not an image (or a format Pillow cannot read)") from None
    except Image.DecompressionBombError as error:  # Pillow refuses such headers before ours can be read
        declared = re.search(r"\((\d+) pixels\)", str(error))
        pixels = f"{int(declared[1]):,} pixels" if declared else "more pixels than Pillow opens"
        limit = f"the limit of {max_pixels:,} (raise max_pixels to allow it)" if max_pixels else "Pillow's limit"
        raise ImageError(f"{name}: its header declares {pixels}, over {limit}") from None
    except OSError as error:
        raise ImageError(f"{name}: cannot decode ({error})") from None


def load_rgb(source: ImageInput, max_pixels: int | None = DEFAULT_MAX_PIXELS, name: str | None = None) -> np.ndarray:
    """RGB uint8 (H, W, 3) from a path, encoded bytes, a PIL image or an array (RGB order).

    Errors name the input (`name` when given, as for an upload)."""
    name = name or _name(source)
    if isinstance(source, np.ndarray):
        _check_pixels(source.shape[1] if source.ndim > 1 else 0, source.shape[0], max_pixels, name)
        return _array_to_rgb(source, name)
    if isinstance(source, Image.Image):
        _check_pixels(*source.size, max_pixels, name)
        return _pil_to_rgb(source, name)
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise ImageError(f"{name}: file not found" if not path.exists() else f"{name}: not a file")
        opener: Any = path
    elif isinstance(source, (bytes, bytearray, memoryview)):
        opener = io.BytesIO(bytes(source))
    else:
        raise ImageError(f"{name}: expected a path, bytes, a PIL image or a NumPy array")
    with _opened(opener, name, max_pixels) as image:
        image.load()
        return _pil_to_rgb(image, name)


def load_rgb_reduced(source: ImageInput, longer_side: int, max_pixels: int | None = DEFAULT_MAX_PIXELS,
                     name: str | None = None) -> tuple[np.ndarray, tuple[int, int]]:
    """A JPEG (a path or encoded bytes) decoded at a reduced scale (libjpeg's DCT scaling, several times faster)
    that keeps at least `longer_side` px; other inputs as load_rgb gives them. Returns the RGB image and the
    (height, width) of the full-size image."""
    name = name or _name(source)
    if isinstance(source, (bytes, bytearray, memoryview)):
        opener: Any = io.BytesIO(bytes(source))
    elif isinstance(source, (str, Path)) and Path(source).is_file():
        opener = Path(source)
    else:
        rgb = load_rgb(source, max_pixels, name)  # arrays, PIL images; a missing file raises the usual error
        return rgb, (rgb.shape[0], rgb.shape[1])
    with _opened(opener, name, max_pixels) as image:
        width, height = image.size
        if image.format == "JPEG" and max(width, height) > longer_side:
            scale = longer_side / max(width, height)
            image.draft("RGB", (max(1, int(width * scale + 0.5)), max(1, int(height * scale + 0.5))))
        decoded_width, decoded_height = image.size
        image.load()
        rgb = _pil_to_rgb(image, name)
    turned = rgb.shape[:2] != (decoded_height, decoded_width)  # EXIF orientation swapped the axes
    return rgb, ((width, height) if turned else (height, width))


def like_input(result: np.ndarray, source: ImageInput) -> Any:
    """An effect's uint8 array (RGB or RGBA) as the caller's kind: PIL in, PIL out; bytes in, PNG bytes out;
    an array in, an array out; a path in, a PIL image out (ready to .save)."""
    if isinstance(source, np.ndarray):
        return result
    image = Image.fromarray(result)
    if isinstance(source, (bytes, bytearray, memoryview)):
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        return buffer.getvalue()
    return image
