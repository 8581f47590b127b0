"""Fetch the page's in-browser runtimes from npm into the web page's folder, so the page runs the model in the browser.

    python tools/fetch_web_runtime.py

- ONNX Runtime Web (static/ort/): the JSEP build, WebAssembly with SIMD and threads, and WebGPU where the browser
  has it. It runs photos (their masks match Python's) and, where no live model is shipped, webcam frames.
- LiteRT.js (static/litert/): XNNPACK in WebAssembly, about twice as fast on our network's live shapes
  (docs/runs/browser/live.txt). It runs webcam frames on the .tflite files shipped for them (portraitnet/weights/).

Each package's version and npm integrity hash are pinned here; a tarball is checked against its hash before anything
is unpacked, and a runtime's folder is moved in whole, its VERSION last. Git ignores both folders (the .wasm files are
28 and 18 MB); a wheel built afterwards contains them. Without them the page segments on the server instead (no ONNX
Runtime Web) or runs webcam frames on ONNX Runtime Web (no LiteRT.js). Needs npm (Debian: apt-get install npm).
"""

from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

STATIC = Path(__file__).resolve().parents[1] / "portraitnet" / "serving" / "static"


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    integrity: str
    files: dict[str, str]  # path in the tarball -> name in the runtime's folder
    imports: dict[str, str] = field(default_factory=dict)  # a bare module name its files import -> the file in the
    # runtime's folder that has it


@dataclass(frozen=True)
class Runtime:
    folder: str
    version: str
    packages: tuple[Package, ...]


RUNTIMES = (
    Runtime("ort", "1.30.0", (Package(
        "onnxruntime-web", "1.30.0",
        "sha512-q0y+JrrtukXSzsBWEMccVfqX25LRmosXHF+CaRJmg8pZClzcV7svNc4rKY3jL02Vb7QmRMDs1SigqR4CXAfKYQ==",
        {f"package/dist/{name}": name for name in
         ("ort.min.mjs", "ort-wasm-simd-threaded.jsep.mjs", "ort-wasm-simd-threaded.jsep.wasm")}),)),
    # the threaded build (pages served cross-origin isolated, as `portraitnet serve` serves them) and the
    # single-threaded one; both need relaxed SIMD, and browsers without it run live frames on ONNX Runtime Web
    Runtime("litert", "2.5.3-1", (  # "-1": its bare import rewritten
        Package("@litertjs/core", "2.5.3",
                "sha512-PlGmbMOq9WitX7FO0jhbdJw9GthatsyuCQXjTt/wJZo0FLaw48q4tz8IwqgqCIkviYGr9OFDL1kCnN4nzWoyJQ==",
                {"package/dist/index.js": "core.js",
                 **{f"package/wasm/{name}": name for name in
                    ("litert_wasm_threaded_internal.js", "litert_wasm_threaded_internal.wasm",
                     "litert_wasm_internal.js", "litert_wasm_internal.wasm")}},
                # a browser resolves no bare names without an import map, and workers take none
                {"@litertjs/wasm-utils": "./wasm-utils.js"}),
        Package("@litertjs/wasm-utils", "2.5.3",
                "sha512-4fJiw6tBQnIs+0jH/OQ16nYOiSl8/+zZnn5h2ul8aTKHi05sVqZW580Tmk78pC2kT39A9OYBVdFawteZ/sI1kQ==",
                {"package/dist/index.js": "wasm-utils.js"}),
    )),
)


def installed(runtime: Runtime) -> bool:
    version = STATIC / runtime.folder / "VERSION"
    return version.is_file() and version.read_text().strip() == runtime.version


def fetch(runtime: Runtime, npm: str) -> None:
    """Pack each package from npm, check it against its pinned hash, and move the runtime's folder in whole."""
    staging = STATIC / f"{runtime.folder}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    with tempfile.TemporaryDirectory() as work:
        for package in runtime.packages:
            spec = f"{package.name}@{package.version}"
            packed = subprocess.run([npm, "pack", spec, "--silent"], cwd=work, check=True, capture_output=True,
                                    text=True).stdout.strip().splitlines()[-1]
            tarball = Path(work) / packed
            digest = "sha512-" + base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()
            if digest != package.integrity:
                raise ValueError(f"{spec}: integrity {digest} is not the pinned {package.integrity}")
            rewritten = set()
            with tarfile.open(tarball) as archive:
                for member, name in package.files.items():
                    data = archive.extractfile(member).read()
                    for bare, path in package.imports.items():
                        if name.endswith(".js") and f'from "{bare}"'.encode() in data:
                            data = data.replace(f'from "{bare}"'.encode(), f'from "{path}"'.encode())
                            rewritten.add(bare)
                    (staging / name).write_bytes(data)
            if rewritten != set(package.imports):
                raise ValueError(f"{spec}: no import of {', '.join(set(package.imports) - rewritten)} to point at "
                                 "its file")
    (staging / "VERSION").write_text(runtime.version + "\n")
    target = STATIC / runtime.folder
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)


def main() -> int:
    missing = [runtime for runtime in RUNTIMES if not installed(runtime)]
    for runtime in RUNTIMES:
        if runtime not in missing:
            print(f"{runtime.folder} {runtime.version} already in {STATIC / runtime.folder}")
    if not missing:
        return 0
    npm = shutil.which("npm")
    if npm is None:
        print("npm not found (Debian: apt-get install npm); the page will segment on the server", file=sys.stderr)
        return 1
    for runtime in missing:
        try:
            fetch(runtime, npm)
        except (ValueError, subprocess.CalledProcessError, OSError) as problem:
            print(f"{runtime.folder}: {problem}", file=sys.stderr)
            return 1
        print(f"{', '.join(p.name + '@' + p.version for p in runtime.packages)} -> {STATIC / runtime.folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
