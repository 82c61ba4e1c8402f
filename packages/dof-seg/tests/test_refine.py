"""Refining masks with the photo as guide: guided filter, matting, the registry option."""

from __future__ import annotations

import pytest
import torch

from dof_seg import (
    OptionError,
    Refine,
    RefineConfig,
    ShapeError,
    boundary_f_score,
    get_segmenter,
    guided_refine,
    matting_refine,
    refine_masks,
    trimap,
)


def step_scene(size: int = 64) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A photo with a sharp vertical edge at x = 40, the true mask (person left of it), and a
    coarse mask: the truth blurred and moved 3 px, as a 256-px segmenter upsampled would be."""
    x = torch.arange(size, dtype=torch.float32)
    truth = (x < 40).float().expand(size, size)[None, None].clone()
    g = torch.Generator().manual_seed(0)
    photo = torch.where(truth.bool(), 0.8, 0.2).expand(1, 3, size, size).clone()
    photo += 0.02 * torch.rand(photo.shape, generator=g)
    coarse = torch.sigmoid((43 - x) / 3).expand(size, size)[None, None].clone()
    return photo, truth, coarse


def error(mask: torch.Tensor, truth: torch.Tensor) -> float:
    return float((mask - truth).abs().mean())


def test_none_returns_the_masks_unchanged() -> None:
    photo, _, coarse = step_scene()
    assert refine_masks(photo, coarse, "none") is coarse


def test_guided_puts_the_mask_edge_on_the_photo_edge() -> None:
    """The guided filter keeps the mask's ramp but makes it jump where the photo does."""
    photo, _, coarse = step_scene()
    refined = guided_refine(photo, coarse, 0.08)
    jump_before = float(coarse[0, 0, 0, 39] - coarse[0, 0, 0, 40])
    jump_after = float(refined[0, 0, 0, 39] - refined[0, 0, 0, 40])
    assert jump_after > 3 * jump_before
    assert refined.shape == coarse.shape and 0 <= float(refined.min()) <= float(refined.max()) <= 1


def test_matting_snaps_the_outline_to_the_photo_edge() -> None:
    photo, truth, coarse = step_scene()
    config = RefineConfig(mode="matting", band=0.1)
    refined = refine_masks(photo, coarse, config)
    assert refined.shape == coarse.shape and refined.dtype == coarse.dtype
    assert float(refined.min()) >= 0 and float(refined.max()) <= 1
    assert error(refined, truth) < 0.1 * error(coarse, truth)
    f_before = boundary_f_score(coarse[0, 0].numpy(), truth[0, 0].numpy(), tolerance=1)
    f_after = boundary_f_score(refined[0, 0].numpy(), truth[0, 0].numpy(), tolerance=1)
    assert f_before == 0.0 and f_after == 1.0


def test_matting_at_a_reduced_size_comes_back_at_full_size() -> None:
    photo, truth, coarse = step_scene(96)
    refined = matting_refine(photo, coarse, RefineConfig(mode="matting", matting_size=48))
    assert refined.shape == (1, 1, 96, 96)
    assert error(refined, truth) < error(coarse, truth)


def test_trimap_band() -> None:
    mask = torch.zeros(1, 1, 9, 9)
    mask[..., :, :4] = 1
    t = trimap(mask, 1)[0, 0, 0]
    assert t.tolist() == [1, 1, 1, 0.5, 0.5, 0, 0, 0, 0]


def test_guided_follows_the_photo_not_only_the_mask() -> None:
    """With a flat guide there is no edge to follow: the filter only smooths."""
    photo, _, coarse = step_scene()
    flat = guided_refine(torch.full_like(photo, 0.5), coarse, 0.08)
    assert float(flat[0, 0, 0, 39] - flat[0, 0, 0, 40]) <= float(
        coarse[0, 0, 0, 39] - coarse[0, 0, 0, 40]
    )


def test_module_equals_function() -> None:
    photo, _, coarse = step_scene()
    config = RefineConfig(mode="guided")
    assert torch.equal(Refine(config)(photo, coarse), refine_masks(photo, coarse, config))


def test_bad_input_is_refused_with_a_message() -> None:
    photo, _, coarse = step_scene()
    with pytest.raises(OptionError, match="none, guided, matting"):
        RefineConfig(mode="sharpen")
    with pytest.raises(ShapeError, match="must match images"):
        refine_masks(photo, coarse[..., :32], "guided")
    with pytest.raises(ShapeError, match="images must be"):  # check_images, as every backend
        refine_masks((photo * 255).to(torch.uint8), coarse, "guided")
    with pytest.raises(OptionError, match="radius"):
        RefineConfig(mode="guided", radius=0)


def test_get_segmenter_refines_every_mask(make_photo) -> None:
    rgb = make_photo(48, 64)
    image = torch.from_numpy(rgb).permute(2, 0, 1)[None].float() / 255
    plain = get_segmenter("selfie")
    guided = get_segmenter("selfie", refine="guided")
    assert plain.refine.mode == "none" and guided.refine.mode == "guided"
    with torch.inference_mode():
        expected = guided_refine(image, plain(image))
        assert torch.allclose(guided(image), expected)
        assert torch.allclose(guided.segment_list([image[0]])[0], expected[0])
    with pytest.raises(OptionError, match="refine must be one of"):
        get_segmenter("selfie", refine="sharp")
