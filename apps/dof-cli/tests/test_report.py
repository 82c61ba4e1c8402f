"""`dof report` from two real (tiny, CPU) training runs and `dof paired-bench`, on real photos."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

import dof_io
from dof_cli.main import dof
from dof_eval.testing import find_chromium

PHOTOS = ("000000253956", "000000519208", "000000501760", "000000229358")
TINY = ["--size", "32", "--ngf", "4", "--ndf", "4", "--n-blocks", "2", "--vgg-weights", "none",
        "--workers", "0", "--epochs", "1", "--epochs-decay", "1", "--device", "cpu",
        "--sample-every", "2", "--no-progress"]  # fmt: skip


def images_in_browser(page: Path) -> list[tuple[str, bool, int]]:
    """Open ``page`` in real headless chromium: (src, complete, naturalWidth) of every <img>."""
    executable = find_chromium()
    if executable is None:
        pytest.skip("no chromium binary found (apt-get install chromium, or set DOF_CHROMIUM)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        try:
            tab = browser.new_page()
            tab.goto(page.resolve().as_uri())
            tab.wait_for_load_state("load")
            found = tab.eval_on_selector_all(
                "img", "els => els.map(e => [e.getAttribute('src'), e.complete, e.naturalWidth])"
            )
        finally:
            browser.close()
    return [(str(s), bool(c), int(w)) for s, c, w in found]


@pytest.fixture(scope="module")
def data(coco_person: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """trainA = real coco photos; trainB = the same photos lens-blurred by dof-smooth (there is
    no openly licensed shallow-DoF photo in shared data); testA = real photos with masks."""
    import dof_smooth

    root = tmp_path_factory.mktemp("data")
    for i, stem in enumerate(PHOTOS):
        rgb = dof_io.read_rgb(coco_person / "images" / f"{stem}.jpg")
        mask = dof_io.read_mask(coco_person / "masks" / f"{stem}.png")
        small = np.asarray(Image.fromarray(rgb).resize((48, 48)))
        small_mask = np.asarray(Image.fromarray(mask, "F").resize((48, 48), Image.BILINEAR))
        image = torch.from_numpy(small.copy()).permute(2, 0, 1)[None].float() / 255
        blurred = dof_smooth.portrait_blur(image, torch.from_numpy(small_mask.copy())[None, None])
        shallow = (blurred[0].permute(1, 2, 0) * 255).round().byte().numpy()
        dof_io.write_rgba(root / "trainA" / f"{stem}.png", small, small_mask)
        dof_io.write_rgba(root / "trainB" / f"{stem}.png", shallow, small_mask)
        if i < 2:
            dof_io.write_rgb(root / "realB" / f"{stem}.png", shallow)
    test = root / "test"
    (test / "images").mkdir(parents=True)
    (test / "masks").mkdir()
    for stem in PHOTOS[:3]:
        shutil.copy(coco_person / "images" / f"{stem}.jpg", test / "images")
        shutil.copy(coco_person / "masks" / f"{stem}.png", test / "masks")
    shutil.copy(coco_person / "manifest.csv", test)
    return root


@pytest.fixture(scope="module")
def runs(data: Path) -> list[Path]:
    """Two short CPU runs of different presets, trained by dof-train itself."""
    from dof_cli.train import main as dof_train

    out = []
    for preset in ("cyclegan", "mask-overlay"):
        run = data / "runs" / preset
        args = ["--preset", preset, "--data", str(data), "--out", str(run), *TINY]
        result = CliRunner().invoke(dof_train, args)
        assert result.exit_code == 0, result.output
        out.append(run)
    return out


def test_report_from_two_runs_and_the_baselines_opens_in_chromium(
    data: Path, runs: list[Path], tmp_path: Path
) -> None:
    out = tmp_path / "report"
    args = [
        "report",
        *map(str, runs),
        "--test",
        str(data / "test"),
        "-o",
        str(out),
        "--size",
        "96",
        "--real-b",
        str(data / "realB"),
        "--realism",
        "random-conv",
        "--device",
        "cpu",
    ]
    result = CliRunner().invoke(dof, args)  # fmt: skip
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    columns = set(metrics["means"])
    assert columns == {"input", "box", "Gaussian", "lens", "cyclegan",
                       "mask-overlay", "mask-overlay + overlay"}  # fmt: skip
    means = metrics["means"]
    assert means["mask-overlay + overlay"]["subject_psnr"] is None  # overlay: subject untouched
    assert means["lens"]["defocus_ratio"] < 0.5
    assert all(means[c]["fid"] is not None for c in columns)
    assert sorted(metrics["photos"]) == sorted(PHOTOS[:3])
    rows = list(csv.DictReader((out / "metrics.csv").open()))
    assert {r["method"] for r in rows} == columns
    html = (out / "index.html").read_text()
    assert "fig15_cycle_loss.png" in html and "fig16_mask_loss.png" in html
    assert 'src="samples.png"' in html  # shown on the page, not only written beside it
    with Image.open(out / "samples.png") as sheet:  # 2 runs x (first, middle, last) sample
        assert sheet.height > 2 * 3 * 32
    assert "staticflickr.com" in html  # the credits from the manifest
    images = images_in_browser(out / "index.html")
    assert len(images) >= 3 + 3 * (2 + len(columns) - 1)  # curves + rows x (input, mask, methods)
    assert [src for src, complete, width in images if not (complete and width > 0)] == []


def test_report_refuses_an_unknown_run_folder(data: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(dof, ["report", str(tmp_path), "--test", str(data / "test"),
                                      "-o", str(tmp_path / "r")])  # fmt: skip
    assert result.exit_code != 0
    assert "log.jsonl" in str(result.exception) or "log.jsonl" in result.output


def test_paired_bench_scores_every_method_composite_and_mask_source(
    coco_person: Path, tmp_path: Path
) -> None:
    out = tmp_path / "paired"
    args = ["paired-bench", "--source", str(coco_person), "-o", str(out), "--n", "2", "--size",
            "128", "--radius", "4", "--methods", "box,lens", "--masks", "gt,selfie",
            "--device", "cpu"]  # fmt: skip
    result = CliRunner().invoke(dof, args)
    assert result.exit_code == 0, result.output
    rows = json.loads((out / "paired.json").read_text())["rows"]
    pairs = {(r["method"], r["masks"]) for r in rows}
    for method in ("box + paste", "box + halo_free", "lens + paste", "lens + halo_free"):
        assert (method, "gt") in pairs and (method, "selfie") in pairs
    assert ("none (input)", "gt") in pairs and ("none (input)", "selfie") not in pairs
    assert "| lens + halo_free | gt |" in result.output
    assert (out / "data" / "dataset.json").is_file()
    table = {(r["method"], r["masks"]): r for r in rows}
    assert table["lens + halo_free", "gt"]["psnr"] > table["none (input)", "gt"]["psnr"]
