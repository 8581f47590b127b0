"""Our model and MediaPipe Selfie Segmentation on the same images with the same metrics, in one table.

    python benchmarks/compare_mediapipe.py [--robustness] [--mediapipe-python /opt/mediapipe-venv/bin/python]
        [--sets eg1800 vk290 davis_person] [--weights runs/x/best.pt] [--backend openvino]

EG1800's test split, and every image of vk290 (varied photos of people) and davis_person (video frames of moving
full bodies): the last two are for evaluation only.

Both are scored at each photo's full resolution, probabilities thresholded at 0.5: per-image foreground IoU,
the two-class dataset mIoU, and the boundary F-score with a tolerance of 3/224 of the longer side (3 px at the
paper's input size). MediaPipe (`pip install mediapipe==0.10.14`, its general and landscape models) is optional and
never needed by the package. Its pins (protobuf < 5, opencv-contrib) clash with ours, so it may live in its own
virtual environment: --mediapipe-python runs it there (portraitnet/evaluation/mediapipe_runner.py).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np


def scores(probabilities: list[np.ndarray], masks: list[np.ndarray]) -> dict[str, float]:
    from portraitnet.evaluation.metrics import DatasetIoU, boundary_f_score, foreground_iou
    pooled = DatasetIoU()
    ious, boundaries = [], []
    for probability, mask in zip(probabilities, masks):
        pred = probability > 0.5
        pooled.update(pred, mask)
        ious.append(foreground_iou(pred, mask))
        boundaries.append(boundary_f_score(pred, mask, tolerance=3 / 224 * max(mask.shape)))
    return {"full_resolution_iou": float(np.mean(ious)), "dataset_miou": pooled.mean(),
            "boundary_f": float(np.mean(boundaries))}


# The sets scored, each with its split (None: every image). vk290 and davis_person are people unlike EG1800's, for
# evaluation only: never train, tune or choose a checkpoint on them.
SETS = {"eg1800": "eg1800_test_present.txt", "vk290": None, "davis_person": None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"), help="folder holding the sets")
    parser.add_argument("--sets", nargs="*", default=list(SETS), choices=list(SETS))
    parser.add_argument("--weights", type=Path, help="our model (default: the shipped one)")
    parser.add_argument("--backend", default="auto", help="our model's runtime: auto (ONNX Runtime), openvino, torch")
    parser.add_argument("--fit-input", action=argparse.BooleanOptionalAction, default=None,
                        help="our input: the photo's own shape (default) or, with --no-fit-input, the square")
    parser.add_argument("--refine", choices=("on", "off"), default="on", help="our edge-aware refinement")
    parser.add_argument("--mediapipe-python", help="a Python with mediapipe installed (default: this one, if it has it)")
    parser.add_argument("--robustness", action="store_true", help="also every robustness variant of EG1800's split")
    parser.add_argument("--json", type=Path, help="also write the table as JSON here")
    args = parser.parse_args()

    from portraitnet.evaluation.mediapipe_runner import MODELS, find_mediapipe_python, mediapipe_probabilities
    from portraitnet.evaluation.robustness import VARIANTS, variant_pairs
    from portraitnet.inference.segmenter import Segmenter
    from portraitnet.training.data import list_samples, load_pair

    sets: dict[str, list] = {}
    for name in args.sets:
        sets[name] = [load_pair(s) for s in list_samples(args.data / name, SETS[name])]
        if name == "eg1800" and args.robustness:
            sets.update({f"eg1800 {v}": list(variant_pairs(v, sets[name])) for v in VARIANTS})
    python = find_mediapipe_python(args.mediapipe_python)
    if python is None:
        print("MediaPipe not installed here (pip install mediapipe==0.10.14, or --mediapipe-python): "
              "our model only", file=sys.stderr)
    segmenter = Segmenter(args.weights, backend=args.backend, fit_input=args.fit_input,
                          refine=args.refine == "on")
    print(f"full resolution, threshold 0.5; ours ({args.weights or 'shipped'}) on {segmenter.backend_name}")
    print(f"{'set':>22} {'images':>6} {'model':>20} {'full-res IoU':>13} {'dataset mIoU':>13} {'boundary F':>11}")
    table: dict[str, dict] = {}
    for name, items in sets.items():
        images, masks = [i for i, _ in items], [m for _, m in items]
        rows = {"ours": scores(segmenter.predict_batch(images), masks)}
        if python:
            for model in MODELS:
                rows[f"mediapipe {model}"] = scores(mediapipe_probabilities(images, python, model), masks)
        table[name] = rows
        for model, row in rows.items():
            print(f"{name:>22} {len(items):>6} {model:>20} {100 * row['full_resolution_iou']:13.2f} "
                  f"{100 * row['dataset_miou']:13.2f} {100 * row['boundary_f']:11.2f}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(table, indent=1) + "\n")


if __name__ == "__main__":
    main()
