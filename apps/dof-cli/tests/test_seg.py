"""`dof seg`, `dof seg eval`, `dof seg train` through the real command line (CliRunner)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from dof_cli.main import dof
from dof_io import read_mask, write_rgb
from dof_io.testing import make_bad_files


def photo(height: int, width: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 90, (height, width, 3))
    image[height // 4 : 3 * height // 4, width // 3 : 2 * width // 3] = [220, 180, 160]
    return image.astype(np.uint8)


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    folder = tmp_path / "photos"
    for index, (h, w) in enumerate([(48, 64), (64, 48)]):
        write_rgb(folder / f"p{index}.jpg", photo(h, w, index))
    return folder


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(dof, ["seg", *args])
    return result.exit_code, result.output


def test_default_subcommand_writes_rgba_and_resumes(photos: Path, tmp_path: Path) -> None:
    out = tmp_path / "masks"
    code, output = invoke(str(photos), "-o", str(out))
    assert code == 0, output
    assert "2 masks written" in output
    for stem in ("p0", "p1"):
        assert Image.open(out / f"{stem}.png").mode == "RGBA"
    code, output = invoke(str(photos), "-o", str(out))  # resume: nothing to do
    assert code == 0 and "2 already done (skipped)" in output


def test_explicit_run_with_options(photos: Path, tmp_path: Path) -> None:
    out = tmp_path / "masks"
    code, output = invoke(
        "run",
        str(photos / "p0.jpg"),
        "-o",
        str(out),
        "--model",
        "landscape",
        "--threshold",
        "0.5",
        "--keep",
        "largest",
        "--fill-holes",
        "0.01",
        "--device",
        "cpu",
    )
    assert code == 0, output
    alpha = np.asarray(Image.open(out / "p0.png"))[..., 3]
    assert set(np.unique(alpha).tolist()) <= {0, 255}


def test_bad_files_are_named_and_exit_1(photos: Path, tmp_path: Path) -> None:
    bad = make_bad_files(tmp_path / "bad")
    code, output = invoke(
        str(photos), str(bad["truncated.jpg"]), str(bad["empty.jpg"]), "-o", str(tmp_path / "out")
    )
    assert code == 1
    assert "truncated.jpg" in output and "empty.jpg" in output
    assert "2 masks written" in output and "2 failed" in output
    assert (tmp_path / "out" / "p0.png").exists()


def test_unknown_segmenter_and_foreign_option(photos: Path, tmp_path: Path) -> None:
    code, output = invoke(str(photos), "-o", str(tmp_path), "--segmenter", "sam")
    assert code == 2 and "selfie" in output and "deeplabv3plus" in output
    code, output = invoke(str(photos), "-o", str(tmp_path), "--backbone", "resnet50")
    assert code == 2 and "do not apply to segmenter 'selfie'" in output


def test_deeplabv3plus_without_checkpoint_says_what_to_do(photos: Path, tmp_path: Path) -> None:
    code, output = invoke(str(photos), "-o", str(tmp_path), "--segmenter", "deeplabv3plus")
    assert code == 2 and "dof seg train" in output


def test_precomputed_copies_masks_into_rgba(photos: Path, tmp_path: Path) -> None:
    given = tmp_path / "given"
    given.mkdir()
    for stem, size in (("p0", (48, 64)), ("p1", (64, 48))):
        Image.fromarray(np.full(size, 255, np.uint8), mode="L").save(given / f"{stem}.png")
    out = tmp_path / "out"
    code, output = invoke(
        str(photos), "-o", str(out), "--segmenter", "precomputed", "--masks-dir", str(given)
    )
    assert code == 0, output
    assert read_mask(out / "p1.png").min() == 1.0


def test_eval_prints_per_image_and_mean(tmp_path: Path) -> None:
    gt, pred = tmp_path / "gt", tmp_path / "pred"
    gt.mkdir()
    pred.mkdir()
    full, half = np.full((8, 8), 255, np.uint8), np.zeros((8, 8), np.uint8)
    half[:, :4] = 255
    Image.fromarray(full, mode="L").save(gt / "a.png")
    Image.fromarray(half, mode="L").save(pred / "a.png")
    Image.fromarray(full, mode="L").save(gt / "b.png")
    Image.fromarray(full, mode="L").save(pred / "b.png")
    Image.fromarray(half, mode="L").save(gt / "b_crowd.png")
    code, output = invoke(
        "eval",
        "--masks",
        str(gt),
        str(pred),
        "--json",
        str(tmp_path / "s.json"),
        "--csv",
        str(tmp_path / "s.csv"),
    )
    assert code == 0, output
    assert "a\t0.5000" in output and "b\t1.0000" in output and "mean IoU\t0.7500" in output
    assert json.loads((tmp_path / "s.json").read_text())["mean_iou"] == 0.75
    assert (tmp_path / "s.csv").read_text().startswith("name,iou")


def test_eval_missing_prediction_exits_1(tmp_path: Path) -> None:
    gt, pred = tmp_path / "gt", tmp_path / "pred"
    gt.mkdir()
    pred.mkdir()
    Image.fromarray(np.full((4, 4), 255, np.uint8), mode="L").save(gt / "lonely.png")
    code, output = invoke("eval", "--masks", str(gt), str(pred))
    assert code == 1 and "lonely" in output and "no prediction" in output


def test_train_dry_run_and_a_few_steps(photos: Path, tmp_path: Path) -> None:
    masks = tmp_path / "masks"
    assert invoke(str(photos), "-o", str(masks), "--threshold", "0.5")[0] == 0
    train = ["train", str(photos), str(masks), "-o", str(tmp_path / "run"),
             "--encoder", "resnet18", "--encoder-weights", "none", "--size", "32"]  # fmt: skip
    code, output = invoke(
        *train,
        "--dry-run",
    )
    assert code == 0 and json.loads(output)["encoder_weights"] is None
    code, output = invoke(
        *train,
        "--batch-size",
        "2",
        "--steps",
        "2",
        "--device",
        "cpu",
    )
    assert code == 0, output
    checkpoint = tmp_path / "run" / "model.safetensors"
    assert checkpoint.exists()
    code, output = invoke(
        str(photos),
        "-o",
        str(tmp_path / "again"),
        "--segmenter",
        "deeplabv3plus",
        "--checkpoint",
        str(checkpoint),
    )
    assert code == 0, output


def test_train_bad_size_is_a_usage_error(photos: Path, tmp_path: Path) -> None:
    code, output = invoke("train", str(photos), str(photos), "-o", str(tmp_path), "--size", "50")
    assert code == 2 and "multiple of 16" in output


def test_help_mentions_default_subcommand() -> None:
    code, output = invoke("--help")
    assert code == 0 and "PHOTOS" in output and "eval" in output and "train" in output
