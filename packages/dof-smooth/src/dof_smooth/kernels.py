"""Filter kernels: box, Gaussian (OpenCV's rules) and the lens aperture (disk or polygon).

All kernels are normalised to sum to 1 and computed in float64 before the cast, as OpenCV does.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from dof_smooth._checks import check_radius
from dof_smooth.errors import OptionError

#: OpenCV's fixed kernels for ksize 1, 3, 5, 7 when sigma is not given (getGaussianKernel).
_OPENCV_SMALL_GAUSSIANS: dict[int, tuple[float, ...]] = {
    1: (1.0,),
    3: (0.25, 0.5, 0.25),
    5: (0.0625, 0.25, 0.375, 0.25, 0.0625),
    7: (0.03125, 0.109375, 0.21875, 0.28125, 0.21875, 0.109375, 0.03125),
}

#: samples per pixel side when anti-aliasing the aperture (16 x 16 = 256 per pixel)
APERTURE_SUPERSAMPLING = 16


def opencv_sigma(kernel_size: int) -> float:
    """The sigma OpenCV uses when none is given: 0.3·((k − 1)/2 − 1) + 0.8 (paper eq. 9)."""
    return 0.3 * ((kernel_size - 1) * 0.5 - 1) + 0.8


def opencv_kernel_size(sigma: float) -> int:
    """The kernel size OpenCV derives from sigma for float images: round(8·sigma + 1) | 1."""
    return round(sigma * 4 * 2 + 1) | 1


def box_kernel1d(
    size: int, *, dtype: torch.dtype = torch.float32, device: str | torch.device = "cpu"
) -> Tensor:
    """A normalised 1-D box kernel, (size,), every tap 1/size."""
    if size < 1:
        raise OptionError(f"box kernel size must be >= 1; got {size}")
    return torch.full((size,), 1.0 / size, dtype=torch.float64).to(dtype=dtype, device=device)


def gaussian_kernel1d(
    size: int,
    sigma: float | None = None,
    *,
    dtype: torch.dtype = torch.float32,
    device: str | torch.device = "cpu",
) -> Tensor:
    """A normalised 1-D Gaussian kernel, (size,), equal to OpenCV's ``getGaussianKernel``.

    Args:
        size: odd number of taps.
        sigma: standard deviation in pixels; None (or <= 0) uses OpenCV's rule
            :func:`opencv_sigma`, and for sizes 1, 3, 5 and 7 OpenCV's fixed binomial kernels.

    Raises:
        OptionError: for an even or non-positive size.
    """
    if size < 1 or size % 2 == 0:
        raise OptionError(f"Gaussian kernel size must be odd and >= 1; got {size}: use {size + 1}")
    if sigma is None or sigma <= 0:
        if size in _OPENCV_SMALL_GAUSSIANS:
            taps = torch.tensor(_OPENCV_SMALL_GAUSSIANS[size], dtype=torch.float64)
            return taps.to(dtype=dtype, device=device)
        sigma = opencv_sigma(size)
    x = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    taps = torch.exp(-(x * x) / (2 * sigma * sigma))
    return (taps / taps.sum()).to(dtype=dtype, device=device)


def aperture_size(radius: float) -> int:
    """Side of the square kernel holding an aperture of ``radius`` pixels: 2·ceil(r − ½) + 1."""
    return 2 * max(0, math.ceil(radius - 0.5)) + 1


def disk_kernel(
    radius: float,
    blades: int = 0,
    rotation: float = 0.0,
    *,
    dtype: torch.dtype = torch.float32,
    device: str | torch.device = "cpu",
) -> Tensor:
    """An anti-aliased lens aperture: a disk, or a regular polygon for a diaphragm of n blades.

    Each pixel's weight is the fraction of its square covered by the aperture (16 x 16 samples
    per pixel), so radii need not be whole numbers and edges are not jagged.

    Args:
        radius: aperture radius in pixels (the polygon's circumradius), >= 0. Below 0.5 the
            kernel is the identity (1 x 1).
        blades: 0 for a round aperture, else the number of diaphragm blades (>= 3).
        rotation: polygon rotation in degrees (counter-clockwise, first vertex on +x at 0).

    Returns:
        (K, K) kernel, K = 2·ceil(radius − ½) + 1, summing to 1. A disk is symmetric under
        flips and transposition; a polygon with an odd number of blades is not point-symmetric.

    Raises:
        OptionError: for a negative radius or 1 or 2 blades.
    """
    radius = check_radius(radius)
    if blades != 0 and blades < 3:
        raise OptionError(f"blades must be 0 (round) or >= 3; got {blades}")
    size = aperture_size(radius)
    half = size // 2
    if half == 0:
        return torch.ones(1, 1, dtype=dtype, device=device)
    s = APERTURE_SUPERSAMPLING
    offsets = (torch.arange(s, dtype=torch.float64) + 0.5) / s - 0.5  # symmetric about 0
    grid = (torch.arange(-half, half + 1, dtype=torch.float64)[:, None] + offsets).reshape(-1)
    y, x = grid[:, None], grid[None, :]  # (K·s, 1), (1, K·s); y points down
    if blades == 0:
        inside = (x * x + y * y) <= radius * radius
    else:
        angles = math.radians(rotation) + (2 * torch.arange(blades, dtype=torch.float64) + 1) * (
            math.pi / blades
        )
        # inside a convex polygon: on the inner side of every edge (distance <= apothem)
        reach = x[..., None] * torch.cos(angles) - y[..., None] * torch.sin(angles)
        inside = reach.amax(-1) <= radius * math.cos(math.pi / blades)
    coverage = inside.to(torch.float64).reshape(size, s, size, s).mean((1, 3))
    return (coverage / coverage.sum()).to(dtype=dtype, device=device)
