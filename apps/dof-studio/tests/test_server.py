"""The page's handlers, driven through HTTP as the page drives them (FastAPI's test client)."""

from __future__ import annotations

import io
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient
from PIL import Image

import dof_io
import dof_seg
import dof_smooth
from dof_io.testing import BROKEN, bomb_png, make_bad_files
from dof_studio import Studio, StudioConfig, create_app
from dof_studio.routes import parse_people, safe_name


def _upload_headers(name: str) -> dict[str, str]:
    """What the page sends with a photo."""
    return {"Content-Type": "application/octet-stream", "X-Filename": name}


def jpeg(response) -> np.ndarray:
    assert response.status_code == 200, response.text
    return np.asarray(Image.open(io.BytesIO(response.content)).convert("RGB"))


def wait(client: TestClient, job: dict) -> dict:
    for _ in range(600):
        if job["state"] in ("done", "failed"):
            return job
        time.sleep(0.1)
        job = client.get(f"/api/jobs/{job['id']}").json()
    raise AssertionError(f"render did not finish: {job}")


def render(client: TestClient, photo: dict, **body) -> tuple[dict, bytes]:
    response = client.post(f"/api/photos/{photo['id']}/render", json={"format": "png", **body})
    assert response.status_code == 200, response.text
    job = wait(client, response.json())
    assert job["state"] == "done", job
    file = client.get(f"/api/jobs/{job['id']}/file")
    assert file.status_code == 200
    return job, file.content


