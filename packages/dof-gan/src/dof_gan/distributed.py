"""Training in several processes: ``torchrun --nproc-per-node N -m dof_gan RUN --config C``.

The rank is derived once, from the environment torchrun sets (``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK``), into a :class:`World`. Rules, as StyleGAN2-ADA and nanoGPT keep them:

- one DistributedDataParallel wrapper per network (G runs twice a step), used only in
  the step that trains it; the frozen judges of the generator step run unwrapped;
- each epoch's plan is cut into global batches of ``world_size * batch_size`` items and every
  rank takes its slice (:func:`shard_plan`), so N ranks see what one process with an N times
  larger batch would see; gradients are averaged by DDP;
- every rank keeps its own image pools; rank 0 alone writes the log, samples and checkpoints;
- NCCL on CUDA (one GPU per rank, ``cuda:LOCAL_RANK``), gloo on CPU.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import torch
import torch.distributed as dist
from torch import nn

import dof_io
from dof_gan.config import TrainConfig, config_to_json

T = TypeVar("T")


@dataclass(frozen=True)
class World:
    """This process's place among the training processes (one process: rank 0 of 1)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        """Rank 0: the process that writes."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def world_from_env(environ: Mapping[str, str] | None = None) -> World:
    """The :class:`World` torchrun describes in the environment (none: a single process).

    RANK and WORLD_SIZE are read by :func:`dof_io.process_share`, the rule every batch command
    shares; LOCAL_RANK (the GPU on this machine) by :func:`dof_io.local_rank`.

    Raises:
        ValueError: RANK/WORLD_SIZE/LOCAL_RANK present but not whole numbers in range.
    """
    env = os.environ if environ is None else environ
    rank, world_size = dof_io.process_share(env)
    return World(rank, world_size, dof_io.local_rank(env))


def device_for(world: World, device: str) -> torch.device:
    """``cuda`` -> ``cuda:LOCAL_RANK`` when several ranks share a machine; else unchanged."""
    if world.distributed and device == "cuda":
        return torch.device("cuda", world.local_rank)
    return torch.device(device)


def init_process_group(world: World, device: torch.device) -> None:
    """Join the other ranks (``env://``: the address and port torchrun set): NCCL or gloo."""
    if not world.distributed or dist.is_initialized():
        return
    if device.type == "cuda":
        torch.cuda.set_device(device)
    backend = "nccl" if device.type == "cuda" else "gloo"
    dist.init_process_group(backend, rank=world.rank, world_size=world.world_size)


def shard_plan(plan: Sequence[T], world: World, batch_size: int) -> list[T]:
    """This rank's items of ``plan``, in step order.

    The plan is cut into global batches of ``world_size * batch_size``; rank r takes items
    ``[r * batch_size, (r + 1) * batch_size)`` of each. The last global batch is filled up
    from the plan's start so that every rank runs the same number of steps (DDP needs that).

    Returns:
        ``steps * batch_size`` items, ``steps = ceil(len(plan) / (world_size * batch_size))``;
        with one process the plan itself (a short last batch, as always).
    """
    if not world.distributed:
        return list(plan)
    step_items = world.world_size * batch_size
    steps = -(-len(plan) // step_items)
    padded = [plan[i % len(plan)] for i in range(steps * step_items)]
    mine: list[T] = []
    for step in range(steps):
        start = step * step_items + world.rank * batch_size
        mine.extend(padded[start : start + batch_size])
    return mine


def wrap(module: nn.Module, world: World, device: torch.device) -> nn.Module:
    """``module`` in a DistributedDataParallel wrapper (the module itself with one rank)."""
    if not world.distributed:
        return module
    ids = [device.index] if device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(module, device_ids=ids)


def any_rank(flag: bool, world: World, device: torch.device) -> bool:
    """True on every rank when ``flag`` is true on any (a collective: call it on all ranks)."""
    if not world.distributed:
        return flag
    value = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item())


def broadcast_error(message: str | None, world: World) -> str | None:
    """Rank 0's error message (or None) on every rank, so a refusal stops all of them."""
    if not world.distributed:
        return message
    box: list[Any] = [message]
    dist.broadcast_object_list(box, src=0)
    return box[0] if box[0] is None else str(box[0])


def barrier(world: World) -> None:
    if world.distributed:
        dist.barrier()


def torchrun_command(run: Path, config_file: Path, nproc: int, *, resume: bool,
                     progress: bool = True) -> list[str]:  # fmt: skip
    """The command that trains ``run`` in ``nproc`` processes on this machine (no shell)."""
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               f"--nproc-per-node={nproc}", "-m", "dof_gan", str(run), "--config",
               str(config_file)]  # fmt: skip
    return command + (["--resume"] if resume else []) + ([] if progress else ["--no-progress"])


def launch(config: TrainConfig, run: str | Path, nproc: int, *, resume: bool = False,
           progress: bool = True) -> int:  # fmt: skip
    """Train ``config`` in ``nproc`` processes through torchrun; returns its exit status.

    The resolved config travels in a temporary JSON file; each rank reads it and calls
    :func:`dof_gan.train`. No shell is involved.
    """
    with tempfile.TemporaryDirectory(prefix="dof-train-") as folder:
        config_file = Path(folder) / "config.json"
        config_file.write_text(config_to_json(config), encoding="utf-8")
        command = torchrun_command(Path(run), config_file, nproc, resume=resume,
                                   progress=progress)  # fmt: skip
        return subprocess.run(command, check=False).returncode  # noqa: S603 (argv list, our module)
