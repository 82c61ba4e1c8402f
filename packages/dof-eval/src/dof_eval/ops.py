"""Tensor helpers the metrics share: input checks, grey levels, morphology and masked means.

Masks are (B, 1, H, W) floats in [0, 1] (1 = person); region masks returned here are bool
tensors of the same shape. Morphology uses a disk-shaped structuring element of the given
radius in pixels, so "eroded by 3" means "every pixel within 3 px of the background is dropped".
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from dof_eval.errors import ShapeError
from dof_io import check

#: Rec. 601 luma weights, the grey level the sharpness statistics are measured on.
LUMA = (0.299, 0.587, 0.114)


def check_image(name: str, image: Tensor) -> None:
    """Raise :class:`ShapeError` unless ``image`` is a (B, 3, H, W) float tensor in [0, 1]."""
    check.check_image(image, name, kind=Tensor, error=ShapeError)


def check_mask(name: str, mask: Tensor, like: Tensor) -> None:
    """Raise :class:`ShapeError` unless ``mask`` is (B, 1, H, W) matching ``like``'s B, H, W."""
    check.check_mask(mask, name, like, broadcast=False, error=ShapeError)


def check_same(name_a: str, a: Tensor, name_b: str, b: Tensor) -> None:
    """Raise :class:`ShapeError` unless two images have the same shape."""
    check.check_same_shape(a, name_a, b, name_b, error=ShapeError)


def check_render(image: Tensor, output: Tensor, mask: Tensor) -> None:
    """The checks every (input, output, mask) metric starts with; raises :class:`ShapeError`."""
    check_image("image", image)
    check_image("output", output)
    check_same("image", image, "output", output)
    check_mask("mask", mask, image)


def to_gray(image: Tensor) -> Tensor:
    """(B, 3, H, W) RGB in [0, 1] -> (B, 1, H, W) luma in [0, 1] (Rec. 601 weights)."""
    weights = torch.tensor(LUMA, dtype=image.dtype, device=image.device).view(1, 3, 1, 1)
    return (image * weights).sum(dim=1, keepdim=True)


def disk(radius: int, *, device: torch.device | None = None) -> Tensor:
    """A (2r+1, 2r+1) float kernel, 1 inside the disk of ``radius`` pixels, 0 outside."""
    r = int(radius)
    coords = torch.arange(-r, r + 1, dtype=torch.float32, device=device)
    return ((coords[:, None] ** 2 + coords[None, :] ** 2) <= r * r + 1e-6).float()


def binary(mask: Tensor, threshold: float = 0.5) -> Tensor:
    """Soft (B, 1, H, W) mask -> bool mask, True where ``mask >= threshold``."""
    return mask >= threshold


def dilate(region: Tensor, radius: int) -> Tensor:
    """Grow a bool (B, 1, H, W) region by ``radius`` px (disk); outside the frame is empty."""
    if radius <= 0:
        return region.clone()
    kernel = disk(radius, device=region.device)[None, None]  # (1, 1, k, k)
    hits = F.conv2d(region.float(), kernel, padding=radius)
    return hits > 0.5


def erode(region: Tensor, radius: int) -> Tensor:
    """Shrink a bool (B, 1, H, W) region by ``radius`` px (disk).

    The frame's edge does not erode: a person cut by the border keeps its pixels there.
    """
    if radius <= 0:
        return region.clone()
    return ~dilate(~region, radius)


def boundary_band(mask: Tensor, width: int) -> Tensor:
    """Bool (B, 1, H, W): pixels within ``width`` px of the outline, on either side."""
    region = binary(mask)
    return dilate(region, width) & ~erode(region, width)


def outer_band(mask: Tensor, width: int, gap: int = 0) -> Tensor:
    """Bool (B, 1, H, W): background pixels between ``gap`` and ``gap + width`` px outside."""
    region = binary(mask)
    return dilate(region, gap + width) & ~dilate(region, gap)


def interior(like: Tensor, border: int) -> Tensor:
    """Bool (B, 1, H, W): True except on a ``border``-pixel frame (where filters see padding)."""
    b, _, h, w = like.shape
    keep = torch.zeros(b, 1, h, w, dtype=torch.bool, device=like.device)
    keep[..., border : h - border, border : w - border] = True
    return keep


def masked_mean(values: Tensor, region: Tensor) -> Tensor:
    """Mean of (B, C, H, W) ``values`` over the bool (B, 1, H, W) ``region``, per image.

    Returns:
        (B,) float tensor; NaN for an image whose region is empty.
    """
    weights = region.to(values.dtype).expand_as(values)
    total = (values * weights).flatten(1).sum(dim=1)
    count = weights.flatten(1).sum(dim=1)
    return torch.where(count > 0, total / count.clamp_min(1), torch.full_like(total, float("nan")))


def masked_variance(values: Tensor, region: Tensor) -> Tensor:
    """Population variance of (B, 1, H, W) ``values`` over ``region``, per image; NaN if empty."""
    mean = masked_mean(values, region)
    centred = (values - mean.view(-1, 1, 1, 1)) ** 2
    return masked_mean(centred, region)
