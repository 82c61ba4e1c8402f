"""Shared helpers for dof-gan's tests: tiny synthetic datasets and tiny configs.

Everything runs on one CPU thread: the suite shares a small machine, and a fixed thread count
also keeps float results identical between this process and the subprocesses some tests start.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import dof_io
from dof_gan import TrainConfig, config_from_options


@pytest.fixture(autouse=True, scope="session")
def one_thread() -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _make_dataset(root: Path, *, n: int = 3, size: int = 40, masks: str = "alpha") -> Path:
    """trainA/ and trainB/ of random photos (slightly non-square) with a box-shaped person.

    ``masks``: ``"alpha"`` (RGBA images), ``"folder"`` (maskA/ maskB/ grey PNGs) or ``"none"``.
    """
    rng = np.random.default_rng(0)
    for domain in "AB":
        for i in range(n):
            h, w = size + int(rng.integers(0, 6)), size + int(rng.integers(0, 6))
            rgb = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
            mask = np.zeros((h, w), np.float32)
            mask[h // 4 : 3 * h // 4, w // 3 : 2 * w // 3] = 1.0
            name = f"{domain.lower()}{i}"
            if masks == "alpha":
                dof_io.write_rgba(root / f"train{domain}" / f"{name}.png", rgb, mask)
            else:
                dof_io.write_rgb(root / f"train{domain}" / f"{name}.jpg", rgb)
            if masks == "folder":
                grey = (mask * 255).astype(np.uint8)
                dof_io.write_rgb(root / f"mask{domain}" / f"{name}.png", np.dstack([grey] * 3))
    return root


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _make_dataset(tmp_path_factory.mktemp("data"))


def _tiny_config(data: Path, **options: Any) -> TrainConfig:
    """A config small enough for a CPU test: 32x32, ngf 4, two residual blocks, random VGG, fp32."""
    base: dict[str, Any] = {
        "preset": "combined",
        "data": str(data),
        "name": "test",
        "size": 32,
        "ngf": 4,
        "ndf": 4,
        "n_blocks": 2,
        "vgg_weights": "none",
        "workers": 0,
        "epochs": 1,
        "epochs_decay": 1,
        "pool_size": 3,
        "sample_every": 2,
        "checkpoint_every": 2,
        "deterministic": True,
        "precision": "fp32",  # the same numbers on every machine; bf16 has tests of its own
    }
    return config_from_options({**base, **options})


@pytest.fixture(scope="session")
def make_dataset() -> Callable[..., Path]:
    """``make_dataset(root, n=3, size=40, masks="alpha")`` -> root."""
    return _make_dataset


@pytest.fixture(scope="session")
def make_config() -> Callable[..., TrainConfig]:
    """``make_config(data, **options)``: a tiny combined-preset config; options override."""
    return _tiny_config
