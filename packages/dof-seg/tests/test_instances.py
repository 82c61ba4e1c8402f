"""People as instances: label maps, selecting people, which person a click points at."""

from __future__ import annotations

import pytest
import torch

from dof_seg import (
    OptionError,
    ShapeError,
    fill_labels,
    keep_main_subject,
    label_people,
    person_at,
    select_people,
)


def two_people() -> torch.Tensor:
    """(1, 1, 40, 60): a big person on the left, a small one on the right, soft fringes."""
    mask = torch.zeros(1, 1, 40, 60)
    mask[..., 5:38, 2:22] = 1.0  # 660 px
    mask[..., 16:26, 40:48] = 0.9  # 80 px
    mask[..., 5:38, 22] = 0.3  # fringe of the big one
    mask[..., 16:26, 48] = 0.3  # fringe of the small one
    return mask


def test_people_are_numbered_largest_first_and_own_their_fringe():
    labels = label_people(two_people())
    assert labels.shape == (1, 1, 40, 60) and labels.dtype == torch.int64
    assert labels[0, 0, 20, 10] == 1 and labels[0, 0, 20, 44] == 2
    assert labels[0, 0, 20, 22] == 1 and labels[0, 0, 20, 48] == 2  # the fringes
    assert set(labels.unique().tolist()) == {1, 2}  # every pixel has an owner


def test_select_people_keeps_exactly_the_chosen_ones():
    mask = two_people()
    labels = label_people(mask)
    small = select_people(mask, labels, {2})
    assert small[..., :, :30].sum() == 0
    assert torch.equal(small[..., :, 30:], mask[..., :, 30:])
    assert torch.equal(select_people(mask, labels, {1, 2}), mask)
    assert select_people(mask, labels, []).sum() == 0
    # the same rule as keep_main_subject: person 1 is the largest region
    assert torch.equal(select_people(mask, labels, {1}), keep_main_subject(mask, "largest"))


def test_small_regions_join_the_nearest_person():
    mask = two_people()
    mask[..., 2:4, 50:52] = 1.0  # a 4 px speck near the small person
    labels = label_people(mask, min_area=10)
    assert set(labels.unique().tolist()) == {1, 2}
    assert labels[0, 0, 3, 50] == 2
    assert len(label_people(mask).unique()) == 3  # without min_area it is a person of its own


def test_no_person_gives_zeros_and_batches_are_independent():
    masks = torch.cat([torch.zeros(1, 1, 40, 60), two_people()])
    labels = label_people(masks)
    assert labels[0].sum() == 0
    assert torch.equal(labels[1:], label_people(two_people()))


def test_person_at_points_at_the_right_person():
    mask = two_people()
    labels = label_people(mask)
    assert person_at(mask, labels, 20, 10) == 1
    assert person_at(mask, labels, 20, 44) == 2
    assert person_at(mask, labels, 20, 30) == 0  # between them: nobody
    assert person_at(mask, labels, 20, 51, reach=3) == 2  # near the small one
    assert person_at(mask, labels, 20, 51, reach=0) == 0


def test_bad_input_messages():
    mask = two_people()
    with pytest.raises(ShapeError, match="outside the 60x40 image"):
        person_at(mask, label_people(mask), 40, 0)
    with pytest.raises(ShapeError, match="make it with label_people"):
        select_people(mask, mask, {1})
    with pytest.raises(OptionError, match=r"threshold must be in \(0, 1\)"):
        label_people(mask, threshold=1.5)  # the rule of threshold_masks: one error type
    with pytest.raises(OptionError, match="min_area"):
        label_people(mask, min_area=-1)


def test_fill_labels_completes_a_detectors_map_like_label_people():
    """A detector that labels only where its mask is >= 0.5 gets the fringes filled in."""
    mask = two_people()
    core_only = torch.where(mask >= 0.5, label_people(mask), torch.zeros((), dtype=torch.int64))
    assert (core_only == 0).any()
    assert torch.equal(fill_labels(core_only), label_people(mask))
    assert torch.equal(
        fill_labels(torch.zeros(1, 1, 4, 4, dtype=torch.int64)).sum(), torch.tensor(0)
    )
    with pytest.raises(ShapeError, match="integer"):
        fill_labels(mask)
