"""dof studio benchmark: how long a 12 MP photo takes to open, to preview and to save.

    uv run nox -s bench -- studio       # -> bench/results/studio.json

The photo is a coco-person photo (two people, 640x420) enlarged to 4000x3000 with Lanczos and
saved as a JPEG, since no 12 MP photo of people with a free licence is in ../shared/data; the
work does not depend on the content's detail, only on its size. Timed through the studio's
handlers over HTTP (FastAPI's in-process client, so no network but every handler step): open
(upload, decode, segment, people), preview (every method at its default radius, lens at 3% of
the longer side and with highlights, one person chosen), the overlay, and the full-size render
(JPEG and PNG) from request to downloaded bytes. Previews are the best of several runs (the
machine may be shared); open and full-size renders are the best of two. Opening and previews
with one torch thread (the studio's default) and with torch's default count; full-size renders
always with torch's default.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from fastapi.testclient import TestClient
from PIL import Image

from dof_studio import Studio, StudioConfig, create_app

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "coco-person" / "images"
PHOTO = "000000360452.jpg"


def best(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        fn()
        times.append(time.perf_counter() - began)
    return min(times)


def ok(response: Any) -> Any:
    if response.status_code != 200:
        raise SystemExit(f"{response.request.url}: {response.status_code} {response.text}")
    return response


def render(client: TestClient, photo_id: str, body: dict[str, Any]) -> bytes:
    job = ok(client.post(f"/api/photos/{photo_id}/render", json=body)).json()
    while job["state"] in ("queued", "running"):
        time.sleep(0.02)
        job = ok(client.get(f"/api/jobs/{job['id']}")).json()
    if job["state"] != "done":
        raise SystemExit(f"render failed: {job['error']}")
    content: bytes = ok(client.get(f"/api/jobs/{job['id']}/file")).content
    return content


def measure(data: bytes, preview_threads: int) -> dict[str, Any]:
    studio = Studio(StudioConfig(preview_threads=preview_threads))
    times: dict[str, Any] = {
        "preview_threads": preview_threads or torch.get_num_threads(),
        "render_threads": torch.get_num_threads(),
    }
    with TestClient(create_app(studio), base_url="http://127.0.0.1") as client:

        def upload() -> dict[str, Any]:
            headers = {"X-Filename": "big.jpg"}
            info: dict[str, Any] = ok(
                client.post("/api/photos", content=data, headers=headers)
            ).json()
            return info

        info = upload()
        times["open_s"] = best(upload, 2)
        photo = info["id"]
        lens_3 = round(0.03 * max(info["width"], info["height"]))
        previews = {
            "lens (default radius)": {"method": "lens"},
            f"lens radius {lens_3}": {"method": "lens", "radius": lens_3},
            "lens, highlights 4": {"method": "lens", "highlights": 4},
            "lens, person 1 only": {"method": "lens", "people": "1"},
            "gaussian (default)": {"method": "gaussian"},
            "box (default)": {"method": "box"},
        }
        url = f"/api/photos/{photo}/preview"
        times["preview_s"] = {}
        for name, params in previews.items():
            ok(client.get(url, params=params))  # warm-up
            times["preview_s"][name] = round(
                best(lambda p=params: ok(client.get(url, params=p)), 5), 3
            )
        overlay = f"/api/photos/{photo}/overlay"
        times["overlay_s"] = round(
            best(lambda: ok(client.get(overlay, params={"people": "1"})), 3), 3
        )
        times["full_size_s"] = {}
        for fmt in ("jpg", "png"):
            body = {"method": "lens", "people": "1", "format": fmt}
            times["full_size_s"][f"lens, {fmt}"] = round(
                best(lambda b=body: render(client, photo, b), 2), 2
            )
        out = Image.open(io.BytesIO(render(client, photo, {"method": "lens", "format": "jpg"})))
        times["full_size_result"] = list(out.size)
    times["open_s"] = round(times["open_s"], 3)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for studio.json")
    args = parser.parse_args()
    source = DATA / PHOTO
    if not source.is_file():
        raise SystemExit(f"no {source}: the benchmark needs ../shared/data")
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "big.jpg"
        Image.open(source).convert("RGB").resize((4000, 3000), Image.Resampling.LANCZOS).save(
            big, quality=92
        )
        data = big.read_bytes()
    result: dict[str, Any] = {
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(),
            "torch": torch.__version__,
            "load_average_at_start": os.getloadavg(),
        },
        "photo": {"source": PHOTO, "size": [4000, 3000], "jpeg_bytes": len(data)},
        "preview_size": StudioConfig().preview_size,
        "runs": [],
    }
    for preview_threads in (1, 0):  # the default (one thread), then torch's default
        run = measure(data, preview_threads)
        print(json.dumps(run), flush=True)
        result["runs"].append(run)
    result["machine"]["load_average_at_end"] = os.getloadavg()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "studio.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out / 'studio.json'}")


if __name__ == "__main__":
    main()
