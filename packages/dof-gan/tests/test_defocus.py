"""The defocus generator: a map network whose output dof-smooth's lens draws."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

import dof_gan
import dof_io
import dof_smooth
from dof_gan import GeneratorConfig, TrainConfig, train
from dof_gan.defocus import upsample_fraction
from dof_gan.errors import ConfigError
from dof_gan.networks import build_generator

SMALL = GeneratorConfig(kind="defocus", width=4, depth=3, max_radius=4.0, work_size=32)


def _photo(size: int = 32, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(1, 3, size, size, generator=g)


def test_an_untrained_generator_returns_nearly_its_input() -> None:
    G = build_generator(SMALL, seed=0)
    x = _photo() * 2 - 1
    out = G(x)
    assert out.shape == x.shape
    assert (out - x).abs().mean() < 0.01  # radius about 0.02 px everywhere
    assert float(G.defocus_map(x).detach().max()) < 0.05


def test_the_output_is_the_lens_drawing_of_its_own_map() -> None:
    G = build_generator(SMALL, seed=0)
    with torch.no_grad():
        G.net.head.bias.fill_(3.0)  # mostly defocused
    x = _photo()
    radius = G.defocus_map(x * 2 - 1)
    drawn = dof_smooth.defocus_blur(x, radius, max_radius=SMALL.max_radius)
    torch.testing.assert_close((G(x * 2 - 1) + 1) / 2, drawn, atol=1e-5, rtol=0)


def test_gradients_reach_the_map_network_and_the_aperture() -> None:
    G = build_generator(SMALL, seed=0)
    x = _photo() * 2 - 1
    G(x).square().mean().backward()
    assert G.aperture_logit.grad is not None and G.aperture_logit.grad.abs() > 0
    assert G.net.head.weight.grad is not None and G.net.head.weight.grad.abs().sum() > 0


def test_a_prior_is_required_when_the_generator_reads_one() -> None:
    G = build_generator(dataclasses.replace(SMALL, prior="selfie"), seed=0)
    x = _photo() * 2 - 1
    with pytest.raises(ValueError, match="selfie"):
        G(x)
    assert G(x, torch.zeros_like(x[:, :1])).shape == x.shape


def test_the_prior_channel_changes_the_map() -> None:
    G = build_generator(dataclasses.replace(SMALL, prior="selfie"), seed=0)
    with torch.no_grad():
        G.net.head.weight.normal_()
    x = _photo() * 2 - 1
    empty, full = torch.zeros_like(x[:, :1]), torch.ones_like(x[:, :1])
    assert not torch.allclose(G.fraction(x, empty), G.fraction(x, full))


def test_full_size_render_scales_the_radius_and_keeps_a_forced_focus() -> None:
    G = build_generator(SMALL, seed=0)
    with torch.no_grad():
        G.net.head.bias.fill_(6.0)  # fully defocused: radius = aperture everywhere
    photo = torch.rand(1, 3, 96, 128)
    focus = torch.zeros(1, 1, 96, 128)
    focus[..., 30:60, 40:80] = 1.0
    out, radius = dof_gan.translate_with_map(G, photo, focus=focus)
    scale = 128 / SMALL.work_size  # radii are learned at the training size
    top = float(G.aperture()) * scale
    assert float(radius.max()) == pytest.approx(top, rel=0.01)
    assert torch.equal(out[..., 30:60, 40:80], photo[..., 30:60, 40:80])
    _, half_map = dof_gan.translate_with_map(G, photo, aperture=0.5)
    assert float(half_map.max()) == pytest.approx(top / 2, rel=0.01)
    assert torch.equal(dof_gan.translate(G, photo, aperture=0.0), photo)


def test_drawing_in_bands_equals_drawing_at_once() -> None:
    G = build_generator(SMALL, seed=0)
    with torch.no_grad():
        G.net.head.weight.normal_(0, 0.5)
        G.net.head.bias.fill_(1.0)
    photo = torch.rand(1, 3, 200, 64)
    whole, _ = dof_gan.translate_with_map(G, photo)
    bands, _ = dof_gan.translate_with_map(G, photo, max_memory=200 * 64 * 160 // 5)
    torch.testing.assert_close(bands, whole, atol=1e-5, rtol=0)


def test_guided_upsampling_follows_the_photo_edges() -> None:
    photo = torch.zeros(1, 3, 128, 128)
    photo[..., :, 61:] = 1.0  # an edge between working pixels 15 and 16
    fraction = torch.zeros(1, 1, 32, 32)
    fraction[..., :, 16:] = 1.0
    fraction[..., :, 15] = 0.5  # the working size cannot place the edge
    band = (slice(None), slice(None), slice(None), slice(56, 66))
    truth = (photo[:, :1] > 0.5).float()
    guided = upsample_fraction(fraction, photo, mode="guided")
    plain = upsample_fraction(fraction, photo, mode="bilinear")
    assert (guided - truth)[band].abs().mean() < 0.75 * (plain - truth)[band].abs().mean()


def test_one_sided_needs_the_defocus_generator(
    make_config: Callable[..., TrainConfig], tiny_data: Path
) -> None:
    with pytest.raises(ConfigError, match="--one-sided"):
        make_config(tiny_data, one_sided=True)
    config = make_config(tiny_data, one_sided=True, generator="defocus")
    assert config.loss.lambda_idt == 0.0 and config.loss.lambda_focus > 0
    assert config.generator.work_size == 32


def _square_scene(root: Path, n: int = 24, size: int = 32, radius: float = 2.0) -> Path:
    """A sharp square "person" over a textured background; B has that background blurred."""
    rng = np.random.default_rng(0)
    for domain in "AB":
        for i in range(n):
            bg = torch.from_numpy(rng.random((1, 3, size, size), dtype=np.float32))
            bg = dof_smooth.gaussian_blur2d(bg, 3)  # texture the lens can still soften
            if domain == "B":
                linear = dof_smooth.srgb_to_linear(bg)
                bg = dof_smooth.linear_to_srgb(dof_smooth.lens_blur2d(linear, radius))
            y, x = rng.integers(4, size - 16, 2)
            mask = np.zeros((size, size), np.float32)
            mask[y : y + 12, x : x + 12] = 1.0
            image = bg[0].permute(1, 2, 0).numpy().copy()
            image[mask > 0] = rng.random(3, dtype=np.float32)
            rgb = (image * 255).round().astype(np.uint8)
            dof_io.write_rgba(root / f"train{domain}" / f"{domain}{i}.png", rgb, mask)
    return root


def test_a_short_run_moves_the_background_towards_domain_b_and_keeps_the_square(
    tmp_path: Path, make_config: Callable[..., TrainConfig]
) -> None:
    data = _square_scene(tmp_path / "data")
    config = make_config(data, generator="defocus", one_sided=True, map_width=8, map_depth=3,
                         max_radius=4.0, batch_size=4, max_steps=100, lr=1e-3, epochs=20,
                         sample_every=1000, checkpoint_every=1000, flip=False)  # fmt: skip
    train(config, tmp_path / "run", progress=False)
    # G as trained: over 100 steps the weight average still remembers the untrained start
    G = dof_gan.load_generator(tmp_path / "run", average=False)
    scene = _square_scene(tmp_path / "test", n=4)
    moved, before, subject = [], [], []
    for i in range(4):
        rgb, mask = dof_io.read_rgba(scene / "trainA" / f"A{i}.png")
        photo = dof_io.tensors.image_to_tensor(rgb)
        person = torch.from_numpy(mask)[None, None] > 0.5
        far = (torch.nn.functional.max_pool2d(person.float(), 9, 1, 4) == 0).expand_as(photo)
        linear = dof_smooth.srgb_to_linear(photo)
        truth = dof_smooth.linear_to_srgb(dof_smooth.lens_blur2d(linear, 2.0))  # B's look
        out = dof_gan.translate(G, photo)
        moved.append((out - truth).abs()[far].mean())
        before.append((photo - truth).abs()[far].mean())
        subject.append((out - photo).abs()[person.expand_as(photo)].mean())
    # the background came at least 30 % of the way towards B's blur, the square stayed sharp
    assert torch.stack(moved).mean() < 0.7 * torch.stack(before).mean()
    assert torch.stack(subject).mean() < 0.02
