"""Separable filtering with reflect-101 borders: one direct path, one cache-blocked CPU path.

Both compute, for 1-D kernels ``ky`` (rows) and ``kx`` (columns), the correlation OpenCV's
``sepFilter2D`` computes (anchor at k // 2):

    out[y, x] = sum_{i, j} ky[i] · kx[j] · in[y + i − ky // 2, x + j − kx // 2]

- ``direct``: two depthwise ``conv2d`` calls on a padded copy. Any device and dtype; what a GPU
  runs (cuDNN handles it well).
- ``blocked``: the CPU path. A plain depthwise convolution over a (B·C, 1, H, W) tensor is slow
  in oneDNN (a few channels, long rows) and a padded copy costs a pass over memory, so the image
  is cut into strips of rows that stay in cache and both passes run as oneDNN convolutions in
  channels-last layouts where the vector axis is long:
  the vertical pass treats the W columns as W channels of a (1, W, rows, 1) image (a free view of
  the rows), and the horizontal pass cuts each row into blocks of ``LANES`` pixels and runs the
  1-D filter as a small dense convolution over the blocks (polyphase form). Same arithmetic,
  about 20x faster than ``direct`` on a 2-core CPU.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from dof_smooth._border import fill_columns, pad_reflect101, reflect_index
from dof_smooth._memory import prime_heap
from dof_smooth.errors import UnknownNameError

SEPARABLE_PATHS = ("auto", "direct", "blocked")

#: pixels per block in the horizontal polyphase convolution (one AVX-512 vector of float32)
LANES = 16
#: elements per strip in the blocked path (about 4 MiB of float32: stays in L2/L3)
STRIP_ELEMENTS = 1 << 20


def separable_filter2d(x: Tensor, ky: Tensor, kx: Tensor, *, path: str = "auto") -> Tensor:
    """Correlate each channel of ``x`` with the outer product of ``ky`` and ``kx``.

    Args:
        x: (B, C, H, W) floating tensor, any device.
        ky: (kh,) vertical kernel.
        kx: (kw,) horizontal kernel.
        path: ``auto`` (``blocked`` for float32 on the CPU, else ``direct``), ``direct`` or
            ``blocked``. All paths agree to float rounding.

    Returns:
        (B, C, H, W) tensor, reflect-101 borders.
    """
    if path not in SEPARABLE_PATHS:
        raise UnknownNameError("separable path", path, SEPARABLE_PATHS)
    ky = ky.to(device=x.device, dtype=x.dtype)
    kx = kx.to(device=x.device, dtype=x.dtype)
    if path == "auto":
        path = "blocked" if x.device.type == "cpu" and x.dtype == torch.float32 else "direct"
    if path == "blocked":
        return _blocked(x, ky, kx)
    return _direct(x, ky, kx)


def _direct(x: Tensor, ky: Tensor, kx: Tensor) -> Tensor:
    C = x.shape[1]
    kh, kw = ky.numel(), kx.numel()
    padded = pad_reflect101(x, kw // 2, kw - 1 - kw // 2, kh // 2, kh - 1 - kh // 2)
    out = padded
    if kw > 1:
        out = F.conv2d(out, kx.view(1, 1, 1, kw).expand(C, 1, 1, kw).contiguous(), groups=C)
    if kh > 1:
        out = F.conv2d(out, ky.view(1, 1, kh, 1).expand(C, 1, kh, 1).contiguous(), groups=C)
    return out if out is not x else x.clone()


def polyphase_weight(kx: Tensor, lanes: int = LANES) -> Tensor:
    """The 1-D filter ``kx`` as a dense (lanes, lanes, 1, taps) convolution over pixel blocks.

    Output lane ``o`` of block ``b`` is pixel ``b·lanes + o``; it needs input pixel
    ``b·lanes + o + i`` for tap ``i``, which is lane ``l`` of block ``b + t`` where
    ``t·lanes + l − o = i``.
    """
    k = kx.numel()
    taps = (k + lanes - 2) // lanes + 1
    out_lane = torch.arange(lanes, device=kx.device)[:, None, None]
    in_lane = torch.arange(lanes, device=kx.device)[None, :, None]
    block = torch.arange(taps, device=kx.device)[None, None, :]
    tap = block * lanes + in_lane - out_lane  # (lanes, lanes, taps)
    valid = (tap >= 0) & (tap < k)
    weight = torch.where(valid, kx[tap.clamp(0, k - 1)], torch.zeros((), dtype=kx.dtype))
    return weight.unsqueeze(2).contiguous(memory_format=torch.channels_last)


class _Strips:
    """The per-strip work of the blocked path for one image width and one pair of kernels."""

    def __init__(self, W: int, ky: Tensor, kx: Tensor) -> None:
        self.W, self.kh, self.kw = W, ky.numel(), kx.numel()
        self.left, self.right = self.kw // 2, self.kw - 1 - self.kw // 2
        self.weight_h = polyphase_weight(kx)
        taps = self.weight_h.shape[-1]
        self.blocks_out = -(-W // LANES)
        self.blocks_in = self.blocks_out + taps - 1
        self.weight_v = ky.view(1, 1, self.kh, 1).expand(W, 1, self.kh, 1).contiguous()

    def __call__(self, rows: Tensor) -> Tensor:
        """(R, W) contiguous rows -> (R − kh + 1, blocks_out · LANES) filtered rows."""
        R, W = rows.shape
        n = R - self.kh + 1
        if self.kh > 1:  # vertical: W columns as W channels of a (1, W, R, 1) image
            cols = rows.view(1, R, 1, W).permute(0, 3, 1, 2)
            rows = F.conv2d(cols, self.weight_v, groups=W).permute(0, 2, 3, 1).reshape(n, W)
        buffer = rows.new_empty(n, self.blocks_in * LANES)
        fill_columns(buffer, rows, self.left, self.right)
        blocks = buffer.view(1, n, self.blocks_in, LANES).permute(0, 3, 1, 2)  # (1, L, n, b)
        out = F.conv2d(blocks, self.weight_h)  # (1, L, n, blocks_out), channels last
        return out.permute(0, 2, 3, 1).reshape(n, self.blocks_out * LANES)


def _blocked(x: Tensor, ky: Tensor, kx: Tensor) -> Tensor:
    B, C, H, W = x.shape
    prime_heap(x.device)
    planes = x.contiguous().reshape(B * C, H, W)
    out = torch.empty_like(planes)
    strips = _Strips(W, ky, kx)
    kh = ky.numel()
    top, bottom = kh // 2, kh - 1 - kh // 2
    width = strips.blocks_in * LANES
    rows_per_strip = max(1, STRIP_ELEMENTS // width)
    if H + kh - 1 <= rows_per_strip:  # small images: several whole planes per strip
        per = max(1, rows_per_strip // (H + kh - 1))
        source = reflect_index(-top, H + bottom, H, x.device)
        wo = strips.blocks_out * LANES
        for p0 in range(0, B * C, per):
            group = planes[p0 : p0 + per].index_select(1, source)  # (g, H + kh − 1, W)
            g = group.shape[0]
            filtered = strips(group.reshape(g * (H + kh - 1), W))
            # plane q's rows start at q·(H + kh − 1); rows between planes are discarded
            out[p0 : p0 + g] = filtered.as_strided((g, H, W), ((H + kh - 1) * wo, wo, 1))
        return out.view(B, C, H, W)
    for p in range(B * C):
        for h0 in range(0, H, rows_per_strip):
            h1 = min(H, h0 + rows_per_strip)
            if h0 - top >= 0 and h1 + bottom <= H:
                rows = planes[p, h0 - top : h1 + bottom]
            else:
                rows = planes[p].index_select(0, reflect_index(h0 - top, h1 + bottom, H, x.device))
            out[p, h0:h1] = strips(rows)[:, :W]
    return out.view(B, C, H, W)
