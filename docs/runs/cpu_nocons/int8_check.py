"""Session 22: int8 .onnx and .ort exports of the shipped model and a candidate (fp16 model file at /tmp/new_ship.pt)
against fp32, on the sample and EG1800's first 8 test photos. Run from the repository root."""
import sys, shutil, numpy as np
from pathlib import Path
sys.path.insert(0, "tests")
from portraitnet.cli.main import main
from portraitnet.inference.segmenter import Segmenter
from portraitnet.training.data import list_samples
EG = Path("../shared/data/eg1800")
calib = Path("/tmp/calib")
if not any(calib.iterdir()):
    for s in list_samples(EG, "eg1800_train_present.txt")[:64]: shutil.copy(s.image_path, calib)
photos = [Path("examples/astronaut.jpg")] + [s.image_path for s in list_samples(EG, "eg1800_test_present.txt")[:8]]
def iou(a, b): return ((a > .5) & (b > .5)).sum() / max(1, ((a > .5) | (b > .5)).sum())
for label, weights in (("shipped (session 18)", "portraitnet/weights/portraitnet.pt"), ("candidate (cpu_nocons, fp16 as shipped)", "/tmp/new_ship.pt")):
    out = Path(f"/tmp/exp_{label.split()[0]}"); out.mkdir(exist_ok=True)
    for fmt in ("onnx", "ort"):
        main(["export", "--weights", weights, "--format", fmt, "-o", str(out / f"m.{fmt}"), "--int8", "--calibration", str(calib)])
    fp, q, qo = (Segmenter(out / "m.onnx"), Segmenter(out / "m.int8.onnx"), Segmenter(out / "m.int8.ort"))
    rows = []
    for p in photos:
        a, b, c = fp.predict(p), q.predict(p), qo.predict(p)
        rows.append((iou(a, b), iou(a, c), iou(b, c)))
    r = np.array(rows)
    print(f"{label}: per photo IoU (int8.onnx vs fp32, int8.ort vs fp32, int8.ort vs int8.onnx); lowest {r.min(0).round(4)}, median {np.median(r,0).round(4)}")
    print("   lowest photo:", photos[int(r[:, 2].argmin())].name, r[r[:, 2].argmin()].round(4))