def test_page_is_served_with_a_strict_policy(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and 'id="file"' in page.text
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "connect-src 'self'" in policy
    assert client.get("/static/studio.js").headers["content-type"].startswith("text/javascript")
    assert client.get("/static/..%2Fengine.py").status_code == 404
    assert client.get("/static/server.py").json() == {"error": "no such file 'server.py'"}


def test_other_host_names_are_refused(client: TestClient) -> None:
    """A web page elsewhere cannot reach the studio through DNS rebinding."""
    assert client.get("/api/config", headers={"Host": "evil.example:8765"}).status_code == 400
    assert client.get("/api/config", headers={"Host": "localhost:8765"}).status_code == 200


def test_upload_reports_the_photo_and_its_people(ballpark: dict, ballpark_photo: Path) -> None:
    height, width = dof_io.read_rgb(ballpark_photo).shape[:2]
    assert (ballpark["width"], ballpark["height"]) == (width, height)
    assert max(ballpark["preview_width"], ballpark["preview_height"]) == 320
    assert ballpark["preview_width"] / ballpark["preview_height"] == pytest.approx(
        width / height, rel=0.01
    )
    assert ballpark["people"] >= 2
    assert ballpark["methods"] == ["lens", "box", "gaussian", "GAN"]
    assert ballpark["radius"]["lens"]["default"] == pytest.approx(0.02 * max(width, height))
    assert ballpark["radius"]["box"]["default"] == 2


def test_exif_orientation_is_honoured(client: TestClient, tmp_path: Path, upload) -> None:
    files = make_bad_files(tmp_path)
    info = upload(client, files["exif_rotated.jpg"].read_bytes(), "rotated.jpg")
    assert (info["width"], info["height"]) == (48, 64)  # stored 64x48, shown rotated


@pytest.mark.parametrize("case", BROKEN)
def test_bad_files_get_the_command_lines_message(client: TestClient, tmp_path: Path, case: str):
    path = make_bad_files(tmp_path)[case]
    with pytest.raises(dof_io.ImageReadError) as expected:
        dof_io.read_rgb(path)
    response = client.post(
        "/api/photos",
        content=path.read_bytes(),
        headers={"Content-Type": "application/octet-stream", "X-Filename": case},
    )
    assert response.status_code == 400
    assert response.json() == {"error": f"{case}: {expected.value.reason}"}


def test_size_and_pixel_limits(ballpark_photo: Path) -> None:
    small = Studio(StudioConfig(max_upload_bytes=10_000, max_pixels=100_000))
    with TestClient(create_app(small), base_url="http://127.0.0.1") as client:
        response = client.post("/api/photos", content=ballpark_photo.read_bytes(),
                               headers=_upload_headers("ballpark.jpg"))  # fmt: skip
        assert response.status_code == 413
        assert (
            "ballpark.jpg" in response.json()["error"]
            and "--max-upload-mb" in response.json()["error"]
        )
        response = client.post("/api/photos", content=bomb_png(4000, 3000),
                               headers=_upload_headers("huge.png"))  # fmt: skip
        assert response.status_code == 400
        assert (
            "huge.png: 4000x3000 = 12,000,000 pixels is over the limit of 100,000"
            in (response.json()["error"])
        )


def test_file_names_are_made_safe() -> None:
    assert safe_name("..%2F..%2Fetc%2Fpasswd") == "passwd"
    assert safe_name('C:\\photos\\a "b".jpg') == "a_b_.jpg"
    assert safe_name("<script>.jpg") == "script_.jpg"
    assert safe_name("%0d%0aSet-Cookie: x") == "Set-Cookie_x"
    assert safe_name(None) == safe_name("...") == "photo"


def test_people_parameter() -> None:
    assert parse_people(None) is None and parse_people("all") is None
    assert parse_people("") == frozenset()
    assert parse_people("3,1") == frozenset({1, 3})


def test_preview_follows_the_controls(client: TestClient, ballpark: dict) -> None:
    url = f"/api/photos/{ballpark['id']}/preview"
    before = jpeg(client.get(f"/api/photos/{ballpark['id']}/original"))
    assert before.shape == (ballpark["preview_height"], ballpark["preview_width"], 3)
    small = jpeg(client.get(url, params={"radius": 2}))
    large = jpeg(client.get(url, params={"radius": 25}))
    assert small.shape == before.shape
    change = [np.abs(x.astype(int) - before).mean() for x in (small, large)]
    assert change[1] > change[0] + 1  # a wider aperture blurs more
    box = jpeg(client.get(url, params={"method": "box", "radius": 25}))
    assert np.abs(box.astype(int) - large).mean() > 1
    timing = client.get(url).headers["server-timing"]
    assert timing.startswith("render;dur=")


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"method": "bokeh"}, "unknown method 'bokeh'; valid: lens, box, gaussian"),
        ({"method": "generator"}, "valid: lens, box, gaussian, GAN"),
        ({"radius": 10_000}, "radius must be between 0 and"),
        ({"highlights": -1}, "highlights must be between 0 and 16"),
        ({"people": "99"}, "no person 99 in this photo"),
        ({"people": "one"}, "people must be 'all' or numbers"),
    ],
)
def test_bad_settings_are_refused_with_a_reason(client, ballpark, params, message) -> None:
    response = client.get(f"/api/photos/{ballpark['id']}/preview", params=params)
    assert response.status_code == 400
    assert message in response.json()["error"]


def _deepest_point(mask: np.ndarray) -> tuple[float, float]:
    """(x, y) as fractions: the point of a region farthest from its outline."""
    from scipy import ndimage

    y, x = np.unravel_index(np.argmax(ndimage.distance_transform_edt(mask)), mask.shape)
    return (x + 0.5) / mask.shape[1], (y + 0.5) / mask.shape[0]


def test_pick_finds_each_person_and_nobody_elsewhere(client, studio, ballpark) -> None:
    photo = studio.get(ballpark["id"])
    labels = photo.labels[0, 0].numpy()
    person = photo.preview_mask[0, 0].numpy() >= 0.5
    pick = f"/api/photos/{ballpark['id']}/pick"
    for label in range(1, ballpark["people"] + 1):
        x, y = _deepest_point(person & (labels == label))
        assert client.post(pick, json={"x": x, "y": y}).json() == {"person": label}
    x, y = _deepest_point(photo.preview_mask[0, 0].numpy() < 0.05)
    assert client.post(pick, json={"x": x, "y": y}).json() == {"person": 0}
    response = client.post(pick, json={"x": 1.5, "y": 0.5})
    assert response.status_code == 400 and "must lie on the photo" in response.json()["error"]


