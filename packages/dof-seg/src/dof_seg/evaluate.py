"""Score predicted masks against ground truth: IoU per image and the mean (`dof seg eval`).

Ground truth is a folder of masks ``<id>.png``; ``<id>_crowd.png`` beside one marks COCO crowd
regions, which do not count. Predictions are looked up as ``PRED_DIR/<id>.png`` (the RGBA files
`dof seg` writes, or plain grey masks). IoU is :func:`dof_io.mask_iou`, the one definition the
whole project uses.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from dof_io import DofIOError, atomic_write_text, list_images, mask_iou, read_mask

CROWD_SUFFIX = "_crowd"


@dataclass(frozen=True)
class MaskScore:
    """One image's score."""

    name: str
    iou: float


@dataclass
class EvalResult:
    """Per-image IoU, the photos that could not be scored, and the mean."""

    scores: list[MaskScore] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (name, reason)

    @property
    def mean_iou(self) -> float:
        """Mean IoU over the scored images (NaN when none was scored)."""
        if not self.scores:
            return float("nan")
        return sum(score.iou for score in self.scores) / len(self.scores)

    def subset(self, names: Iterable[str]) -> EvalResult:
        """Only the images whose name is in ``names``."""
        wanted = set(names)
        return EvalResult(
            [s for s in self.scores if s.name in wanted],
            [f for f in self.failed if f[0] in wanted],
        )

    def table(self) -> str:
        """``name<TAB>iou`` per image, then the mean, as text."""
        rows = [f"{score.name}\t{score.iou:.4f}" for score in self.scores]
        return "\n".join([*rows, f"mean IoU\t{self.mean_iou:.4f}\t({len(self.scores)} images)"])

    def to_json(self) -> str:
        payload = {
            "mean_iou": self.mean_iou if self.scores else None,
            "count": len(self.scores),
            "scores": [asdict(score) for score in self.scores],
            "failed": [{"name": n, "reason": r} for n, r in self.failed],
        }
        return json.dumps(payload, indent=2)

    def to_csv(self) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["name", "iou"])
        writer.writerows([score.name, f"{score.iou:.6f}"] for score in self.scores)
        return buffer.getvalue()

    def write(self, path: str | Path) -> Path:
        """Write as .json or .csv (by suffix), atomically."""
        path = Path(path)
        atomic_write_text(path, self.to_csv() if path.suffix.lower() == ".csv" else self.to_json())
        return path


def ground_truth_files(gt_dir: str | Path) -> list[Path]:
    """The ground-truth masks in ``gt_dir`` (crowd masks excluded), sorted."""
    return [p for p in list_images(gt_dir) if not p.stem.endswith(CROWD_SUFFIX)]


def score_one(gt: Path, pred: Path, *, threshold: float = 0.5) -> float:
    """IoU of one prediction against one ground-truth mask, ignoring its crowd mask if any."""
    crowd = gt.with_name(f"{gt.stem}{CROWD_SUFFIX}{gt.suffix}")
    ignore = read_mask(crowd) if crowd.is_file() else None
    return mask_iou(read_mask(pred), read_mask(gt), ignore, threshold=threshold)


def evaluate_masks(
    gt_dir: str | Path, pred_dir: str | Path, *, threshold: float = 0.5
) -> EvalResult:
    """IoU of every prediction in ``pred_dir`` against the ground truth in ``gt_dir``.

    A ground-truth mask without a prediction, or one that cannot be read or differs in size, is
    listed in ``failed`` with the reason (it does not count in the mean).
    """
    pred_dir = Path(pred_dir)
    result = EvalResult()
    for gt in ground_truth_files(gt_dir):
        pred = pred_dir / f"{gt.stem}.png"
        if not pred.is_file():
            result.failed.append((gt.stem, f"no prediction {pred}"))
            continue
        try:
            result.scores.append(MaskScore(gt.stem, score_one(gt, pred, threshold=threshold)))
        except DofIOError as err:
            result.failed.append((gt.stem, str(err)))
    return result


def boundary_f_score(
    pred: npt.NDArray[Any],
    gt: npt.NDArray[Any],
    ignore: npt.NDArray[Any] | None = None,
    *,
    tolerance: float = 3.0,
    threshold: float = 0.5,
) -> float:
    """Boundary F-score (Perazzi et al., DAVIS): how well the outlines agree, within
    ``tolerance`` pixels.

    Outlines are the pixels of a thresholded mask with a 4-neighbour outside it (the frame's
    edge is not an outline). Precision is
    the share of the prediction's outline within ``tolerance`` px of the truth's, recall the
    converse, F their harmonic mean. Outline pixels inside ``ignore`` (COCO crowd) do not count.
    1.0 when neither mask has an outline; 0.0 when only one has.

    Args:
        pred, gt: (H, W) masks in [0, 1] (thresholded at ``threshold``).
        ignore: optional (H, W) mask of regions not to score.
    """
    a, b = np.asarray(pred) >= threshold, np.asarray(gt) >= threshold
    if a.shape != b.shape:
        raise DofIOError(f"prediction {a.shape} and ground truth {b.shape} differ in size")
    keep = np.ones_like(a) if ignore is None else ~(np.asarray(ignore) >= threshold)
    edge_a, edge_b = _outline(a) & keep, _outline(b) & keep
    if not edge_a.any() and not edge_b.any():
        return 1.0
    if not edge_a.any() or not edge_b.any():
        return 0.0
    near_b = ndimage.distance_transform_edt(~edge_b) <= tolerance
    near_a = ndimage.distance_transform_edt(~edge_a) <= tolerance
    precision = float((edge_a & near_b).sum() / edge_a.sum())
    recall = float((edge_b & near_a).sum() / edge_b.sum())
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def _outline(mask: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    # the frame's edge is not an outline: outside the image counts as the same region
    return np.asarray(mask & ~ndimage.binary_erosion(mask, border_value=1))
