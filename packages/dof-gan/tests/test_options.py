"""Options -> frozen config: presets as data, validation messages, resume rules, JSON."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from dof_gan import (
    PRESETS,
    ConfigError,
    config_from_dict,
    config_from_options,
    config_to_dict,
    config_to_json,
    mask_weights,
    resume_config,
)

BASE = {"data": "photos", "out": "runs/portrait"}


def _config(**options: Any) -> Any:
    return config_from_options({"preset": "combined", **BASE, **options})


def test_exactly_the_papers_four_presets() -> None:
    assert list(PRESETS) == ["cyclegan", "mask-loss", "mask-overlay", "combined"]


@pytest.mark.parametrize(
    ("preset", "pixel", "vgg", "overlay_train", "overlay_test"),
    [
        ("cyclegan", 0.0, 0.0, False, False),
        ("mask-loss", 10.0, 10.0, False, False),
        ("mask-overlay", 0.0, 0.0, True, True),
        ("combined", 5.0, 5.0, True, False),  # overlay in training only, mask loss halved
    ],
)
def test_presets_resolve(
    preset: str, pixel: float, vgg: float, overlay_train: bool, overlay_test: bool
) -> None:
    config = config_from_options({"preset": preset, **BASE})
    assert (config.loss.lambda_mask_pixel, config.loss.lambda_mask_vgg) == (pixel, vgg)
    assert (config.mask_overlay, config.overlay_at_test) == (overlay_train, overlay_test)
    assert config.preset == preset and config.name == "portrait"
    assert (config.n_epochs, config.n_epochs_decay, config.batch_size) == (50, 25, 1)
    assert (config.lr, config.beta1, config.beta2, config.pool_size) == (2e-4, 0.5, 0.999, 50)
    assert (config.loss.lambda_cyc, config.loss.lambda_idt) == (10.0, 0.5)
    assert (config.data.size, config.data.load_size) == (256, 286)


def test_author_reading_and_explicit_weights() -> None:
    author = _config(mask_reading="author")
    assert (author.loss.lambda_mask_pixel, author.loss.lambda_mask_vgg) == (5.0, 0.5)
    assert mask_weights(1.0, 10.0, "author") == (10.0, 1.0)
    explicit = _config(lambda_mask_pixel=3.0, lambda_mask_vgg=0.0)
    assert (explicit.loss.lambda_mask_pixel, explicit.loss.lambda_mask_vgg) == (3.0, 0.0)


def test_config_is_frozen_and_size_scales_load_size() -> None:
    config = _config(size=64)
    assert config.data.load_size == 72  # 286/256 of the crop, as CycleGAN's 286 -> 256
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.seed = 3  # type: ignore[misc]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"size": 250}, r"--size: must be a multiple of 4 .* use 248 or 252"),
        ({"size": 8}, r"--size: must be at least 16; got 8"),
        ({"batch_size": 0}, r"--batch-size: must be at least 1; got 0"),
        ({"epochs": 0, "epochs_decay": 0}, r"--epochs: .*both 0"),
        ({"load_size": 100, "size": 128}, r"--load-size: must be at least 128"),
        ({"device": "gpu"}, r"--device: must be cpu, cuda, cuda:N or mps; got 'gpu'"),
        ({"gan_mode": "wgan"}, r"--gan-mode: must be one of lsgan, vanilla"),
        ({"upsampling": "bilinear"}, r"--upsampling: must be one of transpose, resize"),
        ({"lambda_mask_vgg": -1.0}, r"--lambda-mask-vgg: must be a finite number, 0 or more"),
        ({"lr": 0.0}, r"--lr: must be a finite number greater than 0"),
        ({"ngf": 2.5}, r"--ngf: must be a whole number; got 2.5"),
        ({"mask_reading": "code"}, r"--mask-reading: must be one of paper, author"),
        ({"sizes": 3}, r"--sizes: unknown option"),
    ],
)
def test_bad_options_say_what_to_change(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _config(**options)


def test_preset_and_data_are_required() -> None:
    with pytest.raises(ConfigError, match="--preset: choose one of cyclegan, mask-loss"):
        config_from_options({"preset": "pix2pix", **BASE})
    with pytest.raises(ConfigError, match="--data: required"):
        config_from_options({"preset": "cyclegan", "out": "x"})


def test_json_round_trip() -> None:
    config = _config(size=64, max_steps=7, upsampling="resize")
    raw = json.loads(config_to_json(config))
    assert raw["preset"] == "combined" and raw["name"] == "portrait"
    assert config_from_dict(raw) == config
    raw["loss"]["lambda_typo"] = 1
    with pytest.raises(ConfigError, match=r"loss\.lambda_typo"):
        config_from_dict(raw)


def test_resume_keeps_the_run_config_but_takes_runtime_options() -> None:
    saved = _config(size=64, max_steps=10)
    resumed = resume_config(saved, {"device": "cuda", "max_steps": None, "size": 64})
    assert resumed.device == "cuda" and resumed.max_steps is None  # runs to the end
    assert config_to_dict(resumed)["data"] == config_to_dict(saved)["data"]
    with pytest.raises(ConfigError, match=r"--size: this run was started with 64 .* drop --size"):
        resume_config(saved, {"size": 128})
    with pytest.raises(ConfigError, match="--preset"):
        resume_config(saved, {"preset": "cyclegan"})
