"""uint8 photos <-> float tensors: the one conversion every torch package uses.

Needs torch (``pip install dof-io[torch]``); dof-io itself does not import this module.
Photos on disk are (H, W, 3) uint8 numpy arrays (:func:`dof_io.read_rgb`); the networks and
filters take (B, C, H, W) float tensors in [0, 1]. Rounding back is ``round`` then clamp, so a
photo survives ``tensor_to_image(image_to_tensor(rgb))`` unchanged.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import torch
from torch import Tensor

from dof_io.errors import ShapeError
from dof_io.outputs import PHOTO_FAULTS as FILE_PHOTO_FAULTS

#: :data:`dof_io.PHOTO_FAULTS` for work that runs torch: a device that ran out of memory on the
#: photo is the photo's fault too (too large for it; the next photo may fit). Other device
#: errors (a sticky CUDA error) are not, and stop the job.
PHOTO_FAULTS: tuple[type[BaseException], ...] = (*FILE_PHOTO_FAULTS, torch.OutOfMemoryError)


def image_to_tensor(
    rgb: npt.ArrayLike,
    *,
    device: str | torch.device | None = None,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """(H, W, 3) uint8 photo -> (1, 3, H, W) float tensor in [0, 1] on ``device``.

    The uint8 pixels travel to the device first (a quarter of the bytes), then become float.

    Raises:
        ShapeError: when ``rgb`` is not (H, W, 3) uint8.
    """
    array = np.asarray(rgb)
    if array.ndim != 3 or array.shape[-1] != 3 or array.dtype != np.uint8:
        raise ShapeError(
            f"rgb must be (H, W, 3) uint8; got {array.shape} {array.dtype}: read it with "
            "dof_io.read_rgb"
        )
    if not array.flags.writeable or not array.flags.c_contiguous:
        array = np.array(array)  # torch wants its own writable, contiguous copy
    pixels = torch.from_numpy(array).to(device, non_blocking=True)  # (H, W, 3) uint8
    return pixels.permute(2, 0, 1)[None].to(dtype).div_(255)  # (1, 3, H, W)


def mask_to_tensor(mask: npt.ArrayLike, *, device: str | torch.device | None = None) -> Tensor:
    """(H, W) float mask in [0, 1] (:func:`dof_io.read_mask`) -> (1, 1, H, W) float32 tensor."""
    array = np.asarray(mask, dtype=np.float32)
    if array.ndim != 2:
        raise ShapeError(f"mask must be (H, W); got {array.shape}: read it with dof_io.read_mask")
    return torch.from_numpy(np.ascontiguousarray(array))[None, None].to(device)


def tensor_to_image(image: Tensor) -> npt.NDArray[np.uint8]:
    """(1, C, H, W) or (C, H, W) float tensor in [0, 1], C = 3 or 1 -> (H, W, C) uint8 array.

    Values are rounded to the nearest step and clamped to [0, 255].

    Raises:
        ShapeError: for another layout.
    """
    if image.ndim == 4 and image.shape[0] == 1:
        image = image[0]
    if image.ndim != 3 or image.shape[0] not in (1, 3):
        raise ShapeError(
            f"image must be (1, C, H, W) or (C, H, W) with C = 3 or 1; got {tuple(image.shape)}"
            ": convert one image at a time"
        )
    pixels = image.detach().float().mul(255).round_().clamp_(0, 255).to(torch.uint8)
    return pixels.permute(1, 2, 0).cpu().numpy()