def test_choosing_one_person_blurs_the_others_in_the_preview(
    client, studio, ballpark, core
) -> None:
    photo = studio.get(ballpark["id"])
    url = f"/api/photos/{ballpark['id']}/preview"
    everyone = jpeg(client.get(url, params={"radius": 20})).astype(int)
    only_first = jpeg(client.get(url, params={"radius": 20, "people": "1"})).astype(int)
    labels = photo.labels[0, 0].numpy()
    person = photo.preview_mask[0, 0].numpy() >= 0.9
    first, others = core(person & (labels == 1), 2), core(person & (labels > 1), 2)
    assert np.abs(only_first - everyone)[first].mean() < 1  # still sharp (JPEG noise only)
    assert np.abs(only_first - everyone)[others].mean() > 3  # now blurred


def test_overlay_tints_chosen_and_other_people(client, studio, ballpark) -> None:
    photo = studio.get(ballpark["id"])
    url = f"/api/photos/{ballpark['id']}/overlay"
    tint = np.asarray(Image.open(io.BytesIO(client.get(url, params={"people": "1"}).content)))
    assert tint.shape == (ballpark["preview_height"], ballpark["preview_width"], 4)
    labels = photo.labels[0, 0].numpy()
    person = photo.preview_mask[0, 0].numpy() > 0.9
    assert (tint[person & (labels == 1)][:, :3] == [0, 200, 255]).all()
    assert (tint[person & (labels == 2)][:, :3] == [255, 120, 0]).all()
    assert tint[photo.preview_mask[0, 0].numpy() < 0.01][:, 3].max() <= 1


def test_full_size_render_is_the_command_lines_result(client, ballpark, ballpark_photo) -> None:
    """With everyone sharp, the download is what `dof smooth --segmenter selfie` computes."""
    job, data = render(client, ballpark, method="lens", radius=12)
    assert job["filename"] == f"{ballpark_photo.stem}_lens.png"
    got = dof_io.decode_rgb(data, "download.png")
    rgb = dof_io.read_rgb(ballpark_photo)
    image = torch.from_numpy(rgb).permute(2, 0, 1)[None].float() / 255
    with torch.inference_mode():
        mask = dof_seg.get_segmenter("selfie")(image).clamp(0, 1)
        out = dof_smooth.portrait_blur(image, mask, "lens", 12.0)
    expected = (out[0] * 255).round().clamp(0, 255).to(torch.uint8).permute(1, 2, 0).numpy()
    assert got.shape == rgb.shape
    np.testing.assert_array_equal(got, expected)


def test_full_size_render_of_one_person_keeps_only_them(
    client, studio, ballpark, ballpark_photo, core
):
    job, data = render(client, ballpark, method="gaussian", radius=6, people="1", format="jpg")
    assert job["filename"].endswith("_gaussian.jpg") and data[:2] == b"\xff\xd8"
    got = dof_io.decode_rgb(data, "download.jpg").astype(int)
    rgb = dof_io.read_rgb(ballpark_photo).astype(int)
    photo = studio.get(ballpark["id"])
    labels = torch.nn.functional.interpolate(photo.labels.float(), size=rgb.shape[:2]).long()
    person = photo.mask[0, 0].numpy() >= 0.99
    first = core(person & (labels[0, 0].numpy() == 1), 3)
    others = core(person & (labels[0, 0].numpy() > 1), 3)
    assert np.abs(got - rgb)[first].mean() < 1.5  # JPEG at quality 95 only
    assert np.abs(got - rgb)[others].mean() > 3


