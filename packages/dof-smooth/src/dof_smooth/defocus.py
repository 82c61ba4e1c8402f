"""Defocus by a per-pixel radius map: the lens drawing a map from anywhere.

A defocus map gives each pixel the radius, in pixels, of its circle of confusion: 0 is in
focus. :func:`defocus_blur` draws it the way :func:`~dof_smooth.depth_blur` draws depth: the
radii are cut into levels ``0, s, 2s, ..., K·s``, each pixel belongs to the two levels around
its radius with tent weights (linear in the radius, so a continuous radius gets a gradient;
nothing is rounded; the nearer of the two is laid over the farther, so a pixel at 2.25 is 0.92
of the radius-2 blur and 0.08 of the radius-3 one), every level is blurred premultiplied by its
weight with a disk of its radius in linear light, and the levels are laid over each other from
the largest radius to 0 (:func:`~dof_smooth.depth.render_layers`). A sharper pixel is taken to
be nearer the focal plane and so in front: a sharp subject covers the blurred background behind
it and never bleeds into it, and the background that the subject uncovers is filled with the
background's own normalised blur (the halo-free rule, level by level).

The output is a convex blend of blurred copies of the input at every pixel, so it cannot hold a
colour outside the range of those blurs; where the map is 0 it is the input, exactly.

Used alone with a map from another model (monocular depth turned into radii, a hand-painted
map), and by dof-gan's defocus generator, which predicts the map.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor, nn

from dof_smooth._checks import check_4d, check_radius, check_same_size, check_unit_range
from dof_smooth.color import boost_highlights, linear_to_srgb, srgb_to_linear
from dof_smooth.depth import render_layers
from dof_smooth.errors import OptionError, ValueRangeError
from dof_smooth.methods import make_blur


def radius_levels(
    top: float, *, step: float | None = None, levels: int | None = None
) -> list[float]:
    """The radii the map is drawn at: ``0, s, 2s, ...`` up to ``top`` (at least 0 and ``top``).

    Args:
        top: the largest radius to draw, >= 0.
        step: spacing of the levels in pixels (default 1: every whole radius).
        levels: number of levels from 0 to ``top`` inclusive (>= 2) instead of ``step``.

    Returns:
        Increasing radii starting at 0; just ``[0.0]`` when ``top`` is 0.
    """
    top = check_radius(top, "max_radius")
    if step is not None and levels is not None:
        raise OptionError("give step or levels, not both")
    if levels is not None and (isinstance(levels, bool) or levels < 2):
        raise OptionError(f"levels must be an int >= 2 (0 and the largest radius); got {levels}")
    if step is not None and (not math.isfinite(step) or step <= 0):
        raise OptionError(f"step must be a finite number of pixels > 0; got {step}")
    if top == 0:
        return [0.0]
    count = levels - 1 if levels is not None else max(1, math.ceil(top / (step or 1.0) - 1e-9))
    return [top * k / count for k in range(count + 1)]


def level_weights(radius: Tensor, radii: list[float]) -> Tensor:
    """Tent weights of each pixel's radius over evenly spaced levels, (L, B, 1, H, W).

    A radius between two levels is shared between them in proportion to its distance from each
    (linear in the radius, so differentiable); a radius above the last level is drawn there.
    The weights sum to 1 at every pixel.
    """
    if len(radii) == 1:
        return torch.ones_like(radius)[None]
    spacing = radii[1] - radii[0]
    t = radius.clamp(0, radii[-1])[None] / spacing  # (1, B, 1, H, W), in level units
    k = torch.arange(len(radii), dtype=radius.dtype, device=radius.device).view(-1, 1, 1, 1, 1)
    return (1 - (t - k).abs()).clamp_min(0)


def check_radius_map(radius: object, image: Tensor, name: str = "radius") -> Tensor:
    """``radius`` is a (B, 1, H, W) map like ``image``, finite and >= 0 (one host sync)."""
    radius = check_4d(radius, name, channels=1)
    check_same_size(radius, name, image, "image")
    lo, hi = (float(v) for v in torch.aminmax(radius.detach()))
    if math.isnan(lo) or math.isnan(hi) or math.isinf(lo) or math.isinf(hi):
        raise ValueRangeError(f"{name} contains NaN or inf: every pixel needs a finite radius")
    if lo < 0:
        raise ValueRangeError(
            f"{name} must be >= 0 (pixels of blur radius); got min {lo:.4g}: clamp it with "
            f"{name}.clamp_min(0)"
        )
    return radius


def defocus_blur(
    image: Tensor,
    radius: Tensor,
    *,
    max_radius: float | None = None,
    step: float | None = None,
    levels: int | None = None,
    blades: int = 0,
    rotation: float = 0.0,
    linear: bool = True,
    highlights: float = 0.0,
    path: str = "auto",
) -> Tensor:
    """Blur every pixel by its own radius, sharp in front, in linear light.

    Args:
        image: (B, 3, H, W) float photo in [0, 1].
        radius: (B, 1, H, W) blur radius of each pixel in pixels, finite, >= 0; 0 = in focus.
        max_radius: the largest level drawn (default: the map's maximum, one host sync; give it
            to keep the levels the same from call to call, as training does). Radii above it are
            drawn at it.
        step: spacing of the levels in pixels (default 1). Finer is closer to a true per-pixel
            radius; each level costs one blur.
        levels: number of levels from 0 to ``max_radius`` instead of ``step`` (2 draws each
            pixel as a blend of the sharp photo and one blur: the fastest).
        blades, rotation: the lens aperture (see :func:`~dof_smooth.disk_kernel`).
        linear: blur in linear light.
        highlights: highlight boost gain before the blur (needs ``linear``).
        path: the blur's computation path (``direct`` is the one autograd is fastest through
            on a CPU for small radii; ``auto`` picks FFT on a CPU).

    Returns:
        (B, 3, H, W) float in [0, 1], ``image``'s dtype and device; equal to ``image`` wherever
        the radius is 0. Differentiable in ``image`` and in ``radius``.

    Raises:
        ShapeError, DTypeError, DeviceError: a map that does not fit the image.
        ValueRangeError: a negative, NaN or infinite radius, an image outside [0, 1].
        OptionError: bad levels, step, blades or highlights without linear light.
    """
    image = check_4d(image, "image", channels=3)
    check_unit_range(image, "image")
    radius = check_radius_map(radius, image).to(image.dtype)
    if highlights and not linear:
        raise OptionError("highlights need linear light: leave linear=True")
    top = float(radius.detach().amax()) if max_radius is None else max_radius
    radii = radius_levels(top, step=step, levels=levels)
    weights = level_weights(radius, radii)  # (L, B, 1, H, W), level 0 (sharp) first
    work = srgb_to_linear(image) if linear else image
    source = boost_highlights(work, highlights) if highlights else work

    def blur_at(r: float) -> Callable[[Tensor], Tensor]:
        return make_blur("lens", r, path=path, blades=blades, rotation=rotation)

    out = render_layers(source, weights, radii, blur_at, work)
    out = linear_to_srgb(out) if linear else out.clamp(0, 1)
    return torch.where(weights[0] == 1, image, out)  # in focus: the input itself, no round trip


class DefocusBlur(nn.Module):
    """Module form of :func:`defocus_blur`; the options are its keyword arguments."""

    def __init__(
        self,
        *,
        max_radius: float | None = None,
        step: float | None = None,
        levels: int | None = None,
        blades: int = 0,
        rotation: float = 0.0,
        linear: bool = True,
        highlights: float = 0.0,
        path: str = "auto",
    ) -> None:
        super().__init__()
        self.max_radius, self.step, self.levels = max_radius, step, levels
        self.blades, self.rotation = blades, rotation
        self.linear, self.highlights, self.path = linear, highlights, path

    def forward(self, image: Tensor, radius: Tensor) -> Tensor:
        return defocus_blur(
            image,
            radius,
            max_radius=self.max_radius,
            step=self.step,
            levels=self.levels,
            blades=self.blades,
            rotation=self.rotation,
            linear=self.linear,
            highlights=self.highlights,
            path=self.path,
        )
