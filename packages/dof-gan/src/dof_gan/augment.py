"""What the discriminator sees: small-data augmentation applied alike to real and fake images.

Differentiable augmentation (Zhao et al. 2020, "DiffAugment") lets a discriminator trained on
a few thousand images judge content rather than memorise it. Only geometric policies are
offered: colour jitter would blind D_B to the colour casts a generator must not make.

- ``translation``: shift by up to 1/8 of each side, the uncovered border filled with 0 (grey
  in [-1, 1]).
- ``cutout``: one square of half each side set to 0, at a random place.

Draws come from a generator of their own (the run's ``augment`` stream, :mod:`dof_gan.seeds`),
whose state the checkpoint keeps, so a resumed run augments exactly as an uninterrupted one.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from dof_gan.errors import ConfigError

POLICIES = ("translation", "cutout")


def parse_policy(policy: str) -> tuple[str, ...]:
    """``"translation,cutout"`` -> ``("translation", "cutout")``; "" -> ().

    Raises:
        ConfigError: for an unknown name (the valid ones are listed).
    """
    names = tuple(name.strip() for name in policy.split(",") if name.strip())
    unknown = [name for name in names if name not in POLICIES]
    if unknown:
        raise ConfigError(
            "--d-augment", f"unknown policy {', '.join(unknown)}; choose from {', '.join(POLICIES)}"
        )
    return names


def translate(x: Tensor, generator: torch.Generator | None = None, ratio: float = 0.125) -> Tensor:
    """Shift each image by up to ``ratio`` of its sides (whole pixels), zeros coming in."""
    B, _, H, W = x.shape
    dy = torch.randint(-int(H * ratio), int(H * ratio) + 1, (B,), generator=generator).tolist()
    dx = torch.randint(-int(W * ratio), int(W * ratio) + 1, (B,), generator=generator).tolist()
    pad = max(int(H * ratio), int(W * ratio))
    padded = F.pad(x, (pad, pad, pad, pad))
    return torch.stack(
        [
            padded[b, :, pad - dy[b] : pad - dy[b] + H, pad - dx[b] : pad - dx[b] + W]
            for b in range(B)
        ]
    )


def cutout(x: Tensor, generator: torch.Generator | None = None, ratio: float = 0.5) -> Tensor:
    """Zero one square of ``ratio`` of each side per image, at a random place."""
    B, _, H, W = x.shape
    h, w = max(1, int(H * ratio)), max(1, int(W * ratio))
    ys = torch.randint(0, H - h + 1, (B,), generator=generator)
    xs = torch.randint(0, W - w + 1, (B,), generator=generator)
    keep = torch.ones(B, 1, H, W, dtype=x.dtype, device=x.device)
    for b in range(B):
        keep[b, :, ys[b] : ys[b] + h, xs[b] : xs[b] + w] = 0
    return x * keep


_OPS = {"translation": translate, "cutout": cutout}


def augment(x: Tensor, policy: str, generator: torch.Generator | None = None) -> Tensor:
    """Apply ``policy``'s operations in order ("" returns ``x`` itself); differentiable in x.
    Draws from ``generator`` (a CPU generator; None: torch's global one)."""
    for name in parse_policy(policy):
        x = _OPS[name](x, generator)
    return x
