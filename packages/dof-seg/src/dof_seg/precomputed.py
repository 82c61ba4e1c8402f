"""`precomputed`: masks that already exist on disk, looked up by the photo's file stem.

For ``<stem>`` it reads the first of ``<stem>.png``, ``<stem>_mask.png``, ``<stem>.jpg`` ... in
the folder, as an RGBA file (alpha = mask, the dof-seg format) or a plain grey mask
(:func:`dof_io.read_mask`). A mask whose size differs from the photo's is resized bilinearly.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from dof_io import read_mask
from dof_seg.base import Segmenter
from dof_seg.errors import MaskNotFoundError, ShapeError

SUFFIXES = (".png", "_mask.png", ".webp", ".tif", ".tiff", ".bmp", ".jpg", ".jpeg")


def find_mask(folder: Path, stem: str) -> Path:
    """The mask file for ``stem`` in ``folder``; raises :class:`MaskNotFoundError`."""
    tried = [f"{stem}{suffix}" for suffix in SUFFIXES]
    for name in tried:
        if (folder / name).is_file():
            return folder / name
    raise MaskNotFoundError(stem, folder, [*tried[:2], "..."])


class PrecomputedSegmenter(Segmenter):
    """Reads existing masks instead of computing them.

    Args:
        masks_dir: folder of masks named after the photos' stems.

    ``forward(images, names)`` needs ``names``: the photos' file stems.
    """

    name = "precomputed"

    def __init__(self, masks_dir: str | Path) -> None:
        super().__init__()
        self.masks_dir = Path(masks_dir)
        if not self.masks_dir.is_dir():
            raise MaskNotFoundError("*", self.masks_dir, ["a folder of masks"])
        self.register_buffer("_anchor", torch.zeros(0), persistent=False)  # follows .to(device)

    def segment(self, images: Tensor, names: Sequence[str] | None) -> Tensor:
        if names is None:
            raise ShapeError(
                "the precomputed segmenter looks masks up by name: call it as "
                "segmenter(images, names=[photo stems])"
            )
        H, W = images.shape[-2:]
        masks = []
        for name in names:
            array = read_mask(find_mask(self.masks_dir, name))
            mask = torch.from_numpy(np.ascontiguousarray(array))[None, None]  # (1, 1, h, w)
            if mask.shape[-2:] != (H, W):
                mask = F.interpolate(mask, size=(H, W), mode="bilinear", align_corners=False)
            masks.append(mask)
        return torch.cat(masks).to(device=images.device, dtype=images.dtype)
