"""Prepare the training folders: centre crop, resize, seeded split, the paper's layout.

Output (what dof-gan and dof-seg read)::

    <out>/trainA/<id>.jpg  <out>/testA/<id>.jpg   ordinary photos
    <out>/trainB/<id>.jpg  <out>/testB/<id>.jpg   shallow depth of field
    <out>/prepare.json                             settings, split and sources of every file

The split is a pure function of the seed and the photo ids (each id's rank is the sha256 of
``"<seed>:<id>"``), so it is the same on every machine, and adding photos moves few others.
Every file is written atomically and ``<out>`` is locked while it is written; a rerun (also
after a kill) skips files that are already right, rewrites those whose settings or source
changed, and deletes files of its own that left the plan. A photo that is missing, damaged or
unsafe (a manifest row whose id or path would leave its folder) is skipped and reported.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageOps

from dof_data.download import ProgressFn
from dof_data.errors import ConfigError, UnsafeDataError
from dof_data.manifest import Manifest, PhotoRow
from dof_data.trust import check_photo_id
from dof_io import ImageReadError, atomic_write_text, folder_lock, read_rgb, write_rgb

PLAN_NAME = "prepare.json"
FOLDERS = ("trainA", "testA", "trainB", "testB")


@dataclass(frozen=True)
class PrepareConfig:
    """Attributes:
    size: output side in pixels (the paper: 256).
    seed: split seed.
    test_a, test_b: test photos per domain (the paper: 100 ordinary, no shallow-DoF test set).
    format: "jpg" or "png".
    quality: JPEG quality, 1-100.
    """

    size: int = 256
    seed: int = 0
    test_a: int = 100
    test_b: int = 0
    format: str = "jpg"
    quality: int = 95

    def __post_init__(self) -> None:
        if self.size < 8 or self.test_a < 0 or self.test_b < 0 or not 1 <= self.quality <= 100:
            raise ConfigError(
                f"prepare needs size >= 8, test sizes >= 0 and quality 1-100; got {self}"
            )
        if self.format not in ("jpg", "png"):
            raise ConfigError(f"format must be jpg or png; got {self.format!r}")


@dataclass
class PrepareSummary:
    """Files per folder; how many were written, already up to date, or deleted; and the
    photos that were skipped, as (photo id, reason): damaged, missing or unsafe rows."""

    counts: dict[str, int] = field(default_factory=dict)
    written: int = 0
    skipped: int = 0
    deleted: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)

    def describe(self, target: Path) -> str:
        """What a user reads: files per folder, what changed, and each skipped photo."""
        counts = ", ".join(f"{name} {n}" for name, n in self.counts.items())
        lines = [
            f"{target}: {counts} ({self.written} written, {self.skipped} up to date, "
            f"{self.deleted} deleted, {len(self.failed)} failed)",
            *(f"  skipped {photo_id}: {reason}" for photo_id, reason in self.failed),
        ]
        return "\n".join(lines)


def split_ids(ids: Iterable[str], n_test: int, seed: int) -> tuple[list[str], list[str]]:
    """(train, test): the ``n_test`` ids whose sha256("<seed>:<id>") is lowest are the test set.

    Raises:
        ConfigError: when there are fewer ids than ``n_test``.
    """
    ids = sorted(set(ids))
    if n_test > len(ids):
        raise ConfigError(
            f"{n_test} test photos asked for but only {len(ids)} are kept: lower "
            "the test size or collect more photos"
        )
    order = sorted(ids, key=lambda i: hashlib.sha256(f"{seed}:{i}".encode()).hexdigest())
    return sorted(order[n_test:]), sorted(order[:n_test])


def center_square(rgb: npt.NDArray[np.uint8], size: int) -> npt.NDArray[np.uint8]:
    """Centre-crop to a square and resize (Lanczos): (H, W, 3) uint8 -> (size, size, 3) uint8."""
    image = ImageOps.fit(Image.fromarray(rgb), (size, size), Image.Resampling.LANCZOS)
    return np.asarray(image, dtype=np.uint8)


def plan(
    manifest: Manifest, config: PrepareConfig, rejected: list[tuple[str, str]] | None = None
) -> dict[str, list[PhotoRow]]:
    """Which kept photo goes to which folder.

    Rows whose id is not a photo id or whose file lies outside the dataset folder are left
    out (they came from outside: a manifest is data) and appended to ``rejected``.
    """
    folders: dict[str, list[PhotoRow]] = {}
    for domain, n_test in (("A", config.test_a), ("B", config.test_b)):
        rows = {}
        for row in manifest.photos(status="kept", domain=domain):
            try:
                check_photo_id(row.id)
                manifest.file_of(row)
            except UnsafeDataError as err:
                if rejected is not None:
                    rejected.append((row.id, str(err)))
                continue
            rows[row.id] = row
        train, test = split_ids(rows, n_test, config.seed)
        folders[f"train{domain}"] = [rows[i] for i in train]
        folders[f"test{domain}"] = [rows[i] for i in test]
    return folders


def _read_plan(out: Path) -> dict[str, Any]:
    try:
        data = json.loads((out / PLAN_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_plan(out: Path, state: str, config: PrepareConfig, files: dict[str, str]) -> None:
    record = {"state": state, "config": asdict(config), "files": dict(sorted(files.items()))}
    atomic_write_text(out / PLAN_NAME, json.dumps(record, indent=1) + "\n")


def prepare(
    manifest: Manifest,
    out: str | Path,
    config: PrepareConfig | None = None,
    *,
    progress: ProgressFn | None = None,
) -> PrepareSummary:
    """Write the kept photos as ``size`` x ``size`` squares into ``out``'s four folders.

    ``out`` is locked while it is written. A photo that is missing, damaged or unsafe (see
    :func:`plan`) is skipped and listed in ``failed``; the others are still written. A rerun,
    also after a kill, skips every output already written with these settings from this source.

    Raises:
        ConfigError: too few kept photos for the test sizes.
        dof_io.FolderLockedError: another process is writing ``out``.
    """
    config, out = config or PrepareConfig(), Path(out)
    summary = PrepareSummary()
    folders = plan(manifest, config, summary.failed)
    wanted = {
        f"{folder}/{row.id}.{config.format}": row
        for folder, rows in folders.items()
        for row in rows
    }
    with folder_lock(out) as lock:
        for folder in FOLDERS:
            (out / folder).mkdir(parents=True, exist_ok=True)
            lock.remove_stale_temp_files(out / folder)  # a killed run's temporary files
        old = _read_plan(out)
        listed = old.get("files")
        old_files: dict[str, str] = listed if isinstance(listed, dict) else {}
        fresh = {
            name
            for name, row in wanted.items()
            if old.get("config") == asdict(config)
            and row.sha256
            and old_files.get(name) == row.sha256
            and (out / name).is_file()
        }
        for name in set(wanted) - fresh:  # stale versions go first, so whatever is on
            (out / name).unlink(missing_ok=True)  # disk from here on is from this plan
        # Record every file that may exist before touching any, so a kill cannot orphan one.
        _write_plan(out, "writing", config, {**old_files, **_sources(wanted)})
        for name in sorted(set(old_files) - set(wanted)):
            (out / name).unlink(missing_ok=True)
            summary.deleted += 1
        done = _write_outputs(manifest, out, config, wanted, fresh, summary, progress)
        _write_plan(out, "done", config, _sources({n: wanted[n] for n in done}))
    summary.counts = {
        folder: sum(name.startswith(f"{folder}/") for name in done) for folder in FOLDERS
    }
    return summary


def _sources(files: dict[str, PhotoRow]) -> dict[str, str]:
    return {name: row.sha256 or "" for name, row in files.items()}


def _write_outputs(
    manifest: Manifest,
    out: Path,
    config: PrepareConfig,
    wanted: dict[str, PhotoRow],
    fresh: set[str],
    summary: PrepareSummary,
    progress: ProgressFn | None,
) -> list[str]:
    """Write every output not in ``fresh``; the names that exist afterwards."""
    done = []
    for count, (name, row) in enumerate(sorted(wanted.items()), start=1):
        if name in fresh:
            summary.skipped += 1
            done.append(name)
        else:
            try:
                rgb = read_rgb(manifest.file_of(row))
            except ImageReadError as err:
                summary.failed.append((row.id, f"{err.path}: {err.reason}"))
            else:
                write_rgb(out / name, center_square(rgb, config.size), quality=config.quality)
                summary.written += 1
                done.append(name)
        if progress:
            progress(count, len(wanted))
    return done
