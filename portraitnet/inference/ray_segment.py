"""Millions of photos on a Ray cluster: the same inference route as one photo, in a pool of Ray Data actors.

Each actor holds one ONNX Runtime session and takes batches of photos: read (through pyarrow's file systems, so
local folders, s3:// and gs:// alike), predict, render, encode, write beside the others. A manifest
(`manifest.jsonl` in the output folder: input, outputs, status, error) records every photo, so a re-run skips what
is done and retries what failed. An unreadable photo is a failed row, never a failed job; an actor that dies is
restarted by Ray and its batch retried. Needs the `ray` extra.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any, Sequence

import numpy as np

from ..files import write_bytes_atomic
from . import route
from .batch import OUTPUT_NAMES, segment_photos
from .device import check_device
from .imageio import DEFAULT_MAX_PIXELS, PHOTO_SUFFIXES
from .route import Look

MANIFEST = "manifest.jsonl"
INSTALL_LINE = "pip install 'portraitnet[ray]'"


@dataclass
class DatasetReport:
    """Photos found, skipped as done by an earlier run, done now, and the failed rows (input and error)."""

    photos: int = 0
    skipped: int = 0
    done: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)


def file_system(uri: str) -> tuple[Any, str]:
    """pyarrow's file system for a folder path or URI, and the path inside it."""
    from pyarrow import fs
    if "://" not in uri:
        return fs.LocalFileSystem(), os.path.abspath(uri)
    return fs.FileSystem.from_uri(uri)


def _same_or_inside(out: str, source: str) -> bool:
    """Whether `out` is `source` or a folder inside it: by real path for local folders, by URI for the rest."""
    if "://" in out or "://" in source:
        out_root, source_root = out.rstrip("/"), source.rstrip("/")
    else:
        out_root, source_root = os.path.realpath(out), os.path.realpath(source)
    return out_root == source_root or out_root.startswith(source_root.rstrip("/") + "/")


def list_photos(source: str, recursive: bool = True) -> list[tuple[str, str]]:
    """(path inside the source's file system, output stem relative to the output folder) for every photo."""
    from pyarrow import fs
    system, root = file_system(source)
    info = system.get_file_info(root)
    if info.type == fs.FileType.NotFound:
        raise ValueError(f"{source}: no such folder")
    if info.type == fs.FileType.File:
        return [(root, PurePosixPath(root).stem)]
    found = system.get_file_info(fs.FileSelector(root, recursive=recursive))
    photos = sorted(f.path for f in found if f.type == fs.FileType.File
                    and PurePosixPath(f.path).suffix.lower() in PHOTO_SUFFIXES)
    return [(path, str(PurePosixPath(path).relative_to(root).with_suffix(""))) for path in photos]


def read_manifest(out: str) -> dict[str, dict[str, Any]]:
    """The rows of an earlier run, by input; none when there was none."""
    system, root = file_system(out)
    try:
        with system.open_input_stream(f"{root}/{MANIFEST}") as stream:
            lines = stream.read().decode().splitlines()
    except (FileNotFoundError, OSError):
        return {}
    return {row["input"]: row for row in map(json.loads, filter(None, lines))}


def write_manifest(out: str, rows: Sequence[dict[str, Any]]) -> None:
    system, root = file_system(out)
    data = "".join(json.dumps(row) + "\n" for row in sorted(rows, key=lambda r: r["input"])).encode()
    write_bytes_atomic(f"{root}/{MANIFEST}", data, system)  # never half a manifest


@dataclass
class ArrowPhotos:
    """A batch's photos on a pyarrow file system, outputs under out_root on another, each written whole."""

    source_fs: Any
    inputs: Sequence[str]
    stems: Sequence[str]
    out_fs: Any
    out_root: str

    def name(self, index: int) -> str:
        return self.inputs[index]

    def read(self, index: int) -> bytes:
        with self.source_fs.open_input_file(self.inputs[index]) as stream:
            return stream.read()

    def target(self, index: int, fmt: str) -> str:
        relative = PurePosixPath(self.stems[index])
        return str(PurePosixPath(self.out_root, relative.parent, OUTPUT_NAMES[fmt].format(stem=relative.name)))

    def write(self, target: str, data: bytes) -> None:
        write_bytes_atomic(target, data, self.out_fs)


