"""Start or resume a run folder: the one call behind ``dof-train`` and ``python -m dof_gan``."""

from __future__ import annotations

import contextlib
import json
import signal
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import FrameType
from typing import Any

import torch
from tqdm import tqdm

import dof_io
from dof_gan import runlog
from dof_gan.checkpoint import load_checkpoint
from dof_gan.config import TrainConfig, config_to_dict, config_to_json
from dof_gan.data import check_dataset
from dof_gan.distributed import (
    World,
    barrier,
    device_for,
    first_failure,
    init_process_group,
    world_from_env,
)
from dof_gan.errors import ConfigError, RunFolderError
from dof_gan.options import (
    OPTION_FIELDS,
    RESUME_OVERRIDES,
    config_from_dict,
    config_from_options,
    flag,
    resume_config,
)
from dof_gan.trainer import StopFlag, Trainer, TrainResult


def load_run_config(run: str | Path) -> TrainConfig:
    """The config a run was started with (``RUN/config.json``).

    Raises:
        RunFolderError: no config.json; ConfigError: it does not validate.
    """
    path = runlog.config_path(Path(run))
    if not path.is_file():
        raise RunFolderError(f"{run} holds no run (no config.json): start it without --resume")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise RunFolderError(f"{path}: not readable JSON ({err})") from err
    return config_from_dict(raw)


def command_config(options: Mapping[str, Any], *, resume: bool = False) -> TrainConfig:
    """The config ``dof-train`` runs with: :func:`~dof_gan.config_from_options` for a new run;
    for ``resume``, the run's saved config (``options["out"]`` names the run) with only the
    runtime options changed (:func:`~dof_gan.resume_config`)."""
    if resume:
        return resume_config(load_run_config(options["out"]), options)
    return config_from_options(options)


def train(
    config: TrainConfig,
    run: str | Path,
    *,
    resume: bool = False,
    progress: bool = True,
    world: World | None = None,
) -> TrainResult:
    """Train ``config`` into the run folder ``run``; with ``resume``, continue from ``last.pt``.

    Data (every image and mask is decoded once), masks and VGG weights are checked before
    anything is written. The run folder is locked for the whole call (``dof_io.folder_lock``):
    a second trainer on it fails at once with :class:`dof_io.FolderLockedError`. A resumed run
    drops log lines past its checkpoint and then logs exactly what an uninterrupted run would
    have (CPU with ``config.deterministic``). Ctrl-C (or SIGTERM) stops after the current step
    with a checkpoint; a second Ctrl-C aborts.

    Under torchrun (``world``, by default read from the environment, has several ranks) every
    rank calls this; see :func:`_train_ranks`.

    Raises:
        RunFolderError: ``run`` exists without ``resume``, or there is nothing to resume.
        FolderLockedError: another process is training into ``run``.
        DatasetError, WeightsError: the data or the VGG weights are not usable.
        ConfigError: ``config`` differs from the run's checkpoint in more than runtime options.
    """
    world = world_from_env() if world is None else world
    if world.distributed:
        return _train_ranks(config, Path(run), resume=resume, progress=progress, world=world)
    run = runlog.check_run_folder(run, resume=resume)
    with contextlib.ExitStack() as held:
        if run.is_dir():  # an existing run: fail at once when a trainer is in it
            held.enter_context(dof_io.folder_lock(run))
        trainer = Trainer(config)
        check_dataset(trainer.dataset)  # every image and mask, before anything is written
        lock = held.enter_context(dof_io.folder_lock(run))  # one trainer per run folder
        run = runlog.check_run_folder(run, resume=resume)  # again: another may have started
        lock.remove_stale_temp_files(recursive=True)  # half-written checkpoints of a kill
        checkpoint = runlog.last_checkpoint_path(run)
        if resume and checkpoint.is_file():
            state = load_checkpoint(checkpoint)
            _check_same_run(state["config"], config_to_dict(config))
            trainer.load_state_dict(state)
            runlog.truncate_log(run, trainer.step)
        else:  # a fresh run, or one killed before its first checkpoint: start at step 0
            runlog.truncate_log(run, 0)
        dof_io.atomic_write_text(runlog.config_path(run), config_to_json(config))
        exact = deterministic_algorithms(config.deterministic, warn_only=config.device != "cpu")
        with exact, stop_on_interrupt() as stop:
            return trainer.fit(run, progress=progress, stop=stop)


