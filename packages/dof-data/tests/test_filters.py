"""Filters on the real coco-person photos (imported), with planted grey and sepia versions."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dof_data import (
    ConfigError,
    Manifest,
    chroma_spread,
    dedup,
    filter_camera,
    filter_monochrome,
    filter_no_person,
    filter_small,
    import_folder,
)
from dof_io import read_mask, read_rgb


def test_chroma_spread_is_zero_for_grey_and_toned_and_high_for_colour() -> None:
    y = np.linspace(0, 255, 64)[None, :].repeat(48, axis=0)  # (48, 64)
    grey = np.stack([y, y, y], axis=-1).astype(np.uint8)
    sepia = np.stack([y, y * 0.8, y * 0.6], axis=-1).astype(np.uint8)  # one hue, any brightness
    rng = np.random.default_rng(0)
    colour = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    assert chroma_spread(grey) == pytest.approx(0.0, abs=1e-9)
    assert chroma_spread(sepia) < 0.5
    assert chroma_spread(colour) > 10.0
    with pytest.raises(ConfigError, match=r"\(H, W, 3\)"):
        chroma_spread(grey[..., 0])


@pytest.fixture
def imported(tmp_path: Path, coco_person: Path) -> Manifest:
    """All 45 coco-person photos in domain A, plus grey and sepia versions of one of them."""
    source = coco_person / "images"
    extra = tmp_path / "extra"
    extra.mkdir()
    photo = Image.open(source / "000000000790.jpg").convert("RGB")
    photo.convert("L").convert("RGB").save(extra / "grey.jpg", quality=92)
    matrix = np.array([[0.393, 0.769, 0.189], [0.349, 0.686, 0.168], [0.272, 0.534, 0.131]])
    toned = np.clip(np.asarray(photo, dtype=np.float64) @ matrix.T, 0, 255).astype(np.uint8)
    Image.fromarray(toned).save(extra / "sepia.jpg", quality=92)
    manifest = Manifest(tmp_path / "dataset", create=True)
    assert import_folder(manifest, source, "A").added == 45
    assert import_folder(manifest, extra, "B").added == 2
    return manifest


def test_monochrome_filter_finds_the_grey_and_sepia_photos_only(
    imported: Manifest, coco_person: Path
) -> None:
    greys = set()
    for path in sorted((coco_person / "images").glob("*.jpg")):
        rgb = read_rgb(path).astype(int)
        if np.abs(rgb - rgb[..., :1]).max() <= 2:  # every channel equal: a black-and-white photo
            greys.add(path.stem)
    assert len(greys) == 2  # the coco-person set holds two real black-and-white photos
    report = filter_monochrome(imported)
    assert {imported.get(m.photo_id).title for m in report.marks} == greys | {"grey", "sepia"}  # type: ignore[union-attr]
    assert all(m.rule == "monochrome" and "chroma spread" in m.reason for m in report.marks)


def test_small_filter_uses_the_short_side(imported: Manifest, coco_person: Path) -> None:
    with (coco_person / "manifest.csv").open() as handle:
        small = {
            row["file"][:-4]
            for row in csv.DictReader(handle)
            if min(int(row["width"]), int(row["height"])) < 425
        }
    if "000000000790" in small:  # the grey and sepia versions have its size
        small |= {"grey", "sepia"}
    report = filter_small(imported, min_side=425)
    assert 2 < len(small) < 45
    assert {imported.get(m.photo_id).title for m in report.marks} == small  # type: ignore[union-attr]


def test_person_filter_with_an_injected_segmenter(imported: Manifest, coco_person: Path) -> None:
    """The segmenter here is the ground truth: the coco-person masks, looked up by pixels."""
    truth = {}
    for path in sorted((coco_person / "images").glob("*.jpg")):
        mask = read_mask(coco_person / "masks" / f"{path.stem}.png")
        truth[hashlib.sha1(read_rgb(path).tobytes()).hexdigest()] = float((mask > 0.5).mean())
    seen = []

    def person_fraction(rgb: np.ndarray) -> float:
        seen.append(rgb.shape)
        return truth.get(hashlib.sha1(rgb.tobytes()).hexdigest(), 0.5)

    report = filter_no_person(imported, person_fraction, min_fraction=0.0019)
    with (coco_person / "manifest.csv").open() as handle:
        expected = {
            row["file"][:-4]
            for row in csv.DictReader(handle)
            if float(row["person_area_frac"]) < 0.0019
        }
    assert len(expected) == 3
    assert {imported.get(m.photo_id).title for m in report.marks} == expected  # type: ignore[union-attr]
    assert len(seen) == 47 and all(len(shape) == 3 and shape[2] == 3 for shape in seen)
    with pytest.raises(ConfigError, match=r"value in \[0, 1\]"):
        filter_no_person(imported, lambda rgb: 42.0)


def test_camera_filter_reads_exif(tmp_path: Path, coco_person: Path) -> None:
    folder = tmp_path / "phone"
    folder.mkdir()
    photo = Image.open(coco_person / "images" / "000000000790.jpg").convert("RGB")
    for name, make, model in [
        ("a", "Apple", "iPhone 7"),
        ("b", "Canon", "Canon EOS 5D"),
        ("c", None, None),
    ]:
        exif = Image.Exif()
        if make:
            exif[0x010F], exif[0x0110] = make, model
        photo.rotate(90 * "abc".index(name), expand=True).save(folder / f"{name}.jpg", exif=exif)
    manifest = Manifest(tmp_path / "dataset", create=True)
    import_folder(manifest, folder, "A")
    assert {row.title: row.camera for row in manifest.photos()} == {
        "a": "Apple iPhone 7",
        "b": "Canon EOS 5D",
        "c": None,
    }
    marked = {manifest.get(m.photo_id).title for m in filter_camera(manifest, "iPhone 7").marks}  # type: ignore[union-attr]
    assert marked == {"b"}
    strict = filter_camera(manifest, "iphone 7", keep_unknown=False)
    assert {manifest.get(m.photo_id).title for m in strict.marks} == {"b", "c"}  # type: ignore[union-attr]


def test_stages_keep_their_own_marks(imported: Manifest) -> None:
    filter_monochrome(imported)
    dedup(imported)
    grey = next(r for r in imported.photos() if r.title == "grey")
    reasons = grey.reason.split("; ")
    assert grey.status == "removed"
    assert any("near duplicate" in r for r in reasons) and any("chroma" in r for r in reasons)
    filter_monochrome(imported, max_spread=0.0)  # rerun that marks nothing
    assert "chroma" not in imported.get(grey.id).reason  # type: ignore[union-attr]
    assert imported.get(grey.id).status == "removed"  # type: ignore[union-attr]  # dedup's mark stays
    assert {m.stage for m in imported.marks()} == {"dedup"}
