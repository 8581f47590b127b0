"""Square input against fit input (each frame at its own multiple-of-32 shape): IoU and time per frame.

    python benchmarks/fit_input.py [--weights runs/x/best.pt] [--threads 2] [--repeats 200] [--validation] [--errors]

IoU: per-image foreground IoU at full resolution, threshold 0.5, on davis_person (854 x 480 video frames, for
evaluation only), EG1800's landscape robustness variant (1280 x 720 frames) and EG1800's test split (3:4
portraits, which run as 192 x 224). With --validation, on held-out data instead, where choices about the input
may be made: the model's own validation images (EG1800's, and each pool's held-out part against the teachers'
masks), as they are and framed as 1280 x 720 landscapes the way the robustness benchmark frames its test images.
With --errors, where the fit input's own mistakes lie (pixels it gets wrong and the square gets right): the share
that is false foreground, and of that the share more than 3 input pixels from the person (blobs apart from the
person, not a looser outline). Time: one 1280 x 720 frame through `Segmenter.predict_arrays` (letterbox, network,
map back), the two inputs interleaved in rounds so that a change in the machine's speed hits both.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np


def predictions(segmenter, pairs: list[tuple[np.ndarray, np.ndarray]]) -> list[np.ndarray]:
    """Each image's mask at threshold 0.5, in batches of 16."""
    masks = []
    for start in range(0, len(pairs), 16):
        masks += [p > 0.5 for p in segmenter.predict_arrays([image for image, _ in pairs[start:start + 16]])]
    return masks


def mean_iou(predicted: list[np.ndarray], pairs: list[tuple[np.ndarray, np.ndarray]]) -> float:
    from portraitnet.evaluation.metrics import foreground_iou
    return 100 * float(np.mean([foreground_iou(p, mask) for p, (_, mask) in zip(predicted, pairs)]))


def fit_only_errors(square: list[np.ndarray], fit: list[np.ndarray],
                    pairs: list[tuple[np.ndarray, np.ndarray]], size: int) -> tuple[float, float]:
    """Of the pixels the fit input gets wrong and the square right: the share that is false foreground, and of
    that the share more than 3 input pixels (of `size` on the long side) from the person."""
    import cv2
    wrong = false_foreground = far = 0
    for square_mask, fit_mask, (_, mask) in zip(square, fit, pairs):
        person = mask > 0
        fit_only = (fit_mask != person) & (square_mask == person)
        false = fit_only & ~person
        distance = cv2.distanceTransform((~person).astype(np.uint8), cv2.DIST_L2, 5)  # huge where no person at all
        input_pixels = distance / max(person.shape) * size
        wrong, false_foreground = wrong + fit_only.sum(), false_foreground + false.sum()
        far += (false & (input_pixels > 3)).sum()
    return 100 * false_foreground / max(wrong, 1), 100 * far / max(false_foreground, 1)


def evaluation_sets(data: Path) -> dict[str, list[tuple[np.ndarray, np.ndarray]]]:
    """davis_person, EG1800's test split and its 16:9 robustness variant: reported, never chosen on."""
    from portraitnet.evaluation.robustness import variant_pairs
    from portraitnet.training.data import list_samples, load_pair

    eg1800 = [load_pair(s) for s in list_samples(data / "eg1800", "eg1800_test_present.txt")]
    return {"davis_person": [load_pair(s) for s in list_samples(data / "davis_person", None)],
            "eg1800 landscape (1280x720)": list(variant_pairs("landscape", eg1800)),
            "eg1800 test (3:4)": eg1800}


def validation_sets(weights: Path | None, data: Path) -> dict[str, list[tuple[np.ndarray, np.ndarray]]]:
    """The checkpoint's held-out images, as they are and framed at 16:9 on each other's scenes."""
    from portraitnet.evaluation.evaluate import split_samples
    from portraitnet.evaluation.robustness import variant_pairs
    from portraitnet.inference.segmenter import shipped_weights
    from portraitnet.training.checkpoint import load_checkpoint
    from portraitnet.training.data import list_samples, load_pair

    if weights and weights.suffix != ".pt":
        raise SystemExit(f"{weights}: --validation needs a checkpoint (.pt), which records its validation split")
    payload = load_checkpoint(weights or shipped_weights())
    held_out = {"eg1800 val": [load_pair(s) for s in split_samples(data / "eg1800", "val", payload)]}
    for name, pool in payload["data"].get("pools", {}).items():
        held_out[f"{name} val"] = [load_pair(s) for s in list_samples(Path(pool["path"]),
                                                                      str(Path(pool["path"]) / "val.txt"))]
    sets = {}
    for name, pairs in held_out.items():
        sets[name] = pairs
        if len(pairs) > 1:
            sets[f"{name} landscape"] = list(variant_pairs("landscape", pairs))
    return sets


def frame_times(segmenters: dict, frame: np.ndarray, repeats: int, rounds: int = 5) -> dict[str, float]:
    """Median milliseconds per frame of each segmenter, interleaved in rounds."""
    times: dict[str, list[float]] = {name: [] for name in segmenters}
    for segmenter in segmenters.values():
        segmenter.predict_arrays([frame])  # warm up
    for _ in range(rounds):
        for name, segmenter in segmenters.items():
            for _ in range(repeats // rounds):
                started = time.perf_counter()
                segmenter.predict_arrays([frame])
                times[name].append(1000 * (time.perf_counter() - started))
    return {name: float(np.median(values)) for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--weights", type=Path, help="default: the shipped model")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=200, help="timed frames per input shape (0: IoU only)")
    parser.add_argument("--validation", action="store_true",
                        help="score the model's held-out images (plain and framed 16:9), not the evaluation sets")
    parser.add_argument("--errors", action="store_true",
                        help="also say where the fit input's own mistakes lie (false foreground, apart from the "
                             "person)")
    args = parser.parse_args()

    from portraitnet.inference.segmenter import Segmenter

    segmenters = {shape: Segmenter(args.weights, threads=args.threads, fit_input=shape == "fit")
                  for shape in ("square", "fit")}
    sets = validation_sets(args.weights, args.data) if args.validation else evaluation_sets(args.data)
    print(f"model: {args.weights or 'shipped'}; full-resolution IoU, threshold 0.5")
    errors = "  fit-only errors: % false foreground, % of that apart" if args.errors else ""
    print(f"{'set':>28} {'images':>6} {'square':>8} {'fit':>8}{errors}")
    for name, pairs in sets.items():
        predicted = {shape: predictions(segmenter, pairs) for shape, segmenter in segmenters.items()}
        line = f"{name:>28} {len(pairs):>6} {mean_iou(predicted['square'], pairs):8.2f} " \
               f"{mean_iou(predicted['fit'], pairs):8.2f}"
        if args.errors:
            false, apart = fit_only_errors(predicted["square"], predicted["fit"], pairs, segmenters["fit"].input_size)
            line += f"  {false:5.1f} {apart:5.1f}"
        print(line, flush=True)
    if not args.repeats:
        return
    frame = next(image for pairs in sets.values() for image, _ in pairs if image.shape[:2] == (720, 1280))
    ms = frame_times(segmenters, frame, args.repeats)
    print(f"1280x720 frame, {args.threads} threads, median of {args.repeats}: square (224x224) {ms['square']:.2f} ms, "
          f"fit (224x128) {ms['fit']:.2f} ms, square / fit = {ms['square'] / ms['fit']:.2f}x")


if __name__ == "__main__":
    main()
