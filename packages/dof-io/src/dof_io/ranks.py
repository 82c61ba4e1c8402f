"""Which share of a batch job this process does, when torchrun starts several of them.

One rule for every batch command (``dof seg``, ``dof smooth``, ``dof apply``) and for the
trainer's rank: torchrun sets ``RANK`` and ``WORLD_SIZE``; without them a process is rank 0 of
1 and does everything. Rank r of n takes items r, r + n, r + 2n, ... of a list that every rank
builds in the same order, so the shares never overlap and together cover the list.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TypeVar

T = TypeVar("T")


def process_share(environ: Mapping[str, str] | None = None) -> tuple[int, int]:
    """``(rank, world_size)`` from torchrun's environment; ``(0, 1)`` outside torchrun.

    Raises:
        ValueError: RANK/WORLD_SIZE that are not whole numbers, or a rank outside the world.
    """
    env = os.environ if environ is None else environ
    if "WORLD_SIZE" not in env:
        return 0, 1
    try:
        rank, world = int(env.get("RANK", "0")), int(env["WORLD_SIZE"])
    except ValueError as err:
        raise ValueError(f"RANK and WORLD_SIZE must be whole numbers: {err}") from err
    if world < 1 or not 0 <= rank < world:
        raise ValueError(f"RANK={rank} is outside WORLD_SIZE={world}")
    return rank, world


def rank_share(items: Sequence[T], share: tuple[int, int] | None = None) -> list[T]:
    """This process's items: ``items[rank::world_size]``.

    Args:
        items: the whole job, in an order every rank agrees on (sorted paths, say).
        share: ``(rank, world_size)``; default :func:`process_share` of this process.
    """
    rank, world = process_share() if share is None else share
    return list(items[rank::world])


def local_rank(environ: Mapping[str, str] | None = None) -> int:
    """torchrun's ``LOCAL_RANK`` (this process's GPU on its machine); RANK when unset.

    Raises:
        ValueError: LOCAL_RANK, RANK or WORLD_SIZE set but not whole numbers in range.
    """
    env = os.environ if environ is None else environ
    rank, _ = process_share(env)
    try:
        return int(env.get("LOCAL_RANK", rank))
    except ValueError as err:
        raise ValueError(f"LOCAL_RANK must be a whole number: {err}") from err


def local_device(device: str, environ: Mapping[str, str] | None = None) -> str:
    """``cuda`` -> ``cuda:LOCAL_RANK`` in a process of several under torchrun, so that the
    processes of one machine use one GPU each; any other device, or a single process, as is."""
    env = os.environ if environ is None else environ
    if device != "cuda" or process_share(env)[1] == 1:
        return device
    return f"cuda:{local_rank(env)}"
