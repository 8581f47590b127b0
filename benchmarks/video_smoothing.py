"""Temporal smoothing schemes on real motion: davis_person's three clips (per-frame masks drawn by people).

    python benchmarks/video_smoothing.py [--weights W] [--json out.json]

For each scheme, over every frame: per-frame IoU at full resolution (threshold 0.5; a mask that lags behind motion
loses it) and flicker, the mean absolute change of the probability between consecutive frames, inside the true
person and outside it. The clips are then played back to back, as one video with two cuts, to show what a scene cut
does with and without cut detection (IoU of the three frames after each cut).

davis_person is an evaluation set: the schemes' strengths are fixed beforehand (0.5, the default since the first
release; 0.9 shown for information), nothing is tuned on it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from portraitnet.evaluation.metrics import foreground_iou  # noqa: E402
from portraitnet.inference.imageio import load_rgb  # noqa: E402
from portraitnet.inference.segmenter import Segmenter  # noqa: E402
from portraitnet.inference.video import SceneCut, TemporalSmoother  # noqa: E402
from portraitnet.training.data import read_mask, read_split_list  # noqa: E402

DAVIS = Path(__file__).resolve().parents[2] / "shared" / "data" / "davis_person"
CLIPS = ("breakdance", "dance-twirl", "parkour")
SCHEMES = {"none": (0.0, "ema"), "ema 0.5 (previous default)": (0.5, "ema"), "uncertain 0.5": (0.5, "uncertain"),
           "uncertain 0.9": (0.9, "uncertain")}


def clip_frames(root: Path, clip: str) -> list[str]:
    return read_split_list(root / f"{clip}.txt")


def smoothed(raw: list[np.ndarray], strength: float, mode: str, cuts: list[bool] | None = None) -> list[np.ndarray]:
    smoother = TemporalSmoother(strength, mode)
    out = []
    for index, probability in enumerate(raw):
        if cuts is not None and cuts[index]:
            smoother.reset()
        out.append(smoother(probability))
    return out


def scores(probabilities: list[np.ndarray], masks: list[np.ndarray]) -> dict[str, float]:
    ious = [foreground_iou(p >= 0.5, m) for p, m in zip(probabilities, masks)]
    inside, outside = [], []
    for previous, current, mask in zip(probabilities, probabilities[1:], masks[1:]):
        change = np.abs(current - previous)
        inside.append(change[mask > 0].mean())
        outside.append(change[mask == 0].mean())
    return {"iou": float(np.mean(ious)) * 100, "flicker_inside": float(np.mean(inside)),
            "flicker_outside": float(np.mean(outside))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", type=Path, help="a .onnx or .pt model (default: the shipped model)")
    parser.add_argument("--data", type=Path, default=DAVIS)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    segmenter = Segmenter(args.weights)
    raw: dict[str, list[np.ndarray]] = {}
    masks: dict[str, list[np.ndarray]] = {}
    frames: dict[str, list[np.ndarray]] = {}
    for clip in CLIPS:
        stems = clip_frames(args.data, clip)
        frames[clip] = [load_rgb(args.data / "images" / f"{stem}.jpg") for stem in stems]
        masks[clip] = [read_mask(args.data / "masks" / f"{stem}.png") for stem in stems]
        raw[clip] = [p for start in range(0, len(stems), 16)
                     for p in segmenter.predict_arrays(frames[clip][start:start + 16])]

    table: dict[str, dict[str, float]] = {}
    for name, (strength, mode) in SCHEMES.items():
        per_clip = [scores(smoothed(raw[clip], strength, mode), masks[clip]) for clip in CLIPS]
        weights = [len(raw[clip]) for clip in CLIPS]
        table[name] = {key: float(np.average([row[key] for row in per_clip], weights=weights))
                       for key in per_clip[0]}

    # the clips back to back: two cuts
    video = [frame for clip in CLIPS for frame in frames[clip]]
    video_raw = [p for clip in CLIPS for p in raw[clip]]
    video_masks = [m for clip in CLIPS for m in masks[clip]]
    starts = np.cumsum([0] + [len(frames[clip]) for clip in CLIPS])[1:-1]
    detector = SceneCut()
    detected = [detector(frame) for frame in video]
    after_cuts = [start + offset for start in starts for offset in range(3)]
    cut_table = {}
    for name, (strength, mode) in SCHEMES.items():
        for detect in (False, True):
            probabilities = smoothed(video_raw, strength, mode, detected if detect else None)
            cut_table[f"{name}, {'with' if detect else 'without'} cut detection"] = float(np.mean(
                [foreground_iou(probabilities[i] >= 0.5, video_masks[i]) for i in after_cuts])) * 100

    print(f"davis_person, {sum(len(f) for f in frames.values())} frames of {len(CLIPS)} clips, "
          f"model {segmenter.weights.name} on {segmenter.backend_name}")
    print(f"{'scheme':<28} {'IoU':>7} {'flicker in':>11} {'flicker out':>12}")
    for name, row in table.items():
        print(f"{name:<28} {row['iou']:7.2f} {row['flicker_inside']:11.4f} {row['flicker_outside']:12.4f}")
    true_cuts = set(int(s) for s in starts)
    found = [i for i, cut in enumerate(detected) if cut]
    print(f"\nthe clips back to back: cuts at frames {sorted(true_cuts)}; detected at {found}")
    print("IoU of the 3 frames after each cut:")
    for name, value in cut_table.items():
        print(f"  {name:<58} {value:6.2f}")
    if args.json:
        args.json.write_text(json.dumps({"schemes": table, "cuts": {"true": sorted(true_cuts), "detected": found},
                                         "iou_after_cuts": cut_table}, indent=1))


if __name__ == "__main__":
    main()
