"""The generator and discriminator of CycleGAN (Zhu et al. 2017), as the paper used them.

- :class:`ResnetGenerator`: reflection padding, instance norm, two stride-2 downsamplings,
  ``n_blocks`` residual blocks, two upsamplings (transposed convolutions, or resize-then-convolve,
  the remedy for checkerboard artifacts of section 4.4.1), tanh output in [-1, 1].
- :class:`PatchDiscriminator`: the 70x70 PatchGAN (3 strided layers); one score per patch.

Weights are initialised from normal(0, 0.02), biases at 0, from an explicit seed.
"""

from __future__ import annotations

from typing import Any, Protocol, cast

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dof_gan.config import DiscriminatorConfig, GeneratorConfig
from dof_gan.defocus import DefocusGenerator
from dof_gan.errors import ConfigError, ShapeError


class _ReflectionPad2d(torch.autograd.Function):
    """Reflection padding whose backward folds the border gradients back with slices.

    ATen's ``reflection_pad2d_backward`` on CPU is slow for bf16 (about 5x this one for the
    residual blocks' (1, 256, 34, 34) gradients); this one copies the interior once per axis and
    adds the reflected rows and columns onto the ones they were copied from.
    """

    @staticmethod
    def forward(ctx: Any, input: Tensor, padding: tuple[int, int, int, int]) -> Tensor:
        ctx.padding, ctx.size = padding, input.shape[-2:]
        return F.pad(input, padding, mode="reflect")

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:
        left, right, top, bottom = ctx.padding
        height, width = ctx.size
        cols = grad[..., left : left + width].clone()  # (B, C, H + top + bottom, W)
        if left:  # output column j < left repeats input column left - j
            cols[..., 1 : left + 1] += grad[..., :left].flip(-1)
        if right:  # output column left + W + k repeats input column W - 2 - k
            cols[..., width - 1 - right : width - 1] += grad[..., left + width :].flip(-1)
        rows = cols[..., top : top + height, :].clone()  # (B, C, H, W)
        if top:
            rows[..., 1 : top + 1, :] += cols[..., :top, :].flip(-2)
        if bottom:
            rows[..., height - 1 - bottom : height - 1, :] += cols[..., top + height :, :].flip(-2)
        return rows, None


class PhotoGenerator(Protocol):
    """The generator contract beyond ``forward``: what the trainer, ``dof apply``, export, the
    benchmark and the studio ask of any generator, never testing which kind it is."""

    config: GeneratorConfig

    def translate_photo(
        self,
        image: Tensor,
        *,
        prior: Tensor | None = None,
        max_memory: int | None = None,
        **render: Any,
    ) -> tuple[Tensor, Tensor | None]:
        """A whole photo in [0, 1] -> (output in [0, 1], radius map or None)."""
        ...

    def check_memory(self, height: int, width: int, max_memory: int) -> None:
        """Raise MemoryBudgetError when a (height, width) photo cannot fit in the budget."""
        ...


def as_photo_generator(generator: nn.Module) -> PhotoGenerator:
    """``generator`` typed as the contract every generator class here implements."""
    return cast(PhotoGenerator, generator)


def reflection_pad2d(input: Tensor, padding: int | tuple[int, int, int, int]) -> Tensor:
    """``F.pad(input, padding, mode="reflect")`` in the input's dtype, also under autocast.

    CPU autocast runs ``reflection_pad2d`` in float32, so a bf16 activation would be copied to
    float32, padded, and copied back to bf16 by the next convolution (and the same again in
    the backward pass). Padding only moves values: the convolution sees the same numbers. Under
    autocast the backward pass is :class:`_ReflectionPad2d`'s; without autocast (the fp32
    setting) this is ATen's padding, forward and backward, unchanged.

    Args:
        input: (B, C, H, W), any float dtype.
        padding: ``p`` for all four sides or ``(left, right, top, bottom)``, each < H and < W.

    Returns:
        (B, C, H + top + bottom, W + left + right), ``input``'s dtype.
    """
    sides = (padding,) * 4 if isinstance(padding, int) else padding
    if not torch.is_autocast_enabled(input.device.type):
        return F.pad(input, sides, mode="reflect")
    with torch.autocast(input.device.type, enabled=False):
        return _ReflectionPad2d.apply(input, sides)  # type: ignore[no-any-return]


