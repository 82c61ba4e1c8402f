"""Background defocus: how much high-frequency detail is left behind the subject?

Definitions (also in docs/eval.md):

- ``high_frequency_energy(image, region)`` = the variance of the 3 x 3 Laplacian
  ``[[0, 1, 0], [1, -4, 1], [0, 1, 0]]`` of the luma (Rec. 601, values in [0, 1]) over the region,
  leaving out a 1-pixel frame where the filter sees padding. The classic "variance of the
  Laplacian" focus measure (Pech-Pacheco et al. 2000).
- ``defocus_ratio`` = HF(output, background) / HF(input, background), where background = the
  complement of the person mask dilated by ``dilation`` px. 1 = the background is as sharp as
  before; 0.1 = a tenth of its high-frequency energy is left. Lower means stronger defocus.
- ``focus_ratio`` = HF(image, background) / HF(image, subject), subject = person mask eroded by
  ``erosion`` px. It needs no "before" image, so it can be measured on real shallow
  depth-of-field photos as well as on outputs: a real portrait with a fast lens has a background
  far less sharp than its subject (ratio well under 1).

Both statistics depend on the image size (a downscaled photo looks sharper), so compare them at
the same resolution.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dof_eval.ops import (
    binary,
    check_image,
    check_mask,
    check_render,
    dilate,
    erode,
    interior,
    masked_variance,
    to_gray,
)

LAPLACIAN = ((0.0, 1.0, 0.0), (1.0, -4.0, 1.0), (0.0, 1.0, 0.0))


def laplacian(image: Tensor) -> Tensor:
    """(B, 3, H, W) RGB in [0, 1] -> (B, 1, H, W) Laplacian of the luma (replicate padding)."""
    gray = to_gray(image)
    kernel = torch.tensor(LAPLACIAN, dtype=image.dtype, device=image.device)[None, None]
    return F.conv2d(F.pad(gray, (1, 1, 1, 1), mode="replicate"), kernel)


def high_frequency_energy(image: Tensor, region: Tensor) -> Tensor:
    """Variance of the Laplacian of the luma over a region.

    Args:
        image: (B, 3, H, W), float in [0, 1].
        region: bool (B, 1, H, W), where to measure.

    Returns:
        (B,) float; NaN where the region (less a 1-px frame) is empty.
    """
    check_image("image", image)
    check_mask("region", region, image)
    keep = region.bool() & interior(image, 1)
    return masked_variance(laplacian(image), keep)


def background_region(mask: Tensor, dilation: int = 8) -> Tensor:
    """Bool (B, 1, H, W): outside the person mask dilated by ``dilation`` px."""
    return ~dilate(binary(mask), dilation)


def defocus_ratio(image: Tensor, output: Tensor, mask: Tensor, *, dilation: int = 8) -> Tensor:
    """High-frequency energy of the output's background relative to the input's.

    Args:
        image: input photo, (B, 3, H, W), float in [0, 1].
        output: rendered photo, same shape.
        mask: person mask, (B, 1, H, W), float in [0, 1].
        dilation: pixels around the person left out of the background.

    Returns:
        (B,) ratio >= 0 (1 = unchanged, lower = more defocus); NaN where the background is empty
        or the input's background is perfectly flat.
    """
    check_render(image, output, mask)
    region = background_region(mask, dilation)
    before = high_frequency_energy(image, region)
    after = high_frequency_energy(output, region)
    return torch.where(before > 0, after / before, torch.full_like(before, float("nan")))


def focus_ratio(image: Tensor, mask: Tensor, *, dilation: int = 8, erosion: int = 3) -> Tensor:
    """High-frequency energy of the background relative to the subject, in one image.

    Args:
        image: (B, 3, H, W), float in [0, 1] (an output, or a real shallow-DoF photo).
        mask: person mask, (B, 1, H, W), float in [0, 1].
        dilation: pixels around the person left out of the background.
        erosion: pixels of the outline left out of the subject.

    Returns:
        (B,) ratio >= 0 (lower = background softer than the subject); NaN where a region is
        empty or the subject is perfectly flat.
    """
    check_image("image", image)
    check_mask("mask", mask, image)
    background = high_frequency_energy(image, background_region(mask, dilation))
    subject = high_frequency_energy(image, erode(binary(mask), erosion))
    return torch.where(subject > 0, background / subject, torch.full_like(subject, float("nan")))


class DefocusRatio(nn.Module):
    """Module form of :func:`defocus_ratio`."""

    def __init__(self, dilation: int = 8) -> None:
        super().__init__()
        self.dilation = dilation

    def forward(self, image: Tensor, output: Tensor, mask: Tensor) -> Tensor:
        return defocus_ratio(image, output, mask, dilation=self.dilation)


class FocusRatio(nn.Module):
    """Module form of :func:`focus_ratio`."""

    def __init__(self, dilation: int = 8, erosion: int = 3) -> None:
        super().__init__()
        self.dilation = dilation
        self.erosion = erosion

    def forward(self, image: Tensor, mask: Tensor) -> Tensor:
        return focus_ratio(image, mask, dilation=self.dilation, erosion=self.erosion)
