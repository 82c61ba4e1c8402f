"""dof-seg benchmark: photos per second of the built-in `selfie` segmenter.

    uv run nox -s bench -- seg          # -> bench/results/seg.json

Measured on 24 of the coco-person photos (about 640 px on the long side), from decoded RGB
arrays to soft masks at the photo's size (MediaPipe's resize, the network, the upsampling): one
photo at a time and 8 at a time, contiguous and channels_last, with 1 torch thread (one photo at
a time also with torch's default thread count); the network alone (batch 8) in both layouts;
the whole `segment_files` job (decode, segment, write RGBA PNGs); and the same on CUDA when a
GPU is visible. MediaPipe's own runtime is measured in its own environment by
`uv run nox -s seg-parity` (bench/results/seg_mediapipe.json); its numbers are copied in here
when that file exists. Every number is the best of several runs (the machine may be shared).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from dof_io import list_images, read_rgb
from dof_seg import SelfieSegmenter, segment_files

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "coco-person" / "images"


def rate(fn: Callable[[], int], *, min_seconds: float = 2.0, min_runs: int = 3) -> float:
    """Items per second of ``fn`` (which returns how many items it did): the best run, so that
    load from other processes on a shared machine counts as little as possible."""
    best, runs, start = 0.0, 0, time.perf_counter()
    while runs < min_runs or time.perf_counter() - start < min_seconds:
        began = time.perf_counter()
        best = max(best, fn() / (time.perf_counter() - began))
        runs += 1
    return best


def photos_per_second(segmenter: SelfieSegmenter, images: list[torch.Tensor], batch: int) -> float:
    def run(chunked: list[torch.Tensor]) -> int:
        with torch.inference_mode():
            for start in range(0, len(chunked), batch):
                chunk = chunked[start : start + batch]
                if batch == 1:
                    segmenter(chunk[0][None]).cpu()
                else:
                    [mask.cpu() for mask in segmenter.segment_list(chunk)]
        return len(chunked)

    run(images[: max(batch, 2)])  # warm-up
    return rate(lambda: run(images))


def network_rate(segmenter: SelfieSegmenter, device: str, channels_last: bool) -> float:
    x = torch.rand(8, 3, *segmenter.input_size, device=device)
    net = segmenter.net
    layout = torch.channels_last if channels_last else torch.contiguous_format
    x, net = x.contiguous(memory_format=layout), net.to(memory_format=layout)

    def run() -> int:
        with torch.inference_mode():
            net(x)
            if device == "cuda":
                torch.cuda.synchronize()
        return x.shape[0]

    run()  # warm-up
    result = rate(run)
    net.to(memory_format=segmenter.memory_format)
    return result


def measure(
    model: str, images: list[torch.Tensor], device: str = "cpu", *, full: bool = True
) -> dict[str, float]:
    plain = SelfieSegmenter(model).to(device)
    result = {
        "photos_per_s_batch_1": photos_per_second(plain, images, 1),
        "network_only_per_s_contiguous": network_rate(plain, device, False),
    }
    if full:
        fast = SelfieSegmenter(model, channels_last=True).to(device)
        result |= {
            "photos_per_s_batch_8": photos_per_second(plain, images, 8),
            "photos_per_s_batch_1_channels_last": photos_per_second(fast, images, 1),
            "photos_per_s_batch_8_channels_last": photos_per_second(fast, images, 8),
            "network_only_per_s_channels_last": network_rate(plain, device, True),
        }
    return result


def cpu_section(images: list[torch.Tensor], paths: list[Path]) -> dict[str, Any]:
    default_threads = torch.get_num_threads()
    section: dict[str, Any] = {}
    for threads in sorted({1, default_threads}):
        torch.set_num_threads(threads)
        for model in ("general", "landscape"):
            key = f"{model}_{threads}_thread{'s' if threads > 1 else ''}"
            section[key] = measure(model, images, full=threads == 1)
            print(key, json.dumps({k: round(v, 1) for k, v in section[key].items()}), flush=True)
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        report = segment_files(paths, out, SelfieSegmenter(channels_last=True), batch_size=8)
        elapsed = time.perf_counter() - start
    torch.set_num_threads(default_threads)
    section["segment_files_1_thread_channels_last_photos_per_s"] = len(report.done) / elapsed
    print("segment_files (decode + segment + write PNG):", round(len(report.done) / elapsed, 1))
    return section


def cuda_section(images: list[torch.Tensor]) -> dict[str, Any]:
    on_gpu = [image.cuda() for image in images]
    section: dict[str, Any] = {"device": torch.cuda.get_device_name()}
    for model in ("general", "landscape"):
        section[model] = measure(model, on_gpu, "cuda")
        print("cuda", model, json.dumps({k: round(v, 1) for k, v in section[model].items()}))
    return section


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for seg.json")
    args = parser.parse_args()
    paths = list_images(DATA)[:24]  # keeps the run near two minutes on 2 cores
    if not paths:
        raise SystemExit(f"no photos in {DATA}: the benchmark needs ../shared/data")
    arrays = [read_rgb(p) for p in paths]
    images = [torch.from_numpy(a).permute(2, 0, 1).float() / 255 for a in arrays]
    result: dict[str, Any] = {
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(),
            "torch": torch.__version__,
            "torch_threads": torch.get_num_threads(),
            "load_average_at_start": os.getloadavg(),
        },
        "photos": len(paths),
        "cpu": cpu_section(images, paths),
    }
    if torch.cuda.is_available():
        result["cuda"] = cuda_section(images)
    mediapipe = args.out / "seg_mediapipe.json"
    if mediapipe.is_file():
        parity = json.loads(mediapipe.read_text())
        result["mediapipe_from_seg_parity"] = {
            r["model"]: r["photos_per_s"] for r in parity["results"]
        }
    result["machine"]["load_average_at_end"] = os.getloadavg()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "seg.json").write_text(json.dumps(result, indent=2))
    print(f"wrote {args.out / 'seg.json'}")


if __name__ == "__main__":
    main()
