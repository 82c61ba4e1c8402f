"""`dof-train`: option checking before any work, dry runs, resume, and a real-photo run."""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

import dof_io
from dof_cli.main import dof
from dof_cli.train import main

TINY = ["--size", "32", "--ngf", "4", "--ndf", "4", "--n-blocks", "2", "--vgg-weights", "none",
        "--workers", "0", "--epochs", "1", "--epochs-decay", "1", "--device", "cpu"]  # fmt: skip


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(0)
    for domain in "AB":
        for i in range(3):
            rgb = rng.integers(0, 256, (40, 44, 3), dtype=np.uint8)
            mask = np.zeros((40, 44), np.float32)
            mask[10:30, 15:30] = 1
            dof_io.write_rgba(root / f"train{domain}" / f"{i}.png", rgb, mask)
    return root


@pytest.mark.parametrize("preset", ["cyclegan", "mask-loss", "mask-overlay", "combined"])
def test_dry_run_prints_the_resolved_config(tmp_path: Path, preset: str) -> None:
    out = tmp_path / "runs" / "portrait"
    args = ["--preset", preset, "--data", "photos", "--out", str(out), "--dry-run"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    config = json.loads(result.output)
    assert config["preset"] == preset and config["name"] == "portrait"
    assert Path(config["data"]["root"]).is_absolute()
    weight = {"cyclegan": 0.0, "mask-loss": 10.0, "mask-overlay": 0.0, "combined": 5.0}[preset]
    assert config["loss"]["lambda_mask_pixel"] == config["loss"]["lambda_mask_vgg"] == weight
    assert config["mask_overlay"] == (preset in ("mask-overlay", "combined"))
    assert not out.exists()  # nothing written


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--preset", "combined", "--size", "250"], "--size: must be a multiple of 4"),
        (["--preset", "combined", "--batch-size", "0"], "--batch-size: must be at least 1"),
        (["--preset", "pix2pix"], "--preset: choose one of cyclegan, mask-loss, mask-overlay"),
        (["--size", "64"], "--preset: choose one of"),
        (
            ["--preset", "combined", "--precision", "fp16", "--device", "cpu"],
            "--precision: fp16 needs a CUDA device",
        ),
    ],
)
def test_bad_options_are_refused_before_any_work(
    tmp_path: Path, args: list[str], message: str
) -> None:
    out = tmp_path / "run"
    result = CliRunner().invoke(main, [*args, "--data", str(tmp_path), "--out", str(out)])
    assert result.exit_code == 2
    assert message in result.output
    assert not out.exists()


def test_refuses_an_existing_run_without_resume(tmp_path: Path, tiny_data: Path) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / "config.json").write_text("{}")
    (out / "log.jsonl").write_text('{"step": 1}\n')  # a started run, not a failed start
    args = ["--preset", "combined", "--data", str(tiny_data), "--out", str(out), *TINY]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    assert "already exists and is not empty: continue that run with --resume" in result.output


