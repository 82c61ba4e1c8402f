"""The studio against a hostile web page and big photos: cross-site writes, ::1, the memory
budget, a bounded job queue, one torch setting at a time, dof-seg's public contract."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient

import dof_io
import dof_seg
import dof_smooth
from dof_studio import Studio, StudioConfig, create_app
from dof_studio.engine import RENDER_BYTES_PER_PIXEL, torch_threads
from dof_studio.errors import BusyError
from dof_studio.jobs import JobRunner
from dof_studio.server import host_policy

OCTETS = "application/octet-stream"
BUDGET_MESSAGE = "too large for the memory budget; lower the size or raise --max-memory"


def _wait(client: TestClient, job: dict) -> dict:
    for _ in range(600):
        if job["state"] not in ("queued", "running"):
            return job
        time.sleep(0.05)
        job = client.get(f"/api/jobs/{job['id']}").json()
    raise AssertionError(f"render did not finish: {job}")


@pytest.fixture
def one_photo(ballpark_photo: Path, upload) -> Iterator[tuple[TestClient, Studio, dict]]:
    """A studio that keeps one photo, with the ballpark open in it."""
    small = Studio(StudioConfig(keep_photos=1, preview_size=128))
    with TestClient(create_app(small), base_url="http://127.0.0.1") as client:
        yield client, small, upload(client, ballpark_photo.read_bytes(), "ballpark.jpg")


# -- a web page on another site --------------------------------------------------------------


def test_cross_site_writes_get_403_and_change_nothing(one_photo, ballpark_photo: Path) -> None:
    client, _, photo = one_photo
    data = ballpark_photo.read_bytes()
    hostile = [
        {"Content-Type": "text/plain"},  # fetch(url, {mode: "no-cors", body})
        {"Content-Type": "application/x-www-form-urlencoded"},  # a <form> post
        {"Content-Type": "multipart/form-data; boundary=x"},
        {},  # no content type at all
        {"Content-Type": OCTETS, "Origin": "http://evil.example"},
        {"Content-Type": OCTETS, "Origin": "null"},  # a sandboxed frame, a data: URL
        {"Content-Type": OCTETS, "Sec-Fetch-Site": "cross-site"},
        {"Content-Type": OCTETS, "Sec-Fetch-Site": "same-site"},  # another port, a subdomain
    ]
    for headers in hostile:
        response = client.post("/api/photos", content=data, headers=headers)
        assert response.status_code == 403, (headers, response.text)
        assert response.json()["error"].startswith("refused:")
    pick, render = f"/api/photos/{photo['id']}/pick", f"/api/photos/{photo['id']}/render"
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    assert client.post(render, content=b"format=png", headers=form).status_code == 403
    evil = {"Origin": "http://evil.example"}
    assert client.post(pick, json={"x": 0.5, "y": 0.5}, headers=evil).status_code == 403
    assert client.post(render, content=b'{"format": "png"}',
                       headers={"Content-Type": "text/plain"}).status_code == 403  # fmt: skip
    # nothing changed: the one photo the studio keeps is still open, no job was made
    assert client.get(f"/api/photos/{photo['id']}").status_code == 200
    assert client.app.state.jobs._jobs == {}  # type: ignore[attr-defined]
    # the page itself: same origin, its own content types
    mine = {"Origin": "http://127.0.0.1", "Sec-Fetch-Site": "same-origin"}
    answer = client.post(pick, json={"x": 0.5, "y": 0.5}, headers=mine)
    assert answer.status_code == 200, answer.text


def test_ipv6_loopback_is_loopback(studio: Studio) -> None:
    """--host ::1 keeps the Host check on and does not warn that anyone can reach the page."""
    hosts, warning = host_policy("::1")
    assert warning is None and "[::1]" in hosts and "*" not in hosts
    assert host_policy("127.0.0.1") == (["127.0.0.1", "localhost", "[::1]"], None)
    assert host_policy("0.0.0.0")[0] == ["*"] and "anyone" in str(host_policy("0.0.0.0")[1])
    app = create_app(studio, allowed_hosts=hosts)  # no `with`: the shared studio stays open
    assert TestClient(app, base_url="http://[::1]:8765").get("/api/config").status_code == 200
    assert TestClient(app, base_url="http://evil.example").get("/api/config").status_code == 400


# -- big photos: one memory budget -----------------------------------------------------------


def test_full_size_renders_are_refused_over_the_budget_before_work(
    ballpark_photo: Path, upload, tiny_generator: Path
) -> None:
    """640x420: opening takes ~11 MB, a lens render ~24 MB, the generator ~640 MB (torch)."""
    tight = Studio(StudioConfig(model=tiny_generator, preview_size=128, max_memory=16 * 2**20))
    with TestClient(create_app(tight), base_url="http://127.0.0.1") as client:
        photo = upload(client, ballpark_photo.read_bytes(), "ballpark.jpg")
        for method in ("lens", "GAN"):
            response = client.post(f"/api/photos/{photo['id']}/render",
                                   json={"method": method, "format": "png"})  # fmt: skip
            assert response.status_code == 400, response.text
            assert BUDGET_MESSAGE in response.json()["error"]
        assert client.app.state.jobs._jobs == {}  # type: ignore[attr-defined]
    closed = Studio(StudioConfig(preview_size=128, max_memory=2 * 2**20))
    with TestClient(create_app(closed), base_url="http://127.0.0.1") as client:
        response = client.post("/api/photos", content=ballpark_photo.read_bytes(),
                               headers={"Content-Type": OCTETS, "X-Filename": "b.jpg"})  # fmt: skip
        assert response.status_code == 400 and BUDGET_MESSAGE in response.json()["error"]
        assert response.json()["error"].startswith("b.jpg: 640x420 (0 MP): opening")
    with pytest.raises(dof_smooth.MemoryBudgetError, match="raise --max-memory"):
        dof_smooth.portrait_blur(torch.rand(1, 3, 64, 64), torch.ones(1, 1, 64, 64),
                                 max_memory=64 * 64 * 10)  # fmt: skip


def test_a_generator_render_tiles_within_the_budget(
    ballpark_photo: Path, upload, tiny_generator: Path
) -> None:
    """The studio passes the budget to dof_gan.translate: a photo too large for one pass is
    rendered in tiles (the same bytes as translate with that budget), not refused."""
    from dof_gan import load_generator, translate
    from dof_gan.tiling import BASE_BYTES, PHOTO_BYTES_PER_PIXEL, generator_bytes_per_pixel

    generator = load_generator(tiny_generator)
    pixels = 640 * 420
    per_pixel = generator_bytes_per_pixel(generator)
    budget = BASE_BYTES + (PHOTO_BYTES_PER_PIXEL + RENDER_BYTES_PER_PIXEL + per_pixel // 2) * pixels
    gan = Studio(StudioConfig(model=tiny_generator, preview_size=128, max_memory=budget))
    with TestClient(create_app(gan), base_url="http://127.0.0.1") as client:
        photo = upload(client, ballpark_photo.read_bytes(), "ballpark.jpg")
        response = client.post(f"/api/photos/{photo['id']}/render",
                               json={"method": "GAN", "format": "png"})  # fmt: skip
        job = _wait(client, response.json())
        assert job["state"] == "done", job
        data = client.get(f"/api/jobs/{job['id']}/file").content
        opened = gan.get(photo["id"])
    image = dof_io.tensors.image_to_tensor(opened.rgb)
    rest = budget - RENDER_BYTES_PER_PIXEL * pixels
    tiled = translate(generator, image, mask=opened.mask, overlay=True, max_memory=rest)
    whole = translate(generator, image, mask=opened.mask, overlay=True)
    got = dof_io.decode_rgb(data, "g.png")
    np.testing.assert_array_equal(got, dof_io.tensors.tensor_to_image(tiled))
    assert not np.array_equal(got, dof_io.tensors.tensor_to_image(whole))


# -- jobs: bounded, cancelled, locked ---------------------------------------------------------


def test_a_full_render_queue_answers_busy_and_shutdown_cancels(ballpark_photo, upload) -> None:
    busy = Studio(StudioConfig(keep_photos=4, preview_size=128))
    release = threading.Event()
    holding = threading.Event()

    def hold_torch() -> None:  # the worker's render waits for the torch lock
        with torch_threads(1):
            holding.set()
            release.wait(30)

    with TestClient(create_app(busy), base_url="http://127.0.0.1") as client:
        photo = upload(client, ballpark_photo.read_bytes(), "ballpark.jpg")
        holder = threading.Thread(target=hold_torch)
        holder.start()
        holding.wait(30)
        url = f"/api/photos/{photo['id']}/render"
        jobs = [client.post(url, json={"method": "box", "format": "png"}) for _ in range(3)]
        assert [r.status_code for r in jobs[:2]] == [200, 200]
        assert jobs[2].status_code == 503
        assert "already waiting or running; save again when one is done" in jobs[2].json()["error"]
        release.set()
        holder.join()
        done = [_wait(client, r.json()) for r in jobs[:2]]
        assert [j["state"] for j in done] == ["done", "done"]
        again = client.post(url, json={"method": "box", "format": "png"})
        assert again.status_code == 200  # room again
        _wait(client, again.json())

    runner = JobRunner(keep=4, max_pending=2)
    gate = threading.Event()
    first = runner.submit(lambda progress: gate.wait(30) and b"x", filename="a", media_type="x")
    second = runner.submit(lambda progress: b"y", filename="b", media_type="x")
    runner.shutdown()
    gate.set()
    assert second.future is not None and second.future.cancelled()
    assert second.state == "cancelled"
    assert first.future is not None
    first.future.result(30)


def test_a_failure_inside_the_worker_reaches_the_page_and_the_next_job_runs() -> None:
    runner = JobRunner(keep=4, max_pending=4)

    def bug(progress) -> bytes:
        progress("render", 0.0, 1.0, None)
        raise RuntimeError("an index out of range")

    def too_large(progress) -> bytes:
        raise dof_io.MemoryBudgetError("big.png", "too large for the memory budget")

    works = (("a", bug), ("b", too_large), ("c", lambda progress: b"png"))
    jobs = [runner.submit(work, filename=name, media_type="image/png") for name, work in works]
    for job in jobs:
        assert job.future is not None
        job.future.result(30)
    states = [runner.status(job.id) for job in jobs]
    assert [s["state"] for s in states] == ["failed", "failed", "done"]
    assert states[0]["error"] == "the render failed: an index out of range"
    assert states[1]["error"] == "big.png: too large for the memory budget"
    assert runner.result(jobs[2].id)[1] == b"png"
    with pytest.raises(BusyError):
        busy = JobRunner(keep=1, max_pending=1)
        gate = threading.Event()
        busy.submit(lambda progress: gate.wait(30) and b"", filename="x", media_type="x")
        try:
            busy.submit(lambda progress: b"", filename="y", media_type="x")
        finally:
            gate.set()
            busy.shutdown()


def test_concurrent_uploads_are_bounded_and_the_rest_answered_busy(
    ballpark_photo: Path, upload
) -> None:
    crowd = Studio(StudioConfig(keep_photos=8, preview_size=128, max_opening=2))
    data = ballpark_photo.read_bytes()
    headers = {"Content-Type": OCTETS, "X-Filename": "b.jpg"}
    with TestClient(create_app(crowd), base_url="http://127.0.0.1") as client:
        with crowd.opening(), crowd.opening():  # two uploads in progress
            response = client.post("/api/photos", content=data, headers=headers)
            assert response.status_code == 503
            assert "busy opening 2 other photos" in response.json()["error"]
        answers: list[int] = []
        threads = [
            threading.Thread(target=lambda: answers.append(
                client.post("/api/photos", content=data, headers=headers).status_code))
            for _ in range(6)
        ]  # fmt: skip
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert len(answers) == 6 and set(answers) <= {200, 503} and 200 in answers
        assert crowd._opening == 0  # every place given back


def test_an_upload_without_content_length_is_cut_at_the_limit(ballpark_photo: Path) -> None:
    small = Studio(StudioConfig(max_upload_bytes=10_000, preview_size=128))

    def chunks() -> Iterator[bytes]:  # a chunked body: no Content-Length to refuse early
        data = ballpark_photo.read_bytes()
        for start in range(0, len(data), 4096):
            yield data[start : start + 4096]

    with TestClient(create_app(small), base_url="http://127.0.0.1") as client:
        response = client.post("/api/photos", content=chunks(),
                               headers={"Content-Type": OCTETS, "X-Filename": "b.jpg"})  # fmt: skip
        assert response.status_code == 413
        assert "over the upload limit of 0 MB" in response.json()["error"]
        assert small._photos == {}


def test_a_photo_pushed_out_while_its_render_runs(one_photo, ballpark_photo: Path, upload):
    """The render holds its own photo: it finishes with it even after the photo is dropped."""
    client, _, photo = one_photo
    response = client.post(f"/api/photos/{photo['id']}/render",
                           json={"method": "box", "radius": 3, "format": "png"})  # fmt: skip
    assert response.status_code == 200
    upload(client, ballpark_photo.read_bytes(), "other.jpg")  # keep_photos=1: pushes it out
    job = _wait(client, response.json())
    assert job["state"] == "done", job
    got = dof_io.decode_rgb(client.get(f"/api/jobs/{job['id']}/file").content, "x.png")
    rgb = dof_io.read_rgb(ballpark_photo)
    assert got.shape == rgb.shape
    assert client.get(f"/api/photos/{photo['id']}").status_code == 404


# -- threads ----------------------------------------------------------------------------------


def test_torch_work_runs_one_setting_at_a_time() -> None:
    """torch.set_num_threads is process-wide: a preview may not change a running render's."""
    entered, seen, times = threading.Event(), [], {}

    def render() -> None:
        with torch_threads(3):
            entered.set()
            seen.append(torch.get_num_threads())
            time.sleep(0.3)
            seen.append(torch.get_num_threads())
            times["render_out"] = time.monotonic()

    before = torch.get_num_threads()
    thread = threading.Thread(target=render)
    thread.start()
    entered.wait(30)
    with torch_threads(1):
        times["preview_in"] = time.monotonic()
        assert torch.get_num_threads() == 1
    thread.join()
    assert seen == [3, 3]
    assert times["preview_in"] >= times["render_out"]
    assert torch.get_num_threads() == before


