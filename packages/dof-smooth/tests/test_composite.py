"""paste and the halo-free composite on synthetic scenes where the right answer is known."""

from __future__ import annotations

import pytest
import torch

from dof_smooth import (
    DeviceError,
    HaloFreeComposite,
    LensBlur2d,
    OptionError,
    Paste,
    ShapeError,
    box_blur2d,
    feather_matte,
    halo_free_composite,
    lens_blur2d,
    masked_blur,
    paste,
)


def disc_scene(size: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    """A red disc (the subject) on a blue-green gradient, and its hard mask."""
    y, x = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    mask = (((y - size / 2) ** 2 + (x - size / 2) ** 2) <= (size / 5) ** 2).float()[None, None]
    background = torch.stack([0.1 + 0 * x, x / size, 1 - y / size]).float()[None] * 0.8
    subject = torch.tensor([0.95, 0.1, 0.05]).view(1, 3, 1, 1).expand_as(background)
    return torch.lerp(background, subject, mask), mask


def test_paste_is_the_papers_formula(rng) -> None:  # type: ignore[no-untyped-def]
    image, blurred = torch.rand(2, 2, 3, 8, 9, generator=rng)
    mask = torch.rand(2, 1, 8, 9, generator=rng)
    torch.testing.assert_close(paste(image, blurred, mask), image * mask + blurred * (1 - mask))
    torch.testing.assert_close(Paste()(image, blurred, mask), paste(image, blurred, mask))


def test_halo_free_keeps_the_subject_and_ignores_its_colours() -> None:
    image, mask = disc_scene()
    blur = LensBlur2d(6.0)
    out = halo_free_composite(image, mask, blur, feather=0)
    inside = mask.bool().expand_as(image)
    torch.testing.assert_close(out[inside], image[inside])
    # recolour the subject: the background must not change at all
    recoloured = torch.where(inside, 1 - image, image)
    again = halo_free_composite(recoloured, mask, blur, feather=0)
    torch.testing.assert_close(again[~inside], out[~inside], rtol=0, atol=1e-5)
    # while paste's background next to the subject does change
    pasted = paste(image, blur(image), mask)
    repasted = paste(recoloured, blur(recoloured), mask)
    assert float((pasted - repasted)[~inside].abs().max()) > 0.2


def test_halo_free_with_an_empty_mask_is_the_plain_blur(rng) -> None:  # type: ignore[no-untyped-def]
    image = torch.rand(2, 3, 30, 40, generator=rng)
    mask = torch.zeros(2, 1, 30, 40)
    out = halo_free_composite(image, mask, lambda t: box_blur2d(t, 5))
    torch.testing.assert_close(out, box_blur2d(image, 5), rtol=0, atol=1e-5)


def test_halo_free_with_a_full_mask_is_the_photo(rng) -> None:  # type: ignore[no-untyped-def]
    image = torch.rand(1, 3, 30, 40, generator=rng)
    out = halo_free_composite(image, torch.ones(1, 1, 30, 40), lambda t: lens_blur2d(t, 4.0))
    torch.testing.assert_close(out, image)


def test_masked_blur_averages_only_weighted_pixels() -> None:
    x = torch.zeros(1, 1, 9, 9)
    x[..., :, 5:] = 1.0  # right part bright
    weight = (x == 0).float()  # only the dark pixels count
    out = masked_blur(x, weight, lambda t: box_blur2d(t, 3))
    torch.testing.assert_close(out[..., :, :5], torch.zeros(1, 1, 9, 5))
    # pixels with no weighted neighbour keep their own value (the fallback)
    torch.testing.assert_close(out[..., :, 6:], x[..., :, 6:])


def test_masked_blur_of_a_constant_is_the_constant(rng) -> None:  # type: ignore[no-untyped-def]
    x = torch.full((1, 3, 20, 20), 0.6)
    weight = torch.rand(1, 1, 20, 20, generator=rng)
    torch.testing.assert_close(masked_blur(x, weight, lambda t: lens_blur2d(t, 3.0)), x)


def test_feather_softens_only_the_outline() -> None:
    _, mask = disc_scene()
    soft = feather_matte(mask, 1.0)
    assert float(soft.min()) >= 0 and float(soft.max()) <= 1
    edge = (soft > 0.01) & (soft < 0.99)
    assert 0 < int(edge.sum()) < 0.2 * mask.numel()
    torch.testing.assert_close(feather_matte(mask, 0), mask)
    with pytest.raises(OptionError, match="feather must be >= 0 pixels; got -1"):
        feather_matte(mask, -1)


def test_module_equals_function() -> None:
    image, mask = disc_scene(40)
    blur = LensBlur2d(3.0)
    torch.testing.assert_close(
        HaloFreeComposite(blur, feather=2.0)(image, mask),
        halo_free_composite(image, mask, blur, feather=2.0),
    )


def test_gradcheck_halo_free(rng) -> None:  # type: ignore[no-untyped-def]
    image = torch.rand(1, 3, 8, 9, generator=rng, dtype=torch.float64).requires_grad_()
    mask = torch.rand(1, 1, 8, 9, generator=rng, dtype=torch.float64).requires_grad_()
    assert torch.autograd.gradcheck(
        lambda i, m: halo_free_composite(i, m, lambda t: lens_blur2d(t, 1.5)),
        (image, mask),
        fast_mode=True,
    )


def test_bad_inputs_say_what_to_do() -> None:
    image = torch.rand(1, 3, 10, 12)
    with pytest.raises(ShapeError, match=r"mask must be \(1, 1, 10, 12\) to match image"):
        paste(image, image, torch.rand(1, 1, 10, 11))
    with pytest.raises(ShapeError, match=r"add a channel axis with mask\[:, None\]"):
        halo_free_composite(image, torch.rand(1, 10, 12), lambda t: t)
    with pytest.raises(ShapeError, match=r"keep one channel with mask\[:, :1\]"):
        paste(image, image, torch.rand(1, 3, 10, 12))
    if torch.cuda.is_available():
        with pytest.raises(DeviceError, match=r"move it with mask.to\(image.device\)"):
            paste(image, image, torch.rand(1, 1, 10, 12, device="cuda"))
