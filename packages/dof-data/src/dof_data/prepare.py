"""Prepare the training folders: centre crop, resize, seeded split, the paper's layout.

Output (what dof-gan and dof-seg read)::

    <out>/trainA/<id>.jpg  <out>/testA/<id>.jpg   ordinary photos
    <out>/trainB/<id>.jpg  <out>/testB/<id>.jpg   shallow depth of field
    <out>/prepare.json                             settings, split and sources of every file

The split is a pure function of the seed and the photo ids (each id's rank is the sha256 of
``"<seed>:<id>"``), so it is the same on every machine, and adding photos moves few others.
Every file is written atomically; a rerun skips files that are already right, rewrites those
whose settings or source changed, and deletes files of its own that left the plan.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageOps

from dof_data.download import ProgressFn
from dof_data.errors import ConfigError
from dof_data.manifest import Manifest, PhotoRow
from dof_io import atomic_write_text, read_rgb, write_rgb

PLAN_NAME = "prepare.json"
FOLDERS = ("trainA", "testA", "trainB", "testB")
_TEMP = re.compile(r"^\.[^.]+\.[a-z0-9_]{8}\.(jpg|png)$")


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
    """Files per folder, and how many were written, already up to date, or deleted."""

    counts: dict[str, int] = field(default_factory=dict)
    written: int = 0
    skipped: int = 0
    deleted: int = 0


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


def plan(manifest: Manifest, config: PrepareConfig) -> dict[str, list[PhotoRow]]:
    """Which kept photo goes to which folder."""
    folders: dict[str, list[PhotoRow]] = {}
    for domain, n_test in (("A", config.test_a), ("B", config.test_b)):
        rows = {row.id: row for row in manifest.photos(status="kept", domain=domain)}
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

    Raises:
        ConfigError: too few kept photos for the test sizes.
    """
    config, out = config or PrepareConfig(), Path(out)
    folders = plan(manifest, config)
    wanted = {
        f"{folder}/{row.id}.{config.format}": row
        for folder, rows in folders.items()
        for row in rows
    }
    old = _read_plan(out)
    same = old.get("state") == "done" and old.get("config") == asdict(config)
    old_files: dict[str, str] = old.get("files", {}) if isinstance(old.get("files"), dict) else {}
    # Record every file that may exist before touching any, so a kill cannot orphan one.
    _write_plan(out, "writing", config, {**old_files, **dict.fromkeys(wanted, "")})
    summary = PrepareSummary(counts={name: len(rows) for name, rows in folders.items()})
    for folder in FOLDERS:
        (out / folder).mkdir(parents=True, exist_ok=True)
        for tmp in (out / folder).iterdir():  # temporary files of a killed run (dof_io's names)
            if _TEMP.match(tmp.name):
                tmp.unlink()
    for name in sorted(set(old_files) - set(wanted)):
        (out / name).unlink(missing_ok=True)
        summary.deleted += 1
    for done, (name, row) in enumerate(sorted(wanted.items()), start=1):
        target = out / name
        if same and old_files.get(name) == row.sha256 and target.is_file():
            summary.skipped += 1
        else:
            rgb = read_rgb(manifest.root / (row.local_path or ""))
            write_rgb(target, center_square(rgb, config.size), quality=config.quality)
            summary.written += 1
        if progress:
            progress(done, len(wanted))
    _write_plan(out, "done", config, {name: row.sha256 or "" for name, row in wanted.items()})
    return summary
