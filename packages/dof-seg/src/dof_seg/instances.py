"""People as instances: which pixels belong to which person.

The exchange format is a label map, (B, 1, H, W) int64: 0 = nobody, k = person k (1..n). Built
here from a mask's 8-connected regions by :func:`label_people`; a person detector can produce
the same map (one label per detection; :func:`fill_labels` gives its unlabelled pixels to the
nearest person), and whatever consumes it (:func:`select_people`, :func:`person_at`, the
studio's click-to-pick) works the same, whatever made the map.

Every pixel goes with the person region nearest to it, so a person keeps the soft fringe of the
mask around them and ``select_people(masks, labels, all labels)`` gives back the mask itself.
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
import numpy.typing as npt
import torch
from scipy import ndimage
from torch import Tensor

from dof_seg.errors import OptionError, ShapeError
from dof_seg.postprocess import check_masks, check_threshold, nearest_owner

_EIGHT = np.ones((3, 3), dtype=bool)


def fill_labels(labels: Tensor) -> Tensor:
    """Give every unlabelled pixel (0) to the nearest person, as :func:`label_people` does.

    For label maps made elsewhere (a detector's, which may label only where its mask is at
    least 0.5), so that :func:`select_people` keeps each person's soft fringe.

    Args:
        labels: (B, 1, H, W) integer, 0 = nobody, k > 0 = person k.

    Returns:
        (B, 1, H, W) int64 on the same device: no zeros, except in images without any label.
    """
    if labels.dtype.is_floating_point or labels.ndim != 4 or labels.shape[1] != 1:
        raise ShapeError(
            f"labels must be an integer (B, 1, H, W) map; got {tuple(labels.shape)} {labels.dtype}"
        )
    arrays = labels.detach().cpu().numpy()[:, 0].astype(np.int32)
    filled = [nearest_owner(a) if a.any() else a for a in arrays]
    return torch.from_numpy(np.stack(filled).astype(np.int64))[:, None].to(labels.device)


def _label_one(mask: npt.NDArray[np.float32], threshold: float, min_pixels: float) -> Tensor:
    regions, count = ndimage.label(mask >= threshold, structure=_EIGHT)
    if count == 0:
        return torch.zeros(mask.shape, dtype=torch.int64)
    areas = np.bincount(regions.ravel(), minlength=count + 1)
    areas[0] = 0  # not a region
    kept = np.flatnonzero(areas >= max(min_pixels, 1))
    if kept.size == 0:  # every region is small: keep the largest
        kept = np.array([int(np.argmax(areas))])
    kept = kept[np.argsort(-areas[kept], kind="stable")]  # person 1 is the largest
    relabel = np.zeros(count + 1, dtype=np.int32)
    relabel[kept] = np.arange(1, kept.size + 1, dtype=np.int32)
    return torch.from_numpy(nearest_owner(relabel[regions]).astype(np.int64))


def label_people(masks: Tensor, *, threshold: float = 0.5, min_area: float = 0.0) -> Tensor:
    """Split person masks into people: one label per region, every pixel to the nearest one.

    Args:
        masks: (B, 1, H, W) float in [0, 1].
        threshold: in (0, 1), where the mask counts as person.
        min_area: regions smaller than this (a fraction of the image below 1, else pixels) are
            not people of their own: their pixels go with the nearest larger region.

    Returns:
        (B, 1, H, W) int64 on the masks' device: people are 1..n, largest first; 0 everywhere
        in an image without any person region.

    Raises:
        ShapeError: on a bad shape.
        OptionError: a threshold outside (0, 1) (:func:`~dof_seg.postprocess.check_threshold`,
            as every mask threshold) or a negative ``min_area``.
    """
    check_masks(masks)
    check_threshold(threshold)
    if min_area < 0:
        raise OptionError(f"min_area must be >= 0; got {min_area}")
    arrays = masks.detach().float().cpu().numpy()[:, 0]  # (B, H, W)
    min_pixels = min_area * arrays.shape[1] * arrays.shape[2] if min_area < 1 else min_area
    labels = torch.stack([_label_one(m, threshold, min_pixels) for m in arrays])
    return labels[:, None].to(masks.device)


def _check_labels(labels: Tensor, masks: Tensor) -> None:
    if labels.dtype.is_floating_point or labels.shape != masks.shape:
        raise ShapeError(
            f"labels must be an integer (B, 1, H, W) map like masks {tuple(masks.shape)}; got "
            f"{tuple(labels.shape)} {labels.dtype}: make it with label_people(masks)"
        )


def select_people(masks: Tensor, labels: Tensor, people: Collection[int]) -> Tensor:
    """The mask of some people only: ``masks`` where ``labels`` is one of ``people``, else 0.

    Args:
        masks: (B, 1, H, W) float in [0, 1].
        labels: (B, 1, H, W) integer label map (:func:`label_people` or a detector's).
        people: labels to keep (the same for every image of the batch); empty keeps nobody.

    Returns:
        (B, 1, H, W), same dtype and device as ``masks``; soft values kept.
    """
    check_masks(masks)
    _check_labels(labels, masks)
    wanted = torch.tensor(sorted(people), dtype=labels.dtype, device=labels.device)
    keep = torch.isin(labels, wanted).to(masks.device)
    return torch.where(keep, masks, torch.zeros((), dtype=masks.dtype, device=masks.device))


def person_at(
    masks: Tensor, labels: Tensor, y: int, x: int, *, reach: int = 0, threshold: float = 0.25
) -> int:
    """Which person a click at pixel (y, x) of the first image points at; 0 for nobody.

    The click counts when the mask reaches ``threshold`` within ``reach`` pixels of it
    (a finger or a mouse is not precise on a thin arm); the person is the owner of the pixel
    with the highest mask value there.

    Args:
        masks: (B, 1, H, W) float in [0, 1]; only the first image is used.
        labels: its label map, (B, 1, H, W) integer.
        y, x: row and column, inside the image.
        reach: half-size of the square searched around the click, in pixels.
        threshold: mask value that counts as a person.

    Raises:
        ShapeError: bad shapes, or a point outside the image.
    """
    check_masks(masks)
    _check_labels(labels, masks)
    h, w = masks.shape[-2:]
    if not (0 <= y < h and 0 <= x < w):
        raise ShapeError(f"point (y={y}, x={x}) is outside the {w}x{h} image")
    top, left = max(0, y - reach), max(0, x - reach)
    window = masks[0, 0, top : y + reach + 1, left : x + reach + 1]
    best = int(torch.argmax(window))
    by, bx = divmod(best, window.shape[1])
    if float(window[by, bx]) < threshold:
        return 0
    return int(labels[0, 0, top + by, left + bx])
