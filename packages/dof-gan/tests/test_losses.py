"""Each loss against values computed by hand on tiny tensors."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from dof_gan import (
    CycleGANLoss,
    GANLoss,
    LossConfig,
    MaskLoss,
    MaskOverlay,
    ShapeError,
    VGGFeatures,
    cut_out,
    cycle_loss,
    gan_loss,
    identity_loss,
    mask_loss,
    mask_overlay,
)

PRED = torch.tensor([0.5, -1.0]).view(1, 1, 1, 2)


def test_lsgan_by_hand() -> None:
    assert float(gan_loss(PRED, True)) == pytest.approx(((0.5 - 1) ** 2 + (-1 - 1) ** 2) / 2)
    assert float(gan_loss(PRED, False)) == pytest.approx((0.5**2 + 1.0**2) / 2)


def test_vanilla_gan_by_hand() -> None:
    softplus = [math.log1p(math.exp(-x)) for x in (0.5, -1.0)]  # -log(sigmoid(x))
    assert float(gan_loss(PRED, True, "vanilla")) == pytest.approx(sum(softplus) / 2)
    wrong = [math.log1p(math.exp(x)) for x in (0.5, -1.0)]  # -log(1 - sigmoid(x))
    assert float(gan_loss(PRED, False, "vanilla")) == pytest.approx(sum(wrong) / 2)


def test_gan_module_equals_function_and_rejects_unknown_mode() -> None:
    assert torch.equal(GANLoss("vanilla")(PRED, True), gan_loss(PRED, True, "vanilla"))
    with pytest.raises(ValueError, match="lsgan, vanilla; got 'wgan'"):
        GANLoss("wgan")


def test_cycle_and_identity_by_hand() -> None:
    real = torch.zeros(1, 3, 1, 2)
    rec = torch.tensor([0.1, -0.2, 0.3, -0.4, 0.5, 0.6]).view(1, 3, 1, 2)
    assert float(cycle_loss(rec, real)) == pytest.approx(2.1 / 6)
    assert float(identity_loss(rec, real)) == pytest.approx(2.1 / 6)
    with pytest.raises(ShapeError, match="same shape"):
        cycle_loss(rec, torch.zeros(1, 3, 2, 2))


def _pair() -> tuple[torch.Tensor, torch.Tensor]:
    real = torch.tensor([0.2, -0.5, 0.1, 0.0, 0.4, -0.3]).view(1, 3, 1, 2)
    diff = torch.tensor([0.3, 0.7, -0.6, -0.2, 0.9, 0.1]).view(1, 3, 1, 2)
    return real + diff, real  # pixel 0 differs by (0.3, -0.6, 0.9), pixel 1 by (0.7, -0.2, 0.1)


def test_cut_out_keeps_person_and_blacks_out_the_rest() -> None:
    _, real = _pair()
    mask = torch.tensor([1.0, 0.0]).view(1, 1, 1, 2)
    cut = cut_out(real, mask)
    assert torch.allclose(cut[..., 0], real[..., 0])
    assert torch.equal(cut[..., 1], torch.full((1, 3, 1), -1.0))


def test_mask_loss_pixel_term_by_hand() -> None:
    generated, real = _pair()
    hard = torch.tensor([1.0, 0.0]).view(1, 1, 1, 2)
    pixel, perceptual = mask_loss(generated, real, hard)
    assert float(pixel) == pytest.approx((0.3 + 0.6 + 0.9) / 6)  # person pixel only
    assert float(perceptual) == 0.0  # no VGG given
    soft = torch.tensor([0.5, 0.0]).view(1, 1, 1, 2)
    assert float(mask_loss(generated, real, soft)[0]) == pytest.approx(0.5 * 1.8 / 6)


def test_mask_loss_vgg_term_compares_the_cut_outs() -> None:
    generated, real = _pair()
    mask = torch.tensor([1.0, 0.0]).view(1, 1, 1, 2)
    # with an identity "feature extractor" the VGG term is the L1 of the cut-outs themselves
    pixel, perceptual = mask_loss(generated, real, mask, nn.Identity())
    assert float(perceptual) == pytest.approx(float(pixel))
    module = MaskLoss(nn.Identity())(generated, real, mask)
    assert torch.equal(module[0], pixel) and torch.equal(module[1], perceptual)


def test_vgg_normalises_minus_one_one_inputs_explicitly() -> None:
    vgg = VGGFeatures()
    vgg.features = nn.Identity()  # look at what reaches the first convolution
    x = torch.tensor([-1.0, 0.0, 1.0]).view(1, 3, 1, 1)
    expected = torch.tensor([(0.0 - 0.485) / 0.229, (0.5 - 0.456) / 0.224, (1.0 - 0.406) / 0.225])
    assert torch.allclose(vgg(x).flatten(), expected)


def test_vgg_is_relu3_2_and_frozen() -> None:
    vgg = VGGFeatures()
    assert vgg(torch.zeros(1, 3, 32, 48)).shape == (1, 256, 8, 12)
    assert isinstance(vgg.features[-1], nn.ReLU) and len(vgg.features) == 14
    assert not any(p.requires_grad for p in vgg.parameters())


def test_overlay_by_hand_and_subject_exact() -> None:
    generated, real = _pair()
    mask = torch.tensor([1.0, 0.25]).view(1, 1, 1, 2)
    out = mask_overlay(generated, real, mask)
    assert torch.equal(out[..., 0], real[..., 0])  # bit for bit where mask = 1
    assert torch.allclose(out[..., 1], 0.75 * generated[..., 1] + 0.25 * real[..., 1])
    assert torch.equal(MaskOverlay()(generated, real, mask), out)


def test_overlay_rejects_mask_without_channel_axis() -> None:
    image = torch.zeros(2, 3, 8, 8)
    with pytest.raises(ShapeError, match=r"\(2, 8, 8\): add a channel axis with mask\[:, None\]"):
        mask_overlay(image, image, torch.zeros(2, 8, 8))


def test_gradients_in_float64() -> None:
    generated, real = (t.double() for t in _pair())
    generated.requires_grad_(True)
    mask = torch.tensor([0.7, 0.2], dtype=torch.float64).view(1, 1, 1, 2)
    assert torch.autograd.gradcheck(lambda g: mask_overlay(g, real, mask), (generated,))
    assert torch.autograd.gradcheck(lambda g: mask_loss(g + 1e-3, real, mask)[0], (generated,))


class _MeanD(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=1, keepdim=True)


def test_discriminator_loss_by_hand() -> None:
    loss = CycleGANLoss(LossConfig())
    real, fake = torch.full((1, 3, 2, 2), 0.5), torch.full((1, 3, 2, 2), 0.2)
    expected = 0.5 * ((0.5 - 1) ** 2 + 0.2**2)
    assert float(loss.discriminator(_MeanD(), real, fake)) == pytest.approx(expected)


def test_generator_objective_weights() -> None:
    config = LossConfig(lambda_mask_pixel=5.0, lambda_mask_vgg=2.0)
    names = ["G_gan", "F_gan", "cycle_A", "cycle_B", "idt_G", "idt_F"]
    terms = {name: torch.tensor(1.0) for name in names}
    terms |= {"mask_A_pixel": torch.tensor(0.1), "mask_B_pixel": torch.tensor(0.3),
              "mask_A_vgg": torch.tensor(1.0), "mask_B_vgg": torch.tensor(2.0)}  # fmt: skip
    total = CycleGANLoss(config).generator_objective(terms)
    # 2 adversarial + 10 * 2 cycle + 10 * 0.5 * 2 identity + 5 * 0.4 pixel + 2 * 3 VGG
    assert float(total) == pytest.approx(2 + 20 + 10 + 2 + 6)
    no_mask = CycleGANLoss(LossConfig()).generator_objective(terms)
    assert float(no_mask) == pytest.approx(32)


def test_mask_term_with_zero_weight_is_logged_without_gradient() -> None:
    generated, real = _pair()
    generated.requires_grad_(True)
    mask = torch.tensor([1.0, 0.0]).view(1, 1, 1, 2)
    off = CycleGANLoss(LossConfig(), nn.Identity()).mask(generated, real, mask)
    assert not off[0].requires_grad and not off[1].requires_grad
    assert float(off[0]) == pytest.approx(0.3)
    half = CycleGANLoss(LossConfig(lambda_mask_pixel=1.0), nn.Identity()).mask(
        generated, real, mask
    )
    assert half[0].requires_grad and not half[1].requires_grad
