"""Checkpoints and random states for trainers (needs torch: ``pip install dof-io[torch]``).

One checkpoint is one dict of tensors, numbers, strings, lists and dicts, written atomically
(temporary file, fsync, rename) and read back with ``torch.load(weights_only=True)``, so a
checkpoint from elsewhere cannot run code. :func:`rng_states` captures every process-wide random
state a training step may draw from (torch CPU and CUDA, Python's ``random``); a trainer's own
``torch.Generator`` states go into the same dict.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import torch

from dof_io.atomic import atomic_path


def rng_states() -> dict[str, Any]:
    """The process-wide random states, as weights-only-loadable values."""
    version, internal, gauss = random.getstate()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "python": [version, list(internal), gauss],
    }


def set_rng_states(states: dict[str, Any]) -> None:
    """Restore what :func:`rng_states` captured (CUDA states only where CUDA is present)."""
    torch.set_rng_state(states["torch"].cpu())
    if states["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([state.cpu() for state in states["cuda"]])
    version, internal, gauss = states["python"]
    random.setstate((version, tuple(internal), gauss))


def save_state(state: dict[str, Any], path: str | Path) -> Path:
    """``torch.save(state)`` to ``path`` atomically: a reader sees the old file or the new one."""
    path = Path(path)
    with atomic_path(path) as tmp:
        torch.save(state, tmp)
    return path


def load_state(path: str | Path, *, map_location: str | torch.device = "cpu") -> Any:
    """``torch.load(path, weights_only=True)``: tensors and plain values only, never code."""
    return torch.load(path, map_location=map_location, weights_only=True)
