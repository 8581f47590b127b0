"""Atomic writes: the old file survives a failed write, no temporary is left, the mode is an ordinary file's."""

import os
import stat

import pytest

from portraitnet.files import ORDINARY_FILE_MODE, atomic_path, write_bytes_atomic


def test_atomic_write_replaces_the_file_with_an_ordinary_mode(tmp_path):
    target = tmp_path / "sub" / "mask.png"
    write_bytes_atomic(target, b"old")
    write_bytes_atomic(target, b"new")
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(os.stat(target).st_mode) == ORDINARY_FILE_MODE  # not mkstemp's private 0600
    assert [p.name for p in target.parent.iterdir()] == ["mask.png"]  # no temporary left behind


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "model.onnx"
    target.write_bytes(b"good")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("disk full")
    assert target.read_bytes() == b"good"
    assert [p.name for p in tmp_path.iterdir()] == ["model.onnx"]
