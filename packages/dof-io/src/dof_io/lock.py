"""One writer per folder: the lock every dof command takes on the folder it owns.

    with folder_lock(out_dir) as lock:          # FolderLockedError if another command holds it
        lock.remove_stale_temp_files()          # what a killed earlier run left behind
        ... write into out_dir ...

The lock is :class:`filelock.FileLock` on ``<folder>/.dof.lock`` (``flock``: the kernel frees it
when its holder dies, even by SIGKILL; on file systems without ``flock`` filelock falls back to
a marker file). Beside it, ``<folder>/.dof.lock.json`` names the holder (pid, host, start time,
command), so a second writer fails at once with a message saying who holds the folder. The JSON
of a holder that died without releasing is recognised as stale and replaced; the new holder
reports it in :attr:`FolderLock.previous`.

Taking a lock the same process already holds on the same folder is a no-op that yields the
same :class:`FolderLock` (a command may lock its folder and then call a library function that
locks it too). Threads of one process share the lock. Under ``torchrun`` the job is one writer:
rank 0 takes the lock, the other ranks of the same job get a non-exclusive :class:`FolderLock`
(``exclusive=False``) that removes no temporary files.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import socket
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import filelock

from dof_io.atomic import atomic_write_text, live_temp_files
from dof_io.errors import FolderLockedError, OutputError
from dof_io.ranks import process_share

LOCK_NAME = ".dof.lock"
HOLDER_NAME = ".dof.lock.json"
#: The names the lock keeps in a folder; a check "is this folder empty?" should ignore them.
LOCK_FILES = frozenset({LOCK_NAME, HOLDER_NAME})

#: Names :func:`dof_io.atomic_path` gives its temporary files: ``.<stem>.<8 random>[<suffix>]``.
TEMP_NAME = re.compile(r"^\..+\.[a-z0-9_]{8}(\.[A-Za-z0-9]{1,16})?$")

_HELD: dict[Path, FolderLock] = {}
_HELD_GUARD = threading.Lock()


@dataclass(frozen=True)
class LockHolder:
    """Who holds (or held) a folder lock.

    Attributes:
        pid: process id on ``host``.
        host: ``socket.gethostname()`` of the holder.
        started: when the lock was taken, unix seconds.
        command: the holder's command line (at most 200 characters).
    """

    pid: int
    host: str
    started: float
    command: str

    @classmethod
    def this_process(cls, command: str | None = None) -> LockHolder:
        if command is None:
            command = " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])
        return cls(os.getpid(), socket.gethostname(), time.time(), command[:200])

    def describe(self) -> str:
        """``pid 123 on host h since 2026-01-02 10:00:00 UTC (dof seg photos -o masks)``."""
        when = dt.datetime.fromtimestamp(self.started, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        return f"pid {self.pid} on host {self.host} since {when} ({self.command})"

    def is_running(self) -> bool | None:
        """Whether the holder process still runs; None when it is on another host."""
        if self.host != socket.gethostname() or os.name != "posix":
            return None
        try:
            os.kill(self.pid, 0)  # signal 0: existence check only
        except ProcessLookupError:
            return False
        except PermissionError:  # runs, as another user
            return True
        return True


@dataclass
class FolderLock:
    """A held folder lock (yielded by :func:`folder_lock`).

    Attributes:
        folder: the locked folder (absolute).
        holder: this process's record, as written to ``.dof.lock.json``.
        previous: the record of an earlier holder that died without releasing (a killed run),
            or None when the folder was free and clean.
        exclusive: False for ranks > 0 of a torchrun job, whose rank 0 holds the lock.
    """

    folder: Path
    holder: LockHolder
    previous: LockHolder | None = None
    exclusive: bool = True
    _lock: filelock.BaseFileLock | None = field(default=None, repr=False)
    _depth: int = field(default=0, repr=False)

    def remove_stale_temp_files(
        self, folder: str | Path | None = None, *, recursive: bool = False
    ) -> list[Path]:
        """Delete temporary files (dof-io's names) a killed run left in ``folder``.

        ``folder`` defaults to the locked folder and should lie inside it. Only files older than
        this lock are touched, never this process's own in-flight files: whatever another
        writer started after the lock was taken is left alone.

        Returns:
            the paths removed (none on a non-exclusive lock: rank 0 cleans up).
        """
        if not self.exclusive:
            return []
        return remove_temp_files(
            self.folder if folder is None else folder,
            older_than=self.holder.started,
            recursive=recursive,
        )


def is_temp_file(path: str | Path) -> bool:
    """Whether ``path``'s name is one that :func:`dof_io.atomic_path` gives temporary files."""
    return TEMP_NAME.match(Path(path).name) is not None


def remove_temp_files(
    folder: str | Path, *, older_than: float, recursive: bool = False
) -> list[Path]:
    """Delete dof-io temporary files in ``folder`` last modified before ``older_than``.

    Files this process is writing right now are never removed. A missing folder removes
    nothing.

    Args:
        folder: where to look.
        older_than: unix seconds; newer files may belong to a live writer and are kept.
        recursive: look in subfolders too.

    Returns:
        the paths removed.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    live = live_temp_files()
    removed = []
    for path in folder.rglob(".*") if recursive else folder.glob(".*"):
        if not is_temp_file(path) or path.resolve() in live:
            continue
        with contextlib.suppress(FileNotFoundError):
            if path.is_file() and path.stat().st_mtime < older_than:
                path.unlink()
                removed.append(path)
    return removed


def read_holder(folder: str | Path) -> LockHolder | None:
    """The record in ``<folder>/.dof.lock.json``, or None when absent or unreadable."""
    try:
        data = json.loads((Path(folder) / HOLDER_NAME).read_text(encoding="utf-8"))
        return LockHolder(
            pid=int(data["pid"]),
            host=str(data["host"]),
            started=float(data["started"]),
            command=str(data["command"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


@contextlib.contextmanager
def folder_lock(folder: str | Path, *, command: str | None = None) -> Iterator[FolderLock]:
    """Hold the lock on ``folder`` (created if missing) for the ``with`` block.

    Args:
        folder: the folder this command writes.
        command: what to show a second writer (default: this process's command line).

    Yields:
        the :class:`FolderLock`; its ``previous`` names a dead earlier holder, if any.

    Raises:
        FolderLockedError: another process holds the lock; the message names it.
        OutputError: the folder or its lock file cannot be created (permissions, a file in
            the way, a read-only disk).
    """
    folder = Path(folder).expanduser().resolve()  # one key per folder, whatever the spelling
    with _HELD_GUARD:
        held = _HELD.get(folder)
        if held is not None:
            held._depth += 1
    if held is not None:
        try:
            yield held
        finally:
            with _HELD_GUARD:
                held._depth -= 1
        return
    me = LockHolder.this_process(command)
    if _torchrun_rank() > 0:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise OutputError(folder, err) from err
        yield FolderLock(folder, me, exclusive=False)
        return
    lock = _acquire(folder, me)
    try:
        yield lock
    finally:
        _release(lock)


def _torchrun_rank() -> int:
    """This process's rank in a torchrun job (which sets TORCHELASTIC_RUN_ID), else 0; read by
    :func:`dof_io.process_share`, so a bad RANK is an error, never silently rank 0.

    Raises:
        ValueError: RANK/WORLD_SIZE set but not whole numbers in range.
    """
    if "TORCHELASTIC_RUN_ID" not in os.environ:
        return 0
    return process_share()[0]


def _acquire(folder: Path, me: LockHolder) -> FolderLock:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        native = filelock.FileLock(folder / LOCK_NAME, timeout=0)
        native.acquire()
    except filelock.Timeout:
        raise FolderLockedError(folder, _wait_for_holder(folder)) from None
    except OSError as err:
        raise OutputError(folder, err) from err
    try:
        previous = read_holder(folder)
        atomic_write_text(folder / HOLDER_NAME, json.dumps(asdict(me)) + "\n")
    except BaseException as err:
        native.release()
        if isinstance(err, OSError):
            raise OutputError(folder, err) from err
        raise
    lock = FolderLock(folder, me, previous, True, native, 1)
    with _HELD_GUARD:
        _HELD[folder] = lock
    return lock


def _release(lock: FolderLock) -> None:
    with _HELD_GUARD:
        lock._depth -= 1
        if lock._depth > 0:
            return
        _HELD.pop(lock.folder, None)
    try:
        # The record goes first: whoever takes the lock next writes its own.
        (lock.folder / HOLDER_NAME).unlink(missing_ok=True)
    finally:
        if lock._lock is not None:
            lock._lock.release()


def _wait_for_holder(folder: Path) -> LockHolder | None:
    """The holder's record; a holder that has just taken the lock gets a moment to write it."""
    for _ in range(20):
        holder = read_holder(folder)
        if holder is not None:
            return holder
        time.sleep(0.05)
    return None
