"""Many photos through the inference route: files in, one output file per requested format, nothing lost.

Decoding and encoding run in threads (OpenCV and Pillow release the GIL) around batched inference; a photo that
cannot be read or written becomes a failure line naming it, and the run goes on.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Protocol, Sequence

from ..files import write_bytes_atomic
from . import route
from .imageio import PHOTO_SUFFIXES, ImageError, ImageInput
from .route import Look
from .segmenter import Segmenter

log = logging.getLogger(__name__)
OUTPUT_NAMES = {"mask": "{stem}.png", "cutout": "{stem}_cutout.png", "blur": "{stem}_blur.jpg",
                "replace": "{stem}_replace.jpg"}


@dataclass
class BatchReport:
    """Photos that went through, files written, and one line per photo that did not."""

    photos: int = 0
    done: int = 0
    written: int = 0
    failures: list[str] = field(default_factory=list)


def output_path(out_dir: Path, relative: Path, fmt: str) -> Path:
    """Where a photo's output of one format is written: OUT/<its sub-folders>/<OUTPUT_NAMES[fmt]>."""
    return out_dir / relative.parent / OUTPUT_NAMES[fmt].format(stem=relative.name)


def collect_inputs(inputs: Sequence[str | Path], recursive: bool,
                   out_dir: Path | None = None) -> tuple[list[tuple[Path, Path]], list[str]]:
    """(file, its output path relative to the output folder, without suffix) pairs; inputs that do not exist, and
    inputs whose outputs would overwrite an earlier input's (a.jpg and a.png, two folders' a.jpg), as failures.

    With out_dir, files this command writes are left out, so that a second run does not segment the first one's
    outputs: the output folder where it lies inside an input folder, and any file where another input's output goes
    (a_cutout.png beside a.jpg, when OUT is that folder)."""
    found: list[tuple[Path, Path]] = []
    failures: list[str] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            inside = [f for f in sorted(path.glob("**/*" if recursive else "*"))
                      if f.is_file() and f.suffix.lower() in PHOTO_SUFFIXES]
            if out_dir is not None and _strictly_inside(out_dir, path):
                inside = [f for f in inside if not _strictly_inside(f, out_dir)]
            if not inside:
                failures.append(f"{item}: no photos in this folder ({', '.join(sorted(PHOTO_SUFFIXES))}"
                                f"{'' if recursive else '; -r descends into sub-folders'})")
            found += [(f, f.relative_to(path).with_suffix("")) for f in inside]
        elif path.is_file():
            found.append((path, Path(path.stem)))
        else:
            failures.append(f"{item}: no such file or folder")
    if out_dir is not None:
        written_for: dict[Path, set[Path]] = {}  # output path -> the inputs whose output it is
        for file, relative in found:
            for fmt in OUTPUT_NAMES:
                written_for.setdefault(output_path(out_dir, relative, fmt).resolve(), set()).add(file.resolve())
        outputs = {file for file, _ in found if written_for.get(file.resolve(), set()) - {file.resolve()}}
        if outputs:
            log.info("left out %d files that are outputs of other inputs (written by an earlier run), such as %s",
                     len(outputs), min(outputs))
        found = [(file, relative) for file, relative in found if file not in outputs]
    files: list[tuple[Path, Path]] = []
    seen: dict[Path, Path] = {}
    for file, relative in found:
        if relative in seen:
            failures.append(f"{file}: skipped, its output would overwrite that of {seen[relative]}")
        else:
            seen[relative] = file
            files.append((file, relative))
    return files, failures


def _strictly_inside(path: Path, folder: Path) -> bool:
    path, folder = path.resolve(), folder.resolve()
    return path != folder and folder in path.parents


class PhotoStore(Protocol):
    """Where a batch's photos come from and their outputs go: local files (LocalPhotos) or a pyarrow file system
    (ray_segment.ArrowPhotos). Reads and writes raise OSError."""

    def name(self, index: int) -> str: ...

    def read(self, index: int) -> ImageInput: ...

    def target(self, index: int, fmt: str) -> str: ...

    def write(self, target: str, data: bytes) -> None: ...


@dataclass
class PhotoResult:
    """What became of one photo: the outputs written, and why the rest could not be (None when all were)."""

    outputs: list[str] = field(default_factory=list)
    error: str | None = None


