"""The blur methods by name: a plain dict from name to a factory of blurs.

A factory takes a radius in pixels (and the lens options) and returns a
``(B, C, H, W) -> (B, C, H, W)`` callable. For ``box`` and ``gaussian`` the radius is the
kernel's half-size (kernel = 2·round(radius) + 1: 2 is the paper's 5x5 box, 4 the 9x9
Gaussian of the author's code); for ``lens`` it is the aperture radius.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from dof_smooth.composite import Blur
from dof_smooth.errors import MemoryBudgetError, OptionError, UnknownNameError
from dof_smooth.filters import box_blur2d, gaussian_blur2d, lens_blur2d


def _box(radius: float, *, path: str = "auto", **lens: float) -> Blur:
    _no_lens_options("box", lens)
    return partial(box_blur2d, kernel_size=2 * round(radius) + 1, path=path)


def _gaussian(radius: float, *, path: str = "auto", **lens: float) -> Blur:
    _no_lens_options("gaussian", lens)
    return partial(gaussian_blur2d, kernel_size=2 * round(radius) + 1, sigma=None, path=path)


def _lens(radius: float, *, path: str = "auto", blades: int = 0, rotation: float = 0.0) -> Blur:
    return partial(lens_blur2d, radius=radius, blades=blades, rotation=rotation, path=path)


def _no_lens_options(method: str, lens: dict[str, float]) -> None:
    given = sorted(name for name, value in lens.items() if value)
    if given:
        raise OptionError(f"{', '.join(given)} only apply to method='lens', not {method!r}")


#: Peak memory per pixel, in bytes, of one photo through :func:`dof_smooth.portrait_blur` on the
#: CPU with its default composite, counting the float image and mask tensors it is given and
#: the uint8 result (measured at 3 and 12 MP; docs/smooth.md). Commands refuse a photo whose
#: estimate is over their memory budget instead of letting it take the machine down.
MEMORY_PER_PIXEL: dict[str, float] = {"box": 56.0, "gaussian": 56.0, "lens": 72.0}
#: extra factor with a depth map (one blur per depth layer; not measured, an upper estimate)
DEPTH_MEMORY_FACTOR = 2.0


def check_blur_memory(
    method: str, height: int, width: int, max_memory: int | None, *, depth: bool = False
) -> int:
    """Refuse a (height, width) photo whose :func:`~dof_smooth.portrait_blur` would need more
    than ``max_memory`` bytes (:data:`MEMORY_PER_PIXEL`), before any work.

    Args:
        method: ``box`` | ``gaussian`` | ``lens``.
        height, width: the photo's size in pixels.
        max_memory: the budget in bytes; None or 0: no limit.
        depth: with a depth map (:data:`DEPTH_MEMORY_FACTOR`).

    Returns:
        the estimate in bytes.

    Raises:
        UnknownNameError: an unknown method.
        MemoryBudgetError: over the budget; the message says how to get under it.
    """
    if method not in MEMORY_PER_PIXEL:
        raise UnknownNameError("method", method, MEMORY_PER_PIXEL)
    need = int(height * width * MEMORY_PER_PIXEL[method] * (DEPTH_MEMORY_FACTOR if depth else 1))
    if max_memory and need > max_memory:
        gib = 2**30
        raise MemoryBudgetError(
            f"{width}x{height} ({height * width / 1e6:.0f} MP): {method} blur at full size needs "
            f"about {need / gib:.1f} GiB, over the budget of {max_memory / gib:.1f} GiB: too "
            "large for the memory budget; lower the size or raise --max-memory (e.g. "
            f"--max-memory {max(1, -(-need // gib))}GiB)"
        )
    return need


#: name -> factory(radius, *, path, blades, rotation) -> blur
METHODS: dict[str, Callable[..., Blur]] = {"box": _box, "gaussian": _gaussian, "lens": _lens}

#: the composite each method uses by default (the paper pasted; lens is halo-free)
DEFAULT_COMPOSITE = {"box": "paste", "gaussian": "paste", "lens": "halo_free"}

#: radius for box and Gaussian: the paper's 5x5 box and the 9x9 Gaussian of the author's code
DEFAULT_RADIUS = {"box": 2.0, "gaussian": 4.0}

#: the default lens radius as a fraction of the image's longer side
LENS_RADIUS_FRACTION = 0.02


def check_method(method: str) -> str:
    """``method`` is a key of :data:`METHODS`."""
    if method not in METHODS:
        raise UnknownNameError("method", method, METHODS)
    return method


def default_radius(method: str, height: int, width: int) -> float:
    """The radius used when none is given: 2 (box), 4 (Gaussian), 2% of the longer side (lens)."""
    if method in DEFAULT_RADIUS:
        return DEFAULT_RADIUS[method]
    return max(1.0, LENS_RADIUS_FRACTION * max(height, width))


def make_blur(
    method: str, radius: float, *, path: str = "auto", blades: int = 0, rotation: float = 0.0
) -> Blur:
    """The blur ``method`` with ``radius`` (see the module docstring for what radius means)."""
    return METHODS[check_method(method)](radius, path=path, blades=blades, rotation=rotation)