class ReflectionPad2d(nn.ReflectionPad2d):
    """Module form of :func:`reflection_pad2d` (same padding, same checkpoint keys: none)."""

    def forward(self, input: Tensor) -> Tensor:
        return reflection_pad2d(input, self.padding)


class ResnetBlock(nn.Module):
    """conv-norm-relu-conv-norm with a skip connection; reflection padding keeps the size."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.block = nn.Sequential(
            ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3),
            nn.InstanceNorm2d(channels),
            nn.ReLU(inplace=True),
            ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3),
            nn.InstanceNorm2d(channels),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.block(x)  # type: ignore[no-any-return]


def _upsample(in_ch: int, out_ch: int, mode: str) -> list[nn.Module]:
    if mode == "resize":  # nearest resize, then a 3x3 convolution (Odena et al. 2016)
        return [
            nn.Upsample(scale_factor=2, mode="nearest"),
            ReflectionPad2d(1),
            nn.Conv2d(in_ch, out_ch, 3),
        ]
    return [nn.ConvTranspose2d(in_ch, out_ch, 3, stride=2, padding=1, output_padding=1)]


class ResnetGenerator(nn.Module):
    """Image-to-image generator (G or F).

    Input and output are (B, 3, H, W) in [-1, 1] with H and W multiples of 4; the network is
    fully convolutional, so any such size works.
    """

    def __init__(self, config: GeneratorConfig) -> None:
        super().__init__()
        self.config = config
        ngf = config.ngf
        layers: list[nn.Module] = [
            ReflectionPad2d(3),
            nn.Conv2d(3, ngf, 7),
            nn.InstanceNorm2d(ngf),
            nn.ReLU(inplace=True),
        ]
        for mult in (1, 2):  # two stride-2 downsamplings: ngf -> 2 ngf -> 4 ngf
            layers += [
                nn.Conv2d(ngf * mult, ngf * mult * 2, 3, stride=2, padding=1),
                nn.InstanceNorm2d(ngf * mult * 2),
                nn.ReLU(inplace=True),
            ]
        layers += [ResnetBlock(ngf * 4) for _ in range(config.n_blocks)]
        for mult in (4, 2):  # two upsamplings: 4 ngf -> 2 ngf -> ngf
            layers += _upsample(ngf * mult, ngf * mult // 2, config.upsampling)
            layers += [nn.InstanceNorm2d(ngf * mult // 2), nn.ReLU(inplace=True)]
        layers += [ReflectionPad2d(3), nn.Conv2d(ngf, 3, 7), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    #: input sides must be multiples of this
    multiple = 4

    def forward(
        self, x: Tensor, prior: Tensor | None = None, *, with_map: bool = False
    ) -> Tensor | tuple[Tensor, Tensor | None]:
        """The generator contract (see :class:`~dof_gan.defocus.DefocusGenerator`): this one
        paints from the photo alone, ignores ``prior`` and has no defocus map (``None``)."""
        if x.ndim != 4 or x.shape[1] != 3 or x.shape[-2] % 4 or x.shape[-1] % 4:
            raise ShapeError(
                f"generator input must be (B, 3, H, W) with H and W multiples of 4; got "
                f"{tuple(x.shape)}: use dof_gan.translate, which pads and crops back"
            )
        out: Tensor = self.model(x)
        return (out, None) if with_map else out

    def check_memory(self, height: int, width: int, max_memory: int) -> None:
        """Raise :class:`~dof_gan.errors.MemoryBudgetError` when even tiles of a (height, width)
        photo do not fit in ``max_memory`` bytes (:func:`dof_gan.tiling.plan_tile`)."""
        from dof_gan.tiling import plan_tile

        plan_tile(self, height + -height % 4, width + -width % 4, max_memory)

    def translate_photo(
        self,
        image: Tensor,
        *,
        prior: Tensor | None = None,
        max_memory: int | None = None,
        **render: Any,
    ) -> tuple[Tensor, Tensor | None]:
        """A whole photo, (B, 3, H, W) in [0, 1] -> ([0, 1] float32, no defocus map): see
        :func:`dof_gan.translate`. The renderer's options (``render``) do not apply."""
        from dof_gan.tiling import paint_photo  # tiling imports nothing of this module's users

        return paint_photo(self, image, max_memory), None


