"""torch.compile of each network (kornia's test_dynamo per operation) and of the trainer's four."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from dof_gan import (
    DiscriminatorConfig,
    GeneratorConfig,
    TrainConfig,
    build_discriminator,
    build_generator,
    read_log,
    train,
)

NETWORKS = {
    "generator": lambda: build_generator(GeneratorConfig(ngf=4, n_blocks=1), seed=0),
    "generator-resize": lambda: build_generator(
        GeneratorConfig(ngf=4, n_blocks=1, upsampling="resize"), seed=0
    ),
    "discriminator": lambda: build_discriminator(DiscriminatorConfig(ndf=4), seed=0),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(NETWORKS))
def test_compiled_network_matches_eager_forward_and_backward(name: str) -> None:
    torch._dynamo.reset()
    eager = NETWORKS[name]()
    compiled = torch.compile(NETWORKS[name](), fullgraph=True)  # no graph breaks
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    expected, got = eager(x), compiled(x)
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)
    expected.square().mean().backward()
    got.square().mean().backward()
    grads = {n: p.grad for n, p in eager.named_parameters()}
    for n, p in compiled.named_parameters():  # the same weights get the same gradients
        torch.testing.assert_close(p.grad, grads[n.removeprefix("_orig_mod.")], rtol=1e-3,
                                   atol=1e-5)  # fmt: skip


@pytest.mark.slow
def test_compiled_training_keeps_plain_checkpoint_keys_and_resumes_uncompiled(
    tmp_path: Path, tiny_data: Path, make_config: Callable[..., TrainConfig]
) -> None:
    torch._dynamo.reset()
    run = tmp_path / "run"
    train(make_config(tiny_data, compile=True, max_steps=2), run, progress=False)
    state = torch.load(run / "checkpoints" / "last.pt", weights_only=True)
    plain = make_config(tiny_data)
    for name, weights in state["networks"].items():
        assert not any("_orig_mod" in key for key in weights), name
    eager = tmp_path / "eager"
    train(make_config(tiny_data, max_steps=2), eager, progress=False)
    for one, other in zip(read_log(run), read_log(eager), strict=True):  # the same arithmetic
        for name, value in one["losses"].items():
            assert other["losses"][name] == pytest.approx(value, rel=1e-3, abs=1e-5), name
    result = train(plain, run, resume=True, progress=False)
    assert result.finished and [r["step"] for r in read_log(run)] == list(range(1, 7))
