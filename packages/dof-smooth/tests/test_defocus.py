"""defocus_blur: a per-pixel radius map drawn with the lens, sharp levels in front."""

from __future__ import annotations

import pytest
import torch

import dof_smooth
from dof_smooth import DefocusBlur, ShapeError, ValueRangeError, defocus_blur, radius_levels
from dof_smooth.errors import OptionError


def _image(h: int = 40, w: int = 48, seed: int = 0, dtype: torch.dtype = torch.float32):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(2, 3, h, w, generator=g, dtype=dtype)


def test_zero_map_returns_the_input_exactly() -> None:
    x = _image()
    assert torch.equal(defocus_blur(x, torch.zeros_like(x[:, :1])), x)


def test_in_focus_pixels_are_the_input_exactly() -> None:
    x = _image()
    radius = torch.zeros_like(x[:, :1])
    radius[..., :, 24:] = 5.0
    out = defocus_blur(x, radius)
    assert torch.equal(out[..., :, :24], x[..., :, :24])
    assert not torch.allclose(out[..., :, 30:], x[..., :, 30:], atol=1e-3)


@pytest.mark.parametrize("r", [1.0, 3.0, 4.5])
def test_constant_map_is_the_lens_blur_away_from_the_borders(r: float) -> None:
    x = _image(dtype=torch.float64)
    out = defocus_blur(x, torch.full_like(x[:, :1], r))
    linear = dof_smooth.srgb_to_linear(x)
    ref = dof_smooth.linear_to_srgb(dof_smooth.lens_blur2d(linear, r))
    m = int(r) + 1
    torch.testing.assert_close(out[..., m:-m, m:-m], ref[..., m:-m, m:-m], atol=1e-6, rtol=0)


def test_a_radius_between_levels_lays_the_nearer_blur_over_the_farther() -> None:
    x = _image(dtype=torch.float64)
    out = defocus_blur(x, torch.full_like(x[:, :1], 2.25), max_radius=4.0, linear=False)
    two, three = dof_smooth.lens_blur2d(x, 2.0), dof_smooth.lens_blur2d(x, 3.0)
    # tent weights 0.75 (radius 2) and 0.25 (radius 3); radius 2 is in front ("over")
    ref = (0.75 * two + 0.25 * 0.25 * three) / (0.75 + 0.25 * 0.25)
    torch.testing.assert_close(out[..., 4:-4, 4:-4], ref[..., 4:-4, 4:-4], atol=1e-6, rtol=0)


@pytest.mark.parametrize("path", ["direct", "fft"])
def test_gradcheck_in_the_map(path: str) -> None:
    g = torch.Generator().manual_seed(1)
    x = torch.rand(1, 3, 12, 12, generator=g, dtype=torch.float64)
    # radii away from the levels (the tents' corners) so finite differences stay on one side
    r = torch.rand(1, 1, 12, 12, generator=g, dtype=torch.float64) * 0.8 + 0.1
    r = (r + torch.randint(0, 3, (1, 1, 12, 12), generator=g)).requires_grad_()
    assert torch.autograd.gradcheck(
        lambda radius: defocus_blur(x, radius, max_radius=3.0, path=path), (r,)
    )


def test_gradient_reaches_a_continuous_radius() -> None:
    x = _image()
    r = torch.full_like(x[:, :1], 1.5, requires_grad=True)
    defocus_blur(x, r, max_radius=4.0).square().sum().backward()
    assert r.grad is not None and r.grad.abs().sum() > 0


