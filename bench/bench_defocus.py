"""The defocus generator at full size: 12 MP `dof apply` against `dof smooth --method lens`.

    uv run python bench/bench_defocus.py --model G.safetensors [--photo P] [--megapixels 12] \
        [--repeats 2] [--threads 2] [--out bench/results/defocus.json]

Both commands run as they would for a user (`uv run dof ...` in a fresh process each, same
photo, same thread count, one after the other, ``--repeats`` rounds alternating), timed from
the outside with ``/usr/bin/time -v`` (wall seconds and the peak resident memory of the whole
process, Python and torch included). The photo is a coco-person portrait scaled up to
``--megapixels`` (the pixel count, not the detail, is what costs). The lens baseline gets the
`selfie` segmenter, as the defocus model with a `selfie` prior has it inside, so both pay for
one segmentation. Run it on a quiet machine: it reports ratios measured side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "coco-person" / "images"


def make_photo(source: Path, megapixels: float, out: Path) -> Path:
    """``source`` scaled (bicubic) to about ``megapixels``, saved as a quality-95 JPEG."""
    with Image.open(source) as image:
        rgb = image.convert("RGB")
    scale = (megapixels * 1e6 / (rgb.width * rgb.height)) ** 0.5
    size = (round(rgb.width * scale), round(rgb.height * scale))
    rgb.resize(size, Image.Resampling.BICUBIC).save(out, quality=95)
    return out


def timed(command: list[str], threads: int) -> dict[str, float]:
    """Run ``command`` under /usr/bin/time -v; its wall seconds and peak RSS (MiB)."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    done = subprocess.run(["/usr/bin/time", "-v", *command], env=env, capture_output=True,
                          text=True, check=False)  # fmt: skip
    if done.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    wall = re.search(r"Elapsed \(wall clock\) time .*: (?:(\d+):)?(\d+):([\d.]+)", done.stderr)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
    assert wall and rss, done.stderr[-2000:]
    hours, minutes, seconds = (float(g) if g else 0.0 for g in wall.groups())
    return {"seconds": hours * 3600 + minutes * 60 + seconds, "peak_rss_mib": int(rss[1]) / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, required=True, help="an exported defocus model")
    parser.add_argument("--photo", type=Path, help="source photo (default: a coco-person one)")
    parser.add_argument("--megapixels", type=float, default=12.0)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("bench/results/defocus.json"))
    args = parser.parse_args()
    source = args.photo or sorted(SHARED.glob("*.jpg"))[0]
    runs: dict[str, list[dict[str, float]]] = {"apply": [], "lens": []}
    with tempfile.TemporaryDirectory() as tmp:
        photo = make_photo(source, args.megapixels, Path(tmp) / "photo.jpg")
        width, height = Image.open(photo).size
        commands = {
            "apply": ["uv", "run", "dof", "apply", "-c", str(args.model), str(photo),
                      "-o", f"{tmp}/apply", "--overwrite"],
            "lens": ["uv", "run", "dof", "smooth", str(photo), "-o", f"{tmp}/lens",
                     "--method", "lens", "--segmenter", "selfie", "--overwrite"],
        }  # fmt: skip
        for round_ in range(args.repeats):
            for name, command in commands.items():
                result = timed(command, args.threads)
                runs[name].append(result)
                print(f"round {round_}: {name}: {result}", file=sys.stderr, flush=True)
        out_apply = np.asarray(Image.open(Path(tmp) / "apply" / "photo.png"), dtype=np.float32)
        out_lens = np.asarray(Image.open(Path(tmp) / "lens" / "photo.png"), dtype=np.float32)
        mse = float(np.mean((out_apply - out_lens) ** 2))
    best = {name: min(r["seconds"] for r in results) for name, results in runs.items()}
    result: dict[str, Any] = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "threads": args.threads, "photo": f"{source.name} scaled to {width}x{height}",
        "model": str(args.model), "runs": runs,
        "median_seconds": {n: statistics.median(r["seconds"] for r in v) for n, v in runs.items()},
        "best_seconds": best, "apply_over_lens": best["apply"] / best["lens"],
        "peak_rss_mib": {n: max(r["peak_rss_mib"] for r in v) for n, v in runs.items()},
        "psnr_apply_vs_lens_db": 10 * np.log10(255**2 / mse) if mse else float("inf"),
    }  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
