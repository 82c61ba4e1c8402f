"""`dof demo` runs the whole offline pipeline on the bundled photos."""

from __future__ import annotations

import json

from click.testing import CliRunner
from PIL import Image

from dof_cli.main import dof


def test_demo_writes_report_for_every_bundled_photo(tmp_path) -> None:
    out = tmp_path / "demo"
    result = CliRunner().invoke(dof, ["demo", "-o", str(out), "--size", "96", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert sorted(metrics["photos"]) == [
        "000000160012",
        "000000229358",
        "000000519208",
        "astronaut",
    ]
    page = (out / "index.html").read_text()
    for column in ("box", "Gaussian", "lens"):
        assert f">{column}<" in page
    assert "creativecommons.org/licenses/by/2.0" in page  # attribution reaches the page
    with Image.open(out / "contact_sheet.png") as sheet:
        assert sheet.width > 96 * 4
    # masks come from the built-in selfie segmenter: the astronaut's is mostly person
    mask = Image.open(out / "renders" / "mask" / "astronaut.png").convert("L")
    histogram = mask.histogram()
    assert sum(histogram[128:]) / sum(histogram) > 0.3
