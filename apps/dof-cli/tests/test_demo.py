"""`dof demo` runs the whole offline pipeline on the bundled photos."""

from __future__ import annotations

import json
from importlib.resources import files

import numpy as np
import torch
from click.testing import CliRunner
from PIL import Image

from dof_cli.demo import GAN_FILE, GAN_LABEL, PAPER_LABEL
from dof_cli.main import dof


def test_demo_writes_report_for_every_bundled_photo(tmp_path) -> None:
    out = tmp_path / "demo"
    result = CliRunner().invoke(dof, ["demo", "-o", str(out), "--size", "96", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert sorted(metrics["photos"]) == [
        "000000234748",
        "000000261888",
        "000000519208",
        "astronaut",
    ]
    page = (out / "index.html").read_text()
    for column in ("box", "Gaussian", "lens", GAN_LABEL, f"{GAN_LABEL} map", PAPER_LABEL):
        assert f">{column}<" in page
    renders = json.loads((out / "renders" / "renders.json").read_text())
    columns = renders["columns"]
    assert renders["pictures"] == [f"{GAN_LABEL} map"]  # shown, not scored
    assert f"{GAN_LABEL} map" not in metrics["means"] and GAN_LABEL in metrics["means"]
    assert f"{GAN_LABEL} + overlay" not in columns  # its map keeps the subject itself

    def read(column: str, photo: str) -> np.ndarray:
        return np.asarray(Image.open(out / "renders" / columns[column] / f"{photo}.png"), float)

    changed = {"background": 0.0, "person": 0.0}
    for photo in metrics["photos"]:
        source = np.asarray(Image.open(out / "renders" / "input" / f"{photo}.png"), float)
        mask = np.asarray(Image.open(out / "renders" / "mask" / f"{photo}.png").convert("L"))
        person = mask == 255
        assert person.any()
        for column in (GAN_LABEL, PAPER_LABEL):  # a render per photo, not the photo unchanged
            render = read(column, photo)
            assert render.shape == source.shape
            assert np.abs(render - source).mean() > 0.5  # G changed the photo ...
            assert (
                np.corrcoef(render.mean(-1).ravel(), source.mean(-1).ravel())[0, 1] > 0.3
            )  # ... not into noise
        # the defocus GAN's map opens the lens on the background, not on the person, and the
        # picture changes more there (over all photos: a plain background changes little)
        drawn = read(f"{GAN_LABEL} map", photo).mean(-1)
        assert drawn[~person].mean() > drawn[person].mean() + 50
        change = np.abs(read(GAN_LABEL, photo) - source).mean(-1)
        changed["background"] += change[~person].mean() / len(metrics["photos"])
        changed["person"] += change[person].mean() / len(metrics["photos"])
        # the paper (combined) model's second column puts the person's own pixels back (eq. 13)
        pasted = read(f"{PAPER_LABEL} + overlay", photo)
        assert np.abs(pasted - source)[person].max() <= 1
    assert changed["background"] > 2 * changed["person"]
    assert "creativecommons.org/licenses/by/2.0" in page  # attribution reaches the page
    with Image.open(out / "contact_sheet.png") as sheet:
        assert sheet.width > 96 * 4
    # masks come from the built-in selfie segmenter: the astronaut's is mostly person
    mask = Image.open(out / "renders" / "mask" / "astronaut.png").convert("L")
    histogram = mask.histogram()
    assert sum(histogram[128:]) / sum(histogram) > 0.3


def test_bundled_defocus_generator_is_under_2_mb_and_reads_selfie() -> None:
    import dof_gan

    path = dof_gan.bundled_generator()
    raw = path.read_bytes()
    header = json.loads(raw[8 : 8 + int.from_bytes(raw[:8], "little")])
    assert {v["dtype"] for k, v in header.items() if k != "__metadata__"} == {"F16"}
    assert path.stat().st_size < 2 * 2**20
    G, info = dof_gan.load_generator_with_info(path)
    assert info.has_map and info.prior == "selfie" and info.label == "defocus + selfie"
    assert info.averaged  # the run's average of G's weights, what it is scored by
    assert 2.0 < float(G.aperture()) < 8.0  # learned from domain B (radius 4 at 128 px)


def test_bundled_generator_loads_as_plain_tensors_and_is_small() -> None:
    import dof_gan

    path = files("dof_cli") / "demo_model" / GAN_FILE
    raw = path.read_bytes()  # safetensors: an 8-byte length, a JSON header, raw tensor bytes
    header = json.loads(raw[8 : 8 + int.from_bytes(raw[:8], "little")])
    dtypes = {v["dtype"] for k, v in header.items() if k != "__metadata__"}
    assert dtypes == {"F16"}
    assert path.stat().st_size < 8 * 2**20
    G, info = dof_gan.load_generator_with_info(str(path))
    assert info.generator.ngf == 32 and info.generator.upsampling == "resize"
    x = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    y = dof_gan.translate(G, x)
    assert y.shape == x.shape and 0.001 < float((y - x).abs().mean()) < 0.3
