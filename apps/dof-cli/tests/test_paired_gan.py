"""Trained generators as rows of the paired benchmark, scored like the baselines."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from PIL import Image

import dof_eval
import dof_gan
from dof_cli.main import dof
from dof_gan.checkpoint import save_checkpoint
from dof_gan.tiling import paint_photo


class Identity(torch.nn.Module):
    """A generator that returns its input: G(x) = x (in the generator's [-1, 1] range)."""

    def __init__(self, gain: float = 1.0) -> None:
        super().__init__()
        self.gain = torch.nn.Parameter(torch.tensor(gain), requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gain

    def translate_photo(self, image: torch.Tensor, **options: object) -> tuple:
        """The generator contract for a whole photo: a painter's path (dof_gan.tiling)."""
        return paint_photo(self, image, None), None


@pytest.fixture(scope="module")
def paired(coco_person: Path, tmp_path_factory: pytest.TempPathFactory) -> dof_eval.PairedSet:
    config = dof_eval.PairedConfig(n=3, size=64, radius=3.0, seed=2)
    return dof_eval.load_paired(
        dof_eval.build_paired(coco_person, tmp_path_factory.mktemp("paired"), config)
    )


def test_identity_generator_scores_exactly_as_the_input(paired: dof_eval.PairedSet) -> None:
    methods = {
        "none (input)": lambda x, m: x,
        **dof_gan.as_renderers(Identity(), "GAN identity", overlay=True),
        **dof_gan.as_renderers(Identity(0.5), "GAN darker", overlay=True),
    }
    rows = dof_eval.run_paired(paired, methods, {"gt": None})
    table = {r["method"]: r for r in rows}
    assert set(table) == {"none (input)", "GAN identity", "GAN identity + overlay",
                          "GAN darker", "GAN darker + overlay"}  # fmt: skip
    for label in ("GAN identity", "GAN identity + overlay"):
        for score in dof_eval.SCORES:
            expected = table["none (input)"][score]
            if expected == float("inf"):  # untouched subject; the [-1, 1] round trip rounds
                assert table[label][score] > 100
            else:
                assert table[label][score] == pytest.approx(expected, abs=1e-4)
    # a generator that changes the image scores differently, and the overlay restores the
    # subject (the input's, which is the truth's there) but not the background
    darker, pasted = table["GAN darker"], table["GAN darker + overlay"]
    assert darker["psnr"] < table["none (input)"]["psnr"] - 3
    assert pasted["psnr_subject"] > darker["psnr_subject"] + 20
    assert pasted["psnr_background"] == pytest.approx(darker["psnr_background"], abs=1e-6)


def _export_random_generator(folder: Path, preset: str) -> Path:
    """A (random) G saved as a dof-gan checkpoint, exported as safetensors + JSON sidecar."""
    config = dof_gan.GeneratorConfig(ngf=4, n_blocks=1, upsampling="resize")
    torch.manual_seed(0)
    state = {
        "config": {"generator": dataclasses.asdict(config), "preset": preset,
                   "overlay_at_test": preset == "mask-overlay"},
        "networks": {"G": dof_gan.ResnetGenerator(config).state_dict()},
        "step": 7,
    }  # fmt: skip
    checkpoint = save_checkpoint(state, folder / f"{preset}.pt")
    return dof_gan.export_generator(checkpoint, folder / f"{preset}.safetensors")


def test_paired_bench_adds_generator_rows_to_a_built_benchmark(
    paired: dof_eval.PairedSet, tmp_path: Path
) -> None:
    plain = _export_random_generator(tmp_path, "cyclegan")
    overlay = _export_random_generator(tmp_path, "mask-overlay")
    out = tmp_path / "scores"
    args = ["paired-bench", "--paired", str(paired.root), "-o", str(out), "--methods", "lens",
            "--composites", "halo_free", "--masks", "gt", "--generator", str(plain),
            "--generator", str(overlay), "--all-scores", "--gallery", "2",
            "--device", "cpu"]  # fmt: skip
    result = CliRunner().invoke(dof, args)
    assert result.exit_code == 0, result.output
    rows = json.loads((out / "paired.json").read_text())["rows"]
    methods = [r["method"] for r in rows]
    cyclegan, overlaid = "GAN cyclegan (paper ResNet)", "GAN mask-overlay (paper ResNet)"
    assert methods == ["none (input)", "lens + halo_free", cyclegan, overlaid,
                       f"{overlaid} + overlay"]  # fmt: skip
    assert all(r["n"] == 3 for r in rows)
    assert (
        "PSNR subject (dB)" in result.output and f"| {overlaid} + overlay | gt |" in result.output
    )
    table = {r["method"]: r for r in rows}
    sheet = Image.open(out / "gallery" / "gallery.png")
    assert sheet.width > 7 * 64 and sheet.height > 2 * 64  # input, truth, 5 methods; 2 items
    assert (out / "gallery" / "truth" / f"{paired.ids[1]}.png").is_file()
    # the benchmark's own radius (3 px) is what the methods get
    assert json.loads((out / "paired.json").read_text())["method_radius"] == 3.0
    raw, pasted = table[overlaid], table[f"{overlaid} + overlay"]
    assert pasted["psnr_subject"] is None  # inf (the truth's own pixels), null in strict JSON
    assert raw["psnr_subject"] < 40


def test_paired_bench_needs_exactly_one_source(tmp_path: Path) -> None:
    result = CliRunner().invoke(dof, ["paired-bench", "-o", str(tmp_path / "x")])
    assert result.exit_code != 0
    assert "exactly one of --source" in result.output
