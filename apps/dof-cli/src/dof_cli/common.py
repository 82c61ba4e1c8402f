"""What every subcommand shares: device choice, progress, and the end-of-job failure report.

A batch job never stops at a bad file: it records the file and the reason, goes on, prints a
summary at the end, and exits with status 1 if anything failed (0 when all went well).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import click
from tqdm import tqdm

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., object])


def lock_output(folder: Path) -> None:
    """Hold ``dof_io.folder_lock`` on ``folder`` until the command ends, and remove the
    temporary files a killed earlier run left there. Another command writing ``folder``
    makes this one stop at once with a message naming it."""
    import dof_io

    lock = click.get_current_context().with_resource(dof_io.folder_lock(folder))
    lock.remove_stale_temp_files()


def out_dir_option(help: str, *, dest: str = "out_dir") -> Callable[[F], F]:
    """The `-o/--out DIR` option every file-writing subcommand takes (required)."""
    return click.option(
        "-o", "--out", dest, required=True, type=click.Path(file_okay=False, path_type=Path),
        help=help,
    )  # fmt: skip


def _size(ctx: click.Context, param: click.Parameter, value: str) -> int:
    import dof_io

    try:
        return dof_io.parse_size(value)
    except ValueError as err:
        raise click.BadParameter(str(err)) from None


max_memory_option = click.option(
    "--max-memory",
    callback=_size,
    default="4GiB",
    show_default=True,
    help="Memory one photo may use; a larger photo is skipped with a message (0 = no limit).",
)


device_option = click.option(
    "--device",
    default="auto",
    show_default=True,
    help="torch device: auto (cuda when available, else cpu), cpu, cuda, cuda:1, mps.",
)


refine_option = click.option(
    "--refine",
    type=click.Choice(["none", "guided", "matting"]),
    help="Refine computed masks at the photo's size with the photo as guide: guided (guided "
    "filter) or matting (closed-form matting around the outline). Default: the segmenter's "
    "measured best (docs/seg.md).",
)


def resolve_device(name: str) -> str:
    """'auto' -> 'cuda' when a GPU is visible, else 'cpu'; anything else is passed through."""
    if name != "auto":
        return name
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def progress(items: Iterable[T], *, desc: str, total: int | None = None) -> Iterator[T]:
    """A progress bar on stderr; none when stderr is not a terminal (logs stay readable)."""
    bar = tqdm(
        items, desc=desc, total=total, unit="img", dynamic_ncols=True, leave=False, disable=None
    )
    yield from bar


@dataclass
class BatchReport:
    """Counts what a batch job did and remembers every failure with its reason."""

    done: int = 0
    skipped: int = 0
    failures: list[tuple[Path, str]] = field(default_factory=list)

    def fail(self, path: Path, reason: str) -> None:
        self.failures.append((path, reason))
        tqdm.write(f"skipped {path}: {reason}")

    def finish(self, what: str) -> None:
        """Print the summary; exit with status 1 when any file failed."""
        parts = [f"{self.done} {what}"]
        if self.skipped:
            parts.append(f"{self.skipped} already done (skipped)")
        if self.failures:
            parts.append(f"{len(self.failures)} failed")
        click.echo(", ".join(parts) + ".")
        if self.failures:
            click.echo("Failed files:", err=True)
            for path, reason in self.failures:
                click.echo(f"  {path}: {reason}", err=True)
            raise SystemExit(1)
