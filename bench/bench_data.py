"""dof-data throughput: fingerprinting, near-duplicate search, downloads, the monochrome filter.

    uv run nox -s bench -- data        # or: python bench/bench_data.py --out bench/results

Photos come from ../shared/data/coco-person (45 real photos, about 640 px); downloads go through
the fake Flickr on 127.0.0.1, so they measure our side (streaming, decoding, hashing, SQLite),
not the network. Writes <out>/data.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import tempfile
import time
from pathlib import Path

from dof_data import (
    ApiKey,
    DownloadConfig,
    FlickrClient,
    Manifest,
    PhotoRow,
    SearchQuery,
    TokenBucket,
    chroma_spread,
    describe_image,
    scrape,
)
from dof_data.dedup import near_duplicates
from dof_data.testing import FakeFlickr, photos_from_folder
from dof_io import read_rgb

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("DOF_SHARED_DATA", ROOT.parent / "shared" / "data")) / "coco-person"
KEY = "0123456789abcdef0123456789abcdef"


def bench_fingerprint(files: list[Path], rounds: int = 3) -> dict[str, float]:
    start = time.perf_counter()
    for _ in range(rounds):
        for path in files:
            describe_image(path)
    seconds = time.perf_counter() - start
    return {
        "photos": len(files) * rounds,
        "seconds": seconds,
        "photos_per_s": len(files) * rounds / seconds,
    }


def bench_near(n: int, planted: int = 100, seed: int = 0) -> dict[str, float]:
    rng = random.Random(seed)
    hashes = [rng.getrandbits(64) for _ in range(n - planted)]
    hashes += [h ^ (1 << rng.randrange(64)) for h in hashes[:planted]]  # one bit flipped
    rows = [
        PhotoRow(
            id=f"{i:06d}",
            source="flickr",
            query="q",
            domain="A",
            owner="",
            owner_name="",
            path_alias="",
            license=None,
            title="",
            upload=0,
            page_url="",
            source_url="",
            local_path="x",
            width=100,
            height=100,
            bytes=1000 + i,
            sha256=None,
            phash=f"{h:016x}",
            camera=None,
            status="kept",
            reason="",
        )
        for i, h in enumerate(hashes)
    ]
    start = time.perf_counter()
    marks = near_duplicates(rows, threshold=6)
    seconds = time.perf_counter() - start
    return {"photos": n, "seconds": seconds, "marked": len(marks), "planted": planted}


def bench_download(workers: int) -> dict[str, float]:
    photos = photos_from_folder(DATA / "images")
    query = SearchQuery(name="q", domain="B", text="portrait")
    with FakeFlickr(photos, api_key=KEY) as fake, tempfile.TemporaryDirectory() as tmp:
        client = FlickrClient(ApiKey(KEY), base_url=fake.url, rate=TokenBucket(1e9, 1000))
        manifest = Manifest(Path(tmp) / "ds", create=True)
        start = time.perf_counter()
        scrape(
            manifest, client, [query], download=DownloadConfig(workers=workers), now=1_600_000_000
        )
        seconds = time.perf_counter() - start
        manifest.close()
    megabytes = sum(len(p.data) for p in photos) / 1e6
    return {
        "workers": workers,
        "photos": len(photos),
        "seconds": seconds,
        "photos_per_s": len(photos) / seconds,
        "mb_per_s": megabytes / seconds,
    }


def bench_chroma(files: list[Path]) -> dict[str, float]:
    start = time.perf_counter()
    for path in files:
        chroma_spread(read_rgb(path))
    seconds = time.perf_counter() - start
    return {"photos": len(files), "seconds": seconds, "photos_per_s": len(files) / seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    files = sorted((DATA / "images").glob("*.jpg"))
    if not files:
        raise SystemExit(f"no photos in {DATA / 'images'}: set DOF_SHARED_DATA")
    results = {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "fingerprint": bench_fingerprint(files),
        "near_duplicates": [bench_near(n) for n in (1000, 8000)],
        "download": [bench_download(w) for w in (1, 4)],
        "monochrome_filter": bench_chroma(files),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "data.json").write_text(json.dumps(results, indent=1) + "\n")
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
