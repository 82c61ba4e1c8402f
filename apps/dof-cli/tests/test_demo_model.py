"""The bundled generators reproduce their rows of docs/results.md from a fresh build of the data.

docs/results.md's block `paired-gan-shipped` is what `dof paired-bench` printed for the shipped
generators (dof-gan's defocus model, `dof_gan.bundled_generator()`, and the paper's ResNet in
`dof_cli/demo_model/G.safetensors`) on the held-out synthetic items. Here those items are rebuilt
from ../shared/data (`dof data synth --n-train 0` writes the same bytes as the full build's test
set) and the generators are scored again: every GAN row with true masks must agree within 0.1 dB
(PSNR) and 0.005 (SSIM). Re-export a model and rerun the block's command together.
"""

from __future__ import annotations

import json
import math
from importlib.resources import as_file, files
from pathlib import Path

import pytest
from click.testing import CliRunner

from dof_cli.demo import GAN_FILE
from dof_cli.main import dof
from dof_eval import read_block
from dof_gan import bundled_generator

RESULTS = Path(__file__).resolve().parents[3] / "docs" / "results.md"
BLOCK = "paired-gan-shipped"


def published_rows() -> dict[str, dict[str, float]]:
    """method -> column -> value, for the GAN rows with true masks of the docs block."""
    body = read_block(RESULTS.read_text(encoding="utf-8"), BLOCK)
    table = [
        line.strip().strip("|").split("|") for line in body.splitlines() if line.startswith("|")
    ]
    header = [cell.strip() for cell in table[0]]
    rows = {}
    for cells in table[2:]:
        row = dict(zip(header, (cell.strip() for cell in cells), strict=True))
        if row["method"].startswith("GAN ") and row["masks"] == "gt":
            rows[row["method"]] = {
                k: math.inf if v == "∞" else float(v)
                for k, v in row.items()
                if k not in ("method", "masks")
            }
    return rows


def test_bundled_generator_reproduces_its_published_rows(coco_person: Path, tmp_path: Path) -> None:
    expected = published_rows()
    ours, paper = "GAN defocus-selfie (defocus + selfie)", "GAN G (paper ResNet)"
    assert {ours, paper, f"{paper} + overlay"} <= set(expected)  # + the paper's eq. 13 paste
    data = tmp_path / "synth"
    build = ["data", "synth", "--source", str(coco_person), "-o", str(data), "--n-train", "0"]
    result = CliRunner().invoke(dof, build)
    assert result.exit_code == 0, result.output
    out = tmp_path / "bench"
    with as_file(files("dof_cli") / "demo_model" / GAN_FILE) as model:
        score = ["paired-bench", "--paired", str(data / "test"), "-o", str(out), "--methods",
                 "lens", "--masks", "gt", "--generator", str(bundled_generator()),
                 "--generator", str(model), "--device", "cpu"]  # fmt: skip
        result = CliRunner().invoke(dof, score)
    assert result.exit_code == 0, result.output
    got = {r["method"]: r for r in json.loads((out / "paired.json").read_text())["rows"]}
    for method, published in expected.items():
        row = got[method]
        assert row["n"] == published["n"]
        for column, value in published.items():
            key = _SCORE_KEYS.get(column)
            if key is None:
                continue
            tolerance = 0.1 if "PSNR" in column else 0.005
            got_value = math.inf if row[key] is None else row[key]  # paired.json: inf -> null
            assert got_value == pytest.approx(value, abs=tolerance), (method, column)


#: the table's column headers -> paired.json's score names
_SCORE_KEYS = {
    "PSNR (dB)": "psnr",
    "SSIM": "ssim",
    "PSNR band (dB)": "psnr_band",
    "SSIM band": "ssim_band",
    "PSNR subject (dB)": "psnr_subject",
    "PSNR background (dB)": "psnr_background",
}
