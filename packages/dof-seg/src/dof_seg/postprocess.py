"""Mask post-processing: threshold or keep soft, keep the main subject, fill small holes.

The paper's failure case is a second person far behind the subject who stays sharp because the
segmenter found them too; :func:`keep_main_subject` keeps one person region (the largest, or the
one nearest the image centre) and drops the rest. Connected components are computed on the CPU
with ``scipy.ndimage`` (8-connectivity); results come back on the input's device and dtype.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, cast

import numpy as np
import numpy.typing as npt
import torch
from scipy import ndimage
from torch import Tensor, nn

from dof_io.check import check_image
from dof_seg.errors import OptionError, ShapeError

KeepMode = Literal["all", "largest", "center"]
KEEP_MODES: tuple[str, ...] = ("all", "largest", "center")
_EIGHT = np.ones((3, 3), dtype=bool)


def check_masks(masks: Tensor, what: str = "masks") -> None:
    """Raise :class:`ShapeError` unless ``masks`` is (B, 1, H, W) floating point."""
    check_image(masks, what, channels=1, kind=Tensor, error=ShapeError)


def check_images(images: Tensor, what: str = "images") -> None:
    """Raise :class:`ShapeError` unless ``images`` is (B, 3, H, W) floating point.

    The value range [0, 1] is documented, not checked: checking would cost a device sync.
    """
    check_image(images, what, kind=Tensor, error=ShapeError)


def check_threshold(threshold: float) -> None:
    """Raise :class:`OptionError` unless ``threshold`` lies in (0, 1): the one rule of every
    mask threshold (:func:`threshold_masks`, :func:`~dof_seg.label_people`)."""
    if not 0.0 < threshold < 1.0:
        raise OptionError(f"threshold must be in (0, 1); got {threshold}")


def threshold_masks(masks: Tensor, threshold: float = 0.5) -> Tensor:
    """Hard masks: 1 where ``masks >= threshold``, else 0.

    Args:
        masks: (B, 1, H, W) float in [0, 1].
        threshold: in (0, 1).

    Returns:
        (B, 1, H, W), same dtype and device, values 0 or 1.
    """
    check_masks(masks)
    check_threshold(threshold)
    return (masks >= threshold).to(masks.dtype)


def _main_label(labels: npt.NDArray[np.int32], count: int, mode: str, min_fraction: float) -> int:
    areas = np.bincount(labels.ravel(), minlength=count + 1)[1:]  # component areas, label 1..n
    if mode == "largest":
        return int(np.argmax(areas)) + 1
    candidates = np.flatnonzero(areas >= min_fraction * areas.max()) + 1
    h, w = labels.shape
    ys, xs = np.nonzero(np.isin(labels, candidates))
    distance = np.hypot(ys + 0.5 - h / 2, xs + 0.5 - w / 2)
    nearest = np.full(count + 1, np.inf)
    np.minimum.at(nearest, labels[ys, xs], distance)
    best = candidates[np.argmin(nearest[candidates])]
    return int(best)


def _keep_one(
    mask: npt.NDArray[np.float32], threshold: float, mode: str, min_fraction: float
) -> npt.NDArray[np.float32]:
    binary = mask >= threshold
    labels, count = ndimage.label(binary, structure=_EIGHT)
    if count <= 1:
        return mask
    main = _main_label(labels, count, mode, min_fraction)
    # every pixel belongs to its nearest component, so the main one keeps its soft fringe
    return np.where(nearest_owner(labels) == main, mask, 0.0).astype(np.float32)


def nearest_owner(labels: npt.NDArray[np.int32]) -> npt.NDArray[np.int32]:
    """Give every pixel the label of the nearest labelled pixel (Euclidean distance).

    Args:
        labels: (H, W) int, 0 = unlabelled, > 0 = a region; at least one pixel labelled.

    Returns:
        (H, W) int32 without zeros.
    """
    _, (iy, ix) = ndimage.distance_transform_edt(labels == 0, return_indices=True)
    owner: npt.NDArray[np.int32] = labels[iy, ix].astype(np.int32)
    return owner


def _keep_person(
    mask: npt.NDArray[np.float32],
    people: npt.NDArray[np.int64],
    threshold: float,
    mode: str,
    min_fraction: float,
) -> npt.NDArray[np.float32]:
    """``_keep_one`` with a detector's people (label k = person k) as the regions."""
    regions = np.where(mask >= threshold, people, 0).astype(np.int32)  # person k's own pixels
    count = int(regions.max())
    if np.count_nonzero(np.bincount(regions.ravel(), minlength=count + 1)[1:]) <= 1:
        return mask  # nobody, or one person: every pixel is theirs
    main = _main_label(regions, count, mode, min_fraction)
    return np.where(nearest_owner(regions) == main, mask, 0.0).astype(np.float32)


