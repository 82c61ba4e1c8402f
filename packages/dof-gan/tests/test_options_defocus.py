"""The defocus generator's options: what --generator defocus changes, and what is refused."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dof_gan import (
    ConfigError,
    config_from_dict,
    config_from_options,
    config_to_json,
    resume_config,
)
from dof_gan.options import DEFOCUS_DEFAULTS

BASE = {"data": "photos", "out": "runs/portrait"}


def _config(**options: Any) -> Any:
    return config_from_options({"preset": "combined", **BASE, **options})


def test_the_defocus_generator_brings_its_own_defaults() -> None:
    config = _config(generator="defocus", size=64)
    assert config.generator.kind == "defocus"
    assert config.loss.lambda_idt == 0.0 and config.loss.lambda_focus == 5.0
    assert DEFOCUS_DEFAULTS == {"lambda_idt": 0.0, "lambda_focus": 5.0, "one_sided": True,
                                "ema_images": 1000}  # fmt: skip
    assert config.ema_images == 1000 and _config(size=64).ema_images == 0  # the paper's: none
    assert _config(generator="defocus", ema_images=0).ema_images == 0  # 0 is a value
    assert config.generator.work_size == 64  # the map is predicted at the training size
    assert config.one_sided is True and config.loss.d_augment == ""  # chosen by score
    assert _config(generator="defocus", size=64, one_sided=False).one_sided is False
    # the other generator keeps the paper's weights and no focus term
    paper = _config(size=64)
    assert (paper.generator.kind, paper.loss.lambda_idt, paper.loss.lambda_focus) == (
        "resnet", 0.5, 0.0,
    )  # fmt: skip


def test_weights_given_on_the_command_line_win_over_the_defocus_defaults() -> None:
    config = _config(generator="defocus", lambda_idt=0.3, lambda_focus=1.5)
    assert (config.loss.lambda_idt, config.loss.lambda_focus) == (0.3, 1.5)
    zero = _config(generator="defocus", lambda_focus=0.0)  # 0 is a value, not "not given"
    assert zero.loss.lambda_focus == 0.0 and zero.loss.lambda_idt == 0.0


def test_the_map_options_reach_the_generator_config() -> None:
    config = _config(generator="defocus", prior="selfie", max_radius=6.0, map_width=8,
                     map_depth=3, one_sided=True, d_augment="translation,cutout")  # fmt: skip
    g = config.generator
    assert (g.prior, g.max_radius, g.width, g.depth) == ("selfie", 6.0, 8, 3)
    assert config.one_sided and config.loss.d_augment == "translation,cutout"
    assert config_from_dict(json.loads(config_to_json(config))) == config  # config.json


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"prior": "selfie"}, r"--prior: only the defocus generator reads"),
        ({"one_sided": True}, r"--one-sided: needs --generator defocus"),
        ({"generator": "defocus", "d_augment": "translation,flip"},
         r"--d-augment: unknown policy flip; choose from translation, cutout"),
        ({"d_augment": "colour"}, r"--d-augment: unknown policy colour"),
        ({"generator": "bogus"}, r"--generator: must be one of resnet, defocus; got 'bogus'"),
        ({"generator": "defocus", "max_radius": 0.0},
         r"--max-radius: must be a finite number greater than 0"),
        ({"generator": "defocus", "map_depth": 1}, r"--map-depth: must be at least 2"),
        ({"generator": "defocus", "map_width": 0}, r"--map-width: must be at least 1"),
        ({"generator": "defocus", "lambda_focus": -1.0}, r"--lambda-focus: must be a finite"),
    ],
)  # fmt: skip
def test_bad_defocus_options_say_what_to_change(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _config(**options)


def test_resume_refuses_another_generator_and_keeps_the_saved_one() -> None:
    saved = _config(generator="defocus", size=64, max_steps=3)
    resumed = resume_config(saved, {"generator": "defocus", "device": "cpu"})
    assert resumed.generator == saved.generator and resumed.loss == saved.loss
    with pytest.raises(ConfigError, match=r"--generator: this run was started with 'defocus'"):
        resume_config(saved, {"generator": "resnet"})
    with pytest.raises(ConfigError, match=r"--one-sided: this run was started with True"):
        resume_config(saved, {"one_sided": False})
    with pytest.raises(ConfigError, match=r"--lambda-focus: this run was started with 5.0"):
        resume_config(saved, {"lambda_focus": 1.0})
    paper = _config(size=64)
    with pytest.raises(ConfigError, match=r"--generator: this run was started with 'resnet'"):
        resume_config(paper, {"generator": "defocus"})
