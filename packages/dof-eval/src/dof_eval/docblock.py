"""Generated blocks in Markdown docs: a command writes its own table into the page.

A block is the text between two marker lines, e.g. in docs/results.md::

    <!-- begin generated: paired-bench -->
    ...written by `dof paired-bench --docs docs/results.md`...
    <!-- end generated: paired-bench -->

so the numbers a page shows are exactly what the command printed, never retyped by hand.
"""

from __future__ import annotations

import re
from pathlib import Path

from dof_eval.errors import DatasetError
from dof_io import atomic_write_text

_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")


def markers(name: str) -> tuple[str, str]:
    """The (begin, end) marker lines of block ``name`` (lowercase letters, digits, dashes)."""
    if not _NAME.match(name):
        raise DatasetError(f"block name must be lowercase letters, digits and dashes; got {name!r}")
    return f"<!-- begin generated: {name} -->", f"<!-- end generated: {name} -->"


def _span(lines: list[str], name: str) -> tuple[int, int]:
    """Indices of the begin and end marker lines of block ``name``."""
    begin, end = markers(name)
    starts = [i for i, line in enumerate(lines) if line.strip() == begin]
    stops = [i for i, line in enumerate(lines) if line.strip() == end]
    if len(starts) != 1 or len(stops) != 1 or stops[0] < starts[0]:
        raise DatasetError(
            f"expected one line {begin!r} followed by one line {end!r}; found {len(starts)} and "
            f"{len(stops)}: put both where the generated text goes"
        )
    return starts[0], stops[0]


def read_block(text: str, name: str) -> str:
    """The body of block ``name`` in ``text`` (between its marker lines, without them).

    Raises:
        DatasetError: when the markers are missing, repeated or out of order.
    """
    lines = text.splitlines(keepends=True)
    start, stop = _span(lines, name)
    return "".join(lines[start + 1 : stop])


def replace_block(text: str, name: str, body: str) -> str:
    """``text`` with the body of block ``name`` replaced by ``body`` (markers kept)."""
    lines = text.splitlines(keepends=True)
    start, stop = _span(lines, name)
    if body and not body.endswith("\n"):
        body += "\n"
    return "".join(lines[: start + 1]) + body + "".join(lines[stop:])


def write_block(path: str | Path, name: str, body: str) -> Path:
    """Replace block ``name`` in the Markdown file ``path`` with ``body``, atomically.

    Raises:
        DatasetError: when the file cannot be read or lacks the block's markers (the message
            names the file and the marker lines to add).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise DatasetError(f"{path}: cannot read it ({err.strerror or err})") from err
    try:
        new = replace_block(text, name, body)
    except DatasetError as err:
        raise DatasetError(f"{path}: {err}") from err
    atomic_write_text(path, new)
    return path
