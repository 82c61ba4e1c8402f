"""Validation at the public boundary, in the style of kornia's ``core/check.py``.

One set of checks and one set of fix hints for every package that takes image tensors (dof-seg,
dof-gan, dof-eval). The functions read only ``.shape``, ``.ndim``, ``.dtype`` and
``.is_floating_point()``, so dof-io needs no torch; each package passes its own ``ShapeError``
class (a subclass of :class:`dof_io.ShapeError`) as ``error``. dof-smooth, which depends on
torch and kornia alone, keeps the same checks in ``dof_smooth._checks``.

Every message names the argument, says what was expected and what came, and how to fix it::

    images must be (B, 3, H, W); got (3, 64, 64): add a batch axis with images[None]
"""

from __future__ import annotations

from typing import Any

from dof_io.errors import ShapeError

ErrorType = type[Exception]


def _shape(x: Any) -> tuple[int, ...]:
    return tuple(int(s) for s in x.shape)


def fix_hint(shape: tuple[int, ...], name: str, channels: int | None) -> str:
    """How to turn ``shape`` into (B, ``channels``, H, W), in words ("" when nothing obvious)."""
    if len(shape) == 2:
        return f"add batch and channel axes with {name}[None, None]"
    if len(shape) == 3 and channels == 1:
        return f"add a channel axis with {name}[:, None]"
    if len(shape) == 3 and channels is not None and shape[-1] == channels != shape[0]:
        return f"channels go first: use {name}.permute(2, 0, 1)[None]"
    if len(shape) == 3:
        return f"add a batch axis with {name}[None]"
    if len(shape) == 4 and channels is not None and shape[1] != channels:
        if shape[-1] == channels:
            return f"channels go first: use {name}.permute(0, 3, 1, 2)"
        if channels == 3 and shape[1] == 4:
            return f"drop alpha with {name}[:, :3]"
        if channels == 1:
            return f"keep one channel with {name}[:, :1]"
    return ""


def _raise(error: ErrorType, message: str, fix: str) -> None:
    raise error(f"{message}: {fix}" if fix else message)


def check_shape(x: Any, spec: str, name: str, *, error: ErrorType = ShapeError) -> None:
    """kornia's ``KORNIA_CHECK_SHAPE``: ``x.shape`` matches ``spec`` ("B 3 H W", "B 1 H W").

    Letters match any size, numbers match exactly. Raises ``error`` naming ``name``.
    """
    if not hasattr(x, "shape"):
        _raise(error, f"{name} must be a tensor {_layout(spec)}; got {type(x).__name__}", "")
    want = spec.split()
    shape = _shape(x)
    if len(shape) != len(want) or any(
        w.isdigit() and int(w) != s for w, s in zip(want, shape, strict=False)
    ):
        channels = int(want[1]) if len(want) == 4 and want[1].isdigit() else None
        fix = fix_hint(shape, name, channels) if len(want) == 4 else ""
        _raise(error, f"{name} must be {_layout(spec)}; got {shape}", fix)


def _layout(spec: str) -> str:
    return "(" + ", ".join(spec.split()) + ")"


def check_float(x: Any, name: str, *, error: ErrorType = ShapeError) -> None:
    """``x`` holds floating-point values (images in [0, 1], not uint8 in [0, 255])."""
    floating = x.is_floating_point() if hasattr(x, "is_floating_point") else x.dtype.kind == "f"
    if not floating:
        _raise(
            error,
            f"{name} must be float in [0, 1]; got {x.dtype}",
            f"divide uint8 images by 255 ({name}.float() / 255)",
        )


def check_type(x: Any, name: str, kind: type, *, error: ErrorType = ShapeError) -> None:
    """``x`` is an instance of ``kind`` (``torch.Tensor``, passed by the caller)."""
    if not isinstance(x, kind):
        what = f"{kind.__module__}.{kind.__name__}"
        fix = "convert a numpy array with torch.from_numpy(a)" if hasattr(x, "shape") else ""
        _raise(error, f"{name} must be a {what}; got {type(x).__name__}", fix)


def check_image(
    x: Any,
    name: str,
    *,
    channels: int = 3,
    kind: type | None = None,
    error: ErrorType = ShapeError,
) -> None:
    """``x`` is a non-empty floating (B, ``channels``, H, W) batch (of type ``kind`` if given)."""
    if kind is not None:
        check_type(x, name, kind, error=error)
    check_shape(x, f"B {channels} H W", name, error=error)
    check_float(x, name, error=error)
    if min(_shape(x)) < 1:
        _raise(error, f"{name} must not be empty; got {_shape(x)}", "")


def check_mask(
    x: Any, name: str, like: Any, *, broadcast: bool = True, error: ErrorType = ShapeError
) -> None:
    """``x`` is a (B, 1, H, W) mask at the size of the image batch ``like``; with ``broadcast``
    one mask (1, 1, H, W) for the whole batch is accepted too."""
    check_shape(x, "B 1 H W", name, error=error)
    b, _, h, w = _shape(like)
    shape = _shape(x)
    if shape[0] not in ((1, b) if broadcast else (b,)) or shape[-2:] != (h, w):
        _raise(
            error,
            f"{name} must be ({b}, 1, {h}, {w}) like the image {_shape(like)}; got {shape}",
            f"resize it to {h}x{w} (H x W) and give one per image",
        )


def check_same_shape(
    a: Any, name_a: str, b: Any, name_b: str, *, error: ErrorType = ShapeError
) -> None:
    """``a`` and ``b`` have the same shape (an output and its input, say)."""
    if _shape(a) != _shape(b):
        _raise(
            error,
            f"{name_a} {_shape(a)} and {name_b} {_shape(b)} must have the same shape",
            f"resize the {name_b} to the {name_a}'s size first",
        )
