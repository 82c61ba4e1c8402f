"""Scoring a render folder: per-image metrics, their means, IoU and realism, as JSON and CSV.

Everything here reads files written by :func:`dof_eval.render_columns` (or laid out the same
way), so a report can be recomputed without running any model again.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dof_eval.defocus import defocus_ratio, focus_ratio
from dof_eval.errors import DofEvalError
from dof_eval.halo import halo_leakage
from dof_eval.photos import EvalPhoto, fit_size, image_size, read_image, read_mask_tensor
from dof_eval.realism import FeatureExtractor, extract_features, fid, kid
from dof_eval.render import RenderSet
from dof_eval.subject import subject_preservation
from dof_io import atomic_write_text, mask_iou, read_mask

#: Metric name -> (definition, which direction is better).
DEFINITIONS: dict[str, tuple[str, str]] = {
    "subject_psnr": (
        "PSNR (dB) between input and output inside the person mask eroded by 3 px",
        "higher",
    ),
    "subject_ssim": (
        "mean SSIM (11x11 Gaussian, sigma 1.5) inside the person mask eroded by 3 px",
        "higher",
    ),
    "defocus_ratio": (
        "variance of the Laplacian of the luma in the background (outside the mask "
        "dilated by 8 px), output / input; 1 = unchanged",
        "lower",
    ),
    "focus_ratio": (
        "variance of the Laplacian in the background / in the eroded subject, in the "
        "output alone (comparable with real shallow-DoF photos)",
        "lower",
    ),
    "halo": (
        "fraction of the subject's colour mixed into the 4-px band 1 px outside the outline "
        "(least-squares fit of output - input on local subject - background colour)",
        "closer to 0",
    ),
    "fid": (
        "Fréchet distance between feature Gaussians of outputs and real domain-B photos",
        "lower",
    ),
    "kid": (
        "unbiased MMD² (cubic polynomial kernel) between features of outputs and real "
        "domain-B photos, mean over subsets",
        "lower",
    ),
    "iou": (
        "intersection over union of the segmenter's mask (>= 0.5) and the ground truth, "
        "crowd regions ignored (dof_io.mask_iou)",
        "higher",
    ),
}
IMAGE_METRICS = ("subject_psnr", "subject_ssim", "defocus_ratio", "focus_ratio", "halo")


@dataclass
class Metrics:
    """All numbers of one evaluation.

    Attributes:
        per_image: column label -> photo name -> metric -> value.
        realism: column label -> {"fid", "kid", "kid_std", "n"}; plus the extractor's name in
            ``notes["realism"]``.
        segmentation: segmenter label -> photo name -> IoU.
        reference: statistics of real shallow-DoF photos (e.g. ``focus_ratio``).
        notes: why something was not measured, what was used.
    """

    per_image: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    realism: dict[str, dict[str, float]] = field(default_factory=dict)
    segmentation: dict[str, dict[str, float]] = field(default_factory=dict)
    reference: dict[str, float] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)

    def means(self) -> dict[str, dict[str, float]]:
        """column -> metric -> mean over photos (NaNs left out; +inf kept)."""
        out: dict[str, dict[str, float]] = {}
        for column, rows in self.per_image.items():
            out[column] = {}
            for metric in IMAGE_METRICS:
                values = np.array([r[metric] for r in rows.values() if metric in r], float)
                values = values[~np.isnan(values)]
                out[column][metric] = float(values.mean()) if values.size else math.nan
            out[column].update(self.realism.get(column, {}))
        return out

    def iou_means(self) -> dict[str, float]:
        return {
            k: float(np.mean(list(v.values()))) if v else math.nan
            for k, v in self.segmentation.items()
        }


def score_renders(renders: RenderSet, columns: Sequence[str] | None = None) -> Metrics:
    """Per-image subject PSNR/SSIM, defocus ratio, focus ratio and halo of every column.

    Args:
        renders: a render folder (:class:`RenderSet`).
        columns: which column labels to score (default: all but the pictures, plus ``input``
            as the reference).

    Returns:
        :class:`Metrics` with ``per_image`` and ``segmentation`` filled in.
    """
    if columns is None:
        columns = [c for c in renders.columns if c not in renders.pictures]
    chosen = {c: renders.columns[c] for c in columns}
    metrics = Metrics()
    labels = {"input": "input", **chosen}
    for name in renders.names:
        image = read_image(renders.path("input", name))
        mask = read_mask_tensor(renders.path("mask", name))
        for label, folder in labels.items():
            output = read_image(renders.path(folder, name))
            psnr, ssim = subject_preservation(image, output, mask)
            metrics.per_image.setdefault(label, {})[name] = {
                "subject_psnr": float(psnr[0]),
                "subject_ssim": float(ssim[0]),
                "defocus_ratio": float(defocus_ratio(image, output, mask)[0]),
                "focus_ratio": float(focus_ratio(output, mask)[0]),
                "halo": float(halo_leakage(image, output, mask)[0]),
            }
    metrics.segmentation = score_segmenters(renders)
    return metrics


def score_segmenters(renders: RenderSet) -> dict[str, dict[str, float]]:
    """IoU of each segmenter's masks against the render folder's masks (crowd ignored)."""
    out: dict[str, dict[str, float]] = {}
    for label, folder in renders.segmenters.items():
        scores = {}
        for name in renders.names:
            ignore_path = renders.path("ignore", name)
            ignore = read_mask(ignore_path) if ignore_path.is_file() else None
            scores[name] = mask_iou(
                read_mask(renders.path(folder, name)), read_mask(renders.path("mask", name)), ignore
            )
        out[label] = scores
    return out


def score_realism(
    renders: RenderSet,
    real_images: Sequence[Path],
    extractor: FeatureExtractor,
    *,
    device: str | torch.device = "cpu",
    kid_subsets: int = 50,
) -> dict[str, dict[str, float]]:
    """FID and KID of every column but the pictures (and of the inputs) against real domain-B
    photos.

    Raises:
        NotEnoughSamplesError: with fewer than 2 photos on either side.
    """
    real = extract_features(real_images, extractor, device=device)
    out: dict[str, dict[str, float]] = {}
    scored = {c: f for c, f in renders.columns.items() if c not in renders.pictures}
    for label, folder in {"input": "input", **scored}.items():
        fake = extract_features(
            [renders.path(folder, n) for n in renders.names], extractor, device=device
        )
        mean, std = kid(fake, real, subsets=kid_subsets)
        out[label] = {"fid": fid(fake, real), "kid": mean, "kid_std": std, "n": float(len(fake))}
    return out


def reference_focus_ratio(photos: Sequence[EvalPhoto], size: int | None = 256) -> dict[str, float]:
    """Mean and count of :func:`focus_ratio` over real shallow-DoF photos that have masks."""
    values = []
    for photo in photos:
        if photo.mask is None:
            continue
        shape = fit_size(*image_size(photo.image), size)
        ratio = focus_ratio(read_image(photo.image, shape), read_mask_tensor(photo.mask, shape))
        if not math.isnan(float(ratio[0])):
            values.append(float(ratio[0]))
    if not values:
        raise DofEvalError("no real shallow-DoF photo with a person mask to measure")
    return {"focus_ratio": float(np.mean(values)), "focus_ratio_n": float(len(values))}


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    return value


def metrics_to_json(metrics: Metrics, **extra: Any) -> str:
    """JSON text: means, per-image values, realism, IoU, definitions (NaN and inf -> null)."""
    data = {
        **extra,
        "definitions": {k: {"definition": d, "better": b} for k, (d, b) in DEFINITIONS.items()},
        "means": metrics.means(),
        "per_image": metrics.per_image,
        "realism": metrics.realism,
        "segmentation": {"mean_iou": metrics.iou_means(), "per_image": metrics.segmentation},
        "reference": metrics.reference,
        "notes": metrics.notes,
    }
    return json.dumps(_clean(data), indent=2, ensure_ascii=False) + "\n"


def metrics_to_csv(metrics: Metrics) -> str:
    """CSV text: one row per (method, photo) and a ``mean`` row per method (nan/inf as text)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["method", "photo", *IMAGE_METRICS, "fid", "kid", "iou"])
    means = metrics.means()
    for column, rows in metrics.per_image.items():
        for name, values in rows.items():
            writer.writerow(
                [column, name, *(f"{values[m]:.6g}" for m in IMAGE_METRICS), "", "", ""]
            )
        mean = means[column]
        realism = [f"{mean[k]:.6g}" if k in mean else "" for k in ("fid", "kid")]
        writer.writerow([column, "mean", *(f"{mean[m]:.6g}" for m in IMAGE_METRICS), *realism, ""])
    for label, ious in metrics.segmentation.items():
        for name, iou in ious.items():
            blanks = [""] * (len(IMAGE_METRICS) + 2)
            writer.writerow([f"segmenter:{label}", name, *blanks, f"{iou:.6g}"])
    return buffer.getvalue()


def write_metrics(metrics: Metrics, out_dir: str | Path, **extra: Any) -> tuple[Path, Path]:
    """Write ``metrics.json`` and ``metrics.csv`` atomically; returns both paths."""
    out_dir = Path(out_dir)
    json_path, csv_path = out_dir / "metrics.json", out_dir / "metrics.csv"
    atomic_write_text(json_path, metrics_to_json(metrics, **extra))
    atomic_write_text(csv_path, metrics_to_csv(metrics))
    return json_path, csv_path
