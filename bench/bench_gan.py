"""dof-gan speed: training steps per second in every precision/layout/compile/process setting,
side by side, and `dof apply` on a 12-megapixel photo. Writes OUT/gan.json.

    uv run nox -s bench -- gan                       # everything, one case after the other
    python bench/bench_gan.py --only 128-cyclegan-bf16   # one case (merged into gan.json)
    python bench/bench_gan.py --list                 # the case names

Paper networks throughout (ResNet-9 generator with ngf 64, 70x70 PatchGAN, batch 1); the
VGG-19 term of `combined` runs with random weights (same cost as ImageNet's). Training photos
are coco-person from ../shared/data when present, else synthetic. Each case runs in a process
of its own, so its peak RSS is its own; a step includes loading its batch (from the uint8
cache). Cases: {128, 256} px x {cyclegan, combined} x {fp32 (the paper's setting), bf16,
bf16 + channels_last, bf16 + torch.compile with and without channels_last, bf16 in 2 gloo
processes}; then
`apply-12mp` (4000x3000, the default --max-memory) and `tiles-2mp` (tiled with statistics from
a downscaled copy against untiled, on a 1600x1200 photo).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

import dof_io
from dof_gan import GeneratorConfig, Trainer, build_generator, config_from_options, translate

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "coco-person"
VARIANTS: dict[str, dict[str, Any]] = {
    "fp32": {"precision": "fp32"},
    "bf16": {"precision": "bf16"},
    "bf16-cl": {"precision": "bf16", "channels_last": True},
    "bf16-compile": {"precision": "bf16", "compile": True},
    "bf16-cl-compile": {"precision": "bf16", "channels_last": True, "compile": True},
    "bf16-2proc": {"precision": "bf16", "nproc": 2},
}
DEVICE = "cuda" if torch.cuda.is_available() else "cpu"  # NCCL ranks on CUDA, gloo on CPU
STEPS = {128: 4, 256: 2}  # timed steps per case, after the warm-up ones
CASES = [f"{size}-{preset}-{variant}" for size in (128, 256) for preset in ("cyclegan", "combined")
         for variant in VARIANTS] + ["apply-12mp", "tiles-2mp"]  # fmt: skip


def machine() -> dict[str, Any]:
    from dof_gan.precision import cpu_has_native_bf16

    flags = model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name") and not model:
                model = line.split(":", 1)[1].strip()
            if line.startswith("flags") and not flags:
                flags = line
    return {
        "cpu": model or platform.processor(),
        "cores": os.cpu_count(),
        "avx512_bf16": "avx512_bf16" in flags,
        "amx_bf16": "amx_bf16" in flags,
        "onednn_native_bf16": cpu_has_native_bf16(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
    }


def make_dataset(root: Path, n: int = 4) -> str:
    """trainA/ + maskA/ and trainB/ + maskB/ from coco-person (or synthetic 640x480 photos)."""
    for folder in ("trainA", "trainB", "maskA", "maskB"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    photos = sorted((SHARED / "images").glob("*.jpg"))[: 2 * n]
    rng = np.random.default_rng(0)
    for i in range(2 * n):
        domain = "A" if i < n else "B"
        if len(photos) == 2 * n:
            shutil.copy(photos[i], root / f"train{domain}" / f"{i}.jpg")
            shutil.copy(SHARED / "masks" / f"{photos[i].stem}.png",
                        root / f"mask{domain}" / f"{i}.png")  # fmt: skip
        else:
            rgb = rng.integers(0, 256, (480, 640, 3), dtype=np.uint8)
            mask = np.zeros((480, 640, 3), np.uint8)
            mask[100:400, 200:400] = 255
            dof_io.write_rgb(root / f"train{domain}" / f"{i}.jpg", rgb)
            dof_io.write_rgb(root / f"mask{domain}" / f"{i}.png", mask)
    return "coco-person" if len(photos) == 2 * n else "synthetic"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def train_case(case: str, data: Path) -> dict[str, Any]:
    """Run one training case in this process (a rank of its own under torchrun)."""
    from dof_gan.distributed import device_for, init_process_group, world_from_env

    size_text, preset, variant = case.split("-", 2)
    size, options = int(size_text), dict(VARIANTS[variant])
    options.pop("nproc", None)
    config = config_from_options({
        "preset": preset, "data": str(data), "size": size, "vgg_weights": "none",
        "workers": 0, "pool_size": 50, "device": DEVICE, **options,
    })  # fmt: skip
    world = world_from_env()
    init_process_group(world, device_for(world, DEVICE))
    trainer = Trainer(config, world)
    trainer.dataset.preload()
    warmup = 2 if config.compile else 1
    times: list[float] = []
    items = iter(trainer.loader())
    steps = int(os.environ.get("DOF_BENCH_STEPS", STEPS[size]))
    for index in range(warmup + steps):
        start = time.perf_counter()
        try:
            item = next(items)
        except StopIteration:
            items = iter(trainer.loader())
            item = next(items)
        trainer.train_step(trainer.to_batch(item))
        if DEVICE == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
        print(f"  {case} step {index}: {times[-1]:.2f} s", file=sys.stderr, flush=True)
    per_step = statistics.median(times[warmup:])
    result = {
        "precision": trainer.precision, "ranks": world.world_size,
        "first_steps_seconds": times[:warmup], "step_times": times[warmup:],
        "seconds_per_step": per_step, "steps_per_second": 1 / per_step,
        "images_per_second": world.world_size / per_step, "peak_rss_mb": peak_rss_mb(),
    }  # fmt: skip
    if world.distributed:
        gathered: list[Any] = [None] * world.world_size
        torch.distributed.all_gather_object(gathered, result["peak_rss_mb"])
        result["peak_rss_mb"] = sum(gathered)  # all ranks together
        torch.distributed.destroy_process_group()
    return result


def synthetic_photo(path: Path, height: int, width: int) -> None:
    """A coco-person photo scaled up to height x width (a JPEG, as phones write them)."""
    photos = sorted((SHARED / "images").glob("*.jpg"))
    if photos:
        small = torch.from_numpy(dof_io.read_rgb(photos[0])).permute(2, 0, 1)[None].float()
    else:
        small = torch.rand(1, 3, 480, 640) * 255
    big = torch.nn.functional.interpolate(small, size=(height, width), mode="bicubic")
    dof_io.write_rgb(path, big[0].clamp(0, 255).round().byte().permute(1, 2, 0).numpy())


def apply_case(case: str, folder: Path) -> dict[str, Any]:
    from dof_gan import apply_to_photo
    from dof_gan.tiling import DEFAULT_MAX_MEMORY, plan_tile

    G = build_generator(GeneratorConfig(), seed=0).eval()
    if case == "apply-12mp":
        photo = folder / "photo12mp.jpg"
        synthetic_photo(photo, 3000, 4000)
        start = time.perf_counter()
        out = apply_to_photo(G, photo, max_memory=DEFAULT_MAX_MEMORY)["plain"]
        seconds = time.perf_counter() - start
        return {"photo": "4000x3000", "seconds": seconds, "peak_rss_mb": peak_rss_mb(),
                "max_memory_gib": DEFAULT_MAX_MEMORY / 2**30, "output": list(out.shape),
                "tile": plan_tile(G, 3000, 4000, DEFAULT_MAX_MEMORY)}  # fmt: skip
    photo = folder / "photo2mp.jpg"
    synthetic_photo(photo, 1200, 1600)
    image = torch.from_numpy(dof_io.read_rgb(photo)).permute(2, 0, 1)[None].float() / 255
    budget = 2**30  # tiles of about 400 px, statistics from a copy of about 0.4 MP
    whole = translate(G, image)
    tiled = translate(G, image, max_memory=budget)
    diff = (tiled - whole).abs() * 255
    return {"photo": "1600x1200", "max_memory_gib": budget / 2**30,
            "tile": plan_tile(G, 1200, 1600, budget), "mean_abs_diff_255": float(diff.mean()),
            "p99_abs_diff_255": float(diff.flatten().kthvalue(int(0.99 * diff.numel())).values),
            "max_abs_diff_255": float(diff.max()), "weights": "random (seed 0)"}  # fmt: skip


def run_case(case: str, data: Path, folder: Path, timeout: float) -> dict[str, Any]:
    """One case in a fresh process (two under torchrun for the -2proc cases)."""
    result_file = folder / f"{case}.json"
    script = [str(Path(__file__).resolve()), "--worker", case, "--data", str(data),
              "--result", str(result_file)]  # fmt: skip
    if case.endswith("2proc"):
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
                   "--nproc-per-node", "2", *script]  # fmt: skip
    else:
        command = [sys.executable, *script]
    start = time.perf_counter()
    try:
        subprocess.run(command, check=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"did not finish within {timeout:.0f} s"}
    except subprocess.CalledProcessError as err:
        return {"error": f"exit status {err.returncode}"}
    result: dict[str, Any] = json.loads(result_file.read_text())
    result["wall_seconds"] = time.perf_counter() - start
    return result


#: the paper's schedule: 75 epochs (50 + 25 of decay) of about 2,270 steps at batch 1, 256 px
PAPER_STEPS = 75 * 2270


def projection(cases: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """The paper's whole schedule (PAPER_STEPS steps of `combined` at 256 px) at the fastest
    measured one-process 256-px `combined` setting, in hours; None before one is measured."""
    measured = {name: case["seconds_per_step"] for name, case in cases.items()
                if name.startswith("256-combined") and not name.endswith("2proc")
                and "seconds_per_step" in case}  # fmt: skip
    if not measured:
        return None
    best = min(measured, key=measured.__getitem__)
    return {"case": best, "seconds_per_step": measured[best], "steps": PAPER_STEPS,
            "hours": measured[best] * PAPER_STEPS / 3600}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    parser.add_argument("--only", nargs="*", help="case names (see --list); default all")
    parser.add_argument("--list", action="store_true", help="print the case names")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per case")
    parser.add_argument(
        "--steps", type=int, help="timed steps per case (default 4 at 128 px, 2 at 256)"
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.list:
        print("\n".join(CASES))
        return
    if args.steps:
        os.environ["DOF_BENCH_STEPS"] = str(args.steps)  # the cases' processes inherit it
    if args.worker:  # inside a case's own process
        if args.worker.startswith(("apply", "tiles")):
            result = apply_case(args.worker, args.result.parent)
        else:
            result = train_case(args.worker, args.data)
        if int(os.environ.get("RANK", "0")) == 0:
            args.result.write_text(json.dumps(result))
        return
    unknown = sorted(set(args.only or []) - set(CASES))
    if unknown:
        parser.error(f"unknown case {unknown[0]}; --list shows them")
    out_file = args.out / "gan.json"
    report: dict[str, Any] = json.loads(out_file.read_text()) if out_file.is_file() else {}
    if report.get("format") != 2:  # the file of the earlier benchmark: start afresh
        report = {"format": 2, "cases": {}}
    report["machine"] = machine()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        report["training_photos"] = make_dataset(data)
        for case in args.only or CASES:
            print(f"{case} ...", flush=True)
            result = run_case(case, data, Path(tmp), args.timeout)
            result["measured"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
            report["cases"][case] = result
            print(json.dumps(result), flush=True)
    report["projection"] = projection(report["cases"])
    args.out.mkdir(parents=True, exist_ok=True)
    out_file.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {out_file}")


if __name__ == "__main__":
    main()
