"""The one place where an exception becomes what the user reads.

A user's mistake (a missing or unwritable file, a bad checkpoint, a folder another command is
writing, any typed error of a dof package) ends in one line, ``Error: <what and how to fix>``,
and exit status 1. Anything else is a bug and keeps its traceback. Every subcommand of ``dof``
and ``dof-train`` runs through :class:`UserErrors` (``dof`` is a :class:`UserErrorGroup`).
"""

from __future__ import annotations

import contextlib
import errno
import sqlite3
import sys
from collections.abc import Iterator
from typing import Any

import click

#: The base error of each dof package. Looked up in sys.modules: a package that was never
#: imported raised nothing, and `dof --help` stays free of torch.
PACKAGE_ERRORS = (
    ("dof_io", "DofIOError"),
    ("dof_data", "DofDataError"),
    ("dof_seg", "DofSegError"),
    ("dof_smooth", "SmoothError"),
    ("dof_gan", "DofGanError"),
    ("dof_eval", "DofEvalError"),
)

_OS_HINTS = {
    errno.EACCES: "no permission; choose another location or fix the permissions",
    errno.EPERM: "not permitted; choose another location or fix the permissions",
    errno.EROFS: "the disk is read-only; choose another location",
    errno.ENOSPC: "the disk is full; free some space or choose another location",
    errno.ENOENT: "no such file or folder; check the path",
    errno.ENOTDIR: "a file stands where a folder is needed; check the path",
    errno.EISDIR: "is a folder, not a file; check the path",
    errno.EEXIST: "already exists as another kind of file; check the path",
}


def _package_error_types() -> tuple[type[BaseException], ...]:
    found = []
    for module, name in PACKAGE_ERRORS:
        cls = getattr(sys.modules.get(module), name, None)
        if isinstance(cls, type) and issubclass(cls, BaseException):
            found.append(cls)
    return tuple(found)


def user_message(err: BaseException) -> str | None:
    """The one-line message for a user's mistake; None for anything else (a bug)."""
    if isinstance(err, _package_error_types()):
        return str(err)
    if isinstance(err, OSError) and err.filename is not None:
        hint = _OS_HINTS.get(err.errno or 0, (err.strerror or str(err)).lower())
        where = f"{err.filename} -> {err.filename2}" if err.filename2 else f"{err.filename}"
        return f"{where}: {hint}"
    if isinstance(err, sqlite3.OperationalError):
        return f"the dataset manifest cannot be used ({err}); check --root and its permissions"
    if isinstance(err, MemoryError):
        return (
            "out of memory: the photo is too large for this machine; lower the memory "
            "budget option of this command (see --help) or use smaller photos"
        )
    return None


@contextlib.contextmanager
def reported() -> Iterator[None]:
    """Turn a user's mistake raised in the block into a one-line ``click.ClickException``."""
    try:
        yield
    except (click.ClickException, click.exceptions.Exit, click.Abort):
        raise
    except Exception as err:
        message = user_message(err)
        if message is None:
            raise
        raise click.ClickException(message) from None


class UserErrors(click.Command):
    """A click command whose user errors end in one line (see :func:`user_message`)."""

    def invoke(self, ctx: click.Context) -> Any:
        with reported():
            return super().invoke(ctx)


class UserErrorGroup(UserErrors, click.Group):
    """A click group whose subcommands' user errors end in one line."""