# -- dof-seg's public contract ---------------------------------------------------------------


class TwoPeople(dof_seg.Segmenter):
    """A new detecting backend: two people side by side whose masks touch (one region)."""

    name = "two-people"
    detects_people = True

    def segment(self, images, names):
        masks = torch.zeros(images.shape[0], 1, *images.shape[-2:])
        masks[..., 100:400, 100:500] = 1.0
        return masks

    def segment_instances(self, image, name=None):
        mask = self(image[None])[0]
        labels = torch.zeros(1, *image.shape[-2:], dtype=torch.int64)
        labels[..., 100:400, 100:300] = 1
        labels[..., 100:400, 300:500] = 2
        return mask, labels


def test_a_new_detecting_backend_gets_its_people_in_the_studio(ballpark_photo: Path, upload):
    detector = Studio(StudioConfig(preview_size=640), segmenter=TwoPeople())
    with TestClient(create_app(detector), base_url="http://127.0.0.1") as client:
        info = upload(client, ballpark_photo.read_bytes(), "ballpark.jpg")
        assert info["people"] == 2  # the mask alone is one region: the detector's two people
        pick = f"/api/photos/{info['id']}/pick"
        assert client.post(pick, json={"x": 150 / 640, "y": 200 / 420}).json() == {"person": 1}
        assert client.post(pick, json={"x": 450 / 640, "y": 200 / 420}).json() == {"person": 2}
