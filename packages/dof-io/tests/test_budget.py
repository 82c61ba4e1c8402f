"""The memory budget: sizes parse, and a huge photo is refused from its header alone."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dof_io import (
    ImageReadError,
    MemoryBudgetError,
    check_memory,
    image_dimensions,
    parse_size,
    write_rgb,
)


def test_parse_size() -> None:
    assert parse_size("4GiB") == parse_size("4g") == parse_size("4 GB") == 4 * 2**30
    assert parse_size("512MiB") == 512 * 2**20 and parse_size("1.5k") == 1536
    assert parse_size("0") == 0 and parse_size("1000") == 1000
    for bad in ("four", "4 parsecs", "-1G", ""):
        with pytest.raises(ValueError, match="not a size"):
            parse_size(bad)


def test_a_12000_px_square_png_is_refused_before_decoding(tmp_path: Path) -> None:
    path = tmp_path / "huge.png"
    Image.new("1", (12000, 12000)).save(path)  # a few KB on disk, 144 MP
    assert path.stat().st_size < 1_000_000
    assert image_dimensions(path) == (12000, 12000)
    with pytest.raises(MemoryBudgetError) as info:
        check_memory(
            path, bytes_per_pixel=60, budget=4 * 2**30, what="lens blur", option="--max-memory"
        )
    message = str(info.value)
    assert message.startswith(
        f"{path}: 12000x12000 (144 MP): lens blur at full size needs about 8.0 GiB"
    )
    assert (
        "over the budget of 4.0 GiB: too large for the memory budget; lower the size or raise "
        "--max-memory (e.g. --max-memory 9GiB)" in message
    )
    assert isinstance(info.value, ImageReadError) and info.value.path == path  # batch jobs go on
    assert check_memory(path, bytes_per_pixel=60, budget=0, what="x") == 144_000_000 * 60


def test_a_photo_within_the_budget_passes(tmp_path: Path) -> None:
    write_rgb(tmp_path / "small.png", np.zeros((30, 40, 3), np.uint8))
    assert (
        check_memory(tmp_path / "small.png", bytes_per_pixel=100, budget=2**20, what="x") == 120_000
    )
    assert check_memory(tmp_path / "missing.png", bytes_per_pixel=1, budget=1, what="x") == 0
    with pytest.raises(ImageReadError, match="cannot read its header"):
        image_dimensions(tmp_path / "missing.png")
