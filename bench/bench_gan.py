"""dof-gan on the CPU: training steps per second and inference time per photo.

    uv run nox -s bench -- gan          # or: python bench/bench_gan.py --out bench/results

Paper settings throughout (ResNet-9 generator with ngf 64, 70x70 PatchGAN, 256x256 crops,
batch 1, the `combined` preset). The VGG-19 term runs with random weights (same cost as the
ImageNet ones, which cannot be downloaded here). Training photos are the coco-person photos from
../shared/data when present (real JPEG decoding), else synthetic ones. Writes OUT/gan.json.
"""

from __future__ import annotations

import argparse
import io
import json
import platform
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

import dof_io
from dof_gan import GeneratorConfig, Trainer, build_generator, config_from_options, translate

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "coco-person"


def make_dataset(root: Path, n: int = 4) -> str:
    """trainA/ + maskA/ and trainB/ + maskB/ from coco-person (or synthetic 640x480 photos)."""
    photos = sorted((SHARED / "images").glob("*.jpg"))[: 2 * n]
    rng = np.random.default_rng(0)
    for i in range(2 * n):
        domain = "A" if i < n else "B"
        if len(photos) == 2 * n:
            shutil.copy(photos[i], root / f"train{domain}" / f"{i}.jpg")
            shutil.copy(
                SHARED / "masks" / f"{photos[i].stem}.png", root / f"mask{domain}" / f"{i}.png"
            )
        else:
            rgb = rng.integers(0, 256, (480, 640, 3), dtype=np.uint8)
            mask = np.zeros((480, 640), np.float32)
            mask[100:400, 200:400] = 1
            dof_io.write_rgb(root / f"train{domain}" / f"{i}.jpg", rgb)
            dof_io.write_rgb(
                root / f"mask{domain}" / f"{i}.png", (np.dstack([mask] * 3) * 255).astype(np.uint8)
            )
    return "coco-person" if len(photos) == 2 * n else "synthetic"


def bench_training(root: Path, steps: int) -> dict[str, object]:
    config = config_from_options({
        "preset": "combined", "data": str(root), "vgg_weights": "none", "workers": 0,
        "pool_size": 50,
    })  # fmt: skip
    trainer = Trainer(config)
    times = []
    loader = iter(trainer.loader())
    for _ in range(steps + 1):  # the first step warms up (allocations, kernel choice)
        start = time.perf_counter()
        batch = trainer.to_batch(next(loader))  # data loading counts: it is part of a step
        trainer.train_step(batch)
        times.append(time.perf_counter() - start)
    warmup, times = times[0], times[1:]
    buffer = io.BytesIO()
    torch.save(trainer.state_dict(), buffer)
    pool_bytes = 2 * 50 * 3 * 256 * 256 * 4  # both pools full, float32
    per_step = statistics.median(times)
    return {
        "size": 256,
        "batch_size": 1,
        "steps_timed": steps,
        "first_step_seconds": warmup,
        "seconds_per_step": per_step,
        "steps_per_second": 1 / per_step,
        "step_times": times,
        "checkpoint_mb_full_pools": (len(buffer.getvalue()) + pool_bytes) / 2**20,
        "paper_schedule_hours_per_1000_images": 75 * 1000 * per_step / 3600,
    }


def bench_inference(repeats: dict[int, int]) -> dict[str, object]:
    G = build_generator(GeneratorConfig()).eval()
    translate(G, torch.rand(1, 3, 256, 256))  # warm-up
    results: dict[str, object] = {}
    for size, n in repeats.items():
        image = torch.rand(1, 3, size, size)
        times = []
        for _ in range(n):
            start = time.perf_counter()
            translate(G, image)
            times.append(time.perf_counter() - start)
        results[f"ms_per_{size}"] = 1000 * statistics.median(times)
        results[f"times_{size}"] = times
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    parser.add_argument("--steps", type=int, default=1, help="timed training steps (after one)")
    args = parser.parse_args()
    report: dict[str, object] = {
        "machine": f"{platform.machine()}, {torch.get_num_threads()} torch threads, CPU",
        "torch": torch.__version__,
    }
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for folder in ("trainA", "trainB", "maskA", "maskB"):
            (root / folder).mkdir()
        report["training_photos"] = make_dataset(root)
        print("training step at 256x256 (paper settings) ...", flush=True)
        report["training"] = bench_training(root, args.steps)
        print(json.dumps(report["training"], indent=2), flush=True)
    print("inference ...", flush=True)
    report["inference"] = bench_inference({256: 3, 1024: 1})
    print(json.dumps(report["inference"], indent=2), flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "gan.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out / 'gan.json'}")


if __name__ == "__main__":
    main()