def test_stop_and_resume_through_the_command_line(tmp_path: Path, tiny_data: Path) -> None:
    out = tmp_path / "run"
    start = ["--preset", "combined", "--data", str(tiny_data), "--out", str(out), *TINY]
    result = CliRunner().invoke(main, [*start, "--max-steps", "2", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert (
        f"stopped at step 2 with a checkpoint; continue with dof-train --out {out}" in result.output
    )
    changed = CliRunner().invoke(main, ["--out", str(out), "--resume", "--size", "64"])
    assert changed.exit_code == 2
    assert "--size: this run was started with 32" in changed.output
    dry = CliRunner().invoke(main, ["--out", str(out), "--resume", "--dry-run"])
    assert json.loads(dry.output)["max_steps"] is None  # a resumed run goes to the end
    resume = ["--out", str(out), "--resume", "--no-progress", "--precision", "bf16"]
    done = CliRunner().invoke(main, [*resume, "--channels-last"])  # another precision and layout
    assert done.exit_code == 0, done.output
    assert "finished run: 6 steps, 2 epochs" in done.output
    steps = [json.loads(line)["step"] for line in (out / "log.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3, 4, 5, 6]
    saved = json.loads((out / "config.json").read_text())
    assert (saved["precision"], saved["channels_last"]) == ("bf16", True)


def _real_dataset(
    coco: Path, root: Path, portrait_blur: Callable[..., torch.Tensor]
) -> tuple[list[str], Path]:
    """Domain A: COCO photos with their masks (maskA/). Domain B: other COCO photos rendered
    with dof-smooth's lens blur (a stand-in for real shallow-DoF photos), mask as alpha."""
    import csv

    with (coco / "manifest.csv").open() as handle:
        ids = [row["file"].removesuffix(".jpg") for row in csv.DictReader(handle)][:8]
    for stem in ids[:4]:
        shutil.copy(coco / "images" / f"{stem}.jpg", root / "trainA" / f"{stem}.jpg")
        shutil.copy(coco / "masks" / f"{stem}.png", root / "maskA" / f"{stem}.png")
    for stem in ids[4:]:
        rgb = dof_io.read_rgb(coco / "images" / f"{stem}.jpg")
        mask = dof_io.read_mask(coco / "masks" / f"{stem}.png")
        image = torch.from_numpy(rgb).permute(2, 0, 1)[None].float() / 255
        blurred = portrait_blur(image, torch.from_numpy(mask)[None, None], method="lens")
        out = (blurred[0].permute(1, 2, 0) * 255).round().clamp(0, 255).byte().numpy()
        dof_io.write_rgba(root / "trainB" / f"{stem}.png", out, mask)
    return ids[:4], root


@pytest.mark.slow
def test_real_photos_end_to_end(tmp_path: Path, coco_person: Path) -> None:
    """A short combined-preset run on real photos (B rendered by dof-smooth), then `dof apply`."""
    import dof_smooth

    for folder in ("trainA", "maskA", "trainB"):
        (tmp_path / "data" / folder).mkdir(parents=True)
    stems, data = _real_dataset(coco_person, tmp_path / "data", dof_smooth.portrait_blur)
    run = tmp_path / "run"
    args = ["--preset", "combined", "--data", str(data), "--out", str(run), "--size", "64",
            "--ngf", "8", "--ndf", "8", "--n-blocks", "2", "--vgg-weights", "none",
            "--workers", "0", "--max-steps", "6", "--sample-every", "3", "--device", "cpu",
            "--no-progress"]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert [row["step"] for row in rows] == [1, 2, 3, 4, 5, 6]
    assert all(math.isfinite(v) for row in rows for v in row["losses"].values())
    assert rows[0]["losses"]["mask_A"] > 0
    assert (run / "samples" / "step_0000003.png").is_file()
    photo = data / "trainA" / f"{stems[0]}.jpg"
    out = tmp_path / "out"
    command = ["apply", "-c", str(run), str(photo), "-o", str(out), "--overlay",
               "--masks", str(data / "maskA"), "--device", "cpu"]  # fmt: skip
    applied = CliRunner().invoke(dof, command)
    assert applied.exit_code == 0, applied.output
    original = dof_io.read_rgb(photo)
    output = dof_io.read_rgb(tmp_path / "out" / f"{stems[0]}.png")
    assert output.shape == original.shape  # full size, not the 64 px training crop
    person = dof_io.read_mask(data / "maskA" / f"{stems[0]}.png") == 1
    assert np.array_equal(output[person], original[person])


@pytest.mark.slow
def test_nproc_two_trains_in_two_processes(tmp_path: Path, tiny_data: Path) -> None:
    out = tmp_path / "run"
    args = ["--preset", "combined", "--data", str(tiny_data), "--out", str(out), *TINY,
            "--nproc", "2", "--max-steps", "2", "--no-progress"]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    state = torch.load(out / "checkpoints" / "last.pt", weights_only=True)
    assert (state["step"], state["world_size"]) == (2, 2)


def test_the_defaults_help_names_are_the_configs() -> None:
    """dof-train's options default to None (the preset decides) and name the default in their
    help, so that `--help` needs no torch: each named default must be dof_gan's own."""
    import re

    from dof_gan import TrainConfig
    from dof_gan.options import OPTION_FIELDS

    config, named = TrainConfig(name="x", preset="cyclegan"), 0
    for param in main.params:
        help_text = getattr(param, "help", None) or ""
        found = re.search(r"\(default ([\w.+-]+)[):]", help_text) or re.search(
            r"(\w+) \((?:[^()]*, )?default\)", help_text
        )
        if found is None or param.name not in OPTION_FIELDS:
            continue
        value: object = config
        for part in OPTION_FIELDS[param.name].split("."):
            value = getattr(value, part)
        text = {True: "on", False: "off"}.get(value, value) if isinstance(value, bool) else value
        said = found[1]
        assert str(text) == said or (isinstance(value, float) and float(said) == value), param.name
        named += 1
    assert named >= 12  # the check ran over the options that name a default
