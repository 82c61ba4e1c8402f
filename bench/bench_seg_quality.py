"""Mask quality of every offline segmenter x refinement, side by side in one run.

    uv run python bench/bench_seg_quality.py ../shared/data/coco-person \
        --paired paired-bench/data --out bench/results/seg_quality.json

For each segmenter (selfie, people, auto) and refinement (none, guided, matting):

- IoU on all coco-person photos and on those whose largest person covers >= 15 % of the frame,
  and the boundary F-score within 3 px (crowd regions ignored), at the photos' own size;
- on the paired benchmark (``dof paired-bench``'s data folder): PSNR overall and in the
  boundary band of lens + halo-free (radius 8, dof-smooth's defaults) with those masks, and the
  same with the benchmark's true masks as the bar;
- seconds per 12 MP photo (a coco-person photo upsampled to 4000 x 3000), segmenting and
  refining separately, one torch thread.

Prints a Markdown table and writes everything (per photo too) as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

import dof_eval
import dof_smooth
from dof_io import atomic_write_text, list_images, mask_iou, read_mask, read_rgb
from dof_seg import boundary_f_score, get_segmenter, refine_masks
from dof_seg.parity import large_subset

SEGMENTERS = ("selfie", "people", "auto")
REFINES = ("none", "guided", "matting")


def _tensor(rgb: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(rgb).permute(2, 0, 1)[None].float() / 255


def coco_scores(
    data: Path, names: tuple[str, ...], refines: tuple[str, ...] = REFINES
) -> dict[str, Any]:
    """IoU and boundary F per (segmenter, refine) on every coco-person photo."""
    large = large_subset(data)
    segmenters = {name: get_segmenter(name) for name in names}
    rows: list[dict[str, Any]] = []
    for path in list_images(data / "images"):
        image = _tensor(read_rgb(path))
        gt = read_mask(data / "masks" / f"{path.stem}.png")
        crowd_path = data / "masks" / f"{path.stem}_crowd.png"
        crowd = read_mask(crowd_path) if crowd_path.is_file() else None
        for name, segmenter in segmenters.items():
            base = segmenter(image)
            for refine in refines:
                mask = refine_masks(image, base, refine)[0, 0].numpy()
                rows.append({
                    "photo": path.stem, "segmenter": name, "refine": refine,
                    "large": path.stem in large,
                    "iou": mask_iou(mask, gt, crowd),
                    "boundary_f": boundary_f_score(mask, gt, crowd),
                })  # fmt: skip
        print(f"coco {path.stem}", flush=True)
    return {"rows": rows}


def paired_scores(root: Path, names: tuple[str, ...]) -> list[dict[str, Any]]:
    """lens + halo-free on the paired benchmark with each (segmenter, refine) and true masks."""
    paired = dof_eval.load_paired(root)
    lens = {"lens + halo_free": lambda x, m: dof_smooth.portrait_blur(x, m, "lens", 8.0)}
    masks: dict[str, Callable[[torch.Tensor], torch.Tensor] | None] = {"gt": None}
    for name in names:
        segmenter = get_segmenter(name)
        for refine in REFINES:
            masks[f"{name}+{refine}"] = lambda x, s=segmenter, r=refine: refine_masks(x, s(x), r)
    return dof_eval.run_paired(paired, lens, masks)


def timing(photo: Path, names: tuple[str, ...]) -> dict[str, float]:
    """Seconds for one 12 MP photo: each segmenter, and each refinement of a selfie mask."""
    image = F.interpolate(_tensor(read_rgb(photo)), size=(3000, 4000), mode="bilinear")
    out: dict[str, float] = {}
    base = None
    for name in names:
        segmenter = get_segmenter(name)
        start = time.perf_counter()
        mask = segmenter(image)
        out[f"segment {name}"] = time.perf_counter() - start
        base = mask if name == "selfie" else base
    assert base is not None
    for refine in REFINES[1:]:
        start = time.perf_counter()
        refine_masks(image, base, refine)
        out[f"refine {refine}"] = time.perf_counter() - start
    return out


def summary(coco: dict[str, Any], paired: list[dict[str, Any]]) -> str:
    """The Markdown table: one row per (segmenter, refine)."""
    lines = [
        "| masks | refine | IoU, all | IoU, large | boundary F (3 px) | PSNR | PSNR band |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    by_key = {r["masks"]: r for r in paired}
    for r in paired:
        if r["masks"] == "gt":
            lines.append(f"| true masks | – | – | – | – | {r['psnr']:.2f} | {r['psnr_band']:.2f} |")
    for key, row in by_key.items():
        if key == "gt":
            continue
        name, refine = key.split("+")
        sel = [x for x in coco["rows"] if x["segmenter"] == name and x["refine"] == refine]
        if not sel:
            continue
        iou = np.mean([x["iou"] for x in sel])
        iou_large = np.mean([x["iou"] for x in sel if x["large"]])
        bf = np.mean([x["boundary_f"] for x in sel])
        lines.append(
            f"| {name} | {refine} | {iou:.4f} | {iou_large:.4f} | {bf:.4f} | "
            f"{row['psnr']:.2f} | {row['psnr_band']:.2f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", type=Path, help="coco-person folder")
    parser.add_argument("--paired", type=Path, required=True, help="paired benchmark data/")
    parser.add_argument("--segmenters", default=",".join(SEGMENTERS))
    parser.add_argument("--parts", default="paired,coco,timing", help="what to measure")
    parser.add_argument("--coco-refines", default=",".join(REFINES))
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    torch.set_num_threads(1)
    names = tuple(args.segmenters.split(","))
    parts = set(args.parts.split(","))
    with torch.inference_mode():
        start = time.perf_counter()
        paired = paired_scores(args.paired, names) if "paired" in parts else []
        refines = tuple(args.coco_refines.split(","))
        coco = coco_scores(args.data, names, refines) if "coco" in parts else {"rows": []}
        first = list_images(args.data / "images")[0]
        times = timing(first, names) if "timing" in parts else {}
        total = time.perf_counter() - start
    table = summary(coco, paired)
    print(table)
    print(json.dumps(times, indent=2))
    env = {
        "torch": torch.__version__,
        "threads": 1,
        "cpu_count": os.cpu_count(),
        "machine": platform.processor() or platform.machine(),
        "seconds": total,
    }
    payload = {"env": env, "table": table, "paired": paired, "seconds_12mp": times, **coco}
    atomic_write_text(args.out, json.dumps(payload, indent=2) + "\n")


if __name__ == "__main__":
    main()
