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


def out_dir_option(help: str, *, dest: str = "out_dir") -> Callable[[F], F]:
    """The `-o/--out DIR` option every file-writing subcommand takes (required)."""
    return click.option(
        "-o", "--out", dest, required=True, type=click.Path(file_okay=False, path_type=Path),
        help=help,
    )  # fmt: skip


device_option = click.option(
    "--device",
    default="auto",
    show_default=True,
    help="torch device: auto (cuda when available, else cpu), cpu, cuda, cuda:1, mps.",
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