def test_random_maps_stay_within_the_range_of_the_inputs_blurs() -> None:
    x = _image(h=32, w=32)
    g = torch.Generator().manual_seed(3)
    top = 5.0
    levels = radius_levels(top)
    linear = dof_smooth.srgb_to_linear(x)
    blurs = torch.stack([linear] + [dof_smooth.lens_blur2d(linear, r) for r in levels[1:]])
    lo = dof_smooth.linear_to_srgb(blurs.amin((0, 3, 4)).view(2, 3, 1, 1).expand_as(x))
    hi = dof_smooth.linear_to_srgb(blurs.amax((0, 3, 4)).view(2, 3, 1, 1).expand_as(x))
    for _ in range(5):
        r = torch.rand(2, 1, 32, 32, generator=g) * top
        out = defocus_blur(x, r, max_radius=top)
        assert (out >= lo - 1e-5).all() and (out <= hi + 1e-5).all()


def test_a_sharp_subject_does_not_bleed_into_the_blurred_background() -> None:
    x = torch.zeros(1, 3, 64, 64)
    x[..., 24:40, 24:40] = 1.0  # a bright sharp square on black
    radius = torch.full_like(x[:, :1], 6.0)
    radius[..., 24:40, 24:40] = 0.0
    out = defocus_blur(x, radius)
    assert torch.equal(out[..., 24:40, 24:40], x[..., 24:40, 24:40])
    assert out[..., :, :20].abs().max() < 1e-6  # the black background stays black next to it


def test_highlights_brighten_blurred_lights_only_with_linear_light() -> None:
    x = torch.full((1, 3, 32, 32), 0.2)
    x[..., 16, 16] = 1.0
    r = torch.full_like(x[:, :1], 4.0)
    assert defocus_blur(x, r, highlights=4.0).sum() > defocus_blur(x, r).sum()
    with pytest.raises(OptionError, match="linear"):
        defocus_blur(x, r, highlights=4.0, linear=False)


def test_module_equals_function() -> None:
    x = _image()
    r = torch.rand_like(x[:, :1]) * 3
    torch.testing.assert_close(DefocusBlur(levels=3)(x, r), defocus_blur(x, r, levels=3))


def test_levels_and_step() -> None:
    assert radius_levels(0.0) == [0.0]
    assert radius_levels(3.0) == [0.0, 1.0, 2.0, 3.0]
    assert radius_levels(2.5) == pytest.approx([0.0, 2.5 / 3, 5 / 3, 2.5])
    assert radius_levels(8.0, levels=3) == [0.0, 4.0, 8.0]
    with pytest.raises(OptionError, match="levels"):
        radius_levels(8.0, levels=1)
    with pytest.raises(OptionError, match="step or levels"):
        radius_levels(8.0, levels=3, step=1.0)


@pytest.mark.parametrize(
    ("radius", "error", "match"),
    [
        (torch.zeros(2, 1, 40, 47), ShapeError, "radius must be"),
        (torch.zeros(2, 3, 40, 48), ShapeError, "radius must be"),
        (torch.full((2, 1, 40, 48), -1.0), ValueRangeError, "radius must be >= 0"),
        (torch.full((2, 1, 40, 48), float("nan")), ValueRangeError, "NaN"),
    ],
)
def test_bad_maps_are_refused_naming_the_argument(radius, error, match) -> None:
    with pytest.raises(error, match=match):
        defocus_blur(_image(), radius)


def test_the_streamed_drawing_equals_the_whole_one() -> None:
    """Without autograd the FFT path streams each level band by band (no photo-sized level):
    the same picture as the whole-tensor drawing that training differentiates through."""
    g = torch.Generator().manual_seed(5)
    x = torch.rand(2, 3, 150, 90, generator=g)
    radius = torch.rand(2, 1, 150, 90, generator=g) * 9
    radius[..., 40:90, 20:60] = 0.0
    with torch.no_grad():
        streamed = defocus_blur(x, radius, path="fft", highlights=2.0)
    whole = defocus_blur(x, radius.requires_grad_(), path="fft", highlights=2.0)
    torch.testing.assert_close(streamed, whole.detach(), atol=2e-5, rtol=0)
    assert torch.equal(streamed[..., 40:90, 20:60], x[..., 40:90, 20:60])
