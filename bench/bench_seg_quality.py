"""Mask quality of every offline segmenter x refinement, side by side in one run.

    uv run python bench/bench_seg_quality.py ../shared/data/coco-person \
        --segmenters selfie,auto --parts coco --out bench/results/seg_quality.json \
        --docs docs/seg.md --docs docs/results.md

For each segmenter (selfie, people, auto) and refinement (none, guided, matting):

- IoU on all coco-person photos and on those whose largest person covers >= 15 % of the frame,
  and the boundary F-score within 3 px (crowd regions ignored), at the photos' own size;
- seconds per 12 MP photo (a coco-person photo upsampled to 4000 x 3000), segmenting and
  refining separately, one torch thread.

Prints a Markdown table (with ``--docs``, also written with the command into each page's
``seg-quality`` block) and writes everything (per photo too) as JSON. The paired benchmark's
PSNR with each segmenter and refinement is ``dof paired-bench --masks gt,selfie:none,...``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

import dof_eval
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


def summary(coco: dict[str, Any]) -> str:
    """The Markdown table: one row per (segmenter, refine), in the order measured."""
    rows = coco["rows"]
    n_all = len({x["photo"] for x in rows})
    n_large = len({x["photo"] for x in rows if x["large"]})
    lines = [
        f"| masks | refine | IoU, all {n_all} | IoU, large {n_large} | boundary F (3 px) |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    keys = dict.fromkeys((x["segmenter"], x["refine"]) for x in rows)
    for name, refine in keys:
        sel = [x for x in rows if x["segmenter"] == name and x["refine"] == refine]
        iou = np.mean([x["iou"] for x in sel])
        iou_large = np.mean([x["iou"] for x in sel if x["large"]])
        bf = np.mean([x["boundary_f"] for x in sel])
        lines.append(f"| `{name}` | {refine} | {iou:.4f} | {iou_large:.4f} | {bf:.4f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", type=Path, help="coco-person folder")
    parser.add_argument("--segmenters", default=",".join(SEGMENTERS))
    parser.add_argument("--parts", default="coco,timing", help="what to measure")
    parser.add_argument("--coco-refines", default=",".join(REFINES))
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument(
        "--docs", type=Path, action="append", default=[],
        help="Markdown page to write the command and table into (block seg-quality); repeatable",
    )  # fmt: skip
    args = parser.parse_args()
    torch.set_num_threads(1)
    names = tuple(args.segmenters.split(","))
    parts = set(args.parts.split(","))
    load = os.getloadavg()[0]
    with torch.inference_mode():
        start = time.perf_counter()
        refines = tuple(args.coco_refines.split(","))
        coco = coco_scores(args.data, names, refines) if "coco" in parts else {"rows": []}
        first = list_images(args.data / "images")[0]
        times = timing(first, names) if "timing" in parts else {}
        total = time.perf_counter() - start
    table = summary(coco)
    print(table)
    print(json.dumps(times, indent=2))
    env = {
        "torch": torch.__version__,
        "threads": 1,
        "cpu_count": os.cpu_count(),
        "machine": platform.processor() or platform.machine(),
        "seconds": total,
        "load_average_at_start": load,
    }
    payload = {"env": env, "table": table, "seconds_12mp": times, **coco}
    atomic_write_text(args.out, json.dumps(payload, indent=2) + "\n")
    command = (
        f"uv run python bench/bench_seg_quality.py {args.data} --segmenters {args.segmenters} "
        f"--parts {args.parts} --coco-refines {args.coco_refines} --out {args.out}"
    )
    wall = (
        f"\n{total:.0f} s wall time, one torch thread, {os.cpu_count()} CPUs "
        f"(load average {load:.1f} when it started).\n"
    )
    for page in args.docs:
        dof_eval.write_block(page, "seg-quality", f"```bash\n{command}\n```\n\n{table}{wall}")


if __name__ == "__main__":
    main()
