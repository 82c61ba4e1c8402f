"""The generator and discriminator steps: where the overlay applies and where it must not."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from dof_gan import (
    LOSS_NAMES,
    Batch,
    CycleGAN,
    CycleGANLoss,
    TrainConfig,
    discriminator_step,
    generator_step,
    mask_loss,
)


def _batch() -> Batch:
    g = torch.Generator().manual_seed(0)
    real_A, real_B = (torch.rand(2, 3, 32, 32, generator=g) * 2 - 1 for _ in range(2))
    mask = torch.zeros(2, 1, 32, 32)
    mask[..., 8:24, 10:20] = 1.0
    return Batch(real_A, real_B, mask, mask.flip(-1))


@pytest.fixture
def model_and_loss(
    tiny_data: Path, make_config: Callable[..., TrainConfig]
) -> tuple[CycleGAN, CycleGANLoss, TrainConfig]:
    config = make_config(tiny_data)
    return CycleGAN(config), CycleGANLoss(config.loss, None), config


def test_overlay_keeps_subject_pixels_exactly(
    model_and_loss: tuple[CycleGAN, CycleGANLoss, TrainConfig],
) -> None:
    model, loss, _ = model_and_loss
    batch = _batch()
    _, _, out = generator_step(model, loss, batch, overlay=True)
    assert batch.mask_A is not None and batch.mask_B is not None
    person_A, person_B = (
        batch.mask_A.expand_as(batch.real_A) == 1,
        batch.mask_B.expand(2, 3, -1, -1) == 1,
    )
    assert torch.equal(out.fake_B[person_A], batch.real_A[person_A])
    assert torch.equal(out.rec_A[person_A], batch.real_A[person_A])  # reconstructions too
    assert torch.equal(out.fake_A[person_B], batch.real_B[person_B])
    assert torch.equal(out.fake_B[~person_A], out.fake_B_raw[~person_A])
    assert not torch.equal(out.fake_B_raw[person_A], batch.real_A[person_A])


def test_identity_outputs_are_not_overlaid(
    model_and_loss: tuple[CycleGAN, CycleGANLoss, TrainConfig],
) -> None:
    model, loss, _ = model_and_loss
    batch = _batch()
    _, _, out = generator_step(model, loss, batch, overlay=True)
    with torch.no_grad():
        assert torch.equal(out.idt_G, model.G(batch.real_B))
        assert torch.equal(out.idt_F, model.F(batch.real_A))
    assert batch.mask_B is not None
    person_B = batch.mask_B.expand(2, 3, -1, -1) == 1
    assert not torch.equal(out.idt_G[person_B], batch.real_B[person_B])


def test_each_translation_is_its_own_network_on_its_own_input(
    model_and_loss: tuple[CycleGAN, CycleGANLoss, TrainConfig],
) -> None:
    """G(a) shares a call with G(b), F(b) with F(a): each half is the network's lone output."""
    model, loss, _ = model_and_loss
    batch = _batch()
    _, _, out = generator_step(model, loss, batch, overlay=False)
    with torch.no_grad():
        expected = {
            "fake_B_raw": model.G(batch.real_A), "idt_G": model.G(batch.real_B),
            "fake_A_raw": model.F(batch.real_B), "idt_F": model.F(batch.real_A),
            "rec_A": model.F(model.G(batch.real_A)), "rec_B": model.G(model.F(batch.real_B)),
        }  # fmt: skip
    for name, image in expected.items():
        torch.testing.assert_close(getattr(out, name), image, msg=name)


def test_identity_without_weight_is_logged_without_gradient(
    model_and_loss: tuple[CycleGAN, CycleGANLoss, TrainConfig],
) -> None:
    model, loss, _ = model_and_loss
    no_idt = CycleGANLoss(replace(loss.config, lambda_idt=0.0), None)
    batch = _batch()
    _, terms, out = generator_step(model, no_idt, batch, overlay=False)
    assert not out.idt_G.requires_grad and not terms["idt_F"].requires_grad
    assert out.fake_B_raw.requires_grad and terms["cycle_A"].requires_grad
    with torch.no_grad():
        torch.testing.assert_close(out.idt_G, model.G(batch.real_B))


