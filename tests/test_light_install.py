"""Segmenting needs numpy, OpenCV, Pillow and ONNX Runtime only: torch (the train extra) is never imported, and
the package works where torch cannot be imported at all."""

import subprocess
import sys

from conftest import REPO

SAMPLE = REPO / "examples" / "astronaut.jpg"
NO_TORCH = "import sys; sys.modules['torch'] = None; sys.modules['matplotlib'] = None\n"  # `import torch` fails


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=300)


def test_importing_and_segmenting_never_imports_torch():
    result = run_python(f"import portraitnet, sys\n"
                        f"portraitnet.Segmenter().blur_background({str(SAMPLE)!r})\n"
                        f"assert 'torch' not in sys.modules, 'torch was imported'\n"
                        f"assert 'matplotlib' not in sys.modules, 'matplotlib was imported'\n")
    assert result.returncode == 0, result.stderr


def test_the_cli_segments_and_serves_without_torch(tmp_path):
    result = run_python(NO_TORCH + "from portraitnet.cli.main import main\n"
                        f"code = main(['segment', {str(SAMPLE)!r}, '-o', {str(tmp_path)!r}, '-f', 'mask,blur', "
                        "'--no-progress'])\n"
                        "from portraitnet.serving.server import create_app\n"
                        "create_app()\n"
                        "sys.exit(code)")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "astronaut.png").is_file() and (tmp_path / "astronaut_blur.jpg").is_file()


def test_training_without_torch_says_which_extra_to_install(tmp_path):
    result = run_python(NO_TORCH + "from portraitnet.cli.main import main\n"
                        f"sys.exit(main(['train', '--out-dir', {str(tmp_path)!r}]))")
    assert result.returncode == 2
    assert "pip install 'portraitnet[train]'" in result.stderr and "Traceback" not in result.stderr


def test_a_pt_model_without_torch_is_a_one_line_error(tmp_path):
    result = run_python(NO_TORCH + "from portraitnet.cli.main import main\n"
                        "from portraitnet.inference.segmenter import shipped_weights\n"
                        f"sys.exit(main(['segment', {str(SAMPLE)!r}, '-o', {str(tmp_path)!r}, "
                        "'--weights', str(shipped_weights())]))")
    assert result.returncode == 2 and "needs torch" in result.stderr and "Traceback" not in result.stderr
