"""dof-smooth against OpenCV on the CPU (and on a GPU when one is visible).

    uv run nox -s bench -- smooth          # -> bench/results/smooth.json
    python bench/bench_smooth.py --out DIR [--repeats 5]

Workloads: a batch of 64 images at 256x256 and one 12-megapixel image (4000x3000), each through
box 5x5, Gaussian 9x9 and lens radius 25 (OpenCV: cv2.blur, cv2.GaussianBlur, and cv2.filter2D
with the same anti-aliased disk kernel, all BORDER_REFLECT_101, float32, OpenCV's own threads).
Plus portrait_blur(method="lens", radius=25) end to end on the 12 MP image (halo-free: blurred
image and weight in one 4-channel pass, linear light, feathered matte).

Every case runs in a fresh process so that its peak resident memory (ru_maxrss) is its own; the
time is the median of --repeats runs after one warm-up run. Ratios are torch / OpenCV (lower is
better). Targets (issue 3): box and Gaussian within 2x of OpenCV on the CPU; lens r=25 on 12 MP
end to end <= 2 s with peak memory < 4 GiB; on a GPU >= 20x faster than OpenCV on the CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

WORKLOADS = {"batch64x256": (64, 256, 256), "12MP": (1, 3000, 4000)}
OPS = {"box5": "box 5x5", "gauss9": "Gaussian 9x9", "lens25": "lens r=25"}
LENS_RADIUS = 25.0


def rss_mib() -> float:
    """Current resident memory of this process, MiB (Linux /proc)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def timed(fn: Any, repeats: int, sync: Any = None) -> dict[str, Any]:
    times = []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        fn()
        if sync is not None:
            sync()
        times.append(time.perf_counter() - start)
    return {"first_s": times[0], "runs_s": times[1:], "median_s": statistics.median(times[1:])}


def run_case(workload: str, op: str, backend: str, repeats: int) -> dict[str, Any]:
    """One measurement, in this (fresh) process."""
    import torch

    torch.manual_seed(0)
    B, H, W = WORKLOADS[workload]
    x = torch.rand(B, 3, H, W)
    if backend == "opencv":
        import cv2
        import numpy as np

        import dof_smooth

        images = [np.ascontiguousarray(i.permute(1, 2, 0).numpy()) for i in x]
        del x
        disk = dof_smooth.disk_kernel(LENS_RADIUS).numpy()
        border = cv2.BORDER_REFLECT_101
        call = {
            "box5": lambda a: cv2.blur(a, (5, 5), borderType=border),
            "gauss9": lambda a: cv2.GaussianBlur(a, (9, 9), 1.7, borderType=border),
            "lens25": lambda a: cv2.filter2D(a, -1, disk, borderType=border),
        }[op]
        baseline = rss_mib()
        result = timed(lambda: [call(a) for a in images], repeats)
    else:
        import dof_smooth

        device = "cuda" if backend == "torch-cuda" else "cpu"
        x = x.to(device)
        mask = torch.zeros(B, 1, H, W, device=device)
        yy, xx = torch.meshgrid(torch.arange(H), torch.arange(W), indexing="ij")
        subject = ((yy - H * 0.6) / (H * 0.45)) ** 2 + ((xx - W / 2) / (W * 0.2)) ** 2 <= 1
        mask[:, 0] = subject.to(device).float()
        fn = {
            "box5": lambda: dof_smooth.box_blur2d(x, 5),
            "gauss9": lambda: dof_smooth.gaussian_blur2d(x, 9),
            "lens25": lambda: dof_smooth.lens_blur2d(x, LENS_RADIUS),
            "portrait_lens25": lambda: dof_smooth.portrait_blur(x, mask, "lens", LENS_RADIUS),
        }[op]
        sync = torch.cuda.synchronize if device == "cuda" else None
        baseline = rss_mib()
        with torch.inference_mode():
            result = timed(fn, repeats, sync)
        if device == "cuda":
            result["peak_cuda_mib"] = torch.cuda.max_memory_allocated() / 2**20
    result.update(baseline_rss_mib=baseline, peak_rss_mib=peak_mib())
    return result


