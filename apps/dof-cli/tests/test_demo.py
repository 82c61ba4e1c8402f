"""`dof demo` runs the whole offline pipeline on the bundled photos."""

from __future__ import annotations

import json
from importlib.resources import files

import numpy as np
import torch
from click.testing import CliRunner
from PIL import Image

from dof_cli.demo import GAN_FILE, GAN_LABEL
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
    for column in ("box", "Gaussian", "lens", GAN_LABEL):
        assert f">{column}<" in page
    # the bundled generator's column: a render per photo, not the photo unchanged
    columns = json.loads((out / "renders" / "renders.json").read_text())["columns"]
    for photo in metrics["photos"]:
        render = np.asarray(
            Image.open(out / "renders" / columns[GAN_LABEL] / f"{photo}.png"), float
        )
        source = np.asarray(Image.open(out / "renders" / "input" / f"{photo}.png"), float)
        assert render.shape == source.shape
        assert np.abs(render - source).mean() > 0.5  # G changed the photo ...
        assert (
            np.corrcoef(render.mean(-1).ravel(), source.mean(-1).ravel())[0, 1] > 0.3
        )  # ... not into noise
        # the bundled (combined) model's second column puts the person's own pixels back (eq. 13)
        pasted = out / "renders" / columns[f"{GAN_LABEL} + overlay"] / f"{photo}.png"
        mask = np.asarray(Image.open(out / "renders" / "mask" / f"{photo}.png").convert("L"))
        person = mask == 255
        assert person.any()
        assert np.abs(np.asarray(Image.open(pasted), float) - source)[person].max() <= 1
    assert "creativecommons.org/licenses/by/2.0" in page  # attribution reaches the page
    with Image.open(out / "contact_sheet.png") as sheet:
        assert sheet.width > 96 * 4
    # masks come from the built-in selfie segmenter: the astronaut's is mostly person
    mask = Image.open(out / "renders" / "mask" / "astronaut.png").convert("L")
    histogram = mask.histogram()
    assert sum(histogram[128:]) / sum(histogram) > 0.3


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