def test_without_overlay_outputs_are_raw(
    model_and_loss: tuple[CycleGAN, CycleGANLoss, TrainConfig],
) -> None:
    model, loss, _ = model_and_loss
    _, _, out = generator_step(model, loss, _batch(), overlay=False)
    assert torch.equal(out.fake_B, out.fake_B_raw) and torch.equal(out.fake_A, out.fake_A_raw)


def test_terms_and_mask_loss_on_raw_outputs(
    model_and_loss: tuple[CycleGAN, CycleGANLoss, TrainConfig],
) -> None:
    model, loss, config = model_and_loss
    batch = _batch()
    total, terms, out = generator_step(model, loss, batch, overlay=True)
    # every logged generator term but those of a defocus map (this G paints)
    assert set(LOSS_NAMES) - {"D_A", "D_B", "focus", "aperture"} <= set(terms)
    assert "focus" not in terms and "aperture" not in terms
    assert all(bool(torch.isfinite(value)) for value in terms.values())
    assert batch.mask_A is not None
    expected, _ = mask_loss(out.fake_B_raw, batch.real_A, batch.mask_A)
    assert torch.equal(terms["mask_A_pixel"], expected)
    assert terms["mask_A_pixel"].item() > 0  # on the overlaid output it would be exactly 0
    assert torch.equal(total, loss.generator_objective(terms))
    assert config.loss.lambda_mask_pixel == 5.0  # combined: half the paper's 10


def test_step_gradients_reach_the_right_networks(
    model_and_loss: tuple[CycleGAN, CycleGANLoss, TrainConfig],
) -> None:
    model, loss, _ = model_and_loss
    batch = _batch()
    model.D_A.requires_grad_(False)
    model.D_B.requires_grad_(False)
    total, _, out = generator_step(model, loss, batch, overlay=True)
    total.backward()
    assert all(p.grad is not None for p in model.G.parameters())
    assert all(p.grad is not None for p in model.F.parameters())
    assert all(p.grad is None for p in model.D_A.parameters())
    model.zero_grad(set_to_none=True)
    model.D_A.requires_grad_(True)
    model.D_B.requires_grad_(True)
    D_terms = discriminator_step(model, loss, batch, out.fake_A, out.fake_B)
    (D_terms["D_A"] + D_terms["D_B"]).backward()
    assert all(p.grad is not None for p in model.D_B.parameters())
    assert all(p.grad is None for p in model.G.parameters())  # fakes are detached


def _other(images: torch.Tensor, seed: int) -> torch.Tensor:
    return torch.rand(images.shape, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def test_each_discriminator_judges_only_its_own_domain(
    model_and_loss: tuple[CycleGAN, CycleGANLoss, TrainConfig],
) -> None:
    """D_A sees real A against F(b); D_B sees real B against G(a): changing the other domain's
    images (real or fake) leaves a discriminator's loss exactly as it was."""
    model, loss, _ = model_and_loss
    batch = _batch()
    fake_A, fake_B = _other(batch.real_A, 1), _other(batch.real_B, 2)
    with torch.no_grad():
        base = discriminator_step(model, loss, batch, fake_A, fake_B)
        new_B = Batch(batch.real_A, _other(batch.real_B, 3), batch.mask_A, batch.mask_B)
        b_changed = discriminator_step(model, loss, new_B, fake_A, _other(fake_B, 4))
        new_A = Batch(_other(batch.real_A, 5), batch.real_B, batch.mask_A, batch.mask_B)
        a_changed = discriminator_step(model, loss, new_A, _other(fake_A, 6), fake_B)
    assert torch.equal(b_changed["D_A"], base["D_A"]) and not torch.equal(
        b_changed["D_B"], base["D_B"]
    )
    assert torch.equal(a_changed["D_B"], base["D_B"]) and not torch.equal(
        a_changed["D_A"], base["D_A"]
    )
    # and each fake goes to its own judge: fake_A (= F(b), domain A) to D_A
    with torch.no_grad():
        only_fake_A = discriminator_step(model, loss, batch, _other(fake_A, 7), fake_B)
    assert torch.equal(only_fake_A["D_B"], base["D_B"])
    assert not torch.equal(only_fake_A["D_A"], base["D_A"])
