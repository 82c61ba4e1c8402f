"""Scoring methods on the paired benchmark against its known answer.

For every item, a method's output is compared with the ground truth by PSNR and SSIM over the
whole image and over the boundary band (pixels within ``band`` px of the person's outline, on
both sides), where halos, cut-out edges and leaked colours show. Means are over items.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from dof_eval.docblock import write_block
from dof_eval.errors import DatasetError
from dof_eval.ops import binary, boundary_band, check_image, check_mask, check_same, dilate
from dof_eval.paired_build import PairedConfig
from dof_eval.photos import read_image, read_mask_tensor
from dof_eval.render import Renderer, Segmenter
from dof_eval.subject import masked_psnr, masked_ssim, subject_region
from dof_io import atomic_write_text

SCORES = ("psnr", "ssim", "psnr_band", "ssim_band", "psnr_subject", "psnr_background")
#: the columns of the default Markdown table
TABLE_SCORES = ("psnr", "ssim", "psnr_band", "ssim_band")
_HEADERS = {
    "psnr": "PSNR (dB)",
    "ssim": "SSIM",
    "psnr_band": "PSNR band (dB)",
    "ssim_band": "SSIM band",
    "psnr_subject": "PSNR subject (dB)",
    "psnr_background": "PSNR background (dB)",
}


@dataclass(frozen=True)
class PairedSet:
    """A built paired benchmark (see :func:`dof_eval.build_paired`)."""

    root: Path
    ids: tuple[str, ...]
    info: dict[str, Any]

    @property
    def config(self) -> PairedConfig:
        """How it was built (``dataset.json``'s config)."""
        return PairedConfig(**self.info["config"])

    def load(self, item: str) -> tuple[Tensor, Tensor, Tensor]:
        """(input (1, 3, H, W), mask (1, 1, H, W), truth (1, 3, H, W)), floats in [0, 1]."""
        return (
            read_image(self.root / "input" / f"{item}.png"),
            read_mask_tensor(self.root / "mask" / f"{item}.png"),
            read_image(self.root / "truth" / f"{item}.png"),
        )


def load_paired(root: str | Path) -> PairedSet:
    """Open a benchmark written by :func:`dof_eval.build_paired` (its folder or dataset.json).

    Raises:
        DatasetError: when ``dataset.json`` is missing or malformed.
    """
    root = Path(root)
    if root.is_file():
        root = root.parent
    try:
        info = json.loads((root / "dataset.json").read_text(encoding="utf-8"))
        ids = tuple(item["id"] for item in info["items"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise DatasetError(
            f"{root} is not a paired benchmark ({error}): build it with dof paired-bench"
        ) from error
    return PairedSet(root, ids, info)


def score_pair(output: Tensor, truth: Tensor, mask: Tensor, *, band: int = 6) -> dict[str, float]:
    """PSNR and SSIM of one output against the truth, overall and in the boundary band; PSNR
    in the subject (the mask eroded by 3 px, as ``subject_psnr``) and in the background
    (outside the mask dilated by ``band`` px).

    Args:
        output: (1, 3, H, W) float in [0, 1].
        truth: the ground truth, same shape.
        mask: the person's matte, (1, 1, H, W) in [0, 1].
        band: half-width of the boundary band, pixels.

    Returns:
        ``{"psnr", "ssim", "psnr_band", "ssim_band", "psnr_subject", "psnr_background"}``
        (dB and SSIM units; an untouched subject gives ``inf``).
    """
    check_image("output", output)
    check_image("truth", truth)
    check_same("output", output, "truth", truth)
    check_mask("mask", mask, truth)
    everywhere = torch.ones_like(mask, dtype=torch.bool)
    near = boundary_band(mask, band)
    return {
        "psnr": float(masked_psnr(output, truth, everywhere)[0]),
        "ssim": float(masked_ssim(output, truth, everywhere)[0]),
        "psnr_band": float(masked_psnr(output, truth, near)[0]),
        "ssim_band": float(masked_ssim(output, truth, near)[0]),
        "psnr_subject": float(masked_psnr(output, truth, subject_region(mask))[0]),
        "psnr_background": float(masked_psnr(output, truth, ~dilate(binary(mask), band))[0]),
    }


def run_paired(
    paired: PairedSet,
    methods: Mapping[str, Renderer],
    masks: Mapping[str, Segmenter | None],
    *,
    band: int = 6,
    progress: Callable[[Iterable[str]], Iterable[str]] | None = None,
    mask_free: Collection[str] = (),
) -> list[dict[str, Any]]:
    """Score every (method, mask source) on every item.

    Args:
        paired: the benchmark.
        methods: label -> (image, mask) -> output.
        masks: mask source label -> segmenter, or None for the benchmark's own (true) matte.
        band: half-width of the boundary band.
        progress: optional wrapper around the item iterator.
        mask_free: labels of methods that ignore the mask (the unchanged input): scored with
            the first mask source only, one row each.

    Returns:
        One row per (method, mask): ``{"method", "masks", "n", psnr, ssim, psnr_band,
        ssim_band, ...}``, means over items, and ``"items"``: each item's id and scores (for
        the per-item comparisons of docs/results.md; ``paired.json`` keeps them).
    """
    scores: dict[tuple[str, str], list[dict[str, Any]]] = {}
    first = next(iter(masks), "")
    with torch.inference_mode():
        for item in progress(paired.ids) if progress else paired.ids:
            image, true_mask, truth = paired.load(item)
            for mask_label, segment in masks.items():
                mask = true_mask if segment is None else segment(image).float().clamp(0, 1)
                for label, method in methods.items():
                    if label in mask_free and mask_label != first:
                        continue
                    output = method(image, mask).float().clamp(0, 1)
                    scores.setdefault((label, mask_label), []).append(
                        {"id": item, **score_pair(output, truth, true_mask, band=band)}
                    )
    return [
        {
            "method": m,
            "masks": k,
            "n": len(rows),
            **{s: float(np.mean([r[s] for r in rows])) for s in SCORES},
            "items": rows,
        }
        for (m, k), rows in scores.items()
    ]


def paired_markdown(rows: list[dict[str, Any]], scores: Sequence[str] = TABLE_SCORES) -> str:
    """The results as a Markdown table (method x mask source, means of ``scores``)."""
    lines = [
        "| method | masks | " + " | ".join(_HEADERS[s] for s in scores) + " | n |",
        "| --- | --- | " + " | ".join("---:" for _ in scores) + " | ---: |",
    ]
    for r in rows:
        values = [_cell(r[s], 4 if s.startswith("ssim") else 2) for s in scores]
        lines.append(f"| {r['method']} | {r['masks']} | {' | '.join(values)} | {r['n']} |")
    return "\n".join(lines) + "\n"


def _cell(value: float, digits: int) -> str:
    if value == float("inf"):
        return "∞"  # an output equal to the truth there (an untouched, pasted-back subject)
    return f"{value:.{digits}f}"


def _strict(value: Any) -> Any:
    """Non-finite floats as ``None`` so the JSON file is strict JSON."""
    return None if isinstance(value, float) and not np.isfinite(value) else value


def write_paired_results(
    rows: list[dict[str, Any]],
    out_dir: str | Path,
    *,
    table_scores: Sequence[str] = TABLE_SCORES,
    docs: Sequence[str | Path] = (),
    docs_block: str = "paired-bench",
    **meta: Any,
) -> str:
    """Write ``paired.json`` (every score, ``meta`` and the library versions), ``paired.csv``
    (every score) and ``paired.md`` (``table_scores``) atomically, and the command
    (``meta["command"]``) with the table into the block ``docs_block`` of each page of ``docs``
    (:func:`dof_eval.write_block`). Returns the Markdown table."""
    out_dir = Path(out_dir)
    meta["versions"] = {name: version(name) for name in ("torch", "numpy", "pillow", "scipy")}
    strict = [
        {k: [{i: _strict(x) for i, x in item.items()} for item in v] if k == "items" else _strict(v)
         for k, v in row.items()}
        for row in rows
    ]  # fmt: skip
    results = json.dumps({**meta, "rows": strict}, indent=2)
    atomic_write_text(out_dir / "paired.json", results + "\n")
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, ["method", "masks", "n", *SCORES], lineterminator="\n",
                            extrasaction="ignore")  # the items stay in paired.json  # fmt: skip
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(out_dir / "paired.csv", buffer.getvalue())
    table = paired_markdown(rows, table_scores)
    atomic_write_text(out_dir / "paired.md", table)
    for page in docs:
        write_block(page, docs_block, f"```bash\n{meta.get('command', '')}\n```\n\n{table}")
    return table
