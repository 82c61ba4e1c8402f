"""dof-smooth's own paths against kornia's, side by side in one process, on the CPU.

    uv run nox -s bench -- kornia                         # -> bench/results/kornia.json
    python bench/bench_kornia.py --out DIR [--repeats 3]   # -> DIR/kornia.json

Cases on one 12-megapixel image (4000x3000, float32): box 5x5, Gaussian 9x9, the two sRGB curves.

Same inputs, same threads, median of --repeats runs after one warm-up. Ratio = dof-smooth time /
kornia time (below 1: dof-smooth is faster). What it decides is written in docs/smooth.md.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path
from typing import Any

import kornia
import torch

import dof_smooth
from dof_smooth.metrics import outside_band


def timed(fn: Any, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--height", type=int, default=3000)
    parser.add_argument("--width", type=int, default=4000)
    args = parser.parse_args()
    g = torch.Generator().manual_seed(0)
    x = torch.rand(1, 3, args.height, args.width, generator=g)
    # the band's dilation on a 1.5 MP mask: kornia's dilation unfolds 21x21 windows, which
    # at 12 MP would need tens of GiB
    mask = (torch.rand(1, 1, 1024, 1536, generator=g) > 0.99).float()
    square = torch.ones(21, 21)
    cases = {
        "box 5x5": (
            lambda: dof_smooth.box_blur2d(x, 5),
            lambda: kornia.filters.box_blur(x, (5, 5), border_type="reflect"),
        ),
        "gaussian 9x9 sigma 1.7": (
            lambda: dof_smooth.gaussian_blur2d(x, 9, 1.7),
            lambda: kornia.filters.gaussian_blur2d(x, (9, 9), (1.7, 1.7), border_type="reflect"),
        ),
        "sRGB -> linear": (
            lambda: dof_smooth.srgb_to_linear(x),
            lambda: kornia.color.rgb_to_linear_rgb(x),
        ),
        "linear -> sRGB": (
            lambda: dof_smooth.linear_to_srgb(x),
            lambda: kornia.color.linear_rgb_to_rgb(x),
        ),
        "band dilation 21x21 (1.5 MP mask)": (
            lambda: outside_band(mask, 10),
            lambda: kornia.morphology.dilation(mask, square) * (1 - mask),
        ),
    }
    rows = []
    for name, (ours, theirs) in cases.items():
        a, b = timed(ours, args.repeats), timed(theirs, args.repeats)
        rows.append({"case": name, "dof_smooth_s": a, "kornia_s": b, "ratio": a / b})
        print(f"{name:28s} dof-smooth {a:8.3f} s   kornia {b:8.3f} s   ratio {a / b:5.2f}")
    result = {
        "image": [args.height, args.width],
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "kornia": kornia.__version__,
        "machine": platform.processor() or platform.machine(),
        "rows": rows,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "kornia.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
