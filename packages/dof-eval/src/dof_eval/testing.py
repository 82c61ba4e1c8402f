"""Small synthetic inputs for tests of dof-eval and of the packages and apps that use it.

- :func:`write_run`: a training run folder shaped like dof-gan's (``config.json``, ``log.jsonl``).
- :func:`scene`: a red disk (the subject) on a textured background, with its mask.
- :func:`paste_blur` and :func:`halo_free_blur`: the two ways of compositing a blurred
  background, as plain reference implementations (a halo and no halo).
- :func:`find_chromium`: the system browser that tests drive through playwright.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

from dof_io.testing import find_chromium as find_chromium  # where page tests find it

LOSS_TERMS = ("D_A", "D_B", "G_gan", "F_gan", "cycle_A", "cycle_B", "idt_G", "idt_F", "mask_A",
              "mask_B", "G_total")  # fmt: skip


def write_run(
    folder: str | Path,
    name: str,
    preset: str,
    *,
    steps: int = 40,
    per_epoch: int = 10,
    scale: float = 1.0,
    drop: tuple[str, ...] = (),
    config_extra: dict[str, object] | None = None,
) -> Path:
    """Write ``config.json`` and a ``log.jsonl`` of exponentially falling losses; returns folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    config = {"name": name, "preset": preset, **(config_extra or {})}
    (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
    lines = []
    for step in range(1, steps + 1):
        losses = {
            t: scale * (1.0 + i / 10) * math.exp(-step / 20) for i, t in enumerate(LOSS_TERMS)
        }
        for term in drop:
            losses.pop(term)
        epoch = (step - 1) // per_epoch + 1
        record = {"step": step, "epoch": epoch, "lr": 2e-4, "time": step * 0.1, "losses": losses}
        lines.append(json.dumps(record))
    (folder / "log.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def scene(size: int = 64, seed: int = 0) -> tuple[Tensor, Tensor]:
    """A red disk on a textured blue-green background.

    Returns:
        image (1, 3, size, size) in [0, 1] and its mask (1, 1, size, size), 1 = subject.
    """
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    disk = (((yy - size / 2) ** 2 + (xx - size / 2) ** 2) <= (size / 4) ** 2).float()
    texture = torch.rand(1, 3, size, size, generator=g)
    background = torch.tensor([0.1, 0.4, 0.7]).view(1, 3, 1, 1) + 0.25 * (texture - 0.5)
    subject = torch.tensor([0.9, 0.15, 0.1]).view(1, 3, 1, 1) + 0.05 * (texture - 0.5)
    mask = disk[None, None]
    return (mask * subject + (1 - mask) * background).clamp(0, 1), mask


def box_blur(image: Tensor, radius: int) -> Tensor:
    """Box blur of (B, C, H, W) with replicate padding."""
    padded = F.pad(image, (radius,) * 4, mode="replicate")
    return F.avg_pool2d(padded, 2 * radius + 1, stride=1)


def paste_blur(image: Tensor, mask: Tensor, radius: int = 4) -> Tensor:
    """Blur the whole photo, paste the sharp subject back: the subject's colour bleeds out."""
    return mask * image + (1 - mask) * box_blur(image, radius)


def halo_free_blur(image: Tensor, mask: Tensor, radius: int = 4) -> Tensor:
    """Blur only background pixels (normalised by their weight), paste the subject back."""
    background = 1 - mask
    blurred = box_blur(image * background, radius) / box_blur(background, radius).clamp_min(1e-6)
    return mask * image + background * blurred
