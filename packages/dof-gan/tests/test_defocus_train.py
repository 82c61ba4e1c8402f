"""Training a defocus generator: one-sided and two-sided runs, priors, exact resume, bf16."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import dof_io
from dof_gan import DatasetError, TrainConfig, read_log, train
from dof_gan.data import UnpairedDataset
from dof_gan.defocus import DefocusGenerator
from dof_gan.networks import ResnetGenerator
from dof_gan.trainer import Trainer

#: a small map network: 32 px crops, three levels of 4, 8, 16 filters, radii up to 4 px
MAP = {"generator": "defocus", "map_width": 4, "map_depth": 3, "max_radius": 4.0}


def _defocus(make_config: Callable[..., TrainConfig], data: Path, **options: Any) -> TrainConfig:
    return make_config(data, **{**MAP, **options})


def _losses(run: Path) -> list[tuple[int, int, float, dict[str, float]]]:
    return [(r["step"], r["epoch"], r["lr"], r["losses"]) for r in read_log(run)]


def _write_priors(root: Path) -> Path:
    """priorA/ and priorB/ as `dof seg` writes them (RGBA, alpha = mask): here each image's own
    training mask, so that a prior and its mask must come out of the crop identically."""
    for domain in "AB":
        for path in sorted((root / f"train{domain}").glob("*.png")):
            rgb, mask = dof_io.read_rgba(path)
            assert mask is not None
            dof_io.write_rgba(root / f"prior{domain}" / f"{path.stem}.png", rgb, mask)
    return root


@pytest.fixture(scope="module")
def prior_data(tmp_path_factory: pytest.TempPathFactory, make_dataset: Callable[..., Path]) -> Path:
    return _write_priors(make_dataset(tmp_path_factory.mktemp("prior")))


def test_a_one_sided_run_keeps_g_and_d_b_alone_and_logs_the_map(
    tmp_path: Path, tiny_data: Path, make_config: Callable[..., TrainConfig]
) -> None:
    # the cyclegan preset has no mask weights: G_total must be G_gan + 5 * focus exactly
    config = _defocus(make_config, tiny_data, preset="cyclegan", one_sided=True, max_steps=2)
    assert (config.loss.lambda_focus, config.loss.lambda_idt) == (5.0, 0.0)
    run = tmp_path / "run"
    train(config, run, progress=False)
    state = torch.load(run / "checkpoints" / "last.pt", weights_only=True)
    assert set(state["networks"]) == {"G", "D_B"}
    assert "aperture_logit" in state["networks"]["G"]
    # one optimizer group each, over G's and D_B's parameters only (no F, D_A moments)
    optimizers = state["optimizers"]
    assert len(optimizers["G"]["param_groups"][0]["params"]) == len(state["networks"]["G"])
    assert len(optimizers["D"]["param_groups"][0]["params"]) == len(state["networks"]["D_B"])
    rows = read_log(run)
    assert [r["step"] for r in rows] == [1, 2]
    for row in rows:
        losses = row["losses"]
        assert list(losses) == ["D_B", "G_gan", "mask_A", "focus", "aperture", "G_total"]
        assert all(math.isfinite(v) for v in losses.values())
        assert 0 < losses["aperture"] < 4.0  # pixels, bounded by --max-radius
        assert losses["G_total"] == pytest.approx(losses["G_gan"] + 5.0 * losses["focus"], rel=1e-5)
    # an untrained map is almost all in focus, so the background term starts large
    assert rows[0]["losses"]["focus"] > 1.0
    grid = dof_io.read_rgb(run / "samples" / "step_0000002.png")
    assert grid.shape == (2 * 32, 6 * 32, 3)


def test_the_focus_term_needs_masks(
    tmp_path: Path, make_dataset: Callable[..., Path], make_config: Callable[..., TrainConfig]
) -> None:
    data = make_dataset(tmp_path / "data", masks="none")
    config = _defocus(make_config, data, preset="cyclegan", one_sided=True, max_steps=1)
    with pytest.raises(DatasetError, match="needs person masks"):
        train(config, tmp_path / "run", progress=False)
    # without the focus term (and a preset without masks) it trains on photos alone
    config = _defocus(make_config, data, preset="cyclegan", one_sided=True, max_steps=1,
                      lambda_focus=0.0)  # fmt: skip
    train(config, tmp_path / "bare", progress=False)
    (row,) = read_log(tmp_path / "bare")
    assert "focus" not in row["losses"] and "aperture" in row["losses"]


def test_a_two_sided_run_paints_back_with_the_resnet(
    tmp_path: Path, tiny_data: Path, make_config: Callable[..., TrainConfig]
) -> None:
    config = _defocus(make_config, tiny_data, one_sided=False, max_steps=2)
    trainer = Trainer(config)
    assert isinstance(trainer.model.G, DefocusGenerator)
    assert isinstance(trainer.model.F, ResnetGenerator)  # a lens blurs; it cannot sharpen
    assert len(trainer.model.F.model) > 0 and trainer.model.D_A is not None
    run = tmp_path / "run"
    train(config, run, progress=False)
    state = torch.load(run / "checkpoints" / "last.pt", weights_only=True)
    assert set(state["networks"]) == {"G", "F", "D_A", "D_B"}
    for row in read_log(run):
        losses = row["losses"]
        assert {"D_A", "F_gan", "cycle_A", "cycle_B", "focus", "aperture"} <= set(losses)
        assert all(math.isfinite(v) for v in losses.values())
        assert losses["cycle_A"] > 0 and losses["cycle_B"] > 0


def test_a_prior_is_read_from_the_prior_folders_and_cropped_like_its_image(
    tmp_path: Path, prior_data: Path, make_config: Callable[..., TrainConfig]
) -> None:
    config = _defocus(make_config, prior_data, one_sided=True, prior="selfie", max_steps=2)
    dataset = UnpairedDataset(config.data, prior=config.generator.prior)
    # A's first image, offset crop, mirrored; B's second, another crop, not mirrored
    item = dataset[(0, 1, 0.7, 0.9, 0.2, 0.1, True, False)]
    for key in "AB":
        assert item[f"prior_{key}"].shape == (1, 32, 32)
        torch.testing.assert_close(item[f"prior_{key}"], item[f"mask_{key}"], atol=1e-6, rtol=0)
    run = tmp_path / "run"
    train(config, run, progress=False)
    state = torch.load(run / "checkpoints" / "last.pt", weights_only=True)
    assert state["networks"]["G"]["net.down.0.0.weight"].shape[1] == 4  # RGB + the prior
    assert len(read_log(run)) == 2


def test_missing_priors_say_how_to_make_them_with_dof_seg(
    tmp_path: Path, make_dataset: Callable[..., Path], make_config: Callable[..., TrainConfig]
) -> None:
    data = make_dataset(tmp_path / "data")
    config = _defocus(make_config, data, one_sided=True, prior="selfie", max_steps=1)

    def make(domain: str) -> str:
        folder = data / f"prior{domain}"
        return f"make them with: dof seg {data / f'train{domain}'} -o {folder} --segmenter selfie"

    missing = f"{data / 'priorA'}, which does not exist; {make('A')}"
    with pytest.raises(DatasetError, match=re.escape(missing)):
        train(config, tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()  # refused before anything was written
    _write_priors(data)
    (data / "priorB" / "b1.png").unlink()
    short = f"{data / 'priorB'} has no mask for 1 of the 3 images (first: b1.png); {make('B')}"
    with pytest.raises(DatasetError, match=re.escape(short)):
        train(config, tmp_path / "run2", progress=False)


@pytest.mark.parametrize(
    "options",
    [
        {"one_sided": True, "ema_images": 0},
        {"prior": "selfie", "lambda_idt": 0.5, "one_sided": False},  # a prior, G(b) w/ gradient
        {"one_sided": True, "d_augment": "translation,cutout"},
        {"one_sided": True, "ema_images": 8},
    ],
    ids=["one-sided", "two-sided-prior", "one-sided-augmented", "one-sided-averaged"],
)
def test_a_resumed_defocus_run_logs_and_ends_as_an_uninterrupted_one(
    tmp_path: Path,
    prior_data: Path,
    make_config: Callable[..., TrainConfig],
    options: dict[str, Any],
) -> None:
    config = _defocus(make_config, prior_data, checkpoint_every=2, **options)  # 6 steps
    # whatever the caller does with torch's global generator, the run's own streams decide
    # (D_B's augmentation draws from the run's "augment" stream, kept in the checkpoint)
    torch.manual_seed(1234)
    train(config, tmp_path / "straight", progress=False)
    stopped = _defocus(make_config, prior_data, checkpoint_every=2, max_steps=4, **options)
    torch.manual_seed(4321)
    train(stopped, tmp_path / "split", progress=False)
    assert [r["step"] for r in read_log(tmp_path / "split")] == [1, 2, 3, 4]
    torch.manual_seed(99)  # the resumed run must take its draws from the checkpoint
    train(config, tmp_path / "split", resume=True, progress=False)
    straight = _losses(tmp_path / "straight")
    assert len(straight) == 6 and _losses(tmp_path / "split") == straight
    a = torch.load(tmp_path / "straight" / "checkpoints" / "last.pt", weights_only=True)
    b = torch.load(tmp_path / "split" / "checkpoints" / "last.pt", weights_only=True)
    assert set(a["networks"]) == set(b["networks"])
    assert ("ema" in a) == ("ema" in b) == (config.ema_images > 0)
    nets = {**a["networks"], **({"ema": a["ema"]["G"]} if "ema" in a else {})}
    resumed = {**b["networks"], **({"ema": b["ema"]["G"]} if "ema" in b else {})}
    for name, weights in nets.items():
        for key, value in weights.items():
            assert torch.equal(value, resumed[name][key]), f"{name}.{key}"


def test_two_runs_with_one_seed_augment_alike(
    tmp_path: Path, tiny_data: Path, make_config: Callable[..., TrainConfig]
) -> None:
    config = _defocus(make_config, tiny_data, one_sided=True, d_augment="translation,cutout",
                      max_steps=2)  # fmt: skip
    torch.manual_seed(1)
    train(config, tmp_path / "a", progress=False)
    torch.manual_seed(2)  # whatever the caller did with the global generator before
    train(config, tmp_path / "b", progress=False)
    assert _losses(tmp_path / "a") == _losses(tmp_path / "b")


def test_bf16_runs_a_defocus_step(
    tmp_path: Path, prior_data: Path, make_config: Callable[..., TrainConfig]
) -> None:
    for sided in (True, False):
        config = _defocus(make_config, prior_data, precision="bf16", one_sided=sided,
                          prior="selfie", d_augment="translation", max_steps=1)  # fmt: skip
        run = tmp_path / f"run{sided}"
        train(config, run, progress=False)
        (row,) = read_log(run)
        assert all(math.isfinite(v) for v in row["losses"].values()), row["losses"]
        state = torch.load(run / "checkpoints" / "last.pt", weights_only=True)
        weights = state["networks"]["G"]
        assert all(v.dtype == torch.float32 for v in weights.values())  # fp32 master weights
        assert np.isfinite(float(weights["aperture_logit"]))
