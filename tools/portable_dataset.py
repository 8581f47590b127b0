"""Write a small copy of a training set for another machine (a rented GPU, say): the images shrunk so their
longer side is at most --max-side, and the split fixed in two lists, so that a run there trains and validates
on exactly the samples a run here would.

    python tools/portable_dataset.py --config docs/runs/cpu_restart/config.toml --out data_portable
    portraitnet train --config docs/runs/cpu_restart/config.toml --data-root data_portable --train-list train.txt \\
        --val-list val.txt --test-list ""

Training fits every image to the input size before augmenting, so a copy at 336 px loses nothing at 224
(EG1800's 1,338 training and validation pairs: 32 MB, against 106 MB for the originals).
The copy's validation IoU can differ from the original's in the last decimals (the images went through one
more resize and a JPEG encode); score the result on the original data.

Pseudo-labelled pools (tools/pseudo_label.py) travel too with --pools: each lands in OUT/pools/<name> with its
val part whole and at most --pool-limit training photos (a seeded sample), for `--pools OUT/pools/<name> ...`.
Grey photos are stored as one-channel JPEGs (a third of the bytes); a pool's soft masks (`soft/`) travel shrunk
beside its masks. The teachers' soft masks of EG1800's own photos (`teacher_dir`) are made on the copy's images
(tools/pseudo_label.py OUT/images ...), so that they match the copy's sizes.
"""

from __future__ import annotations

import argparse
import random
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np

from portraitnet.inference.preprocess import resize_image, resize_mask
from portraitnet.training.config import TrainConfig
from portraitnet.training.data import Sample, list_samples, load_pair, read_probability
from portraitnet.training.train import training_split


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True, help="training config whose data and split to copy")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--max-side", type=int, default=336)
    parser.add_argument("--quality", type=int, default=90, help="JPEG quality of the images")
    parser.add_argument("--pools", type=Path, nargs="*", default=[], help="pseudo-labelled pool folders to copy")
    parser.add_argument("--pool-limit", type=int, default=0, help="training photos kept per pool (0 = all)")
    args = parser.parse_args()

    config = TrainConfig.from_dict(TrainConfig.read_file(args.config))
    train, val, dropped = training_split(config)

    (args.out / "images").mkdir(parents=True, exist_ok=True)
    (args.out / "masks").mkdir(parents=True, exist_ok=True)

    def copy(sample: Sample, out: Path) -> None:
        """The pair shrunk, and a pool photo's soft mask (soft/, for `pool_targets = "soft"`) beside it."""
        image, mask = load_pair(sample)
        soft_path = sample.mask_path.parent.parent / "soft" / f"{sample.stem}.png"
        soft = read_probability(soft_path) if out != args.out and soft_path.is_file() else None
        scale = args.max_side / max(image.shape[:2])
        if scale < 1:
            width, height = round(image.shape[1] * scale), round(image.shape[0] * scale)
            image, mask = resize_image(image, width, height), resize_mask(mask, width, height)
            soft = None if soft is None else resize_image(soft, width, height)
        if soft is not None:
            cv2.imwrite(str(out / "soft" / f"{sample.stem}.png"), np.round(soft * 255).astype(np.uint8))
        grey = bool(np.all(image[..., 0] == image[..., 1]) and np.all(image[..., 1] == image[..., 2]))
        cv2.imwrite(str(out / "images" / f"{sample.stem}.jpg"),
                    image[..., 0] if grey else cv2.cvtColor(image, cv2.COLOR_RGB2BGR),
                    [cv2.IMWRITE_JPEG_QUALITY, args.quality])
        cv2.imwrite(str(out / "masks" / f"{sample.stem}.png"), mask * 255, [cv2.IMWRITE_PNG_COMPRESSION, 9])

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda s: copy(s, args.out), train + val))
        for pool_dir in args.pools:
            out = args.out / "pools" / pool_dir.name
            (out / "images").mkdir(parents=True, exist_ok=True)
            (out / "masks").mkdir(parents=True, exist_ok=True)
            (out / "soft").mkdir(parents=True, exist_ok=True)
            pool_train, pool_val = list_samples(pool_dir, "train.txt"), list_samples(pool_dir, "val.txt")
            if args.pool_limit and len(pool_train) > args.pool_limit:
                pool_train = sorted(random.Random(0).sample(pool_train, args.pool_limit), key=lambda s: s.stem)
            list(pool.map(lambda s: copy(s, out), pool_train + pool_val))
            for name, samples in (("train", pool_train), ("val", pool_val)):
                (out / f"{name}.txt").write_text("".join(f"{s.stem}\n" for s in samples))
            shutil.copyfile(pool_dir / "teachers.json", out / "teachers.json")
            print(f"{out}: {len(pool_train)} train, {len(pool_val)} validation")
    (args.out / "train.txt").write_text("".join(f"{s.stem}\n" for s in train))
    (args.out / "val.txt").write_text("".join(f"{s.stem}\n" for s in val))
    print(f"{args.out}: {len(train)} train, {len(val)} validation (left out as test duplicates: "
          f"{', '.join(dropped) or 'none'})")


if __name__ == "__main__":
    main()
