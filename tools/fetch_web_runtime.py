"""Fetch ONNX Runtime Web from npm into the web page's folder, so the page runs the model in the browser.

    python tools/fetch_web_runtime.py

The version and its npm integrity hash are pinned here; the tarball is checked against the hash before anything is
unpacked. Three files are kept (the JSEP build: WebAssembly with SIMD and threads, and WebGPU where the browser has
it) in portraitnet/serving/static/ort/, which git ignores (the .wasm is 28 MB) and a wheel built afterwards contains.
Without them the page segments on the server instead. Needs npm (Debian: apt-get install npm).
"""

from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

PACKAGE = "onnxruntime-web"
VERSION = "1.30.0"
INTEGRITY = "sha512-q0y+JrrtukXSzsBWEMccVfqX25LRmosXHF+CaRJmg8pZClzcV7svNc4rKY3jL02Vb7QmRMDs1SigqR4CXAfKYQ=="
FILES = ("ort.min.mjs", "ort-wasm-simd-threaded.jsep.mjs", "ort-wasm-simd-threaded.jsep.wasm")
TARGET = Path(__file__).resolve().parents[1] / "portraitnet" / "serving" / "static" / "ort"


def main() -> int:
    if all((TARGET / name).is_file() for name in FILES) and (TARGET / "VERSION").is_file() \
            and (TARGET / "VERSION").read_text().strip() == VERSION:
        print(f"{PACKAGE} {VERSION} already in {TARGET}")
        return 0
    npm = shutil.which("npm")
    if npm is None:
        print("npm not found (Debian: apt-get install npm); the page will segment on the server", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as work:
        subprocess.run([npm, "pack", f"{PACKAGE}@{VERSION}", "--silent"], cwd=work, check=True,
                       stdout=subprocess.DEVNULL)
        tarball = next(Path(work).glob("*.tgz"))
        digest = "sha512-" + base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()
        if digest != INTEGRITY:
            print(f"{tarball.name}: integrity {digest} is not the pinned {INTEGRITY}", file=sys.stderr)
            return 1
        staging = TARGET.with_name("ort.partial")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        with tarfile.open(tarball) as archive:
            for name in FILES:
                source = archive.extractfile(f"package/dist/{name}")
                (staging / name).write_bytes(source.read())
        (staging / "VERSION").write_text(VERSION + "\n")
        shutil.rmtree(TARGET, ignore_errors=True)
        staging.rename(TARGET)
    print(f"{PACKAGE} {VERSION}: {', '.join(FILES)} -> {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
