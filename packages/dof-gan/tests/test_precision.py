"""Mixed precision and memory layout: bf16 autocast, fp16 refusal off CUDA, resume across both."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from dof_gan import ConfigError, TrainConfig, read_log, resume_config, train
from dof_gan.precision import autocast, cpu_has_native_bf16, grad_scaler, resolve_precision
from dof_gan.steps import Batch, generator_step
from dof_gan.trainer import Trainer


def _cpu_flags() -> set[str]:
    """The CPU's feature flags as Linux lists them (an oracle independent of torch)."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8")
    except OSError:
        return set()
    return {flag for line in text.splitlines() if line.startswith("flags") for flag in
            line.split(":", 1)[1].split()}  # fmt: skip


def test_auto_follows_the_cpus_bf16_hardware_and_explicit_choices_stay(monkeypatch) -> None:
    flags = _cpu_flags()
    if flags & {"avx512_bf16", "amx_bf16"}:  # bf16 in hardware: oneDNN must say so
        assert cpu_has_native_bf16() and resolve_precision("auto", "cpu") == "bf16"
    elif flags and not any(flag.startswith("avx512") for flag in flags):  # nothing to run it
        assert not cpu_has_native_bf16() and resolve_precision("auto", "cpu") == "fp32"
    assert resolve_precision("auto", "mps") == "fp32"
    assert [resolve_precision(p, "cpu") for p in ("fp32", "bf16")] == ["fp32", "bf16"]
    with pytest.raises(ValueError, match=r"must be one of auto, fp32, bf16, fp16; got 'tf32'"):
        resolve_precision("tf32", "cpu")
    monkeypatch.setattr(torch.backends.mkldnn, "is_available", lambda: False)  # no oneDNN
    assert not cpu_has_native_bf16() and resolve_precision("auto", "cpu") == "fp32"


def test_fp16_is_refused_off_cuda(make_config: Callable[..., TrainConfig], tiny_data: Path) -> None:
    with pytest.raises(ConfigError, match=r"--precision: fp16 needs a CUDA device.*use bf16"):
        make_config(tiny_data, precision="fp16")
    with pytest.raises(ConfigError, match="--precision: must be one of auto, fp32, bf16, fp16"):
        make_config(tiny_data, precision="half")
    with pytest.raises(ValueError, match="fp16 training needs a CUDA device"):
        grad_scaler("fp16", "cpu")
    assert not grad_scaler("bf16", "cpu").is_enabled()


def test_bf16_autocast_runs_convolutions_in_bf16_and_keeps_losses_fp32(
    tiny_data: Path, make_config: Callable[..., TrainConfig]
) -> None:
    trainer = Trainer(make_config(tiny_data, precision="bf16"))
    g = torch.Generator().manual_seed(0)
    a, b = (torch.rand(1, 3, 32, 32, generator=g) * 2 - 1 for _ in range(2))
    mask = torch.zeros(1, 1, 32, 32)
    mask[..., 8:24, 10:20] = 1
    batch = Batch(a, b, mask, mask)
    with autocast("bf16", "cpu"):
        _, terms, images = generator_step(trainer.model, trainer.loss, batch, overlay=True)
    assert images.fake_B_raw.dtype == torch.bfloat16  # the network really ran in bf16
    assert all(term.dtype == torch.float32 for term in terms.values())
    _, terms32, _ = generator_step(trainer.model, trainer.loss, batch, overlay=True)
    for name in ("G_gan", "cycle_A", "idt_G", "mask_A", "G_total"):  # rounding, not a new loss
        assert terms[name].item() == pytest.approx(terms32[name].item(), rel=0.05), name
    assert terms["G_total"].item() != terms32["G_total"].item()


def test_bf16_channels_last_run_keeps_fp32_state_and_resumes_in_fp32(
    tmp_path: Path, tiny_data: Path, make_config: Callable[..., TrainConfig]
) -> None:
    run = tmp_path / "run"
    config = make_config(tiny_data, precision="bf16", channels_last=True, max_steps=3)
    train(config, run, progress=False)
    state = torch.load(run / "checkpoints" / "last.pt", weights_only=True)
    assert state["precision"] == "bf16"
    weights = [w for net in state["networks"].values() for w in net.values()]
    assert all(w.dtype == torch.float32 and w.is_contiguous() for w in weights)
    assert all(image.dtype == torch.float32 for image in state["pools"]["A"]["images"])
    resumed = resume_config(config, {"precision": "fp32", "channels_last": False})
    result = train(resumed, run, resume=True, progress=False)
    assert result.finished and result.step == 6
    rows = read_log(run)
    assert [r["step"] for r in rows] == list(range(1, 7))
    assert all(math.isfinite(v) for r in rows for v in r["losses"].values())


def test_channels_last_resumes_exactly_and_loads_into_either_layout(
    tmp_path: Path, tiny_data: Path, make_config: Callable[..., TrainConfig]
) -> None:
    nhwc = make_config(tiny_data, channels_last=True)
    train(nhwc, tmp_path / "straight", progress=False)
    train(make_config(tiny_data, channels_last=True, max_steps=3), tmp_path / "split",
          progress=False)  # fmt: skip
    state = torch.load(tmp_path / "split" / "checkpoints" / "last.pt", weights_only=True)
    train(nhwc, tmp_path / "split", resume=True, progress=False)
    losses = [[r["losses"] for r in read_log(tmp_path / run)] for run in ("split", "straight")]
    assert losses[0] == losses[1]  # bit for bit
    for layout in (True, False):  # the same numbers, in the layout of the new run's weights
        trainer = Trainer(make_config(tiny_data, channels_last=layout))
        trainer.load_state_dict(state)
        conv = trainer.model.G.model[1].weight
        assert conv.is_contiguous(memory_format=torch.channels_last) == layout
        saved = state["optimizers"]["G"]["state"]
        for index, param in enumerate(trainer.opt_G.param_groups[0]["params"]):
            moments = trainer.opt_G.state[param]
            assert torch.equal(moments["exp_avg"], saved[index]["exp_avg"])
            assert moments["exp_avg"].stride() == param.stride()
