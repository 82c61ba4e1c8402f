"""How :func:`~dof_smooth.portrait_blur` runs: prepare -> blur -> finish.

The same three steps run either on whole tensors (any blur, any device, differentiable) or,
for the lens blur's FFT path, streamed band by band through
:func:`~dof_smooth.fft.stream_filter2d`: each band of rows is decoded, weighted, blurred,
normalised, composited and encoded while it is in cache, and no whole-image intermediate is
ever allocated. On a 12-megapixel photo that halves the time and the memory.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from dof_smooth.color import boost_highlights, linear_to_srgb, srgb_to_linear
from dof_smooth.composite import Blur, background_weight, feather_matte, normalise, premultiply
from dof_smooth.fft import Rows, stream_filter2d


@dataclass(frozen=True)
class Recipe:
    """What portrait_blur does around the blur.

    Attributes:
        halo_free: blur the background without the subject (else the paper's paste).
        linear: blur in linear light (decode sRGB first, encode at the end).
        highlights: highlight boost gain before the blur (0 = off).
        feather: sigma of the matte's feathering (halo-free only).
    """

    halo_free: bool
    linear: bool
    highlights: float = 0.0
    feather: float = 1.0

    def work(self, image: Tensor) -> Tensor:
        """The photo in the space the blur works in: (b, 3, h, w)."""
        return srgb_to_linear(image) if self.linear else image

    def prepare(self, work: Tensor, mask: Tensor) -> Tensor:
        """What gets blurred: the (boosted) photo, premultiplied by the background weight for
        the halo-free composite: (b, 3, h, w), or (b, 4, h, w) with the weight last."""
        source = boost_highlights(work, self.highlights) if self.highlights else work
        return premultiply(source, background_weight(mask)) if self.halo_free else source

    def matte(self, mask: Tensor) -> Tensor:
        """The matte the subject is laid back through."""
        return feather_matte(mask, self.feather) if self.halo_free else mask

    def finish(self, work: Tensor, matte: Tensor, blurred: Tensor) -> Tensor:
        """Blurred stack -> final image rows in [0, 1]: (b, 3, h, w)."""
        background = normalise(blurred, work) if self.halo_free else blurred
        out = torch.lerp(background, work, matte)
        return linear_to_srgb(out) if self.linear else out.clamp(0, 1)


def run_whole(recipe: Recipe, image: Tensor, mask: Tensor, blur: Blur) -> Tensor:
    """The three steps on whole tensors."""
    work = recipe.work(image)
    return recipe.finish(work, recipe.matte(mask), blur(recipe.prepare(work, mask)))


def run_streamed(recipe: Recipe, image: Tensor, mask: Tensor, kernel: Tensor) -> Tensor:
    """The three steps band by band around the FFT lens blur (no autograd)."""
    B, _, H, W = image.shape
    matte = recipe.matte(mask)
    out = torch.empty_like(image)

    def read(images: slice, rows: Rows) -> Tensor:
        return recipe.prepare(recipe.work(rows.take(image[images])), rows.take(mask[images]))

    def write(images: slice, y0: int, blurred: Tensor) -> None:
        band = slice(y0, y0 + blurred.shape[-2])
        work = recipe.work(image[images, :, band])
        out[images, :, band] = recipe.finish(work, matte[images, :, band], blurred)

    channels = 4 if recipe.halo_free else 3
    stream_filter2d(read, write, (B, channels, H, W), kernel)
    return out
