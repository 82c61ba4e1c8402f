"""2-D filtering with a full (non-separable) kernel: a direct path and a tiled FFT path.

Both compute the correlation OpenCV's ``filter2D`` computes, with reflect-101 borders and the
anchor at the kernel's centre (k // 2):

    out[y, x] = sum_{i, j} k[i, j] · in[y + i − kh // 2, x + j − kw // 2]

- ``direct``: a depthwise ``conv2d`` on a padded copy (cheap on a GPU for small kernels).
- ``fft``: overlap-save. The image is cut into bands of rows and each band into tiles of an
  FFT-friendly size F, every tile carrying its (k − 1)-pixel apron read from the image (or its
  reflection at the borders); ``rfft2`` -> product with the kernel's spectrum -> ``irfft2``, and
  the valid F − k + 1 pixels of each tile are kept. Cost per pixel grows with log F, not with the
  kernel's area, and memory is bounded by :data:`FFT_BAND_ELEMENTS` however large the image.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor

from dof_smooth._border import fill_columns, pad_reflect101, reflect_index
from dof_smooth._memory import prime_heap
from dof_smooth.errors import UnknownNameError

FILTER2D_PATHS = ("auto", "direct", "fft")

#: elements of one band (images x channels x rows x padded width) and of one FFT call's tiles:
#: bounds the FFT path's memory, and keeps its buffers under glibc's 32 MiB mmap threshold so
#: they are reused from the heap instead of being page-faulted in again for every band
FFT_BAND_ELEMENTS = 1 << 22
#: bands on a GPU may be this many times larger (fewer, bigger FFT calls)
GPU_BAND_FACTOR = 16
#: FFT tiles are at least this long, and at least TILE_PER_KERNEL times the kernel's apron
MIN_TILE = 384
TILE_PER_KERNEL = 4
#: the largest kernel the direct path takes on a GPU when ``path="auto"``
DIRECT_MAX_KERNEL = 15


def filter2d(x: Tensor, kernel: Tensor, *, path: str = "auto") -> Tensor:
    """Correlate each channel of ``x`` with a 2-D ``kernel``, reflect-101 borders.

    Args:
        x: (B, C, H, W) floating tensor, any device.
        kernel: (kh, kw) kernel.
        path: ``auto`` (``fft`` on the CPU or for kernels over 15 pixels, else ``direct``),
            ``direct`` or ``fft``. All paths agree to float rounding (about 1e-6).

    Returns:
        (B, C, H, W) tensor.
    """
    if path not in FILTER2D_PATHS:
        raise UnknownNameError("filter2d path", path, FILTER2D_PATHS)
    kernel = kernel.to(device=x.device, dtype=x.dtype)
    if kernel.numel() == 1:
        return x * kernel.reshape(())
    if resolve_path(path, x.device, max(kernel.shape)) == "direct":
        return _direct(x, kernel)
    return _fft(x, kernel)


def resolve_path(path: str, device: torch.device, kernel_size: int) -> str:
    """The path ``auto`` stands for: ``fft`` on the CPU and for large kernels, else ``direct``."""
    if path != "auto":
        return path
    small = kernel_size <= DIRECT_MAX_KERNEL
    return "direct" if device.type != "cpu" and small else "fft"


def _direct(x: Tensor, kernel: Tensor) -> Tensor:
    C = x.shape[1]
    kh, kw = kernel.shape
    padded = pad_reflect101(x, kw // 2, kw - 1 - kw // 2, kh // 2, kh - 1 - kh // 2)
    weight = kernel.view(1, 1, kh, kw).expand(C, 1, kh, kw).contiguous()
    return F.conv2d(padded, weight, groups=C)


def fft_size(needed: int, k: int) -> int:
    """A 2,3,5-smooth FFT length for a kernel of ``k`` taps, no longer than ``needed`` requires."""
    target = max(MIN_TILE, TILE_PER_KERNEL * (k - 1), k)
    return _smooth_at_least(min(target, needed))


def _smooth_at_least(n: int) -> int:
    best = 1 << max(0, math.ceil(math.log2(max(n, 1))))
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            p = p35
            while p < n:
                p *= 2
            best = min(best, p)
            p35 *= 3
        p5 *= 5
    return best


class Rows(NamedTuple):
    """Rows ``[start, stop)`` of an axis of length ``size``; ``gather`` gives the reflect-101
    source rows when the range reaches past the edges (None when it is a plain slice)."""

    start: int
    stop: int
    gather: Tensor | None

    def take(self, x: Tensor) -> Tensor:
        """These rows of ``x`` (..., H, W): a view when possible, else a gather."""
        if self.gather is None:
            return x[..., self.start : self.stop, :]
        return x.index_select(-2, self.gather)


#: ``read(images, rows)`` -> (b, C, len(rows), W): the input rows to filter
Reader = Callable[[slice, Rows], Tensor]
#: ``write(images, y0, rows)`` with the filtered rows (b, C, n, W) starting at row y0
Writer = Callable[[slice, int, Tensor], None]


def stream_filter2d(read: Reader, write: Writer, shape: tuple[int, ...], kernel: Tensor) -> None:
    """The FFT path as a stream: input rows are pulled from ``read`` and results pushed to
    ``write`` one band at a time, so a pipeline can compute its input and use its output band
    by band (see :mod:`dof_smooth.portrait`) without a whole-image intermediate.

    Args:
        read: gives the input rows (reflect-101 rows at the top and bottom edges).
        write: takes each band of output rows; bands arrive in order, each covering all
            channels of a slice of the batch.
        shape: (B, C, H, W) of the virtual input.
        kernel: (kh, kw) float32 or float64 kernel (the correlation's weights).
    """
    B, C, H, W = shape
    prime_heap(kernel.device)
    kh, kw = kernel.shape
    top, left = kh // 2, kw // 2
    Fh, Fw = fft_size(H + kh - 1, kh), fft_size(W + kw - 1, kw)
    Th, Tw = Fh - kh + 1, Fw - kw + 1  # valid outputs per tile
    tiles_w = -(-W // Tw)
    width = tiles_w * Tw + kw - 1
    # circular correlation = convolution with the flipped kernel; the valid part starts at k − 1
    spectrum = torch.fft.rfft2(kernel.flip(0, 1), s=(Fh, Fw))
    budget = FFT_BAND_ELEMENTS * (1 if kernel.device.type == "cpu" else GPU_BAND_FACTOR)
    per = max(1, budget // (C * Fh * width))  # images per band
    step = max(1, budget // (min(per, B) * C * Fh * Fw))  # tiles per FFT call
    for b0 in range(0, B, per):
        images = slice(b0, min(B, b0 + per))
        for y0 in range(0, H, Th):
            n = min(Th, H - y0)
            start, stop = y0 - top, y0 - top + Fh
            inside = start >= 0 and stop <= H
            rows = Rows(
                start, stop, None if inside else reflect_index(start, stop, H, kernel.device)
            )
            source = read(images, rows)  # (b, C, Fh, W)
            band = source.new_empty(*source.shape[:-1], width)
            fill_columns(band, source, left, kw - 1 - left)
            out = source.new_empty(*source.shape[:-2], n, W)
            for t0 in range(0, tiles_w, step):
                t1 = min(tiles_w, t0 + step)
                tiles = band[..., t0 * Tw : t1 * Tw + kw - 1].unfold(-1, Fw, Tw)
                tiles = tiles.transpose(-3, -2)  # (b, C, tiles, Fh, Fw)
                result = torch.fft.irfft2(_times(torch.fft.rfft2(tiles), spectrum), s=(Fh, Fw))
                valid = result[..., kh - 1 : kh - 1 + n, kw - 1 :]  # (b, C, tiles, n, Tw)
                _place(out[..., t0 * Tw : min(W, t1 * Tw)], valid, Tw)
            write(images, y0, out)


def _fft(x: Tensor, kernel: Tensor) -> Tensor:
    dtype = x.dtype
    if dtype in (torch.float16, torch.bfloat16):  # FFTs of arbitrary sizes need float32
        return _fft(x.float(), kernel.float()).to(dtype)
    x = x.contiguous()
    out = torch.empty_like(x)

    def read(images: slice, rows: Rows) -> Tensor:
        return rows.take(x[images])

    def write(images: slice, y0: int, rows: Tensor) -> None:
        out[images, :, y0 : y0 + rows.shape[-2]] = rows

    stream_filter2d(read, write, tuple(x.shape), kernel)
    return out


def _times(a: Tensor, b: Tensor) -> Tensor:
    """``a * b``, in place when autograd does not need ``a`` (saves a band-sized buffer)."""
    if torch.is_grad_enabled() and (a.requires_grad or b.requires_grad):
        return a * b
    return a.mul_(b)


def _place(target: Tensor, valid: Tensor, Tw: int) -> None:
    """Copy tiles (..., tiles, n, Tw) side by side into ``target`` (..., n, W)."""
    W = target.shape[-1]
    full = W // Tw
    if full:
        grid = target[..., : full * Tw].view(*target.shape[:-1], full, Tw)  # (..., n, full, Tw)
        grid.copy_(valid[..., :full, :, :].transpose(-3, -2))
    if full * Tw < W:
        target[..., full * Tw :].copy_(valid[..., full, :, : W - full * Tw])
