"""How much of a photo a person covers: what `dof data filter --person` keeps photos by."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import torch
from PIL import Image

from dof_io.tensors import image_to_tensor
from dof_seg.base import Segmenter


@torch.inference_mode()
def person_fraction(
    segmenter: Segmenter, rgb: npt.NDArray[np.uint8], *, max_side: int = 512
) -> float:
    """The fraction of ``rgb`` that ``segmenter`` calls person (mask > 0.5).

    Args:
        segmenter: any dof-seg backend.
        rgb: (H, W, 3) uint8 photo (:func:`dof_io.read_rgb`).
        max_side: the photo is shrunk to fit this first (enough to find a person, and quick).

    Returns:
        A float in [0, 1].
    """
    image = Image.fromarray(rgb)
    image.thumbnail((max_side, max_side))
    x = image_to_tensor(np.asarray(image), device=segmenter.device)
    mask = segmenter(x)  # (1, 1, h, w)
    return float((mask > 0.5).float().mean())
