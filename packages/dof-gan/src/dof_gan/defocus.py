"""The defocus generator: a small network predicts where and how much, the lens draws it.

``G(x) = render(x, d(x))``: a U-Net reads the photo (and, with ``prior``, a person mask from a
segmenter) and predicts a per-pixel *defocus fraction* ``s(x)`` in [0, 1]; the blur radius is
``r(x) = aperture · s(x)`` pixels at the training size, where ``aperture`` is one learned number
per model, bounded by ``max_radius``. dof-smooth's :func:`~dof_smooth.defocus_blur` draws the
map: disk blurs in linear light, sharp levels in front, so the output is a blend of blurred
copies of the input (no colour cast is possible) and a sharp subject never bleeds into the
blurred background.

Why an unsigned radius and one aperture (docs/gan.md): a portrait's subject is the nearest
thing that is in focus, so ordering by radius (sharp in front) is the occlusion order that
matters; a single aperture is what a lens has, it is the one number domain B teaches (the
studio's aperture slider scales it), and the map network is left the question of *where*.

An untrained model returns (almost) its input: the map head starts at s = ``INITIAL_FRACTION``
everywhere (radius ``INITIAL_FRACTION · INITIAL_APERTURE``, about 0.05 px at the defaults), while
the aperture starts open (``INITIAL_APERTURE`` of ``max_radius``), so that as soon as the map
rises the discriminator sees a blur it can judge. The aperture learns ``APERTURE_RATE`` times
faster than a weight (one number against thousands: with Adam every parameter moves about
``lr`` per step).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dof_gan.config import GeneratorConfig
from dof_gan.errors import MemoryBudgetError
from dof_smooth.defocus import defocus_blur

#: aperture of an untrained model, as a fraction of ``max_radius``
INITIAL_APERTURE = 0.25
#: defocus fraction s of an untrained model, everywhere
INITIAL_FRACTION = 0.018
#: radius levels a full-size photo is drawn with by default: 0 and the full aperture, so a
#: pixel's fraction s blends the sharp photo with the one blur of the whole aperture (each level
#: costs a blur of the whole photo). Measured on the 48 held-out items (docs/results.md): the
#: shipped model scores best so (29.19 dB at step 1,500 against 28.94 with 3 levels and 28.74
#: with 9); the photo-only model prefers 3 (25.15 against 24.63 dB): pass ``levels=``.
FULL_SIZE_LEVELS = 2
#: peak bytes per photo pixel of :func:`dof_smooth.defocus_blur` on the CPU (an upper estimate:
#: the streamed drawing holds less); bands of rows keep the drawing within a budget.
DRAW_BYTES_PER_PIXEL = 160
UPSAMPLINGS = ("guided", "bilinear")
#: bytes per photo pixel held for the whole drawing: the float photo and its output, the radius
#: map and the guided upsampling's buffers (bench/bench_defocus.py)
PHOTO_BYTES_PER_PIXEL = 48
#: what the process holds besides (torch, the map network, the segmenter)
BASE_BYTES = 400 * 2**20
#: how much faster the aperture's logit moves than a weight (see the module docstring)
APERTURE_RATE = 10.0


@dataclass(frozen=True)
class MapOutput:
    """What a training step needs of a defocus generator besides its output.

    Attributes:
        logits: (B, 1, H, W) logits of the defocus fraction (the focus term's input: a
            cross-entropy on logits, which a saturated sigmoid cannot silence).
        held: the same output drawn with the aperture held fixed (no gradient to it): what the
            mask loss judges, so that it teaches the map to keep the subject in focus instead
            of closing the lens for the whole photo (the aperture is D_B's to learn).
    """

    logits: Tensor
    held: Tensor

    def chunk(self, parts: int) -> list[MapOutput]:
        """Split along the batch, as ``Tensor.chunk``."""
        return [MapOutput(a, b) for a, b in zip(self.logits.chunk(parts), self.held.chunk(parts),
                                                strict=True)]  # fmt: skip


def _block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1, padding_mode="replicate"),
        nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(c_out, c_out, 3, padding=1, padding_mode="replicate"),
        nn.LeakyReLU(0.2, inplace=True),
    )


class MapNet(nn.Module):
    """U-Net of ``depth`` levels (width, 2·width, ...) -> one logit per pixel.

    The deepest level also sees the image-wide mean of its features (what the whole scene looks
    like decides what is background). Input sides must be multiples of ``2**(depth-1)``.
    """

    def __init__(self, in_channels: int, width: int, depth: int) -> None:
        super().__init__()
        widths = [width * 2**k for k in range(depth)]
        self.down = nn.ModuleList()
        c = in_channels
        for w in widths:
            self.down.append(_block(c, w))
            c = w
        self.context = nn.Conv2d(2 * widths[-1], widths[-1], 1)
        self.up = nn.ModuleList(
            _block(widths[k + 1] + widths[k], widths[k]) for k in reversed(range(depth - 1))
        )
        self.head = nn.Conv2d(widths[0], 1, 1)
        nn.init.zeros_(self.head.weight)  # s = INITIAL_FRACTION everywhere at the start
        assert self.head.bias is not None
        nn.init.constant_(self.head.bias, math.log(INITIAL_FRACTION / (1 - INITIAL_FRACTION)))

    def forward(self, x: Tensor) -> Tensor:
        skips = []
        for k, block in enumerate(self.down):
            x = block(x if k == 0 else F.avg_pool2d(x, 2))
            skips.append(x)
        scene = x.mean((2, 3), keepdim=True).expand_as(x)
        x = F.leaky_relu(self.context(torch.cat([x, scene], 1)), 0.2)
        for block, skip in zip(self.up, reversed(skips[:-1]), strict=True):
            x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            x = block(torch.cat([x, skip], 1))
        logits: Tensor = self.head(x)  # (B, 1, H, W)
        return logits


class DefocusGenerator(nn.Module):
    """A generator whose output is rendered: ``render(x, aperture · s(x))``.

    Same contract as :class:`~dof_gan.networks.ResnetGenerator`: ``forward(x, prior)`` takes and
    returns (B, 3, H, W) in [-1, 1]. ``prior`` is a (B, 1, H, W) person mask in [0, 1] from the
    segmenter ``config.prior`` names (needed when it names one, ignored otherwise).
    """

    def __init__(self, config: GeneratorConfig) -> None:
        super().__init__()
        self.config = config
        self.uses_prior = bool(config.prior)
        self.net = MapNet(3 + self.uses_prior, config.width, config.depth)
        start = INITIAL_APERTURE
        self.aperture_logit = nn.Parameter(
            torch.tensor(math.log(start / (1 - start)) / APERTURE_RATE)
        )

    @property
    def multiple(self) -> int:
        """Input sides must be multiples of this (the U-Net's poolings)."""
        return int(2 ** (self.config.depth - 1))

    def aperture(self) -> Tensor:
        """The learned aperture radius, pixels at the training size, a 0-d tensor."""
        return self.config.max_radius * torch.sigmoid(self.aperture_logit * APERTURE_RATE)

    def fraction(self, x: Tensor, prior: Tensor | None = None) -> Tensor:
        """The defocus fraction s(x) in [0, 1], (B, 1, H, W): 0 in focus, 1 the full aperture."""
        return torch.sigmoid(self.logits(x, prior))

    def logits(self, x: Tensor, prior: Tensor | None = None) -> Tensor:
        """The logits of :meth:`fraction`, (B, 1, H, W) float32."""
        if self.uses_prior:
            if prior is None:
                raise ValueError(
                    f"this generator reads a person mask from the {self.config.prior!r} "
                    "segmenter: pass prior= (B, 1, H, W) in [0, 1]"
                )
            x = torch.cat([x, prior.to(x.dtype)], 1)
        h, w = x.shape[-2:]
        m = self.multiple
        pad_h, pad_w = -h % m, -w % m
        if pad_h or pad_w:
            x = F.pad(x, (0, pad_w, 0, pad_h), mode="replicate")
        logits: Tensor = self.net(x)
        return logits[..., :h, :w].float()

    def defocus_map(self, x: Tensor, prior: Tensor | None = None) -> Tensor:
        """Blur radius of each pixel of ``x`` in pixels (at ``x``'s size), (B, 1, H, W)."""
        return self.aperture().float() * self.fraction(x, prior)

    def forward(
        self, x: Tensor, prior: Tensor | None = None, *, with_map: bool = False
    ) -> Tensor | tuple[Tensor, MapOutput | None]:
        """``render(x, aperture · s(x))``; with ``with_map`` also what training needs of the
        map (:class:`MapOutput`; one call, so DDP sees it)."""
        logits = self.logits(x, prior)
        fraction = torch.sigmoid(logits)
        out = render(x, self.aperture().float() * fraction, self.config.max_radius)
        if not with_map:
            return out
        held = render(x, self.aperture().detach().float() * fraction, self.config.max_radius)
        return out, MapOutput(logits, held)

    def check_memory(self, height: int, width: int, max_memory: int) -> None:
        """Raise :class:`~dof_gan.errors.MemoryBudgetError` when a (height, width) photo does
        not fit in ``max_memory`` bytes even drawn in the thinnest bands."""
        need = full_size_bytes(height, width, self.aperture_at(height, width))
        if need > max_memory:
            gib = 2**30
            raise MemoryBudgetError(
                f"{width}x{height} ({height * width / 1e6:.0f} MP): the defocus generator needs "
                f"about {need / gib:.1f} GiB even in bands, over the budget of "
                f"{max_memory / gib:.1f} GiB: too large for the memory budget; lower the size or "
                f"raise --max-memory (e.g. --max-memory {max(1, -(-need // gib))}GiB)"
            )

    def aperture_at(self, height: int, width: int) -> float:
        """The learned aperture in pixels of a (height, width) photo."""
        return float(self.aperture().detach()) * max(height, width) / self.config.work_size

    def translate_photo(
        self,
        image: Tensor,
        *,
        prior: Tensor | None = None,
        max_memory: int | None = None,
        aperture: float = 1.0,
        focus: Tensor | None = None,
        blur: Tensor | None = None,
        levels: int = FULL_SIZE_LEVELS,
        upsample: str = "guided",
        work_size: int | None = None,
        highlights: float = 0.0,
    ) -> tuple[Tensor, Tensor]:
        """A whole photo at its own size: the map at the working size, the lens at full size.

        Args:
            image: (B, 3, H, W) float in [0, 1], any size.
            prior: (B, 1, H, W) person mask from ``config.prior``'s segmenter (when it names one).
            max_memory: bytes the full-size drawing may use; it is drawn in bands of rows when
                it needs more (``None``: at once).
            aperture: scales the learned aperture (the studio's slider; 0 = the photo itself).
            focus: (B, 1, H, W) in [0, 1], forced into focus where 1 (a clicked person).
            blur: (B, 1, H, W) in [0, 1], forced to the full aperture where 1 (the people not
                chosen); ``focus`` wins where both are set.
            levels: radius levels of the full-size drawing, 0 to the largest radius (each
                level costs one blur of the photo).
            upsample: ``guided`` (edge-aware, the photo as the guide) or ``bilinear``.
            work_size: long side the map is predicted at (default: the training size).
            highlights: highlight boost of the lens.

        Returns:
            The rendered photo (B, 3, H, W) float32 in [0, 1] and its radius map (B, 1, H, W),
            pixels at the photo's size.
        """
        x = image.float()
        H, W = x.shape[-2:]
        size = work_size or self.config.work_size
        scale = max(H, W) / size  # radii are learned in pixels of the training size
        small = (max(1, round(H / scale)), max(1, round(W / scale)))
        x_small = _resize(x, small)  # the map is predicted at the size the model learned at
        prior_small = None if prior is None else _resize(prior.float(), small)
        fraction = self.fraction(x_small * 2 - 1, prior_small)
        full = upsample_fraction(fraction, x, mode=upsample)
        top = self.aperture().float() * (aperture * scale)
        radius = top * full
        if blur is not None:
            radius = torch.maximum(radius, top * blur.float())
        if focus is not None:
            radius = radius * (1 - focus.float())
        out = draw_in_bands(x, radius, levels=levels, highlights=highlights,
                            max_memory=max_memory)  # fmt: skip
        return out, radius


def _resize(x: Tensor, size: tuple[int, int]) -> Tensor:
    """Area-average down, bilinear up, the same size as it is."""
    if tuple(x.shape[-2:]) == size:
        return x
    if size[0] < x.shape[-2]:
        return F.interpolate(x, size=size, mode="area")
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


def full_size_bytes(height: int, width: int, radius: float) -> int:
    """Peak bytes of :meth:`DefocusGenerator.translate_photo` on a (height, width) photo drawn
    in the thinnest bands: the photo-sized buffers plus one band of 16 rows and its context."""
    pixels = height * width
    band = (16 + 2 * (math.ceil(radius) + 1)) * width
    return BASE_BYTES + PHOTO_BYTES_PER_PIXEL * pixels + DRAW_BYTES_PER_PIXEL * band


def upsample_fraction(fraction: Tensor, guide: Tensor, *, mode: str = "guided") -> Tensor:
    """A map predicted at the working size -> the photo's size, (B, 1, H, W) in [0, 1].

    ``guided``: bilinear, then kornia's guided filter with the photo's luminance as the guide,
    its coefficients computed at the working size (``subsample``), so the map's edges snap to
    the photo's edges (hair, shoulders). ``bilinear``: bilinear alone.
    """
    H, W = guide.shape[-2:]
    up = _resize(fraction, (H, W))
    if mode == "bilinear" or fraction.shape[-2] >= H:  # nothing to guide at or below its size
        return up
    if mode != "guided":
        raise ValueError(f"upsample must be one of {', '.join(UPSAMPLINGS)}; got {mode!r}")
    import kornia  # the guided filter; imported here to keep `import dof_gan` light

    step = max(1, round(H / fraction.shape[-2]))
    grey = (0.299 * guide[:, :1] + 0.587 * guide[:, 1:2] + 0.114 * guide[:, 2:3]).float()
    size = 2 * (2 * step) + 1  # a window of about 4 working pixels
    out = kornia.filters.guided_blur(grey, up, size, 1e-3, subsample=step)
    return out.clamp(0, 1)


def draw_in_bands(
    image: Tensor, radius: Tensor, *, levels: int, highlights: float, max_memory: int | None
) -> Tensor:
    """:func:`dof_smooth.defocus_blur` of a whole photo, in bands of rows within ``max_memory``.

    Each band carries the largest radius (plus one pixel) of context above and below, so the
    bands join without seams (the disks see the same pixels as on the whole photo).
    """
    top = float(radius.amax())
    H, W = image.shape[-2:]
    rows = H
    if max_memory is not None:
        room = max_memory - BASE_BYTES - PHOTO_BYTES_PER_PIXEL * H * W * image.shape[0]
        rows = max(1, int(room // (DRAW_BYTES_PER_PIXEL * W * image.shape[0])))
    halo = math.ceil(top) + 1
    rows = max(rows - 2 * halo, 16)
    if rows >= H:
        return defocus_blur(image, radius, max_radius=top, levels=levels, highlights=highlights)
    out = torch.empty_like(image)
    for y0 in range(0, H, rows):
        y1 = min(H, y0 + rows)
        a, b = max(0, y0 - halo), min(H, y1 + halo)
        band = defocus_blur(image[..., a:b, :], radius[..., a:b, :], max_radius=top,
                            levels=levels, highlights=highlights)  # fmt: skip
        out[..., y0:y1, :] = band[..., y0 - a : y1 - a, :]
    return out


def render(x: Tensor, radius: Tensor, max_radius: float, **lens: Any) -> Tensor:
    """Draw ``radius`` on ``x`` in [-1, 1] (the generators' range); float32, [-1, 1].

    The levels are 0, 1, ..., ``max_radius`` pixels; levels no pixel uses cost nothing.
    """
    with torch.autocast(x.device.type, enabled=False):
        image = ((x.float() + 1) / 2).clamp(0, 1)
        out = defocus_blur(image, radius.float(), max_radius=max_radius, path="direct", **lens)
    return out * 2 - 1
