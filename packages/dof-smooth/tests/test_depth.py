"""Depth-aware blur on synthetic scenes whose answer is known."""

from __future__ import annotations

import pytest
import torch

from dof_smooth import (
    DepthBlur,
    OptionError,
    ShapeError,
    ValueRangeError,
    depth_blur,
    focus_from_mask,
    lens_blur2d,
    portrait_blur,
)


@pytest.fixture
def layered(rng):  # type: ignore[no-untyped-def]
    """A subject square at depth 2 in front of a wall at depth 10."""
    image = torch.rand(1, 3, 40, 48, generator=rng)
    mask = torch.zeros(1, 1, 40, 48)
    mask[..., 12:28, 16:32] = 1
    depth = torch.where(mask > 0, 2.0, 10.0)
    return image, depth, mask


def test_a_flat_scene_in_focus_stays_sharp(rng) -> None:  # type: ignore[no-untyped-def]
    image = torch.rand(2, 3, 20, 24, generator=rng)
    depth = torch.full((2, 1, 20, 24), 3.0)
    torch.testing.assert_close(depth_blur(image, depth, focus=3.0, max_radius=5), image)


def test_subject_sharp_and_the_wall_blurred_without_halo(layered) -> None:  # type: ignore[no-untyped-def]
    image, depth, mask = layered
    out = depth_blur(image, depth, mask, max_radius=4.0, linear=False)
    inside = mask.bool().expand_as(image)
    torch.testing.assert_close(out[inside], image[inside])
    # the wall far from the subject is the plain lens blur of the wall
    wall = ~torch.nn.functional.max_pool2d(mask, 11, 1, 5).bool().expand_as(image)
    torch.testing.assert_close(out[wall], lens_blur2d(image, 4.0)[wall], rtol=0, atol=1e-4)
    # next to the subject the wall owes nothing to the subject's colours
    recoloured = torch.where(inside, 1 - image, image)
    again = depth_blur(recoloured, depth, mask, max_radius=4.0, linear=False)
    torch.testing.assert_close(again[~inside], out[~inside], rtol=0, atol=1e-4)


def test_disparity_is_the_mirror_of_depth(layered) -> None:  # type: ignore[no-untyped-def]
    image, depth, mask = layered
    by_depth = depth_blur(image, depth, mask, max_radius=3.0)
    by_disparity = depth_blur(image, 1 / depth, mask, max_radius=3.0, disparity=True)
    torch.testing.assert_close(by_depth, by_disparity)


def test_blur_grows_with_distance_from_focus(rng) -> None:  # type: ignore[no-untyped-def]
    image = torch.rand(1, 3, 30, 90, generator=rng)
    depth = torch.linspace(0, 1, 90).view(1, 1, 1, 90).expand(1, 1, 30, 90).contiguous()
    out = depth_blur(image, depth, focus=0.0, max_radius=6.0, linear=False)
    change = (out - image).abs().mean((0, 1, 2))
    assert float(change[:10].mean()) < 0.5 * float(change[-20:].mean())


def test_focus_from_mask_is_the_subjects_median(layered) -> None:  # type: ignore[no-untyped-def]
    _, depth, mask = layered
    torch.testing.assert_close(focus_from_mask(depth, mask), torch.tensor([2.0]))
    with pytest.raises(ValueRangeError, match=r"mask is empty for image\(s\) \[0\]"):
        focus_from_mask(depth, torch.zeros_like(mask))


def test_portrait_blur_with_depth_and_module(layered) -> None:  # type: ignore[no-untyped-def]
    image, depth, mask = layered
    expected = depth_blur(image, depth, mask, max_radius=3.0, linear=True)
    torch.testing.assert_close(portrait_blur(image, mask, "lens", 3.0, depth=depth), expected)
    torch.testing.assert_close(DepthBlur(max_radius=3.0)(image, depth, mask), expected)


def test_gaussian_layers_work_too(layered) -> None:  # type: ignore[no-untyped-def]
    image, depth, mask = layered
    out = depth_blur(image, depth, mask, max_radius=3.0, method="gaussian")
    assert out.shape == image.shape
    assert float(out.min()) >= 0 and float(out.max()) <= 1


def test_bad_inputs_say_what_to_do(layered) -> None:  # type: ignore[no-untyped-def]
    image, depth, mask = layered
    with pytest.raises(OptionError, match="layers must be odd and >= 3"):
        depth_blur(image, depth, mask, layers=8)
    with pytest.raises(OptionError, match="give a subject mask or focus="):
        depth_blur(image, depth)
    with pytest.raises(ShapeError, match=r"depth must be \(B, 1, H, W\)"):
        depth_blur(image, depth[:, 0], mask)
    with pytest.raises(ValueRangeError, match="depth contains NaN or inf"):
        depth_blur(image, depth * float("inf"), mask)
    with pytest.raises(OptionError, match="depth-aware rendering composites by layers"):
        portrait_blur(image, mask, "lens", depth=depth, composite="paste")
