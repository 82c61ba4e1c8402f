"""The GPU paths: training on CUDA, resuming there, translating there (skipped without a GPU)."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from dof_gan import TrainConfig, load_generator, read_log, train, translate


@pytest.mark.cuda
def test_training_and_resume_on_cuda(
    tmp_path: Path, tiny_data: Path, make_config: Callable[..., TrainConfig]
) -> None:
    run = tmp_path / "run"
    train(make_config(tiny_data, device="cuda", max_steps=2), run, progress=False)
    result = train(make_config(tiny_data, device="cuda"), run, resume=True, progress=False)
    assert result.finished and result.step == 6
    rows = read_log(run)
    assert [r["step"] for r in rows] == list(range(1, 7))
    assert all(math.isfinite(v) for r in rows for v in r["losses"].values())


@pytest.mark.cuda
def test_translate_on_cuda_matches_cpu(
    tmp_path: Path, tiny_data: Path, make_config: Callable[..., TrainConfig]
) -> None:
    train(make_config(tiny_data, max_steps=1), tmp_path / "run", progress=False)
    image = torch.rand(1, 3, 45, 61)
    on_cpu = translate(load_generator(tmp_path / "run"), image)
    on_gpu = translate(load_generator(tmp_path / "run", device="cuda"), image)
    assert on_gpu.device.type == "cuda"
    assert torch.allclose(on_gpu.cpu(), on_cpu, atol=1e-4)


@pytest.mark.cuda
@pytest.mark.parametrize("precision", ["fp16", "bf16"])
def test_mixed_precision_on_cuda_trains_and_resumes_in_fp32(
    tmp_path: Path, tiny_data: Path, make_config: Callable[..., TrainConfig], precision: str
) -> None:
    run = tmp_path / "run"
    start = make_config(tiny_data, device="cuda", precision=precision, channels_last=True,
                        max_steps=2)  # fmt: skip
    train(start, run, progress=False)
    state = torch.load(run / "checkpoints" / "last.pt", weights_only=True)
    assert bool(state["scaler"]) == (precision == "fp16")  # the GradScaler's state, fp16 only
    weights = [w for net in state["networks"].values() for w in net.values()]
    assert all(w.dtype == torch.float32 for w in weights)
    result = train(make_config(tiny_data, device="cuda"), run, resume=True, progress=False)
    assert result.finished and result.step == 6
    assert all(math.isfinite(v) for r in read_log(run) for v in r["losses"].values())
