"""Ablations at an equal budget: every row trains the same epochs from the base recipe's start (from the ImageNet
encoder with configs/imagenet.toml, the default; from scratch with docs/runs/cpu/config.toml, our earlier recipe),
then is scored on the test split and on every variant of the robustness benchmark.

    python tools/ablation.py losses [--epochs 30]          # the paper's table: none, +boundary, +consistency, both
    python tools/ablation.py augmentation [--epochs 30]    # paper's augmentation, + each addition, + all
    python tools/ablation.py losses --config configs/imagenet.toml --epochs 12 --out runs/ablation_imagenet \
        [--rows "no auxiliary loss" "both (paper)"]        # only these rows, the others left for later
        [--seeds 0 1 2]                                    # each row once per training seed; the table's mean ± sd
        [--score-only]                                     # train nothing: the table of what has finished

Rows run one after another into runs/ablation/<study>/<row> (seed 0) and <row>_seed<N>, all seeds of one row
holding out the same validation photos (the config's split_seed); a stopped study resumes where it was (finished
runs are skipped, a half-trained one continues from its last.pt). Each finished run is scored once, its report
kept beside its checkpoint. The table goes to stdout and to runs/ablation/<study>/table.md.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
from pathlib import Path

from portraitnet.evaluation.evaluate import evaluate
from portraitnet.evaluation.robustness import VARIANTS
from portraitnet.files import atomic_path
from portraitnet.training.checkpoint import load_checkpoint
from portraitnet.training.config import TrainConfig
from portraitnet.training.train import train

STUDIES: dict[str, dict[str, dict]] = {
    "losses": {  # the paper's two views (A and A') in every row, as its loss table had them
        "no auxiliary loss": {"edge_loss": False, "consistency_loss": False, "single_view": False},
        "+ boundary loss": {"edge_loss": True, "consistency_loss": False, "single_view": False},
        "+ consistency loss": {"edge_loss": False, "consistency_loss": True, "single_view": False},
        "both (paper)": {"edge_loss": True, "consistency_loss": True, "single_view": False},
    },
    "augmentation": {
        "paper": {},
        "+ composite": {"composite_probability": 0.3},
        "+ framing": {"landscape_probability": 0.2},
        "all": {"composite_probability": 0.3, "landscape_probability": 0.2},
    },
}


def row_dir(root: Path, name: str, seed: int = 0) -> Path:
    base = name.replace("+ ", "plus_").replace(" ", "_").replace("(", "").replace(")", "")
    return root / (base if seed == 0 else f"{base}_seed{seed}")  # seed 0 keeps the name of single-seed studies


def finished(out_dir: Path, epochs: int) -> bool:
    last = out_dir / "last.pt"
    return last.is_file() and load_checkpoint(last)["epoch"] >= epochs


def scored(out_dir: Path) -> dict:
    """The finished run's report (test split and robustness benchmark), scored once and kept beside it."""
    path = out_dir / "ablation_report.json"
    if not path.is_file():
        report = evaluate(out_dir / "best.pt", robustness=True)
        with atomic_path(path) as written:  # a stopped scoring leaves no half-written report to trust
            written.write_text(json.dumps({k: v for k, v in report.items() if k != "per_image"}, indent=1))
    return json.loads(path.read_text())


def cell(values: list[float]) -> str:
    mean = f"{100 * statistics.mean(values):.2f}"
    return mean if len(values) == 1 else f"{mean} ± {100 * statistics.stdev(values):.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("study", choices=sorted(STUDIES))
    parser.add_argument("--epochs", type=int, default=30, help="the budget of every row")
    parser.add_argument("--config", type=Path, default=Path("configs/imagenet.toml"),
                        help="the base recipe; each row changes only its own knobs")
    parser.add_argument("--out", type=Path, default=Path("runs/ablation"))
    parser.add_argument("--rows", nargs="+", metavar="ROW",
                        help="train and score only these rows (their names as in the table), e.g. when a "
                             "machine has time for two; the others keep their state for a later run")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0],
                        help="train every row once per seed (all seeds of a row on the same validation photos); "
                             "the table gives the mean ± standard deviation over the finished ones")
    parser.add_argument("--score-only", action="store_true",
                        help="train nothing: score the runs that have finished and print their table")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    base = {**TrainConfig.read_file(args.config), "epochs": args.epochs}
    # A short budget cannot afford the full recipe's warm-up: keep it to a tenth of the epochs, the same for every row.
    base["warmup_epochs"] = min(base.get("warmup_epochs", 0), args.epochs // 10)
    if args.study == "augmentation":  # start from the paper's augmentation; each row adds its own
        base.update(composite_probability=0.0, landscape_probability=0.0)
    rows = STUDIES[args.study]
    unknown = set(args.rows or []) - set(rows)
    if unknown:
        parser.error(f"unknown rows {sorted(unknown)} (the {args.study} study has: {', '.join(rows)})")
    chosen = {name: changes for name, changes in rows.items() if not args.rows or name in args.rows}
    root = args.out / args.study
    if not args.score_only:
        for seed in args.seeds:  # one seed of every row before the next seed: a stopped study has comparable rows
            for name, changes in chosen.items():
                out_dir = row_dir(root, name, seed)
                if not finished(out_dir, args.epochs):
                    (out_dir / "ablation_report.json").unlink(missing_ok=True)
                    config = TrainConfig.from_dict({**base, **changes, "seed": seed, "out_dir": str(out_dir)})
                    train(config, resume=True, show_progress=False)
    results = {name: [scored(row_dir(root, name, seed)) for seed in args.seeds
                      if finished(row_dir(root, name, seed), args.epochs)] for name in chosen}
    results = {name: reports for name, reports in results.items() if reports}
    if not results:
        raise SystemExit(f"no run of {args.study} has finished {args.epochs} epochs under {root}")

    header = ["row", "seeds", "official IoU", "boundary F"] + [f"{v} IoU" for v in VARIANTS]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, reports in results.items():
        cells = [name, str(len(reports)), cell([r["official_iou"] for r in reports]),
                 cell([r["boundary_f"] for r in reports])]
        cells += [cell([r["robustness"][v]["official_iou"] for r in reports]) for v in VARIANTS]
        lines.append("| " + " | ".join(cells) + " |")
    table = "\n".join(lines)
    first = next(iter(results.values()))[0]
    start = f"the {base['encoder_weights']} encoder" if base.get("encoder_weights") else "scratch"
    print(f"{args.study}: {args.epochs} epochs each from {start} ({args.config}); "
          f"{first['split']} ({first['images']} images)")
    print(table)
    (root / "table.md").write_text(table + "\n")
    (root / "results.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
