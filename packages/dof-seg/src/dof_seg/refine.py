"""Refine a coarse soft mask at the photo's full resolution, with the photo as the guide.

The built-in segmenters see a photo at 256 px; their masks, upsampled to 12 MP, have outlines
that are smooth ramps many pixels wide and do not follow the photo's edges. Two refinements:

- ``guided``: He et al.'s guided filter (kornia's :func:`kornia.filters.guided_blur`), the mask
  as input and the photo as guide: locally the output is an affine function of the photo's
  colours, so the outline snaps to colour edges. Its window scales with the photo
  (``radius`` is a fraction of the longer side, so it covers about the same part of a person
  at any size) and it runs as the fast guided filter (coefficients computed at reduced size,
  applied at full size) on big photos.
- ``matting``: closed-form alpha matting (Levin et al., from pymatting) in an unknown band
  around the outline: a trimap from the mask (sure person, sure background, unknown within
  ``band`` of the 0.5 contour), solved at a working size of at most ``matting_size`` px, then
  brought to full size by the guided filter. For hair and fine edges, at a cost in time.

``refine_masks(images, masks, "none")`` returns the masks unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dof_seg.errors import OptionError, ShapeError
from dof_seg.postprocess import check_images, check_masks

REFINE_MODES: tuple[str, ...] = ("none", "guided", "matting")


@dataclass(frozen=True)
class RefineConfig:
    """How :func:`refine_masks` works.

    Attributes:
        mode: "none", "guided" or "matting".
        radius: guided-filter window radius as a fraction of the photo's longer side
            (0.01 = 10 px on a 1000-px photo; at least 1 px).
        eps: guided-filter regularisation (larger = smoother, follows edges less).
        band: half-width of the matting trimap's unknown band, fraction of the longer side.
        matting_size: longest side matting is solved at (the result is upsampled).
        fast_above: photos with more pixels than this use the fast guided filter.
    """

    mode: str = "none"
    radius: float = 0.01
    eps: float = 1e-3
    band: float = 0.02
    matting_size: int = 512
    fast_above: int = 1_000_000

    def __post_init__(self) -> None:
        if self.mode not in REFINE_MODES:
            raise OptionError(f"refine must be one of {', '.join(REFINE_MODES)}; got {self.mode!r}")
        if not (self.radius > 0 and self.eps > 0 and self.band > 0 and self.matting_size >= 16):
            raise OptionError(
                "radius, eps and band must be > 0 and matting_size >= 16; got "
                f"{self.radius}, {self.eps}, {self.band}, {self.matting_size}"
            )


def _check(images: Tensor, masks: Tensor) -> None:
    check_images(images)
    check_masks(masks)
    if masks.shape[0] != images.shape[0] or masks.shape[-2:] != images.shape[-2:]:
        raise ShapeError(
            f"masks {tuple(masks.shape)} must match images {tuple(images.shape)} in batch and "
            "size: segment the same photos"
        )


def guided_refine(images: Tensor, masks: Tensor, radius: float = 0.01, eps: float = 1e-3,
                  *, fast_above: int = 1_000_000) -> Tensor:  # fmt: skip
    """Guided filter of the masks with the photos as guide.

    Args:
        images: (B, 3, H, W) float in [0, 1], the guide.
        masks: (B, 1, H, W) float in [0, 1].
        radius: window radius, fraction of the longer side (at least 1 px).
        eps: regularisation of the local linear model.
        fast_above: above this many pixels, coefficients are computed at a reduced size
            (kornia's ``subsample``, the fast guided filter).

    Returns:
        (B, 1, H, W) float in [0, 1], same dtype and device as ``masks``.
    """
    from kornia.filters import guided_blur

    _check(images, masks)
    H, W = images.shape[-2:]
    r = max(1, round(radius * max(H, W)))
    subsample = 1
    while H * W / (subsample * subsample) > fast_above and r // (2 * subsample) >= 1:
        subsample *= 2
    out = guided_blur(
        images.float(), masks.float(), 2 * r + 1, eps, subsample=subsample, separable=True
    )
    return out.clamp(0, 1).to(masks.dtype)


def trimap(masks: Tensor, band: int) -> Tensor:
    """(B, 1, H, W) trimap: 1 sure person, 0 sure background, 0.5 within ``band`` px of the
    mask's 0.5 contour."""
    check_masks(masks)
    hard = (masks >= 0.5).float()
    k = 2 * band + 1
    grown = F.max_pool2d(hard, k, stride=1, padding=band)
    shrunk = -F.max_pool2d(-hard, k, stride=1, padding=band)
    return torch.where(grown > shrunk, torch.full_like(hard, 0.5), hard)


def matting_refine(images: Tensor, masks: Tensor, config: RefineConfig = RefineConfig()) -> Tensor:
    """Closed-form alpha matting in a band around the outline (pymatting), at a working size
    of at most ``config.matting_size``, brought back to full size with the guided filter.

    Args:
        images: (B, 3, H, W) float in [0, 1].
        masks: (B, 1, H, W) float in [0, 1].

    Returns:
        (B, 1, H, W) float in [0, 1], same dtype and device as ``masks``.
    """
    from pymatting import estimate_alpha_cf

    _check(images, masks)
    H, W = images.shape[-2:]
    scale = min(1.0, config.matting_size / max(H, W))
    size = (max(1, round(H * scale)), max(1, round(W * scale)))
    small_img = F.interpolate(images.float(), size=size, mode="area") if scale < 1 else images
    small_mask = F.interpolate(masks.float(), size=size, mode="area") if scale < 1 else masks
    band = max(1, round(config.band * max(size)))
    trimaps = trimap(small_mask.float(), band)
    alphas = []
    for img, tri in zip(small_img, trimaps, strict=True):
        t = tri[0].cpu().double().numpy()
        if not ((t == 1).any() and (t == 0).any()):  # nothing to solve
            alphas.append(tri[0].float().cpu())
            continue
        rgb = img.permute(1, 2, 0).cpu().double().numpy()
        alpha = estimate_alpha_cf(rgb, t, laplacian_kwargs={"epsilon": 1e-6})
        alphas.append(torch.from_numpy(np.clip(alpha, 0, 1)).float())
    alpha = torch.stack(alphas)[:, None].to(masks.device)
    if scale < 1:
        alpha = F.interpolate(alpha, size=(H, W), mode="bilinear", align_corners=False)
        alpha = guided_refine(
            images, alpha, config.radius, config.eps, fast_above=config.fast_above
        )
    return alpha.clamp(0, 1).to(masks.dtype)


def refine_masks(images: Tensor, masks: Tensor, config: RefineConfig | str = "none") -> Tensor:
    """Refine (B, 1, H, W) masks with their (B, 3, H, W) photos; see the module docstring.

    ``config`` is a :class:`RefineConfig` or just the mode's name.
    """
    if isinstance(config, str):
        config = RefineConfig(mode=config)
    _check(images, masks)
    if config.mode == "guided":
        return guided_refine(images, masks, config.radius, config.eps, fast_above=config.fast_above)
    if config.mode == "matting":
        return matting_refine(images, masks, config)
    return masks


class Refine(nn.Module):
    """Module form of :func:`refine_masks`."""

    def __init__(self, config: RefineConfig = RefineConfig()) -> None:
        super().__init__()
        self.config = config

    def forward(self, images: Tensor, masks: Tensor) -> Tensor:
        return refine_masks(images, masks, self.config)
