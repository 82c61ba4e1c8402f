"""Typed errors of dof-io. Every message names the file and says what to do."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dof_io.lock import LockHolder


class DofIOError(Exception):
    """Base class of every error dof-io raises."""


class PhotoError(DofIOError):
    """A photo's own fault: unreadable, too large for the memory budget, or its mask does not
    fit it. A batch job records it against the photo and goes on (``dof_io.PHOTO_FAULTS``);
    packages give their own such errors this base (dof-gan's ``MemoryBudgetError``)."""


class ImageReadError(PhotoError):
    """A file could not be read as a photo or mask.

    Attributes:
        path: the file that failed.
        reason: what was wrong with it, without the path.
    """

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class MaskFormatError(PhotoError):
    """A mask array or file does not fit the photo it belongs to."""


class OutputError(DofIOError):
    """A folder or file a command writes cannot be created or written.

    Attributes:
        path: the folder or file.
        reason: what the operating system said, in words (no path).
    """

    def __init__(self, path: str | Path, err: OSError | str) -> None:
        self.path = Path(path)
        self.reason = err if isinstance(err, str) else (err.strerror or str(err)).lower()
        super().__init__(
            f"cannot write to {self.path}: {self.reason}; choose another output folder "
            "or fix its permissions"
        )


class FolderLockedError(DofIOError):
    """Another process holds the lock on a folder this command wants to write.

    Attributes:
        folder: the locked folder.
        holder: who holds it, when its record could be read.
    """

    def __init__(self, folder: str | Path, holder: LockHolder | None) -> None:
        self.folder = Path(folder)
        self.holder = holder
        who = holder.describe() if holder is not None else "another process (no record)"
        super().__init__(
            f"{self.folder} is in use by {who}; wait for it to finish or stop it, "
            "or write to another folder"
        )


class ShapeError(DofIOError, ValueError):
    """An array or tensor has the wrong number of axes, channels, size or dtype.

    Each package's own ``ShapeError`` derives from this one and from the package's base error,
    so ``except dof_io.ShapeError`` catches them all; :mod:`dof_io.check` raises them.
    """


class WeightsFileError(DofIOError):
    """A weights or checkpoint file cannot be used: missing, empty, unsafe, corrupt.

    Attributes:
        path: the file.
        reason: why, without the path.
    """

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class MemoryBudgetError(ImageReadError):
    """A photo whose full-size processing would need more memory than the budget allows."""
