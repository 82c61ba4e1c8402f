"""`precomputed`: masks read from disk by the photo's stem."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from dof_io import write_rgba
from dof_seg import MaskNotFoundError, ShapeError, get_segmenter


@pytest.fixture
def masks_dir(tmp_path):
    folder = tmp_path / "masks"
    folder.mkdir()
    alpha = np.zeros((20, 30), np.float32)
    alpha[5:15, 10:20] = 1.0
    write_rgba(folder / "rgba.png", np.zeros((20, 30, 3), np.uint8), alpha)  # dof-seg format
    grey = np.zeros((10, 15), np.uint8)
    grey[:, :5] = 255
    Image.fromarray(grey, mode="L").save(folder / "grey_mask.png")  # a plain mask, half size
    return folder


def test_reads_rgba_alpha_and_grey(masks_dir):
    segmenter = get_segmenter("precomputed", masks_dir=masks_dir)
    masks = segmenter(torch.rand(2, 3, 20, 30), names=["rgba", "grey"])
    assert masks.shape == (2, 1, 20, 30)
    assert masks[0, 0, 5:15, 10:20].min() == 1 and masks[0].sum() == 100
    assert masks[1, 0, :, :9].min() > 0.99 and masks[1, 0, :, 11:].max() < 0.01  # resized x2


def test_missing_mask_names_the_photo(masks_dir):
    segmenter = get_segmenter("precomputed", masks_dir=masks_dir)
    with pytest.raises(MaskNotFoundError, match="'nobody'"):
        segmenter(torch.rand(1, 3, 20, 30), names=["nobody"])


def test_needs_names(masks_dir):
    with pytest.raises(ShapeError, match="names="):
        get_segmenter("precomputed", masks_dir=masks_dir)(torch.rand(1, 3, 4, 4))


def test_missing_folder(tmp_path):
    with pytest.raises(MaskNotFoundError, match="nowhere"):
        get_segmenter("precomputed", masks_dir=tmp_path / "nowhere")