def keep_main_subject(
    masks: Tensor,
    mode: KeepMode = "largest",
    *,
    threshold: float = 0.5,
    min_fraction: float = 0.1,
    people: Tensor | None = None,
) -> Tensor:
    """Keep one person per image and zero the others.

    Without ``people``, the persons are the 8-connected components of ``masks >= threshold``;
    with a person detector's label map (``people``, e.g. from
    :meth:`dof_seg.PeopleSegmenter.segment_people`), they are the detected people, so two
    people who touch are still two and a person cut in two by an arm is still one. A person's
    area is their pixels at or above ``threshold``. Soft values are kept: each pixel goes with
    its nearest person, so the main one keeps their soft edge.

    Args:
        masks: (B, 1, H, W) float in [0, 1].
        mode: "largest" (most pixels), "center" (nearest the image centre, among people with
            at least ``min_fraction`` of the largest one's area, so a stray blob cannot win),
            or "all" (no change).
        threshold: in (0, 1), where a mask counts as person.
        min_fraction: see ``mode="center"``; in [0, 1].
        people: optional (B, 1, H, W) integer label map, 0 = nobody, k = person k
            (:mod:`dof_seg.instances`' format); an image without labels keeps its mask.

    Returns:
        (B, 1, H, W), same dtype and device.

    Raises:
        ShapeError: on a bad shape; OptionError: on a bad threshold or mode.
    """
    check_masks(masks)
    check_threshold(threshold)
    if mode not in KEEP_MODES:
        raise OptionError(f"mode must be one of {', '.join(KEEP_MODES)}; got {mode!r}")
    if people is not None and (people.dtype.is_floating_point or people.shape != masks.shape):
        raise ShapeError(
            f"people must be an integer label map shaped like masks {tuple(masks.shape)}; got "
            f"{tuple(people.shape)} {people.dtype}"
        )
    if mode == "all":
        return masks
    arrays = masks.detach().float().cpu().numpy()[:, 0]  # (B, H, W)
    if people is None:
        kept = np.stack([_keep_one(m, threshold, mode, min_fraction) for m in arrays])
    else:
        labels = people.detach().cpu().numpy()[:, 0].astype(np.int64)  # (B, H, W)
        kept = np.stack([
            _keep_person(m, k, threshold, mode, min_fraction)
            for m, k in zip(arrays, labels, strict=True)
        ])  # fmt: skip
    return torch.from_numpy(kept[:, None]).to(device=masks.device, dtype=masks.dtype)


def _area_limit(max_area: float, pixels: int) -> float:
    return max_area * pixels if max_area < 1 else max_area


def fill_holes(masks: Tensor, max_area: float = 0.01, *, threshold: float = 0.5) -> Tensor:
    """Fill holes in the person regions: background pockets enclosed by person pixels.

    Args:
        masks: (B, 1, H, W) float in [0, 1].
        max_area: largest hole to fill: a fraction of the image when below 1, else pixels.
            0 fills nothing; ``float("inf")`` fills every enclosed hole.
        threshold: in (0, 1), where a mask counts as person.

    Returns:
        (B, 1, H, W): the holes set to 1, everything else unchanged; same dtype and device.
    """
    check_masks(masks)
    check_threshold(threshold)
    if max_area < 0:
        raise OptionError(f"max_area must be >= 0; got {max_area}")
    if max_area == 0:
        return masks
    arrays = masks.detach().float().cpu().numpy()[:, 0]
    out = arrays.copy()
    limit = _area_limit(max_area, arrays.shape[1] * arrays.shape[2])
    for index, mask in enumerate(arrays):
        background = mask < threshold
        labels, count = ndimage.label(background)  # 4-connected background
        if count == 0:
            continue
        border = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
        areas = np.bincount(labels.ravel(), minlength=count + 1)
        holes = np.flatnonzero(areas <= limit)
        holes = holes[(holes > 0) & ~np.isin(holes, border)]
        out[index][np.isin(labels, holes)] = 1.0
    return torch.from_numpy(out[:, None]).to(device=masks.device, dtype=masks.dtype)


@dataclass(frozen=True)
class PostProcessConfig:
    """What :func:`postprocess` does, in this order: fill holes, keep main subject, threshold.

    Attributes:
        threshold: None keeps soft masks; a value in (0, 1) makes them hard 0/1.
        keep: "all", "largest" or "center" (see :func:`keep_main_subject`).
        fill_holes: largest hole to fill (fraction of the image below 1, else pixels); 0 = off.
        cut: where a soft mask counts as person for the component steps.
    """

    threshold: float | None = None
    keep: str = "all"
    fill_holes: float = 0.0
    cut: float = 0.5

    def __post_init__(self) -> None:
        if self.threshold is not None:
            check_threshold(self.threshold)
        check_threshold(self.cut)
        if self.keep not in KEEP_MODES:
            raise OptionError(f"keep must be one of {', '.join(KEEP_MODES)}; got {self.keep!r}")
        if self.fill_holes < 0:
            raise OptionError(f"fill_holes must be >= 0; got {self.fill_holes}")

    @property
    def is_identity(self) -> bool:
        return self.threshold is None and self.keep == "all" and self.fill_holes == 0


def postprocess(
    masks: Tensor, config: PostProcessConfig = PostProcessConfig(), *, people: Tensor | None = None
) -> Tensor:
    """Apply a :class:`PostProcessConfig` to (B, 1, H, W) masks in [0, 1]; ``people``, a
    detector's label map, makes the main subject a detected person (:func:`keep_main_subject`)."""
    check_masks(masks)
    if config.fill_holes:
        masks = fill_holes(masks, config.fill_holes, threshold=config.cut)
    if config.keep != "all":
        keep = cast(KeepMode, config.keep)
        masks = keep_main_subject(masks, keep, threshold=config.cut, people=people)
    if config.threshold is not None:
        masks = threshold_masks(masks, config.threshold)
    return masks


class PostProcess(nn.Module):
    """Module form of :func:`postprocess`."""

    def __init__(self, config: PostProcessConfig = PostProcessConfig()) -> None:
        super().__init__()
        self.config = config

    def forward(self, masks: Tensor) -> Tensor:
        return postprocess(masks, self.config)
