"""Threshold, keep the main subject, fill holes: on hand-drawn masks with known answers."""

from __future__ import annotations

import pytest
import torch

from dof_seg import (
    OptionError,
    PostProcess,
    PostProcessConfig,
    ShapeError,
    fill_holes,
    keep_main_subject,
    postprocess,
    threshold_masks,
)


def two_people() -> torch.Tensor:
    """(1, 1, 40, 60): a big person on the left, a small one at the centre, soft edges."""
    mask = torch.zeros(1, 1, 40, 60)
    mask[..., 5:38, 2:22] = 1.0  # 33 x 20 = 660 px, far from the centre
    mask[..., 16:26, 27:35] = 0.9  # 10 x 8 = 80 px, covering the centre (20, 30)
    mask[..., 5:38, 22] = 0.3  # soft fringe right of the big one
    mask[..., 16:26, 35] = 0.3  # soft fringe right of the small one
    return mask


def test_threshold():
    masks = torch.tensor([[[[0.2, 0.5, 0.7]]]])
    assert threshold_masks(masks, 0.5).tolist() == [[[[0.0, 1.0, 1.0]]]]
    assert threshold_masks(masks, 0.6).dtype == masks.dtype


def test_keep_largest_drops_the_small_person_and_its_fringe():
    kept = keep_main_subject(two_people(), "largest")
    assert kept[..., 16:26, 27:36].sum() == 0
    assert torch.equal(kept[..., :, :23], two_people()[..., :, :23])  # the big one, fringe too


def test_keep_center_picks_the_person_nearest_the_centre():
    kept = keep_main_subject(two_people(), "center", min_fraction=0.1)
    assert kept[..., 5:38, 2:23].sum() == 0
    assert torch.equal(kept[..., 16:26, 27:36], two_people()[..., 16:26, 27:36])


def test_keep_center_ignores_stray_blobs():
    """A blob smaller than min_fraction of the largest region cannot win by being central."""
    mask = two_people()
    mask[..., 16:26, 27:36] = 0
    mask[..., 19:21, 29:31] = 1.0  # 4 px at the centre
    kept = keep_main_subject(mask, "center", min_fraction=0.1)
    assert kept[..., 19:21, 29:31].sum() == 0
    assert kept[..., 5:38, 2:22].sum() == 660


def test_keep_all_and_single_region_are_unchanged():
    mask = two_people()
    assert keep_main_subject(mask, "all") is mask
    single = torch.zeros(2, 1, 10, 10)
    single[0, :, 2:5, 2:5] = 0.8
    assert torch.equal(keep_main_subject(single, "largest"), single)


def test_fill_holes_fills_small_enclosed_holes_only():
    mask = torch.zeros(1, 1, 30, 30)
    mask[..., 5:25, 5:25] = 1.0
    mask[..., 10:12, 10:12] = 0.0  # 4 px hole
    mask[..., 14:22, 14:22] = 0.0  # 64 px hole
    mask[..., 0:3, 0:3] = 0.0  # background touching the border is never a hole
    filled = fill_holes(mask, max_area=10)
    assert filled[..., 10:12, 10:12].min() == 1
    assert filled[..., 14:22, 14:22].max() == 0
    assert filled[..., 0:3, 0:3].max() == 0
    assert fill_holes(mask, max_area=float("inf"))[..., 14:22, 14:22].min() == 1
    assert fill_holes(mask, max_area=64 / 900)[..., 14:22, 14:22].min() == 1  # as a fraction
    assert torch.equal(fill_holes(mask, max_area=0), mask)


def test_postprocess_pipeline_and_module_agree():
    config = PostProcessConfig(threshold=0.5, keep="largest", fill_holes=0.01)
    masks = two_people().repeat(2, 1, 1, 1)
    by_function = postprocess(masks, config)
    assert torch.equal(PostProcess(config)(masks), by_function)
    assert set(by_function.unique().tolist()) == {0.0, 1.0}
    assert by_function[..., 16:26, 27:36].sum() == 0
    assert PostProcessConfig().is_identity
    assert torch.equal(postprocess(masks), masks)


