"""Item by item: a learned model against the hand-made pipeline with the same segmenter.

    uv run python bench/defocus_items.py BENCH/paired.json --paired synth128/test \
        --model "GAN def-selfie-ema (defocus + selfie)" --against "lens + halo_free" \
        --masks selfie [--docs docs/results.md --docs-block defocus-items]

Reads the per-item scores that ``dof paired-bench`` keeps in ``paired.json`` and, for each
held-out item, the IoU of the ``selfie`` segmenter's mask with the true matte (where the
segmenter misses the person, the hand-made pipeline blurs them). Prints, and with ``--docs``
writes, one row per item (PSNR overall, band, subject and background of both, the differences)
and a summary: where the learned model wins and loses, and by how much, split by how well the
segmenter found the person.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

import dof_eval
import dof_seg
from dof_eval import write_block
from dof_io.masks import mask_iou

SCORES = ("psnr", "psnr_band", "psnr_subject", "psnr_background")


def items(rows: list[dict[str, Any]], method: str, masks: str | None) -> dict[str, dict[str, Any]]:
    """id -> scores of ``method`` (with ``masks``, or its only row)."""
    for row in rows:
        if row["method"] == method and (masks is None or row["masks"] == masks):
            return {item["id"]: item for item in row["items"]}
    for row in rows:
        if row["method"] == method:
            return {item["id"]: item for item in row["items"]}
    raise SystemExit(f"no row {method!r} in the benchmark: {sorted({r['method'] for r in rows})}")


def value(x: float | None) -> float:
    return float("inf") if x is None else float(x)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", type=Path, help="paired.json of dof paired-bench")
    parser.add_argument("--paired", type=Path, required=True, help="the benchmark's folder")
    parser.add_argument("--model", required=True, help="the learned model's row")
    parser.add_argument("--against", default="lens + halo_free")
    parser.add_argument("--masks", default="selfie", help="mask source of the --against row")
    parser.add_argument("--segmenter", default="selfie")
    parser.add_argument("--docs", type=Path)
    parser.add_argument("--docs-block", default="defocus-items")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = json.loads(args.results.read_text())["rows"]
    ours, theirs = items(rows, args.model, None), items(rows, args.against, args.masks)
    paired = dof_eval.load_paired(args.paired)
    segment = dof_seg.get_segmenter(args.segmenter)
    lines = [
        "| item | selfie IoU | PSNR ours | PSNR lens | Δ overall | Δ band | Δ subject | "
        "Δ background |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    table: list[dict[str, float]] = []
    for item in paired.ids:
        image, true_mask, _ = paired.load(item)
        with torch.inference_mode():
            found = segment(image)
        iou = float(mask_iou(found[0, 0].numpy() >= 0.5, true_mask[0, 0].numpy() >= 0.5))
        a, b = ours[item], theirs[item]
        delta = {s: value(a[s]) - value(b[s]) for s in SCORES}
        table.append({"iou": iou, **delta})
        cells = [f"{iou:.2f}", f"{value(a['psnr']):.2f}", f"{value(b['psnr']):.2f}",
                 *(f"{d:+.2f}" if np.isfinite(d) else "–" for d in delta.values())]  # fmt: skip
        lines.append(f"| {item} | " + " | ".join(cells) + " |")
    summary = []
    groups = {
        "all items": table,
        "selfie finds the person (IoU >= 0.5)": [t for t in table if t["iou"] >= 0.5],
        "selfie misses the person (IoU < 0.5)": [t for t in table if t["iou"] < 0.5],
    }
    for name, chosen in groups.items():
        if not chosen:
            continue
        wins = sum(t["psnr"] > 0 for t in chosen)
        means = {
            s: np.mean([t[s] for t in chosen if np.isfinite(t[s])] or [np.nan]) for s in SCORES
        }
        summary.append(f"| {name} | {len(chosen)} | {wins} | " +
                       " | ".join(f"{means[s]:+.2f}" for s in SCORES) + " |")  # fmt: skip
    body = (f"`{args.model}` against `{args.against}` with `{args.masks}` masks, per held-out "
            "item (Δ = ours − theirs, dB; a subject Δ is blank where either is ∞):\n\n"
            "| items | n | ours better overall | mean Δ overall | Δ band | Δ subject | "
            "Δ background |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n"
            + "\n".join(summary) + "\n\n<details><summary>every item</summary>\n\n"
            + "\n".join(lines) + "\n\n</details>\n")  # fmt: skip
    print(body)
    if args.docs:
        write_block(args.docs, args.docs_block, body)


if __name__ == "__main__":
    main()
