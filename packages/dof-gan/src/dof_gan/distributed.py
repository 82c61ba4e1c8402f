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
from dof_gan.errors import DofGanError

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
    """This rank's device by :func:`dof_io.local_device`'s rule (the one every batch command
    uses): ``cuda`` -> ``cuda:LOCAL_RANK`` when several ranks share a machine; else as is."""
    env = {"RANK": str(world.rank), "WORLD_SIZE": str(world.world_size),
           "LOCAL_RANK": str(world.local_rank)}  # fmt: skip
    return torch.device(dof_io.local_device(device, env))


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


def first_failure(failure: BaseException | None, world: World) -> tuple[int, str] | None:
    """The first rank that failed and its message, the same on every rank; None when none did.

    A collective: every rank calls it, failed or not, so that a failure on any rank (a
    refusal, a bug, a rank that could not build its trainer) stops all of them with one
    message instead of leaving the others waiting until the backend times out.
    """
    mine = None
    if failure is not None:
        package = isinstance(failure, (dof_io.DofIOError, DofGanError))
        mine = str(failure) if package else f"{type(failure).__name__}: {failure}"
    if not world.distributed:
        return None if mine is None else (world.rank, mine)
    messages: list[Any] = [None] * world.world_size
    dist.all_gather_object(messages, mine)
    return next(((rank, str(m)) for rank, m in enumerate(messages) if m is not None), None)


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
