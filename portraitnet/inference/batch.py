"""Many photos through the inference route: files in, one output file per requested format, nothing lost.

Decoding and encoding run in threads (OpenCV and Pillow release the GIL) around batched inference; a photo that
cannot be read or written becomes a failure line naming it, and the run goes on.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from ..files import write_bytes_atomic
from . import route
from .imageio import PHOTO_SUFFIXES, ImageError
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
        outputs = [file for file, _ in found if written_for.get(file.resolve(), set()) - {file.resolve()}]
        if outputs:
            log.info("left out %d files that are outputs of other inputs (written by an earlier run), such as %s",
                     len(outputs), outputs[0])
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


def segment_files(segmenter: Segmenter, files: Sequence[tuple[Path, Path]], out_dir: Path, formats: Sequence[str],
                  look: Look = Look(), batch_size: int = 16,
                  progress: Callable[[int], None] | None = None) -> BatchReport:
    """Write each photo's formats under out_dir (OUTPUT_NAMES), `batch_size` photos per forward pass."""
    if batch_size < 1:
        raise ValueError(f"batch size must be at least 1, got {batch_size}")
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
    files = kept

    def decode(item: tuple[Path, Path]):
        try:
            return route.model_view(item[0], segmenter.input_size, segmenter.max_pixels)
        except ImageError as error:
            return str(error)

    def save(file: Path, relative: Path, probability) -> tuple[int, str | None]:
        """Files written for one photo, and why the rest could not be (a full disk, a read-only folder...)."""
        try:
            encoded = route.outputs(file, probability, formats, look, segmenter.max_pixels)
        except ImageError as error:
            return 0, str(error)
        for count, fmt in enumerate(formats):
            target = output_path(out_dir, relative, fmt)
            try:
                write_bytes_atomic(target, encoded[fmt])
            except OSError as error:
                return count, f"{target}: could not write ({error.strerror or error})"
        return len(formats), None

    def collect(futures: list[Future]) -> None:
        for future in futures:
            count, error = future.result()
            report.written += count
            if error:
                report.failures.append(error)
            else:
                report.done += 1

    batches = [files[start:start + batch_size] for start in range(0, len(files), batch_size)]
    with ThreadPoolExecutor(2) as pool:
        pending: list[Future] = []
        upcoming = [pool.submit(decode, item) for item in batches[0]] if batches else []
        for index, batch in enumerate(batches):
            views = [future.result() for future in upcoming]
            # decode the next batch while this one is predicted and the last one is written
            upcoming = [pool.submit(decode, item) for item in batches[index + 1]] if index + 1 < len(batches) else []
            good = [(item, view) for item, view in zip(batch, views) if not isinstance(view, str)]
            report.failures.extend(view for view in views if isinstance(view, str))
            probabilities = segmenter.predict_arrays([rgb for _, (rgb, _) in good], [size for _, (_, size) in good])
            collect(pending)
            pending = [pool.submit(save, file, relative, p) for ((file, relative), _), p in zip(good, probabilities)]
            if progress is not None:
                progress(len(batch))
        collect(pending)
    return report
