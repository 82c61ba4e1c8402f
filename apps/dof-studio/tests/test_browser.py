"""End to end: `python -m dof_studio` on a free port, driven in headless chromium (playwright).

Drops a broken file (a visible message must name it), opens a coco-person photo, clicks a
person, moves the aperture slider, saves the full-size PNG and checks the file. Set
DOF_STUDIO_SCREENSHOT to an image path to also save a screenshot of the page (docs/studio.jpg
is made that way).
"""

from __future__ import annotations

import base64
import io
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import dof_io
from dof_io.testing import find_chromium

URL = re.compile(r"open (http://127\.0\.0\.1:\d+/) in a browser")
SCREENSHOT = os.environ.get("DOF_STUDIO_SCREENSHOT")
CHOSEN = (0, 200, 255)  # the overlay's tint of the chosen people


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """The studio as a user starts it, on a port the system picks; yields its URL."""
    preview = [] if SCREENSHOT else ["--preview-size", "320"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "dof_studio", "--port", "0", *preview],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )  # fmt: skip
    lines: queue.Queue[str] = queue.Queue()
    assert process.stdout is not None
    stdout = process.stdout
    threading.Thread(target=lambda: [lines.put(line) for line in stdout], daemon=True).start()
    seen, deadline = [], time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=1)
            except queue.Empty:
                assert process.poll() is None, f"dof studio exited: {''.join(seen)}"
                continue
            seen.append(line)
            if match := URL.search(line):
                yield match.group(1)
                break
        else:
            raise AssertionError(f"dof studio printed no URL: {''.join(seen)}")
    finally:
        process.terminate()
        # uvicorn shuts down gracefully, then re-raises the signal (status -15 or 0)
        assert process.wait(timeout=30) in (0, -signal.SIGTERM), "dof studio did not stop"


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    executable = find_chromium()
    if executable is None:
        pytest.skip("no chromium binary found (apt-get install chromium, or set DOF_CHROMIUM)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield browser
        browser.close()


def _deepest(region: np.ndarray) -> tuple[float, float]:
    """(x, y) as fractions of the image: the point of ``region`` farthest from its outline."""
    from scipy import ndimage

    y, x = np.unravel_index(np.argmax(ndimage.distance_transform_edt(region)), region.shape)
    return (x + 0.5) / region.shape[1], (y + 0.5) / region.shape[0]


def _person(page, base: str, label: int) -> np.ndarray:
    """Where person ``label`` is (1 = the largest), from the server's overlay: True where the
    chosen person's tint is (nearly) opaque."""
    photo_id = page.evaluate("state.photo.id")
    overlay = page.request.get(f"{base}api/photos/{photo_id}/overlay?people={label}").body()
    tint = np.asarray(Image.open(io.BytesIO(overlay)))
    return (tint[..., :3] == CHOSEN).all(-1) & (tint[..., 3] >= 109)  # mask >= 0.99


def _shown(page, query: str) -> np.ndarray:
    """The "after" image as the page shows it, once the preview for ``query`` has arrived."""
    page.wait_for_function(
        "q => { const img = document.getElementById('after');"
        " return img.dataset.query.includes(q) && img.complete && img.naturalWidth > 0; }",
        arg=query,
    )
    url = page.locator("#after").evaluate(
        "img => { const c = document.createElement('canvas');"
        " c.width = img.naturalWidth; c.height = img.naturalHeight;"
        " c.getContext('2d').drawImage(img, 0, 0); return c.toDataURL('image/png'); }"
    )
    data = base64.b64decode(url.split(",", 1)[1])
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB")).astype(int)


def test_open_pick_blur_and_save(server: str, browser, ballpark_photo: Path, tmp_path: Path, core):
    page = browser.new_page(viewport={"width": 1280, "height": 860}, accept_downloads=True)
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    page.goto(server)

    # a broken file, dropped on the page: a visible message naming it, as the command line does
    dropped = page.evaluate_handle(
        "([text, name]) => { const files = new DataTransfer();"
        " files.items.add(new File([text], name, {type: 'image/jpeg'})); return files; }",
        ["this is not a photo", "broken.jpg"],
    )
    page.dispatch_event("body", "drop", {"dataTransfer": dropped})
    message = page.locator("#message")
    message.wait_for(state="visible")
    assert message.inner_text() == "broken.jpg: not an image file Pillow can read (JPEG, PNG, ...)"

    # open the photo: the preview and the people appear, the message goes
    with page.expect_response(lambda r: "/preview" in r.url) as first:
        page.set_input_files("#file", str(ballpark_photo))
    assert first.value.ok and message.is_hidden()
    people = page.locator("#people").inner_text()
    count = int(re.match(r"(\d+) people found, everyone sharp", people).group(1))
    assert count >= 2

    # click the largest person: only they stay sharp
    region = _person(page, server, 1)
    x, y = _deepest(region)
    box = page.locator("#stage").bounding_box()
    with page.expect_response(lambda r: "/preview" in r.url and "people=1&" in r.url + "&"):
        page.locator("#stage").click(position={"x": x * box["width"], "y": y * box["height"]})
    assert page.locator("#people").inner_text() == f"{count} people found, 1 of {count} sharp."

    # move the aperture: the preview on the page changes
    page.locator("#radius").fill("6")
    small = _shown(page, "radius=6")
    page.locator("#radius").fill("20")
    large = _shown(page, "radius=20")
    assert page.locator("#radius-value").inner_text() == "20 px"
    assert small.shape == large.shape and np.abs(large - small).mean() > 1

    if SCREENSHOT:
        page.screenshot(path=SCREENSHOT)

    # save at full size: progress, then a PNG that differs from the photo outside the subject
    page.select_option("#format", "png")
    with page.expect_download(timeout=300_000) as download:
        page.click("#save")
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.name == f"{ballpark_photo.stem}_lens.png"
    assert page.locator("#progress").evaluate("ballpark => ballpark.value") == 1
    assert saved.name in page.locator("#save-status").inner_text()
    got, photo = dof_io.read_rgb(saved).astype(int), dof_io.read_rgb(ballpark_photo).astype(int)
    assert got.shape == photo.shape
    subject = np.asarray(Image.fromarray(region).resize(photo.shape[1::-1], Image.NEAREST))
    difference = np.abs(got - photo).max(-1)
    inside = core(subject, 4)
    print(
        f"inside: max {difference[inside].max()}, mean {difference[inside].mean():.3f}; "
        f"outside: mean {difference[~subject].mean():.2f}"
    )
    assert difference[inside].max() <= 3 and difference[inside].mean() < 0.5
    assert difference[~subject].mean() > 3

    # Shift+click adds the second person; "Everyone sharp" is also where that leads with two
    x, y = _deepest(_person(page, server, 2))
    query = "people=all&" if count == 2 else "people=1,2&"
    with page.expect_response(lambda r: "/preview" in r.url and query in r.url + "&"):
        page.locator("#stage").click(
            position={"x": x * box["width"], "y": y * box["height"]}, modifiers=["Shift"]
        )
    expected = "everyone sharp." if count == 2 else f"2 of {count} sharp."
    assert page.locator("#people").inner_text() == f"{count} people found, {expected}"

    assert all(url.startswith((server, "blob:", "data:")) for url in asked), asked
    page.close()
