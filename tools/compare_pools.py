"""How far two labellings of the same pool's photos differ (e.g. plain against flip-averaged teachers).

    python tools/compare_pools.py ../pools ../pools_flip lsp_people lfw_gray caltech_faces picsart_photos

Per pool: the share of pixels whose class (masks/, 0 or 255) differs, and the mean and 5th percentile of the
per-photo IoU between the two masks.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from portraitnet.evaluation.metrics import foreground_iou


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("first", type=Path, help="folder of pools")
    parser.add_argument("second", type=Path, help="folder of the same pools, labelled otherwise")
    parser.add_argument("pools", nargs="+", help="pool names present in both")
    args = parser.parse_args()
    for pool in args.pools:
        changed, ious = [], []
        for path in sorted((args.first / pool / "masks").glob("*.png")):
            other = args.second / pool / "masks" / path.name
            if not other.is_file():
                raise SystemExit(f"{other}: missing (the two folders must label the same photos)")
            a = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE) > 127
            b = cv2.imread(str(other), cv2.IMREAD_GRAYSCALE) > 127
            changed.append((a != b).mean())
            ious.append(foreground_iou(a, b))
        print(f"{pool:15s} {len(ious):5d} photos  pixels changing class {100 * np.mean(changed):.2f}%  "
              f"IoU {100 * np.mean(ious):.2f} (5th percentile {100 * np.percentile(ious, 5):.1f})")


if __name__ == "__main__":
    main()
