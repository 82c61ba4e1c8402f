from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
import torch

from dof_smooth import (
    OptionError,
    box_kernel1d,
    disk_kernel,
    gaussian_kernel1d,
    opencv_kernel_size,
    opencv_sigma,
)

OPENCV_MAJOR = int(cv2.__version__.split(".")[0])


@pytest.mark.parametrize("size", [1, 3, 5, 7, 11, 13, 15, 21, 31])
def test_gaussian_kernel_equals_opencv_when_sigma_is_not_given(size: int) -> None:
    ours = gaussian_kernel1d(size, dtype=torch.float64).numpy()
    np.testing.assert_allclose(ours, cv2.getGaussianKernel(size, 0).ravel(), atol=1e-12)


def test_nine_tap_default_follows_the_papers_rule() -> None:
    """Eq. 9: sigma = 0.3·((9 − 1)/2 − 1) + 0.8 = 1.7. OpenCV 4 computes exactly this; OpenCV 5
    replaced the 9-tap default by a rounded table (4, 13, 30, 51, 60, ...)/256, which we do not
    follow (see docs/smooth.md)."""
    assert opencv_sigma(9) == pytest.approx(1.7)
    ours = gaussian_kernel1d(9, dtype=torch.float64).numpy()
    np.testing.assert_allclose(ours, cv2.getGaussianKernel(9, 1.7).ravel(), atol=1e-12)
    if OPENCV_MAJOR < 5:
        np.testing.assert_allclose(ours, cv2.getGaussianKernel(9, 0).ravel(), atol=1e-12)


@pytest.mark.parametrize("sigma", [0.5, 1.0, 1.7, 2.5, 4.0])
def test_gaussian_kernel_with_sigma_equals_opencv(sigma: float) -> None:
    size = opencv_kernel_size(sigma)
    ours = gaussian_kernel1d(size, sigma, dtype=torch.float64).numpy()
    np.testing.assert_allclose(ours, cv2.getGaussianKernel(size, sigma).ravel(), atol=1e-12)


def test_sigma_rule_values() -> None:
    for k in (3, 5, 7, 9, 11, 21):
        assert opencv_sigma(k) == pytest.approx(0.3 * ((k - 1) / 2 - 1) + 0.8)
    assert opencv_kernel_size(1.0) == 9
    assert opencv_kernel_size(2.0) == 17
    assert opencv_kernel_size(0.3) == 3


def test_box_kernel() -> None:
    k = box_kernel1d(5, dtype=torch.float64)
    assert k.shape == (5,)
    torch.testing.assert_close(k, torch.full((5,), 0.2, dtype=torch.float64))


@pytest.mark.parametrize("radius", [0.0, 0.4, 1.0, 2.5, 7.3, 25.0])
def test_disk_kernel_sums_to_one_and_is_symmetric(radius: float) -> None:
    k = disk_kernel(radius, dtype=torch.float64)
    size = 2 * max(0, math.ceil(radius - 0.5)) + 1
    assert k.shape == (size, size)
    assert float(k.sum()) == pytest.approx(1.0, abs=1e-12)
    assert bool((k >= 0).all())
    torch.testing.assert_close(k, k.flip(0), rtol=0, atol=1e-15)
    torch.testing.assert_close(k, k.flip(1), rtol=0, atol=1e-15)
    torch.testing.assert_close(k, k.T, rtol=0, atol=1e-15)


def test_disk_kernel_is_anti_aliased() -> None:
    k = disk_kernel(10.0, dtype=torch.float64)
    interior = k[10, 10]
    edge = k[10, 0]  # the pixel whose square the circle cuts in half
    assert float(edge / interior) == pytest.approx(0.5, abs=0.05)
    assert float(k[0, 0]) == 0.0  # the corner lies outside
    # area of the disk, in pixels: pi r^2
    assert float(1 / interior) == pytest.approx(math.pi * 100, rel=2e-3)


@pytest.mark.parametrize("blades", [3, 5, 6, 8])
def test_polygon_kernel(blades: int) -> None:
    k = disk_kernel(8.0, blades, dtype=torch.float64)
    assert float(k.sum()) == pytest.approx(1.0, abs=1e-12)
    area = 0.5 * blades * 64 * math.sin(2 * math.pi / blades)
    assert float(1 / k.max()) == pytest.approx(area, rel=5e-3)
    torch.testing.assert_close(k, k.flip(0), rtol=0, atol=1e-15)  # a vertex on the x axis
    point_symmetric = torch.allclose(k, k.flip(0, 1), atol=1e-12)
    assert point_symmetric == (blades % 2 == 0)


def test_polygon_rotation_by_one_blade_is_the_same_polygon() -> None:
    a = disk_kernel(6.0, 6, 0.0, dtype=torch.float64)
    b = disk_kernel(6.0, 6, 60.0, dtype=torch.float64)
    c = disk_kernel(6.0, 6, 30.0, dtype=torch.float64)
    torch.testing.assert_close(a, b, rtol=0, atol=1e-9)
    assert not torch.allclose(a, c, atol=1e-4)


def test_kernel_dtype_and_device() -> None:
    k = disk_kernel(3.0, dtype=torch.float16)
    assert k.dtype == torch.float16
    assert gaussian_kernel1d(5, dtype=torch.float64).dtype == torch.float64


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: disk_kernel(-1.0), "radius must be a finite number >= 0; got -1.0"),
        (lambda: disk_kernel(float("nan")), "radius must be a finite number >= 0"),
        (lambda: disk_kernel(3.0, 2), "blades must be 0 (round) or >= 3; got 2"),
        (lambda: gaussian_kernel1d(4), "must be odd and >= 1; got 4: use 5"),
        (lambda: box_kernel1d(0), "box kernel size must be >= 1; got 0"),
    ],
)
def test_bad_kernel_options(call, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(OptionError) as info:
        call()
    assert message in str(info.value)
