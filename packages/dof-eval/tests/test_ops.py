from __future__ import annotations

import math

import pytest
import torch

from dof_eval import ShapeError
from dof_eval.ops import (
    boundary_band,
    check_image,
    check_mask,
    dilate,
    disk,
    erode,
    masked_mean,
    outer_band,
    to_gray,
)


def point(size: int = 15) -> torch.Tensor:
    region = torch.zeros(1, 1, size, size, dtype=torch.bool)
    region[..., size // 2, size // 2] = True
    return region


def test_disk_kernel_is_a_disk() -> None:
    kernel = disk(2)
    assert kernel.shape == (5, 5)
    assert kernel.sum() == 13  # 1 + 4 + 8: every pixel within distance 2
    assert kernel[0, 0] == 0 and kernel[2, 0] == 1


def test_dilate_grows_a_point_into_the_disk() -> None:
    grown = dilate(point(), 3)
    assert int(grown.sum()) == int(disk(3).sum())
    assert grown[..., 7, 10] and not grown[..., 7, 11]


def test_erode_undoes_dilate_on_a_point_and_keeps_the_frame_edge() -> None:
    assert torch.equal(erode(dilate(point(), 3), 3), point())
    full = torch.ones(1, 1, 8, 8, dtype=torch.bool)
    assert erode(full, 2).all()  # the border of the frame does not erode


def test_bands_split_inside_and_outside() -> None:
    mask = dilate(point(31), 6).float()
    both, outside = boundary_band(mask, 2), outer_band(mask, 2)
    assert not (outside & (mask > 0)).any()
    assert (both & (mask > 0)).any() and (both & (mask == 0)).any()
    assert (outside & ~both).sum() == 0  # the outer band lies inside the two-sided band


def test_masked_mean_is_nan_for_an_empty_region() -> None:
    values = torch.arange(8.0).view(2, 1, 2, 2)
    region = torch.zeros(2, 1, 2, 2, dtype=torch.bool)
    region[0, 0, 0] = True
    mean = masked_mean(values, region)
    assert mean[0] == 0.5 and math.isnan(float(mean[1]))


def test_gray_of_white_is_one() -> None:
    assert torch.allclose(to_gray(torch.ones(1, 3, 2, 2)), torch.ones(1, 1, 2, 2))


def test_shape_errors_say_what_to_do() -> None:
    with pytest.raises(ShapeError, match=r"add a batch axis"):
        check_image("image", torch.rand(3, 8, 8))
    with pytest.raises(ShapeError, match="divide uint8"):
        check_image("image", torch.zeros(1, 3, 8, 8, dtype=torch.uint8))
    with pytest.raises(ShapeError, match=r"add a channel axis"):
        check_mask("mask", torch.rand(1, 8, 8), torch.rand(1, 3, 8, 8))
