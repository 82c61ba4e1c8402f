"""Tiled full-size inference: tiles share the whole photo's instance-norm statistics."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

import dof_io
from dof_gan import GeneratorConfig, build_generator, translate
from dof_gan.tiling import plan_tile, tile_starts, translate_tiled


@pytest.fixture(scope="module")
def generator() -> torch.nn.Module:
    return build_generator(GeneratorConfig(ngf=8, n_blocks=2), seed=3).eval()


@pytest.fixture(scope="module")
def photo(coco_person: Path) -> torch.Tensor:
    """A real photo, (1, 3, 240, 320) in [0, 1]."""
    path = sorted((coco_person / "images").glob("*.jpg"))[0]
    image = torch.from_numpy(dof_io.read_rgb(path)).permute(2, 0, 1)[None].float() / 255
    return F.interpolate(image, size=(240, 320), mode="area")


def test_tile_starts_cover_the_length_on_the_stride_grid() -> None:
    assert tile_starts(100, 128, 32) == [0]
    starts = tile_starts(400, 128, 32)
    assert starts == [0, 96, 192, 272] and all(s % 4 == 0 for s in starts)
    covered = torch.zeros(400, dtype=torch.bool)
    for start in starts:
        covered[start : start + 128] = True
    assert bool(covered.all())


def test_tiled_agrees_with_untiled_within_2_of_255(
    generator: torch.nn.Module, photo: torch.Tensor
) -> None:
    with torch.inference_mode():
        whole = translate(generator, photo)  # (1, 3, 240, 320) in [0, 1]
        tiled = (translate_tiled(generator, photo * 2 - 1, tile=96, overlap=32) + 1) / 2
        # the failure tiling must avoid: a tile normalised by its own statistics
        alone = (generator(photo[..., :96, :96] * 2 - 1) + 1) / 2
    assert len(tile_starts(240, 96, 32)) * len(tile_starts(320, 96, 32)) == 20  # really tiled
    assert float((tiled - whole).abs().max()) <= 2 / 255
    assert float((alone - whole[..., :96, :96]).abs().max()) > 4 / 255


def test_max_memory_chooses_tiles_and_downscaled_statistics_stay_close(
    generator: torch.nn.Module, photo: torch.Tensor
) -> None:
    assert plan_tile(generator, 240, 320, 8 * 2**30) is None  # fits: one pass
    budget = 600 * 2**20 + 48 * 240 * 320 + 138 * 224 * 224  # a 128 px tile, 48 px margins
    assert plan_tile(generator, 240, 320, budget) == 128
    whole = translate(generator, photo)
    tiled = translate(generator, photo, max_memory=budget)  # statistics from a 0.8x copy
    assert tiled.shape == whole.shape
    assert float((tiled - whole).abs().mean()) < 4 / 255
