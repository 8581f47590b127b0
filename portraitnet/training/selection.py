"""The score that picks a checkpoint, in a run and when a run's result is weighed against the shipped model.

Its terms: EG1800's validation IoU (true masks), optionally the mean over the robustness variants built from those
images, and the pools' held-out parts (scored against the teachers' masks). With pool_weighting "equal" each pool
is one term, as runs up to the sixth cycle of the shipped model's line chose (docs/history.md); with "size" the pools' held-out photos form one term, each pool
weighted by its size, so that six photos cannot outvote two hundred.
"""

from __future__ import annotations

POOL_WEIGHTINGS = ("equal", "size")


def selection_score(main: float, pools: dict[str, tuple[float, int]], weighting: str = "equal",
                    robustness: float | None = None) -> float:
    """The mean of the terms; pools maps a pool's name to (its held-out IoU, its held-out photo count)."""
    if weighting not in POOL_WEIGHTINGS:
        raise ValueError(f"pool weighting must be one of {', '.join(POOL_WEIGHTINGS)}, got {weighting!r}")
    terms = [main] + ([robustness] if robustness is not None else [])
    if weighting == "equal":
        terms += [iou for iou, _ in pools.values()]
    elif pools:
        photos = sum(count for _, count in pools.values())
        terms.append(sum(iou * count for iou, count in pools.values()) / photos)
    return sum(terms) / len(terms)
