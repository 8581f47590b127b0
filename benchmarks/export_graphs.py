"""What the inference rewrite of the exported graph buys: the model exported as trained (transposed convs, the mask
head at full resolution, then sigmoid(l1 - l0)) against `portraitnet.export.onnx_graph.PersonProbability` (sub-pixel convs,
the last up-sampling and the head folded to half resolution), each in fp32 and int8, timed on ONNX Runtime in
interleaved rounds of one run so that they compare as ratios on a noisy machine.

    python benchmarks/export_graphs.py [--weights W] [--calibration ../shared/data/eg1800/images] [--threads 2]

Also prints the largest probability difference between the two fp32 graphs on the calibration photos (the rewrite
is exact up to float rounding). With --other-padding, the rewritten graph is also timed with the encoder's stride-2
convs padded the other way (symmetric vs Keras's bottom-right, see portraitnet/model/network.py), the same weights: what
the ImageNet encoder's padding costs at inference.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn


class AsTrained(nn.Module):
    """The person probability straight from the trained module, with no rewrite."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        logits = self.model(image)
        return torch.sigmoid(logits[:, 1] - logits[:, 0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", type=Path, help="a checkpoint (default: the shipped model)")
    parser.add_argument("--calibration", type=Path, default=Path("../shared/data/eg1800/images"),
                        help="portrait photos for int8 calibration (the first 64) and the difference check")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--runs-per-round", type=int, default=40)
    parser.add_argument("--other-padding", action="store_true",
                        help="also time the rewritten graph with the encoder padded the other way")
    args = parser.parse_args()

    import onnxruntime as ort

    from portraitnet.inference.imageio import PHOTO_SUFFIXES, load_rgb
    from portraitnet.inference.preprocess import letterbox_image, normalize
    from portraitnet.inference.segmenter import OnnxBackend, shipped_weights
    from portraitnet.training.checkpoint import load_model
    from portraitnet.export.onnx_graph import export_module, export_onnx
    from portraitnet.model.network import PortraitNet
    from portraitnet.export.quantize import quantize_int8

    model, payload = load_model(args.weights or shipped_weights())
    model = model.float().eval()
    size = int(payload["config"]["input_size"])
    photos = sorted(p for p in args.calibration.iterdir() if p.suffix.lower() in PHOTO_SUFFIXES)[:64]
    if not photos:
        raise SystemExit(f"{args.calibration}: no photos to calibrate on")

    with tempfile.TemporaryDirectory() as tmp:
        paths = {"as trained, fp32": Path(tmp) / "plain.onnx", "rewritten, fp32": Path(tmp) / "rewritten.onnx"}
        export_module(AsTrained(model), paths["as trained, fp32"], size)
        export_onnx(model, paths["rewritten, fp32"], size)
        paths["as trained, int8"] = quantize_int8(paths["as trained, fp32"], Path(tmp) / "plain8.onnx", photos, size)
        paths["rewritten, int8"] = quantize_int8(paths["rewritten, fp32"], Path(tmp) / "rewritten8.onnx", photos, size)
        if args.other_padding:
            other = "symmetric" if model.encoder_padding == "keras" else "keras"
            repadded = PortraitNet(other).eval()
            repadded.load_state_dict(model.state_dict())
            name = f"{other} pad"
            paths[f"{name}, fp32"] = export_onnx(repadded, Path(tmp) / "other.onnx", size)
            paths[f"{name}, int8"] = quantize_int8(paths[f"{name}, fp32"], Path(tmp) / "other8.onnx", photos, size)

        sessions = {name: OnnxBackend(path, args.threads) for name, path in paths.items()}

        inputs = [normalize(letterbox_image(load_rgb(p), size)[0][None]) for p in photos[:16]]
        difference = max(float(np.abs(sessions["as trained, fp32"](x) - sessions["rewritten, fp32"](x)).max())
                         for x in inputs)
        print(f"largest fp32 probability difference, as trained vs rewritten, on {len(inputs)} photos: "
              f"{difference:.2e}")

        batch = inputs[0]
        times: dict[str, list[float]] = {name: [] for name in sessions}
        for session in sessions.values():
            for _ in range(20):
                session(batch)
        for _ in range(args.rounds):  # interleaved, so that a slow spell of the machine hits every graph alike
            for name, session in sessions.items():
                for _ in range(args.runs_per_round):
                    started = time.perf_counter()
                    session(batch)
                    times[name].append((time.perf_counter() - started) * 1000)

    base = float(np.median(times["as trained, fp32"]))
    print(f"ONNX Runtime {ort.__version__}, batch 1 at {size}, {args.threads} threads, "
          f"{args.rounds} x {args.runs_per_round} runs per graph")
    print(f"{'graph':>18} {'median ms':>10} {'p90 ms':>8} {'vs as trained fp32':>19}")
    for name, samples in times.items():
        median = float(np.median(samples))
        print(f"{name:>18} {median:10.2f} {np.percentile(samples, 90):8.2f} {median / base:18.2f}x")


if __name__ == "__main__":
    main()
