"""dof_smooth.files: the batch job over photo files (the `files` extra)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from dof_io import read_rgb, write_rgb, write_rgba
from dof_smooth import OptionError, UnknownNameError, portrait_blur
from dof_smooth.files import smooth_files, smooth_photo


@pytest.fixture
def photos(tmp_path: Path) -> tuple[list[Path], Path]:
    """Two 48x64 photos with a centre subject, masks as RGBA PNGs in masks/."""
    rng = np.random.default_rng(0)
    (tmp_path / "masks").mkdir()
    paths = []
    for name in ("a", "b"):
        rgb = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
        mask = np.zeros((48, 64), np.float32)
        mask[12:36, 20:44] = 1
        paths.append(write_rgb(tmp_path / f"{name}.png", rgb))
        write_rgba(tmp_path / "masks" / f"{name}.png", rgb, mask)
    return paths, tmp_path / "masks"


def test_smooth_photo_is_portrait_blur_of_the_files(photos: tuple[list[Path], Path]) -> None:
    paths, masks = photos
    out = smooth_photo(paths[0], masks=masks, method="box")
    image = torch.from_numpy(read_rgb(paths[0])).permute(2, 0, 1)[None].float() / 255
    mask = torch.zeros(1, 1, 48, 64)
    mask[..., 12:36, 20:44] = 1
    expected = portrait_blur(image, mask, method="box").mul(255).round().byte()
    np.testing.assert_array_equal(out, expected[0].permute(1, 2, 0).numpy())


def test_a_segmenter_gives_the_mask(photos: tuple[list[Path], Path]) -> None:
    paths, masks = photos

    def centre(image: torch.Tensor) -> torch.Tensor:
        mask = torch.zeros_like(image[:, :1])
        mask[..., 12:36, 20:44] = 1
        return mask

    by_file = smooth_photo(paths[0], masks=masks, method="gaussian")
    by_segmenter = smooth_photo(paths[0], segmenter=centre, method="gaussian")
    np.testing.assert_array_equal(by_segmenter, by_file)
    with pytest.raises(OptionError, match="exactly one"):
        smooth_photo(paths[0], masks=masks, segmenter=centre)


def test_writes_skips_and_goes_on_past_a_bad_photo(
    photos: tuple[list[Path], Path], tmp_path: Path
) -> None:
    paths, masks = photos
    (masks / "b.png").unlink()  # b has no mask: it fails, a is still written
    out = tmp_path / "out"
    events = list(smooth_files(paths, out, masks=masks, method="box"))
    assert [(e.photo.name, e.status) for e in events] == [("a.png", "done"), ("b.png", "failed")]
    assert "dof seg" in events[1].reason and (out / "a.png").is_file()
    again = list(smooth_files(paths, out, masks=masks, method="box", fmt="jpg"))
    assert [e.status for e in again] == ["done", "failed"]  # another format: another file
    assert [e.status for e in smooth_files(paths[:1], out, masks=masks)] == ["skipped"]


def test_never_writes_over_a_mask(photos: tuple[list[Path], Path]) -> None:
    paths, masks = photos
    events = list(smooth_files(paths, masks, masks=masks, method="box"))
    assert {e.status for e in events} == {"failed"}
    assert all("is an input" in e.reason for e in events)


def test_options_that_fit_no_photo_are_refused_at_the_call(
    photos: tuple[list[Path], Path], tmp_path: Path
) -> None:
    paths, masks = photos
    with pytest.raises(OptionError, match="only apply to method='lens'"):
        smooth_files(paths, tmp_path / "out", masks=masks, method="box", blades=6)
    with pytest.raises(UnknownNameError):
        smooth_files(paths, tmp_path / "out", masks=masks, method="bokeh")
    with pytest.raises(OptionError, match="png or jpg"):
        smooth_files(paths, tmp_path / "out", masks=masks, fmt="tiff")
    assert not (tmp_path / "out").exists()


def test_a_photo_over_the_memory_budget_fails_alone(photos: tuple[list[Path], Path]) -> None:
    paths, masks = photos
    events = list(smooth_files(paths, masks.parent / "out", masks=masks, max_memory=1000))
    assert [e.status for e in events] == ["failed", "failed"]
    assert all("--max-memory" in e.reason for e in events)


def test_a_bug_in_the_segmenter_stops_the_job(photos: tuple[list[Path], Path]) -> None:
    """A ValueError from a wrong call is a bug, not the photo's fault: the job stops with it."""
    paths, masks = photos

    def wrong(image: torch.Tensor) -> torch.Tensor:
        raise ValueError("not enough values to unpack (expected 3, got 2)")

    with pytest.raises(ValueError, match="not enough values to unpack"):
        list(smooth_files(paths, masks.parent / "out", segmenter=wrong, method="box"))
