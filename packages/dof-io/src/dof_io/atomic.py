"""Atomic writes: a temporary file in the destination folder, then one rename.

A reader never sees a half-written file, and a job killed mid-write leaves the previous
version (or nothing) in place, never a truncated one.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO


def _read_umask() -> int:
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


# Read once at import: os.umask can only be read by setting it, which is not thread-safe.
_FILE_MODE = 0o666 & ~_read_umask()

# Temporary files this process is writing now; stale-file clean-up never touches them.
_LIVE: set[Path] = set()
_LIVE_GUARD = threading.Lock()


def live_temp_files() -> frozenset[Path]:
    """The temporary files (resolved paths) that this process's ``atomic_path`` blocks hold open."""
    with _LIVE_GUARD:
        return frozenset(_LIVE)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` when the block succeeds.

    For writers that want a file name (``torch.save``, ``Image.save``, ``sqlite3.backup``). The
    temporary name keeps the suffix, so format detection by suffix still works. On any error the
    temporary file is removed and ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=path.suffix)
    os.close(fd)
    tmp = Path(tmp_name)
    key = tmp.resolve()
    with _LIVE_GUARD:
        _LIVE.add(key)
    try:
        yield tmp
        tmp.chmod(_FILE_MODE)  # mkstemp makes 0600; give what open() would have given
        _fsync(tmp)  # the data reaches the disk before the name does
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        with _LIVE_GUARD:
            _LIVE.discard(key)


@contextlib.contextmanager
def atomic_open(path: str | Path) -> Iterator[BinaryIO]:
    """Open ``path`` for binary writing; it appears, complete and synced, when the block ends."""
    with atomic_path(path) as tmp, tmp.open("wb") as handle:
        yield handle  # atomic_path syncs the file before renaming it


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_open(path) as handle:
        handle.write(data)


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` as UTF-8, atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))
