"""Ablations at an equal budget: every row trains the same epochs from the base recipe's start (from scratch with
configs/cpu.toml, from the ImageNet encoder with configs/imagenet.toml), then is scored on the test split and on
every variant of the robustness benchmark.

    python tools/ablation.py losses [--epochs 30]          # the paper's table: none, +boundary, +consistency, both
    python tools/ablation.py augmentation [--epochs 30]    # paper's augmentation, + each addition, + all
    python tools/ablation.py losses --config configs/imagenet.toml --epochs 12 --out runs/ablation_imagenet \
        [--rows "no auxiliary loss" "both (paper)"]        # only these rows, the others left for later

Rows run one after another into runs/ablation/<study>/<row>; a stopped study resumes where it was (finished rows
are skipped, a half-trained row continues from its last.pt). The table goes to stdout and to
runs/ablation/<study>/table.md.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from portraitnet.evaluation.evaluate import evaluate
from portraitnet.evaluation.robustness import VARIANTS
from portraitnet.training.checkpoint import load_checkpoint
from portraitnet.training.config import TrainConfig
from portraitnet.training.train import train

STUDIES: dict[str, dict[str, dict]] = {
    "losses": {
        "no auxiliary loss": {"edge_loss": False, "consistency_loss": False},
        "+ boundary loss": {"edge_loss": True, "consistency_loss": False},
        "+ consistency loss": {"edge_loss": False, "consistency_loss": True},
        "both (paper)": {"edge_loss": True, "consistency_loss": True},
    },
    "augmentation": {
        "paper": {},
        "+ composite": {"composite_probability": 0.3},
        "+ framing": {"landscape_probability": 0.2},
        "+ photometric": {"photometric_probability": 0.3},
        "all": {"composite_probability": 0.3, "landscape_probability": 0.2, "photometric_probability": 0.3},
    },
}


def row_dir(root: Path, name: str) -> Path:
    return root / name.replace("+ ", "plus_").replace(" ", "_").replace("(", "").replace(")", "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("study", choices=sorted(STUDIES))
    parser.add_argument("--epochs", type=int, default=30, help="the budget of every row")
    parser.add_argument("--config", type=Path, default=Path("configs/cpu.toml"),
                        help="the base recipe; each row changes only its own knobs")
    parser.add_argument("--out", type=Path, default=Path("runs/ablation"))
    parser.add_argument("--rows", nargs="+", metavar="ROW",
                        help="train and score only these rows (their names as in the table), e.g. when a "
                             "session has time for two; the others keep their state for a later run")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    base = {**TrainConfig.read_file(args.config), "epochs": args.epochs}
    # A short budget cannot afford the full recipe's warm-up: keep it to a tenth of the epochs, the same for every row.
    base["warmup_epochs"] = min(base.get("warmup_epochs", 0), args.epochs // 10)
    if args.study == "augmentation":  # start from the paper's augmentation; each row adds its own
        base.update(composite_probability=0.0, landscape_probability=0.0, photometric_probability=0.0)
    rows = STUDIES[args.study]
    unknown = set(args.rows or []) - set(rows)
    if unknown:
        parser.error(f"unknown rows {sorted(unknown)} (the {args.study} study has: {', '.join(rows)})")
    root = args.out / args.study
    results = {}
    for name, changes in rows.items():
        if args.rows and name not in args.rows:
            continue
        out_dir = row_dir(root, name)
        config = TrainConfig.from_dict({**base, **changes, "out_dir": str(out_dir)})
        last = out_dir / "last.pt"
        if not (last.is_file() and load_checkpoint(last)["epoch"] >= args.epochs):
            train(config, resume=True, show_progress=False)
        results[name] = evaluate(out_dir / "best.pt", robustness=True)

    header = ["row", "official IoU", "boundary F"] + [f"{v} IoU" for v in VARIANTS]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, report in results.items():
        cells = [name, f"{100 * report['official_iou']:.2f}", f"{100 * report['boundary_f']:.2f}"]
        cells += [f"{100 * report['robustness'][v]['official_iou']:.2f}" for v in VARIANTS]
        lines.append("| " + " | ".join(cells) + " |")
    table = "\n".join(lines)
    first = next(iter(results.values()))
    start = f"the {base['encoder_weights']} encoder" if base.get("encoder_weights") else "scratch"
    print(f"{args.study}: {args.epochs} epochs each from {start} ({args.config}); "
          f"{first['split']} ({first['images']} images)")
    print(table)
    (root / "table.md").write_text(table + "\n")
    (root / "results.json").write_text(json.dumps({k: {m: v for m, v in r.items() if m != "per_image"}
                                                   for k, r in results.items()}, indent=1))


if __name__ == "__main__":
    main()
