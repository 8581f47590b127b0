"""Photos per second through the plain folder run (what `portraitnet segment` calls) and through Ray Data
(`portraitnet segment-dataset`), one after the other in one process, on the same folder, masks out.

    python benchmarks/ray_throughput.py [--folder ../shared/data/eg1800/images] [--cores 2]

Both figures include loading the model; the Ray one also includes starting its actors (not the cluster). Per core:
the images/s divided by the cores each run used, the figure that scales with machines on a Ray cluster.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from portraitnet.inference.batch import collect_inputs, segment_files  # noqa: E402
from portraitnet.inference.ray_segment import segment_dataset  # noqa: E402
from portraitnet.inference.segmenter import Segmenter  # noqa: E402

EG1800 = Path(__file__).resolve().parents[2] / "shared" / "data" / "eg1800" / "images"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folder", type=Path, default=EG1800)
    parser.add_argument("--cores", type=int, default=2, help="cores for each run (ONNX Runtime threads; Ray actors)")
    args = parser.parse_args()
    import ray
    ray.init(num_cpus=args.cores, include_dashboard=False, log_to_driver=False)
    ray.data.DataContext.get_current().enable_progress_bars = False

    figures = {}
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        files, _ = collect_inputs([args.folder], recursive=False)
        report = segment_files(Segmenter(threads=args.cores), files, Path(out) / "plain", ["mask"])
        figures["segment (one process)"] = (report.photos, time.perf_counter() - started)
        started = time.perf_counter()
        result = segment_dataset(str(args.folder), str(Path(out) / "ray"), ["mask"], actors=args.cores)
        figures[f"segment-dataset (Ray, {args.cores} actors x 1 thread)"] = (result.photos,
                                                                             time.perf_counter() - started)
    for name, (photos, seconds) in figures.items():
        rate = photos / seconds
        print(f"{name:<44} {photos} photos in {seconds:6.1f} s: {rate:6.1f} images/s, "
              f"{rate / args.cores:5.1f} per core")
    (plain_n, plain_s), (ray_n, ray_s) = figures.values()
    print(f"Ray / plain: {(ray_n / ray_s) / (plain_n / plain_s):.2f}")


if __name__ == "__main__":
    main()
