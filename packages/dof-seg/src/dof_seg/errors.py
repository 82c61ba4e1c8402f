"""Typed errors of dof-seg. Every message says what came, what was expected and how to fix it."""

from __future__ import annotations

from pathlib import Path

import dof_io


class DofSegError(Exception):
    """Base class of every error dof-seg raises."""


class UnknownSegmenterError(DofSegError, KeyError):
    """A segmenter name that is not in :data:`dof_seg.SEGMENTERS`."""

    def __init__(self, name: str, valid: list[str]) -> None:
        self.name = name
        self.valid = valid
        super().__init__(f"unknown segmenter {name!r}; valid names: {', '.join(valid)}")

    def __str__(self) -> str:  # KeyError would print the message quoted
        return str(self.args[0])


class ShapeError(DofSegError, dof_io.ShapeError):
    """A tensor whose shape, dtype or value range is not what the function takes."""


class OptionError(DofSegError, ValueError):
    """An option a backend or post-processing step does not take, or a value it cannot use."""


class RunFolderError(DofSegError, dof_io.RunFolderError):
    """A run folder that cannot be started or resumed as asked (``dof seg train``)."""


class WeightsNotFoundError(DofSegError, FileNotFoundError):
    """Model weights that are not on this machine and cannot be downloaded."""

    def __init__(self, what: str, path: str | Path, hint: str) -> None:
        self.path = Path(path)
        super().__init__(f"{what}: weights not found at {self.path}. {hint}")


class MaskNotFoundError(DofSegError, FileNotFoundError):
    """The `precomputed` backend found no mask file for a photo."""

    def __init__(self, name: str, folder: str | Path, tried: list[str]) -> None:
        self.name = name
        self.folder = Path(folder)
        super().__init__(
            f"no precomputed mask for {name!r} in {self.folder} (looked for "
            f"{', '.join(tried)}); run `dof seg` with another segmenter first, or check the folder"
        )


class ConversionError(DofSegError):
    """A TFLite file that does not have the graph the converter expects."""


class TrainDataError(DofSegError, ValueError):
    """A training folder without usable photo and mask pairs."""
