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