class SegmentWorker:
    """One Ray actor: a Segmenter loaded once, then batches of photos through the batch core (batch.py)."""

    def __init__(self, source: str, out: str, formats: Sequence[str], look: Look, weights: str | None,
                 threads: int | None, max_pixels: int | None, device: str = "cpu", fit_input: bool | None = None,
                 refine: bool = True) -> None:
        from .segmenter import Segmenter
        self.segmenter = Segmenter(weights, threads=threads, max_pixels=max_pixels, device=device,
                                   fit_input=fit_input, refine=refine)
        self.source_fs, _ = file_system(source)
        self.out_fs, self.out_root = file_system(out)
        self.formats = list(formats)
        self.look = look

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, list]:
        inputs, stems = list(batch["input"]), list(batch["relative"])
        store = ArrowPhotos(self.source_fs, inputs, stems, self.out_fs, self.out_root)
        results = segment_photos(self.segmenter, store, len(inputs), self.formats, self.look, batch_size=len(inputs))
        return {"input": inputs, "outputs": [result.outputs for result in results],
                "status": ["failed" if result.error else "ok" for result in results],
                "error": [result.error or "" for result in results]}


def actor_device(device: str, cluster_gpus: float) -> str:
    """Where the actors run the model: 'cuda' when asked, or with 'auto' when the cluster has GPUs."""
    check_device(device)
    if device == "cuda" and not cluster_gpus:
        raise ValueError("device 'cuda': the Ray cluster has no GPUs (start its nodes with --num-gpus, or use "
                         "--device cpu)")
    return "cuda" if device == "cuda" or (device == "auto" and cluster_gpus) else "cpu"


def segment_dataset(source: str, out: str, formats: Sequence[str] = ("mask",), look: Look = Look(),
                    weights: str | None = None, actors: int | None = None, batch_size: int = 16,
                    threads_per_actor: int = 1, gpus_per_actor: float = 0,
                    max_pixels: int | None = DEFAULT_MAX_PIXELS, worker: type = SegmentWorker,
                    device: str = "auto", fit_input: bool | None = None, refine: bool = True) -> DatasetReport:
    """Segment every photo under `source` (a folder or a URI) into `out` on the Ray cluster this process is
    connected to (ray.init() first; a local one is started otherwise). Photos marked done in `out`'s manifest are
    skipped; failed ones are tried again. device 'cuda' (or 'auto' on a cluster with GPUs) runs one ONNX Runtime
    session per GPU actor, `gpus_per_actor` of a GPU each (default 1), as many actors as the GPUs hold."""
    try:
        import ray
    except ImportError:
        raise ImportError(f"segmenting on Ray needs Ray Data: {INSTALL_LINE}") from None
    formats = route.check_formats(formats)
    if batch_size < 1 or threads_per_actor < 1:
        raise ValueError("batch size and threads per actor must be at least 1")
    if _same_or_inside(out, source):
        raise ValueError(f"{out}: is the source folder or inside it; outputs would be written over photos and read "
                         "as photos by the next run: choose an output outside the source")
    photos = list_photos(source)
    if not photos:
        raise ValueError(f"{source}: no photos ({', '.join(sorted(PHOTO_SUFFIXES))})")
    earlier = read_manifest(out)
    done = {path for path, row in earlier.items() if row["status"] == "ok"}
    todo = [(path, stem) for path, stem in photos if path not in done]
    report = DatasetReport(photos=len(photos), skipped=len(photos) - len(todo))
    rows = [row for path, row in earlier.items() if path in done]
    if todo:
        if not ray.is_initialized():
            ray.init()
        resources = ray.cluster_resources()
        on_gpu = actor_device(device, resources.get("GPU", 0)) == "cuda"
        if on_gpu:
            gpus_per_actor = gpus_per_actor or 1.0
            actors = actors or max(1, int(resources.get("GPU", 0) // gpus_per_actor))
        actors = actors or max(1, int(resources.get("CPU", 1) // threads_per_actor))
        dataset = ray.data.from_items([{"input": path, "relative": stem} for path, stem in todo],
                                      override_num_blocks=max(1, min(len(todo) // batch_size, 64 * actors)))
        # Ray Data replaces an actor that dies and runs its batch again (its default; the tests kill one)
        results = dataset.map_batches(
            worker, batch_size=batch_size, compute=ray.data.ActorPoolStrategy(size=actors),
            num_cpus=threads_per_actor, num_gpus=gpus_per_actor,
            fn_constructor_kwargs=dict(source=source, out=out, formats=formats, look=look, weights=weights,
                                       threads=threads_per_actor, max_pixels=max_pixels,
                                       device="cuda" if on_gpu else "cpu", fit_input=fit_input,
                                       refine=refine))
        for row in results.iter_rows():
            row = {"input": row["input"], "outputs": list(row["outputs"]), "status": row["status"],
                   "error": row["error"]}
            rows.append(row)
            if row["status"] == "ok":
                report.done += 1
            else:
                report.failures.append((row["input"], row["error"]))
    write_manifest(out, rows)
    return report