def test_render_jobs_report_progress_and_failures(client, ballpark) -> None:
    response = client.post(f"/api/photos/{ballpark['id']}/render", json={"format": "tiff"})
    assert response.status_code == 400 and "unknown format 'tiff'" in response.json()["error"]
    assert client.get("/api/jobs/nope").status_code == 404
    job, _ = render(client, ballpark, method="box")
    assert job["progress"] == 1.0 and job["bytes"] > 0 and job["seconds"] >= 0


def test_old_photos_are_dropped_with_a_clear_message(ballpark_photo: Path, upload) -> None:
    small = Studio(StudioConfig(keep_photos=1, preview_size=128))
    with TestClient(create_app(small), base_url="http://127.0.0.1") as client:
        first = upload(client, ballpark_photo.read_bytes())
        upload(client, ballpark_photo.read_bytes())
        response = client.get(f"/api/photos/{first['id']}/preview")
        assert response.status_code == 404
        assert "no longer open (the studio keeps 1); open it again" in response.json()["error"]


def test_an_exported_generator_is_a_method(
    tiny_generator: Path, ballpark_photo: Path, upload, core
):
    """--model puts a painting generator behind `GAN`: G's output with the chosen people put
    back exactly."""
    gan = Studio(StudioConfig(model=tiny_generator, preview_size=160))
    with TestClient(create_app(gan), base_url="http://127.0.0.1") as client:
        assert client.get("/api/config").json()["generator"] == "G.safetensors"
        photo = upload(client, ballpark_photo.read_bytes(), "ballpark.jpg")
        assert photo["methods"][-1] == "GAN"
        assert photo["radius"]["GAN"] == {"default": 0.0, "max": 0.0}  # no aperture to set
        preview = jpeg(client.get(f"/api/photos/{photo['id']}/preview",
                                  params={"method": "GAN"}))  # fmt: skip
        assert preview.shape == (photo["preview_height"], photo["preview_width"], 3)
        _, data = render(client, photo, method="GAN", people="1")
        opened = gan.get(photo["id"])
    got = dof_io.decode_rgb(data, "g.png").astype(int)
    rgb = dof_io.read_rgb(ballpark_photo).astype(int)
    labels = torch.nn.functional.interpolate(opened.labels.float(), size=rgb.shape[:2]).long()
    first = (opened.mask[0, 0].numpy() >= 0.999) & (labels[0, 0].numpy() == 1)
    assert first.sum() > 100
    assert np.abs(got - rgb)[first].max() <= 1  # the overlay puts the subject back
    assert np.abs(got - rgb)[~core(opened.mask[0, 0].numpy() > 0.01, 0)].mean() > 10


def test_a_photo_without_people_blurs_everything(client: TestClient, upload) -> None:
    sky = np.zeros((90, 120, 3), np.uint8)
    sky[..., 2] = np.linspace(80, 250, 120, dtype=np.uint8)  # a plain blue gradient
    sky[::8] = 255  # with lines the blur must soften
    info = upload(client, dof_io.encode_rgb(sky, ".png"), "sky.png")
    assert info["people"] == 0
    response = client.post(f"/api/photos/{info['id']}/pick", json={"x": 0.5, "y": 0.5})
    assert response.json() == {"person": 0}
    preview = jpeg(client.get(f"/api/photos/{info['id']}/preview", params={"radius": 3}))
    assert np.abs(preview.astype(int) - sky).mean() > 10


def test_the_cli_says_when_the_port_is_taken(tmp_path: Path) -> None:
    import socket

    from click.testing import CliRunner

    from dof_studio.cli import studio

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(studio, ["--port", str(port), "--preview-size", "128"])
    assert result.exit_code == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.output and "--port 0" in result.output
    assert "Traceback" not in result.output


