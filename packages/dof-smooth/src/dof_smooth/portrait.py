"""The one entry point: :func:`portrait_blur` (and its Module, :class:`PortraitBlur`).

The paper's baseline (section 3.2) is ``portrait_blur(image, mask, "box")`` or
``"gaussian"``: blur a copy, paste the people back through the mask. ``"lens"`` is the better
looking default: a real aperture, blurred in linear light, with the halo-free composite.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from dof_smooth._checks import check_4d, check_radius, check_same_size, check_unit_range
from dof_smooth.depth import depth_blur
from dof_smooth.errors import OptionError, UnknownNameError
from dof_smooth.fft import resolve_path
from dof_smooth.kernels import aperture_size, disk_kernel
from dof_smooth.methods import (
    DEFAULT_COMPOSITE,
    check_blur_memory,
    check_method,
    default_radius,
    make_blur,
)
from dof_smooth.pipeline import Recipe, run_streamed, run_whole

COMPOSITES = ("paste", "halo_free")


def check_options(
    method: str,
    composite: str | None = None,
    *,
    blades: int = 0,
    linear: bool | None = None,
    highlights: float = 0.0,
) -> None:
    """Refuse :func:`portrait_blur` options that fit no photo (a batch job checks them once,
    before its first photo).

    Raises:
        UnknownNameError: an unknown method or composite.
        OptionError: blades other than 0 (round) or >= 3, blades without ``lens``, or
            highlights without linear light.
    """
    check_method(method)
    if composite is not None and composite not in COMPOSITES:
        raise UnknownNameError("composite", composite, COMPOSITES)
    if blades < 0 or blades in (1, 2):
        raise OptionError(f"blades must be 0 (round) or >= 3; got {blades}")
    if blades and method != "lens":
        raise OptionError(f"blades only apply to method='lens', not {method!r}")
    if linear is False and highlights:
        raise OptionError("highlights need linear light: drop linear=False or set highlights=0")


def portrait_blur(
    image: Tensor,
    mask: Tensor,
    method: str = "lens",
    radius: float | None = None,
    composite: str | None = None,
    *,
    blades: int = 0,
    rotation: float = 0.0,
    linear: bool | None = None,
    highlights: float = 0.0,
    feather: float = 1.0,
    depth: Tensor | None = None,
    disparity: bool = False,
    layers: int = 9,
    path: str = "auto",
    max_memory: int | None = None,
) -> Tensor:
    """Defocus the background of portraits, keeping the people sharp.

    Args:
        image: (B, 3, H, W) float photos in [0, 1], any device.
        mask: (B, 1, H, W) person mattes in [0, 1], 1 = subject (dof-seg's output).
        method: ``box`` | ``gaussian`` | ``lens``.
        radius: for box and Gaussian the kernel's half-size (kernel 2·r + 1; default 2, the
            paper's 5x5 box, and 4, the 9x9 Gaussian); for lens the aperture radius in pixels
            (default 2% of the longer side). With ``depth``, the largest radius.
        composite: ``paste`` (the paper; default for box and Gaussian) or ``halo_free``
            (default for lens): see :mod:`dof_smooth.composite`.
        blades, rotation: lens only: aperture polygon (0 = round) and its rotation in degrees.
        linear: blur in linear light (default: on for lens, off for box and Gaussian as in the
            paper; on whenever ``highlights`` is set).
        highlights: highlight boost gain before the blur (0 = off; 2 to 8 make bokeh discs).
        feather: Gaussian sigma in pixels softening the matte's outline (halo-free only).
        depth: optional (B, 1, H, W) depth map: the radius then grows with the distance from
            the subject's depth (see :func:`~dof_smooth.depth_blur`).
        disparity: read ``depth`` as disparity (larger = nearer).
        layers: odd number of depth layers (with ``depth``).
        path: computation path of the blur (``auto`` picks the fastest for the device).
        max_memory: bytes one photo may take (:func:`~dof_smooth.check_blur_memory`); a larger
            photo is refused before any work. None: no limit.

    Returns:
        (B, 3, H, W) float images in [0, 1], same dtype and device as ``image``.

    Raises:
        ShapeError, DTypeError, DeviceError, ValueRangeError: for inputs that do not fit; the
            message says what came, what was expected and how to fix it.
        UnknownNameError: for an unknown method or composite (it lists the valid ones).
        OptionError: for invalid option values.
        MemoryBudgetError: a photo over ``max_memory``.
    """
    image = check_4d(image, "image", channels=3)
    mask = check_4d(mask, "mask", channels=1)
    check_same_size(mask, "mask", image, "image")
    check_unit_range(image, "image")
    check_unit_range(mask, "mask")
    check_options(method, composite, blades=blades, linear=linear, highlights=highlights)
    height, width = image.shape[-2:]
    check_blur_memory(method, height, width, max_memory, depth=depth is not None)
    if linear is None:
        linear = method == "lens" or bool(highlights)
    if radius is None:
        radius = default_radius(method, *image.shape[-2:])
    radius = check_radius(radius)
    if depth is not None:
        if composite is not None:
            raise OptionError("depth-aware rendering composites by layers: leave composite unset")
        return depth_blur(
            image, depth, mask, max_radius=radius, disparity=disparity, layers=layers,
            method=method, blades=blades, rotation=rotation, linear=linear,
            highlights=highlights, path=path,
        )  # fmt: skip
    recipe = Recipe(
        halo_free=(composite or DEFAULT_COMPOSITE[method]) == "halo_free",
        linear=linear,
        highlights=highlights,
        feather=feather,
    )
    mask = mask.to(image.dtype)
    if method == "lens" and _can_stream(image, mask, radius, path):
        kernel = disk_kernel(radius, blades, rotation, dtype=image.dtype, device=image.device)
        return run_streamed(recipe, image, mask, kernel)
    blur = make_blur(method, radius, path=path, blades=blades, rotation=rotation)
    return run_whole(recipe, image, mask, blur)


def _can_stream(image: Tensor, mask: Tensor, radius: float, path: str) -> bool:
    """The lens blur takes the FFT path and autograd is not needed: stream it band by band."""
    if image.dtype not in (torch.float32, torch.float64) or aperture_size(radius) == 1:
        return False
    if torch.is_grad_enabled() and (image.requires_grad or mask.requires_grad):
        return False
    return resolve_path(path, image.device, aperture_size(radius)) == "fft"


class PortraitBlur(nn.Module):
    """Module form of :func:`portrait_blur`; the options are its arguments after ``mask``."""

    def __init__(
        self,
        method: str = "lens",
        radius: float | None = None,
        composite: str | None = None,
        *,
        blades: int = 0,
        rotation: float = 0.0,
        linear: bool | None = None,
        highlights: float = 0.0,
        feather: float = 1.0,
        disparity: bool = False,
        layers: int = 9,
        path: str = "auto",
    ) -> None:
        super().__init__()
        self.method, self.radius, self.composite = check_method(method), radius, composite
        self.blades, self.rotation, self.linear = blades, rotation, linear
        self.highlights, self.feather, self.path = highlights, feather, path
        self.disparity, self.layers = disparity, layers

    def forward(self, image: Tensor, mask: Tensor, depth: Tensor | None = None) -> Tensor:
        return portrait_blur(
            image,
            mask,
            self.method,
            self.radius,
            self.composite,
            blades=self.blades,
            rotation=self.rotation,
            linear=self.linear,
            highlights=self.highlights,
            feather=self.feather,
            depth=depth,
            disparity=self.disparity,
            layers=self.layers,
            path=self.path,
        )
