"""BORDER_REFLECT_101 padding (OpenCV's default border; ``F.pad(mode="reflect")`` in torch).

``dcb|abcdefgh|gfe``: the edge pixel is not repeated. :func:`pad_reflect101` also handles pads
larger than the image, by repeated reflection as OpenCV's ``borderInterpolate`` does, which
``F.pad`` refuses.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def reflect101(index: Tensor, size: int) -> Tensor:
    """Map integer positions (any, even far outside) into ``[0, size)`` by reflect-101."""
    if size == 1:
        return torch.zeros_like(index)
    period = 2 * (size - 1)
    folded = index.remainder(period)
    return torch.where(folded < size, folded, period - folded)


def reflect_index(start: int, stop: int, size: int, device: torch.device) -> Tensor:
    """Source positions for the padded range ``[start, stop)`` of an axis of length ``size``."""
    return reflect101(torch.arange(start, stop, device=device), size)


def pad_reflect101(x: Tensor, left: int, right: int, top: int, bottom: int) -> Tensor:
    """Pad the last two axes of a (B, C, H, W) tensor by reflect-101.

    Args:
        x: (B, C, H, W) tensor.
        left, right, top, bottom: non-negative pad widths in pixels.

    Returns:
        (B, C, H + top + bottom, W + left + right) tensor.
    """
    H, W = x.shape[-2:]
    if left == right == top == bottom == 0:
        return x
    if max(left, right) < W and max(top, bottom) < H:
        return F.pad(x, (left, right, top, bottom), mode="reflect")
    rows = reflect_index(-top, H + bottom, H, x.device)
    cols = reflect_index(-left, W + right, W, x.device)
    return x.index_select(-2, rows).index_select(-1, cols)


def fill_columns(buffer: Tensor, rows: Tensor, left: int, right: int) -> None:
    """Write ``rows`` (..., W) into ``buffer`` (..., Wb) at column ``left`` and reflect-pad it.

    Columns ``[0, left)`` and ``[left + W, left + W + right)`` get the reflect-101 border;
    anything beyond is zeroed (callers that round widths up discard those outputs).
    """
    W = rows.shape[-1]
    buffer[..., left : left + W].copy_(rows)
    if left:
        buffer[..., :left].copy_(rows[..., reflect_index(-left, 0, W, rows.device)])
    if right:
        source = reflect_index(W, W + right, W, rows.device)
        buffer[..., left + W : left + W + right].copy_(rows[..., source])
    buffer[..., left + W + right :].zero_()