def segment_photos(segmenter: Segmenter, store: PhotoStore, count: int, formats: Sequence[str], look: Look = Look(),
                   batch_size: int = 16, progress: Callable[[int], None] | None = None) -> list[PhotoResult]:
    """The one batch core of `segment` and `segment-dataset`: photos 0..count-1 of the store decoded in threads
    (the next batch while this one runs), `batch_size` per forward pass, each one's formats encoded and written in
    threads. A photo that cannot be read, decoded, encoded or written gets its error, and the rest go on."""
    if batch_size < 1:
        raise ValueError(f"batch size must be at least 1, got {batch_size}")
    formats = route.check_formats(formats)
    results = [PhotoResult() for _ in range(count)]

    def decode(index: int):
        """(the photo as read, the model's view of it, its full size), or the reason it cannot be had."""
        try:
            source = store.read(index)
            return (source, *route.model_view(source, segmenter.input_size, segmenter.max_pixels, store.name(index)))
        except ImageError as error:
            return str(error)
        except OSError as error:
            return f"{store.name(index)}: cannot read ({error.strerror or error})"

    def save(index: int, source: ImageInput, probability) -> None:
        try:
            encoded = route.outputs(source, probability, formats, look, segmenter.max_pixels, store.name(index))
        except ImageError as error:
            results[index].error = str(error)
            return
        for fmt in formats:
            target = store.target(index, fmt)
            try:
                store.write(target, encoded[fmt])
            except OSError as error:
                results[index].error = f"{target}: could not write ({error.strerror or error})"
                return
            results[index].outputs.append(target)

    batches = [range(start, min(start + batch_size, count)) for start in range(0, count, batch_size)]
    with ThreadPoolExecutor(2) as pool:
        pending: list[Future] = []
        upcoming = [pool.submit(decode, index) for index in batches[0]] if batches else []
        for number, batch in enumerate(batches):
            views = [future.result() for future in upcoming]
            # decode the next batch while this one is predicted and the last one is written
            upcoming = [pool.submit(decode, i) for i in batches[number + 1]] if number + 1 < len(batches) else []
            good = [(index, view) for index, view in zip(batch, views) if not isinstance(view, str)]
            for index, view in zip(batch, views):
                if isinstance(view, str):
                    results[index].error = view
            probabilities = segmenter.predict_arrays([rgb for _, (_, rgb, _) in good],
                                                     [size for _, (_, _, size) in good])
            for future in pending:
                future.result()
            pending = [pool.submit(save, index, source, probability)
                       for (index, (source, _, _)), probability in zip(good, probabilities)]
            if progress is not None:
                progress(len(batch))
        for future in pending:
            future.result()
    return results


@dataclass
class LocalPhotos:
    """Local files in, outputs under out_dir (OUTPUT_NAMES), each written whole."""

    files: Sequence[tuple[Path, Path]]
    out_dir: Path

    def name(self, index: int) -> str:
        return str(self.files[index][0])

    def read(self, index: int) -> ImageInput:
        return self.files[index][0]  # the route decodes a path itself, at a reduced scale where it can

    def target(self, index: int, fmt: str) -> str:
        return str(output_path(self.out_dir, self.files[index][1], fmt))

    def write(self, target: str, data: bytes) -> None:
        write_bytes_atomic(Path(target), data)


def segment_files(segmenter: Segmenter, files: Sequence[tuple[Path, Path]], out_dir: Path, formats: Sequence[str],
                  look: Look = Look(), batch_size: int = 16,
                  progress: Callable[[int], None] | None = None) -> BatchReport:
    """Write each photo's formats under out_dir (OUTPUT_NAMES), `batch_size` photos per forward pass; a photo whose
    output would be written over an input is skipped and listed."""
    formats = route.check_formats(formats)
    report = BatchReport(photos=len(files))
    inputs = {file.resolve() for file, _ in files}
    kept = []
    for file, relative in files:
        clash = next((fmt for fmt in formats if output_path(out_dir, relative, fmt).resolve() in inputs), None)
        if clash:
            report.failures.append(f"{file}: skipped, its {clash} ({output_path(out_dir, relative, clash)}) would be "
                                   "written over an input; choose another output folder")
        else:
            kept.append((file, relative))
    results = segment_photos(segmenter, LocalPhotos(kept, out_dir), len(kept), formats, look, batch_size, progress)
    for result in results:
        report.written += len(result.outputs)
        if result.error:
            report.failures.append(result.error)
        else:
            report.done += 1
    if progress is not None and len(kept) < len(files):
        progress(len(files) - len(kept))
    return report
