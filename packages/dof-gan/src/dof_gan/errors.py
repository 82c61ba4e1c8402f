"""Typed errors of dof-gan. Every message says what came, what was expected and how to fix it."""

from __future__ import annotations

from pathlib import Path

import dof_io


class DofGanError(Exception):
    """Base class of every error dof-gan raises."""


class ConfigError(DofGanError, ValueError):
    """An option or config value is out of range, unknown, or conflicts with a run.

    Attributes:
        option: the command-line spelling of the option at fault (``--size``), or the field name.
        reason: what was wrong and what to change, without the option name.
    """

    def __init__(self, option: str, reason: str) -> None:
        self.option = option
        self.reason = reason
        super().__init__(f"{option}: {reason}")


class ShapeError(DofGanError, dof_io.ShapeError):
    """A tensor has the wrong shape, dtype or value range for the function it was given to."""


class MemoryBudgetError(DofGanError, dof_io.PhotoError):
    """A photo the generator cannot translate within the memory budget, even in tiles (a
    photo's own fault: batch jobs report it and go on)."""


class DatasetError(DofGanError):
    """The training folder is missing, incomplete, or holds an image without a mask."""


class RunFolderError(DofGanError):
    """The run folder exists without --resume, or has nothing to resume."""


class CheckpointError(DofGanError):
    """A checkpoint or exported generator cannot be read or does not fit the expected format."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class WeightsError(DofGanError):
    """The VGG-19 ImageNet weights are not available (offline, or a bad file)."""
