"""Draw docs/refinement.png: hair and shoulders without and with the edge-aware refinement.

    python tools/refine_figure.py [--weights FILE] [-o docs/refinement.png]

Two portraits that may be shown (the shipped sample and matplotlib's sample photo of Grace Hopper); for each, a
crop where hair or a shoulder meets the background: the photo, the background replaced with `--refine off`, and
the same with the refinement (the default).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from portraitnet.inference import effects
from portraitnet.inference.imageio import load_rgb
from portraitnet.inference.route import encode
from portraitnet.inference.segmenter import Segmenter

REPO = Path(__file__).resolve().parents[1]
BACKGROUND_COLOUR = (58, 123, 213)
PANEL = 256


def photos() -> list[tuple[Path, tuple[float, float, float]]]:
    """Each photo and its crop: (top, left, side) as fractions of the photo's height and width."""
    from matplotlib import cbook
    hopper = Path(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
    return [(REPO / "examples" / "astronaut.jpg", (0.02, 0.5, 0.3)), (hopper, (0.1, 0.2, 0.3)),
            (hopper, (0.6, 0.62, 0.35))]


def crop(image: np.ndarray, where: tuple[float, float, float]) -> np.ndarray:
    height, width = image.shape[:2]
    top, left, side = round(where[0] * height), round(where[1] * width), round(where[2] * min(height, width))
    return cv2.resize(image[top:top + side, left:left + side], (PANEL, PANEL), interpolation=cv2.INTER_AREA)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", type=Path, help="a .pt or .onnx model (default: the shipped one)")
    parser.add_argument("-o", "--output", type=Path, default=REPO / "docs" / "refinement.png")
    args = parser.parse_args()

    plain, refined = Segmenter(args.weights, refine=False), Segmenter(args.weights)
    rows = []
    for path, where in photos():
        rgb = load_rgb(path)
        panels = [rgb] + [effects.replace_background(rgb, segmenter.predict_arrays([rgb])[0], BACKGROUND_COLOUR)
                          for segmenter in (plain, refined)]
        rows.append(np.hstack([crop(panel, where) for panel in panels]))
    args.output.write_bytes(encode(np.vstack(rows), ".png"))
    print(f"wrote {args.output}: photo | --refine off | refined (default)")


if __name__ == "__main__":
    main()
