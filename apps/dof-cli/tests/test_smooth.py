"""`dof smooth` on real photos: masks from a folder or a segmenter, resume, bad files, safety."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from dof_cli.main import dof
from dof_io import read_mask, read_rgb, write_rgb, write_rgba

PHOTOS = ("000000253956", "000000519208")


@pytest.fixture
def job(tmp_path: Path, coco_person: Path) -> tuple[Path, Path]:
    """photos/ with two COCO photos; masks/ with a grey mask for one and an RGBA mask for the
    other (dof-seg's format)."""
    photos, masks = tmp_path / "photos", tmp_path / "masks"
    photos.mkdir()
    masks.mkdir()
    for stem in PHOTOS:
        shutil.copy(coco_person / "images" / f"{stem}.jpg", photos / f"{stem}.jpg")
    shutil.copy(coco_person / "masks" / f"{PHOTOS[0]}.png", masks / f"{PHOTOS[0]}.png")
    rgb = read_rgb(photos / f"{PHOTOS[1]}.jpg")
    write_rgba(
        masks / f"{PHOTOS[1]}.png", rgb, read_mask(coco_person / "masks" / f"{PHOTOS[1]}.png")
    )
    return photos, masks


def run(*args: object) -> tuple[int, str]:
    result = CliRunner().invoke(dof, ["smooth", *map(str, args)])
    return result.exit_code, result.output


def as_tensor(array: object) -> torch.Tensor:
    return torch.as_tensor(array).float()


@pytest.mark.parametrize("method", ["box", "lens"])
def test_blurs_the_background_and_keeps_the_people(job, tmp_path: Path, method: str) -> None:  # type: ignore[no-untyped-def]
    photos, masks = job
    out = tmp_path / "out"
    code, output = run(photos, "--masks", masks, "-o", out, "--method", method, "--device", "cpu")
    assert code == 0, output
    assert "2 photos written" in output
    for stem in PHOTOS:
        photo = as_tensor(read_rgb(photos / f"{stem}.jpg"))
        result = as_tensor(read_rgb(out / f"{stem}.png"))
        assert result.shape == photo.shape
        mask = as_tensor(read_mask(masks / f"{stem}.png"))[..., None].expand_as(photo)
        inner = torch.nn.functional.max_pool2d(-mask.permute(2, 0, 1)[None], 7, 1, 3)
        subject = (-inner[0].permute(1, 2, 0)) > 0.5  # 3 px inside the outline
        background = mask < 0.5
        assert float((result - photo)[subject].abs().max()) <= 1.0
        assert float((result - photo)[background].abs().mean()) > 3.0


def test_resumes_and_overwrites_on_request(job, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    photos, masks = job
    out = tmp_path / "out"
    assert run(photos, "--masks", masks, "-o", out, "--method", "box")[0] == 0
    stamp = (out / f"{PHOTOS[0]}.png").stat().st_mtime_ns
    code, output = run(photos, "--masks", masks, "-o", out, "--method", "box")
    assert code == 0 and "0 photos written" in output and "2 already done (skipped)" in output
    assert (out / f"{PHOTOS[0]}.png").stat().st_mtime_ns == stamp
    code, output = run(photos, "--masks", masks, "-o", out, "--method", "gaussian", "--overwrite")
    assert code == 0 and "2 photos written" in output


def test_bad_and_unmatched_files_are_reported_and_skipped(job, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    photos, masks = job
    (photos / "broken.jpg").write_bytes(b"not a jpeg")
    shutil.copy(photos / f"{PHOTOS[0]}.jpg", photos / "nomask.jpg")
    small = read_rgb(photos / f"{PHOTOS[0]}.jpg")[:100, :100]
    write_rgb(photos / "wrongsize.png", small)
    shutil.copy(masks / f"{PHOTOS[0]}.png", masks / "wrongsize.png")
    out = tmp_path / "out"
    code, output = run(photos, "--masks", masks, "-o", out, "--method", "box")
    assert code == 1
    assert "2 photos written" in output and "3 failed" in output
    assert "broken.jpg: not an image file" in output
    assert f"no mask {masks / 'nomask.png'}" in output
    assert "is 449x640 but its photo is 100x100" in output
    outputs = sorted(p.name for p in out.iterdir() if not p.name.startswith(".dof.lock"))
    assert outputs == [f"{s}.png" for s in PHOTOS]


def test_never_overwrites_an_input(job, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    photos, masks = job
    photo = photos / "portrait.png"
    write_rgb(photo, read_rgb(photos / f"{PHOTOS[0]}.jpg"))
    shutil.copy(masks / f"{PHOTOS[0]}.png", masks / "portrait.png")
    before = photo.read_bytes(), (masks / "portrait.png").read_bytes()
    code, output = run(photo, "--masks", masks, "-o", photos)
    assert code == 1 and "would overwrite the photo itself" in output
    code, output = run(photo, "--masks", masks, "-o", masks)
    assert code == 1 and "is an input (photo, mask or depth map)" in output
    assert (photo.read_bytes(), (masks / "portrait.png").read_bytes()) == before


def test_two_photos_with_one_output_name(job, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    photos, masks = job
    write_rgb(photos / f"{PHOTOS[0]}.png", read_rgb(photos / f"{PHOTOS[0]}.jpg"))
    code, output = run(photos, "--masks", masks, "-o", tmp_path / "out", "--method", "box")
    assert code == 1 and "rename one of them" in output


def test_jpeg_output_and_depth_maps(job, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    photos, masks = job
    out = tmp_path / "out"
    code, output = run(
        photos / f"{PHOTOS[0]}.jpg", "--masks", masks, "-o", out, "--format", "jpg",
        "--depths", masks, "--disparity", "--radius", "6", "--blades", "6", "--highlights", "3",
    )  # fmt: skip
    assert code == 0, output
    assert read_rgb(out / f"{PHOTOS[0]}.jpg").shape == read_rgb(photos / f"{PHOTOS[0]}.jpg").shape


def test_needs_exactly_one_mask_source(job, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    photos, masks = job
    code, output = run(photos, "-o", tmp_path / "out")
    assert code == 2 and "give exactly one of --masks DIR and --segmenter NAME" in output
    code, output = run(photos, "--masks", masks, "--segmenter", "selfie", "-o", tmp_path / "o")
    assert code == 2
    code, output = run(photos, "--masks", masks, "-o", tmp_path / "o", "--blades", "2")
    assert code == 1 and "blades must be 0 (round) or >= 3; got 2" in output
    code, output = run(
        photos, "--masks", masks, "-o", tmp_path / "o", "--method", "box", "--blades", "6"
    )
    assert code == 1 and "blades only apply to method='lens', not 'box'" in output


def test_segmenter_computes_the_masks(job, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    photos, _ = job  # selfie ships with dof-seg: no download, so no reason to skip
    out = tmp_path / "out"
    code, output = run(photos / f"{PHOTOS[0]}.jpg", "--segmenter", "selfie", "-o", out)
    assert code == 0, output
    assert (out / f"{PHOTOS[0]}.png").is_file()
    code, output = run(photos, "--segmenter", "no-such-model", "-o", out)
    assert code == 2 and "no-such-model" in output
