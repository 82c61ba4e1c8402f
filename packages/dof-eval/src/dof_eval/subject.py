"""Subject preservation: does the person stay as sharp and unchanged as in the input?

Definitions (also in docs/eval.md):

- ``subject_psnr`` = 10 · log10(1 / MSE), where MSE is the mean squared difference between input
  and output over the pixels of the person mask eroded by ``erosion`` px (all three channels, values
  in [0, 1]). Higher is better; identical subjects give +inf.
- ``subject_ssim`` = the mean, over the same eroded mask, of the SSIM map (Wang et al. 2004:
  11 x 11 Gaussian window, sigma 1.5, K1 = 0.01, K2 = 0.03, computed per RGB channel with
  mirror padding, channels averaged). 1 is identical.

The erosion keeps the outline out: segmentation masks are a few pixels off there, and what
happens at the outline is measured by the halo metric instead.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dof_eval.errors import ShapeError
from dof_eval.ops import binary, check_render, check_same, erode, masked_mean

SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
SSIM_K1 = 0.01
SSIM_K2 = 0.03


def _gaussian_blur(stack: Tensor) -> Tensor:
    """Separable Gaussian (SSIM's window) of every channel, mirror padding, same size."""
    pad = SSIM_WINDOW // 2
    coords = torch.arange(SSIM_WINDOW, dtype=stack.dtype, device=stack.device) - pad
    g = torch.exp(-(coords**2) / (2 * SSIM_SIGMA**2))
    g = g / g.sum()
    channels = stack.shape[1]
    rows = g.view(1, 1, 1, -1).expand(channels, 1, 1, SSIM_WINDOW)
    cols = g.view(1, 1, -1, 1).expand(channels, 1, SSIM_WINDOW, 1)
    x = F.pad(stack, (pad, pad, pad, pad), mode="reflect")
    return F.conv2d(F.conv2d(x, rows, groups=channels), cols, groups=channels)


def ssim_map(a: Tensor, b: Tensor, *, data_range: float = 1.0) -> Tensor:
    """Per-pixel SSIM of two images (Gaussian window 11, sigma 1.5, mirror padding).

    Args:
        a: (B, C, H, W) float image, values in [0, data_range].
        b: same shape as ``a``.
        data_range: the value range (1.0 for images in [0, 1]).

    Returns:
        (B, C, H, W) SSIM map, 1 where the images agree locally.

    Raises:
        ShapeError: when the shapes differ or an image is smaller than the window.
    """
    check_same("a", a, "b", b)
    pad = SSIM_WINDOW // 2
    if min(a.shape[-2:]) <= pad:
        raise ShapeError(f"SSIM needs images larger than {pad} px; got {tuple(a.shape[-2:])}")
    c1 = (SSIM_K1 * data_range) ** 2
    c2 = (SSIM_K2 * data_range) ** 2
    # Centre both images on a common per-channel constant: SSIM's (co)variances do not change,
    # and E[x²] - E[x]² no longer cancels catastrophically in float32.
    shift = ((a + b) / 2).mean(dim=(2, 3), keepdim=True)  # (B, C, 1, 1)
    x, y = a - shift, b - shift
    stack = torch.cat([x, y, x * x, y * y, x * y], dim=1)  # (B, 5C, H, W)
    mu_x, mu_y, e_xx, e_yy, e_xy = _gaussian_blur(stack).chunk(5, dim=1)
    var_a, var_b, cov = e_xx - mu_x**2, e_yy - mu_y**2, e_xy - mu_x * mu_y
    mu_a, mu_b = mu_x + shift, mu_y + shift
    num = (2 * mu_a * mu_b + c1) * (2 * cov + c2)
    den = (mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2)
    return num / den


def masked_psnr(a: Tensor, b: Tensor, region: Tensor, *, data_range: float = 1.0) -> Tensor:
    """PSNR of two (B, C, H, W) images over a bool (B, 1, H, W) region.

    Returns:
        (B,) PSNR in dB; +inf where the region is identical, NaN where it is empty.
    """
    check_same("a", a, "b", b)
    mse = masked_mean((a - b).double() ** 2, region)
    psnr = 10 * torch.log10(data_range**2 / mse)
    return psnr.to(a.dtype)


def masked_ssim(a: Tensor, b: Tensor, region: Tensor, *, data_range: float = 1.0) -> Tensor:
    """Mean SSIM of two (B, C, H, W) images over a bool (B, 1, H, W) region; NaN if empty."""
    return masked_mean(ssim_map(a, b, data_range=data_range), region)


def subject_region(mask: Tensor, erosion: int = 3) -> Tensor:
    """Bool (B, 1, H, W): the person mask (>= 0.5) eroded by ``erosion`` px."""
    return erode(binary(mask), erosion)


def subject_preservation(
    image: Tensor, output: Tensor, mask: Tensor, *, erosion: int = 3
) -> tuple[Tensor, Tensor]:
    """PSNR and SSIM between input and output inside the eroded person mask.

    Args:
        image: input photo, (B, 3, H, W), float in [0, 1].
        output: rendered photo, (B, 3, H, W), float in [0, 1].
        mask: person mask, (B, 1, H, W), float in [0, 1], 1 = person.
        erosion: how many pixels of the outline to leave out.

    Returns:
        ``(psnr, ssim)``: two (B,) tensors; PSNR in dB (+inf when identical), SSIM <= 1.
        NaN for an image whose eroded mask is empty.

    Raises:
        ShapeError: on wrong shapes or dtypes.
    """
    check_render(image, output, mask)
    region = subject_region(mask, erosion)
    return masked_psnr(image, output, region), masked_ssim(image, output, region)


class SubjectPreservation(nn.Module):
    """Module form of :func:`subject_preservation`."""

    def __init__(self, erosion: int = 3) -> None:
        super().__init__()
        self.erosion = erosion

    def forward(self, image: Tensor, output: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        return subject_preservation(image, output, mask, erosion=self.erosion)