def test_keeps_device_and_dtype():
    masks = two_people().double()
    assert keep_main_subject(masks).dtype == torch.float64
    assert fill_holes(masks).dtype == torch.float64


@pytest.mark.parametrize(
    ("call", "message", "error"),
    [
        (lambda: threshold_masks(torch.zeros(1, 10, 10)), r"masks\[:, None\]", ShapeError),
        (
            lambda: threshold_masks(torch.zeros(1, 1, 4, 4), 1.5),
            "threshold must be in",
            OptionError,
        ),
        (
            lambda: keep_main_subject(torch.zeros(1, 1, 4, 4), "biggest"),
            "largest, center",
            OptionError,
        ),
        (lambda: fill_holes(torch.zeros(1, 1, 4, 4), -1), "max_area must be >= 0", OptionError),
        (lambda: threshold_masks(torch.zeros(1, 1, 4, 4, dtype=torch.uint8)), "float", ShapeError),
        (lambda: PostProcessConfig(keep="nearest"), "keep must be one of", OptionError),
    ],
)
def test_bad_input_messages(call, message, error):
    with pytest.raises(error, match=message):
        call()


@pytest.mark.cuda
def test_cuda_round_trip():
    masks = two_people().cuda()
    out = postprocess(masks, PostProcessConfig(threshold=0.5, keep="largest", fill_holes=0.01))
    assert out.device.type == "cuda"
    assert out[..., 16:26, 27:36].sum() == 0


def touching_people() -> tuple[torch.Tensor, torch.Tensor]:
    """(1, 1, 40, 60) mask of two people who touch (one connected region), and the detector's
    label map: person 1 (left, 30 x 20 = 600 px) and person 2 (right, at the centre, 300 px)."""
    mask = torch.zeros(1, 1, 40, 60)
    mask[..., 5:35, 5:25] = 1.0
    mask[..., 5:35, 25:35] = 0.8
    mask[..., 5:35, 35] = 0.3  # person 2's soft fringe
    people = torch.zeros(1, 1, 40, 60, dtype=torch.int64)
    people[..., 5:35, 5:25] = 1
    people[..., 5:35, 25:35] = 2
    return mask, people


def test_detected_people_are_kept_apart_where_regions_touch():
    mask, people = touching_people()
    assert torch.equal(keep_main_subject(mask, "largest"), mask)  # one blob: nothing to drop
    largest = keep_main_subject(mask, "largest", people=people)
    assert torch.equal(largest[..., :25], mask[..., :25])
    assert float(largest[..., 25:].max()) == 0  # person 2 and their fringe are gone
    center = keep_main_subject(mask, "center", people=people)
    assert float(center[..., :25].max()) == 0
    assert torch.equal(center[..., 25:], mask[..., 25:])  # fringe kept with person 2


def test_a_detected_person_in_pieces_stays_whole():
    """Person 1 is two pieces of 300 px (body and an arm apart from it), person 2 one piece of
    400 px: by regions the largest is person 2; by detected people, person 1 (600 px)."""
    mask = torch.zeros(1, 1, 40, 60)
    mask[..., 0:30, 0:10] = 1.0
    mask[..., 0:30, 12:22] = 1.0
    mask[..., 0:20, 40:60] = 1.0
    people = (mask > 0).long()
    people[..., 40:] *= 2
    by_region = keep_main_subject(mask, "largest")
    assert float(by_region[..., :30].max()) == 0
    by_person = keep_main_subject(mask, "largest", people=people)
    assert torch.equal(by_person[..., :30], mask[..., :30])
    assert float(by_person[..., 30:].max()) == 0
    # the same through postprocess; an image nobody was detected in keeps its mask
    config = PostProcessConfig(keep="largest")
    assert torch.equal(postprocess(mask, config, people=people), by_person)
    assert torch.equal(keep_main_subject(mask, people=torch.zeros_like(people)), mask)


def test_people_must_be_a_label_map_like_the_masks():
    mask, people = touching_people()
    with pytest.raises(ShapeError, match="integer label map"):
        keep_main_subject(mask, people=people.float())
    with pytest.raises(ShapeError, match="integer label map"):
        keep_main_subject(mask, people=people[..., :30])
