"""Draw docs/sample.png: the shipped sample photo, its mask, the background blurred and the background replaced.

    python tools/sample_figure.py [--weights FILE] [--photo examples/astronaut.jpg] [-o docs/sample.png]

The figure the README shows under the results; rerun it after shipping a new model.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from portraitnet.inference import effects
from portraitnet.inference.imageio import load_rgb
from portraitnet.inference.segmenter import Segmenter

REPO = Path(__file__).resolve().parents[1]
PANEL_HEIGHT = 256
BACKGROUND_COLOUR = (58, 123, 213)


def sample_panels(segmenter: Segmenter, rgb: np.ndarray) -> list[np.ndarray]:
    """Photo, mask (grey as RGB), blurred background, replaced background; all RGB uint8 at the photo's size."""
    probability = segmenter.predict_arrays([rgb])[0]
    mask = np.repeat((probability * 255).round().astype(np.uint8)[..., None], 3, axis=2)
    return [rgb, mask, effects.blur_background(rgb, probability),
            effects.replace_background(rgb, probability, BACKGROUND_COLOUR)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", type=Path, help="a .pt or .onnx model (default: the shipped one)")
    parser.add_argument("--photo", type=Path, default=REPO / "examples" / "astronaut.jpg")
    parser.add_argument("-o", "--output", type=Path, default=REPO / "docs" / "sample.png")
    args = parser.parse_args()

    rgb = load_rgb(args.photo)
    width = round(rgb.shape[1] * PANEL_HEIGHT / rgb.shape[0])
    panels = [cv2.resize(p, (width, PANEL_HEIGHT), interpolation=cv2.INTER_AREA)
              for p in sample_panels(Segmenter(args.weights), rgb)]
    if not cv2.imwrite(str(args.output), cv2.cvtColor(np.hstack(panels), cv2.COLOR_RGB2BGR)):
        raise SystemExit(f"{args.output}: could not write the figure")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
