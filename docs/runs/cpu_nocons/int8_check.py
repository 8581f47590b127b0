"""Session 22: how far each model's int8 exports (.onnx and .ort) sit from its fp32 graph and from each other, on the
sample and EG1800's first 8 test photos (the photos of tests/test_export_formats.py).

    python docs/runs/cpu_nocons/int8_check.py CANDIDATE.pt     (from the repository root; ../shared must be there)
"""

import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

from portraitnet.cli.main import main
from portraitnet.evaluation.metrics import foreground_iou
from portraitnet.inference.segmenter import Segmenter
from portraitnet.training.data import list_samples

EG1800 = Path("../shared/data/eg1800")


def check(label: str, weights: str, calibration: Path, photos: list, folder: Path) -> None:
    for fmt in ("onnx", "ort"):
        main(["export", "--weights", weights, "--format", fmt, "-o", str(folder / f"m.{fmt}"), "--int8",
              "--calibration", str(calibration)])
    fp32, int8, int8_ort = (Segmenter(folder / name) for name in ("m.onnx", "m.int8.onnx", "m.int8.ort"))
    rows = []
    for photo in photos:
        a, b, c = fp32.predict(photo), int8.predict(photo), int8_ort.predict(photo)
        a, b, c = a > 0.5, b > 0.5, c > 0.5
        rows.append((foreground_iou(a, b), foreground_iou(a, c), foreground_iou(b, c)))
    table = np.array(rows)
    worst = int(table[:, 2].argmin())
    print(f"{label}: IoU int8.onnx vs fp32, int8.ort vs fp32, int8.ort vs int8.onnx; lowest {table.min(0).round(4)}, "
          f"median {np.median(table, 0).round(4)}; lowest .ort/.onnx pair {photos[worst].name} {table[worst].round(4)}")


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        calibration = Path(tmp) / "calibration"
        calibration.mkdir()
        for sample in list_samples(EG1800, "eg1800_train_present.txt")[:64]:
            shutil.copy(sample.image_path, calibration)
        photos = [Path("examples/astronaut.jpg")]
        photos += [sample.image_path for sample in list_samples(EG1800, "eg1800_test_present.txt")[:8]]
        for index, (label, weights) in enumerate((("shipped", "portraitnet/weights/portraitnet.pt"),
                                                  ("candidate", sys.argv[1]))):
            folder = Path(tmp) / str(index)
            folder.mkdir()
            check(label, weights, calibration, photos, folder)
