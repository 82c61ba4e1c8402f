from __future__ import annotations

import numpy as np
import pytest

from dof_io import MaskFormatError, mask_iou


def test_iou_hand_computed() -> None:
    pred = np.zeros((4, 4), np.float32)
    target = np.zeros((4, 4), np.float32)
    pred[0:2, 0:2] = 1.0  # 4 pixels
    target[0:2, 1:3] = 1.0  # 4 pixels, 2 shared
    assert mask_iou(pred, target) == pytest.approx(2 / 6)


def test_ignore_region_removes_pixels_from_both() -> None:
    pred = np.zeros((4, 4), bool)
    target = np.zeros((4, 4), bool)
    pred[0, :] = True
    target[0, :2] = True
    crowd = np.zeros((4, 4), np.uint8)
    crowd[0, 2:] = 255
    assert mask_iou(pred, target) == pytest.approx(0.5)
    assert mask_iou(pred, target, ignore=crowd) == pytest.approx(1.0)


def test_empty_masks_agree() -> None:
    assert mask_iou(np.zeros((3, 3)), np.zeros((3, 3))) == 1.0


def test_size_mismatch_says_how_to_fix() -> None:
    with pytest.raises(MaskFormatError, match="resize the prediction"):
        mask_iou(np.zeros((3, 3)), np.zeros((4, 4)))
