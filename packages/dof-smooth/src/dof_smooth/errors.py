"""Typed errors of dof-smooth. Every message says what came, what was expected and how to fix it.

All of them derive from :class:`SmoothError`, itself a ``ValueError``, so callers that already
catch ``ValueError`` keep working.
"""

from __future__ import annotations

from collections.abc import Iterable


class SmoothError(ValueError):
    """Base class of every error dof-smooth raises."""


class ShapeError(SmoothError):
    """A tensor has the wrong number of axes, channels or spatial size."""


class DTypeError(SmoothError, TypeError):
    """A tensor has a dtype the operation cannot use (integer images, say)."""


class ValueRangeError(SmoothError):
    """Values lie outside the range an operation expects (images outside [0, 1], say)."""


class DeviceError(SmoothError):
    """Tensors that must be used together live on different devices."""


class OptionError(SmoothError):
    """An option has an invalid value: a negative radius, an unknown method name, ..."""


class MemoryBudgetError(SmoothError):
    """A photo too large for the memory budget a caller gave (``max_memory``)."""


class UnknownNameError(OptionError):
    """A name that is not in a registry; the message lists the valid names."""

    def __init__(self, kind: str, name: str, valid: Iterable[str]) -> None:
        self.kind = kind
        self.name = name
        self.valid = sorted(valid)
        super().__init__(
            f"unknown {kind} {name!r}; expected one of: {', '.join(map(repr, self.valid))}"
        )
