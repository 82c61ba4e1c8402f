"""The paper's losses as functions (with Module twins) and the one object that weighs them.

All images here are (B, 3, H, W) in [-1, 1]; masks are (B, 1, H, W) in [0, 1], 1 = person.
Every function returns the *unweighted* term; :class:`CycleGANLoss` applies the weights.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dof_gan.augment import augment
from dof_gan.config import GAN_MODES, LossConfig
from dof_gan.errors import ConfigError, ShapeError
from dof_io.check import check_mask, check_same_shape, check_shape


def _check_pair(name: str, a: Tensor, b: Tensor, mask: Tensor | None = None) -> None:
    check_shape(a, "B 3 H W", f"{name} input", error=ShapeError)
    check_same_shape(a, f"{name} input", b, "target", error=ShapeError)
    if mask is not None:
        check_mask(mask, "mask", a, error=ShapeError)


def _full(tensor: Tensor) -> Tensor:
    """At least float32: losses of bf16/fp16 activations (autocast) are computed in float32."""
    return tensor.to(torch.promote_types(tensor.dtype, torch.float32))


def gan_loss(prediction: Tensor, target_is_real: bool, mode: str = "lsgan") -> Tensor:
    """Adversarial loss on discriminator scores.

    Args:
        prediction: raw PatchGAN scores, any shape.
        target_is_real: whether the scores should say "real" (1) or "fake" (0).
        mode: ``"lsgan"`` -- mean squared error to the target (Mao et al., CycleGAN's default);
            ``"vanilla"`` -- binary cross-entropy on the scores as logits (the original GAN).

    Returns:
        Scalar tensor.
    """
    prediction = _full(prediction)  # losses stay float32 under autocast
    target = torch.ones_like(prediction) if target_is_real else torch.zeros_like(prediction)
    if mode == "lsgan":
        return F.mse_loss(prediction, target)
    if mode == "vanilla":
        return F.binary_cross_entropy_with_logits(prediction, target)
    raise ConfigError("--gan-mode", f"must be one of {', '.join(GAN_MODES)}; got {mode!r}")


def cycle_loss(reconstructed: Tensor, real: Tensor) -> Tensor:
    """Cycle consistency (eq. 1, one direction): mean |F(G(a)) - a|. Scalar."""
    _check_pair("cycle_loss", reconstructed, real)
    return (_full(reconstructed) - _full(real)).abs().mean()


def identity_loss(same: Tensor, real: Tensor) -> Tensor:
    """Identity (eq. 2, one direction): mean |G(b) - b|. Scalar."""
    _check_pair("identity_loss", same, real)
    return (_full(same) - _full(real)).abs().mean()


def cut_out(image: Tensor, mask: Tensor) -> Tensor:
    """The person cut out of an image (eq. 10): kept where mask = 1, black (-1) elsewhere.

    Done in [0, 1] as the author's code did (``M * x``), then mapped back to [-1, 1]:
    ``M * (x + 1) - 1``. Returns (B, 3, H, W) in [-1, 1].
    """
    return mask * (image + 1) - 1


def mask_loss(
    generated: Tensor, real: Tensor, mask: Tensor, vgg: nn.Module | None = None
) -> tuple[Tensor, Tensor]:
    """Mask loss (eqs. 10-12): how much the generator changed the person.

    Args:
        generated: generator output *before* any overlay, (B, 3, H, W) in [-1, 1].
        real: the generator's input, same shape.
        mask: person mask of ``real``, (B, 1, H, W) in [0, 1].
        vgg: relu3_2 feature extractor (:class:`dof_gan.vgg.VGGFeatures`); ``None`` gives a zero
            VGG term.

    Returns:
        ``(pixel, perceptual)``: mean L1 between the two cut-outs (eq. 10), and mean L1 between
        their VGG-19 relu3_2 features (eq. 11). Both unweighted scalars.
    """
    _check_pair("mask_loss", generated, real, mask)
    cut_generated, cut_real = cut_out(generated, mask), cut_out(real, mask)
    pixel = (_full(cut_generated) - _full(cut_real)).abs().mean()
    if vgg is None:
        return pixel, pixel.new_zeros(())
    with torch.no_grad():  # the real cut-out is a fixed target
        target = _full(vgg(cut_real))
    perceptual = (_full(vgg(cut_generated)) - target).abs().mean()
    return pixel, perceptual


def mask_overlay(generated: Tensor, real: Tensor, mask: Tensor) -> Tensor:
    """Mask overlay (eq. 13): ``G(x) * (1 - M) + x * M``, the real person over the output.

    Where ``mask`` is exactly 1 the result equals ``real`` bit for bit. Works in any value
    range, as long as ``generated`` and ``real`` share it.

    Args:
        generated: (B, 3, H, W) generator output.
        real: (B, 3, H, W) the generator's input.
        mask: (B, 1, H, W) in [0, 1], 1 = person.
    """
    _check_pair("mask_overlay", generated, real, mask)
    return generated * (1 - mask) + real * mask


def focus_loss(logits: Tensor, mask: Tensor) -> Tensor:
    """Where to defocus, taught by the training masks: the defocus fraction s = sigmoid(logits)
    against the mask's background (1 - M), as a binary cross-entropy (mean over pixels).

    The mask loss teaches the subject; this term teaches the map the rest (the how much, the
    aperture, is left to D_B). On logits, so a fraction stuck at 0 or 1 still gets a gradient.

    Args:
        logits: (B, 1, H, W) logits of the defocus fraction (0 in focus).
        mask: (B, 1, H, W) person mask in [0, 1].
    """
    if logits.shape != mask.shape:
        raise ShapeError(f"focus_loss: logits {tuple(logits.shape)} and mask "
                         f"{tuple(mask.shape)} must have one shape")  # fmt: skip
    return F.binary_cross_entropy_with_logits(logits.float(), 1 - mask.float())


class GANLoss(nn.Module):
    """Module form of :func:`gan_loss` with a fixed mode."""

    def __init__(self, mode: str = "lsgan") -> None:
        super().__init__()
        if mode not in GAN_MODES:
            raise ConfigError("--gan-mode", f"must be one of {', '.join(GAN_MODES)}; got {mode!r}")
        self.mode = mode

    def forward(self, prediction: Tensor, target_is_real: bool) -> Tensor:
        return gan_loss(prediction, target_is_real, self.mode)


class MaskLoss(nn.Module):
    """Module form of :func:`mask_loss`, holding the frozen VGG extractor."""

    def __init__(self, vgg: nn.Module | None) -> None:
        super().__init__()
        self.vgg = vgg

    def forward(self, generated: Tensor, real: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        return mask_loss(generated, real, mask, self.vgg)


class MaskOverlay(nn.Module):
    """Module form of :func:`mask_overlay`."""

    def forward(self, generated: Tensor, real: Tensor, mask: Tensor) -> Tensor:
        return mask_overlay(generated, real, mask)


class CycleGANLoss(nn.Module):
    """Owns the GAN arithmetic and the weights: one place that says what is minimised.

    Generator objective (what ``G_total`` logs)::

        G_gan + F_gan                                   adversarial, both directions
        + lambda_cyc * (cycle_A + cycle_B)              eq. 1
        + lambda_cyc * lambda_idt * (idt_G + idt_F)     eq. 2
        + lambda_mask_pixel * (pixel_A + pixel_B)       eq. 10, scaled as in eq. 12
        + lambda_mask_vgg * (vgg_A + vgg_B)             eq. 11, scaled as in eq. 12
        + lambda_focus * focus                          a defocus generator's map (ours)

    A one-sided model has no ``F_gan``, cycle or ``idt_F`` terms.
    """

    def __init__(
        self, config: LossConfig, vgg: nn.Module | None = None, *, augment_seed: int = 0
    ) -> None:
        super().__init__()
        self.config = config
        self.gan = GANLoss(config.gan_mode)
        self.mask_term = MaskLoss(vgg)
        #: what D_B's augmentation draws from (its state goes into the checkpoint)
        self.augment_generator = torch.Generator().manual_seed(augment_seed)

    def view(self, images: Tensor) -> Tensor:
        """What D_B sees of real or fake images: ``config.d_augment`` (see dof_gan.augment)."""
        return augment(images, self.config.d_augment, self.augment_generator)

    def adversarial(self, prediction: Tensor, target_is_real: bool) -> Tensor:
        return self.gan(prediction, target_is_real)  # type: ignore[no-any-return]

    def discriminator(self, D: nn.Module, real: Tensor, fake: Tensor) -> Tensor:
        """backward_D's loss: 0.5 * (loss on real + loss on detached fake)."""
        loss_real = self.adversarial(D(real), True)
        loss_fake = self.adversarial(D(fake.detach()), False)
        return 0.5 * (loss_real + loss_fake)

    def mask(self, generated: Tensor, real: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        """Both mask terms; a term whose weight is 0 is computed without gradient (logged only)."""
        pixel_on = self.config.lambda_mask_pixel > 0
        vgg_on = self.config.lambda_mask_vgg > 0
        if pixel_on or vgg_on:
            pixel, perceptual = self.mask_term(generated, real, mask)
            return (pixel if pixel_on else pixel.detach()), (
                perceptual if vgg_on else perceptual.detach()
            )
        with torch.no_grad():
            pixel, perceptual = self.mask_term(generated, real, mask)
        return pixel, perceptual

    def generator_objective(self, terms: Mapping[str, Tensor]) -> Tensor:
        """The weighted sum above. ``terms`` holds the unweighted values by name; mask parts are
        ``mask_A_pixel``, ``mask_A_vgg``, ``mask_B_pixel``, ``mask_B_vgg`` (absent: 0)."""
        c = self.config
        zero = terms["G_gan"].new_zeros(())
        total = terms["G_gan"] + terms.get("F_gan", zero)  # one-sided: no F, no D_A, no cycle
        total = total + c.lambda_cyc * (terms.get("cycle_A", zero) + terms.get("cycle_B", zero))
        if c.lambda_idt > 0:
            idt = terms.get("idt_G", zero) + terms.get("idt_F", zero)
            total = total + c.lambda_cyc * c.lambda_idt * idt
        if c.lambda_focus > 0 and "focus" in terms:
            total = total + c.lambda_focus * terms["focus"]
        if c.lambda_mask_pixel > 0:
            pixel = terms.get("mask_A_pixel", zero) + terms.get("mask_B_pixel", zero)
            total = total + c.lambda_mask_pixel * pixel
        if c.lambda_mask_vgg > 0:
            perceptual = terms.get("mask_A_vgg", zero) + terms.get("mask_B_vgg", zero)
            total = total + c.lambda_mask_vgg * perceptual
        return total
