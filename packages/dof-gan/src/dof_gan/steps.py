"""The four networks and one training step: the generator step and the discriminator step.

Read this file to know what the paper's models train on. The trainer only adds optimizers,
the image pools, logging and checkpoints around these two functions.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import torch
from torch import Tensor, nn

from dof_gan.config import TrainConfig
from dof_gan.defocus import DefocusGenerator, MapOutput
from dof_gan.losses import CycleGANLoss, cycle_loss, focus_loss, identity_loss, mask_overlay
from dof_gan.networks import build_discriminator, build_generator
from dof_gan.seeds import stream_seed


class CycleGAN(nn.Module):
    """G: A -> B (ordinary -> shallow DoF), F: B -> A, D_A judges A, D_B judges B.

    ``config.one_sided`` builds G and D_B alone (``F`` and ``D_A`` are ``None``). F is always
    the paper's ResNet: a renderer can blur, not sharpen, so only G may be a defocus generator.
    """

    def __init__(self, config: TrainConfig) -> None:
        super().__init__()
        seed = config.seed
        self.G = build_generator(config.generator, seed=stream_seed(seed, "G"))
        self.D_B = build_discriminator(config.discriminator, seed=stream_seed(seed, "D_B"))
        self.F: nn.Module | None = None
        self.D_A: nn.Module | None = None
        if not config.one_sided:
            painter = dataclasses.replace(config.generator, kind="resnet", prior="")
            self.F = build_generator(painter, seed=stream_seed(seed, "F"))
            self.D_A = build_discriminator(config.discriminator, seed=stream_seed(seed, "D_A"))

    def networks(self) -> dict[str, nn.Module]:
        """The networks this model has, by their checkpoint names."""
        named = {"G": self.G, "F": self.F, "D_A": self.D_A, "D_B": self.D_B}
        return {name: net for name, net in named.items() if net is not None}


@dataclass(frozen=True)
class Networks:
    """The four networks as one step calls them: plain, compiled, or in DDP wrappers."""

    G: nn.Module
    F: nn.Module | None
    D_A: nn.Module | None
    D_B: nn.Module


@dataclass(frozen=True)
class Batch:
    """One unpaired batch: images (B, 3, H, W) in [-1, 1], masks (B, 1, H, W) in [0, 1] or None."""

    real_A: Tensor
    real_B: Tensor
    mask_A: Tensor | None
    mask_B: Tensor | None
    prior_A: Tensor | None = None  # a segmenter's person masks, for a generator that reads one
    prior_B: Tensor | None = None


@dataclass(frozen=True)
class Translations:
    """What the generator step produced, for the discriminator step and the sample grids.

    ``fake_B``/``fake_A`` are what the discriminators see (overlaid when the overlay is on);
    ``*_raw`` are the bare generator outputs. ``idt_*`` are never overlaid. A one-sided step
    leaves what it does not make ``None``; ``map_A`` is what G says of its defocus map where it
    has one (:class:`~dof_gan.defocus.MapOutput`).
    """

    fake_B: Tensor
    fake_A: Tensor | None
    fake_B_raw: Tensor
    fake_A_raw: Tensor | None
    rec_A: Tensor | None
    rec_B: Tensor | None
    idt_G: Tensor | None
    idt_F: Tensor | None
    map_A: MapOutput | None = None


def generator_step(
    model: CycleGAN | Networks, loss: CycleGANLoss, batch: Batch, *, overlay: bool
) -> tuple[Tensor, dict[str, Tensor], Translations]:
    """backward_G's forward half: every generator term, unweighted, and their weighted sum.

    Returns:
        ``(G_total, terms, translations)``; call ``G_total.backward()``. ``terms`` holds the
        logged names plus the mask parts ``mask_X_pixel`` / ``mask_X_vgg``.
    """
    if model.F is None or model.D_A is None:
        return one_sided_generator_step(model, loss, batch, overlay=overlay)
    G, F = model.G, model.F
    real_A, real_B, mask_A, mask_B = batch.real_A, batch.real_B, batch.mask_A, batch.mask_B
    if overlay and (mask_A is None or mask_B is None):
        raise ValueError("the mask overlay needs masks for both domains")

    def put_back(generated: Tensor, real: Tensor, mask: Tensor | None) -> Tensor:
        if not overlay or mask is None:
            return generated
        return mask_overlay(generated, real, mask)  # eq. 13

    prior_A, prior_B = batch.prior_A, batch.prior_B
    both_priors = None if prior_A is None or prior_B is None else torch.cat([prior_A, prior_B])
    idt_grad = torch.is_grad_enabled() and loss.config.lambda_idt > 0
    if real_A.shape == real_B.shape and idt_grad == torch.is_grad_enabled():
        # G(a) with G(b) and F(b) with F(a) in one call each: instance norm is per sample, so
        # the outputs are the same (up to rounding), and the larger convolutions run faster
        both, both_maps = G(torch.cat([real_A, real_B]), both_priors, with_map=True)
        fake_B_raw, idt_G = both.chunk(2)
        map_A = None if both_maps is None else both_maps.chunk(2)[0]
        fake_A_raw, idt_F = F(torch.cat([real_B, real_A])).chunk(2)
    else:  # identity outputs logged without gradient (lambda_idt = 0), or unequal sizes
        fake_B_raw, map_A = G(real_A, prior_A, with_map=True)
        fake_A_raw = F(real_B)
        with torch.set_grad_enabled(idt_grad):
            idt_G, idt_F = G(real_B, prior_B), F(real_A)  # eq. 2's inputs; never overlaid
    fake_B = put_back(fake_B_raw, real_A, mask_A)
    fake_A = put_back(fake_A_raw, real_B, mask_B)
    rec_A = put_back(F(fake_B), real_A, mask_A)  # the overlay also covers reconstructions
    rec_B = put_back(G(fake_A, prior_B), real_B, mask_B)
    terms = {
        "G_gan": loss.adversarial(model.D_B(loss.view(fake_B)), True),
        "F_gan": loss.adversarial(model.D_A(fake_A), True),
        "cycle_A": cycle_loss(rec_A, real_A),  # eq. 1
        "cycle_B": cycle_loss(rec_B, real_B),
    }
    with torch.set_grad_enabled(idt_grad):
        terms["idt_G"] = identity_loss(idt_G, real_B)  # eq. 2
        terms["idt_F"] = identity_loss(idt_F, real_A)
    if mask_A is not None and mask_B is not None:  # eqs. 10-12, on the raw outputs
        judged_A = fake_B_raw if map_A is None else map_A.held
        terms["mask_A_pixel"], terms["mask_A_vgg"] = loss.mask(judged_A, real_A, mask_A)
        terms["mask_B_pixel"], terms["mask_B_vgg"] = loss.mask(fake_A_raw, real_B, mask_B)
        terms["mask_A"] = terms["mask_A_pixel"] + terms["mask_A_vgg"]
        terms["mask_B"] = terms["mask_B_pixel"] + terms["mask_B_vgg"]
    _map_terms(terms, G, map_A, mask_A)
    total = loss.generator_objective(terms)
    terms["G_total"] = total
    images = Translations(fake_B, fake_A, fake_B_raw, fake_A_raw, rec_A, rec_B, idt_G, idt_F,
                          map_A)  # fmt: skip
    return total, terms, images


def one_sided_generator_step(
    model: CycleGAN | Networks, loss: CycleGANLoss, batch: Batch, *, overlay: bool
) -> tuple[Tensor, dict[str, Tensor], Translations]:
    """The generator step without F and D_A: D_B's verdict on G(a), the identity G(b) ~ b
    (eq. 2, when ``lambda_idt`` > 0), the mask loss on G(a) and the focus term.

    For a renderer the cycle is not needed to keep the content: its output is a blend of blurs
    of its input.
    """
    G, real_A, real_B, mask_A = model.G, batch.real_A, batch.real_B, batch.mask_A
    if overlay and mask_A is None:
        raise ValueError("the mask overlay needs masks")
    fake_B_raw, map_A = G(real_A, batch.prior_A, with_map=True)
    fake_B = (
        fake_B_raw if not overlay or mask_A is None else mask_overlay(fake_B_raw, real_A, mask_A)
    )
    terms = {"G_gan": loss.adversarial(model.D_B(loss.view(fake_B)), True)}
    idt_G = None
    if loss.config.lambda_idt > 0:
        idt_G = G(real_B, batch.prior_B)
        terms["idt_G"] = identity_loss(idt_G, real_B)
    if mask_A is not None:
        judged = fake_B_raw if map_A is None else map_A.held  # the map's part of the output
        terms["mask_A_pixel"], terms["mask_A_vgg"] = loss.mask(judged, real_A, mask_A)
        terms["mask_A"] = terms["mask_A_pixel"] + terms["mask_A_vgg"]
    _map_terms(terms, G, map_A, mask_A)
    total = loss.generator_objective(terms)
    terms["G_total"] = total
    images = Translations(fake_B, None, fake_B_raw, None, None, None, idt_G, None, map_A)
    return total, terms, images


def _map_terms(
    terms: dict[str, Tensor], G: nn.Module, output: MapOutput | None, mask: Tensor | None
) -> None:
    """The focus term (a generator with a defocus map and masks) and the logged aperture."""
    if output is None:
        return
    if mask is not None:
        terms["focus"] = focus_loss(output.logits, mask)
    net = getattr(G, "module", G)  # under DDP the wrapper holds the generator
    terms["aperture"] = cast(DefocusGenerator, net).aperture().detach().float()


def discriminator_step(
    model: CycleGAN | Networks,
    loss: CycleGANLoss,
    batch: Batch,
    fake_A: Tensor | None,
    fake_B: Tensor,
) -> dict[str, Tensor]:
    """backward_D's forward half: D_A on real A vs F(b), D_B on real B vs G(a).

    ``fake_A``/``fake_B`` come from the image pools; they are detached here. Backpropagate
    ``D_A + D_B`` (one-sided: ``D_B`` alone; ``fake_A`` is then ``None``). D_B sees real and
    fake through the same augmentation (``loss.view``).
    """
    terms = {"D_B": loss.discriminator(model.D_B, loss.view(batch.real_B),
                                       loss.view(fake_B.detach()))}  # fmt: skip
    if model.D_A is not None and fake_A is not None:
        terms["D_A"] = loss.discriminator(model.D_A, batch.real_A, fake_A)
    return terms


def set_requires_grad(modules: Sequence[nn.Module], flag: bool) -> None:
    """Freeze or unfreeze whole networks (the discriminators during the generator step)."""
    for module in modules:
        module.requires_grad_(flag)
