"""The shared boundary checks: what they accept, and the fix each message gives."""

from __future__ import annotations

import numpy as np
import pytest

from dof_io import ShapeError
from dof_io.check import check_image, check_mask, check_same_shape, check_shape


class PackageShapeError(ShapeError):
    """Stands for dof_seg.ShapeError and its kin: each package passes its own class."""


@pytest.mark.parametrize(
    ("shape", "fix"),
    [
        ((3, 8, 8), r"got \(3, 8, 8\): add a batch axis with x\[None\]"),
        ((8, 8, 3), r"channels go first: use x\.permute\(2, 0, 1\)\[None\]"),
        ((1, 8, 8, 3), r"channels go first: use x\.permute\(0, 3, 1, 2\)"),
        ((1, 4, 8, 8), r"drop alpha with x\[:, :3\]"),
        ((8, 8), r"add batch and channel axes with x\[None, None\]"),
    ],
)
def test_wrong_layouts_say_how_to_fix_them(shape: tuple[int, ...], fix: str) -> None:
    with pytest.raises(PackageShapeError, match=fix):
        check_image(np.zeros(shape, np.float32), "x", error=PackageShapeError)


def test_integer_images_and_masks_of_another_size() -> None:
    with pytest.raises(ShapeError, match=r"float in \[0, 1\]; got uint8: divide uint8"):
        check_image(np.zeros((1, 3, 4, 4), np.uint8), "image")
    image = np.zeros((2, 3, 8, 6), np.float32)
    check_image(image, "image")
    check_mask(np.zeros((2, 1, 8, 6)), "mask", image)
    check_mask(np.zeros((1, 1, 8, 6)), "mask", image)  # one mask for the batch
    with pytest.raises(ShapeError, match=r"must be \(2, 1, 8, 6\).*resize it to 8x6"):
        check_mask(np.zeros((1, 1, 8, 6)), "mask", image, broadcast=False)
    with pytest.raises(ShapeError, match=r"add a channel axis with mask\[:, None\]"):
        check_mask(np.zeros((2, 8, 6)), "mask", image)
    with pytest.raises(ShapeError, match="resize the output to the image's size"):
        check_same_shape(image, "image", image[:, :, :4], "output")
    with pytest.raises(ShapeError, match=r"must be a tensor \(B, 3, H, W\); got list"):
        check_shape([1, 2], "B 3 H W", "x")
