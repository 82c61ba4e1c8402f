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
from collections.abc import Callable, Sequence
from functools import partial

import torch
from torch import Tensor, nn

from dof_smooth._checks import check_4d, check_radius, check_same_size, check_unit_range
from dof_smooth.color import boost_highlights, linear_to_srgb, srgb_to_linear
from dof_smooth.depth import lay_over_, render_layers
from dof_smooth.errors import OptionError, ValueRangeError
from dof_smooth.fft import Rows, resolve_path, stream_filter2d
from dof_smooth.kernels import aperture_size, disk_kernel
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


class LevelWeights(Sequence[Tensor]):
    """Tent weights of each pixel's radius over evenly spaced levels: ``weights[k]`` is level
    k's (B, 1, H, W), computed when asked (one level in memory at a time).

    A radius between two levels is shared between them in proportion to its distance from each
    (linear in the radius, so differentiable); a radius above the last level is drawn there.
    The weights sum to 1 at every pixel.
    """

    def __init__(self, radius: Tensor, radii: list[float]) -> None:
        self.radii = radii
        spacing = radii[1] - radii[0] if len(radii) > 1 else 1.0
        self.t = radius.clamp(0, radii[-1]) / spacing  # (B, 1, H, W), in level units

    def __len__(self) -> int:
        return len(self.radii)

    def __getitem__(self, k: int) -> Tensor:  # type: ignore[override]
        if not 0 <= k < len(self.radii):
            raise IndexError(k)
        if len(self.radii) == 1:
            return torch.ones_like(self.t)
        return (1 - (self.t - k).abs()).clamp_min(0)


def level_weights(radius: Tensor, radii: list[float]) -> Tensor:
    """All of :class:`LevelWeights` at once, (L, B, 1, H, W)."""
    weights = LevelWeights(radius, radii)
    return torch.stack([weights[k] for k in range(len(weights))])


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
    weights = LevelWeights(radius, radii)  # level 0 (sharp) first, computed one at a time
    # without autograd, photo-sized steps run band by band into their buffers (a 12 MP photo
    # then holds about 0.5 GB less at its peak)
    graph = torch.is_grad_enabled() and (image.requires_grad or radius.requires_grad)
    if not graph and image.dtype in (torch.float32, torch.float64):
        top_size = aperture_size(radii[-1])
        if top_size > 1 and resolve_path(path, image.device, top_size) == "fft":
            return _draw_streamed(image, weights, radii, linear, highlights, blades, rotation)
    rows = image.shape[-2] if graph else BAND_ROWS
    work = _by_rows(srgb_to_linear, image, rows) if linear else image
    boost = partial(boost_highlights, gain=highlights)
    source = _by_rows(boost, work, rows) if highlights else work

    def blur_at(r: float) -> Callable[[Tensor], Tensor]:
        return make_blur("lens", r, path=path, blades=blades, rotation=rotation)

    out = render_layers(source, weights, radii, blur_at, work)
    del source, work

    def finish(y: Tensor, x: Tensor, r: Tensor) -> Tensor:
        y = linear_to_srgb(y) if linear else y.clamp(0, 1)
        return torch.where(r == 0, x, y)  # in focus: the input itself, no round trip

    if graph:
        return finish(out, image, radius)
    for y0 in range(0, out.shape[-2], rows):
        band = slice(y0, y0 + rows)
        out[..., band, :] = finish(out[..., band, :], image[..., band, :], radius[..., band, :])
    return out


#: rows per band of the photo-sized colour steps when no gradient is needed
BAND_ROWS = 256


def _draw_streamed(
    image: Tensor,
    weights: LevelWeights,
    radii: list[float],
    linear: bool,
    highlights: float,
    blades: int,
    rotation: float,
) -> Tensor:
    """:func:`defocus_blur` without autograd on the FFT path: each level's premultiplied rows
    are made as the FFT stream asks for them and laid over the result as they come out
    (:func:`~dof_smooth.fft.stream_filter2d`, as ``portrait_blur`` streams the lens), so no
    level, blur or colour conversion of the whole photo is held besides the result."""
    B, C, H, W = image.shape
    colour = torch.zeros_like(image)
    cover = torch.zeros_like(image[:, :1])
    t = weights.t  # (B, 1, H, W) radius in level units

    def source(x: Tensor) -> Tensor:
        work = srgb_to_linear(x) if linear else x
        return boost_highlights(work, highlights) if highlights else work

    def weight(level: int, t_rows: Tensor) -> Tensor:
        return (1 - (t_rows - level).abs()).clamp_min(0)

    for level in reversed(range(len(radii))):  # far to near
        if not bool(((t - level).abs() < 1).any()):
            continue  # no pixel on this level
        if radii[level] < 0.5:  # the sharp level: no blur, band by band
            for y0 in range(0, H, BAND_ROWS):
                band = slice(y0, y0 + BAND_ROWS)
                a = weight(level, t[..., band, :])
                premultiplied = source(image[..., band, :]) * a
                lay_over_(colour[..., band, :], cover[..., band, :], premultiplied, a)
            continue
        kernel = disk_kernel(radii[level], blades, rotation, dtype=image.dtype,
                             device=image.device)  # fmt: skip

        def read(images: slice, rows: Rows, level: int = level) -> Tensor:
            a = weight(level, rows.take(t[images]))
            return torch.cat([source(rows.take(image[images])) * a, a], dim=1)

        def write(images: slice, y0: int, blurred: Tensor) -> None:
            band = slice(y0, y0 + blurred.shape[-2])
            a = blurred[:, C:].clamp(0, 1)
            lay_over_(colour[images, :, band], cover[images, :, band], blurred[:, :C], a)

        stream_filter2d(read, write, (B, C + 1, H, W), kernel)
    for y0 in range(0, H, BAND_ROWS):  # normalise, back to sRGB, the in-focus pixels exact
        band = slice(y0, y0 + BAND_ROWS)
        c, k = colour[..., band, :], cover[..., band, :]
        x = image[..., band, :]
        fallback = srgb_to_linear(x) if linear else x
        y = torch.where(k > 1e-3, c / k.clamp_min(1e-3), fallback)
        y = linear_to_srgb(y) if linear else y.clamp(0, 1)
        colour[..., band, :] = torch.where(t[..., band, :] == 0, x, y)
    return colour


def _by_rows(fn: Callable[[Tensor], Tensor], x: Tensor, rows: int) -> Tensor:
    """``fn(x)`` for an elementwise ``fn``, computed ``rows`` rows at a time into one buffer."""
    if rows >= x.shape[-2]:
        return fn(x)
    out = torch.empty_like(x)
    for y0 in range(0, x.shape[-2], rows):
        out[..., y0 : y0 + rows, :] = fn(x[..., y0 : y0 + rows, :])
    return out


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
