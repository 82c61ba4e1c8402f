"""The four networks and one training step: the generator step and the discriminator step.

Read this file to know what the paper's models train on. The trainer only adds optimizers,
the image pools, logging and checkpoints around these two functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from dof_gan.config import TrainConfig
from dof_gan.losses import CycleGANLoss, cycle_loss, identity_loss, mask_overlay
from dof_gan.networks import build_discriminator, build_generator
from dof_gan.seeds import stream_seed


class CycleGAN(nn.Module):
    """G: A -> B (ordinary -> shallow DoF), F: B -> A, D_A judges A, D_B judges B."""

    def __init__(self, config: TrainConfig) -> None:
        super().__init__()
        seed = config.seed
        self.G = build_generator(config.generator, seed=stream_seed(seed, "G"))
        self.F = build_generator(config.generator, seed=stream_seed(seed, "F"))
        self.D_A = build_discriminator(config.discriminator, seed=stream_seed(seed, "D_A"))
        self.D_B = build_discriminator(config.discriminator, seed=stream_seed(seed, "D_B"))


@dataclass(frozen=True)
class Networks:
    """The four networks as one step calls them: plain, compiled, or in DDP wrappers."""

    G: nn.Module
    F: nn.Module
    D_A: nn.Module
    D_B: nn.Module


@dataclass(frozen=True)
class Batch:
    """One unpaired batch: images (B, 3, H, W) in [-1, 1], masks (B, 1, H, W) in [0, 1] or None."""

    real_A: Tensor
    real_B: Tensor
    mask_A: Tensor | None
    mask_B: Tensor | None


@dataclass(frozen=True)
class Translations:
    """What the generator step produced, for the discriminator step and the sample grids.

    ``fake_B``/``fake_A`` are what the discriminators see (overlaid when the overlay is on);
    ``*_raw`` are the bare generator outputs. ``idt_*`` are never overlaid.
    """

    fake_B: Tensor
    fake_A: Tensor
    fake_B_raw: Tensor
    fake_A_raw: Tensor
    rec_A: Tensor
    rec_B: Tensor
    idt_G: Tensor
    idt_F: Tensor


def generator_step(
    model: CycleGAN | Networks, loss: CycleGANLoss, batch: Batch, *, overlay: bool
) -> tuple[Tensor, dict[str, Tensor], Translations]:
    """backward_G's forward half: every generator term, unweighted, and their weighted sum.

    Returns:
        ``(G_total, terms, translations)``; call ``G_total.backward()``. ``terms`` holds the
        logged names plus the mask parts ``mask_X_pixel`` / ``mask_X_vgg``.
    """
    G, F = model.G, model.F
    real_A, real_B, mask_A, mask_B = batch.real_A, batch.real_B, batch.mask_A, batch.mask_B
    if overlay and (mask_A is None or mask_B is None):
        raise ValueError("the mask overlay needs masks for both domains")

    def put_back(generated: Tensor, real: Tensor, mask: Tensor | None) -> Tensor:
        if not overlay or mask is None:
            return generated
        return mask_overlay(generated, real, mask)  # eq. 13

    idt_grad = torch.is_grad_enabled() and loss.config.lambda_idt > 0
    if real_A.shape == real_B.shape and idt_grad == torch.is_grad_enabled():
        # G(a) with G(b) and F(b) with F(a) in one call each: instance norm is per sample, so
        # the outputs are the same (up to rounding), and the larger convolutions run faster
        fake_B_raw, idt_G = G(torch.cat([real_A, real_B])).chunk(2)
        fake_A_raw, idt_F = F(torch.cat([real_B, real_A])).chunk(2)
    else:  # identity outputs logged without gradient (lambda_idt = 0), or unequal sizes
        fake_B_raw, fake_A_raw = G(real_A), F(real_B)
        with torch.set_grad_enabled(idt_grad):
            idt_G, idt_F = G(real_B), F(real_A)  # eq. 2's inputs; never overlaid
    fake_B = put_back(fake_B_raw, real_A, mask_A)
    fake_A = put_back(fake_A_raw, real_B, mask_B)
    rec_A = put_back(F(fake_B), real_A, mask_A)  # the overlay also covers reconstructions
    rec_B = put_back(G(fake_A), real_B, mask_B)
    terms = {
        "G_gan": loss.adversarial(model.D_B(fake_B), True),
        "F_gan": loss.adversarial(model.D_A(fake_A), True),
        "cycle_A": cycle_loss(rec_A, real_A),  # eq. 1
        "cycle_B": cycle_loss(rec_B, real_B),
    }
    with torch.set_grad_enabled(idt_grad):
        terms["idt_G"] = identity_loss(idt_G, real_B)  # eq. 2
        terms["idt_F"] = identity_loss(idt_F, real_A)
    if mask_A is not None and mask_B is not None:  # eqs. 10-12, on the raw outputs
        terms["mask_A_pixel"], terms["mask_A_vgg"] = loss.mask(fake_B_raw, real_A, mask_A)
        terms["mask_B_pixel"], terms["mask_B_vgg"] = loss.mask(fake_A_raw, real_B, mask_B)
        terms["mask_A"] = terms["mask_A_pixel"] + terms["mask_A_vgg"]
        terms["mask_B"] = terms["mask_B_pixel"] + terms["mask_B_vgg"]
    total = loss.generator_objective(terms)
    terms["G_total"] = total
    images = Translations(fake_B, fake_A, fake_B_raw, fake_A_raw, rec_A, rec_B, idt_G, idt_F)
    return total, terms, images


def discriminator_step(
    model: CycleGAN | Networks, loss: CycleGANLoss, batch: Batch, fake_A: Tensor, fake_B: Tensor
) -> dict[str, Tensor]:
    """backward_D's forward half: D_A on real A vs F(b), D_B on real B vs G(a).

    ``fake_A``/``fake_B`` come from the image pools; they are detached here. Backpropagate
    ``D_A + D_B``.
    """
    return {
        "D_A": loss.discriminator(model.D_A, batch.real_A, fake_A),
        "D_B": loss.discriminator(model.D_B, batch.real_B, fake_B),
    }


def set_requires_grad(modules: Sequence[nn.Module], flag: bool) -> None:
    """Freeze or unfreeze whole networks (the discriminators during the generator step)."""
    for module in modules:
        module.requires_grad_(flag)
