"""Typed errors of dof-io. Every message names the file and says what to do."""

from __future__ import annotations

from pathlib import Path


class DofIOError(Exception):
    """Base class of every error dof-io raises."""


class ImageReadError(DofIOError):
    """A file could not be read as a photo or mask.

    Attributes:
        path: the file that failed.
        reason: what was wrong with it, without the path.
    """

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class MaskFormatError(DofIOError):
    """A mask array or file does not fit the photo it belongs to."""
