"""Validation at the public boundary: shapes, dtypes, devices and value ranges.

Each check raises a typed error from :mod:`dof_smooth.errors` whose message names the argument,
says what was expected and what came, and, where there is one, how to fix it.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from dof_smooth.errors import DeviceError, DTypeError, OptionError, ShapeError, ValueRangeError

#: slack allowed around [0, 1] (colour conversions round a little)
RANGE_TOLERANCE = 1e-4


def _shape(x: Tensor) -> str:
    return "(" + ", ".join(str(s) for s in x.shape) + ")"


def check_tensor(x: object, name: str) -> Tensor:
    """``x`` is a floating-point tensor; returns it typed as one."""
    if not isinstance(x, Tensor):
        raise DTypeError(
            f"{name} must be a torch.Tensor; got {type(x).__name__}: convert a numpy array "
            "(H, W, C) with torch.from_numpy(a).permute(2, 0, 1)[None].float() / 255"
        )
    if not x.is_floating_point():
        hint = f"{name}.float() / 255" if x.dtype == torch.uint8 else f"{name}.float()"
        raise DTypeError(
            f"{name} must be a floating-point tensor (float16/bfloat16/float32/float64); "
            f"got {x.dtype}: convert it with {hint}"
        )
    return x


def check_4d(x: object, name: str, *, channels: int | None = None) -> Tensor:
    """``x`` is a floating (B, C, H, W) tensor, with ``channels`` channels when given."""
    t = check_tensor(x, name)
    layout = f"(B, {channels}, H, W)" if channels is not None else "(B, C, H, W)"
    if t.ndim != 4:
        if t.ndim == 2:
            fix = f"add batch and channel axes with {name}[None, None]"
        elif t.ndim == 3 and channels == 1:
            fix = f"add a channel axis with {name}[:, None]"
        elif t.ndim == 3 and channels is not None and t.shape[-1] == channels:
            fix = f"channels last: use {name}.permute(2, 0, 1)[None]"
        elif t.ndim == 3:
            fix = f"add a batch axis with {name}[None]"
        else:
            fix = "reshape it"
        raise ShapeError(f"{name} must be {layout}; got {t.ndim}-D {_shape(t)}: {fix}")
    if channels is not None and t.shape[1] != channels:
        fix = (
            f"drop alpha with {name}[:, :3]"
            if channels == 3 and t.shape[1] == 4
            else f"repeat it with {name}.expand(-1, 3, -1, -1)"
            if channels == 3 and t.shape[1] == 1
            else f"keep one channel with {name}[:, :1]"
            if channels == 1
            else "check the channel axis"
        )
        hint = " (channels last? use .permute(0, 3, 1, 2))" if t.shape[-1] == channels else ""
        raise ShapeError(
            f"{name} must be {layout}; got {_shape(t)} with {t.shape[1]} channels{hint}: {fix}"
        )
    if t.shape[-2] < 1 or t.shape[-1] < 1 or t.shape[0] < 1:
        raise ShapeError(f"{name} must not be empty; got {_shape(t)}")
    return t


def check_unit_range(x: Tensor, name: str) -> None:
    """Values of ``x`` lie in [0, 1] (one host sync)."""
    lo, hi = (float(v) for v in torch.aminmax(x.detach()))
    if math.isnan(lo) or math.isnan(hi):
        raise ValueRangeError(f"{name} contains NaN; clean the input (torch.nan_to_num)")
    if lo >= -RANGE_TOLERANCE and hi <= 1 + RANGE_TOLERANCE:
        return
    fix = "divide by 255" if hi > 1.5 and hi <= 255 + RANGE_TOLERANCE and lo >= 0 else "clamp it"
    if lo < -RANGE_TOLERANCE and lo >= -1 - RANGE_TOLERANCE and hi <= 1 + RANGE_TOLERANCE:
        fix = "map [-1, 1] to [0, 1] with (x + 1) / 2"
    raise ValueRangeError(f"{name} must lie in [0, 1]; got min {lo:.4g}, max {hi:.4g}: {fix}")


def check_same_size(x: Tensor, name: str, like: Tensor, like_name: str) -> None:
    """``x`` has the batch, height and width of ``like`` and lives on the same device."""
    if x.shape[0] != like.shape[0] or x.shape[-2:] != like.shape[-2:]:
        want = f"({like.shape[0]}, {x.shape[1]}, {like.shape[2]}, {like.shape[3]})"
        raise ShapeError(
            f"{name} must be {want} to match {like_name} {_shape(like)}; got {_shape(x)}: "
            f"resize it to {like.shape[2]}x{like.shape[3]} (H x W) and give one per image"
        )
    if x.device != like.device:
        raise DeviceError(
            f"{name} is on {x.device} but {like_name} is on {like.device}: "
            f"move it with {name}.to({like_name}.device)"
        )


def check_radius(radius: float, name: str = "radius") -> float:
    """A finite, non-negative number."""
    if isinstance(radius, bool) or not isinstance(radius, int | float):
        raise OptionError(f"{name} must be a number; got {type(radius).__name__}")
    value = float(radius)
    if not math.isfinite(value) or value < 0:
        raise OptionError(f"{name} must be a finite number >= 0; got {radius}")
    return value


def check_kernel_size(size: int | tuple[int, int], name: str, *, odd: bool) -> tuple[int, int]:
    """An int or (height, width) pair of positive (odd, when asked) ints."""
    pair = (size, size) if isinstance(size, int) else tuple(size)
    if len(pair) != 2 or not all(isinstance(s, int) and not isinstance(s, bool) for s in pair):
        raise OptionError(f"{name} must be an int or a (height, width) pair of ints; got {size!r}")
    kh, kw = pair
    if kh < 1 or kw < 1:
        raise OptionError(f"{name} must be positive; got {size!r}")
    if odd and (kh % 2 == 0 or kw % 2 == 0):
        even = kh if kh % 2 == 0 else kw
        raise OptionError(f"{name} must be odd; got {size!r}: use {even + 1} instead of {even}")
    return kh, kw
