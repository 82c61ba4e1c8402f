"""A scrape killed with SIGKILL at random points, several times, then rerun, ends exactly where
an uninterrupted scrape ends: the same manifest rows, the same files, nothing fetched twice."""

from __future__ import annotations

import hashlib
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from dof_data.testing import FakeFlickr, FakePhoto

RUNNER = Path(__file__).with_name("scrape_runner.py")
TABLES = {
    "photos": "id",
    "slices": "query, lo, hi",
    "queries": "name",
    "marks": "photo_id, stage, rule",
    "licenses": "id",
}


def server_photos(coco_photos: Callable[..., list[FakePhoto]]) -> list[FakePhoto]:
    """10 bokeh and 10 ordinary photos, with transient and permanent faults."""
    bokeh = coco_photos(10, text="portrait bokeh", first_id=2000)
    ordinary = coco_photos(20, text="portrait", first_id=3000)[10:]
    photos = bokeh + ordinary
    photos[1].faults, photos[4].faults = ["500"], ["truncate"]
    photos[12].faults, photos[17].faults = ["timeout"], ["429"]
    photos[6].always, photos[15].always = "html", "404"
    return photos


def run(root: Path, fake: FakeFlickr, key: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DOF_FLICKR_API_KEY": key, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, str(RUNNER), str(root), fake.url],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def snapshot(
    root: Path, server: FakeFlickr
) -> tuple[dict[str, list[tuple[object, ...]]], dict[str, str]]:
    """Every row of every table (the server's address made neutral), and every file under
    images/ with its sha256."""
    with sqlite3.connect(root / "manifest.sqlite") as conn:
        rows = {
            table: [
                tuple(v.replace(server.base, "SERVER") if isinstance(v, str) else v for v in row)
                for row in conn.execute(f"SELECT * FROM {table} ORDER BY {order}")
            ]
            for table, order in TABLES.items()
        }
    files = {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted((root / "images").rglob("*"))
        if p.is_file()
    }
    return rows, files


@pytest.mark.slow
def test_sigkilled_scrape_resumes_to_the_same_end(
    tmp_path: Path, key: str, coco_photos: Callable[..., list[FakePhoto]]
) -> None:
    settings = {"api_key": key, "cap": 5, "timeout_sleep": 0.6, "image_delay": 0.02}
    with FakeFlickr(server_photos(coco_photos), **settings) as reference_server:  # type: ignore[arg-type]
        process = run(tmp_path / "reference", reference_server, key)
        assert process.wait(timeout=120) == 0, process.stderr.read()  # type: ignore[union-attr]
        expected = snapshot(tmp_path / "reference", reference_server)
    reference_images = sum(reference_server.image_requests.values())

    rng = random.Random(20180601)
    root = tmp_path / "killed"
    kills: list[str] = []  # the phase each kill landed in
    with FakeFlickr(server_photos(coco_photos), **settings) as fake:  # type: ignore[arg-type]
        while len(kills) < 6:
            process = run(root, fake, key)
            target = fake.requests + rng.randint(2, 16)
            while not fake.wait_for_requests(target, timeout=0.02) and process.poll() is None:
                pass
            time.sleep(rng.uniform(0.0, 0.03))
            if process.poll() is not None:
                break  # it finished before the kill point: nothing left to interrupt
            os.kill(process.pid, signal.SIGKILL)
            assert process.wait(timeout=30) == -signal.SIGKILL
            kills.append("download" if sum(fake.image_requests.values()) else "search")
        process = run(root, fake, key)
        assert process.wait(timeout=120) == 0, process.stderr.read()  # type: ignore[union-attr]
        requested = sum(fake.image_requests.values())
        finished_at = fake.requests

        # Once finished, a rerun asks for the licence table and nothing else.
        process = run(root, fake, key)
        assert process.wait(timeout=120) == 0
        assert fake.requests == finished_at + 1
        assert sum(fake.image_requests.values()) == requested
        result = snapshot(root, fake)

    assert len(kills) >= 3 and {"search", "download"} <= set(kills), kills
    assert result == expected
    # Each kill can cut off at most the 3 downloads in flight; nothing else is fetched again.
    assert requested <= reference_images + 3 * len(kills)
    assert not list((root / "images").rglob(".*"))  # no temporary file left
