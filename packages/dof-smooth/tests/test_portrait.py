"""portrait_blur: the paper's baseline exactly, the better defaults, and its error messages."""

from __future__ import annotations

import cv2
import pytest
import torch

from dof_smooth import (
    DEFAULT_COMPOSITE,
    DTypeError,
    OptionError,
    PortraitBlur,
    ShapeError,
    UnknownNameError,
    ValueRangeError,
    boost_highlights,
    default_radius,
    halo_free_composite,
    lens_blur2d,
    linear_to_srgb,
    paste,
    portrait_blur,
    srgb_to_linear,
)


@pytest.fixture
def scene(rng):  # type: ignore[no-untyped-def]
    image = torch.rand(2, 3, 48, 64, generator=rng)
    mask = torch.zeros(2, 1, 48, 64)
    mask[..., 10:40, 20:44] = 1.0
    return image, mask


@pytest.mark.parametrize(("method", "size"), [("box", 5), ("gaussian", 9)])
def test_paper_baseline_is_opencv_blur_then_paste(scene, oracle, method: str, size: int) -> None:  # type: ignore[no-untyped-def]
    image, mask = scene
    if method == "box":
        blurred = oracle(cv2.blur, image, (size, size))
    else:
        blurred = oracle(cv2.GaussianBlur, image, (size, size), 1.7)
    expected = image * mask + blurred * (1 - mask)
    torch.testing.assert_close(portrait_blur(image, mask, method), expected, rtol=0, atol=1e-4)


def test_defaults() -> None:
    assert DEFAULT_COMPOSITE == {"box": "paste", "gaussian": "paste", "lens": "halo_free"}
    assert default_radius("box", 480, 640) == 2
    assert default_radius("gaussian", 480, 640) == 4
    assert default_radius("lens", 480, 640) == pytest.approx(12.8)
    assert default_radius("lens", 20, 30) == 1.0


def test_lens_default_is_halo_free_in_linear_light(scene) -> None:  # type: ignore[no-untyped-def]
    image, mask = scene
    radius = default_radius("lens", 48, 64)
    linear = srgb_to_linear(image)
    expected = linear_to_srgb(
        halo_free_composite(linear, mask, lambda t: lens_blur2d(t, radius), feather=1.0)
    )
    torch.testing.assert_close(portrait_blur(image, mask), expected)


def test_composite_and_linear_can_be_chosen(scene) -> None:  # type: ignore[no-untyped-def]
    image, mask = scene
    out = portrait_blur(image, mask, "lens", 3.0, "paste", linear=False)
    torch.testing.assert_close(out, paste(image, lens_blur2d(image, 3.0), mask))


@pytest.mark.parametrize("method", ["box", "gaussian", "lens"])
def test_subject_is_untouched_and_range_kept(scene, method: str) -> None:  # type: ignore[no-untyped-def]
    image, mask = scene
    out = portrait_blur(image, mask, method)
    assert out.shape == image.shape and out.dtype == image.dtype
    assert float(out.min()) >= 0 and float(out.max()) <= 1
    inner = torch.zeros_like(mask, dtype=torch.bool)
    inner[..., 13:37, 23:41] = True  # 3 px inside the outline: away from the feather
    inner = inner.expand_as(image)
    torch.testing.assert_close(out[inner], image[inner], rtol=0, atol=1e-5)
    outside = ~torch.nn.functional.max_pool2d(mask, 7, 1, 3).bool().expand_as(image)
    assert float((out - image)[outside].abs().mean()) > 0.05  # the background did blur


def test_full_mask_returns_the_photo(scene) -> None:  # type: ignore[no-untyped-def]
    image, _ = scene
    out = portrait_blur(image, torch.ones(2, 1, 48, 64), "lens", 5.0)
    torch.testing.assert_close(out, image, rtol=0, atol=1e-5)


def test_batch_items_are_independent(scene) -> None:  # type: ignore[no-untyped-def]
    image, mask = scene
    together = portrait_blur(image, mask, "lens", 4.0)
    for i in range(2):
        torch.testing.assert_close(
            together[i : i + 1], portrait_blur(image[i : i + 1], mask[i : i + 1], "lens", 4.0)
        )


def test_highlights_make_brighter_discs() -> None:
    image = torch.full((1, 3, 41, 41), 0.2)
    image[..., 20, 20] = 1.0  # a point light in the background
    mask = torch.zeros(1, 1, 41, 41)
    plain = portrait_blur(image, mask, "lens", 6.0)
    boosted = portrait_blur(image, mask, "lens", 6.0, highlights=8.0)
    assert float(boosted[..., 20, 20].mean()) > float(plain[..., 20, 20].mean()) + 0.05
    # away from the light nothing changes
    torch.testing.assert_close(boosted[..., :5, :5], plain[..., :5, :5])
    lifted = boost_highlights(
        torch.tensor([0.5, 0.9, 1.0]).view(1, 3, 1, 1).expand(1, 3, 1, 2), 4.0
    )
    assert float(lifted.max()) == pytest.approx(5.0)  # 1 + gain at full brightness