def _train_ranks(
    config: TrainConfig, run: Path, *, resume: bool, progress: bool, world: World
) -> TrainResult:
    """:func:`train` on one of several ranks: rank 0 checks the data, locks and prepares the
    run folder while the others build their trainers; a failure on any rank there (a refusal
    or a bug) reaches every rank (:func:`first_failure`): the failed rank raises its own error,
    the others a RunFolderError naming it, and none waits for the backend's timeout."""
    init_process_group(world, device_for(world, config.device))
    try:
        with contextlib.ExitStack() as held:
            failure: Exception | None = None
            try:
                trainer = Trainer(config, world, distribute=False)  # no collective yet
                if world.is_main:
                    run = runlog.check_run_folder(run, resume=resume)
                    check_dataset(trainer.dataset)
                    lock = held.enter_context(dof_io.folder_lock(run))
                    run = runlog.check_run_folder(run, resume=resume)
                    lock.remove_stale_temp_files(recursive=True)
            except Exception as err:  # any failure must reach the other ranks, then raise
                failure = err
            first = first_failure(failure, world)
            if failure is not None:
                raise failure
            if first is not None:
                raise RunFolderError(f"rank {first[0]} stopped: {first[1]}")
            trainer.distribute()  # every rank is ready: the DDP wrappers' collectives
            checkpoint = runlog.last_checkpoint_path(run)
            if resume and checkpoint.is_file():
                state = load_checkpoint(checkpoint)
                _check_same_run(state["config"], config_to_dict(config))
                trainer.load_state_dict(state)
            if world.is_main:
                runlog.truncate_log(run, trainer.step)
                dof_io.atomic_write_text(runlog.config_path(run), config_to_json(config))
            barrier(world)
            exact = deterministic_algorithms(config.deterministic, warn_only=config.device != "cpu")
            with exact, stop_on_interrupt() as stop:
                result = trainer.fit(run, progress=progress, stop=stop)
            barrier(world)  # every rank done with the group before any tears it down
            del trainer  # its DDP wrappers go before their process group
            return result
    finally:
        torch.distributed.destroy_process_group()


def _check_same_run(saved: dict[str, Any], current: dict[str, Any]) -> None:
    # a field added to the config after the checkpoint was written takes its default there,
    # which is what that run did (a new option's default keeps the old behaviour)
    saved = config_to_dict(config_from_dict(saved))
    runtime = {OPTION_FIELDS[option] for option in RESUME_OVERRIDES} | {"max_steps"}
    for path in _leaves(saved) | _leaves(current):
        if path in runtime:
            continue
        old, new = _lookup(saved, path), _lookup(current, path)
        if old != new:
            raise ConfigError(
                flag(path),
                f"the checkpoint was trained with {old!r}, this config says {new!r}; resume "
                "with the run's own config.json or start a new run",
            )


def _leaves(tree: dict[str, Any], prefix: str = "") -> set[str]:
    out: set[str] = set()
    for key, value in tree.items():
        path = f"{prefix}{key}"
        out |= _leaves(value, path + ".") if isinstance(value, dict) else {path}
    return out


def _lookup(tree: dict[str, Any], path: str) -> Any:
    node: Any = tree
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


@contextlib.contextmanager
def deterministic_algorithms(enabled: bool, *, warn_only: bool = False) -> Iterator[None]:
    """``torch.use_deterministic_algorithms(True)`` for the block, then the previous setting.

    ``warn_only`` for GPUs, where some kernels here (reflection-pad backward) have no
    deterministic version: they then warn instead of stopping the run.
    """
    if not enabled:
        yield
        return
    before = torch.are_deterministic_algorithms_enabled()
    warn_before = torch.is_deterministic_algorithms_warn_only_enabled()
    torch.use_deterministic_algorithms(True, warn_only=warn_only)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(before, warn_only=warn_before)


@contextlib.contextmanager
def stop_on_interrupt() -> Iterator[StopFlag]:
    """First SIGINT/SIGTERM: finish the step and checkpoint. Second SIGINT: KeyboardInterrupt."""
    stop = StopFlag()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        if stop.requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        stop.requested = True
        tqdm.write("stopping after this step; writing a checkpoint (Ctrl-C again to abort)")

    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    for sig in previous:
        signal.signal(sig, handler)
    try:
        yield stop
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