def test_other_interfaces_only_when_asked(studio) -> None:
    """--host 0.0.0.0 answers any Host header; the default answers loopback names only."""
    # no `with`: the lifespan (which forgets the shared studio's photos at exit) does not run
    anywhere = TestClient(create_app(studio, allowed_hosts=["*"]), base_url="http://192.168.1.20")
    assert anywhere.get("/api/config").status_code == 200
    loopback = TestClient(create_app(studio), base_url="http://192.168.1.20")
    assert loopback.get("/api/config").status_code == 400


def test_the_cli_names_the_valid_segmenters() -> None:
    from click.testing import CliRunner

    from dof_studio.cli import studio

    result = CliRunner().invoke(studio, ["--segmenter", "nope", "--port", "0"])
    assert result.exit_code == 1
    assert "unknown segmenter 'nope'; valid names:" in result.output and "selfie" in result.output


@pytest.mark.parametrize(("segmenter", "refine"), [("selfie", "guided"), ("people", None)])
def test_other_segmenters_give_the_command_lines_mask(ballpark_photo, upload, segmenter, refine):
    """--segmenter/--refine as `dof smooth --segmenter S --refine R`; a detector's people are
    the ones the page offers."""
    options = {} if refine is None else {"refine": refine}
    other = Studio(StudioConfig(segmenter=segmenter, preview_size=200, **options))
    with TestClient(create_app(other), base_url="http://127.0.0.1") as client:
        info = upload(client, ballpark_photo.read_bytes(), "ballpark.jpg")
        assert info["people"] >= 1
        opened = other.get(info["id"])
    rgb = dof_io.read_rgb(ballpark_photo)
    image = torch.from_numpy(rgb).permute(2, 0, 1)[None].float() / 255
    with torch.inference_mode():
        expected = dof_seg.get_segmenter(segmenter, **options)(image).clamp(0, 1)
    torch.testing.assert_close(opened.mask, expected)


def test_the_bundled_gan_scales_its_map_and_keeps_the_clicked_person_in_focus(
    client: TestClient, ballpark: dict, studio: Studio, core
) -> None:
    """The default GAN is dof-gan's defocus model: its slider is the aperture (0 = the photo),
    a chosen person is forced into focus (their pixels are the photo's) and the others are not."""
    photo, info = studio.get(ballpark["id"]), ballpark
    assert info["methods"][-1] == "GAN"
    default, top = info["radius"]["GAN"]["default"], info["radius"]["GAN"]["max"]
    assert 0 < default < top
    closed = jpeg(client.get(f"/api/photos/{info['id']}/preview",
                             params={"method": "GAN", "radius": 0}))  # fmt: skip
    original = jpeg(client.get(f"/api/photos/{info['id']}/original"))
    assert np.abs(closed.astype(int) - original).mean() < 1.5  # JPEG rounding only
    wide = jpeg(client.get(f"/api/photos/{info['id']}/preview",
                           params={"method": "GAN", "radius": top}))  # fmt: skip
    narrow = jpeg(client.get(f"/api/photos/{info['id']}/preview",
                             params={"method": "GAN", "radius": default / 2}))  # fmt: skip
    assert np.abs(wide.astype(int) - original).mean() > np.abs(narrow.astype(int) - original).mean()
    _, data = render(client, info, method="GAN", people="1")
    got = dof_io.decode_rgb(data, "g.png").astype(int)
    full = photo.rgb.astype(int)
    labels = torch.nn.functional.interpolate(photo.labels.float(), size=full.shape[:2]).long()
    first = (photo.mask[0, 0].numpy() >= 0.999) & (labels[0, 0].numpy() == 1)
    assert first.sum() > 100
    assert np.abs(got - full)[first].max() == 0  # forced into focus: the photo's own pixels
    if photo.people > 1:  # the people not chosen are forced out of focus
        others = (photo.mask[0, 0].numpy() >= 0.999) & (labels[0, 0].numpy() > 1)
        assert np.abs(got - full)[others].mean() > 2
    assert np.abs(got - full)[~core(photo.mask[0, 0].numpy() > 0.01, 0)].mean() > 3
