"""D_B's augmentation (DiffAugment's geometric policies): what each policy does to an image."""

from __future__ import annotations

import pytest
import torch

from dof_gan.augment import POLICIES, augment, cutout, parse_policy, translate
from dof_gan.errors import ConfigError


def _images(b: int = 4, h: int = 32, w: int = 24, seed: int = 0) -> torch.Tensor:
    """Strictly positive content, so a 0 can only be a pixel the augmentation put there."""
    g = torch.Generator().manual_seed(seed)
    return torch.rand(b, 3, h, w, generator=g) + 0.5


@pytest.mark.parametrize(
    "policy", ["translation", "cutout", "translation,cutout", "cutout, translation"]
)
def test_every_policy_keeps_the_shape_and_dtype(policy: str) -> None:
    x = _images()
    torch.manual_seed(0)
    out = augment(x, policy)
    assert out.shape == x.shape and out.dtype == x.dtype


def test_an_empty_policy_returns_the_input_itself() -> None:
    x = _images()
    assert augment(x, "") is x
    assert augment(x, " , ") is x
    assert parse_policy("") == ()


def test_translation_shifts_the_content_and_brings_in_zeros() -> None:
    x = _images(b=8)
    torch.manual_seed(1)
    out = translate(x)
    shifted = 0
    for b in range(x.shape[0]):
        # find the shift (dy, dx) within 1/8 of each side that explains this image exactly
        found = []
        for dy in range(-4, 5):  # 32 // 8
            for dx in range(-3, 4):  # 24 // 8
                expected = torch.zeros_like(x[b])
                H, W = x.shape[-2:]
                src = x[b, :, max(0, -dy) : H - max(0, dy), max(0, -dx) : W - max(0, dx)]
                expected[:, max(0, dy) : H - max(0, -dy), max(0, dx) : W - max(0, -dx)] = src
                if torch.equal(out[b], expected):
                    found.append((dy, dx))
        assert len(found) == 1, f"image {b} is no shift of its input within 1/8 of each side"
        dy, dx = found[0]
        if (dy, dx) != (0, 0):
            shifted += 1
            zeros = (out[b] == 0).all(0)
            assert int(zeros.sum()) == 32 * 24 - (32 - abs(dy)) * (24 - abs(dx))
    assert shifted >= 6  # 8 draws: a policy that never moves would be caught


def test_cutout_zeroes_exactly_one_square_of_half_the_side_per_image() -> None:
    x = _images(b=6)
    torch.manual_seed(2)
    out = cutout(x)
    places = set()
    for b in range(x.shape[0]):
        zero = (out[b] == 0).all(0)
        assert ((out[b] == 0).any(0) == zero).all()  # all channels cut alike
        ys, xs = torch.nonzero(zero, as_tuple=True)
        assert len(ys) == 16 * 12  # half of 32 by half of 24
        y0, x0 = int(ys.min()), int(xs.min())
        assert (int(ys.max()) - y0 + 1, int(xs.max()) - x0 + 1) == (16, 12)  # one rectangle
        assert torch.equal(out[b][:, ~zero], x[b][:, ~zero])  # the rest untouched
        places.add((y0, x0))
    assert len(places) > 1  # each image draws its own place


def test_an_unknown_policy_names_the_valid_ones() -> None:
    with pytest.raises(ConfigError, match=r"--d-augment.*colour.*translation, cutout"):
        augment(_images(), "translation,colour")
    assert POLICIES == ("translation", "cutout")


def test_augmentation_is_differentiable_in_its_input() -> None:
    x = _images(b=2, h=16, w=16).double().requires_grad_()
    policy = "translation,cutout"

    def fn(t: torch.Tensor) -> torch.Tensor:
        torch.manual_seed(3)  # the same draws at every evaluation of gradcheck
        return augment(t, policy)

    assert torch.autograd.gradcheck(fn, (x,))
    torch.manual_seed(3)
    augment(x, policy).sum().backward()
    assert x.grad is not None
    torch.manual_seed(3)
    kept = augment(torch.ones_like(x), policy) != 0
    # each pixel that reaches the output gets a gradient of 1, every other pixel none
    assert int((x.grad != 0).sum()) == int(kept.sum()) and set(x.grad.unique().tolist()) <= {0, 1}
