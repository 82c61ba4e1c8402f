from __future__ import annotations

import csv
import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from dof_eval import (
    DatasetError,
    PairedConfig,
    build_paired,
    defocus_background,
    lens_blur,
    lens_kernel,
    load_paired,
    run_paired,
    score_pair,
    write_paired_results,
)
from dof_eval.photos import read_image, read_mask_tensor
from dof_eval.testing import halo_free_blur, paste_blur

PEOPLE = ("000000253956", "000000519208")
BACKGROUNDS = ("000000278528", "000000126107")


@pytest.fixture
def sources(coco_person: Path, tmp_path: Path) -> Path:
    """Four real coco-person photos: two portraits, two nearly person-free scenes."""
    folder = tmp_path / "sources"
    (folder / "images").mkdir(parents=True)
    (folder / "masks").mkdir()
    for stem in PEOPLE + BACKGROUNDS:
        shutil.copy(coco_person / "images" / f"{stem}.jpg", folder / "images")
        shutil.copy(coco_person / "masks" / f"{stem}.png", folder / "masks")
    with (coco_person / "manifest.csv").open() as handle:
        rows = [r for r in csv.DictReader(handle) if r["file"][:-4] in PEOPLE + BACKGROUNDS]
    with (folder / "manifest.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return folder


CONFIG = PairedConfig(n=3, size=128, radius=4.0, seed=3)


def test_lens_kernel_is_a_normalised_disk() -> None:
    kernel = lens_kernel(5.0)
    assert kernel.shape == (11, 11)
    assert float(kernel.sum()) == pytest.approx(1.0)
    assert torch.equal(kernel, kernel.flip(0)) and torch.equal(kernel, kernel.T)
    support = float((kernel > 0).sum())
    assert abs(support - math.pi * 25) < 2 * math.pi * 5  # area of the disk, up to its rim
    assert kernel[5, 0] > 0 and kernel[0, 0] == 0


def test_linear_light_blur_brightens_a_dark_bright_edge() -> None:
    edge = torch.zeros(1, 3, 16, 16, dtype=torch.float64)
    edge[..., 8:] = 1.0
    gamma = defocus_background(edge, 3.0, linear=False)[0, 0, 8, 8]
    optics = defocus_background(edge, 3.0)[0, 0, 8, 8]
    assert optics > gamma + 0.1  # light mixes in linear light, then is sRGB-encoded


def test_lens_blur_keeps_flat_images_and_averages_a_point() -> None:
    flat = torch.full((1, 3, 20, 20), 0.25)
    assert torch.allclose(lens_blur(flat, 3.0), flat)
    point = torch.zeros(1, 1, 21, 21, dtype=torch.float64)
    point[..., 10, 10] = 1.0
    assert torch.allclose(lens_blur(point, 3.0)[0, 0, 7:14, 7:14], lens_kernel(3.0))


def test_build_is_deterministic_and_the_truth_is_what_it_claims(sources, tmp_path) -> None:
    first = build_paired(sources, tmp_path / "a", CONFIG)
    second = build_paired(sources, tmp_path / "b", CONFIG)
    files_a = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.png"))
    files_b = sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*.png"))
    assert files_a == files_b and len(files_a) == 3 * 4
    for rel in files_a:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes()
    info = json.loads(first.read_text())
    assert info == json.loads(second.read_text())
    assert info["kernel"] == {
        "type": "disk", "radius": 4.0, "antialiased": True, "linear_light": True,
    }  # fmt: skip
    for item in info["items"]:
        assert item["person"][:-4] in PEOPLE and item["background"] != item["person"]
        assert "MS-COCO" in item["credits"]["person"]["text"]
    root = tmp_path / "a"
    for item_id in ("000", "001", "002"):
        image = read_image(root / "input" / f"{item_id}.png")
        truth = read_image(root / "truth" / f"{item_id}.png")
        mask = read_mask_tensor(root / "mask" / f"{item_id}.png")
        background = read_image(root / "background" / f"{item_id}.png")
        person = mask == 1
        assert 0.05 < float(mask.mean()) < 0.9
        # the person is the same sharp pixels in input and truth ...
        assert torch.equal(image * person, truth * person)
        # ... and elsewhere the truth is the lens-blurred background, composited by the matte
        expected = mask * image + (1 - mask) * defocus_background(background, 4.0)
        outside = (mask == 0).expand_as(truth)
        assert (truth - expected)[outside].abs().max() < 1.5 / 255


def test_a_complete_build_is_reused_and_a_new_config_rebuilds(sources, tmp_path) -> None:
    index = build_paired(sources, tmp_path / "d", CONFIG)
    stamp = index.stat().st_mtime_ns
    build_paired(sources, tmp_path / "d", CONFIG)
    assert index.stat().st_mtime_ns == stamp
    build_paired(sources, tmp_path / "d", PairedConfig(n=2, size=128, radius=6.0, seed=3))
    assert json.loads(index.read_text())["config"]["radius"] == 6.0


def test_sources_without_backgrounds_are_refused(sources, tmp_path) -> None:
    with pytest.raises(DatasetError, match="person-free"):
        build_paired(sources, tmp_path / "e", PairedConfig(n=1, size=1000))
    with pytest.raises(DatasetError, match="at least 2 photos"):
        build_paired(tmp_path / "nothing", tmp_path / "f", CONFIG)


def test_scores_rank_the_truth_over_halo_free_over_paste_over_nothing(sources, tmp_path) -> None:
    paired = load_paired(build_paired(sources, tmp_path / "g", CONFIG))
    methods = {
        "input": lambda x, m: x,
        "paste": lambda x, m: paste_blur(x, m, 3),
        "halo-free": lambda x, m: halo_free_blur(x, m, 3),
    }
    rows = run_paired(paired, methods, {"gt": None, "dilated": lambda x: torch.ones_like(x[:, :1])})
    table = {(r["method"], r["masks"]): r for r in rows}
    assert len(rows) == 6 and all(r["n"] == 3 for r in rows)
    assert table["halo-free", "gt"]["psnr"] > table["input", "gt"]["psnr"]
    assert table["halo-free", "gt"]["psnr_band"] > table["paste", "gt"]["psnr_band"]
    # a mask covering everything means nothing gets blurred: the same as the input
    assert table["paste", "dilated"]["psnr"] == pytest.approx(table["input", "gt"]["psnr"])
    _, m, truth = paired.load("000")
    perfect = score_pair(truth, truth, m)
    assert math.isinf(perfect["psnr"]) and perfect["ssim_band"] == pytest.approx(1.0)
    page = tmp_path / "results.md"
    page.write_text("<!-- begin generated: t -->\n<!-- end generated: t -->\n")
    out = tmp_path / "out"
    table = write_paired_results(
        rows, out, radius=4.0, command="dof x", docs=[page], docs_block="t"
    )
    meta = json.loads((out / "paired.json").read_text())
    assert meta["radius"] == 4.0 and set(meta["versions"]) == {"torch", "numpy", "pillow", "scipy"}
    assert "| halo-free | gt |" in table and (out / "paired.md").read_text() == table
    assert len(list(csv.DictReader((out / "paired.csv").open()))) == 6
    assert f"```bash\ndof x\n```\n\n{table}" in page.read_text()


def test_load_paired_needs_the_index(tmp_path) -> None:
    with pytest.raises(DatasetError, match="dof paired-bench"):
        load_paired(tmp_path)


def test_the_benchmark_has_person_free_backgrounds(sources, tmp_path) -> None:
    index = build_paired(sources, tmp_path / "h", CONFIG)
    for item in json.loads(index.read_text())["items"]:
        top, left = item["window"]
        mask = np.asarray(
            read_mask_tensor(sources / "masks" / item["background"].replace(".jpg", ".png"))
        )[0, 0]
        assert mask[top : top + 128, left : left + 128].max() == 0
