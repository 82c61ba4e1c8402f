"""Typed frozen configuration and the paper's four models as presets (data, not branches).

Paper names, once (Nasrullah 2018, sections 3.3-3.4):

- ``G``: A -> B, ordinary photo -> shallow depth of field; ``F``: B -> A.
- ``D_A`` judges images of domain A (real ``a`` against ``F(b)``), ``D_B`` judges domain B.
- ``lambda_cyc`` weighs the cycle loss (eq. 1), ``lambda_idt`` the identity loss as a multiple
  of ``lambda_cyc`` (eq. 2), ``lambda_mask`` the mask loss (eqs. 10-12).

The mask loss has two terms (pixel L1 and VGG-19 relu3_2 L1) and the paper's text and the
author's code weigh them differently, so the two final weights are explicit fields:

- paper text:   ``lambda_mask_pixel = lambda_mask_vgg = lambda_cyc * lambda_mask``
- author's code: ``lambda_mask_pixel = lambda_cyc * lambda_mask``, ``lambda_mask_vgg = lambda_mask``
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

from dof_gan.errors import ConfigError

GAN_MODES = ("lsgan", "vanilla")
UPSAMPLINGS = ("transpose", "resize")
MASK_READINGS = ("paper", "author")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")  # see dof_gan.precision
CONFIG_VERSION = 1


@dataclass(frozen=True)
class Preset:
    """One of the paper's four models, as data.

    Attributes:
        name: preset name (``PRESETS`` key).
        summary: one line for help texts and docs.
        lambda_mask: the paper's lambda_mask; 0 trains without the mask loss.
        mask_overlay: eq. 13 applied to generator outputs and reconstructions in training.
        overlay_at_test: whether inference is meant to use the overlay for this model.
    """

    name: str
    summary: str
    lambda_mask: float
    mask_overlay: bool
    overlay_at_test: bool


PRESETS: dict[str, Preset] = {
    "cyclegan": Preset("cyclegan", "plain CycleGAN: adversarial, cycle and identity losses",
                       lambda_mask=0.0, mask_overlay=False, overlay_at_test=False),
    "mask-loss": Preset("mask-loss", "CycleGAN + mask loss on the person (eqs. 10-12)",
                        lambda_mask=1.0, mask_overlay=False, overlay_at_test=False),
    "mask-overlay": Preset("mask-overlay", "CycleGAN + mask overlay (eq. 13) in training and test",
                           lambda_mask=0.0, mask_overlay=True, overlay_at_test=True),
    "combined": Preset("combined", "overlay in training only, mask loss halved",
                       lambda_mask=0.5, mask_overlay=True, overlay_at_test=False),
}  # fmt: skip


GENERATORS = ("resnet", "defocus")


@dataclass(frozen=True)
class GeneratorConfig:
    """Which generator and its size.

    ``resnet`` (the paper's): ``n_blocks`` residual blocks (9 or 6 in the paper), ``ngf``
    filters, painting every pixel. ``defocus`` (dof_gan.defocus): a U-Net of ``depth`` levels
    and ``width`` filters predicts a defocus map that dof-smooth's lens draws, with radii up to
    ``max_radius`` pixels at the training size; ``prior`` names the segmenter whose person mask
    it reads as a fourth input channel ("" = the photo alone).
    """

    ngf: int = 64
    n_blocks: int = 9
    upsampling: str = "transpose"  # "transpose" or "resize" (resize-then-convolve, 4.4.1)
    kind: str = "resnet"
    width: int = 16
    depth: int = 4
    max_radius: float = 12.0
    prior: str = ""
    work_size: int = 256  # long side the map is predicted at on a photo (the training size)


@dataclass(frozen=True)
class DiscriminatorConfig:
    """PatchGAN discriminator: ``n_layers`` strided layers (3 = the 70x70 PatchGAN)."""

    ndf: int = 64
    n_layers: int = 3


@dataclass(frozen=True)
class LossConfig:
    """Loss weights. ``lambda_idt`` is a multiple of ``lambda_cyc`` (eq. 2)."""

    gan_mode: str = "lsgan"  # "lsgan" (least squares) or "vanilla" (cross-entropy)
    lambda_cyc: float = 10.0
    lambda_idt: float = 0.5
    lambda_mask_pixel: float = 0.0
    lambda_mask_vgg: float = 0.0
    lambda_focus: float = 0.0  # defocus generator: L1 of s(x) against the mask's background
    d_augment: str = ""  # D_B's view of real and fake: "translation", "cutout", both with ","
    vgg_weights: str = "imagenet"  # "imagenet", "none" (random, for tests) or a .pth path


@dataclass(frozen=True)
class DataConfig:
    """Unpaired folder (trainA/ trainB/ ...); resize the shorter side to ``load_size``, crop."""

    root: str = ""
    size: int = 256
    load_size: int = 286
    flip: bool = True
    num_workers: int = 2


@dataclass(frozen=True)
class TrainConfig:
    """Everything a run needs; written as ``RUN/config.json``."""

    name: str
    preset: str
    data: DataConfig = field(default_factory=DataConfig)
    generator: GeneratorConfig = field(default_factory=GeneratorConfig)
    discriminator: DiscriminatorConfig = field(default_factory=DiscriminatorConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    mask_overlay: bool = False
    overlay_at_test: bool = False
    mask_reading: str = "paper"
    one_sided: bool = False  # G and D_B alone: no F, no D_A, no cycle
    n_epochs: int = 50
    n_epochs_decay: int = 25
    batch_size: int = 1
    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    pool_size: int = 50
    ema_images: int = 0  # half-life of G's weight average in images (dof_gan.average; 0: none)
    seed: int = 0
    device: str = "cpu"
    deterministic: bool = False
    precision: str = "auto"  # autocast dtype: auto, fp32, bf16, fp16 (dof_gan.precision)
    channels_last: bool = False  # networks and batches in NHWC memory layout
    compile: bool = False  # torch.compile the four networks (in place: plain checkpoint keys)
    max_steps: int | None = None
    sample_every: int = 500
    checkpoint_every: int = 2000
    keep_epoch_checkpoints: int = 0  # 0 keeps every epoch_XXX.pt

    @property
    def mask_loss_on(self) -> bool:
        """Whether the mask loss takes part in the generator objective."""
        return self.loss.lambda_mask_pixel > 0 or self.loss.lambda_mask_vgg > 0

    @property
    def total_epochs(self) -> int:
        return self.n_epochs + self.n_epochs_decay


def mask_weights(lambda_mask: float, lambda_cyc: float, reading: str) -> tuple[float, float]:
    """(pixel weight, VGG weight) of the mask loss under the paper's or the author's reading."""
    if reading == "paper":
        return lambda_cyc * lambda_mask, lambda_cyc * lambda_mask
    if reading == "author":
        return lambda_cyc * lambda_mask, lambda_mask
    raise ConfigError(
        "--mask-reading", f"must be one of {', '.join(MASK_READINGS)}; got {reading!r}"
    )


def config_to_dict(config: TrainConfig) -> dict[str, Any]:
    """The resolved config as a plain JSON-able dict (what ``config.json`` holds)."""
    return {"config_version": CONFIG_VERSION, **dataclasses.asdict(config)}


def config_to_json(config: TrainConfig) -> str:
    return json.dumps(config_to_dict(config), indent=2, sort_keys=False) + "\n"
