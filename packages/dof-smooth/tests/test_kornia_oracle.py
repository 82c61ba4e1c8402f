"""kornia as the independent oracle: dof-smooth's own (faster, measured) paths give kornia's
results for colour curves, box and Gaussian blurs, and the dilation behind the boundary band.

kornia is a test dependency only: the library itself keeps its measured paths (docs/smooth.md
gives the benchmark line that decides it).
"""

from __future__ import annotations

import kornia
import pytest
import torch

from dof_smooth import box_blur2d, gaussian_blur2d, linear_to_srgb, srgb_to_linear
from dof_smooth.metrics import outside_band


@pytest.fixture
def image() -> torch.Tensor:
    return torch.rand(2, 3, 37, 53, generator=torch.Generator().manual_seed(0), dtype=torch.float64)


def test_srgb_curves_equal_kornia_color(image: torch.Tensor) -> None:
    torch.testing.assert_close(srgb_to_linear(image), kornia.color.rgb_to_linear_rgb(image))
    torch.testing.assert_close(linear_to_srgb(image), kornia.color.linear_rgb_to_rgb(image))
    knee = torch.tensor([0.0, 0.0031308, 0.04045, 0.5, 1.0], dtype=torch.float64)
    x = knee.view(1, 1, 1, 5).expand(1, 3, 1, 5)
    torch.testing.assert_close(srgb_to_linear(x), kornia.color.rgb_to_linear_rgb(x))


@pytest.mark.parametrize("size", [3, 5, (3, 7)])
def test_box_blur_equals_kornia(image: torch.Tensor, size: int | tuple[int, int]) -> None:
    pair = (size, size) if isinstance(size, int) else size
    expected = kornia.filters.box_blur(image, pair, border_type="reflect")
    torch.testing.assert_close(box_blur2d(image, size), expected)


@pytest.mark.parametrize(("size", "sigma"), [(9, 1.7), (5, 0.8), ((3, 9), (0.6, 2.0))])
def test_gaussian_blur_equals_kornia(
    image: torch.Tensor, size: int | tuple[int, int], sigma: float | tuple[float, float]
) -> None:
    pair = (size, size) if isinstance(size, int) else size
    sigmas = (sigma, sigma) if isinstance(sigma, float) else sigma
    expected = kornia.filters.gaussian_blur2d(image, pair, sigmas, border_type="reflect")
    torch.testing.assert_close(gaussian_blur2d(image, size, sigma), expected)


@pytest.mark.parametrize("width", [1, 4, 10])
def test_outside_band_is_a_square_dilation_minus_the_subject(width: int) -> None:
    g = torch.Generator().manual_seed(width)
    mask = (torch.rand(1, 1, 40, 50, generator=g) > 0.97).float()
    square = torch.ones(2 * width + 1, 2 * width + 1)
    expected = kornia.morphology.dilation(mask, square) * (1 - mask)
    assert torch.equal(outside_band(mask, width), expected)


@pytest.mark.cuda
def test_on_cuda_the_same_as_kornia(image: torch.Tensor) -> None:
    x = image.float().cuda()
    torch.testing.assert_close(
        gaussian_blur2d(x, 9, 1.7),
        kornia.filters.gaussian_blur2d(x, (9, 9), (1.7, 1.7), border_type="reflect"),
    )
    torch.testing.assert_close(box_blur2d(x, 5), kornia.filters.box_blur(x, (5, 5), "reflect"))
