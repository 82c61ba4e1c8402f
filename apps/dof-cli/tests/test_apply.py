"""`dof apply` and `dof export` on a tiny trained run."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import dof_gan
import dof_io
from dof_cli.main import dof


def _photo(path: Path, h: int, w: int, *, alpha: bool = True) -> np.ndarray:
    rgb = np.random.default_rng(h * w).integers(0, 256, (h, w, 3), dtype=np.uint8)
    mask = np.zeros((h, w), np.float32)
    mask[h // 4 : 3 * h // 4, w // 4 : w // 2] = 1
    if alpha:
        dof_io.write_rgba(path, rgb, mask)
    else:
        dof_io.write_rgb(path, rgb)
    return rgb


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("data")
    for domain in "AB":
        for i in range(2):
            _photo(root / f"train{domain}" / f"{i}.png", 36, 40)
    config = dof_gan.config_from_options({
        "preset": "mask-overlay", "data": str(root), "size": 32, "ngf": 4, "ndf": 4,
        "n_blocks": 2, "vgg_weights": "none", "workers": 0, "max_steps": 1,
    })  # fmt: skip
    folder = tmp_path_factory.mktemp("runs") / "overlay"
    dof_gan.train(config, folder, progress=False)
    return folder


def _invoke(*args: str | Path) -> tuple[int, str]:
    result = CliRunner().invoke(dof, [str(a) for a in args])
    return result.exit_code, result.output


def test_apply_full_size_with_overlay_and_both(run: Path, tmp_path: Path) -> None:
    rgb = _photo(tmp_path / "in" / "wide.png", 45, 70)
    code, output = _invoke("apply", "-c", run, tmp_path / "in", "-o", tmp_path / "out", "--both")
    assert code == 0, output
    assert "1 photos translated" in output
    plain = dof_io.read_rgb(tmp_path / "out" / "wide.png")
    over = dof_io.read_rgb(tmp_path / "out" / "wide_overlay.png")
    assert plain.shape == over.shape == (45, 70, 3)
    person = dof_io.read_mask(tmp_path / "in" / "wide.png") == 1
    assert np.array_equal(over[person], rgb[person])
    assert not np.array_equal(plain[person], rgb[person])
    assert np.array_equal(over[~person], plain[~person])


def test_overlay_preset_without_overlay_gets_a_note(run: Path, tmp_path: Path) -> None:
    _photo(tmp_path / "p.png", 20, 24)
    code, output = _invoke("apply", "-c", run, tmp_path / "p.png", "-o", tmp_path / "out")
    assert code == 0, output
    assert "mask-overlay models are meant to be used with --overlay" in output


def test_failures_are_reported_and_skipped(run: Path, tmp_path: Path) -> None:
    photos = tmp_path / "in"
    _photo(photos / "good.png", 24, 28)
    _photo(photos / "nomask.jpg", 24, 28, alpha=False)
    (photos / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    masks = tmp_path / "masks"
    masks.mkdir()
    dof_io.write_rgba(masks / "good.png", np.zeros((24, 28, 3), np.uint8), np.ones((24, 28)))
    code, output = _invoke(
        "apply", "-c", run, photos, "-o", tmp_path / "out", "--overlay", "--masks", masks
    )
    assert code == 1
    assert "1 photos translated" in output and "2 failed" in output
    assert "broken.jpg" in output and "nomask.jpg: no mask" in output
    assert (tmp_path / "out" / "good.png").is_file()
    assert not (tmp_path / "out" / "broken.png").exists()


def test_existing_outputs_are_kept_unless_overwrite(run: Path, tmp_path: Path) -> None:
    _photo(tmp_path / "p.png", 20, 24)
    out = tmp_path / "out"
    out.mkdir()
    (out / "p.png").write_bytes(b"earlier result")
    code, output = _invoke("apply", "-c", run, tmp_path / "p.png", "-o", out)
    assert code == 0 and "1 already done (skipped)" in output
    assert (out / "p.png").read_bytes() == b"earlier result"
    code, output = _invoke("apply", "-c", run, tmp_path / "p.png", "-o", out, "--overwrite")
    assert code == 0 and dof_io.read_rgb(out / "p.png").shape == (20, 24, 3)


def test_never_writes_over_the_photo(run: Path, tmp_path: Path) -> None:
    _photo(tmp_path / "p.png", 20, 24)
    before = (tmp_path / "p.png").read_bytes()
    code, output = _invoke("apply", "-c", run, tmp_path / "p.png", "-o", tmp_path)
    assert code == 1 and "would overwrite the photo itself" in output
    assert (tmp_path / "p.png").read_bytes() == before


def test_export_then_apply_gives_the_same_pixels(run: Path, tmp_path: Path) -> None:
    code, output = _invoke("export", run, "-o", tmp_path / "G.safetensors")
    assert code == 0, output
    sidecar = json.loads((tmp_path / "G.json").read_text())
    assert sidecar["direction"] == "AtoB" and sidecar["preset"] == "mask-overlay"
    _photo(tmp_path / "in" / "p.png", 30, 34)
    for source, out in ((run, "a"), (tmp_path / "G.safetensors", "b")):
        code, output = _invoke("apply", "-c", source, tmp_path / "in", "-o", tmp_path / out)
        assert code == 0, output
    assert np.array_equal(
        dof_io.read_rgb(tmp_path / "a" / "p.png"), dof_io.read_rgb(tmp_path / "b" / "p.png")
    )


def test_export_reports_a_bad_source(tmp_path: Path) -> None:
    (tmp_path / "junk.pt").write_bytes(b"nope")
    code, output = _invoke("export", tmp_path / "junk.pt", "-o", tmp_path / "G.safetensors")
    assert code == 1 and "junk.pt: is not a PyTorch checkpoint" in output


def test_under_torchrun_each_rank_translates_its_share(run: Path, tmp_path: Path) -> None:
    for name in "abcde":
        _photo(tmp_path / "in" / f"{name}.png", 24, 28)
    args = ["apply", "-c", str(run), str(tmp_path / "in"), "-o", str(tmp_path / "out")]
    for rank in ("1", "0"):  # rank 1 first: what it wrote must not change rank 0's share
        env = {"RANK": rank, "WORLD_SIZE": "2", "LOCAL_RANK": rank}
        result = CliRunner(env=env).invoke(dof, args)
        assert result.exit_code == 0, result.output
    written = sorted(p.stem for p in (tmp_path / "out").glob("*.png"))
    assert written == list("abcde")  # together: every photo once
    assert "3 photos translated" in result.output  # rank 0: a, c, e


def test_max_memory_tiles_a_photo_into_the_same_picture(run: Path, tmp_path: Path) -> None:
    y, x = np.mgrid[0:200, 0:260] / 40.0  # a smooth picture, as photos are at this scale
    smooth = np.stack([np.sin(x) + y / 5, np.cos(y + x / 3), np.sin(x * y / 8)], axis=-1)
    rgb = ((smooth - smooth.min()) / np.ptp(smooth) * 255).astype(np.uint8)
    dof_io.write_rgb(tmp_path / "in" / "big.png", rgb)
    from dof_gan import load_generator
    from dof_gan.tiling import (
        BASE_BYTES,
        MIN_TILE,
        PHOTO_BYTES_PER_PIXEL,
        context_margin,
        generator_bytes_per_pixel,
        plan_tile,
    )  # fmt: skip

    generator = load_generator(run)
    side = MIN_TILE + 2 * context_margin(generator) + 16  # room for tiles near the smallest
    need = (
        BASE_BYTES
        + PHOTO_BYTES_PER_PIXEL * 200 * 260
        + generator_bytes_per_pixel(generator) * side**2
    )
    tight = f"{math.ceil(need / 2**30 * 1e4) / 1e4:.4f}"
    assert plan_tile(generator, 200, 260, int(float(tight) * 2**30)) is not None  # it tiles
    outputs = {}
    for budget in ("8", tight):  # the tight budget: small tiles, still within it
        out = tmp_path / f"out{budget}"
        code, output = _invoke("apply", "-c", run, tmp_path / "in", "-o", out,
                               "--max-memory", budget)  # fmt: skip
        assert code == 0, output
        outputs[budget] = dof_io.read_rgb(out / "big.png").astype(int)
    assert outputs["8"].shape == outputs[tight].shape == (200, 260, 3)
    assert np.abs(outputs["8"] - outputs[tight]).mean() < 4
    code, output = _invoke("apply", "-c", run, tmp_path / "in", "-o", tmp_path / "none",
                           "--max-memory", "0.25")  # fmt: skip
    assert code == 1 and "too large for the memory budget; lower the size or raise" in output
