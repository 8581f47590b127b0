"""Do flip-averaged teachers label people better? Scored where the truth is known: EG1800 training photos.

Each teacher (tools/pseudo_label.py: MediaPipe's general model and Robust Video Matting) labels each photo as it
is and mirrored; the pools' label is the mean of the teachers (>= 0.5). Prints the mean per-photo foreground IoU
against the true masks of each teacher and of the mean, plain and averaged with the mirrored photo's label, so that
flip averaging is tried on the pools (and then trained, an A/B) only if it makes labels closer to the truth.

    python benchmarks/teacher_flip.py --mediapipe-python /opt/mediapipe-venv/bin/python [--photos 600]
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
from pseudo_label import RVM_MEMBER, RVM_WHEEL, RobustVideoMatting  # noqa: E402

from portraitnet.evaluation.mediapipe_runner import mediapipe_probabilities  # noqa: E402
from portraitnet.evaluation.metrics import foreground_iou  # noqa: E402
from portraitnet.files import wheel_member  # noqa: E402
from portraitnet.training.data import list_samples, read_image, read_mask  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mediapipe-python", required=True, help="a Python with mediapipe==0.10.14")
    parser.add_argument("--data-root", type=Path, default=Path("../shared/data/eg1800"))
    parser.add_argument("--split", default="eg1800_train_present.txt", help="photos with true masks (not a test "
                        "split: this decides how training data is labelled)")
    parser.add_argument("--photos", type=int, default=600, help="a seeded sample of this many")
    args = parser.parse_args()

    samples = list_samples(args.data_root, args.split)
    samples = random.Random(0).sample(samples, min(args.photos, len(samples)))
    images = [read_image(s.image_path) for s in samples]
    truths = [read_mask(s.mask_path) > 0 for s in samples]
    mirrored = [np.ascontiguousarray(image[:, ::-1]) for image in images]
    rvm = RobustVideoMatting(wheel_member(RVM_WHEEL, RVM_MEMBER))
    plain = {"mediapipe": mediapipe_probabilities(images, args.mediapipe_python),
             "rvm": [rvm(image) for image in images]}
    flipped = {"mediapipe": [p[:, ::-1] for p in mediapipe_probabilities(mirrored, args.mediapipe_python)],
               "rvm": [rvm(image)[:, ::-1] for image in mirrored]}
    for labels in (plain, flipped):
        labels["mean"] = [(a + b) / 2 for a, b in zip(labels["mediapipe"], labels["rvm"])]

    def score(probabilities: list[np.ndarray]) -> float:
        return 100 * float(np.mean([foreground_iou(p >= 0.5, t) for p, t in zip(probabilities, truths)]))

    print(f"{len(samples)} photos of {args.data_root / args.split}, mean per-photo IoU against the true masks")
    print(f"{'teacher':10s} {'as is':>7s} {'mirrored':>9s} {'flip-averaged':>14s}")
    for name in plain:
        averaged = [(a + b) / 2 for a, b in zip(plain[name], flipped[name])]
        print(f"{name:10s} {score(plain[name]):7.2f} {score(flipped[name]):9.2f} {score(averaged):14.2f}")


if __name__ == "__main__":
    main()
