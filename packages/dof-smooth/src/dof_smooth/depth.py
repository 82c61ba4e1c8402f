"""Depth-aware blur: the radius grows with the distance from the focal plane.

The depth map is cut into soft layers (tent-shaped memberships that sum to 1 at every pixel).
Each layer is blurred with its own radius, premultiplied by its membership, and laid over the
layers behind it, far to near; dividing by the accumulated coverage at the end fills what the
layers in front uncover with the layer's own normalised average (the halo-free rule applied to
every layer), so no colour leaks from a near layer into a far one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn

from dof_smooth._checks import check_4d, check_radius, check_same_size, check_unit_range
from dof_smooth.color import boost_highlights, linear_to_srgb, srgb_to_linear
from dof_smooth.errors import OptionError, ValueRangeError
from dof_smooth.methods import check_method, default_radius, make_blur


def focus_from_mask(depth: Tensor, mask: Tensor) -> Tensor:
    """Each image's median depth over its subject (mask >= 0.5), (B,).

    Raises:
        ValueRangeError: when an image's mask is empty (give ``focus`` instead).
    """
    inside = mask >= 0.5
    empty = ~inside.flatten(1).any(1)
    if bool(empty.any()):
        which = empty.nonzero().flatten().tolist()
        raise ValueRangeError(
            f"mask is empty for image(s) {which}: the focus cannot be taken from the subject; "
            "give focus= (a depth value) instead"
        )
    values = depth.masked_fill(~inside, float("nan")).flatten(1)
    return values.nanmedian(1).values


def layer_weights(offset: Tensor, layers: int) -> tuple[Tensor, Tensor]:
    """Tent memberships of signed defocus ``offset`` (B, 1, H, W) in [-1, 1].

    Returns:
        (layers,) centres from -1 (nearest) to 1 (farthest), and (layers, B, 1, H, W)
        memberships that sum to 1 at every pixel.
    """
    centres = torch.linspace(-1, 1, layers, dtype=offset.dtype, device=offset.device)
    spacing = 2 / (layers - 1)
    distance = (offset[None] - centres.view(-1, 1, 1, 1, 1)).abs()
    return centres, (1 - distance / spacing).clamp_min(0)


def depth_blur(
    image: Tensor,
    depth: Tensor,
    mask: Tensor | None = None,
    *,
    max_radius: float | None = None,
    focus: float | Tensor | None = None,
    disparity: bool = False,
    layers: int = 9,
    method: str = "lens",
    blades: int = 0,
    rotation: float = 0.0,
    linear: bool = True,
    highlights: float = 0.0,
    path: str = "auto",
) -> Tensor:
    """Blur each pixel by its distance from the focal plane, in layers from back to front.

    Args:
        image: (B, 3, H, W) float photo in [0, 1].
        depth: (B, 1, H, W) depth (larger = farther) or, with ``disparity=True``, disparity or
            inverse depth (larger = nearer), in any units.
        mask: (B, 1, H, W) subject matte in [0, 1]; the subject is kept in focus, and the
            focus defaults to its median depth.
        max_radius: blur radius of the pixel farthest from the focus (default as
            :func:`~dof_smooth.portrait_blur` for ``method``); others scale with |d − focus|.
        focus: the in-focus depth, a number or (B,) tensor in the map's units.
        disparity: read ``depth`` as disparity.
        layers: odd number of depth layers (one sits on the focal plane).
        method: ``lens``, ``gaussian`` or ``box``.
        blades, rotation: the lens aperture (see :func:`~dof_smooth.disk_kernel`).
        linear: blur in linear light.
        highlights: highlight boost gain (needs ``linear``).
        path: computation path passed to the blur.

    Returns:
        (B, 3, H, W) float image in [0, 1].

    Raises:
        ShapeError, DTypeError, DeviceError, ValueRangeError, OptionError: for bad inputs; the
        message says which and how to fix it.
    """
    image = check_4d(image, "image", channels=3)
    depth = check_4d(depth, "depth", channels=1)
    check_same_size(depth, "depth", image, "image")
    check_unit_range(image, "image")
    check_method(method)
    if layers < 3 or layers % 2 == 0:
        raise OptionError(f"layers must be odd and >= 3 (one on the focal plane); got {layers}")
    if highlights and not linear:
        raise OptionError("highlights need linear light: leave linear=True")
    radius = check_radius(
        default_radius(method, *image.shape[-2:]) if max_radius is None else max_radius,
        "max_radius",
    )
    if mask is not None:
        mask = check_4d(mask, "mask", channels=1)
        check_same_size(mask, "mask", image, "image")
        check_unit_range(mask, "mask")
        mask = mask.to(image.dtype)
    offset = signed_defocus(depth.to(image.dtype), mask, focus, disparity=disparity)
    centres, weights = layer_weights(offset, layers)
    work = srgb_to_linear(image) if linear else image
    source = boost_highlights(work, highlights) if highlights else work

    def blur_at(r: float) -> Callable[[Tensor], Tensor]:
        return make_blur(method, r, path=path, blades=blades, rotation=rotation)

    out = render_layers(source, weights, [radius * abs(float(c)) for c in centres], blur_at, work)
    return linear_to_srgb(out) if linear else out.clamp(0, 1)


def signed_defocus(
    depth: Tensor, mask: Tensor | None, focus: float | Tensor | None, *, disparity: bool
) -> Tensor:
    """Distance from the focal plane, scaled per image to [-1, 1] (> 0 behind it), (B, 1, H, W).

    The subject (``mask``) is pulled onto the focal plane.
    """
    if not bool(torch.isfinite(depth).all()):
        raise ValueRangeError("depth contains NaN or inf: fill the holes first")
    far = -depth if disparity else depth
    if focus is None:
        if mask is None:
            raise OptionError("give a subject mask or focus= so that the focal plane is known")
        plane = focus_from_mask(far, mask)
    else:
        plane = torch.as_tensor(focus, dtype=depth.dtype, device=depth.device).reshape(-1)
        plane = -plane if disparity else plane
    offset = far - plane.view(-1, 1, 1, 1)
    if mask is not None:
        offset = offset * (1 - mask)
    reach = offset.abs().flatten(1).amax(1).clamp_min(torch.finfo(depth.dtype).tiny)
    return offset / reach.view(-1, 1, 1, 1)


def render_layers(
    source: Tensor,
    weights: Tensor | Sequence[Tensor],
    radii: list[float],
    blur_at: Callable[[float], Callable[[Tensor], Tensor]],
    fallback: Tensor,
) -> Tensor:
    """Blur each layer premultiplied by its membership and lay it over those behind it.

    Args:
        source: (B, C, H, W) colours.
        weights: L (B, 1, H, W) memberships, far layers last: a (L, B, 1, H, W) tensor, or any
            sequence (one that computes each layer when indexed keeps one in memory at a time).
        radii: blur radius of each layer.
        blur_at: radius -> blur.
        fallback: (B, C, H, W) values where no layer reaches (none in practice).

    Returns:
        (B, C, H, W) composite, normalised by the accumulated coverage. Without autograd the
        layers are accumulated in place (a photo-sized buffer less per step).
    """
    C = source.shape[1]
    colour = torch.zeros_like(source)
    cover = torch.zeros_like(source[:, :1])
    in_place = not torch.is_grad_enabled() or torch.is_inference_mode_enabled()
    for index in reversed(range(len(radii))):  # far to near
        alpha, radius = weights[index], radii[index]
        if not bool(alpha.any()):
            continue
        if in_place:  # straight into one buffer: no premultiplied copy besides
            layer = torch.empty_like(source[:, :1]).expand(-1, C + 1, -1, -1).contiguous()
            torch.mul(source, alpha, out=layer[:, :C])
            layer[:, C:] = alpha
        else:
            layer = torch.cat([source * alpha, alpha], dim=1)
        del alpha
        if radius >= 0.5:
            layer = blur_at(radius)(layer)
        a = layer[:, C:].clamp(0, 1)
        if in_place:
            lay_over_(colour, cover, layer[:, :C], a)
        else:
            colour = layer[:, :C] + (1 - a) * colour
            cover = a + (1 - a) * cover
        del layer, a
    if in_place:
        reached = cover > 1e-3
        colour.div_(cover.clamp_min_(1e-3))
        return torch.where(reached, colour, fallback, out=colour)
    return torch.where(cover > 1e-3, colour / cover.clamp_min(1e-3), fallback)


def lay_over_(colour: Tensor, cover: Tensor, premultiplied: Tensor, alpha: Tensor) -> None:
    """Lay a premultiplied layer over what is behind it, in place: the "over" of
    :func:`render_layers` (``colour = layer + (1 - a) · colour``, ``cover`` likewise)."""
    behind = 1 - alpha
    colour.mul_(behind).add_(premultiplied)
    cover.mul_(behind).add_(alpha)


class DepthBlur(nn.Module):
    """Module form of :func:`depth_blur`; the options are its keyword arguments."""

    def __init__(
        self,
        *,
        max_radius: float | None = None,
        focus: float | None = None,
        disparity: bool = False,
        layers: int = 9,
        method: str = "lens",
        blades: int = 0,
        rotation: float = 0.0,
        linear: bool = True,
        highlights: float = 0.0,
        path: str = "auto",
    ) -> None:
        super().__init__()
        self.max_radius, self.focus, self.disparity, self.layers = (
            max_radius,
            focus,
            disparity,
            layers,
        )
        self.method, self.blades, self.rotation = method, blades, rotation
        self.linear, self.highlights, self.path = linear, highlights, path

    def forward(self, image: Tensor, depth: Tensor, mask: Tensor | None = None) -> Tensor:
        return depth_blur(
            image,
            depth,
            mask,
            max_radius=self.max_radius,
            focus=self.focus,
            disparity=self.disparity,
            layers=self.layers,
            method=self.method,
            blades=self.blades,
            rotation=self.rotation,
            linear=self.linear,
            highlights=self.highlights,
            path=self.path,
        )
