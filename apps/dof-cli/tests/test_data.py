"""`dof data` end to end against the fake Flickr on 127.0.0.1 (dof_data.testing)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from dof_cli.main import dof
from dof_data import PRESETS, Manifest
from dof_data.testing import FakeFlickr, FakePhoto, photos_from_folder

KEY = "c0ffee00c0ffee00c0ffee00c0ffee00"


def invoke(args: list[str], env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(dof, ["data", *args], env=env, catch_exceptions=False)
    assert KEY not in result.output
    return result.exit_code, result.output


@pytest.fixture
def photos(coco_person: Path) -> list[FakePhoto]:
    ordinary = photos_from_folder(coco_person / "images", count=6, first_id=1000)
    for photo in ordinary:
        photo.camera = "apple/iphone_7"
    bokeh = photos_from_folder(
        coco_person / "images", count=12, text="portrait bokeh", first_id=2000
    )[6:]
    return ordinary + bokeh


def is_grey(data: bytes) -> bool:
    rgb = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=int)
    return bool(np.abs(rgb - rgb[..., :1]).max() <= 2)


def scrape_paper(root: Path, fake: FakeFlickr, *extra: str) -> tuple[int, str]:
    return invoke(
        [
            "scrape",
            "--root",
            str(root),
            "--preset",
            "paper",
            "--api-url",
            fake.url,
            "--timeout",
            "5",
            "--calls-per-hour",
            "1000000",
            *extra,
        ],
        env={"DOF_FLICKR_API_KEY": KEY},
    )


def test_presets_offered_are_the_packages() -> None:
    scrape = dof.get_command(None, "data").get_command(None, "scrape")  # type: ignore[union-attr,arg-type]
    choices = next(p.type.choices for p in scrape.params if p.name == "preset")  # type: ignore[attr-defined]
    assert sorted(choices) == sorted(PRESETS)


def test_scrape_dedup_filter_prepare_credits(tmp_path: Path, photos: list[FakePhoto]) -> None:
    photos = [*photos]
    root = tmp_path / "ds"
    with FakeFlickr(photos, api_key=KEY) as fake:
        code, out = scrape_paper(root, fake)
        assert code == 0, out
        assert "paper-A: 6 candidates (6 new)" in out and "paper-B: 6 candidates" in out
        assert "downloaded 12" in out
        searches = [c for c in fake.api_calls if c["method"] == "flickr.photos.search"]
        assert {c.get("camera") for c in searches} == {"apple/iphone_7", None}
        code, out = scrape_paper(root, fake)  # resumes: nothing new, nothing fetched again
        assert code == 0 and "downloaded 0" in out
        assert sum(fake.image_requests.values()) == 12

    code, out = invoke(["status", "--root", str(root)])
    assert code == 0
    assert out.splitlines()[1].split() == ["A", "0", "0", "6", "0", "6"]

    code, out = invoke(["dedup", "--root", str(root), "--no-small"])
    assert code == 0 and "dedup: 0 of 12 photos marked" in out
    assert (root / "dedup-report.md").is_file()

    code, out = invoke(["filter", "--root", str(root), "--no-person", "--min-side", "400"])
    assert code == 0, out
    greys = sum(is_grey(p.data) for p in photos)
    assert greys == 2  # the coco-person set has two black-and-white photos
    assert f"filter:monochrome: {greys} of 12" in out
    assert "filter:small" in out

    code, out = invoke(["prepare", "--root", str(root), "--size", "32", "--test-a", "2"])
    assert code == 0, out
    kept = Manifest(root)
    n_a = len(kept.photos(status="kept", domain="A"))
    kept.close()
    assert len(list((root / "prepared" / "testA").iterdir())) == 2
    assert len(list((root / "prepared" / "trainA").iterdir())) == n_a - 2

    code, out = invoke(["credits", "--root", str(root), "--out", str(tmp_path / "c.csv")])
    assert code == 0
    assert "https://www.flickr.com/photos/" in (tmp_path / "c.csv").read_text()


def test_custom_query_and_errors(tmp_path: Path, photos: list[FakePhoto]) -> None:
    root = tmp_path / "ds"
    with FakeFlickr(photos, api_key=KEY) as fake:
        code, out = invoke(
            [
                "scrape",
                "--root",
                str(root),
                "--api-url",
                fake.url,
                "--text",
                "portrait",
                "--exclude",
                "bokeh",
                "--domain",
                "A",
                "--name",
                "mine",
                "--license",
                "4,5",
                "--min-upload",
                "2017-01-01",
                "--search-only",
            ],
            env={"DOF_FLICKR_API_KEY": KEY},
        )
        assert code == 0, out
        assert "mine: 6 candidates" in out
        call = next(c for c in fake.api_calls if c["method"] == "flickr.photos.search")
        assert call["text"] == "portrait -bokeh" and call["license"] == "4,5"
        assert call["min_upload_date"] == "1483228800"
        code, out = invoke(
            ["scrape", "--root", str(root), "--api-url", fake.url, "--preset", "paper"],
            env={"DOF_FLICKR_API_KEY": "", "DOF_FLICKR_API_KEY_FILE": ""},
        )
        assert code == 1 and "no Flickr API key" in out
        code, out = invoke(
            ["scrape", "--root", str(root), "--api-url", fake.url, "--preset", "paper"],
            env={"DOF_FLICKR_API_KEY": "0" * 32},
        )
        assert code == 1 and "Flickr API error 100" in out and "DOF_FLICKR_API_KEY" in out
    code, out = invoke(["scrape", "--root", str(root), "--text", "x"])
    assert code == 2 and "--preset paper, or --domain" in out
    code, out = invoke(["status", "--root", str(tmp_path / "typo")])
    assert code == 1 and "no manifest at" in out


def test_import_reports_broken_files(tmp_path: Path, coco_person: Path) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    for path in sorted((coco_person / "images").glob("*.jpg"))[:3]:
        (folder / path.name).write_bytes(path.read_bytes())
    (folder / "broken.jpg").write_bytes(b"not a jpeg")
    code, out = invoke(["import", str(folder), "--domain", "B", "--root", str(tmp_path / "ds")])
    assert code == 1
    assert "3 photos imported into domain B" in out and "broken.jpg" in out
    code, out = invoke(["import", str(folder), "--domain", "B", "--root", str(tmp_path / "ds")])
    assert "3 already done" in out


def _has_dof_seg() -> bool:
    try:
        import dof_seg
    except ImportError:
        return False
    return hasattr(dof_seg, "get_segmenter")


def test_person_filter_uses_dof_seg_or_says_why_not(tmp_path: Path, coco_person: Path) -> None:
    """000000000790 shows people over 27% of the frame; 125870 and 126107 under 0.2%."""
    folder = tmp_path / "mine"
    folder.mkdir()
    for name in ("000000000790", "000000125870", "000000126107"):
        (folder / f"{name}.jpg").write_bytes((coco_person / "images" / f"{name}.jpg").read_bytes())
    root = str(tmp_path / "ds")
    invoke(["import", str(folder), "--domain", "A", "--root", root])
    code, out = invoke(
        ["filter", "--root", root, "--person", "--no-monochrome", "--no-small", "--device", "cpu"]
    )
    if _has_dof_seg():
        assert code == 0, out
        assert "filter:person:" in out
        with Manifest(root) as manifest:
            kept = {row.title for row in manifest.photos(status="kept")}
        assert "000000000790" in kept
    else:
        assert code == 1 and "needs dof-seg's selfie segmenter" in out
        code, out = invoke(["filter", "--root", root, "--no-monochrome", "--no-small"])
        assert code == 0 and "skipped" in out
