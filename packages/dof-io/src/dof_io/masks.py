"""Mask arithmetic shared by dof-seg (``dof seg eval``) and dof-eval (segmentation IoU).

One implementation, so the two packages can never disagree on what IoU means.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from dof_io.errors import MaskFormatError


def binarize(mask: npt.ArrayLike, threshold: float = 0.5) -> npt.NDArray[np.bool_]:
    """Soft mask in [0, 1] (or uint8 in [0, 255]) -> bool mask, ``True`` where >= threshold."""
    array = np.asarray(mask)
    if array.dtype == np.bool_:
        return array
    if array.dtype == np.uint8:
        return np.asarray(array >= round(threshold * 255))
    return np.asarray(array >= threshold)


def mask_iou(
    pred: npt.ArrayLike,
    target: npt.ArrayLike,
    ignore: npt.ArrayLike | None = None,
    *,
    threshold: float = 0.5,
) -> float:
    """Intersection over union of two person masks.

    Args:
        pred: predicted mask, (H, W), soft in [0, 1], uint8 or bool.
        target: ground-truth mask of the same size.
        ignore: optional (H, W) mask of pixels that do not count (COCO crowd regions).
        threshold: where soft masks are cut.

    Returns:
        IoU in [0, 1]; 1.0 when both masks are empty outside ``ignore`` (nothing to find, nothing
        found).

    Raises:
        MaskFormatError: when the sizes differ.
    """
    p, t = binarize(pred, threshold), binarize(target, threshold)
    if p.shape != t.shape or p.ndim != 2:
        raise MaskFormatError(
            f"pred {p.shape} and target {t.shape} must be the same (H, W): resize the prediction "
            "to the ground truth's size first"
        )
    if ignore is not None:
        keep = ~binarize(ignore, threshold)
        if keep.shape != p.shape:
            raise MaskFormatError(f"ignore {keep.shape} must match the masks {p.shape}")
        p, t = p & keep, t & keep
    union = int(np.count_nonzero(p | t))
    if union == 0:
        return 1.0
    return int(np.count_nonzero(p & t)) / union
