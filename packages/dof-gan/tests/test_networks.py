from __future__ import annotations

import pytest
import torch
from torch import nn

from dof_gan import (
    DiscriminatorConfig,
    GeneratorConfig,
    PatchDiscriminator,
    ShapeError,
    build_discriminator,
    build_generator,
)
from dof_gan.networks import ReflectionPad2d, reflection_pad2d


@pytest.mark.parametrize("upsampling", ["transpose", "resize"])
@pytest.mark.parametrize("n_blocks", [9, 6])
def test_generator_shape_and_range(upsampling: str, n_blocks: int) -> None:
    G = build_generator(GeneratorConfig(ngf=4, n_blocks=n_blocks, upsampling=upsampling))
    x = torch.rand(2, 3, 36, 52) * 2 - 1
    y = G(x)
    assert y.shape == x.shape
    assert y.min() >= -1 and y.max() <= 1  # tanh output


def test_generator_layout_follows_cyclegan() -> None:
    G = build_generator(GeneratorConfig(ngf=8, n_blocks=9))
    layers = list(G.modules())
    convs = [m for m in layers if isinstance(m, nn.Conv2d)]
    assert [c.stride for c in convs if c.stride != (1, 1)] == [(2, 2), (2, 2)]  # two downsamplings
    assert sum(isinstance(m, nn.ConvTranspose2d) for m in layers) == 2
    assert sum(isinstance(m, nn.ReflectionPad2d) for m in layers) == 2 + 2 * 9
    norms = [m for m in layers if isinstance(m, nn.InstanceNorm2d)]
    assert norms and not any(n.affine for n in norms)
    assert isinstance(layers[-1], nn.Tanh)
    resize = build_generator(GeneratorConfig(ngf=8, upsampling="resize"))
    assert not any(isinstance(m, nn.ConvTranspose2d) for m in resize.modules())
    assert sum(isinstance(m, nn.Upsample) for m in resize.modules()) == 2


def test_generator_rejects_size_not_multiple_of_four() -> None:
    G = build_generator(GeneratorConfig(ngf=4, n_blocks=1))
    with pytest.raises(ShapeError, match=r"multiples of 4; got \(1, 3, 30, 32\).*translate"):
        G(torch.zeros(1, 3, 30, 32))


def test_discriminator_output_shape() -> None:
    D = build_discriminator(DiscriminatorConfig(ndf=8))
    assert D(torch.zeros(2, 3, 256, 256)).shape == (2, 1, 30, 30)  # CycleGAN's 30x30 patches


def test_patchgan_sees_70x70_patches() -> None:
    """The receptive field of one score of the 3-layer PatchGAN is 70x70 pixels."""
    D = PatchDiscriminator(DiscriminatorConfig(ndf=2)).double()
    for i, layer in enumerate(D.model):  # instance norm couples every pixel; the convs do not
        if isinstance(layer, nn.InstanceNorm2d):
            D.model[i] = nn.Identity()
    x = torch.randn(1, 3, 140, 140, dtype=torch.float64, requires_grad=True)
    out = D(x)
    out[0, 0, out.shape[-2] // 2, out.shape[-1] // 2].backward()
    assert x.grad is not None
    rows = torch.nonzero(x.grad.abs().sum(dim=(0, 1, 3)))
    cols = torch.nonzero(x.grad.abs().sum(dim=(0, 1, 2)))
    assert int(rows.max() - rows.min()) + 1 == 70
    assert int(cols.max() - cols.min()) + 1 == 70


def test_initialisation_is_normal_002_and_seeded() -> None:
    D1 = build_discriminator(DiscriminatorConfig(ndf=32), seed=3)
    D2 = build_discriminator(DiscriminatorConfig(ndf=32), seed=3)
    D3 = build_discriminator(DiscriminatorConfig(ndf=32), seed=4)
    weights = torch.cat(
        [m.weight.detach().flatten() for m in D1.modules() if isinstance(m, nn.Conv2d)]
    )
    assert abs(float(weights.mean())) < 2e-3
    assert float(weights.std()) == pytest.approx(0.02, rel=0.02)
    assert all(m.bias.abs().max().item() == 0 for m in D1.modules() if isinstance(m, nn.Conv2d))
    weights_of = [[m.weight for m in D.modules() if isinstance(m, nn.Conv2d)] for D in (D1, D2, D3)]
    for a, b, c in zip(*weights_of, strict=True):
        assert torch.equal(a, b)  # same seed, same weights
        assert not torch.equal(a, c)  # another seed, other weights


def test_building_does_not_move_the_global_rng() -> None:
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    build_generator(GeneratorConfig(ngf=4, n_blocks=1))
    assert torch.equal(torch.rand(3), expected)


def test_reflection_pad_keeps_bf16_under_autocast_and_pads_like_torch() -> None:
    x = torch.randn(2, 3, 6, 7).bfloat16()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        padded = reflection_pad2d(x, (3, 1, 2, 0))
        module = ReflectionPad2d(2)(x)
    assert padded.dtype == module.dtype == torch.bfloat16  # not autocast's float32 copy
    torch.testing.assert_close(padded, nn.functional.pad(x, (3, 1, 2, 0), mode="reflect"))
    torch.testing.assert_close(module, nn.ReflectionPad2d(2)(x), rtol=0, atol=0)
    plain = torch.randn(1, 2, 5, 5)
    assert torch.equal(
        reflection_pad2d(plain, 1), nn.functional.pad(plain, (1,) * 4, mode="reflect")
    )


@pytest.mark.parametrize("padding", [(3, 1, 2, 0), (0, 2, 1, 3), (1, 1, 1, 1)])
def test_reflection_pad_backward_under_autocast(padding: tuple[int, int, int, int]) -> None:
    """Autocast's own backward folds each padded border back onto the row or column it copied."""
    x = torch.randn(2, 3, 6, 7, dtype=torch.float64, requires_grad=True)
    with torch.autocast("cpu", dtype=torch.bfloat16):  # float64 stays float64: exact checks
        assert torch.autograd.gradcheck(lambda t: reflection_pad2d(t, padding), (x,))
        weights = torch.randn(2, 3, 6 + padding[2] + padding[3], 7 + padding[0] + padding[1])
        (grad,) = torch.autograd.grad((reflection_pad2d(x, padding) * weights).sum(), x)
    (expected,) = torch.autograd.grad(
        (nn.functional.pad(x, padding, mode="reflect") * weights).sum(), x
    )
    torch.testing.assert_close(grad, expected)
    bf16 = x.detach().bfloat16().requires_grad_()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        (grad16,) = torch.autograd.grad((reflection_pad2d(bf16, padding) * weights).sum(), bf16)
    assert grad16.dtype == torch.bfloat16
    torch.testing.assert_close(grad16.double(), expected, rtol=0.02, atol=0.05)
