"""Halo: how much of the subject's colour leaks into a thin band just outside its outline.

Definition (also in docs/eval.md). Let ``x`` be the input, ``y`` the output, and for every pixel
let ``s`` and ``b`` be the input's local mean colour of the subject and of the background (box
averages of radius ``reach`` over the mask and its complement). Over the band of background
pixels between ``gap`` and ``gap + width`` px outside the mask:

    halo = Σ <y - x, s - b> / Σ |s - b|²

the least-squares fraction α in ``y - x ≈ α (s - b)``: how far the band moved from the
background's colour toward the subject's. 0 = no leakage (an unchanged band gives exactly 0; a
halo-free blur gives about 0, since blurring texture moves pixels in no consistent direction
relative to ``s - b``); 0.3 = the band looks 30 % subject, the bright or dark rim that a blur
pasted under a sharp subject leaves. Pixels where subject and background have similar colours
weigh little, because they cannot show a halo.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dof_eval.ops import binary, check_render, outer_band


def _local_mean(image: Tensor, weights: Tensor, reach: int) -> tuple[Tensor, Tensor]:
    """Box-average of ``image`` over ``weights`` (radius ``reach``) and the weights' coverage."""
    size = 2 * reach + 1
    total = F.avg_pool2d(image * weights, size, stride=1, padding=reach, count_include_pad=False)
    cover = F.avg_pool2d(weights, size, stride=1, padding=reach, count_include_pad=False)
    return total / cover.clamp_min(1e-6), cover


def halo_leakage(
    image: Tensor,
    output: Tensor,
    mask: Tensor,
    *,
    width: int = 4,
    gap: int = 1,
    reach: int | None = None,
) -> Tensor:
    """Fraction of the subject's colour mixed into the band just outside the outline.

    Args:
        image: input photo, (B, 3, H, W), float in [0, 1].
        output: rendered photo, same shape.
        mask: person mask, (B, 1, H, W), float in [0, 1], 1 = person.
        width: band width in pixels.
        gap: pixels right at the outline left out (masks are rarely exact there).
        reach: radius of the local colour averages; default ``2 * (gap + width)``.

    Returns:
        (B,) float, 0 = no leakage, positive = a rim of subject colour; NaN where the band is
        empty or subject and background have the same colour everywhere along it.

    Raises:
        ShapeError: on wrong shapes or dtypes.
    """
    check_render(image, output, mask)
    reach = 2 * (gap + width) if reach is None else reach
    subject = binary(mask).to(image.dtype)
    s, s_cover = _local_mean(image, subject, reach)  # (B, 3, H, W), (B, 1, H, W)
    b, b_cover = _local_mean(image, 1 - subject, reach)
    band = outer_band(mask, width, gap) & (s_cover > 0) & (b_cover > 0)
    u = (s - b) * band
    num = ((output - image) * u).flatten(1).sum(dim=1)
    den = (u * u).flatten(1).sum(dim=1)
    nan = torch.full_like(num, float("nan"))
    return torch.where(den > 1e-8, num / den.clamp_min(1e-8), nan)


class HaloLeakage(nn.Module):
    """Module form of :func:`halo_leakage`."""

    def __init__(self, width: int = 4, gap: int = 1, reach: int | None = None) -> None:
        super().__init__()
        self.width, self.gap, self.reach = width, gap, reach

    def forward(self, image: Tensor, output: Tensor, mask: Tensor) -> Tensor:
        return halo_leakage(image, output, mask, width=self.width, gap=self.gap, reach=self.reach)
