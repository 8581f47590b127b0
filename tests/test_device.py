"""Choosing where ONNX Runtime runs the model: the CPU, or a GPU through CUDA when it can start there."""

from __future__ import annotations

import numpy as np
import onnxruntime
import pytest

from conftest import REPO
from portraitnet.cli.main import main
from portraitnet.inference import route
from portraitnet.inference.device import CPU_PROVIDER, CUDA_PROVIDER, device_taken, providers_for
from portraitnet.inference.ray_segment import actor_device
from portraitnet.inference.segmenter import Segmenter

SAMPLE = REPO / "examples" / "astronaut.jpg"


def test_the_providers_each_device_asks_for():
    assert providers_for("cpu", [CUDA_PROVIDER, CPU_PROVIDER]) == [CPU_PROVIDER]
    assert providers_for("auto", [CPU_PROVIDER]) == [CPU_PROVIDER]
    assert providers_for("auto", [CUDA_PROVIDER, CPU_PROVIDER]) == [CUDA_PROVIDER, CPU_PROVIDER]
    assert providers_for("cuda", ["TensorrtExecutionProvider", CUDA_PROVIDER, CPU_PROVIDER]) == [CUDA_PROVIDER,
                                                                                                   CPU_PROVIDER]
    with pytest.raises(ValueError, match=r"no CUDA provider.*pip install 'portraitnet\[gpu\]'"):
        providers_for("cuda", [CPU_PROVIDER])
    with pytest.raises(ValueError, match="device must be one of"):
        providers_for("gpu", [CPU_PROVIDER])


def test_a_session_that_fell_back_to_the_cpu_is_the_cpu_or_an_error():
    assert device_taken("auto", [CUDA_PROVIDER, CPU_PROVIDER]) == "cuda"
    assert device_taken("auto", [CPU_PROVIDER]) == "cpu"
    with pytest.raises(ValueError, match="could not start its CUDA provider"):
        device_taken("cuda", [CPU_PROVIDER])


def test_auto_runs_on_the_cpu_here_and_cuda_is_refused_with_the_fix():
    assert Segmenter(device="auto").device == "cpu"
    with pytest.raises(ValueError, match=r"portraitnet\[gpu\]"):
        Segmenter(device="cuda")
    with pytest.raises(ValueError, match="ONNX Runtime, not backend 'openvino'"):
        Segmenter(backend="openvino", device="cuda")


def test_onnx_runtime_s_silent_fallback_is_caught(monkeypatch):
    """An ONNX Runtime that lists the CUDA provider but cannot start it (no GPU visible) gives a CPU session."""
    monkeypatch.setattr(onnxruntime, "get_available_providers", lambda: [CUDA_PROVIDER, CPU_PROVIDER])
    real = onnxruntime.InferenceSession
    asked = []

    def session(path, options=None, providers=None):
        asked.append(providers)
        return real(path, options, providers=[CPU_PROVIDER])  # what the GPU wheel does without a GPU
    monkeypatch.setattr(onnxruntime, "InferenceSession", session)
    segmenter = Segmenter(device="auto")
    assert asked == [[CUDA_PROVIDER, CPU_PROVIDER]] and segmenter.device == "cpu"
    assert segmenter.predict(str(SAMPLE)).shape == (512, 512)
    with pytest.raises(ValueError, match="could not start its CUDA provider"):
        Segmenter(device="cuda")


def test_the_commands_say_in_one_line_what_to_install(tmp_path, capsys):
    assert main(["segment", str(SAMPLE), "-o", str(tmp_path), "--device", "cuda"]) == 2
    error = capsys.readouterr().err.strip()
    assert "\n" not in error and "portraitnet[gpu]" in error
    assert main(["segment", str(SAMPLE), "-o", str(tmp_path), "--device", "cpu", "--no-progress"]) == 0


def test_ray_actors_take_the_gpu_when_asked_or_when_the_cluster_has_one():
    assert actor_device("auto", 0) == "cpu" and actor_device("auto", 2) == "cuda"
    assert actor_device("cpu", 2) == "cpu" and actor_device("cuda", 1) == "cuda"
    with pytest.raises(ValueError, match="no GPUs"):
        actor_device("cuda", 0)


def test_the_gpu_extra_brings_onnx_runtime_s_gpu_wheel():
    import tomllib
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert any(requirement.startswith("onnxruntime-gpu") for requirement in extras["gpu"])


def test_fitted_batches_run_one_forward_pass_per_shape():
    """A portrait and a landscape photo in one fitted batch each run at their own shape, as they would alone."""
    calls = []

    def model(batch):
        calls.append(batch.shape)
        return np.full((batch.shape[0], *batch.shape[2:]), 0.5, np.float32)

    rgbs = [np.zeros((300, 200, 3), np.uint8), np.zeros((180, 320, 3), np.uint8), np.zeros((150, 100, 3), np.uint8)]
    probabilities = route.predict(model, rgbs, 224, fit=True)
    assert sorted(calls) == [(1, 3, 128, 224), (2, 3, 224, 160)]
    assert [p.shape for p in probabilities] == [(300, 200), (180, 320), (150, 100)]
    calls.clear()
    route.predict(model, rgbs, 224)  # the square: one pass for all
    assert calls == [(3, 3, 224, 224)]
