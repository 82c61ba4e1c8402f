from __future__ import annotations

import pytest

from dof_io import atomic_open, atomic_path, atomic_write_text


def test_atomic_write_replaces_whole_file(tmp_path) -> None:
    target = tmp_path / "a" / "b.txt"
    atomic_write_text(target, "first")
    atomic_write_text(target, "second")
    assert target.read_text() == "second"


def test_error_inside_block_keeps_old_content_and_no_temp(tmp_path) -> None:
    target = tmp_path / "c.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_open(target) as handle:
        handle.write(b"partial")
        raise RuntimeError("killed")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.bin"]


def test_atomic_path_keeps_suffix(tmp_path) -> None:
    with atomic_path(tmp_path / "x.png") as tmp:
        assert tmp.suffix == ".png" and tmp.parent == tmp_path
        tmp.write_bytes(b"data")
    assert (tmp_path / "x.png").read_bytes() == b"data"


def test_written_files_are_not_private_to_the_owner(tmp_path) -> None:
    import os

    atomic_write_text(tmp_path / "p.txt", "x")
    umask = os.umask(0o022)
    os.umask(umask)
    assert (tmp_path / "p.txt").stat().st_mode & 0o777 == 0o666 & ~umask
