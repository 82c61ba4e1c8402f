"""Full-size photos within a memory budget: overlapping tiles that share instance-norm statistics.

The generator normalises every feature map by its mean and variance over the whole image
(instance norm). Tiles run on their own would each normalise by their own statistics and come
out in different colours. So the statistics are taken once, from the whole photo (or, when even
that does not fit, from a copy downscaled to fit), and every tile is normalised with them.

Tiles start at multiples of 4 (the generator's two stride-2 steps then see the same grid as on
the whole photo). Each runs with a margin of context around it (about the generator's receptive
radius; the margin's output is thrown away), neighbours overlap by ``overlap`` pixels and are
blended with linear ramps across it, so what little difference is left fades out instead of
showing as a seam.
"""

from __future__ import annotations

import copy
import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dof_gan.errors import MemoryBudgetError, ShapeError

#: peak bytes per pixel of a float32 generator pass with ngf 64 (9 blocks), measured with
#: bench/bench_gan.py on CPU; scales with ngf.
BYTES_PER_PIXEL_NGF64 = 1100
#: what the process keeps besides the tile's activations (torch, weights, buffers), in bytes.
BASE_BYTES = 600 * 2**20
#: per photo pixel: the float input (and its padded copy), the weighted output sum, its weights.
PHOTO_BYTES_PER_PIXEL = 48
#: default budget of ``dof apply``: fits a laptop with 4 GiB.
DEFAULT_MAX_MEMORY = 3 * 2**30
DEFAULT_OVERLAP = 128
#: the smallest tile side :func:`plan_tile` chooses
MIN_TILE = 64

NormStats = dict[str, tuple[Tensor, Tensor]]


class FixedInstanceNorm(nn.Module):
    """Instance norm with given per-channel statistics: ``(x - mean) / sqrt(var + eps)``."""

    def __init__(self, norm: nn.InstanceNorm2d, mean: Tensor, var: Tensor) -> None:
        super().__init__()
        self.norm = norm  # keeps eps and the affine weights, if any
        self.mean: Tensor
        self.rstd: Tensor
        self.register_buffer("mean", mean.reshape(1, -1, 1, 1))
        self.register_buffer("rstd", torch.rsqrt(var.reshape(1, -1, 1, 1) + norm.eps))

    def forward(self, x: Tensor) -> Tensor:
        out: Tensor = (x - self.mean) * self.rstd
        if self.norm.affine:
            weight, bias = self.norm.weight, self.norm.bias
            out = out * weight.reshape(1, -1, 1, 1) + bias.reshape(1, -1, 1, 1)
        return out


def record_norm_stats(generator: nn.Module, image: Tensor) -> NormStats:
    """Run ``generator`` once on ``image`` and keep each instance norm's input statistics.

    Args:
        generator: a generator with ``nn.InstanceNorm2d`` layers.
        image: (1, 3, H, W) in [-1, 1], H and W multiples of 4.

    Returns:
        ``{module name: (mean, var)}``, each (C,), biased variance as instance norm uses.
    """
    stats: NormStats = {}
    handles = []
    for name, module in generator.named_modules():
        if isinstance(module, nn.InstanceNorm2d):

            def hook(_: nn.Module, inputs: tuple[Tensor, ...], name: str = name) -> None:
                x = inputs[0].float()
                stats[name] = (x.mean(dim=(0, 2, 3)), x.var(dim=(0, 2, 3), unbiased=False))

            handles.append(module.register_forward_pre_hook(hook))
    try:
        generator(image)
    finally:
        for handle in handles:
            handle.remove()
    return stats


def with_fixed_norms(generator: nn.Module, stats: NormStats) -> nn.Module:
    """A copy of ``generator`` whose instance norms use ``stats`` instead of each input's own."""
    fixed = copy.deepcopy(generator)
    for name, (mean, var) in stats.items():
        parent_name, _, child = name.rpartition(".")
        parent = fixed.get_submodule(parent_name)
        norm = parent.get_submodule(child)
        assert isinstance(norm, nn.InstanceNorm2d)
        setattr(parent, child, FixedInstanceNorm(norm, mean, var))
    return fixed


