"""Run folders: what every trainer (dof-gan, dof-seg train) shares, without torch.

A run folder holds ``config.json``, a JSONL log (one object per step, each with ``"step"``) and
checkpoints. The rules:

- a new run refuses a folder that already holds a started run (continue it with ``resume``); a
  folder a failed start left (config, an empty log, locks, temporary files) may be reused;
- resuming needs a run to resume (its ``config.json``);
- on resume the log is trimmed to the checkpoint's step, so no step is logged twice;
- the folder is locked while a trainer writes it (:func:`dof_io.folder_lock`).

Checkpoints themselves (torch) are in :mod:`dof_io.training`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from dof_io.atomic import atomic_write_text
from dof_io.errors import DofIOError
from dof_io.lock import LOCK_FILES, is_temp_file

CONFIG_NAME = "config.json"
LOG_NAME = "log.jsonl"


class RunFolderError(DofIOError):
    """A run folder that cannot be started or resumed as asked; the message says what to do."""


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """Every complete line of a JSONL log (a line cut short by a kill is skipped)."""
    path = Path(path)
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(row, dict):
            rows.append(row)
    return rows


def append_jsonl(path: str | Path, rows: Iterable[Mapping[str, Any]]) -> None:
    """Append one JSON line per row (one write, so a kill cuts at most the last line)."""
    text = "".join(json.dumps(dict(row)) + "\n" for row in rows)
    if text:
        with Path(path).open("a", encoding="utf-8") as handle:
            handle.write(text)


def trim_jsonl(path: str | Path, step: int) -> None:
    """Keep the rows with ``"step" <= step`` (a resumed run redoes the others), atomically."""
    rows = [row for row in read_jsonl(path) if row.get("step", 0) <= step]
    atomic_write_text(path, "".join(json.dumps(row) + "\n" for row in rows))


def run_started(run: str | Path, *, log_name: str = LOG_NAME) -> bool:
    """Whether ``run`` holds anything a fresh start could lose: a logged step or a finished file
    besides ``config.json`` (temporary files, lock files and empty folders do not count)."""
    run = Path(run)
    if not run.is_dir():
        return run.exists()
    for entry in run.rglob("*"):
        if entry.is_dir() or entry.name in LOCK_FILES or is_temp_file(entry):
            continue
        if entry.parent == run and entry.name == CONFIG_NAME:
            continue
        if entry.parent == run and entry.name == log_name and not read_jsonl(entry):
            continue
        return True
    return False


def check_run_folder(
    run: str | Path,
    *,
    resume: bool,
    error: type[Exception] = RunFolderError,
    flag: str = "--resume",
    log_name: str = LOG_NAME,
) -> Path:
    """Refuse to start over a started run without ``resume``, or to resume nothing.

    Raises:
        ``error`` (default :class:`RunFolderError`): with what to do instead.
    """
    run = Path(run)
    if resume:
        if not (run / CONFIG_NAME).is_file():
            raise error(f"{run} holds no run to resume (no {CONFIG_NAME}): start it without {flag}")
        return run
    if run_started(run, log_name=log_name):
        raise error(
            f"{run} already exists and is not empty: continue that run with {flag}, or give "
            "another --out"
        )
    return run