def test_module_equals_function(scene) -> None:  # type: ignore[no-untyped-def]
    image, mask = scene
    module = PortraitBlur("lens", 3.5, blades=6, highlights=2.0)
    torch.testing.assert_close(
        module(image, mask), portrait_blur(image, mask, "lens", 3.5, blades=6, highlights=2.0)
    )
    assert isinstance(module, torch.nn.Module)


def test_float64_and_gradients(scene) -> None:  # type: ignore[no-untyped-def]
    image, mask = scene
    image = image[:1, :, :12, :14].double().requires_grad_()
    mask = mask[:1, :, :12, :14].double()
    assert portrait_blur(image.detach(), mask, "gaussian").dtype == torch.float64
    assert torch.autograd.gradcheck(
        lambda i: portrait_blur(i, mask, "lens", 2.0, linear=False), (image,), fast_mode=True
    )


def test_bad_inputs_say_what_to_do(scene) -> None:  # type: ignore[no-untyped-def]
    image, mask = scene
    cases = [
        (lambda: portrait_blur(image[0], mask), ShapeError, r"add a batch axis with image\[None\]"),
        (
            lambda: portrait_blur(image.permute(0, 2, 3, 1), mask),
            ShapeError,
            r"channels last\? use \.permute\(0, 3, 1, 2\)",
        ),
        (
            lambda: portrait_blur(torch.cat([image, mask], 1), mask),
            ShapeError,
            r"drop alpha with image\[:, :3\]",
        ),
        (lambda: portrait_blur(image, mask[:, 0]), ShapeError, r"mask\[:, None\]"),
        (
            lambda: portrait_blur(image, mask[:1]),
            ShapeError,
            r"mask must be \(2, 1, 48, 64\) to match image \(2, 3, 48, 64\); got \(1, 1, 48, 64\)",
        ),
        (
            lambda: portrait_blur((image * 255).to(torch.uint8), mask),
            DTypeError,
            r"got torch.uint8: convert it with image.float\(\) / 255",
        ),
        (
            lambda: portrait_blur(image * 255, mask),
            ValueRangeError,
            r"image must lie in \[0, 1\]; got min .*, max .*: divide by 255",
        ),
        (
            lambda: portrait_blur(image * 2 - 1, mask),
            ValueRangeError,
            r"map \[-1, 1\] to \[0, 1\] with \(x \+ 1\) / 2",
        ),
        (
            lambda: portrait_blur(image, mask * float("nan")),
            ValueRangeError,
            "mask contains NaN",
        ),
        (
            lambda: portrait_blur(image, mask, "bokeh"),
            UnknownNameError,
            "unknown method 'bokeh'; expected one of: 'box', 'gaussian', 'lens'",
        ),
        (
            lambda: portrait_blur(image, mask, "lens", composite="alpha"),
            UnknownNameError,
            "expected one of: 'halo_free', 'paste'",
        ),
        (
            lambda: portrait_blur(image, mask, "box", blades=6),
            OptionError,
            "blades only apply to method='lens', not 'box'",
        ),
        (
            lambda: portrait_blur(image, mask, "lens", -2.0),
            OptionError,
            "radius must be a finite number >= 0; got -2.0",
        ),
        (
            lambda: portrait_blur(image, mask, "lens", linear=False, highlights=4.0),
            OptionError,
            "highlights need linear light",
        ),
    ]
    for call, error, message in cases:
        with pytest.raises(error, match=message):
            call()


@pytest.mark.parametrize("halo_free", [True, False])
def test_streamed_lens_pipeline_equals_the_whole_tensor_one(monkeypatch, rng, halo_free) -> None:  # type: ignore[no-untyped-def]
    """The CPU lens path runs band by band; small bands force many bands and tile groups."""
    from dof_smooth import disk_kernel, fft, lens_blur2d
    from dof_smooth.pipeline import Recipe, run_streamed, run_whole

    monkeypatch.setattr(fft, "FFT_BAND_ELEMENTS", 1 << 16)
    monkeypatch.setattr(fft, "MIN_TILE", 64)
    image = torch.rand(2, 3, 150, 230, generator=rng)
    mask = (torch.rand(2, 1, 150, 230, generator=rng) > 0.6).float()
    recipe = Recipe(halo_free=halo_free, linear=True, highlights=3.0, feather=1.5)
    kernel = disk_kernel(9.0, 6)
    streamed = run_streamed(recipe, image, mask, kernel)
    whole = run_whole(recipe, image, mask, lambda t: lens_blur2d(t, 9.0, blades=6, path="direct"))
    torch.testing.assert_close(streamed, whole, rtol=0, atol=1e-4)


def test_portrait_blur_streams_unless_gradients_are_needed(scene) -> None:  # type: ignore[no-untyped-def]
    image, mask = scene
    streamed = portrait_blur(image, mask, "lens", 6.0, blades=5)
    whole = portrait_blur(image.requires_grad_(), mask, "lens", 6.0, blades=5)
    assert whole.requires_grad and not streamed.requires_grad
    torch.testing.assert_close(streamed, whole.detach(), rtol=0, atol=1e-5)
