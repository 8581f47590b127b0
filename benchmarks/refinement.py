"""Choose the edge-aware refinement's settings on held-out data, and score them.

Runs the model once per photo (the default input: fitted), then scores the full-resolution IoU (threshold 0.5)
with the refinement off and at every radius and eps of a grid, in probability or logit space with the grey guide, or with the colour guide. Held-out sets (where
a choice may be made): EG1800's validation split (the shipped checkpoint's own) and each pool's held-out part,
scored against the teachers' masks. `--sets` scores other sets with the same grid, to report them, never to choose.

    python benchmarks/refinement.py                                   # choose: held-out sets
    python benchmarks/refinement.py --evaluation --radius 2 --eps 1e-2   # report: EG1800 test, vk290, davis_person
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

import numpy as np

from portraitnet.evaluation.metrics import foreground_iou
from portraitnet.inference import route
from portraitnet.inference.imageio import load_rgb
from portraitnet.inference.refine import Refinement, grey, refined
from portraitnet.inference.segmenter import Segmenter, shipped_weights
from portraitnet.training.data import list_samples, read_mask

POOLS = ("lsp_people", "lfw_gray", "caltech_faces", "picsart_photos")
LOGIT_RANGE = 8.0  # logits clipped to +-8 and mapped onto 0..1 for the logit-space filter


def held_out_sets(data: Path, pools: Path) -> dict[str, list[tuple[Path, Path]]]:
    import torch
    payload = torch.load(shipped_weights(), map_location="cpu", weights_only=True)
    stems = set(payload["data"]["val_stems"])
    sets = {"eg1800 validation": [(s.image_path, s.mask_path) for s in list_samples(data / "eg1800")
                                  if s.stem in stems]}
    for name in POOLS:
        root = pools / name
        if (root / "val.txt").is_file():
            sets[f"{name} held out"] = [(s.image_path, s.mask_path) for s in list_samples(root, root / "val.txt")]
    return sets


def evaluation_sets(data: Path) -> dict[str, list[tuple[Path, Path]]]:
    return {"eg1800 test": [(s.image_path, s.mask_path) for s in
                            list_samples(data / "eg1800", "eg1800_test_present.txt")],
            "vk290": [(s.image_path, s.mask_path) for s in list_samples(data / "vk290")],
            "davis_person": [(s.image_path, s.mask_path) for s in list_samples(data / "davis_person")]}


def to_logit_unit(p: np.ndarray) -> np.ndarray:
    logit = np.log(np.clip(p, 1e-6, 1 - 1e-6) / np.clip(1 - p, 1e-6, 1))
    return (np.clip(logit, -LOGIT_RANGE, LOGIT_RANGE) / (2 * LOGIT_RANGE) + 0.5).astype(np.float32)


def from_logit_unit(u: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-(u - 0.5) * 2 * LOGIT_RANGE))


def refined_colour(probability: np.ndarray, box, rgb: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """The guided filter with the colour photo as its guide (He et al.'s colour form: a 3 x 3 solve per pixel), for
    comparison with the package's grey guide."""
    import cv2
    from portraitnet.inference.preprocess import resize_image
    inside = np.ascontiguousarray(probability[box.top:box.top + box.fitted_height,
                                              box.left:box.left + box.fitted_width], dtype=np.float32)
    guide = resize_image(rgb, box.fitted_width, box.fitted_height).astype(np.float32) / 255
    mean = lambda x: cv2.boxFilter(x, cv2.CV_32F, (2 * radius + 1,) * 2, borderType=cv2.BORDER_REFLECT)
    mean_i = np.stack([mean(guide[..., c]) for c in range(3)], -1)
    mean_p = mean(inside)
    cov_ip = np.stack([mean(guide[..., c] * inside) for c in range(3)], -1) - mean_i * mean_p[..., None]
    sigma = np.empty(inside.shape + (3, 3), np.float32)
    for i in range(3):
        for j in range(3):
            sigma[..., i, j] = mean(guide[..., i] * guide[..., j]) - mean_i[..., i] * mean_i[..., j]
    a = np.linalg.solve(sigma + eps * np.eye(3, dtype=np.float32), cov_ip[..., None])[..., 0]
    b = mean_p - (a * mean_i).sum(-1)
    height, width = rgb.shape[:2]
    up = lambda x: cv2.resize(mean(x), (width, height), interpolation=cv2.INTER_LINEAR)
    result = up(b) + sum(up(np.ascontiguousarray(a[..., c])) * (rgb[..., c].astype(np.float32) / 255)
                         for c in range(3))
    return np.clip(result, 0, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--pools", type=Path, default=Path("../pools"))
    parser.add_argument("--evaluation", action="store_true", help="score the evaluation sets instead (report only)")
    parser.add_argument("--radius", type=int, nargs="+", default=[1, 2, 3, 4, 6])
    parser.add_argument("--spaces", nargs="+", default=["probability", "logit", "colour"],
                        choices=["probability", "logit", "colour"], help="probability or logit with the grey guide, "
                        "or the colour guide on the probability")
    parser.add_argument("--eps", type=float, nargs="+", default=[1e-4, 1e-3, 1e-2, 1e-1])
    parser.add_argument("--square", action="store_true", help="the square input instead of the fitted one")
    parser.add_argument("--json", type=Path, help="also write the table as JSON here")
    args = parser.parse_args()

    sets = evaluation_sets(args.data) if args.evaluation else held_out_sets(args.data, args.pools)
    segmenter = Segmenter(threads=2, fit_input=not args.square, refine=False)
    settings = [("off", None, None)] + [(space, r, e) for space in args.spaces
                                       for r, e in itertools.product(args.radius, args.eps)]
    table: dict[str, dict[str, float]] = {}
    for name, pairs in sets.items():
        ious: dict[str, list[float]] = {}
        for image_path, mask_path in pairs:
            rgb, mask = load_rgb(image_path, max_pixels=None), read_mask(mask_path)
            batch, boxes = route.prepare_batch([rgb], segmenter.input_size, segmenter.fit_input)
            probability, box, guide = segmenter.run_batch(batch)[0], boxes[0], grey(rgb)
            for space, radius, eps in settings:
                key = "off" if space == "off" else f"{space} r{radius} eps{eps:g}"
                if space == "off":
                    full = route.map_back([probability], [box])[0]
                elif space == "colour":
                    full = refined_colour(probability, box, rgb, radius, eps)
                elif space == "probability":
                    full = refined(probability, box, guide, Refinement(radius, eps))
                else:
                    full = from_logit_unit(refined(to_logit_unit(probability), box, guide, Refinement(radius, eps)))
                ious.setdefault(key, []).append(foreground_iou(full > 0.5, mask > 0))
        table[name] = {key: 100 * float(np.mean(values)) for key, values in ious.items()}
        print(f"{name} ({len(pairs)}): off {table[name]['off']:.2f}", flush=True)

    sizes = {name: len(pairs) for name, pairs in sets.items()}
    keys = list(next(iter(table.values())))
    print(f"\nfull-resolution IoU, threshold 0.5, {'square' if args.square else 'fitted'} input; "
          "'weighted' is the mean over the sets weighted by their photos")
    print(f"{'setting':28s}" + "".join(f"{name[:18]:>20s}" for name in table) + f"{'weighted':>12s}")
    for key in keys:
        weighted = sum(table[name][key] * sizes[name] for name in table) / sum(sizes.values())
        print(f"{key:28s}" + "".join(f"{table[name][key]:20.2f}" for name in table) + f"{weighted:12.2f}")
    if args.json:
        args.json.write_text(json.dumps({"sizes": sizes, "table": table}, indent=1))


if __name__ == "__main__":
    main()
