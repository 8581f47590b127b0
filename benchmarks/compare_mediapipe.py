"""Our model and MediaPipe Selfie Segmentation on the same images with the same metrics, in one table.

    python benchmarks/compare_mediapipe.py [--robustness] [--mediapipe-python /opt/mediapipe-venv/bin/python]

Both are scored at each photo's full resolution, probabilities thresholded at 0.5: per-image foreground IoU,
the two-class dataset mIoU, and the boundary F-score with a tolerance of 3/224 of the longer side (3 px at the
paper's input size). MediaPipe (`pip install mediapipe==0.10.14`, the general 256x256 model) is optional and
never needed by the package. Its pins (protobuf < 5, opencv-contrib) clash with ours, so it may live in its own
virtual environment: --mediapipe-python runs it there (portraitnet/mediapipe_runner.py).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np


def scores(probabilities: list[np.ndarray], masks: list[np.ndarray]) -> dict[str, float]:
    from portraitnet.metrics import DatasetIoU, boundary_f_score, foreground_iou
    pooled = DatasetIoU()
    ious, boundaries = [], []
    for probability, mask in zip(probabilities, masks):
        pred = probability > 0.5
        pooled.update(pred, mask)
        ious.append(foreground_iou(pred, mask))
        boundaries.append(boundary_f_score(pred, mask, tolerance=3 / 224 * max(mask.shape)))
    return {"full_resolution_iou": float(np.mean(ious)), "dataset_miou": pooled.mean(),
            "boundary_f": float(np.mean(boundaries))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", default="../shared/data/eg1800")
    parser.add_argument("--split", default="eg1800_test_present.txt")
    parser.add_argument("--weights", type=Path, help="our model (default: the shipped one)")
    parser.add_argument("--mediapipe-python", help="a Python with mediapipe installed (default: this one, if it has it)")
    parser.add_argument("--robustness", action="store_true", help="also every robustness variant of the split")
    args = parser.parse_args()

    from portraitnet.data import list_samples, load_pair
    from portraitnet.mediapipe_runner import find_mediapipe_python, mediapipe_probabilities
    from portraitnet.robustness import VARIANTS, variant_pairs
    from portraitnet.segmenter import Segmenter

    pairs = [load_pair(s) for s in list_samples(args.data_root, args.split)]
    sets = {"plain": pairs}
    if args.robustness:
        sets.update({variant: list(variant_pairs(variant, pairs)) for variant in VARIANTS})
    python = find_mediapipe_python(args.mediapipe_python)
    if python is None:
        print("MediaPipe not installed here (pip install mediapipe==0.10.14, or --mediapipe-python): "
              "our model only", file=sys.stderr)
    segmenter = Segmenter(args.weights)
    print(f"{len(pairs)} images of {args.split}; full resolution, threshold 0.5; ours on {segmenter.backend_name}")
    print(f"{'set':>12} {'model':>10} {'full-res IoU':>13} {'dataset mIoU':>13} {'boundary F':>11}")
    for name, items in sets.items():
        images, masks = [i for i, _ in items], [m for _, m in items]
        rows = {"ours": scores([segmenter.predict(image) for image in images], masks)}
        if python:
            rows["mediapipe"] = scores(mediapipe_probabilities(images, python), masks)
        for model, row in rows.items():
            print(f"{name:>12} {model:>10} {100 * row['full_resolution_iou']:13.2f} "
                  f"{100 * row['dataset_miou']:13.2f} {100 * row['boundary_f']:11.2f}")


if __name__ == "__main__":
    main()
