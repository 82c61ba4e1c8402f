"""A test photo is scored as it is or not at all: a mask of another size, or a photo too small
to evaluate, is reported by name and left out instead of being rescaled into the metrics."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import dof_io
from dof_eval import find_photos, render_columns
from dof_eval.errors import DatasetError
from dof_eval.photos import checked_size


def _grey(mask: np.ndarray) -> np.ndarray:
    return np.dstack([(mask * 255).astype(np.uint8)] * 3)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    for name, (h, w), (mh, mw) in (
        ("good", (40, 48), (40, 48)),
        ("other_size", (40, 48), (48, 40)),
        ("tiny", (1, 1), (1, 1)),
    ):
        dof_io.write_rgb(
            tmp_path / "images" / f"{name}.png", rng.integers(0, 256, (h, w, 3), np.uint8)
        )
        dof_io.write_rgb(tmp_path / "masks" / f"{name}.png", _grey(np.ones((mh, mw), np.float32)))
    return tmp_path


def test_size_mismatch_and_tiny_photos_are_refused_by_name(folder: Path, tmp_path: Path) -> None:
    failures: list[tuple[Path, str]] = []
    photos = find_photos(folder)
    result = render_columns(
        photos,
        {"copy": lambda x, m: x},
        tmp_path / "out",
        size=32,
        on_error=lambda p, r: failures.append((p, r)),
    )
    assert result.names == ("good",)
    reasons = {path.stem: reason for path, reason in failures}
    assert set(reasons) == {"other_size", "tiny"}
    assert str(folder / "masks" / "other_size.png") in reasons["other_size"]
    assert "the mask is 40x48 but its photo is 48x40" in reasons["other_size"]
    assert "is 1x1: too small to evaluate" in reasons["tiny"]
    with pytest.raises(DatasetError, match="too small"):
        checked_size(next(p for p in photos if p.name == "tiny"))
