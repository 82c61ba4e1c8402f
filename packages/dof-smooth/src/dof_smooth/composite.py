"""Putting the sharp subject back: the paper's paste, and the halo-free composite.

``paste`` blurs the whole photo, subject included, so near the outline the background gets the
subject's colours smeared into it: a halo as wide as the blur. ``halo_free_composite`` blurs the
background with the subject cut out and renormalised (normalised convolution),

    background = blur(I · (1 − M)) / blur(1 − M),

so every background pixel is an average of background pixels only, then lays the subject over it
through a slightly feathered matte so the cut is not a hard step.

For a soft matte (a segmenter's output) the background weight is (1 − M)⁴ rather than (1 − M):
a pixel of matte α holds α of the subject's colour, and with weight (1 − α) it would lend up to
α·(1 − α) = 25% of it to the background around; with (1 − α)⁴ at most 8%. For a hard 0/1 mask
both are the formula above.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from dof_smooth._checks import check_4d, check_same_size
from dof_smooth.errors import OptionError
from dof_smooth.filters import gaussian_blur2d

#: a blur: (B, C, H, W) -> (B, C, H, W), the same for every channel
Blur = Callable[[Tensor], Tensor]

#: below this blurred background weight, a pixel has no background within reach of the blur
COVERAGE_EPS = 1e-3


def paste(image: Tensor, blurred: Tensor, mask: Tensor) -> Tensor:
    """The paper's composite: the subject pasted back over a blurred copy of the photo.

    Args:
        image: sharp photo, (B, C, H, W).
        blurred: blurred photo, (B, C, H, W).
        mask: subject matte, (B, 1, H, W) in [0, 1], 1 = subject.

    Returns:
        (B, C, H, W): ``image · mask + blurred · (1 − mask)``.

    Raises:
        ShapeError, DTypeError, DeviceError: for tensors that do not fit together.
    """
    image = check_4d(image, "image")
    blurred = check_4d(blurred, "blurred", channels=image.shape[1])
    mask = check_4d(mask, "mask", channels=1)
    check_same_size(blurred, "blurred", image, "image")
    check_same_size(mask, "mask", image, "image")
    return torch.lerp(blurred, image, mask.to(image.dtype))


def background_weight(mask: Tensor) -> Tensor:
    """How much each pixel counts as background: (1 − mask)⁴ (see the module docstring)."""
    return (1 - mask).square().square()


def premultiply(x: Tensor, weight: Tensor) -> Tensor:
    """The stack a normalised convolution blurs: (B, C + 1, H, W) of ``x · w`` and ``w``."""
    return torch.cat([x * weight, weight], dim=1)


def normalise(stacked: Tensor, fallback: Tensor) -> Tensor:
    """A blurred premultiplied stack -> the weighted average; ``fallback`` where no weight
    reached (coverage <= :data:`COVERAGE_EPS`)."""
    C = stacked.shape[1] - 1
    numerator, coverage = stacked[:, :C], stacked[:, C:]
    average = numerator / coverage.clamp_min(COVERAGE_EPS)
    return torch.where(coverage > COVERAGE_EPS, average, fallback)


def masked_blur(x: Tensor, weight: Tensor, blur: Blur, *, fallback: Tensor | None = None) -> Tensor:
    """Normalised convolution: ``blur(x · w) / blur(w)``, one blur call for both.

    Args:
        x: (B, C, H, W) values to average.
        weight: (B, 1, H, W) in [0, 1], how much each pixel counts.
        blur: the blur, applied once to the (B, C + 1, H, W) stack of ``x · w`` and ``w``.
        fallback: (B, C, H, W) values for pixels with no weight within reach (default ``x``).

    Returns:
        (B, C, H, W) weighted average of ``x`` around each pixel.
    """
    return normalise(blur(premultiply(x, weight)), x if fallback is None else fallback)


def feather_matte(mask: Tensor, sigma: float) -> Tensor:
    """Soften a matte's outline with a Gaussian of ``sigma`` pixels (0 = unchanged)."""
    if sigma < 0:
        raise OptionError(f"feather must be >= 0 pixels; got {sigma}")
    if sigma == 0:
        return mask
    return gaussian_blur2d(mask, None, sigma).clamp(0, 1)


def halo_free_composite(
    image: Tensor,
    mask: Tensor,
    blur: Blur,
    *,
    feather: float = 1.0,
    source: Tensor | None = None,
) -> Tensor:
    """Blur the background without the subject, then lay the subject over it.

    Args:
        image: sharp photo, (B, C, H, W).
        mask: subject matte, (B, 1, H, W) in [0, 1], 1 = subject.
        blur: the background blur, e.g. ``lambda t: lens_blur2d(t, 12)``.
        feather: Gaussian sigma in pixels that softens the matte's outline (0 = as given).
        source: what to blur instead of ``image`` (say, the photo with boosted highlights);
            (B, C, H, W). The subject is always taken from ``image``.

    Returns:
        (B, C, H, W) composite. Pixels farther inside the subject than the blur reaches have
        no background to average and keep the photo.

    Raises:
        ShapeError, DTypeError, DeviceError: for tensors that do not fit together.
    """
    image = check_4d(image, "image")
    mask = check_4d(mask, "mask", channels=1)
    check_same_size(mask, "mask", image, "image")
    if source is None:
        source = image
    else:
        source = check_4d(source, "source", channels=image.shape[1])
        check_same_size(source, "source", image, "image")
    mask = mask.to(image.dtype)
    background = masked_blur(source, background_weight(mask), blur, fallback=image)
    return torch.lerp(background, image, feather_matte(mask, feather))


class Paste(nn.Module):
    """Module form of :func:`paste`."""

    def forward(self, image: Tensor, blurred: Tensor, mask: Tensor) -> Tensor:
        return paste(image, blurred, mask)


class HaloFreeComposite(nn.Module):
    """Module form of :func:`halo_free_composite`; ``blur`` is a Module such as ``LensBlur2d``."""

    def __init__(self, blur: nn.Module, *, feather: float = 1.0) -> None:
        super().__init__()
        self.blur, self.feather = blur, feather

    def forward(self, image: Tensor, mask: Tensor, source: Tensor | None = None) -> Tensor:
        return halo_free_composite(image, mask, self.blur, feather=self.feather, source=source)
