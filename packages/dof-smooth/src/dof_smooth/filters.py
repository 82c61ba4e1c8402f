"""The three blurs of the baseline, as kornia-style function and Module pairs.

- :func:`box_blur2d`: the paper's 5x5 box filter, equal to OpenCV's ``blur``;
- :func:`gaussian_blur2d`: equal to OpenCV's ``GaussianBlur`` (the paper's eq. 9 sigma rule);
- :func:`lens_blur2d`: a real aperture (anti-aliased disk or n-blade polygon).

All take (B, C, H, W) floating tensors on any device, use reflect-101 borders (OpenCV's
default), keep dtype and device, and are differentiable. Values need not be in [0, 1].
"""

from __future__ import annotations

from torch import Tensor, nn

from dof_smooth._checks import check_4d, check_kernel_size
from dof_smooth.errors import OptionError
from dof_smooth.fft import filter2d
from dof_smooth.kernels import box_kernel1d, disk_kernel, gaussian_kernel1d, opencv_kernel_size
from dof_smooth.separable import separable_filter2d


def _pair(value: float | tuple[float, float], name: str) -> tuple[float, float]:
    if isinstance(value, int | float):
        return float(value), float(value)
    pair = tuple(value)
    if len(pair) != 2:
        raise OptionError(f"{name} must be a number or a (height, width) pair; got {value!r}")
    return float(pair[0]), float(pair[1])


def box_blur2d(x: Tensor, kernel_size: int | tuple[int, int] = 5, *, path: str = "auto") -> Tensor:
    """Mean over a kernel_size box around each pixel (OpenCV ``blur``, BORDER_REFLECT_101).

    Args:
        x: (B, C, H, W) floating tensor.
        kernel_size: box side, or (height, width). Even sizes anchor at k // 2, as OpenCV does.
        path: ``auto``, ``direct`` or ``blocked`` (see :func:`separable_filter2d`).

    Returns:
        (B, C, H, W) tensor, same dtype and device.

    Raises:
        ShapeError, DTypeError: for a tensor that is not floating (B, C, H, W).
        OptionError: for a size below 1.
    """
    x = check_4d(x, "x")
    kh, kw = check_kernel_size(kernel_size, "kernel_size", odd=False)
    ky = box_kernel1d(kh, dtype=x.dtype, device=x.device)
    kx = box_kernel1d(kw, dtype=x.dtype, device=x.device)
    return separable_filter2d(x, ky, kx, path=path)


def gaussian_blur2d(
    x: Tensor,
    kernel_size: int | tuple[int, int] | None = 9,
    sigma: float | tuple[float, float] | None = None,
    *,
    path: str = "auto",
) -> Tensor:
    """Gaussian blur equal to OpenCV's ``GaussianBlur`` (BORDER_REFLECT_101).

    With ``sigma=None`` the sigma comes from the kernel size by OpenCV's rule,
    sigma = 0.3·((k − 1)/2 − 1) + 0.8 (the paper's eq. 9), and sizes 3, 5 and 7 use OpenCV's
    fixed binomial kernels; with ``kernel_size=None`` the size comes from sigma,
    round(8·sigma + 1) | 1.

    Args:
        x: (B, C, H, W) floating tensor.
        kernel_size: odd side, or (height, width); None to derive it from sigma.
        sigma: standard deviation in pixels, or (sigma_y, sigma_x); None for OpenCV's rule.
        path: ``auto``, ``direct`` or ``blocked`` (see :func:`separable_filter2d`).

    Returns:
        (B, C, H, W) tensor, same dtype and device.

    Raises:
        OptionError: for an even size, a negative sigma, or neither size nor sigma.
    """
    x = check_4d(x, "x")
    if kernel_size is None and sigma is None:
        raise OptionError("give kernel_size, sigma or both; got neither (the paper used 9)")
    sy, sx = _pair(sigma, "sigma") if sigma is not None else (0.0, 0.0)
    if sy < 0 or sx < 0:
        raise OptionError(f"sigma must be >= 0 (0 or None: OpenCV's rule); got {sigma!r}")
    if kernel_size is None:
        if sy == 0 or sx == 0:
            raise OptionError(f"sigma must be > 0 when kernel_size is None; got {sigma!r}")
        kernel_size = (opencv_kernel_size(sy), opencv_kernel_size(sx))
    kh, kw = check_kernel_size(kernel_size, "kernel_size", odd=True)
    ky = gaussian_kernel1d(kh, sy or None, dtype=x.dtype, device=x.device)
    kx = gaussian_kernel1d(kw, sx or None, dtype=x.dtype, device=x.device)
    return separable_filter2d(x, ky, kx, path=path)


def lens_blur2d(
    x: Tensor,
    radius: float,
    *,
    blades: int = 0,
    rotation: float = 0.0,
    path: str = "auto",
) -> Tensor:
    """Defocus through a real aperture: an anti-aliased disk, or an n-blade polygon.

    Args:
        x: (B, C, H, W) floating tensor.
        radius: aperture radius in pixels (float; < 0.5 is the identity).
        blades: 0 for a round aperture, else the number of diaphragm blades (>= 3).
        rotation: polygon rotation in degrees.
        path: ``auto`` (tiled FFT on the CPU and for large radii, direct convolution for small
            radii on a GPU), ``direct`` or ``fft``; all agree to about 1e-6.

    Returns:
        (B, C, H, W) tensor, same dtype and device.
    """
    x = check_4d(x, "x")
    kernel = disk_kernel(radius, blades, rotation, dtype=x.dtype, device=x.device)
    return filter2d(x, kernel, path=path)


class BoxBlur2d(nn.Module):
    """Module form of :func:`box_blur2d`."""

    def __init__(self, kernel_size: int | tuple[int, int] = 5, *, path: str = "auto") -> None:
        super().__init__()
        self.kernel_size = check_kernel_size(kernel_size, "kernel_size", odd=False)
        self.path = path

    def forward(self, x: Tensor) -> Tensor:
        return box_blur2d(x, self.kernel_size, path=self.path)


class GaussianBlur2d(nn.Module):
    """Module form of :func:`gaussian_blur2d`."""

    def __init__(
        self,
        kernel_size: int | tuple[int, int] | None = 9,
        sigma: float | tuple[float, float] | None = None,
        *,
        path: str = "auto",
    ) -> None:
        super().__init__()
        self.kernel_size, self.sigma, self.path = kernel_size, sigma, path

    def forward(self, x: Tensor) -> Tensor:
        return gaussian_blur2d(x, self.kernel_size, self.sigma, path=self.path)


class LensBlur2d(nn.Module):
    """Module form of :func:`lens_blur2d`."""

    def __init__(
        self, radius: float, *, blades: int = 0, rotation: float = 0.0, path: str = "auto"
    ) -> None:
        super().__init__()
        self.radius, self.blades, self.rotation, self.path = radius, blades, rotation, path

    def forward(self, x: Tensor) -> Tensor:
        return lens_blur2d(
            x, self.radius, blades=self.blades, rotation=self.rotation, path=self.path
        )
