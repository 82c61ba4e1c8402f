"""`--refine` on the commands that segment: the refined soft mask reaches the RGBA alpha and
the smoothing composite."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from click.testing import CliRunner
from PIL import Image

import dof_seg
from dof_cli.main import dof
from dof_io import read_rgb, write_rgb


def portrait(coco_person: Path, tmp_path: Path) -> Path:
    """A real photo with a person (small, so the test is quick)."""
    image = Image.open(coco_person / "images" / "000000234748.jpg").convert("RGB")
    image = image.resize((image.width // 4, image.height // 4), Image.Resampling.LANCZOS)
    path = tmp_path / "photos" / "person.png"
    write_rgb(path, np.asarray(image))
    return path


def test_seg_refine_writes_the_refined_soft_alpha(coco_person: Path, tmp_path: Path) -> None:
    photo = portrait(coco_person, tmp_path)
    for mode in ("none", "guided"):
        result = CliRunner().invoke(
            dof, ["seg", str(photo), "-o", str(tmp_path / mode), "--refine", mode]
        )
        assert result.exit_code == 0, result.output
    alphas = {
        mode: np.asarray(Image.open(tmp_path / mode / "person.png"))[..., 3]
        for mode in ("none", "guided")
    }
    image = torch.from_numpy(read_rgb(photo)).permute(2, 0, 1)[None].float() / 255
    with torch.inference_mode():
        expected = dof_seg.get_segmenter("selfie", refine="guided")(image)[0, 0].numpy()
    guided = alphas["guided"].astype(np.float64) / 255
    assert np.abs(guided - expected).max() <= 1 / 255 + 1e-6  # the refined mask, rounded
    soft = (alphas["guided"] > 0) & (alphas["guided"] < 255)
    assert soft.sum() > 50  # soft values survive into the file
    assert not np.array_equal(alphas["none"], alphas["guided"])


def test_smooth_takes_refine(coco_person: Path, tmp_path: Path) -> None:
    photo = portrait(coco_person, tmp_path)
    outs = {}
    for mode in ("none", "matting"):
        out = tmp_path / f"smooth-{mode}"
        args = ["smooth", str(photo), "--segmenter", "selfie", "--refine", mode, "-o", str(out)]
        result = CliRunner().invoke(dof, args)
        assert result.exit_code == 0, result.output
        outs[mode] = read_rgb(out / "person.png")
    assert outs["none"].shape == outs["matting"].shape
    assert not np.array_equal(outs["none"], outs["matting"])


def test_an_unknown_refine_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(dof, ["seg", str(tmp_path), "-o", str(tmp_path / "o"),
                                      "--refine", "sharpen"])  # fmt: skip
    assert result.exit_code == 2 and "sharpen" in result.output
