"""folder_lock across real processes: a second writer fails naming the holder; a killed
holder's lock is taken over; clean-up removes only what a dead run left."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dof_io import (
    FolderLockedError,
    OutputError,
    atomic_path,
    folder_lock,
    is_temp_file,
    read_holder,
    remove_temp_files,
)

HOLD = """
import sys, time
from dof_io import folder_lock
with folder_lock(sys.argv[1], command="holder-command --out x"):
    print("locked", flush=True)
    sys.stdin.read()  # hold until the test closes stdin (or kills us)
"""


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    """A second process holding the lock on tmp_path/run until the test ends."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(tmp_path / "run")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "locked"
    yield proc
    if proc.poll() is None:
        proc.kill()
    proc.wait()


def test_second_writer_fails_at_once_naming_the_holder(tmp_path, holder) -> None:
    start = time.monotonic()
    with pytest.raises(FolderLockedError) as info, folder_lock(tmp_path / "run"):
        pass
    assert time.monotonic() - start < 5  # no waiting for the holder
    assert info.value.holder is not None
    assert info.value.holder.pid == holder.pid
    message = str(info.value)
    assert f"pid {holder.pid} on host {socket.gethostname()}" in message
    assert "holder-command --out x" in message and str(tmp_path / "run") in message


def test_lock_is_free_again_after_the_holder_finishes(tmp_path, holder) -> None:
    assert holder.stdin is not None
    holder.stdin.close()
    assert holder.wait(timeout=30) == 0
    assert read_holder(tmp_path / "run") is None  # a clean exit removes its record
    with folder_lock(tmp_path / "run") as lock:
        assert lock.previous is None
        assert read_holder(tmp_path / "run") == lock.holder


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL")
def test_lock_of_a_killed_process_is_taken_over(tmp_path, holder) -> None:
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=30)
    stale = read_holder(tmp_path / "run")
    assert stale is not None and stale.pid == holder.pid  # the dead holder's record is left
    with folder_lock(tmp_path / "run") as lock:
        assert lock.previous == stale
        assert lock.previous.is_running() is False
        assert lock.holder.pid == os.getpid()


def test_nested_lock_in_one_process_is_the_same_lock(tmp_path) -> None:
    with folder_lock(tmp_path) as outer, folder_lock(tmp_path / ".") as inner:
        assert inner is outer
    with folder_lock(tmp_path) as again:  # released once the outer block ended
        assert again is not outer


def test_unwritable_folder_is_an_output_error(tmp_path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(OutputError, match=r"cannot write to .*file"), folder_lock(blocker / "x"):
        pass


def test_clean_up_removes_only_temp_files_older_than_the_lock(tmp_path) -> None:
    old = tmp_path / ".photo.ab12cd_9.png"  # what a killed atomic_path left
    old.write_bytes(b"partial")
    os.utime(old, (time.time() - 60, time.time() - 60))
    keep = [tmp_path / "photo.png", tmp_path / ".hidden", tmp_path / ".config.json"]
    for path in keep:
        path.write_bytes(b"user file")
        os.utime(path, (time.time() - 60, time.time() - 60))
    with folder_lock(tmp_path) as lock:
        newer = tmp_path / ".other.zz99yy88.png"  # another writer's, started after the lock
        newer.write_bytes(b"in flight")
        with atomic_path(tmp_path / "mine.png") as mine:
            os.utime(mine, (time.time() - 60, time.time() - 60))  # old, but ours and live
            assert lock.remove_stale_temp_files() == [old]
            assert mine.exists()
    assert newer.exists() and all(path.exists() for path in keep)


def test_temp_names_match_what_atomic_path_makes(tmp_path) -> None:
    for name in ("x.png", "a.b.jpg", "log.jsonl", "noext", "checkpoint.pt"):
        with atomic_path(tmp_path / name) as tmp:
            assert is_temp_file(tmp), tmp.name
    assert not is_temp_file(".dof.lock.json") and not is_temp_file(".DS_Store")
    assert remove_temp_files(tmp_path / "missing", older_than=time.time()) == []


def test_ranks_of_a_torchrun_job_share_rank_0s_lock(tmp_path, holder, monkeypatch) -> None:
    monkeypatch.setenv("TORCHELASTIC_RUN_ID", "job1")
    monkeypatch.setenv("WORLD_SIZE", "2")  # torchrun sets both
    monkeypatch.setenv("RANK", "1")
    (tmp_path / "run" / ".a.ab12cd34.png").write_bytes(b"rank 0's, in flight")
    with folder_lock(tmp_path / "run") as lock:  # rank 0 (the holder) has it: no error
        assert not lock.exclusive and lock.remove_stale_temp_files() == []
    monkeypatch.setenv("RANK", "0")
    with pytest.raises(FolderLockedError), folder_lock(tmp_path / "run"):
        pass
    monkeypatch.setenv("RANK", "one")  # the rule of dof_io.process_share: never silently 0
    bad_rank = pytest.raises(ValueError, match="RANK and WORLD_SIZE must be whole numbers")
    with bad_rank, folder_lock(tmp_path / "run"):
        pass
