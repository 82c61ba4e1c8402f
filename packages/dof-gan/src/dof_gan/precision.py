"""Mixed precision for training: which dtype the forward passes run in, and how to ask for it.

``--precision`` is one of :data:`PRECISIONS`:

- ``fp32``: no autocast (the paper's setting).
- ``bf16``: ``torch.autocast`` with bfloat16 around the forward passes and the losses.
  Convolutions run in bf16; the losses, the image pools, the logged values, the weights and the
  optimizer state stay float32. No loss scaling is needed (bf16 has float32's range).
- ``fp16``: autocast with float16 and a :class:`torch.amp.GradScaler`; CUDA only.
- ``auto``: ``bf16`` where the device computes it natively (a CUDA device that reports bf16
  support; a CPU whose oneDNN build reports native bf16, i.e. AVX512-BF16 or AMX), else ``fp32``.

The choice changes speed and rounding, not what is trained, so a run may be resumed in another
precision (checkpoints are float32 either way).
"""

from __future__ import annotations

import contextlib
from typing import Any

import torch

from dof_gan.config import PRECISIONS

__all__ = ["PRECISIONS", "autocast", "cpu_has_native_bf16", "grad_scaler", "resolve_precision"]
_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bf16 in hardware, as oneDNN (through torch) reports it.

    True on CPUs with AVX512-BF16 or AMX-BF16; asked of the library that will run the
    convolutions, not guessed from the CPU's name.
    """
    if not torch.backends.mkldnn.is_available():  # type: ignore[no-untyped-call]
        return False
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # an older or unusual build without the query
        return False


def resolve_precision(precision: str, device: str | torch.device) -> str:
    """``auto`` -> ``bf16`` or ``fp32`` for ``device``; other values are returned unchanged.

    Args:
        precision: one of :data:`PRECISIONS`.
        device: where the networks run (``cpu``, ``cuda``, ``cuda:1``, ``mps``).

    Raises:
        ValueError: an unknown precision.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}; got {precision!r}")
    if precision != "auto":
        return precision
    kind = torch.device(device).type
    if kind == "cuda":
        return "bf16" if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else "fp32"
    if kind == "cpu":
        return "bf16" if cpu_has_native_bf16() else "fp32"
    return "fp32"


def autocast(precision: str, device: str | torch.device) -> contextlib.AbstractContextManager[Any]:
    """The autocast context for a resolved precision (``fp32``: a context that does nothing)."""
    if precision == "fp32":
        return contextlib.nullcontext()
    if precision not in _DTYPES:
        raise ValueError(f"resolve {precision!r} first (resolve_precision)")
    return torch.autocast(torch.device(device).type, dtype=_DTYPES[precision])


def grad_scaler(precision: str, device: str | torch.device) -> torch.amp.GradScaler:
    """A GradScaler, enabled for ``fp16`` only (where small gradients would underflow).

    Raises:
        ValueError: ``fp16`` on a device other than CUDA.
    """
    kind = torch.device(device).type
    if precision == "fp16" and kind != "cuda":
        raise ValueError(f"fp16 training needs a CUDA device; got {kind}: use bf16 or fp32")
    return torch.amp.GradScaler(kind if kind == "cuda" else "cpu", enabled=precision == "fp16")
