"""One checkpoint dict, written atomically and read with ``torch.load(weights_only=True)``.

It holds only tensors, numbers, strings, lists and dicts: the four networks, both optimizers
and schedulers, the image pools (images and generator states), every random-number state
(torch CPU and CUDA, Python's ``random``, the epoch planner), the step and epoch, the config.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import torch

import dof_io
from dof_gan.errors import CheckpointError
from dof_io.training import load_state, save_state

CHECKPOINT_FORMAT = "dof-gan-checkpoint"
CHECKPOINT_VERSION = 1


def save_checkpoint(state: dict[str, Any], path: str | Path) -> Path:
    """Write ``state`` to ``path`` atomically (temporary file in the same folder, then rename)."""
    return save_state({"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, **state}, path)


def link_checkpoint(source: Path, target: Path) -> None:
    """Make ``target`` the same file as ``source``, atomically (a hard link, else a copy)."""
    with dof_io.atomic_path(target) as tmp:
        tmp.unlink()
        try:
            os.link(source, tmp)
        except OSError:
            shutil.copyfile(source, tmp)


def load_checkpoint(
    path: str | Path, *, map_location: str | torch.device = "cpu"
) -> dict[str, Any]:
    """Read a checkpoint with ``weights_only=True``.

    Raises:
        CheckpointError: missing, damaged, or not a dof-gan checkpoint.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(path, "no such checkpoint file")
    try:
        state = dof_io.load_weights(path, lambda p: load_state(p, map_location=map_location))
    except dof_io.WeightsFileError as err:  # unsafe, empty, truncated: one line, no torch advice
        raise CheckpointError(path, err.reason) from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(path, "not a dof-gan training checkpoint (no 'format' marker)")
    if state.get("version") != CHECKPOINT_VERSION:
        raise CheckpointError(
            path, f"checkpoint version {state.get('version')!r}; this dof-gan reads "
            f"{CHECKPOINT_VERSION}"
        )  # fmt: skip
    return state
