"""`dof apply` with an exported defocus generator: the photo, its defocus map, the lens options."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

import dof_gan
import dof_io
from dof_cli.main import dof

TINY = {"data": "", "size": 32, "ngf": 4, "ndf": 4, "n_blocks": 2, "vgg_weights": "none",
        "workers": 0, "max_steps": 1}  # fmt: skip


def _photo(path: Path, h: int, w: int) -> np.ndarray:
    rgb = np.random.default_rng(h * w).integers(0, 256, (h, w, 3), dtype=np.uint8)
    mask = np.zeros((h, w), np.float32)
    mask[h // 4 : 3 * h // 4, w // 4 : w // 2] = 1
    dof_io.write_rgba(path, rgb, mask)
    return rgb


def _invoke(*args: str | Path) -> tuple[int, str]:
    result = CliRunner().invoke(dof, [str(a) for a in args])
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("data")
    for domain in "AB":
        for i in range(2):
            _photo(root / f"train{domain}" / f"{i}.png", 36, 40)
    return root


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory, data: Path) -> Path:
    """A one-step one-sided defocus run whose map is then opened (an untrained map is all in
    focus), exported with `dof export`."""
    config = dof_gan.config_from_options({
        **TINY, "preset": "mask-loss", "data": str(data), "generator": "defocus",
        "map_width": 4, "map_depth": 3, "max_radius": 4.0, "one_sided": True,
        "ema_images": 0,  # the weights changed below are the ones exported
    })  # fmt: skip
    root = tmp_path_factory.mktemp("runs")
    dof_gan.train(config, root / "run", progress=False)
    checkpoint = root / "run" / "checkpoints" / "last.pt"
    state = torch.load(checkpoint, weights_only=True)
    head = state["networks"]["G"]["net.head.weight"]
    state["networks"]["G"]["net.head.weight"] = torch.randn(
        head.shape, generator=torch.Generator().manual_seed(0)
    )
    state["networks"]["G"]["net.head.bias"] = torch.ones(1)  # s about 0.7: radii of 1-2 px
    torch.save(state, checkpoint)
    code, output = _invoke("export", root / "run", "-o", root / "G.safetensors")
    assert code == 0, output
    assert json.loads((root / "G.json").read_text())["generator"]["kind"] == "defocus"
    return root / "G.safetensors"


@pytest.fixture(scope="module")
def painter(tmp_path_factory: pytest.TempPathFactory, data: Path) -> Path:
    config = dof_gan.config_from_options({**TINY, "preset": "cyclegan", "data": str(data)})
    run = tmp_path_factory.mktemp("paint") / "run"
    dof_gan.train(config, run, progress=False)
    return run


def test_save_map_writes_the_photo_and_its_radius_map(exported: Path, tmp_path: Path) -> None:
    rgb = _photo(tmp_path / "in" / "wide.png", 45, 70)
    out = tmp_path / "out"
    code, output = _invoke("apply", "--checkpoint", exported, tmp_path / "in" / "wide.png",
                           "-o", out, "--save-map", "--device", "cpu")  # fmt: skip
    assert code == 0, output
    assert "1 photos translated" in output
    assert sorted(p.name for p in out.glob("*.png")) == ["wide.png", "wide_map.png"]
    result = dof_io.read_rgb(out / "wide.png")
    assert result.shape == rgb.shape and not np.array_equal(result, rgb)
    radius = dof_io.read_radius_map(out / "wide_map.png")
    assert radius.shape == (45, 70)
    # the map in the photo's pixels: G's own, drawn the same way (aperture 1, 2 levels)
    G = dof_gan.load_generator(exported)
    _, truth = dof_gan.translate_with_map(G, dof_io.tensors.image_to_tensor(rgb))
    truth_np = truth[0, 0].numpy()
    assert radius.max() > 0.5
    np.testing.assert_allclose(radius, truth_np, atol=float(truth_np.max()) / 255 + 1e-4)


def test_the_aperture_scales_the_saved_map_and_zero_returns_the_photo(
    exported: Path, tmp_path: Path
) -> None:
    photo = tmp_path / "p.png"
    rgb = _photo(photo, 40, 48)
    for aperture in ("1", "0.5", "0"):
        code, output = _invoke("apply", "-c", exported, photo, "-o", tmp_path / aperture,
                               "--save-map", "--aperture", aperture, "--levels", "4")  # fmt: skip
        assert code == 0, output
    full = dof_io.read_radius_map(tmp_path / "1" / "p_map.png")
    half = dof_io.read_radius_map(tmp_path / "0.5" / "p_map.png")
    assert half.max() == pytest.approx(full.max() / 2, rel=1e-4)
    assert dof_io.read_radius_map(tmp_path / "0" / "p_map.png").max() == 0.0
    assert np.array_equal(dof_io.read_rgb(tmp_path / "0" / "p.png"), rgb)


def test_save_map_with_a_painting_generator_is_a_usage_error(painter: Path, tmp_path: Path) -> None:
    photo = tmp_path / "p.png"
    _photo(photo, 24, 28)
    out = tmp_path / "out"
    code, output = _invoke("apply", "-c", painter, photo, "-o", out, "--save-map")
    assert code == 2, output
    errors = [line for line in output.splitlines() if line.startswith("Error:")]
    assert errors == [f"Error: {painter} is a painting generator: it has no map to save"]
    assert "Traceback" not in output
    assert not out.exists()  # refused before any work
    code, output = _invoke("apply", "-c", painter, photo, "-o", out)  # without it: fine
    assert code == 0, output


def test_export_writes_the_weight_average_unless_asked_for_g_as_trained(
    data: Path, tmp_path: Path
) -> None:
    config = dof_gan.config_from_options({
        **TINY, "preset": "mask-loss", "data": str(data), "generator": "defocus",
        "map_width": 4, "map_depth": 3, "max_radius": 4.0, "ema_images": 4, "max_steps": 2,
    })  # fmt: skip
    dof_gan.train(config, tmp_path / "run", progress=False)
    state = torch.load(tmp_path / "run" / "checkpoints" / "last.pt", weights_only=True)
    cases = (([], state["ema"]["G"], True), (["--as-trained"], state["networks"]["G"], False))
    for flags, weights, averaged in cases:
        out = tmp_path / f"G{len(flags)}.safetensors"
        code, output = _invoke("export", tmp_path / "run", "-o", out, *flags)
        assert code == 0, output
        assert json.loads(out.with_suffix(".json").read_text())["averaged"] is averaged
        for key, value in dof_gan.load_generator(out).state_dict().items():
            assert torch.equal(value, weights[key]), key
