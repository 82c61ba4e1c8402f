"""The average of G's weights: its arithmetic, its place in the checkpoint, what loads it."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from torch import nn

from dof_gan import ConfigError, TrainConfig, export_generator, load_generator_with_info, train
from dof_gan.average import RAMPUP, WeightAverage
from dof_gan.run import load_run_config


def test_the_average_moves_by_the_half_life_in_images() -> None:
    net = nn.Linear(2, 1)
    with torch.no_grad():
        net.weight.fill_(0.0)
    average = WeightAverage(net, half_life=8)
    with torch.no_grad():
        net.weight.fill_(1.0)
    # long past the ramp-up: a step of 8 images (one half-life) moves the average half-way
    average.update(net, images=10_000, step_images=8)
    assert torch.allclose(average.average.weight, torch.full((1, 2), 0.5))
    # two steps of 4 images each are the same half-life: 1 - 0.5 of the remaining gap
    average.update(net, images=10_004, step_images=4)
    average.update(net, images=10_008, step_images=4)
    assert torch.allclose(average.average.weight, torch.full((1, 2), 0.75))
    assert torch.equal(net.weight, torch.ones(1, 2))  # the trained network is untouched
    assert not any(p.requires_grad for p in average.average.parameters())


def test_the_ramp_up_forgets_the_untrained_start_quickly() -> None:
    average = WeightAverage(nn.Linear(2, 1), half_life=1000)
    # after 40 images the half-life is RAMPUP * 40 = 4 images, not 1000
    assert average.decay(40, 4) == pytest.approx(0.5 ** (4 / (RAMPUP * 40)))
    assert average.decay(100_000, 4) == pytest.approx(0.5 ** (4 / 1000))
    with pytest.raises(ValueError, match="half_life"):
        WeightAverage(nn.Linear(2, 1), half_life=0)


def test_a_run_with_an_average_scores_and_exports_it_and_can_load_g_as_trained(
    tmp_path: Path, tiny_data: Path, make_config: Callable[..., TrainConfig]
) -> None:
    config = make_config(tiny_data, generator="defocus", map_width=4, map_depth=3,
                         max_radius=4.0, ema_images=6, max_steps=3)  # fmt: skip
    run = tmp_path / "run"
    train(config, run, progress=False)
    state = torch.load(run / "checkpoints" / "last.pt", weights_only=True)
    assert set(state["ema"]) == {"G"} and set(state["ema"]["G"]) == set(state["networks"]["G"])
    averaged, info = load_generator_with_info(run)
    trained, raw = load_generator_with_info(run, average=False)
    assert info.averaged and not raw.averaged
    for key, value in averaged.state_dict().items():
        assert torch.equal(value, state["ema"]["G"][key]), key
        assert torch.equal(trained.state_dict()[key], state["networks"]["G"][key]), key
    # three steps of training moved G away from its average
    head = "net.head.bias"
    assert not torch.equal(state["ema"]["G"][head], state["networks"]["G"][head])
    out = export_generator(run, tmp_path / "G.safetensors")
    exported, exported_info = load_generator_with_info(out)
    assert exported_info.averaged
    for key, value in exported.state_dict().items():
        assert torch.equal(value, averaged.state_dict()[key]), key


def test_a_run_without_an_average_has_none(
    tmp_path: Path, tiny_data: Path, make_config: Callable[..., TrainConfig]
) -> None:
    config = make_config(tiny_data, generator="defocus", map_width=4, map_depth=3,
                         max_radius=4.0, ema_images=0, max_steps=1)  # fmt: skip
    train(config, tmp_path / "run", progress=False)
    state = torch.load(tmp_path / "run" / "checkpoints" / "last.pt", weights_only=True)
    assert "ema" not in state
    assert not load_generator_with_info(tmp_path / "run")[1].averaged


def test_a_negative_half_life_is_refused_by_its_option(
    tiny_data: Path, make_config: Callable[..., TrainConfig]
) -> None:
    with pytest.raises(ConfigError, match="--ema-images"):
        make_config(tiny_data, ema_images=-1)


def test_a_run_from_before_the_average_resumes_without_one(
    tmp_path: Path, tiny_data: Path, make_config: Callable[..., TrainConfig]
) -> None:
    # a checkpoint written before `ema_images` existed: its config does not name the field
    run = tmp_path / "run"
    train(make_config(tiny_data, max_steps=1), run, progress=False)
    path = run / "checkpoints" / "last.pt"
    state = torch.load(path, weights_only=True)
    del state["config"]["ema_images"]
    torch.save(state, path)
    config = json.loads((run / "config.json").read_text())
    del config["ema_images"]
    (run / "config.json").write_text(json.dumps(config))
    resumed = load_run_config(run)
    assert resumed.ema_images == 0  # what the run did
    result = train(dataclasses.replace(resumed, max_steps=2), run, resume=True, progress=False)
    assert result.step == 2
    # a field the checkpoint names differently is still refused
    state["config"]["pool_size"] = 7
    torch.save(state, path)
    with pytest.raises(ConfigError, match="--pool-size"):
        train(resumed, run, resume=True, progress=False)