def context_margin(generator: nn.Module) -> int:
    """Pixels of context a tile needs on each side: about the generator's receptive radius.

    A ResNet generator with n blocks sees 3 + 1 + 2 pixels through its input layers, 4 per
    3x3 convolution at quarter resolution (2 per block), and 3 + 3 on the way out.
    """
    config = getattr(generator, "config", None)
    n_blocks = getattr(config, "n_blocks", 9)
    return 4 * (2 * int(n_blocks) + 4) + 16


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Starts (multiples of 4) of tiles of ``tile`` pixels covering ``length`` (a multiple of 4)."""
    if length <= tile:
        return [0]
    stride = tile - overlap
    starts = list(range(0, length - tile, stride))
    return [*starts, length - tile]


def _ramp(size: int, overlap: int, fade_start: bool, fade_end: bool) -> Tensor:
    """(size,) weights: linear from ~0 to 1 over ``overlap`` pixels at each faded end."""
    weight = torch.ones(size)
    ramp = (torch.arange(min(overlap, size), dtype=torch.float32) + 0.5) / max(overlap, 1)
    if fade_start:
        weight[: ramp.numel()] = torch.minimum(weight[: ramp.numel()], ramp)
    if fade_end:
        weight[-ramp.numel() :] = torch.minimum(weight[-ramp.numel() :], ramp.flip(0))
    return weight


def translate_tiled(
    generator: nn.Module,
    image: Tensor,
    *,
    tile: int,
    overlap: int = DEFAULT_OVERLAP,
    stats_image: Tensor | None = None,
    margin: int | None = None,
) -> Tensor:
    """The generator's output on ``image``, computed in overlapping tiles.

    Args:
        generator: a generator (instance norm layers) on some device.
        image: (1, 3, H, W) in [-1, 1], H and W multiples of 4, on the generator's device.
        tile: tile side in pixels, a multiple of 4, larger than ``overlap``.
        overlap: pixels shared by neighbouring tiles (a multiple of 4), blended linearly.
        stats_image: (1, 3, h, w) in [-1, 1] the normalisation statistics come from: the image
            itself (exact) or a downscaled copy; default: ``image``.
        margin: context pixels (a multiple of 4) run around each tile and dropped; default
            :func:`context_margin`.

    Returns:
        (1, 3, H, W) in [-1, 1], float32.

    Raises:
        ShapeError: sizes that are not multiples of 4, or an overlap not below the tile.
    """
    h, w = image.shape[-2:]
    if image.ndim != 4 or image.shape[:2] != (1, 3) or h % 4 or w % 4:
        raise ShapeError(
            f"image must be (1, 3, H, W), H and W multiples of 4; got {tuple(image.shape)}"
        )
    if tile % 4 or overlap % 4 or not 0 <= overlap < tile:
        raise ShapeError(
            f"tile and overlap must be multiples of 4, overlap < tile; got {tile}, {overlap}"
        )
    margin = context_margin(generator) if margin is None else margin
    if margin % 4 or margin < 0:
        raise ShapeError(f"margin must be a multiple of 4, 0 or more; got {margin}")
    stats = record_norm_stats(generator, image if stats_image is None else stats_image)
    fixed = with_fixed_norms(generator, stats)
    out = torch.zeros(1, 3, h, w, device=image.device)
    total = torch.zeros(1, 1, h, w, device=image.device)
    rows, cols = tile_starts(h, tile, overlap), tile_starts(w, tile, overlap)
    for top in rows:
        for left in cols:
            th, tw = min(tile, h), min(tile, w)
            y0, x0 = max(0, top - margin), max(0, left - margin)
            y1, x1 = min(h, top + th + margin), min(w, left + tw + margin)
            context = fixed(image[..., y0:y1, x0:x1]).float()
            result = context[..., top - y0 : top - y0 + th, left - x0 : left - x0 + tw]
            weight = (
                _ramp(th, overlap, top > 0, top + th < h)[:, None]
                * _ramp(tw, overlap, left > 0, left + tw < w)[None, :]
            ).to(image.device)  # (th, tw)
            out[..., top : top + th, left : left + tw] += result * weight
            total[..., top : top + th, left : left + tw] += weight
    return out / total


def generator_bytes_per_pixel(generator: nn.Module) -> int:
    """Estimated peak bytes per pixel of one float32 pass (scales with the first layer's width)."""
    first = next(m for m in generator.modules() if isinstance(m, nn.Conv2d))
    return math.ceil(BYTES_PER_PIXEL_NGF64 * first.out_channels / 64)


def plan_tile(generator: nn.Module, height: int, width: int, max_memory: int) -> int | None:
    """The tile side that keeps a pass over a (height, width) photo within ``max_memory`` bytes.

    Returns:
        ``None`` when the whole photo fits (no tiling); else a multiple of 4, at least 64.

    Raises:
        MemoryBudgetError: even the smallest tile does not fit (the photo's own buffers take the
            budget), before any work; the message says to lower the size or raise the budget.
    """
    per_pixel = generator_bytes_per_pixel(generator)
    room = max_memory - BASE_BYTES - PHOTO_BYTES_PER_PIXEL * height * width
    if per_pixel * height * width <= room:
        return None
    margin = context_margin(generator)
    smallest = per_pixel * (MIN_TILE + 2 * margin) ** 2
    if room < smallest:
        need = BASE_BYTES + PHOTO_BYTES_PER_PIXEL * height * width + smallest
        gib = 2**30
        raise MemoryBudgetError(
            f"{width}x{height} ({height * width / 1e6:.0f} MP): the generator needs about "
            f"{need / gib:.1f} GiB even in tiles, over the budget of {max_memory / gib:.1f} GiB: "
            "too large for the memory budget; lower the size or raise --max-memory (e.g. "
            f"--max-memory {max(1, -(-need // gib))}GiB)"
        )
    side = int(math.sqrt(room / per_pixel)) // 4 * 4 - 2 * margin
    return max(side, MIN_TILE)


def downscale_for_stats(image: Tensor, max_pixels: int) -> Tensor:
    """``image`` (1, 3, H, W) shrunk (antialiased) to ``max_pixels`` or fewer; sides multiples
    of 4."""
    h, w = image.shape[-2:]
    scale = min(1.0, math.sqrt(max_pixels / (h * w)))
    size = (max(4, int(h * scale) // 4 * 4), max(4, int(w * scale) // 4 * 4))
    if size == (h, w):
        return image
    return F.interpolate(image, size=size, mode="bilinear", align_corners=False, antialias=True)


def paint_photo(generator: nn.Module, x: Tensor, max_memory: int | None) -> Tensor:
    """A painting generator on a whole photo: (B, 3, H, W) in [0, 1] -> [0, 1], float32.

    Pads to a multiple of 4 by reflection and crops back; with ``max_memory`` a photo that needs
    more is translated in overlapping tiles with instance-norm statistics from the whole photo,
    downscaled to fit.
    """
    h, w = x.shape[-2:]
    pad_h, pad_w = -h % 4, -w % 4
    padded = x * 2 - 1
    if pad_h or pad_w:
        padded = F.pad(padded, (0, pad_w, 0, pad_h), mode="reflect")
    height, width = padded.shape[-2:]
    tile = None if max_memory is None else plan_tile(generator, height, width, max_memory)
    if tile is None:
        result: Tensor = generator(padded)
    else:  # one photo at a time, in tiles
        overlap, margin = min(DEFAULT_OVERLAP, tile // 16 * 4), context_margin(generator)
        result = torch.cat([
            translate_tiled(generator, one, tile=tile, overlap=overlap,
                            stats_image=downscale_for_stats(one, (tile + 2 * margin) ** 2))
            for one in torch.split(padded, 1)
        ])  # fmt: skip
    return ((result[..., :h, :w] + 1) / 2).clamp(0, 1)