class PatchDiscriminator(nn.Module):
    """PatchGAN: (B, 3, H, W) in [-1, 1] -> (B, 1, h, w) raw scores (logits), one per patch.

    With ``n_layers=3`` each score sees a 70x70 patch of the input.
    """

    def __init__(self, config: DiscriminatorConfig) -> None:
        super().__init__()
        self.config = config
        ndf = config.ndf
        layers: list[nn.Module] = [
            nn.Conv2d(3, ndf, 4, stride=2, padding=1),
            nn.LeakyReLU(0.2, True),
        ]
        mult = 1
        for n in range(1, config.n_layers + 1):
            prev, mult = mult, min(2**n, 8)
            stride = 2 if n < config.n_layers else 1
            layers += [
                nn.Conv2d(ndf * prev, ndf * mult, 4, stride=stride, padding=1),
                nn.InstanceNorm2d(ndf * mult),
                nn.LeakyReLU(0.2, True),
            ]
        layers += [nn.Conv2d(ndf * mult, 1, 4, stride=1, padding=1)]
        self.model = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.model(x)  # type: ignore[no-any-return]


def init_weights(module: nn.Module, *, seed: int, std: float = 0.02) -> nn.Module:
    """Convolution weights from normal(0, ``std``), biases 0, drawn from ``seed`` alone.

    The draws come from a generator of their own, so the result depends on ``seed`` only.
    """
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for layer in module.modules():
            if isinstance(layer, nn.Conv2d | nn.ConvTranspose2d):
                layer.weight.copy_(torch.empty_like(layer.weight, device="cpu").normal_(
                    0.0, std, generator=generator))  # fmt: skip
                if layer.bias is not None:
                    layer.bias.zero_()
    return module


def build_generator(config: GeneratorConfig, *, seed: int = 0) -> nn.Module:
    """A freshly initialised generator of ``config.kind``, from ``seed``; global RNG untouched.

    ``resnet``: normal(0, 0.02) weights (CycleGAN's init). ``defocus``: PyTorch's default
    (Kaiming-uniform) init drawn from ``seed``, the map head at 0 (no normalisation layers, so
    a 0.02 normal would starve the deeper levels).
    """
    if config.kind not in GENERATOR_CLASSES:
        raise ConfigError("--generator", f"must be one of {', '.join(GENERATOR_CLASSES)}; "
                          f"got {config.kind!r}")  # fmt: skip
    with torch.random.fork_rng(devices=[]):  # the layers' own default init draws globally
        torch.manual_seed(seed)
        generator = GENERATOR_CLASSES[config.kind](config)
    if config.kind == "resnet":
        init_weights(generator, seed=seed)
    return generator


def build_discriminator(config: DiscriminatorConfig, *, seed: int = 0) -> PatchDiscriminator:
    """A freshly initialised PatchGAN discriminator (normal(0, 0.02) from ``seed``)."""
    with torch.random.fork_rng(devices=[]):
        discriminator = PatchDiscriminator(config)
    init_weights(discriminator, seed=seed)
    return discriminator


#: generator kind -> class (``GeneratorConfig.kind``)
GENERATOR_CLASSES: dict[str, type[nn.Module]] = {
    "resnet": ResnetGenerator,
    "defocus": DefocusGenerator,
}