def spawn(workload: str, op: str, backend: str, repeats: int) -> dict[str, Any]:
    command = [sys.executable, __file__, "--case", workload, op, backend, "--repeats", str(repeats)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr else "failed"}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def machine() -> dict[str, Any]:
    import cv2
    import torch

    cpu = platform.processor()
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        cpu = next(line.split(":", 1)[1].strip() for line in lines if "model name" in line)
    except (OSError, StopIteration):
        pass
    info: dict[str, Any] = {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "opencv_threads": cv2.getNumThreads(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "opencv": cv2.__version__,
        "load_average_at_start": os.getloadavg(),
    }
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name()
    return info


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--case", nargs=3, metavar=("WORKLOAD", "OP", "BACKEND"))
    args = parser.parse_args()
    if args.case:
        print(json.dumps(run_case(*args.case, args.repeats)))
        return
    import torch

    backends = ["torch-cpu", "opencv"] + (["torch-cuda"] if torch.cuda.is_available() else [])
    started = time.perf_counter()
    cases: list[dict[str, Any]] = []
    for workload in WORKLOADS:
        for op in OPS:
            for backend in backends:
                result = spawn(workload, op, backend, args.repeats)
                cases.append({"workload": workload, "op": op, "backend": backend, **result})
                print(_line(cases[-1]), flush=True)
    for backend in [b for b in backends if b != "opencv"]:
        result = spawn("12MP", "portrait_lens25", backend, args.repeats)
        cases.append({"workload": "12MP", "op": "portrait_lens25", "backend": backend, **result})
        print(_line(cases[-1]), flush=True)
    report = {
        "machine": machine(),
        "repeats": args.repeats,
        "wall_s": time.perf_counter() - started,
        "cases": cases,
        "summary": summarise(cases),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "smooth.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    for row in report["summary"]:
        print(row)
    print(f"wrote {args.out / 'smooth.json'} in {report['wall_s']:.0f} s")


def _line(case: dict[str, Any]) -> str:
    if "error" in case:
        return f"{case['workload']} {case['op']} {case['backend']}: ERROR {case['error']}"
    return (
        f"{case['workload']:>12} {case['op']:>16} {case['backend']:>10}  "
        f"median {case['median_s'] * 1e3:8.1f} ms  first {case['first_s'] * 1e3:8.1f} ms  "
        f"peak RSS {case['peak_rss_mib']:6.0f} MiB "
        f"(+{case['peak_rss_mib'] - case['baseline_rss_mib']:.0f} over inputs and libraries)"
    )


def summarise(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Ratios to OpenCV and the issue's targets, met or not."""
    by = {(c["workload"], c["op"], c["backend"]): c for c in cases if "error" not in c}
    rows = []
    for workload in WORKLOADS:
        for op in OPS:
            cv, cpu = by.get((workload, op, "opencv")), by.get((workload, op, "torch-cpu"))
            if not cv or not cpu:
                continue
            row: dict[str, Any] = {
                "workload": workload,
                "op": op,
                "opencv_s": cv["median_s"],
                "torch_cpu_s": cpu["median_s"],
                "ratio_cpu": cpu["median_s"] / cv["median_s"],
            }
            if op != "lens25":
                row["target_cpu"] = "ratio <= 2"
                row["met_cpu"] = row["ratio_cpu"] <= 2
            gpu = by.get((workload, op, "torch-cuda"))
            if gpu:
                row["torch_cuda_s"] = gpu["median_s"]
                row["speedup_cuda_vs_opencv_cpu"] = cv["median_s"] / gpu["median_s"]
                row["met_cuda"] = row["speedup_cuda_vs_opencv_cpu"] >= 20
            rows.append(row)
    portrait = by.get(("12MP", "portrait_lens25", "torch-cpu"))
    if portrait:
        rows.append(
            {
                "workload": "12MP",
                "op": "portrait_blur lens r=25 (halo-free)",
                "torch_cpu_s": portrait["median_s"],
                "peak_rss_mib": portrait["peak_rss_mib"],
                "rss_before_call_mib": portrait["baseline_rss_mib"],
                "target_cpu": "<= 2 s and peak < 4096 MiB",
                "met_cpu": portrait["median_s"] <= 2 and portrait["peak_rss_mib"] < 4096,
            }
        )
    return rows


if __name__ == "__main__":
    main()
